"""Grow the rare classes of a labelled table with synthetic rows: an imbalanced-learn sampler.

:class:`GeneratorOversampler` fits one synthgen generator to the rows of each class it must grow
and appends the rows it samples, exactly where and in the numbers an imbalanced-learn
over-sampler (``SMOTE``, ``RandomOverSampler``) would.  It drops into ``imblearn.pipeline.Pipeline``
and is cloned by ``sklearn.base.clone``, yet needs neither scikit-learn nor imbalanced-learn
to run.

Numeric input (an array, a list of rows, a DataFrame of numbers without gaps) is modelled per
class after standardisation by the class's own mean and standard deviation; columns constant
within the class are left out and restored as they are.  Other DataFrames (categories, gaps) go
to the generator through a ``TableVectoriser``.  :func:`augment_frame` does the same to one
DataFrame that holds its target column.
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


# -- the target -------------------------------------------------------------------------------
def read_target(y, n_rows: int | None = None) -> np.ndarray:
    """Class labels of ``y`` as a 1-D array (a one-vs-all indicator matrix becomes column indices).

    ``y`` may be a list, an array (1-D, a single column, or a 0/1 indicator matrix with at most
    one 1 per row), a Series or a one-column DataFrame.  Continuous values, gaps and multi-label
    targets are refused.
    """
    values = y.to_numpy() if hasattr(y, "iloc") else np.asarray(y)
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
    if not (values.dtype.kind in "biuf" and np.isin(values, (0, 1)).all()):
        raise InvalidDataError(f"y has {values.shape[1]} columns that are not a 0/1 indicator matrix; "
                               "multilabel and multioutput targets are not supported")
    if (values.sum(axis=1) > 1).any():
        raise InvalidDataError("y is a multilabel indicator matrix (a row with more than one 1); "
                               "multilabel and multioutput targets are not supported")
    return values.argmax(axis=1)


def _check_labels(values: np.ndarray) -> None:
    if len(values) == 0:
        raise InvalidDataError("y is empty (0 labels)")
    if pd.isna(values).any():
        raise InvalidDataError(f"y has a missing label at row {np.flatnonzero(pd.isna(values))[0]}; drop or fill it")
    if values.dtype.kind == "f":
        bad = values[values != np.round(values)]
        if len(bad):
            raise InvalidDataError(f"y must hold class labels (ints, strings or booleans); got continuous "
                                   f"values such as {bad[0]!r} (unknown label type: continuous)")
    try:
        np.unique(values)
    except TypeError:
        raise InvalidDataError("y mixes labels of kinds that cannot be ordered (e.g. str and int)") from None


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
    classes, sizes = np.unique(labels, return_counts=True)
    counts = {_plain(c): int(n) for c, n in zip(classes, sizes)}
    if len(counts) < 2:
        raise InvalidDataError(f"y has a single class ({next(iter(counts), None)!r}); an over-sampler "
                               "needs at least 2 classes to balance")
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
            raise InvalidParameterError(f"sampling_strategy as a callable must return a dict of class -> "
                                        f"count; got {wanted!r}")
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
            raise InvalidParameterError(f"sampling_strategy names class {c!r}, which is not in y; "
                                        f"classes: {list(counts)}")
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) or n < 0:
            raise InvalidParameterError(f"sampling_strategy[{c!r}] must be a non-negative int count; got {n!r}")
        if n < counts[c]:
            raise InvalidParameterError(f"sampling_strategy[{c!r}] asks for {n} rows but the class has "
                                        f"{counts[c]}; an over-sampler only adds rows, so ask for at "
                                        "least the current count")
        out[c] = int(n) - counts[c]
    return out


def _float_strategy(r: float, counts: dict, majority, n_max: int) -> dict:
    if not 0.0 < r <= 1.0:
        raise InvalidParameterError(f"sampling_strategy as a float must be in (0, 1]; got {r}")
    if len(counts) != 2:
        raise InvalidParameterError(f"sampling_strategy can be a float only for a binary target; y has "
                                    f"{len(counts)} classes (give a dict of class -> count instead)")
    out = {c: int(n_max * r - n) for c, n in counts.items() if c != majority}
    for c, n in out.items():
        if n <= 0:
            raise InvalidParameterError(f"sampling_strategy={r} asks for {int(n_max * r)} rows of class "
                                        f"{c!r}, which already has {counts[c]}; raise the ratio above "
                                        f"{counts[c] / n_max:.4g}")
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
    raise InvalidParameterError(f"random_state must be None, an int in [0, 2**32) or a numpy "
                                f"RandomState; got {random_state!r}")


def class_seeds(random_state, n_classes: int) -> list[tuple[int, int]]:
    """One (fit seed, sample seed) pair per class grown, drawn from ``random_state``."""
    rs = check_random_state(random_state)
    draws = rs.randint(0, 2**31 - 1, size=(n_classes, 2))
    return [(int(a), int(b)) for a, b in draws]


# -- generators -------------------------------------------------------------------------------
def class_defaults(name: str, n_rows: int, n_features: int) -> dict[str, Any]:
    """Settings used for a generator named ``name`` fitted on a class of ``n_rows`` standardised
    rows in ``n_features`` columns, unless ``generator_params`` says otherwise.

    * gaussian: ``covariance_type="diag"``, ``reg_covar=1e-3`` (a thousandth of a column's variance).
      A class's full covariance is singular below ``n_features`` rows and poorly estimated well
      beyond; on the credit-card benchmark (docs/augment.md) the diagonal model trained better
      classifiers at every class size tried (10, 20 and 50 rows in 29 columns).  ``reg_covar`` keeps
      a ``covariance_type="full"`` asked for in ``generator_params`` positive definite;
    * gmm, pca_gmm: the same diagonal components and ``reg_covar``, as many as BIC chooses among
      ``1 .. max(1, min(20, n_rows // 5))`` (room for 5 rows or more per component); BIC over full
      covariances favours near-singular fits on small classes.  pca_gmm also draws the noise of
      the discarded directions (``sample_noise=True``), so new rows do not all lie in one plane;
    * every generator with a ``verbose`` setting: ``False``.
    """
    out: dict[str, Any] = {"sample_noise": True} if name == "pca_gmm" else {}
    if name in ("gaussian", "gmm", "pca_gmm"):
        out.update(covariance_type="diag", reg_covar=1e-3)
    if name in ("gmm", "pca_gmm"):
        out.update(n_components="bic", n_components_range=(1, max(1, min(20, n_rows // 5))))
    out["verbose"] = False
    return out


def _clone_generator(gen):
    """An unfitted copy of ``gen`` with the same hyperparameters (wrapped generators cloned too)."""
    from .base import Generator

    params = {}
    for key, value in gen.get_params().items():
        params[key] = _clone_generator(value) if isinstance(value, Generator) else copy.deepcopy(value)
    return type(gen)(**params)


def _check_settings(generator, generator_params, avoid) -> dict | None:
    """Check the generator settings; return ``None`` for no filter, else the rejection sampler's."""
    from .base import Generator
    from .registry import list_generators

    names = list_generators()
    if not isinstance(generator, Generator) and not (isinstance(generator, str) and generator in names):
        raise InvalidParameterError(f"generator must be a generator name ({', '.join(names)}) or a "
                                    f"synthgen Generator; got {generator!r}")
    if generator_params is not None and not isinstance(generator_params, dict):
        raise InvalidParameterError(f"generator_params must be a dict of hyperparameters or None; "
                                    f"got {generator_params!r}")
    if isinstance(avoid, (bool, np.bool_)):
        return {} if avoid else None
    if isinstance(avoid, dict):
        unknown = sorted(set(map(str, avoid)) - set(_AVOID_KEYS))
        if unknown:
            raise InvalidParameterError(f"avoid has unknown rejection-sampler settings: {', '.join(unknown)}; "
                                        f"known: {', '.join(_AVOID_KEYS)}")
        return dict(avoid)
    raise InvalidParameterError(f"avoid must be True, False, or a dict of rejection-sampler settings; got {avoid!r}")


# -- the data ---------------------------------------------------------------------------------
class _Layout:
    """How X came in (array, list or DataFrame) and how its numeric columns go back."""

    def __init__(self, X):
        from scipy import sparse

        if sparse.issparse(X):
            raise InvalidDataError("X is a sparse matrix; give a dense array or a DataFrame")
        self.kind = "frame" if isinstance(X, pd.DataFrame) else "list" if isinstance(X, list) else "array"
        if self.kind == "frame":
            self.columns, self.dtypes, self.numeric = list(X.columns), list(X.dtypes), _is_numeric(X)
            shape = X.shape
        else:
            values = np.asarray(X)
            if values.ndim != 2:
                raise InvalidDataError(f"X must be 2-D (rows x columns); got shape {values.shape}"
                                       + ("; use X.reshape(-1, 1) for one column" if values.ndim == 1 else ""))
            if values.dtype.kind not in "biuf":
                raise InvalidDataError(f"X must be numeric; got an array of dtype {values.dtype} (use a "
                                       "DataFrame for columns of mixed kinds)")
            shape, self.numeric = values.shape, True
            self.columns, self.dtypes = [f"x{i}" for i in range(shape[1])], [values.dtype] * shape[1]
        if shape[0] == 0 or shape[1] == 0:
            raise InvalidDataError(f"X is empty (shape {shape})")
        self.n_rows, self.n_features = shape

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
        arr = np.column_stack(cols).astype(self.dtypes[0], copy=False)
        return arr.tolist() if self.kind == "list" else arr


def _is_numeric(frame: pd.DataFrame) -> bool:
    types = pd.api.types
    kinds = all(types.is_numeric_dtype(dt) or types.is_bool_dtype(dt) for dt in frame.dtypes)
    return kinds and not frame.isna().any().any()


def _cast(values: np.ndarray, dtype, low: float, high: float):
    if pd.api.types.is_bool_dtype(dtype):
        values = values >= 0.5
    elif pd.api.types.is_integer_dtype(dtype):
        values = np.clip(np.rint(values), low, high)
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return pd.array(values, dtype=dtype)
    return values.astype(dtype)


def _take(data, idx: np.ndarray):
    if isinstance(data, list):
        return [data[i] for i in idx]
    return data.iloc[idx] if isinstance(data, (pd.DataFrame, pd.Series)) else np.asarray(data)[idx]


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
            raise InvalidDataError(f"class {label!r} has {len(rows)} row(s); a {self.generator.name} generator "
                                   f"needs at least {min_rows} to learn from (leave the class out of "
                                   "sampling_strategy)")
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
            raise InvalidParameterError(f"the generator's vectoriser gives back {got}, not X's columns "
                                        f"{lay.columns}; choose one that keeps every column (e.g. 'table')")
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
        How many rows each class gets, as in imbalanced-learn (see :func:`resolve_sampling_strategy`).
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
            raise InvalidParameterError(f"unknown parameter(s) for GeneratorOversampler: {', '.join(unknown)}; "
                                        f"known: {', '.join(_PARAMS)}")
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
            raise InvalidParameterError(f"fit_resample takes no extra parameters; got {', '.join(sorted(params))}")
        self._fit(X, y)
        X_res, y_res = _append(X, _take(X, [])), _append(y, _take(y, []))
        for label, model in self.models_.items():
            n = self.sampling_strategy_[label]
            X_res = _append(X_res, model.sample(n, self._sample_seeds_[label]))
            y_res = _append(y_res, _take(y, np.full(n, self._first_row_[label])))
        return X_res, y_res

    def sample_class(self, label, n: int, *, seed: int | None = None):
        """``n`` new rows of class ``label`` in X's form and units (same seed, same rows)."""
        from .base import check_n

        if not hasattr(self, "models_"):
            raise NotFittedError("this GeneratorOversampler is not fitted yet; call fit first")
        if label not in self.models_:
            raise InvalidParameterError(f"no generator was fitted for class {label!r}; fitted classes: "
                                        f"{list(self.models_)}")
        return self.models_[label].sample(check_n(n), seed)

    def _fit(self, X, y) -> None:
        """Check everything, then fit one generator per class with rows to add."""
        avoid = _check_settings(self.generator, self.generator_params, self.avoid)
        layout = _Layout(X)
        labels = read_target(y, layout.n_rows)
        strategy = resolve_sampling_strategy(self.sampling_strategy, labels)
        seeds = class_seeds(self.random_state, len(strategy))
        standardised = layout.numeric and self._vectoriser() is None
        data = layout.matrix(X) if standardised else (X if layout.kind == "frame" else np.asarray(X))
        self._set_feature_names(layout)
        self.generators_, self.models_, self._sample_seeds_, self._first_row_ = {}, {}, {}, {}
        for (label, n_new), (fit_seed, sample_seed) in zip(strategy.items(), seeds):
            if n_new > 0:
                rows_idx = np.flatnonzero(labels == label)
                gen = self._fit_class(label, _take(data, rows_idx), fit_seed, avoid, layout, standardised)
                self.generators_[label] = gen
                self._sample_seeds_[label] = sample_seed
                self._first_row_[label] = int(rows_idx[0])
        self.sampling_strategy_ = strategy

    def _fit_class(self, label, rows, seed: int, avoid, layout: _Layout, standardised: bool):
        d = int((np.ptp(rows, axis=0) > 0).sum()) if standardised else layout.n_features
        gen = self._new_generator(len(rows), max(d, 1), avoid, layout)
        self.models_[label] = _ClassModel(gen, layout, standardised).fit(rows, seed, label)
        return gen

    def _set_feature_names(self, layout: _Layout) -> None:
        self.n_features_in_ = layout.n_features
        if layout.kind == "frame" and all(isinstance(c, str) for c in layout.columns):
            self.feature_names_in_ = np.asarray(layout.columns, dtype=object)
        else:
            self.__dict__.pop("feature_names_in_", None)

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
            default = [f"x{i}" for i in range(self.n_features_in_)]
            return np.asarray(default if known is None else known, dtype=object)
        names = np.asarray(input_features, dtype=object)
        if known is not None and (len(names) != len(known) or (names != known).any()):
            raise InvalidParameterError(f"input_features is not equal to feature_names_in_: got "
                                        f"{list(names)}, fitted on {list(known)}")
        if len(names) != self.n_features_in_:
            raise InvalidParameterError(f"input_features should have length equal to number of features "
                                        f"({self.n_features_in_}), got {len(names)}")
        return names


def _same(a, b) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # noqa: BLE001 - objects that compare oddly count as changed
        return a is b


# -- one DataFrame with its target -------------------------------------------------------------
def augment_frame(df: pd.DataFrame, target: str, *, model="gaussian", ratio="auto", seed: int = 0,
                  params: dict | None = None, avoid: bool | dict = False) -> pd.DataFrame:
    """``df`` (with a fresh RangeIndex) followed by synthetic rows of its rare classes.

    The command ``synthgen augment`` calls this.  ``target`` names the class column; ``model``,
    ``params`` and ``avoid`` are the :class:`GeneratorOversampler`'s ``generator``,
    ``generator_params`` and ``avoid``; ``ratio`` is its ``sampling_strategy`` (1.0 or "auto"
    balance the classes, 0.5 grows the minority to half the majority); the same ``seed`` gives
    the same rows.  The result has ``df``'s columns, in their order, with their dtypes.
    """
    if not isinstance(df, pd.DataFrame):
        raise InvalidDataError(f"augment_frame needs a DataFrame; got {type(df).__name__}")
    if target not in df.columns:
        raise InvalidParameterError(f"target column {target!r} is not in the data; columns: "
                                    f"{', '.join(map(str, df.columns))}")
    sampler = GeneratorOversampler(sampling_strategy=ratio, random_state=seed, generator=model,
                                   generator_params=params, avoid=avoid)
    X_res, y_res = sampler.fit_resample(df.drop(columns=[target]), df[target])
    out = X_res.copy()
    out.insert(list(df.columns).index(target), target, y_res.to_numpy())
    out[target] = out[target].astype(df[target].dtype)
    return out
