"""The vectoriser protocol and the numeric vectoriser.

A vectoriser is the reversible bridge between what a user holds (a DataFrame, an
array, a list of strings) and the float matrix a generator models.  It uses the
scikit-learn names ``fit``, ``transform``, ``inverse_transform`` and
``get_feature_names_out``, and describes its output as a list of :class:`Block`
so a model can treat each block with the right likelihood (a Gaussian for a
continuous feature, a softmax for a one-hot group, a Bernoulli for a flag).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..errors import InvalidDataError, NotFittedError

BLOCK_KINDS = ("continuous", "categorical", "binary")


@dataclass(frozen=True)
class Block:
    """A run of output columns ``[start, stop)`` that share one kind of likelihood."""

    name: str
    kind: str  # one of BLOCK_KINDS
    start: int
    stop: int

    @property
    def width(self) -> int:
        return self.stop - self.start

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "start": self.start, "stop": self.stop}


class Vectoriser:
    """Base class: subclasses implement ``_fit``, ``_transform``, ``_inverse`` and the state hooks."""

    #: Registry name, used in model files and for ``vectoriser="name"``.
    name: ClassVar[str] = ""

    def fit(self, data) -> "Vectoriser":
        self._fit(data)
        self.fitted_ = True
        return self

    def transform(self, data) -> np.ndarray:
        """The float32 matrix of ``data``; a finite value beyond float32's range is an error."""
        self._check_fitted()
        X = np.asarray(self._transform(data))
        if X.dtype != np.float32:
            _check_float32_range(X, self._feature_names())
        return np.asarray(X, dtype=np.float32)

    def fit_transform(self, data) -> np.ndarray:
        return self.fit(data).transform(data)

    def inverse_transform(self, X):
        self._check_fitted()
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features_out_:
            raise InvalidDataError(
                f"expected a matrix with {self.n_features_out_} columns; got shape {X.shape}"
            )
        return self._inverse(X)

    def get_feature_names_out(self) -> np.ndarray:
        self._check_fitted()
        return np.asarray(self._feature_names(), dtype=object)

    @property
    def n_features_out_(self) -> int:
        self._check_fitted()
        return self.blocks_[-1].stop if self.blocks_ else 0

    # -- persistence --------------------------------------------------------------------------
    def get_state(self) -> dict:
        """Fitted state as a tree of JSON values and numpy arrays (never pickled objects)."""
        self._check_fitted()
        return {"config": self.get_config(), "fitted": self._get_fitted_state()}

    @classmethod
    def from_state(cls, state: dict) -> "Vectoriser":
        obj = cls(**state["config"])
        obj._set_fitted_state(state["fitted"])
        obj.fitted_ = True
        return obj

    def get_config(self) -> dict:
        """Constructor arguments as JSON values."""
        return {}

    # -- hooks --------------------------------------------------------------------------------
    def _fit(self, data) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _transform(self, data) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _inverse(self, X: np.ndarray) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _feature_names(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _get_fitted_state(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def _set_fitted_state(self, state: dict) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not getattr(self, "fitted_", False):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _check_float32_range(X: np.ndarray, names) -> None:
    """Refuse finite values that would overflow to infinity in float32, naming the column."""
    if X.dtype.kind != "f" or X.size == 0:
        return
    with np.errstate(invalid="ignore"):
        big = np.isfinite(X) & (np.abs(X) > _FLOAT32_MAX)
    if big.any():
        j = int(np.nonzero(big.any(axis=0))[0][0])
        i = int(np.nonzero(big[:, j])[0][0])
        name = names[j] if j < len(names) else f"x{j}"
        raise InvalidDataError(
            f"column {name!r} holds {X[i, j]:.6g} (row {i}), beyond the float32 range "
            f"(about +-{_FLOAT32_MAX:.3g}) that synthgen computes in; rescale the column "
            "(for example divide it by a power of ten) before fitting"
        )


def _is_bool_dtype(dtype) -> bool:
    return pd.api.types.is_bool_dtype(dtype)


class NumericVectoriser(Vectoriser):
    """Identity on numeric data: an array, or a DataFrame whose columns are all numbers.

    It remembers the input's form (array or DataFrame), column names and dtypes, so that
    ``inverse_transform`` gives back the same kind of object: integer columns are rounded
    and kept within the observed range, boolean columns are thresholded at 0.5, and a column
    that held one value is given back as exactly that value (a model keeps it in its density,
    as scikit-learn's do, but its samples need not reproduce a constant to the last bit).
    """

    name = "numeric"

    def _fit(self, data) -> None:
        frame, self.is_frame_ = _as_numeric_frame(data)
        self.columns_ = [str(c) for c in frame.columns]
        self.column_labels_ = list(frame.columns) if self.is_frame_ else None
        self.dtypes_ = [str(frame[c].dtype) for c in frame.columns]
        self.array_dtype_ = str(np.asarray(data).dtype) if not self.is_frame_ else None
        values = frame.to_numpy(dtype=np.float64)
        self.min_ = values.min(axis=0) if len(values) else np.zeros(values.shape[1])
        self.max_ = values.max(axis=0) if len(values) else np.zeros(values.shape[1])
        self.blocks_ = [Block(c, "continuous", i, i + 1) for i, c in enumerate(self.columns_)]

    def _transform(self, data) -> np.ndarray:
        frame, is_frame = _as_numeric_frame(data)
        if frame.shape[1] != len(self.columns_):
            raise InvalidDataError(
                f"expected {len(self.columns_)} columns; got {frame.shape[1]}"
            )
        if is_frame and self.is_frame_:
            missing = [c for c in self.columns_ if c not in map(str, frame.columns)]
            if missing:
                raise InvalidDataError(f"missing columns: {', '.join(missing)}")
            frame = frame.rename(columns=str)[self.columns_]
        return frame.to_numpy(dtype=np.float64)

    @property
    def constant_columns_(self) -> np.ndarray:
        """Indices of the columns that held one value when fitted (given back exactly)."""
        self._check_fitted()
        return np.flatnonzero(self.min_ == self.max_)

    def _inverse(self, X: np.ndarray):
        const = self.constant_columns_
        if const.size:
            X = np.array(X, dtype=np.float64)
            X[:, const] = self.min_[const]
        if not self.is_frame_ and np.dtype(self.array_dtype_).kind == "f":
            return X.astype(self.array_dtype_, copy=False)
        if self.is_frame_ and len(set(self.dtypes_)) == 1 and _plain_numpy(self.dtypes_[0]):
            return self._inverse_one_dtype(X)
        cols = {}
        for j, (name, dtype) in enumerate(zip(self.columns_, self.dtypes_)):
            cols[name] = _restore_column(X[:, j], dtype, self.min_[j], self.max_[j])
        if not self.is_frame_:
            out = np.column_stack(list(cols.values())) if cols else np.empty((len(X), 0))
            return out.astype(self.array_dtype_, copy=False)
        frame = pd.DataFrame(cols)
        frame.columns = self.column_labels_
        return frame

    def _inverse_one_dtype(self, X: np.ndarray):
        """Columns of one dtype written straight into the frame's own (columns, rows) block:
        one copy of the rows, and each column contiguous (what Parquet and Arrow read)."""
        dtype = np.dtype(self.dtypes_[0])
        block = np.empty((len(self.columns_), len(X)), dtype=dtype)
        for j in range(len(self.columns_)):
            if dtype.kind == "f":
                block[j] = X[:, j]
            else:
                block[j] = _restore_column(X[:, j], self.dtypes_[0], self.min_[j], self.max_[j])
        frame = pd.DataFrame(block.T, copy=False)
        frame.columns = self.column_labels_
        return frame

    def _feature_names(self) -> list[str]:
        return list(self.columns_)

    def _get_fitted_state(self) -> dict:
        labels = None
        if self.column_labels_ is not None:
            labels = [c if isinstance(c, (str, int)) else str(c) for c in self.column_labels_]
        return {
            "is_frame": self.is_frame_,
            "columns": self.columns_,
            "column_labels": labels,
            "dtypes": self.dtypes_,
            "array_dtype": self.array_dtype_,
            "min": np.asarray(self.min_),
            "max": np.asarray(self.max_),
        }

    def _set_fitted_state(self, state: dict) -> None:
        self.is_frame_ = bool(state["is_frame"])
        self.columns_ = list(state["columns"])
        self.column_labels_ = state["column_labels"]
        self.dtypes_ = list(state["dtypes"])
        self.array_dtype_ = state["array_dtype"]
        self.min_ = np.asarray(state["min"], dtype=np.float64)
        self.max_ = np.asarray(state["max"], dtype=np.float64)
        self.blocks_ = [Block(c, "continuous", i, i + 1) for i, c in enumerate(self.columns_)]


def _plain_numpy(dtype: str) -> bool:
    """Whether ``dtype`` names a NumPy number dtype (not bool, not a pandas extension dtype)."""
    try:
        return np.dtype(dtype).kind in "iuf"
    except TypeError:
        return False


def _restore_column(values: np.ndarray, dtype: str, lo: float, hi: float) -> np.ndarray:
    kind = np.dtype(dtype).kind if dtype != "boolean" else "b"
    if kind == "b":
        return values >= 0.5
    if kind in "iu":
        return np.clip(np.rint(values), lo, hi).astype(dtype)
    return values.astype(dtype, copy=False)


def _as_numeric_frame(data) -> tuple[pd.DataFrame, bool]:
    """Check numeric input and return it as a DataFrame plus whether it came as one."""
    if isinstance(data, pd.DataFrame):
        bad = [
            str(c)
            for c in data.columns
            if not (pd.api.types.is_numeric_dtype(data[c].dtype) or _is_bool_dtype(data[c].dtype))
        ]
        if bad:
            raise InvalidDataError(
                f"non-numeric columns: {', '.join(bad)}; use a TableVectoriser for mixed types"
            )
        return data, True
    if isinstance(data, pd.Series):
        raise InvalidDataError("expected a 2-D table; got a Series (use series.to_frame())")
    try:
        arr = np.asarray(data)
    except Exception as exc:  # noqa: BLE001 - any conversion failure is bad input
        raise InvalidDataError(f"could not read the data as an array: {exc}") from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InvalidDataError(f"expected numeric data; got an array of dtype {arr.dtype}")
    if arr.ndim != 2:
        raise InvalidDataError(
            f"expected a 2-D array (rows x columns); got {arr.ndim}-D with shape {arr.shape}"
            + ("; use X.reshape(-1, 1) for a single column" if arr.ndim == 1 else "")
        )
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])]), False
