"""The generator protocol: ``fit / sample / score_samples / save / load``.

A generator class declares its hyperparameters in one table and supplies three pure
functions of JAX arrays:

* ``_fit(key, X, hp) -> params``  (``hp`` is the dict of validated hyperparameters)
* ``_sample_fn(key, params, n) -> X'``  (static ``n``; jitted once per shape)
* ``_log_prob_fn(params, X) -> (n,)``

The base class converts user data through a vectoriser, checks inputs, handles seeds,
draws rows in fixed-size blocks with their own keys (so the rows for a seed never
depend on chunking), scores in padded chunks (bounded memory, one compilation), and
saves to and loads from the ``.sgm`` model format.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, Iterator

import numpy as np

from ._version import __version__
from ._params import Param, Rule, check_names, validate
from .errors import InvalidDataError, InvalidParameterError, NotFittedError
from .random import BLOCK_ROWS, blocks_for_rows, check_seed, fit_keys, sample_key

SCORE_CHUNK = 4096
_MAX_BLOCKS_PER_CALL = 16


class _VectoriserRule(Rule):
    desc = "None, a vectoriser name, or a Vectoriser"

    def check(self, v):
        from .vectorisers import Vectoriser, vectoriser_names

        if v is None or isinstance(v, Vectoriser):
            return v
        if isinstance(v, str) and v in vectoriser_names():
            return v
        raise ValueError


def check_n(n, name: str = "n") -> int:
    """A positive int number of rows."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise InvalidParameterError(f"{name} must be a positive int; got {n!r}")
    return int(n)


def check_matrix(X: np.ndarray, names, *, what: str, min_rows: int = 1) -> None:
    """Reject empty input, too few rows and non-finite values, naming the column at fault."""
    if X.ndim != 2:
        raise InvalidDataError(f"{what} must be 2-D; got shape {X.shape}")
    if X.shape[0] == 0:
        raise InvalidDataError(f"{what} is empty (0 rows)")
    if X.shape[1] == 0:
        raise InvalidDataError(f"{what} has no columns")
    if X.shape[0] < min_rows:
        raise InvalidDataError(f"{what} has {X.shape[0]} row(s); at least {min_rows} are needed")
    finite = np.isfinite(X)
    if not finite.all():
        j = int(np.nonzero(~finite.all(axis=0))[0][0])
        i = int(np.nonzero(~finite[:, j])[0][0])
        kind = "NaN" if np.isnan(X[i, j]) else "an infinite value"
        raise InvalidDataError(
            f"{what} has {kind} in column {names[j]!r} (row {i}); "
            "drop or impute it, or use a TableVectoriser, which models gaps"
        )


class Generator:
    """Base class of every generator.  Subclasses set ``name``, ``hyperparameters`` and the hooks."""

    name: ClassVar[str] = ""
    #: hyperparameter name -> Param(default, rule, doc); ``vectoriser`` is added for all.
    hyperparameters: ClassVar[dict[str, Param]] = {}
    #: smallest number of training rows the model can be fitted on.
    min_rows: ClassVar[int] = 2

    def __init__(self, **hyperparameters: Any):
        table = self.param_table()
        check_names(self.name or type(self).__name__, table, hyperparameters)
        for key, param in table.items():
            setattr(self, key, hyperparameters.get(key, param.default))

    # -- hyperparameters ------------------------------------------------------------------------
    @classmethod
    def param_table(cls) -> dict[str, Param]:
        table = dict(cls.hyperparameters)
        table["vectoriser"] = Param(
            None, _VectoriserRule(), "how data becomes a matrix; None picks one for the data"
        )
        return table

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.param_table()}

    def set_params(self, **params: Any) -> "Generator":
        check_names(self.name, self.param_table(), params)
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def _validated_params(self) -> dict[str, Any]:
        return validate(self.name, self.param_table(), self.get_params())

    def __repr__(self) -> str:
        table = self.param_table()
        changed = {k: v for k, v in self.get_params().items() if not _same(v, table[k].default)}
        args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"{type(self).__name__}({args})"

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, X, y=None, *, seed: int | None = None) -> "Generator":
        """Fit to ``X`` (array, DataFrame or list of strings); returns ``self``.

        ``y`` is ignored: it is there so that scikit-learn's ``Pipeline`` and model selection
        can call ``fit(X, y)``.  ``seed`` (default 0) makes the fit reproducible.  The fitted
        state is assigned only once everything is computed: a fit that fails leaves the
        generator as it was (fitted or not).
        """
        import jax

        seed = check_seed(0 if seed is None else seed)
        hp = self._validated_params()
        private = hp.get("epsilon") is not None
        if private:  # budget checked, metadata and vectoriser made privately (synthgen.dp)
            from .dp.fit import prepare

            vec, matrix, private_fit = prepare(self, X, hp, seed)
        else:
            vec = self._make_vectoriser(hp["vectoriser"], X)
            matrix = vec.fit_transform(X)
        check_matrix(matrix, vec.get_feature_names_out(), what="the training data",
                     min_rows=self.min_rows)
        self._check_training_matrix(matrix, vec)
        fit_key, stream_key = fit_keys(seed)
        new = self._unfitted_copy()
        new.vectoriser_ = vec
        new.n_features_in_ = matrix.shape[1]
        new.n_train_ = matrix.shape[0]
        new.fit_seed_ = seed
        if private:
            new._private_fit_ = private_fit
        # device_put, not jnp.asarray: the conversion would compile a program per row count
        params = new._fit(fit_key, jax.device_put(np.asarray(matrix, dtype=np.float32)), hp)
        _check_finite_params(self.name, params)
        if private:
            new.privacy_ = dict(private_fit.ledger.to_json(), metadata=private_fit.schema)
            del new._private_fit_
        return self._adopt_fit(new, params, stream_key)

    def _adopt_fit(self, new: "Generator", params, stream_key) -> "Generator":
        """Take the fitted state built on ``new`` (an unfitted copy) all at once, with
        ``params`` and a fresh sampling stream from ``stream_key``: a fit that fails before
        this leaves ``self`` as it was.  Returns ``self``."""
        new.params_ = params
        new._sample_key_ = np.asarray(stream_key)
        new._n_sample_calls_ = 0
        self.__dict__.clear()
        self.__dict__.update(new.__dict__)
        return self

    def _unfitted_copy(self) -> "Generator":
        """A shallow copy holding the hyperparameters and no fitted state (for an atomic fit)."""
        new = object.__new__(type(self))
        new.__dict__.update({k: v for k, v in self.__dict__.items() if not _is_fitted_attribute(k)})
        return new

    def _make_vectoriser(self, spec, data):
        from .vectorisers import auto_vectoriser, make_vectoriser

        if spec is None:
            return auto_vectoriser(data)
        if isinstance(spec, str):
            return make_vectoriser(spec)
        import copy

        return copy.deepcopy(spec)

    def _check_training_matrix(self, X: np.ndarray, vec) -> None:
        """Hook for extra checks on the training matrix; constant columns are allowed.

        A constant column is modelled as scikit-learn does (its variance is ``reg_covar`` in
        the Gaussian models; the KDE keeps it in every kernel), and the vectoriser gives the
        constant back exactly when rows are sampled.
        """

    # -- sampling -------------------------------------------------------------------------------
    def sample(self, n: int, *, seed: int | None = None, given=None):
        """``n`` new rows, in the form ``fit`` was given.  Same seed, same rows.

        ``given``: a dict of column -> value or ``(lo, hi)`` range (every row), or a DataFrame
        of conditions (one row per sampled row); every row returned carries it (see
        :mod:`synthgen.conditional`).
        """
        n = check_n(n)
        if given is not None:
            from .conditional import sample_given

            return sample_given(self, n, given, seed)
        X = self.sample_matrix(n, seed=seed)
        return self.vectoriser_.inverse_transform(X)

    def iter_sample(self, n: int, *, seed: int | None = None, chunk_rows: int = 65536,
                    given=None) -> Iterator[Any]:
        """``sample(n, seed)`` in chunks of at most ``chunk_rows`` rows, in bounded memory."""
        n = check_n(n)
        chunk_rows = check_n(chunk_rows, "chunk_rows")
        if given is not None:
            from .conditional import iter_sample_given

            yield from iter_sample_given(self, n, given, seed, chunk_rows)
            return
        key = self._next_key(seed)
        for start in range(0, n, chunk_rows):
            stop = min(n, start + chunk_rows)
            yield self.vectoriser_.inverse_transform(self._rows(key, start, stop))

    def sample_matrix(self, n: int, *, seed: int | None = None) -> np.ndarray:
        """``n`` rows in the vectorised space (what the model itself produces)."""
        n = check_n(n)
        return self._rows(self._next_key(seed), 0, n)

    def _next_key(self, seed: int | None):
        import jax

        self._check_fitted()
        if seed is not None:
            return sample_key(seed)
        key = jax.random.fold_in(jax.numpy.asarray(self._sample_key_), self._n_sample_calls_)
        self._n_sample_calls_ += 1
        return key

    def _rows(self, key, start: int, stop: int) -> np.ndarray:
        """Rows ``[start, stop)`` of the endless stream of rows for ``key``."""
        first, last = blocks_for_rows(start, stop)
        out = None
        b = first
        while b < last:
            group = min(_MAX_BLOCKS_PER_CALL, 1 << (last - b).bit_length() - 1)
            rows = np.asarray(self._sample_block_range(key, b, group))
            rows = rows.reshape(group * BLOCK_ROWS, rows.shape[-1])
            # the part of [start, stop) that these blocks hold, copied once into the output
            lo, hi = max(start, b * BLOCK_ROWS), min(stop, (b + group) * BLOCK_ROWS)
            if out is None:
                if lo == start and hi == stop:
                    return rows[lo - b * BLOCK_ROWS: hi - b * BLOCK_ROWS]
                out = np.empty((stop - start, rows.shape[1]), rows.dtype)
            out[lo - start: hi - start] = rows[lo - b * BLOCK_ROWS: hi - b * BLOCK_ROWS]
            b += group
        return out

    def _sample_block_range(self, key, first_block: int, n_blocks: int):
        """Rows of blocks ``first_block .. first_block + n_blocks - 1``, block ``b`` drawn with
        ``fold_in(key, b)``, in one jitted call: ``(n_blocks, BLOCK_ROWS, d)``."""
        return _block_range_sampler(self._sampler())(key, first_block, self.params_, n_blocks)

    # -- scoring --------------------------------------------------------------------------------
    def score_samples(self, data) -> np.ndarray:
        """Log density of each row, in the vectorised space (higher is more typical)."""
        X = self._transform_for_scoring(data)
        return self._chunked("log_prob", self._log_prob(), X)

    def score(self, X, y=None) -> float:
        """Mean log density per row, as scikit-learn's ``GaussianMixture.score``: higher is
        better, so model selection (``GridSearchCV``) can rank hyperparameters with it."""
        return float(np.mean(self.score_samples(X)))

    def __sklearn_tags__(self):
        """scikit-learn's tags: an unsupervised density estimator of dense arrays and DataFrames."""
        from sklearn.utils import InputTags, Tags, TargetTags

        tags = Tags(estimator_type="density_estimator", target_tags=TargetTags(required=False),
                    input_tags=InputTags(two_d_array=True, sparse=False, allow_nan=False))
        tags.requires_fit = True
        tags.non_deterministic = False
        return tags

    def _transform_for_scoring(self, data) -> np.ndarray:
        self._check_fitted()
        X = self.vectoriser_.transform(data)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise InvalidDataError(
                f"expected {self.n_features_in_} columns after vectorising; got shape {X.shape}"
            )
        check_matrix(X, self.vectoriser_.get_feature_names_out(), what="the data to score")
        return X

    def _chunked(self, name: str, fn, X: np.ndarray, chunk: int = SCORE_CHUNK) -> np.ndarray:
        """Apply a row-wise ``fn(params, X)``, jitted once, in padded chunks of a fixed size."""
        import jax.numpy as jnp

        jfn = self._jitted(name, lambda: _jit(fn))
        n = X.shape[0]
        size = min(chunk, 1 << max(0, (n - 1).bit_length()))
        out = []
        for start in range(0, n, size):
            part = X[start:start + size]
            pad = size - len(part)
            if pad:
                part = np.concatenate([part, np.repeat(part[-1:], pad, axis=0)])
            res = np.asarray(jfn(self.params_, jnp.asarray(part, dtype=jnp.float32)))
            out.append(res[: size - pad])
        return np.concatenate(out).astype(np.float64)

    def _jitted(self, name: str, build):
        cache = self.__dict__.setdefault("_jit_cache", {})
        if name not in cache:
            cache[name] = build()
        return cache[name]

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the fitted generator to one ``.sgm`` model file (zip of JSON and npz)."""
        from .io import write_model_file

        self._check_fitted()
        config = {
            "synthgen_version": __version__,
            "generator": self.name,
            "hyperparameters": self._hyperparameters_for_file(),
            "vectoriser": self.vectoriser_.name,
            "training": self.training_summary(),
        }
        trees = {
            "params": self.params_,
            "state": self._get_state(),
            "vectoriser": self.vectoriser_.get_state(),
        }
        write_model_file(path, config, trees)

    def _hyperparameters_for_file(self) -> dict[str, Any]:
        from .vectorisers import Vectoriser

        out = {}
        for k, v in self.get_params().items():
            if isinstance(v, Vectoriser):
                v = v.name
            out[k] = list(v) if isinstance(v, tuple) else v
        return out

    def training_summary(self) -> dict[str, Any]:
        """What the fit saw and chose, as JSON values (written into the model file)."""
        self._check_fitted()
        out = {"n_rows": int(self.n_train_), "n_features": int(self.n_features_in_),
               "seed": int(self.fit_seed_)}
        if getattr(self, "privacy_", None) is not None:
            out["privacy"] = self.privacy_
        return out

    def _get_state(self) -> dict[str, Any]:
        """Fitted state beyond ``params_``; subclasses extend ``_extra_state``."""
        return {
            "sample_key": np.asarray(self._sample_key_),
            "n_sample_calls": int(self._n_sample_calls_),
            "n_features_in": int(self.n_features_in_),
            "n_train": int(self.n_train_),
            "fit_seed": int(self.fit_seed_),
            "extra": self._extra_state(),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        from .errors import ModelFileError
        from .random import key_from_seed

        if not isinstance(state, dict):
            raise ModelFileError("its state is not a mapping")

        def count(name: str, low: int) -> int:
            value = state.get(name)
            if type(value) is not int or not low <= value <= 2**32 - 1:
                raise ModelFileError(
                    f"its state {name} must be an int in [{low}, 2**32 - 1]; got {value!r:.40}")
            return value

        key, shape = state.get("sample_key"), np.shape(key_from_seed(0))
        if not isinstance(key, np.ndarray) or key.shape != shape or key.dtype != np.uint32:
            raise ModelFileError(f"its state sample_key must be a uint32 array of shape {shape}")
        extra = state.get("extra") or {}
        if not isinstance(extra, dict):
            raise ModelFileError("its state extra is not a mapping")
        self._sample_key_ = np.asarray(key, dtype=np.uint32)
        self._n_sample_calls_ = count("n_sample_calls", 0)
        self.n_features_in_ = count("n_features_in", 1)
        self.n_train_ = count("n_train", 1)
        self.fit_seed_ = count("fit_seed", 0)
        self._set_extra_state(extra)

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _set_extra_state(self, extra: dict[str, Any]) -> None:
        pass

    @classmethod
    def _from_file(cls, config: dict, trees: dict) -> "Generator":
        import jax

        from .vectorisers import vectoriser_class

        from .errors import InvalidParameterError, ModelFileError

        hp = config.get("hyperparameters") or {}
        if not isinstance(hp, dict):
            raise ModelFileError("its hyperparameters are not a mapping")
        try:
            obj = cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in hp.items()})
            obj._validated_params()
            vec_cls = vectoriser_class(config["vectoriser"])
        except InvalidParameterError as exc:
            raise ModelFileError(f"its settings are invalid: {exc}") from exc
        obj.params_ = jax.tree_util.tree_map(jax.numpy.asarray, trees["params"])
        obj.vectoriser_ = vec_cls.from_state(trees["vectoriser"])
        obj._set_state(trees["state"])
        privacy = (config.get("training") or {}).get("privacy")
        if privacy is not None:
            from .dp.ledger_file import check_privacy_record

            obj.privacy_ = check_privacy_record(privacy)
        return obj

    # -- hooks ----------------------------------------------------------------------------------
    def _fit(self, key, X, hp: dict[str, Any]):  # pragma: no cover - abstract
        raise NotImplementedError

    #: ``(key, evidence, n) -> (matrix rows, summary)`` where the model conditions exactly, or
    #: None (conditional sampling then falls back to rejection); see conditional.py
    _condition_fn = None

    def _sampler(self):
        """The pure sampling function ``(key, params, n) -> X``; override to bind settings."""
        return type(self)._sample_fn

    def _log_prob(self):
        """The pure scoring function ``(params, X) -> (n,)``; override to bind settings."""
        return type(self)._log_prob_fn

    @staticmethod
    def _sample_fn(key, params, n: int):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _log_prob_fn(params, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"this {self.name} generator is not fitted yet; call fit first")


def _check_finite_params(name: str, params) -> None:
    """Refuse a fit whose parameters are not finite (a numerical failure, never a model)."""
    import jax

    for path, leaf in jax.tree_util.tree_leaves_with_path(params):
        arr = np.asarray(leaf)
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            where = jax.tree_util.keystr(path)
            raise InvalidDataError(
                f"fitting {name} failed numerically: parameter {where} is not finite; the data may "
                "be badly scaled or too small for the model (try a larger reg_covar, fewer "
                "components, or another covariance_type)"
            )


def _jit(fn):
    import jax

    return jax.jit(fn)


@functools.lru_cache(maxsize=64)
def _block_range_sampler(sample_fn):
    """The jitted block sampler of ``sample_fn``; one per function, shared by every instance.

    The block keys are made inside the call (outside ``jit`` they cost more than the rows).
    """
    import jax

    from .random import block_keys

    def run(key, first_block, params, n_blocks):
        keys = block_keys(key, first_block, n_blocks)
        return jax.vmap(lambda k: sample_fn(k, params, BLOCK_ROWS))(keys)

    return jax.jit(run, static_argnums=3)


def _is_fitted_attribute(name: str) -> bool:
    """Fitted state: public names ending in ``_`` (scikit-learn's rule), private ``_x_`` names,
    and the per-fit cache of compiled functions."""
    return (name.endswith("_") and not name.endswith("__")) or name == "_jit_cache"


def _same(a, b) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # noqa: BLE001 - arrays and odd objects compare badly
        return a is b

