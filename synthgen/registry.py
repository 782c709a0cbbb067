"""Generator names -> classes (model files become generators in :mod:`synthgen.loading`).

Built-in generators are listed here by import path and imported only when used, so
``synthgen --help`` stays fast.  Third-party generators register through the entry-point
group ``synthgen.generators`` (name = "module:Class", the class a ``Generator`` subclass).
"""

from __future__ import annotations

import importlib
from importlib import metadata
from pathlib import Path

from .errors import InvalidParameterError, ModelFileError

ENTRY_POINT_GROUP = "synthgen.generators"

_BUILTIN = {
    "gaussian": ("synthgen.generators.gaussian", "GaussianGenerator",
                 "multivariate normal, full or diagonal covariance"),
    "gmm": ("synthgen.generators.gmm", "GMMGenerator",
            "Gaussian mixture fitted by EM; picks its size by BIC"),
    "pca_gmm": ("synthgen.generators.pca_gmm", "PCAGMMGenerator",
                "PCA, then a Gaussian mixture in the reduced space"),
    "kde": ("synthgen.generators.kde", "KDEGenerator",
            "Gaussian kernel density estimate; bandwidth by rule or cross-validation"),
    "vae": ("synthgen.generators.vae", "VAEGenerator",
            "variational autoencoder (flax + optax) with one head per data block"),
    "circuit": ("synthgen.generators.circuit", "CircuitGenerator",
                "probabilistic circuit (hidden Chow-Liu tree) over mixed-type tables, by EM"),
}

_EXTRA_BUILTIN: dict[str, tuple[str, str, str]] = {
    "rejection": ("synthgen.sampling.rejection", "RejectionSampler",
                  "rejection sampler wrapping a fitted generator (model files only)"),
}


def _available_builtin() -> dict[str, tuple[str, str, str]]:
    return {name: entry for name, entry in _BUILTIN.items() if _module_file_exists(entry[0])}


def _module_file_exists(module: str) -> bool:
    """Whether a synthgen module is installed, found without importing its package (importing
    ``synthgen.generators`` readies JAX, which listing the generators must not do)."""
    parts = module.split(".")[1:]
    base = Path(__file__).resolve().parent.joinpath(*parts)
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _plugins() -> dict[str, metadata.EntryPoint]:
    try:
        eps = metadata.entry_points(group=ENTRY_POINT_GROUP)
    except Exception:  # noqa: BLE001 - a broken environment must not break synthgen
        return {}
    return {ep.name: ep for ep in eps}


def list_generators() -> list[str]:
    """Names accepted by :func:`make`, built-in first, then plug-ins."""
    names = list(_available_builtin())
    names += sorted(n for n in _plugins() if n not in names)
    return names


def describe_generators() -> dict[str, str]:
    """Name -> one-line description."""
    out = {name: entry[2] for name, entry in _available_builtin().items()}
    for name, ep in sorted(_plugins().items()):
        out.setdefault(name, f"plug-in ({ep.value})")
    return out


def get_generator_class(name: str, *, for_file: str | None = None):
    """The class registered under ``name``."""
    if not isinstance(name, str):
        raise InvalidParameterError(f"generator name must be a str; got {name!r}")
    table = {**_available_builtin(), **_EXTRA_BUILTIN}
    if name in table:
        module, cls_name, _ = table[name]
        return getattr(importlib.import_module(module), cls_name)
    plugins = _plugins()
    if name in plugins:
        from .base import Generator

        cls = plugins[name].load()
        if not (isinstance(cls, type) and issubclass(cls, Generator)):
            raise InvalidParameterError(
                f"plug-in {name!r} ({plugins[name].value}) is not a synthgen Generator subclass"
            )
        return cls
    known = ", ".join(list_generators())
    if for_file is not None:
        raise ModelFileError(f"{for_file} holds an unknown generator {name!r}; known: {known}")
    raise InvalidParameterError(f"unknown generator {name!r}; known: {known}")


def make(name: str, **hyperparameters):
    """Build an unfitted generator by registry name: ``make("gmm", n_components="bic")``."""
    return get_generator_class(name)(**hyperparameters)

