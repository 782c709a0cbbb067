"""The Mahalanobis rejection sampler: keep samples away from real records, or insist on an attribute.

It wraps a generator and is used like one.  Each record ``r`` it must avoid is given a Gaussian
neighbourhood ``N(mu_r, diag(sigma_r^2))``; a candidate ``z`` is rejected when its Mahalanobis
distance ``||(z - mu_r) / sigma_r||`` to any of them is below a threshold.

* In a VAE's latent space (a generator with ``encode``), ``mu_r, sigma_r`` are the record's posterior
  and candidates are prior draws, decoded once accepted.
* In data space (every other generator), the neighbourhood of a record is the kernel a Gaussian KDE
  would put on it: ``N(x_r, h^2 S)`` with ``S`` the training covariance (whitened distance) and ``h``
  Scott's factor ``n^(-1/(d+4))``; for a KDE generator, its own kernel ``N(x_r, h^2 I)``.

The threshold comes from a significance level ``alpha``: the distance of a d-dimensional standard
normal draw follows a chi distribution with d degrees of freedom, so the threshold is
``sqrt(chi2.ppf(1 - alpha, d))``.  ``threshold=`` gives a distance directly.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .._params import AnyOf, Bool, Choice, Float, Int, Optional, Param, validate
from ..base import Generator, _same, check_n
from ..errors import InvalidParameterError, NotFittedError, SamplingError
from ..random import BLOCK_ROWS, check_seed, fit_keys
from .require import as_predicate
from .spaces import DataSpace, LatentSpace


class RejectionSampler(Generator):
    """Wrap ``generator``; sample only candidates far from the records to ``avoid``.

    Parameters
    ----------
    generator : Generator or str
        The generator to wrap (a registry name builds one with default settings).  If it is already
        fitted, ``fit`` keeps it and only learns the records to avoid.
    avoid : "auto", "training", None, or data
        Records to keep away from: the whole training set, none, or a data set in the user's form.
        "auto" (the default) means the training set when no ``require`` is given, else none.
    require : callable, str or None
        A predicate on records (a registration string, or a table row as a dict), or an expression
        in the small ``require`` language (:mod:`synthgen.sampling.require`).  Every training record
        without the attribute is added to the records to avoid.
    check_output : bool
        Also check each decoded sample against ``require`` and drop those that fail.
    alpha, threshold : float
        Significance level of the chi threshold, or the distance itself.
    space : "auto", "latent" or "data"
        Where distances are measured; "auto" is latent for generators with ``encode``.
    data_scale : "neighbour" or "kernel"
        In data space, the size of each record's neighbourhood: its nearest-neighbour distance
        (default) or a KDE kernel (see :class:`synthgen.sampling.spaces.DataSpace`).
    decode : "auto", "sample" or "mode"
        In latent space, how an accepted point becomes a record: drawn from the decoder's
        distribution, or its most likely record.  "auto" (default) takes the most likely record
        when ``require`` is given (the attribute belongs to the point, not to decoder noise) and
        the generator's own ``sample_mode`` otherwise.
    max_tries : int
        Batches of candidates to draw before giving up with ``SamplingError``.
    max_batch : int
        Largest number of candidates in one batch.
    """

    name = "rejection"
    hyperparameters = {
        "avoid": Param("auto", AnyOf(Choice("auto", "training"), desc="'auto', 'training', None or data"),
                       "records to keep away from ('auto': training unless require is given)"),
        "require": Param(None, AnyOf(desc="None, a callable or an expression"), "attribute to insist on"),
        "check_output": Param(False, Bool(), "check decoded samples against require"),
        "alpha": Param(0.05, Float(0, 1, low_open=True, high_open=True), "significance level"),
        "threshold": Param(None, Optional(Float(0, low_open=True)), "distance threshold (overrides alpha)"),
        "space": Param("auto", Choice("auto", "latent", "data"), "where distances are measured"),
        "data_scale": Param("neighbour", Choice("neighbour", "kernel"),
                            "size of a record's neighbourhood in data space"),
        "decode": Param("auto", Choice("auto", "sample", "mode"),
                        "latent space: how accepted points are decoded"),
        "max_tries": Param(20, Int(1), "batches to draw before giving up"),
        "max_batch": Param(1 << 18, Int(BLOCK_ROWS), "largest batch of candidates"),
    }

    def __init__(self, generator=None, **hyperparameters: Any):
        super().__init__(**hyperparameters)
        self.generator = generator

    def __repr__(self) -> str:
        table = self.param_table()
        changed = [f"{k}={_short_repr(getattr(self, k))}" for k in table
                   if not _same(getattr(self, k), table[k].default)]
        return f"RejectionSampler({', '.join([repr(self.generator), *changed])})"

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        return {"generator": self.generator, **super().get_params()}

    @classmethod
    def param_table(cls) -> dict[str, Param]:
        return dict(cls.hyperparameters)

    def _validated_params(self) -> dict[str, Any]:
        values = {k: getattr(self, k) for k in self.hyperparameters}
        table = dict(self.hyperparameters)
        avoid, require = values.pop("avoid"), values.pop("require")
        table.pop("avoid"), table.pop("require")
        hp = validate(self.name, table, values)
        if isinstance(avoid, str) and avoid not in ("auto", "training"):
            raise InvalidParameterError(f"avoid must be 'auto', 'training', None or data; got {avoid!r}")
        if isinstance(avoid, str) and avoid == "auto":
            avoid = "training" if require is None else None
        if require is not None and not (callable(require) or isinstance(require, str)):
            raise InvalidParameterError(
                f"require must be None, a callable or an expression string; got {require!r}"
            )
        hp["avoid"], hp["require"] = avoid, require
        return hp

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, data, y=None, *, seed: int | None = None) -> "RejectionSampler":
        """Fit the wrapped generator (unless already fitted) and learn the records to avoid.

        ``y`` is ignored (scikit-learn's convention); ``seed`` defaults to 0.
        """
        seed = check_seed(0 if seed is None else seed)
        hp = self._validated_params()
        gen = self.generator
        if gen is None:
            raise InvalidParameterError("generator must be a Generator or a generator name; got None")
        if isinstance(gen, str):
            from ..registry import make

            gen = make(gen)
        if not isinstance(gen, Generator):
            raise InvalidParameterError(f"generator must be a Generator or a generator name; got {gen!r}")
        if not hasattr(gen, "params_"):
            gen.fit(data, seed=seed)
        self.generator_ = gen
        self.predicate_ = as_predicate(hp["require"])
        self.space_ = self._make_space(hp["space"])
        records = self._records_to_avoid(data, hp)
        d = self.space_.dim
        self.threshold_ = float(hp["threshold"]) if hp["threshold"] is not None else chi_threshold(hp["alpha"], d)
        if isinstance(self.space_, DataSpace):
            self.space_.set_scale_from(data)
        self.space_.index(records)
        self.n_avoided_ = self.space_.n_records
        self.vectoriser_ = gen.vectoriser_
        self.n_features_in_ = gen.n_features_in_
        self.n_train_ = gen.n_train_
        self.fit_seed_ = seed
        self.params_ = gen.params_
        self._sample_key_ = np.asarray(fit_keys(seed)[1])
        self._n_sample_calls_ = 0
        self.summary_: dict[str, Any] = {}
        return self

    def _make_space(self, space: str):
        gen = self.generator_
        latent = hasattr(gen, "encode")
        if space == "latent" and not latent:
            raise InvalidParameterError(
                f"space='latent' needs a generator with a latent space (vae); got {gen.name}"
            )
        if space == "latent" or (space == "auto" and latent):
            mode = self.decode
            if mode == "auto":
                mode = "mode" if self.require is not None else None
            return LatentSpace(gen, mode=mode)
        return DataSpace(gen, scale=self.data_scale)

    def _records_to_avoid(self, data, hp) -> Any:
        """The records in the user's form: avoid set plus training records lacking the attribute."""
        from .spaces import select_records, user_records

        parts = []
        if hp["avoid"] is not None:
            parts.append(data if isinstance(hp["avoid"], str) else hp["avoid"])
        if self.predicate_ is not None:
            rows = user_records(data)
            keep = np.array([not bool(self.predicate_(r)) for r in rows], dtype=bool)
            if keep.all():
                raise SamplingError(
                    "no training record has the required attribute, so nothing is left to sample from"
                )
            self.share_with_attribute_ = float(1.0 - keep.mean())
            parts.append(select_records(data, keep))
        return parts

    # -- sampling -------------------------------------------------------------------------------
    def sample(self, n: int, *, seed: int | None = None):
        n = check_n(n)
        return self._concat(list(self.iter_sample(n, seed=seed, chunk_rows=n)))

    def sample_matrix(self, n: int, *, seed: int | None = None) -> np.ndarray:
        n = check_n(n)
        key = self._next_key(seed)
        return np.concatenate([m for m, _ in self._accepted(key, n)])[:n]

    def sample_latent(self, n: int, *, seed: int | None = None) -> np.ndarray:
        """The accepted points themselves (latent points, or rows in data space), before decoding.

        With the same seed they are exactly the points that ``sample`` decodes.
        """
        n = check_n(n)
        key = self._next_key(seed)
        return np.concatenate([c for _, c in self._accepted(key, n, with_points=True)])[:n]

    def iter_sample(self, n: int, *, seed: int | None = None, chunk_rows: int = 65536):
        """Accepted rows in chunks; the same rows for a seed whatever ``chunk_rows``."""
        n = check_n(n)
        chunk_rows = check_n(chunk_rows, "chunk_rows")
        key = self._next_key(seed)
        pending: list[np.ndarray] = []
        have = 0
        for matrix, _ in self._accepted(key, n):
            pending.append(matrix)
            have += len(matrix)
            while have >= chunk_rows:
                block = np.concatenate(pending)
                yield self.vectoriser_.inverse_transform(block[:chunk_rows])
                pending, have = [block[chunk_rows:]], have - chunk_rows
        if have:
            yield self.vectoriser_.inverse_transform(np.concatenate(pending))

    def _accepted(self, key, n: int, with_points: bool = False):
        """Yield (accepted rows in the vectorised space, their count or, ``with_points``, the
        accepted candidate points) until n rows are found."""
        import jax

        self._check_fitted()
        found, drawn, passed, tries, block = 0, 0, 0, 0, 0
        nearest_seen = math.inf
        rate = None
        while found < n:
            if tries >= self.max_tries:
                self._record_summary(n, found, drawn, nearest_seen, passed)
                raise SamplingError(
                    f"found {found} of {n} rows after {tries} batches ({drawn} candidates, "
                    f"acceptance {passed / max(drawn, 1):.3%}); raise max_tries or alpha, lower the "
                    "threshold, or relax require"
                )
            n_blocks = self._blocks_for(n - found, rate)
            for b in range(block, block + n_blocks):
                cand = self.space_.candidates(key, b)
                dist = self.space_.distances(cand)
                ok = dist > self.threshold_
                if len(dist):
                    nearest_seen = min(nearest_seen, float(dist.min()))
                rows = self.space_.to_matrix(jax.random.fold_in(key, b), cand, ok)
                points = cand[ok]
                if self.check_output and self.predicate_ is not None and len(rows):
                    good = np.array([bool(self.predicate_(r)) for r in _user_rows(self.vectoriser_, rows)])
                    rows, points = rows[good], points[good]
                drawn += len(cand)
                passed += len(rows)
                take = rows[: n - found]
                found += len(take)
                if len(take):
                    yield take, (points[: len(take)] if with_points else len(take))
                if found >= n:
                    break
            block += n_blocks
            tries += 1
            rate = passed / drawn if drawn else None
        self._record_summary(n, found, drawn, nearest_seen, passed)

    def _blocks_for(self, missing: int, rate: float | None) -> int:
        """Blocks in the next batch: enough for the missing rows at the rate seen so far (capped)."""
        if rate is None:
            want = missing * 2
        else:
            want = missing / max(rate, 1e-4) * 1.2
        cap = max(1, self.max_batch // BLOCK_ROWS)
        return int(min(cap, max(1, math.ceil(want / BLOCK_ROWS))))

    def _record_summary(self, n, found, drawn, nearest, passed) -> None:
        self.acceptance_rate_ = passed / drawn if drawn else float("nan")
        self.summary_ = {
            "requested": int(n),
            "accepted": int(found),
            "candidates": int(drawn),
            "passed": int(passed),
            "acceptance_rate": self.acceptance_rate_,
            "threshold": self.threshold_,
            "nearest_distance_seen": nearest,
            "space": self.space_.kind,
            "records_avoided": int(self.n_avoided_),
        }

    def _concat(self, parts):
        import pandas as pd

        if isinstance(parts[0], pd.DataFrame):
            return pd.concat(parts, ignore_index=True)
        if isinstance(parts[0], list):
            return [s for p in parts for s in p]
        return np.concatenate(parts)

    # -- scoring and persistence ----------------------------------------------------------------
    def score_samples(self, data) -> np.ndarray:
        """The wrapped generator's log density (the filter does not renormalise it)."""
        self._check_fitted()
        return self.generator_.score_samples(data)

    def training_summary(self) -> dict[str, Any]:
        return {**self.generator_.training_summary(), "threshold": self.threshold_,
                "records_avoided": int(self.n_avoided_), "space": self.space_.kind}

    def save(self, path) -> None:
        from .._version import __version__
        from ..io import write_model_file

        self._check_fitted()
        require = self.require
        if callable(require):
            if self.check_output:
                raise InvalidParameterError(
                    "cannot save a sampler whose require is a Python callable with check_output=True; "
                    "give require as an expression string"
                )
            warnings.warn("require is a Python callable and is not saved; the records it excluded are",
                          UserWarning, stacklevel=2)
            require = None
        inner = self.generator_
        hp = {k: getattr(self, k) for k in self.hyperparameters if k not in ("avoid", "require")}
        config = {
            "synthgen_version": __version__,
            "generator": self.name,
            "hyperparameters": {**hp, "require": require},
            "inner": {"generator": inner.name, "hyperparameters": inner._hyperparameters_for_file()},
            "vectoriser": inner.vectoriser_.name,
            "training": self.training_summary(),
        }
        trees = {
            "params": inner.params_,
            "state": inner._get_state(),
            "vectoriser": inner.vectoriser_.get_state(),
            "sampler": {"threshold": self.threshold_, "space": self.space_.get_state(),
                        "n_sample_calls": int(self._n_sample_calls_), "fit_seed": int(self.fit_seed_),
                        "sample_key": np.asarray(self._sample_key_)},
        }
        write_model_file(path, config, trees)

    @classmethod
    def _from_file(cls, config: dict, trees: dict) -> "RejectionSampler":
        from ..errors import ModelFileError
        from ..loading import from_trees
        from ..registry import get_generator_class

        inner_cfg, hp, state = config.get("inner"), config.get("hyperparameters"), trees.get("sampler")
        if not isinstance(inner_cfg, dict) or not isinstance(inner_cfg.get("generator"), str):
            raise ModelFileError("it does not say which generator its sampler wraps")
        if not isinstance(hp, dict) or not isinstance(state, dict):
            raise ModelFileError("it lacks the sampler's settings or state")
        inner_cls = get_generator_class(inner_cfg["generator"], for_file="its sampler")
        if issubclass(inner_cls, RejectionSampler):
            raise ModelFileError("its sampler wraps another sampler")
        inner = from_trees(inner_cls, {"hyperparameters": inner_cfg.get("hyperparameters", {}),
                                       "vectoriser": config.get("vectoriser")}, trees)
        try:
            obj = cls(inner, **hp)
            obj._validated_params()
            obj.predicate_ = as_predicate(hp.get("require"))
        except InvalidParameterError as exc:
            raise ModelFileError(f"its sampler settings are invalid: {exc}") from exc
        obj.generator_ = inner
        obj.space_ = _space_from_state(inner, state.get("space"))
        threshold = state.get("threshold")
        if type(threshold) not in (int, float) or not math.isfinite(threshold) or threshold <= 0:
            raise ModelFileError(f"its sampler threshold must be a positive number; got {threshold!r:.40}")
        obj.threshold_ = float(threshold)
        obj.n_avoided_ = obj.space_.n_records
        obj.vectoriser_ = inner.vectoriser_
        obj.n_features_in_, obj.n_train_ = inner.n_features_in_, inner.n_train_
        obj.params_ = inner.params_
        obj._sample_key_, obj.fit_seed_, obj._n_sample_calls_ = _saved_stream(state)
        obj.summary_ = {}
        return obj

    def _check_fitted(self) -> None:
        if not hasattr(self, "space_"):
            raise NotFittedError("this rejection sampler is not fitted yet; call fit first")


def _space_from_state(inner, state) -> DataSpace | LatentSpace:
    """The space a sampler saved, its records checked against the generator it wraps."""
    from ..errors import ModelFileError

    kind = state.get("kind") if isinstance(state, dict) else None
    if kind not in ("data", "latent"):
        raise ModelFileError("its sampler's space is neither 'data' nor 'latent'")
    if kind == "latent":
        if not hasattr(inner, "encode"):
            raise ModelFileError(f"its sampler works in a latent space, which {inner.name} has not")
        space = LatentSpace(inner)
        rows = _saved_records(state, "mu", space.dim)
        _saved_records(state, "sigma", space.dim, rows=rows, positive=True)
        if state.get("mode") not in (None, "sample", "mode"):
            raise ModelFileError(f"its sampler's decode mode {state.get('mode')!r:.40} is unknown")
    else:
        space = DataSpace(inner)
        if state.get("scale") not in ("neighbour", "kernel"):
            raise ModelFileError(f"its sampler's scale {state.get('scale')!r:.40} is unknown")
        rows = _saved_records(state, "records", space.dim)
        _saved_records(state, "whiten", space.dim, rows=space.dim)
        if state.get("scales") is not None:
            _saved_records(state, "scales", space.dim, rows=rows, positive=True)
    space.set_state(state)
    return space


def _saved_stream(state: dict) -> tuple[np.ndarray, int, int]:
    """The sampler's key, fit seed and count of unseeded calls, checked."""
    from ..errors import ModelFileError
    from ..random import key_from_seed

    key, shape = state.get("sample_key"), np.shape(key_from_seed(0))
    if not isinstance(key, np.ndarray) or key.shape != shape or key.dtype != np.uint32:
        raise ModelFileError(f"its sampler's sample_key must be a uint32 array of shape {shape}")
    counts = []
    for name in ("fit_seed", "n_sample_calls"):
        value = state.get(name)
        if type(value) is not int or not 0 <= value <= 2**32 - 1:
            raise ModelFileError(f"its sampler's {name} must be an int in [0, 2**32 - 1]; got {value!r:.40}")
        counts.append(value)
    return key, counts[0], counts[1]


def _saved_records(state: dict, name: str, dim: int, rows: int | None = None,
                   positive: bool = False) -> int:
    from ..errors import ModelFileError

    arr = state.get(name)
    if (not isinstance(arr, np.ndarray) or arr.dtype.kind != "f" or arr.ndim != 2 or arr.shape[1] != dim
            or len(arr) < 1 or (rows is not None and len(arr) != rows)):
        want = f"({rows if rows is not None else 'rows'}, {dim})"
        raise ModelFileError(f"its sampler's {name} must be a float array of shape {want}")
    if not np.isfinite(arr).all() or (positive and not (arr > 0).all()):
        raise ModelFileError(f"its sampler's {name} must be finite{' and positive' if positive else ''}")
    return len(arr)


def chi_threshold(alpha: float, d: int) -> float:
    """The distance a d-dimensional standard normal draw exceeds with probability ``alpha``."""
    from scipy.stats import chi2

    return float(np.sqrt(chi2.ppf(1.0 - alpha, d)))


def _user_rows(vectoriser, rows: np.ndarray):
    from .spaces import user_records

    return user_records(vectoriser.inverse_transform(rows))


def _short_repr(value) -> str:
    """A parameter for ``repr``: records to avoid are shown by their shape, not in full."""
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, (str, bytes)):
        return f"<{type(value).__name__} of shape {tuple(shape)}>"
    if isinstance(value, (list, tuple)) and len(value) > 8:
        return f"<{type(value).__name__} of {len(value)} items>"
    return repr(value)
