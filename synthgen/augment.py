"""Grow the rare classes of a labelled table with synthetic rows: an imbalanced-learn sampler.

:class:`GeneratorOversampler` fits one synthgen generator to the rows of each class it must grow
and appends the rows it samples, exactly where and in the numbers an imbalanced-learn
over-sampler (``SMOTE``, ``RandomOverSampler``) would.  It drops into ``imblearn.pipeline.Pipeline``
and is cloned by ``sklearn.base.clone``, yet needs neither scikit-learn nor imbalanced-learn
to run.

Numeric input (an array, a list of rows, or a DataFrame of numbers without gaps) is modelled per
class after standardisation: each column is centred and scaled by the class's own mean and
standard deviation, and columns that are constant within the class are left out and restored as
they are.  Other DataFrames (categories, gaps) go to the generator as they are, through a
``TableVectoriser``.  :func:`augment_frame` is the same operation on one DataFrame that holds
its target column.
"""

from __future__ import annotations

import copy
import numbers
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd

from .errors import InvalidDataError, InvalidParameterError, NotFittedError

SAMPLING_STRATEGIES = ("auto", "minority", "not minority", "not majority", "all")
_AVOID_KEYS = ("alpha", "threshold", "space", "data_scale", "max_tries", "max_batch")
_PARAMS = ("sampling_strategy", "random_state", "generator", "generator_params", "avoid")
_MAX_SEED = 2**31 - 1


# -- the target -------------------------------------------------------------------------------
def read_target(y, n_rows: int | None = None) -> np.ndarray:
    """Class labels of ``y`` as a 1-D array (a one-vs-all indicator matrix becomes column indices).

    ``y`` may be a list, an array (1-D, a single column, or a 0/1 indicator matrix with at most
    one 1 per row), a Series or a one-column DataFrame.  Continuous values, gaps and multi-label
    targets are refused.
    """
    if hasattr(y, "iloc"):
        values = y.to_numpy()
    else:
        values = np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    elif values.ndim == 2:
        values = _indicator_to_labels(values)
    if values.ndim != 1:
        raise InvalidDataError(f"y must be 1-D (one label per row); got shape {values.shape}")
    if n_rows is not None and len(values) != n_rows:
        raise InvalidDataError(f"X has {n_rows} rows but y has {len(values)} labels; they must match")
    _check_labels(values)
    return values


def _indicator_to_labels(values: np.ndarray) -> np.ndarray:
    binary = values.dtype.kind in "biuf" and np.isin(values, (0, 1)).all()
    if not binary:
        raise InvalidDataError(
            f"y has {values.shape[1]} columns that are not a 0/1 indicator matrix; multilabel and "
            "multioutput targets are not supported"
        )
    if (values.sum(axis=1) > 1).any():
        raise InvalidDataError(
            "y is a multilabel indicator matrix (a row with more than one 1); multilabel and "
            "multioutput targets are not supported"
        )
    return values.argmax(axis=1)


def _check_labels(values: np.ndarray) -> None:
    if len(values) == 0:
        raise InvalidDataError("y is empty (0 labels)")
    if pd.isna(values).any():
        i = int(np.flatnonzero(pd.isna(values))[0])
        raise InvalidDataError(f"y has a missing label at row {i}; drop or fill it")
    if values.dtype.kind == "f":
        bad = values[values != np.round(values)]
        if len(bad):
            raise InvalidDataError(
                f"y must hold class labels (ints, strings or booleans); got continuous values "
                f"such as {bad[0]!r} (unknown label type: continuous)"
            )
    try:
        np.unique(values)
    except TypeError:
        raise InvalidDataError("y mixes labels of kinds that cannot be ordered (e.g. str and int)") from None


def class_counts(labels: np.ndarray) -> dict:
    """Class -> number of rows, in sorted class order."""
    classes, counts = np.unique(labels, return_counts=True)
    return {_plain(c): int(n) for c, n in zip(classes, counts)}


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


# -- the sampling strategy --------------------------------------------------------------------
def resolve_sampling_strategy(sampling_strategy, labels) -> OrderedDict:
    """Class -> number of new rows, with imbalanced-learn's over-sampling meanings.

    * float ``r`` in (0, 1], binary targets only: grow the minority class to ``r`` times the
      majority's count;
    * "minority", "not minority", "not majority", "all", or "auto" (= "not majority"): grow the
      classes named to the majority's count;
    * dict: class -> the count wanted after resampling (at least its current count);
    * callable: ``f(y)`` gives such a dict.
    """
    labels = np.asarray(labels)
    counts = class_counts(labels)
    if len(counts) < 2:
        only = next(iter(counts), None)
        raise InvalidDataError(
            f"y has a single class ({only!r}); an over-sampler needs at least 2 classes to balance"
        )
    majority = max(counts, key=counts.get)
    n_max = counts[majority]
    s = sampling_strategy
    if isinstance(s, str):
        out = _named_strategy(s, counts, majority, n_max)
    elif isinstance(s, dict):
        out = _dict_strategy(s, counts)
    elif isinstance(s, numbers.Real) and not isinstance(s, (bool, np.bool_)):
        out = _float_strategy(float(s), counts, majority, n_max)
    elif callable(s):
        wanted = s(labels)
        if not isinstance(wanted, dict):
            raise InvalidParameterError(
                f"sampling_strategy as a callable must return a dict of class -> count; got {wanted!r}"
            )
        out = _dict_strategy(wanted, counts)
    else:
        raise InvalidParameterError(
            "sampling_strategy must be a float in (0, 1], one of " + ", ".join(map(repr, SAMPLING_STRATEGIES))
            + f", a dict of class -> count, or a callable; got {s!r}"
        )
    return OrderedDict(sorted(out.items()))


def _named_strategy(s: str, counts: dict, majority, n_max: int) -> dict:
    minority = min(counts, key=counts.get)
    chosen = {
        "minority": [minority],
        "not minority": [c for c in counts if c != minority],
        "not majority": [c for c in counts if c != majority],
        "auto": [c for c in counts if c != majority],
        "all": list(counts),
    }
    if s not in chosen:
        extra = "; 'majority' would only shrink a class, which an over-sampler never does" if s == "majority" else ""
        raise InvalidParameterError(
            "sampling_strategy as a str must be one of " + ", ".join(map(repr, SAMPLING_STRATEGIES))
            + f"; got {s!r}{extra}"
        )
    return {c: n_max - counts[c] for c in chosen[s]}


def _dict_strategy(wanted: dict, counts: dict) -> dict:
    out = {}
    for key, n in wanted.items():
        c = _plain(key)
        if c not in counts:
            raise InvalidParameterError(
                f"sampling_strategy names class {c!r}, which is not in y; classes: {list(counts)}"
            )
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) or n < 0:
            raise InvalidParameterError(
                f"sampling_strategy[{c!r}] must be a non-negative int count; got {n!r}"
            )
        if n < counts[c]:
            raise InvalidParameterError(
                f"sampling_strategy[{c!r}] asks for {n} rows but the class has {counts[c]}; an "
                "over-sampler only adds rows, so ask for at least the current count"
            )
        out[c] = int(n) - counts[c]
    return out


def _float_strategy(r: float, counts: dict, majority, n_max: int) -> dict:
    if not 0.0 < r <= 1.0:
        raise InvalidParameterError(f"sampling_strategy as a float must be in (0, 1]; got {r}")
    if len(counts) != 2:
        raise InvalidParameterError(
            f"sampling_strategy can be a float only for a binary target; y has {len(counts)} classes "
            "(give a dict of class -> count instead)"
        )
    out = {c: int(n_max * r - n) for c, n in counts.items() if c != majority}
    for c, n in out.items():
        if n <= 0:
            raise InvalidParameterError(
                f"sampling_strategy={r} asks for {int(n_max * r)} rows of class {c!r}, which "
                f"already has {counts[c]}; raise the ratio above {counts[c] / n_max:.4g}"
            )
    return out


# -- seeds ------------------------------------------------------------------------------------
def check_random_state(random_state) -> np.random.RandomState:
    """A ``RandomState`` from None (numpy's global one), an int, or a ``RandomState``."""
    if random_state is None:
        return np.random.mtrand._rand
    if isinstance(random_state, np.random.RandomState):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, (bool, np.bool_)):
        if 0 <= random_state < 2**32:
            return np.random.RandomState(int(random_state))
    raise InvalidParameterError(
        f"random_state must be None, an int in [0, 2**32) or a numpy RandomState; got {random_state!r}"
    )


def class_seeds(random_state, n_classes: int) -> list[tuple[int, int]]:
    """One (fit seed, sample seed) pair per class grown, drawn from ``random_state``."""
    rs = check_random_state(random_state)
    draws = rs.randint(0, _MAX_SEED, size=(n_classes, 2))
    return [(int(a), int(b)) for a, b in draws]


# -- generators -------------------------------------------------------------------------------
def class_defaults(name: str, n_rows: int, n_features: int) -> dict[str, Any]:
    """Settings used for a generator named ``name`` fitted on a class of ``n_rows`` standardised
    rows in ``n_features`` columns, unless ``generator_params`` says otherwise.

    * gaussian: ``covariance_type="diag"`` and ``reg_covar=1e-3`` (a thousandth of each column's
      variance).  A class's full covariance is singular when it has fewer rows than columns and
      poorly estimated well beyond that; on the credit-card benchmark (``docs/augment.md``) the
      diagonal model gave better classifiers than the full one at every class size from 10 to 250
      rows in 29 columns.  With ``covariance_type="full"`` the ``reg_covar`` keeps it positive
      definite;
    * gmm, pca_gmm: components chosen by BIC among ``1 .. max(1, min(20, n_rows // (n_features + 1)))``
      so every component has at least as many rows as parameters of its mean;
    * vae: no progress bar.
    """
    out: dict[str, Any] = {}
    if name == "gaussian":
        out.update(covariance_type="diag", reg_covar=1e-3)
    if name in ("gmm", "pca_gmm"):
        out["n_components"] = "bic"
        out["max_components"] = max(1, min(20, n_rows // (n_features + 1)))
    out["verbose"] = False
    return out


def _clone_generator(gen):
    """An unfitted copy of ``gen`` with the same hyperparameters (wrapped generators cloned too)."""
    from .base import Generator

    params = {}
    for key, value in gen.get_params().items():
        params[key] = _clone_generator(value) if isinstance(value, Generator) else copy.deepcopy(value)
    return type(gen)(**params)


def _check_generator(spec) -> None:
    from .base import Generator
    from .registry import list_generators

    if isinstance(spec, Generator):
        return
    names = list_generators()
    if not isinstance(spec, str) or spec not in names:
        raise InvalidParameterError(
            f"generator must be a generator name ({', '.join(names)}) or a synthgen Generator; got {spec!r}"
        )


def _check_avoid(avoid) -> dict | None:
    """``None`` for no filter, else the rejection sampler's settings."""
    if isinstance(avoid, (bool, np.bool_)):
        return {} if avoid else None
    if isinstance(avoid, dict):
        unknown = sorted(set(map(str, avoid)) - set(_AVOID_KEYS))
        if unknown:
            raise InvalidParameterError(
                f"avoid has unknown rejection-sampler settings: {', '.join(unknown)}; known: "
                + ", ".join(_AVOID_KEYS)
            )
        return dict(avoid)
    raise InvalidParameterError(
        f"avoid must be True, False, or a dict of rejection-sampler settings; got {avoid!r}"
    )


# -- the data ---------------------------------------------------------------------------------
class _Layout:
    """How X came in (array, list or DataFrame) and how its numeric columns go back."""

    def __init__(self, X):
        from scipy import sparse

        if sparse.issparse(X):
            raise InvalidDataError("X is a sparse matrix; give a dense array or a DataFrame")
        self.kind = "frame" if isinstance(X, pd.DataFrame) else "list" if isinstance(X, list) else "array"
        frame = X if self.kind == "frame" else None
        values = None if frame is not None else np.asarray(X)
        if values is not None and values.ndim != 2:
            raise InvalidDataError(
                f"X must be 2-D (rows x columns); got shape {values.shape}"
                + ("; use X.reshape(-1, 1) for a single column" if values.ndim == 1 else "")
            )
        shape = frame.shape if frame is not None else values.shape
        if shape[0] == 0 or shape[1] == 0:
            raise InvalidDataError(f"X is empty (shape {shape})")
        self.n_rows, self.n_features = shape
        self.columns = list(frame.columns) if frame is not None else [f"x{i}" for i in range(shape[1])]
        self.numeric = _is_numeric(frame) if frame is not None else values.dtype.kind in "biuf"
        if values is not None and not self.numeric:
            raise InvalidDataError(
                f"X must be numeric; got an array of dtype {values.dtype} (use a DataFrame for "
                "columns of mixed kinds)"
            )
        self.dtypes = list(frame.dtypes) if frame is not None else [values.dtype] * shape[1]

    def matrix(self, X) -> np.ndarray:
        """X as float64, checked for gaps and infinities."""
        from .base import check_matrix

        M = X.to_numpy(dtype=np.float64) if self.kind == "frame" else np.asarray(X, dtype=np.float64)
        check_matrix(M, [str(c) for c in self.columns], what="X")
        self.low, self.high = M.min(axis=0), M.max(axis=0)
        return M

    def restore(self, M: np.ndarray):
        """New rows from a float matrix, in X's form and dtypes (integers rounded, in range)."""
        cols = [_cast(M[:, j], dt, self.low[j], self.high[j]) for j, dt in enumerate(self.dtypes)]
        if self.kind == "frame":
            out = pd.DataFrame({i: c for i, c in enumerate(cols)}, index=pd.RangeIndex(len(M)))
            out.columns = pd.Index(self.columns)
            return out
        arr = np.column_stack(cols).astype(self.dtypes[0], copy=False) if len(M) else M.astype(self.dtypes[0])
        return arr.tolist() if self.kind == "list" else arr


def _is_numeric(frame: pd.DataFrame) -> bool:
    kinds = all(
        pd.api.types.is_numeric_dtype(frame[c].dtype) or pd.api.types.is_bool_dtype(frame[c].dtype)
        for c in frame.columns
    )
    return kinds and not frame.isna().any().any()


def _cast(values: np.ndarray, dtype, low: float, high: float):
    if pd.api.types.is_bool_dtype(dtype):
        return pd.array(values >= 0.5, dtype=dtype) if isinstance(dtype, pd.api.extensions.ExtensionDtype) else values >= 0.5
    if pd.api.types.is_integer_dtype(dtype):
        values = np.clip(np.rint(values), low, high)
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return pd.array(values, dtype=dtype)
    return values.astype(dtype)


def _take(data, idx: np.ndarray):
    if isinstance(data, (pd.DataFrame, pd.Series)):
        return data.iloc[idx]
    if isinstance(data, list):
        return [data[i] for i in idx]
    return np.asarray(data)[idx]


def _append(data, new):
    """``data`` then ``new``, in ``data``'s form (a pandas object gets a fresh RangeIndex)."""
    if isinstance(data, (pd.DataFrame, pd.Series)):
        return pd.concat([data, new], ignore_index=True)
    if isinstance(data, list):
        return list(data) + list(new)
    return np.concatenate([np.asarray(data), np.asarray(new)])


class _ClassModel:
    """One class's generator and the standardisation it was fitted under (numeric data)."""

    def __init__(self, generator, layout: _Layout, standardised: bool):
        self.generator = generator
        self.layout = layout
        self.standardised = standardised

    def fit(self, rows, seed: int, label) -> "_ClassModel":
        min_rows = max(2, int(getattr(self.generator, "min_rows", 2)))
        if len(rows) < min_rows:
            raise InvalidDataError(
                f"class {label!r} has {len(rows)} row(s); a {self.generator.name} generator needs at "
                f"least {min_rows} to learn from (leave the class out of sampling_strategy)"
            )
        if not self.standardised:
            self.generator.fit(rows, seed=seed)
            return self
        self.mean = rows.mean(axis=0)
        self.scale = rows.std(axis=0)
        self.varying = np.ptp(rows, axis=0) > 0
        self.scale[~self.varying] = 1.0
        if self.varying.any():
            Z = (rows[:, self.varying] - self.mean[self.varying]) / self.scale[self.varying]
            self.generator.fit(Z, seed=seed)
        return self

    def sample(self, n: int, seed: int | None):
        if not self.standardised:
            return self._as_input_form(self.generator.sample(n, seed=seed))
        M = np.tile(self.mean, (n, 1))
        if self.varying.any():
            Z = np.asarray(self.generator.sample(n, seed=seed), dtype=np.float64)
            M[:, self.varying] = Z * self.scale[self.varying] + self.mean[self.varying]
        return self.layout.restore(M)

    def _as_input_form(self, rows):
        lay = self.layout
        if lay.kind != "frame":
            arr = np.asarray(rows).astype(lay.dtypes[0], copy=False)
            return arr.tolist() if lay.kind == "list" else arr
        if not isinstance(rows, pd.DataFrame) or list(rows.columns) != lay.columns:
            got = list(rows.columns) if isinstance(rows, pd.DataFrame) else type(rows).__name__
            raise InvalidParameterError(
                f"the generator's vectoriser gives back {got}, not X's columns {lay.columns}; "
                "choose a vectoriser that keeps every column (e.g. 'table')"
            )
        for j, dt in enumerate(lay.dtypes):
            if rows.dtypes.iloc[j] != dt:
                rows.isetitem(j, rows.iloc[:, j].astype(dt))
        return rows.reset_index(drop=True)


# -- the sampler ------------------------------------------------------------------------------
class GeneratorOversampler:
    """Over-sample rare classes with synthgen generators, as an imbalanced-learn sampler.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default "auto"
        How many rows each class gets, with imbalanced-learn's over-sampling meanings: a float
        ``r`` in (0, 1] (binary targets) grows the minority class to ``r`` times the majority's
        count; "minority", "not minority", "not majority", "all" and "auto" (= "not majority")
        grow the classes named to the majority's count; a dict maps a class to the count wanted
        after resampling; a callable ``f(y)`` returns such a dict.
    random_state : None, int or numpy.random.RandomState
        Source of the per-class fit and sample seeds: None uses numpy's global generator, an int
        gives the same rows on every call.
    generator : str or Generator, default "gaussian"
        A registry name ("gaussian", "gmm", "pca_gmm", "kde", "vae", ...) or a Generator, cloned
        (unfitted) for each class grown.
    generator_params : dict, optional
        Hyperparameters for each class's generator.  For a name, they override the small-class
        defaults of :func:`class_defaults`; for an instance, they are set on each clone.
    avoid : bool or dict, default False
        Wrap each class's generator in a :class:`synthgen.sampling.RejectionSampler` that keeps new
        rows away from the class's real rows; a dict gives the sampler's settings (``alpha``,
        ``threshold``, ``space``, ``data_scale``, ``max_tries``, ``max_batch``).

    Attributes
    ----------
    sampling_strategy_ : OrderedDict
        Class -> number of rows added (classes in sorted order).
    generators_ : dict
        Class -> fitted generator, for each class with rows to add.  For numeric X it models the
        class's standardised varying columns; :meth:`sample_class` gives rows in X's units.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Column names, when X was a DataFrame with string column names.
    """

    _estimator_type = "sampler"

    def __init__(self, *, sampling_strategy="auto", random_state=None, generator="gaussian",
                 generator_params=None, avoid=False):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.generator = generator
        self.generator_params = generator_params
        self.avoid = avoid

    # -- scikit-learn's estimator protocol ------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's arguments, by name."""
        return {k: getattr(self, k) for k in _PARAMS}

    def set_params(self, **params) -> "GeneratorOversampler":
        """Set constructor arguments by name; returns ``self``."""
        unknown = sorted(set(params) - set(_PARAMS))
        if unknown:
            raise InvalidParameterError(
                f"unknown parameter(s) for GeneratorOversampler: {', '.join(unknown)}; known: "
                + ", ".join(_PARAMS)
            )
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        defaults = GeneratorOversampler().get_params()
        changed = {k: v for k, v in self.get_params().items() if not _same(v, defaults[k])}
        return "GeneratorOversampler(" + ", ".join(f"{k}={v!r}" for k, v in changed.items()) + ")"

    def __sklearn_tags__(self):
        """Tags for scikit-learn and imbalanced-learn: a sampler of dense arrays and DataFrames."""
        from sklearn.utils import TargetTags

        try:
            from imblearn.utils._tags import InputTags, SamplerTags, Tags
        except ImportError:
            from sklearn.utils import InputTags, Tags

            return Tags(estimator_type=None, target_tags=TargetTags(required=True), input_tags=InputTags())
        tags = Tags(estimator_type="sampler", target_tags=TargetTags(required=True),
                    sampler_tags=SamplerTags())
        tags.input_tags = InputTags(two_d_array=True, sparse=False, allow_nan=False, dataframe=True)
        return tags

    # -- fitting and resampling -----------------------------------------------------------------
    def fit(self, X, y) -> "GeneratorOversampler":
        """Work out ``sampling_strategy_`` and fit one generator per class to grow; returns ``self``."""
        self._fit(X, y)
        return self

    def fit_resample(self, X, y, **params):
        """``X`` and ``y`` followed by the new rows and their labels, in the input's types."""
        if params:
            raise InvalidParameterError(
                f"fit_resample takes no extra parameters; got {', '.join(sorted(params))}"
            )
        self._fit(X, y)
        idx, new_rows = [], []
        for label, n in self.sampling_strategy_.items():
            if n > 0:
                new_rows.append(self._sample(label, n, self._sample_seeds_[label]))
                idx.append(np.full(n, self._first_row_[label]))
        if not new_rows:
            return _append(X, _take(X, np.arange(0))), _append(y, _take(y, np.arange(0)))
        new_X = new_rows[0]
        for part in new_rows[1:]:
            new_X = _append(new_X, part)
        return _append(X, new_X), _append(y, _take(y, np.concatenate(idx)))

    def sample_class(self, label, n: int, *, seed: int | None = None):
        """``n`` new rows of class ``label`` in X's form and units (same seed, same rows)."""
        from .base import check_n

        if not hasattr(self, "models_"):
            raise NotFittedError("this GeneratorOversampler is not fitted yet; call fit first")
        if label not in self.models_:
            raise InvalidParameterError(
                f"no generator was fitted for class {label!r}; fitted classes: {list(self.models_)}"
            )
        return self._sample(label, check_n(n), seed)

    def _sample(self, label, n: int, seed):
        return self.models_[label].sample(n, seed)

    def _fit(self, X, y) -> None:
        _check_generator(self.generator)
        avoid = _check_avoid(self.avoid)
        if self.generator_params is not None and not isinstance(self.generator_params, dict):
            raise InvalidParameterError(
                f"generator_params must be a dict of hyperparameters or None; got {self.generator_params!r}"
            )
        layout = _Layout(X)
        labels = read_target(y, layout.n_rows)
        strategy = resolve_sampling_strategy(self.sampling_strategy, labels)
        seeds = class_seeds(self.random_state, len(strategy))
        standardised = layout.numeric and self._vectoriser() is None
        data = layout.matrix(X) if standardised else (X if layout.kind == "frame" else np.asarray(X))
        self.n_features_in_ = layout.n_features
        if layout.kind == "frame" and all(isinstance(c, str) for c in layout.columns):
            self.feature_names_in_ = np.asarray(layout.columns, dtype=object)
        else:
            self.__dict__.pop("feature_names_in_", None)
        self.generators_, self.models_, self._sample_seeds_, self._first_row_ = {}, {}, {}, {}
        for (label, n_new), (fit_seed, sample_seed) in zip(strategy.items(), seeds):
            if n_new == 0:
                continue
            rows_idx = np.flatnonzero(labels == label)
            rows = _take(data, rows_idx)
            d = int(np.ptp(rows, axis=0).astype(bool).sum()) if standardised else layout.n_features
            gen = self._new_generator(len(rows_idx), max(d, 1), avoid, layout)
            model = _ClassModel(gen, layout, standardised).fit(rows, fit_seed, label)
            self.models_[label] = model
            self.generators_[label] = gen
            self._sample_seeds_[label] = sample_seed
            self._first_row_[label] = int(rows_idx[0])
        self.sampling_strategy_ = strategy

    def _vectoriser(self):
        from .base import Generator

        if isinstance(self.generator, Generator):
            return (self.generator_params or {}).get("vectoriser", self.generator.get_params().get("vectoriser"))
        return (self.generator_params or {}).get("vectoriser")

    def _new_generator(self, n_rows: int, n_features: int, avoid: dict | None, layout: _Layout):
        from .registry import get_generator_class

        params = dict(self.generator_params or {})
        if isinstance(self.generator, str):
            cls = get_generator_class(self.generator)
            table = cls.param_table()
            defaults = {k: v for k, v in class_defaults(self.generator, n_rows, n_features).items()
                        if k in table}
            if not layout.numeric and "vectoriser" not in params:
                defaults["vectoriser"] = "table"
            gen = cls(**{**defaults, **params})
        else:
            gen = _clone_generator(self.generator)
            if params:
                gen.set_params(**params)
        if avoid is None:
            return gen
        from .sampling.rejection import RejectionSampler

        return RejectionSampler(gen, **avoid)

    # -- feature names ---------------------------------------------------------------------------
    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Column names of the output: the input's (a sampler keeps every column)."""
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError("this GeneratorOversampler is not fitted yet; call fit first")
        known = getattr(self, "feature_names_in_", None)
        if input_features is None:
            if known is not None:
                return known.copy()
            return np.asarray([f"x{i}" for i in range(self.n_features_in_)], dtype=object)
        names = np.asarray(input_features, dtype=object)
        if known is not None and (len(names) != len(known) or (names != known).any()):
            raise InvalidParameterError(
                f"input_features is not equal to feature_names_in_: got {list(names)}, fitted on {list(known)}"
            )
        if len(names) != self.n_features_in_:
            raise InvalidParameterError(
                f"input_features should have length equal to number of features ({self.n_features_in_}), "
                f"got {len(names)}"
            )
        return names


def _same(a, b) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # noqa: BLE001 - objects that compare oddly count as changed
        return a is b


# -- one DataFrame with its target -------------------------------------------------------------
def augment_frame(df: pd.DataFrame, target: str, *, model="gaussian", ratio="auto", seed: int = 0,
                  params: dict | None = None, avoid: bool | dict = False) -> pd.DataFrame:
    """``df`` followed by synthetic rows of its rare classes (the command ``synthgen augment``).

    Parameters
    ----------
    df : DataFrame
        The table, target column included.
    target : str
        The class column.
    model : str or Generator
        Generator for each class grown (see :class:`GeneratorOversampler`).
    ratio : float, str, dict or callable
        The ``sampling_strategy``: e.g. 1.0 or "auto" to balance, 0.5 for half the majority.
    seed : int
        Same seed, same rows.
    params : dict, optional
        The generator's hyperparameters.
    avoid : bool or dict
        Keep new rows away from real ones (a rejection sampler; see ``GeneratorOversampler``).

    Returns
    -------
    DataFrame with ``df``'s columns in their order and dtypes: ``df``'s rows (with a fresh
    RangeIndex), then the new ones.
    """
    if not isinstance(df, pd.DataFrame):
        raise InvalidDataError(f"augment_frame needs a DataFrame; got {type(df).__name__}")
    if target not in df.columns:
        raise InvalidParameterError(
            f"target column {target!r} is not in the data; columns: {', '.join(map(str, df.columns))}"
        )
    sampler = GeneratorOversampler(sampling_strategy=ratio, random_state=seed, generator=model,
                                   generator_params=params, avoid=avoid)
    X_res, y_res = sampler.fit_resample(df.drop(columns=[target]), df[target])
    out = X_res.copy()
    out.insert(list(df.columns).index(target), target, y_res.to_numpy())
    out[target] = out[target].astype(df[target].dtype)
    return out
