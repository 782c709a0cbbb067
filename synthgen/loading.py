"""Model files -> fitted generators, each checked against its generator before use.

:func:`load_model` reads a file with :func:`synthgen.io.read_model_file` (which refuses
damaged, foreign, pickled and oversized content), builds the generator its config names
and checks what the file holds against that generator:

* the trees ``params``, ``state`` and ``vectoriser`` are there, and ``params`` is the
  generator's own parameter tuple (a ``gaussian`` file relabelled ``gmm`` is refused);
* every parameter is a numeric array, float where the generator fits floats, and finite;
* the shapes agree: the generator's sampling and scoring functions are traced with
  ``jax.eval_shape`` on ``n_features_in_`` columns (nothing is compiled), and the
  built-in generators' parameters are checked against their fitted summary;
* the vectoriser gives ``n_features_in_`` columns and decodes a row.

Every failure is a :class:`~synthgen.errors.ModelFileError` naming the file and the fault.
"""

from __future__ import annotations

import importlib
from functools import partial
from typing import Any

import numpy as np

from .errors import ModelFileError

#: trees every generator's model file holds
REQUIRED_TREES = ("params", "state", "vectoriser")

#: generator name -> (module, class) of the parameter tuple its fit returns
_PARAMS_TYPES = {
    "gaussian": ("synthgen.generators.gaussian", "GaussianParams"),
    "gmm": ("synthgen.generators.gmm", "GMMParams"),
    "pca_gmm": ("synthgen.generators.pca_gmm", "PCAGMMParams"),
    "kde": ("synthgen.generators.kde", "KDEParams"),
    "vae": ("synthgen.generators._vae_nets", "VAEParams"),
    "circuit": ("synthgen.generators.circuit", "CircuitParams"),
}


def load(path):
    """Load a fitted generator (or sampler) from a ``.sgm`` model file.

    The file is checked against the generator it names before it is used; a damaged, foreign
    or inconsistent file raises ``ModelFileError``.
    """
    return load_model(path)


def load_model(path):
    """A fitted generator (or sampler) from the model file ``path``, checked before use."""
    from .io import read_model_file
    from .registry import get_generator_class

    config, trees = read_model_file(path)
    cls = get_generator_class(config["generator"], for_file=str(path))
    try:
        return from_trees(cls, config, trees)
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - whatever a crafted file provokes is the file's fault
        raise ModelFileError(
            f"{path} does not hold a usable {cls.name} model ({type(exc).__name__}: {exc})"
        ) from exc


def from_trees(cls, config: dict, trees: dict):
    """``cls._from_file(config, trees)`` between the checks; errors do not name the file."""
    hp = config.get("hyperparameters", {})
    if not isinstance(hp, dict):
        raise ModelFileError("its hyperparameters are not a mapping")
    if not isinstance(config.get("vectoriser"), str):
        raise ModelFileError("it does not name its vectoriser")
    missing = [name for name in REQUIRED_TREES if name not in trees]
    if missing:
        raise ModelFileError(f"it lacks the saved tree(s) {', '.join(missing)}")
    check_params_tree(cls.name, trees["params"])
    obj = cls._from_file(config, trees)
    if not hasattr(obj, "generator_"):  # a wrapped sampler checks its own generator
        check_fitted(obj)
    return obj


# ---------------------------------------------------------------------------------------------
# The params tree, before it becomes JAX arrays
# ---------------------------------------------------------------------------------------------


def expected_params_type(name: str):
    """The parameter tuple class of the built-in generator ``name`` (None for plug-ins)."""
    entry = _PARAMS_TYPES.get(name)
    return None if entry is None else getattr(importlib.import_module(entry[0]), entry[1])


def check_params_tree(name: str, params: Any) -> None:
    """The params tree is the generator's parameter tuple, of numeric, finite arrays."""
    import jax

    expected = expected_params_type(name)
    if not (isinstance(params, tuple) and hasattr(params, "_fields")):
        raise ModelFileError(f"its params are a {type(params).__name__}, not a parameter tuple")
    if expected is not None and type(params) is not expected:
        raise ModelFileError(
            f"its params are {type(params).__name__}, where a {name} model has {expected.__name__}"
        )
    leaves = jax.tree_util.tree_leaves_with_path(params, is_leaf=lambda x: x is None)
    for path, leaf in leaves:
        where = "params" + jax.tree_util.keystr(path)
        if not isinstance(leaf, np.ndarray):
            raise ModelFileError(f"{where} is {type(leaf).__name__} {leaf!r:.40}, not an array")
        kind = leaf.dtype.kind
        if kind not in "biuf" or (expected is not None and kind != "f"):
            want = "floats" if expected is not None else "numbers"
            raise ModelFileError(f"{where} holds {leaf.dtype} values where {want} belong")
        if kind == "f" and not np.isfinite(leaf).all():
            raise ModelFileError(f"{where} is not finite (NaN or infinite values)")


# ---------------------------------------------------------------------------------------------
# The built generator
# ---------------------------------------------------------------------------------------------


def check_fitted(gen) -> None:
    """Shapes and values of a loaded generator agree with each other and with its vectoriser."""
    d = gen.n_features_in_
    _check_vectoriser(gen.vectoriser_, d)
    check = _VALUE_CHECKS.get(gen.name)
    if check is not None:
        check(gen, d)
    _check_traced_shapes(gen, d)


def _check_vectoriser(vec, d: int) -> None:
    if vec.n_features_out_ != d or len(vec.get_feature_names_out()) != d:
        raise ModelFileError(
            f"its vectoriser makes {vec.n_features_out_} columns, but the model has {d}"
        )
    try:
        vec.inverse_transform(np.zeros((1, d), np.float32))
    except Exception as exc:  # noqa: BLE001 - a vectoriser state that cannot decode is damaged
        raise ModelFileError(f"its vectoriser cannot decode a row ({type(exc).__name__}: {exc})") from exc


def _check_traced_shapes(gen, d: int) -> None:
    """Trace the generator's pure sampling and scoring functions (where it has them) on d columns."""
    import jax
    import jax.numpy as jnp

    from .base import Generator

    key = jax.ShapeDtypeStruct((2,), jnp.uint32)
    rows = jax.ShapeDtypeStruct((1, d), jnp.float32)
    cls = type(gen)
    if cls._sampler is not Generator._sampler or cls._sample_fn is not Generator._sample_fn:
        sampler = gen._sampler()
        out = _traced("sampling", lambda k, p: sampler(k, p, 2), key, gen.params_)
        _want_shape("sampling", out, (2, d))
    if cls._log_prob is not Generator._log_prob or cls._log_prob_fn is not Generator._log_prob_fn:
        out = _traced("scoring", gen._log_prob(), gen.params_, rows)
        _want_shape("scoring", out, (1,))


def _traced(what: str, fn, *args):
    import jax

    try:
        return jax.eval_shape(fn, *args)
    except Exception as exc:  # noqa: BLE001 - shape errors come in many kinds
        message = " ".join(str(exc).split())[:200]
        raise ModelFileError(
            f"its parameters do not fit together ({what} fails: {type(exc).__name__}: {message})"
        ) from exc


def _want_shape(what: str, out, shape: tuple) -> None:
    if getattr(out, "shape", None) != shape or not np.issubdtype(out.dtype, np.floating):
        got = getattr(out, "shape", type(out).__name__)
        raise ModelFileError(f"its parameters do not fit together ({what} gives {got}, not {shape})")


# -- the built-in generators' parameters ---------------------------------------------------------


def _shape_of(name: str, arr, shape: tuple) -> None:
    if tuple(np.shape(arr)) != tuple(shape):
        raise ModelFileError(f"params.{name} has shape {tuple(np.shape(arr))}, expected {tuple(shape)}")


def _positive(name: str, arr) -> None:
    if not (np.asarray(arr) > 0).all():
        raise ModelFileError(f"params.{name} must be positive")


def _check_gaussian(gen, d: int) -> None:
    p = gen.params_
    _shape_of("mean", p.mean, (d,))
    _shape_of("chol", p.chol, (d, d))
    _positive("chol diagonal", np.diagonal(np.asarray(p.chol)))


def _check_mixture(gen, p, d: int, prefix: str = "") -> None:
    types = {"full": 3, "tied": 3, "diag": 2, "spherical": 2}
    kind, K = gen.covariance_type_, gen.n_components_
    if kind not in types:
        raise ModelFileError(f"its covariance type {kind!r:.40} is not one of {', '.join(types)}")
    _shape_of(prefix + "log_weights", p.log_weights, (K,))
    _shape_of(prefix + "means", p.means, (K, d))
    shape = {"full": (K, d, d), "tied": (1, d, d), "diag": (K, d), "spherical": (K, 1)}[kind]
    for name in ("prec_chol", "cov_chol"):
        value = np.asarray(getattr(p, name))
        _shape_of(prefix + name, value, shape)
        _positive(prefix + name + (" diagonal" if value.ndim == 3 else ""),
                  np.diagonal(value, axis1=-2, axis2=-1) if value.ndim == 3 else value)


def _check_gmm(gen, d: int) -> None:
    _check_mixture(gen, gen.params_, d)


def _check_pca_gmm(gen, d: int) -> None:
    p, q = gen.params_, gen.pca_components_
    _shape_of("mean", p.mean, (d,))
    _shape_of("components", p.components, (d, q))
    _shape_of("noise_var", p.noise_var, ())
    if float(p.noise_var) < 0:
        raise ModelFileError("params.noise_var must not be negative")
    _check_mixture(gen, p.mixture, q, prefix="mixture.")


def _check_kde(gen, d: int) -> None:
    p = gen.params_
    if np.ndim(p.train) != 2 or np.shape(p.train)[1] != d or np.shape(p.train)[0] < 1:
        raise ModelFileError(f"params.train has shape {np.shape(p.train)}, expected (rows, {d})")
    _shape_of("bandwidth", p.bandwidth, ())
    _positive("bandwidth", p.bandwidth)


def _check_vae(gen, d: int) -> None:
    import jax

    from .generators import _vae_nets as nets

    p, arch = gen.params_, gen.arch_
    _shape_of("shift", p.shift, (d,))
    _shape_of("scale", p.scale, (d,))
    _positive("scale", p.scale)
    want = jax.eval_shape(partial(nets.init_net, arch=arch), jax.ShapeDtypeStruct((2,), np.uint32))
    got_tree = jax.tree_util.tree_structure(p.net)
    if got_tree != jax.tree_util.tree_structure(want):
        raise ModelFileError("params.net does not have the layers of the saved architecture")
    for (path, a), b in zip(jax.tree_util.tree_leaves_with_path(p.net), jax.tree_util.tree_leaves(want)):
        if tuple(np.shape(a)) != tuple(b.shape):
            where = "params.net" + jax.tree_util.keystr(path)
            raise ModelFileError(f"{where} has shape {tuple(np.shape(a))}, expected {tuple(b.shape)}")
    prior = getattr(gen, "prior_", None)
    if prior is not None:
        from .generators._vae_prior import check_prior

        fault = check_prior(prior, arch.latent_dim)
        if fault:
            raise ModelFileError(fault)


def _check_circuit(gen, d: int) -> None:
    p, layout = gen.params_, gen.layout_
    m = len(layout.variables)
    K, H = (np.shape(p.prior) if np.ndim(p.prior) == 2 else (-1, -1))
    if layout.n_features != d or sorted(layout.order) != list(range(m)) or len(layout.parents) != m:
        raise ModelFileError("its circuit layout does not match its variables and columns")
    if any(not -1 <= q < m for q in layout.parents) or sum(q < 0 for q in layout.parents) != 1:
        raise ModelFileError("its circuit layout is not a tree with one root")
    S = max(v.n_states for v in layout.variables)
    C = max(v.n_cells for v in layout.variables)
    for v in layout.variables:
        if v.cell_state:
            state, p_cell = np.asarray(v.cell_state), np.asarray(v.cell_p, np.float64)
            if (len(p_cell) != len(state) or state.min() < 0 or state.max() >= v.n_states
                    or (p_cell <= 0).any()
                    or not np.allclose(np.bincount(state, p_cell, v.n_states), 1.0, atol=1e-3)):
                raise ModelFileError("its circuit layout has cells that do not make up their states")
    for name, shape in (("weights", (K,)), ("prior", (K, H)), ("trans", (K, m, H, H)),
                        ("leaf", (K, m, H, S)), ("lo", (m, C)), ("hi", (m, C)), ("width", (m, C))):
        _shape_of(name, getattr(p, name), shape)
    for name in ("weights", "prior", "trans", "leaf"):
        value = np.asarray(getattr(p, name), np.float64)
        if (value < 0).any() or not np.allclose(value.sum(axis=-1), 1.0, atol=1e-3):
            raise ModelFileError(f"params.{name} is not a probability distribution")
    _positive("width", p.width)
    if (np.asarray(p.hi) < np.asarray(p.lo)).any():
        raise ModelFileError("params.hi is below params.lo")


_VALUE_CHECKS = {
    "circuit": _check_circuit,
    "gaussian": _check_gaussian,
    "gmm": _check_gmm,
    "pca_gmm": _check_pca_gmm,
    "kde": _check_kde,
    "vae": _check_vae,
}
