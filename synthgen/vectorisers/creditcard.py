"""The CreditCardVectoriser: the ULB/Worldline card-fraud layout (Time, V1..V28, Amount, Class).

The classic recipe for this data scales every feature to [0, 1] by its training minimum
and maximum; the quantile scaling maps each feature through its empirical CDF to a
standard normal instead, which suits the heavy-tailed ``Amount``.  ``Time`` (seconds
since the first transaction of a two-day capture) says little about a single
transaction and is dropped by default; ``Class`` is kept as a binary block, so a model
can condition on it or be fitted per class.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._params import Bool, Choice, Int, Optional, Param, Rule, validate
from ..errors import InvalidDataError
from ._decoding import DECODINGS, flag_threshold
from ._scalers import fit_scaling, scale, unscale
from .base import Block, Vectoriser

PCA_COLUMNS = tuple(f"V{i}" for i in range(1, 29))


def looks_like_creditcard(df) -> bool:
    """True when ``df`` is a DataFrame with the columns V1..V28 and Amount."""
    if not isinstance(df, pd.DataFrame):
        return False
    names = {str(c) for c in df.columns}
    return "Amount" in names and all(c in names for c in PCA_COLUMNS)


class _Label(Rule):
    desc = "a column name (str) or None"

    def check(self, v):
        if v is None or isinstance(v, str):
            return v
        raise TypeError


_OPTIONS = {
    "time": Param("drop", Choice("drop", "keep"), "drop the Time column, or model it"),
    "scaling": Param("minmax", Choice("minmax", "quantile", "standard"), "feature scaling"),
    "log_amount": Param(False, Bool(), "pass Amount through log1p before scaling"),
    "label": Param("Class", Optional(_Label()), "the 0/1 label column, kept as a binary block"),
    "clip": Param(False, Bool(), "clip decoded features to their training range"),
    "n_quantiles": Param(1000, Int(2), "quantiles kept by the quantile scaling"),
    "decoding": Param("calibrated", Choice(*DECODINGS), "how the label flag is read"),
}


class CreditCardVectoriser(Vectoriser):
    """Card-transaction tables (Time, V1..V28, Amount, Class) <-> [0, 1]-scaled matrices.

    Parameters
    ----------
    time : {"drop", "keep"}
        ``"drop"`` (default) leaves ``Time`` out of the matrix, so samples have no ``Time``
        column; ``"keep"`` models it like any other feature.
    scaling : {"minmax", "quantile", "standard"}
        ``"minmax"`` (default) maps each feature to [0, 1] by its training min and max;
        ``"quantile"`` maps it through its empirical CDF to a standard normal;
        ``"standard"`` subtracts the mean and divides by the standard deviation.
    log_amount : bool
        Take ``log1p(Amount)`` before scaling (``expm1`` on the way back).
    label : str or None
        The 0/1 label column (default ``"Class"``), kept as a ``binary`` block when the data
        has it; ``None`` leaves it out (and samples have no label column).
    clip : bool
        Clip decoded features to their training range (off by default: decoding is the
        exact inverse of the scaling).
    n_quantiles : int
        Quantiles kept per feature by the quantile scaling.
    decoding : {"calibrated", "argmax"}
        The label is read as 1 at or above a threshold: 0.5 (``"argmax"``), or (default) the
        threshold at which a Gaussian model of the label gives back its training rate (as
        the TableVectoriser does); an exact 0 or 1 decodes to itself either way.

    Columns other than these (all numeric) are scaled like the ``V`` features; integer
    columns are decoded rounded and within their training range.
    """

    name = "creditcard"

    def __init__(self, *, time="drop", scaling="minmax", log_amount=False, label="Class",
                 clip=False, n_quantiles=1000, decoding="calibrated"):
        self.time = time
        self.scaling = scaling
        self.log_amount = log_amount
        self.label = label
        self.clip = clip
        self.n_quantiles = n_quantiles
        self.decoding = decoding

    def get_config(self) -> dict:
        return {k: getattr(self, k) for k in _OPTIONS}

    # -- fitting ----------------------------------------------------------------------------
    def _fit(self, data) -> None:
        opts = validate("CreditCardVectoriser", _OPTIONS, self.get_config())
        frame = self._check_frame(data)
        self.columns_, self.dtypes_, self.roles_ = [], [], []
        self.scalings_, self.lo_, self.hi_ = [], [], []
        for name in frame.columns:
            role = self._role(str(name), opts)
            if role is None:
                continue
            values = self._values(frame, str(name), role)
            self.columns_.append(str(name))
            self.dtypes_.append(str(frame[name].dtype))
            self.roles_.append(role)
            self.lo_.append(float(frame[name].min()))
            self.hi_.append(float(frame[name].max()))
            self.scalings_.append(
                {"method": "label", "threshold": flag_threshold(values.mean(), opts["decoding"])}
                if role == "label"
                else fit_scaling(opts["scaling"], values, n_quantiles=opts["n_quantiles"])
            )
        self._layout()

    def _role(self, name: str, opts: dict) -> str | None:
        if name == "Time" and opts["time"] == "drop":
            return None
        if name == "Class" and opts["label"] is None:
            return None
        if name == opts["label"]:
            return "label"
        if name == "Amount" and opts["log_amount"]:
            return "log"
        return "feature"

    def _values(self, frame: pd.DataFrame, name: str, role: str) -> np.ndarray:
        """A column as float64 on the scale that is then scaled (log1p for a logged Amount)."""
        x = frame[name].to_numpy(dtype=np.float64)
        if role == "label" and not np.isin(x, (0.0, 1.0)).all():
            bad = pd.unique(x[~np.isin(x, (0.0, 1.0))])[:5].tolist()
            raise InvalidDataError(f"label column {name!r} must hold 0 and 1; got {bad!r}")
        if role == "log":
            if (x <= -1).any():
                raise InvalidDataError(
                    f"column {name!r} has values <= -1, so log_amount=True cannot take log1p"
                )
            return np.log1p(x)
        return x

    def _check_frame(self, data) -> pd.DataFrame:
        if not isinstance(data, pd.DataFrame):
            raise InvalidDataError(
                f"a CreditCardVectoriser takes a pandas DataFrame; got {type(data).__name__}"
            )
        if len(data) == 0:
            raise InvalidDataError("the data is empty (0 rows)")
        if not looks_like_creditcard(data):
            absent = [c for c in (*PCA_COLUMNS, "Amount") if c not in map(str, data.columns)]
            raise InvalidDataError(
                f"missing columns: {', '.join(absent)} (a CreditCardVectoriser needs V1..V28 "
                "and Amount)"
            )
        for name in data.columns:
            dtype = data[name].dtype
            if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
                raise InvalidDataError(
                    f"column {name!r} is not numeric (dtype {dtype}); use a TableVectoriser"
                )
            if data[name].isna().any():
                raise InvalidDataError(
                    f"column {name!r} has missing values; use a TableVectoriser, which models gaps"
                )
        return data.rename(columns=str)

    def _layout(self) -> None:
        self.blocks_ = [
            Block(name, "binary" if role == "label" else "continuous", j, j + 1)
            for j, (name, role) in enumerate(zip(self.columns_, self.roles_))
        ]

    # -- transforming -----------------------------------------------------------------------
    def _transform(self, data) -> np.ndarray:
        frame = self._check_frame(data)
        absent = [c for c in self.columns_ if c not in frame.columns]
        if absent:
            raise InvalidDataError(f"missing columns: {', '.join(absent)}")
        out = np.empty((len(frame), len(self.columns_)))
        for j, (name, role) in enumerate(zip(self.columns_, self.roles_)):
            x = self._values(frame, name, role)
            out[:, j] = x if role == "label" else scale(self.scalings_[j], x)
        return out

    def _inverse(self, X: np.ndarray) -> pd.DataFrame:
        X = np.asarray(X, dtype=np.float64)
        columns = {}
        for j, (name, role) in enumerate(zip(self.columns_, self.roles_)):
            columns[name] = self._decode(j, role, X[:, j])
        return pd.DataFrame(columns)

    def _decode(self, j: int, role: str, z: np.ndarray) -> pd.Series:
        dtype = pd.api.types.pandas_dtype(self.dtypes_[j])
        if role == "label":
            flags = z >= self.scalings_[j]["threshold"]
            return pd.Series(flags.astype(np.float64)).astype(dtype)
        x = unscale(self.scalings_[j], z)
        if role == "log":
            x = np.expm1(x)
        if pd.api.types.is_bool_dtype(dtype):
            x = (x >= 0.5).astype(np.float64)
        elif pd.api.types.is_integer_dtype(dtype):
            x = np.clip(np.rint(x), self.lo_[j], self.hi_[j])
        elif self.clip:
            x = np.clip(x, self.lo_[j], self.hi_[j])
        return pd.Series(x).astype(dtype)

    def _feature_names(self) -> list[str]:
        return list(self.columns_)

    # -- persistence ------------------------------------------------------------------------
    def _get_fitted_state(self) -> dict:
        return {"columns": self.columns_, "dtypes": self.dtypes_, "roles": self.roles_,
                "scalings": self.scalings_, "lo": np.asarray(self.lo_), "hi": np.asarray(self.hi_)}

    def _set_fitted_state(self, state: dict) -> None:
        self.columns_ = list(state["columns"])
        self.dtypes_ = list(state["dtypes"])
        self.roles_ = list(state["roles"])
        self.scalings_ = [dict(s) for s in state["scalings"]]
        self.lo_ = [float(v) for v in np.asarray(state["lo"])]
        self.hi_ = [float(v) for v in np.asarray(state["hi"])]
        self._layout()
