"""Tables for evaluation: reading inputs, aligning columns, column kinds, encoding and row hashes.

Every input (a DataFrame, a 2-D array, a list of strings) becomes a *canonical* DataFrame
with the real table's column names and order, in which

* continuous columns (numbers) are ``float64`` with NaN for gaps;
* datetime columns are ``float64`` seconds since 1970 (NaN for NaT);
* boolean columns are pandas' nullable ``boolean``;
* categorical columns (anything else) keep their values, as objects.

A list of strings (such as registrations) is a table with one categorical column per
character position, ``char_0``, ``char_1``, ...; shorter strings have gaps at the end.

The :class:`Encoder` turns canonical tables into the float matrix that the detection and
utility models and the distances of the privacy metrics use: continuous columns standardised
with the real table's mean and standard deviation (a gap becomes 0 plus a 0/1 "missing"
column), categorical columns one-hot (a gap is a category of its own).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..errors import InvalidDataError

CONTINUOUS = "continuous"
DATETIME = "datetime"
CATEGORICAL = "categorical"
BOOLEAN = "boolean"
#: Kinds compared through their numeric values (KS, correlation) and those compared by counts.
NUMERIC_KINDS = (CONTINUOUS, DATETIME)
DISCRETE_KINDS = (CATEGORICAL, BOOLEAN)

#: One-hot columns kept per categorical column; rarer values share an "other" column.
MAX_CATEGORIES = 100
_MISSING = "\x00<missing>"


class Tables(NamedTuple):
    """Canonical real, synthetic and (optional) holdout tables, and each column's kind."""

    real: pd.DataFrame
    synthetic: pd.DataFrame
    holdout: pd.DataFrame | None
    kinds: dict[str, str]


def _is_strings(data) -> bool:
    return isinstance(data, (list, tuple)) and len(data) > 0 and all(isinstance(s, str) for s in data)


def _strings_frame(strings, width: int) -> pd.DataFrame:
    cols = {f"char_{i}": [s[i] if i < len(s) else None for s in strings] for i in range(width)}
    return pd.DataFrame(cols, dtype=object)


def as_frame(data, what: str, *, names: list[str] | None = None, width: int = 0) -> pd.DataFrame:
    """``data`` as a DataFrame with string column names; arrays take ``names`` when widths match."""
    if isinstance(data, pd.Series):
        raise InvalidDataError(f"the {what} data is a Series; give a table (series.to_frame())")
    if _is_strings(data):
        frame = _strings_frame(data, max(width, max(len(s) for s in data)))
    elif isinstance(data, pd.DataFrame):
        frame = data.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
    else:
        frame = _array_frame(data, what, names)
    if frame.shape[0] == 0:
        raise InvalidDataError(f"the {what} data is empty (0 rows)")
    if frame.shape[1] == 0:
        raise InvalidDataError(f"the {what} data has no columns")
    dup = frame.columns[frame.columns.duplicated()]
    if len(dup):
        raise InvalidDataError(f"the {what} data has duplicate column names: {', '.join(map(str, dup))}")
    return frame


def _array_frame(data, what: str, names: list[str] | None) -> pd.DataFrame:
    try:
        arr = np.asarray(data)
    except Exception as exc:  # noqa: BLE001 - any conversion failure is bad input
        raise InvalidDataError(f"could not read the {what} data as a table: {exc}") from exc
    if arr.ndim != 2:
        raise InvalidDataError(
            f"the {what} data must be a 2-D table (rows x columns); got an array of shape {arr.shape}"
            + ("; use X.reshape(-1, 1) for a single column" if arr.ndim == 1 else "")
        )
    if names is not None and len(names) == arr.shape[1]:
        cols = list(names)
    else:
        cols = [f"x{i}" for i in range(arr.shape[1])]
    return pd.DataFrame(arr, columns=cols)


def column_kind(series: pd.Series) -> str:
    """``boolean``, ``continuous`` (numbers), ``datetime``, or ``categorical`` (anything else)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return BOOLEAN
    if pd.api.types.is_numeric_dtype(dtype):
        return CONTINUOUS
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DATETIME
    return CATEGORICAL


def _canonical_column(series: pd.Series, kind: str, name: str, what: str) -> pd.Series:
    try:
        if kind == CONTINUOUS:
            return pd.to_numeric(series).astype(np.float64)
        if kind == DATETIME:
            stamps = pd.to_datetime(series)
            if getattr(stamps.dt, "tz", None) is not None:
                stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
            return (stamps - pd.Timestamp(0)) / pd.Timedelta(1, "s")
        if kind == BOOLEAN:
            return series.astype("boolean")
        values = series.astype(object)
        return values.where(series.notna(), np.nan)
    except (TypeError, ValueError) as exc:
        raise InvalidDataError(
            f"column {name!r} of the {what} data cannot be read as {kind} like the real "
            f"column ({series.dtype} given): {exc}"
        ) from exc


def canonical(frame: pd.DataFrame, kinds: dict[str, str], what: str) -> pd.DataFrame:
    """``frame`` in the canonical form described in the module's docstring."""
    cols = {c: _canonical_column(frame[c], kinds[c], c, what) for c in kinds}
    return pd.DataFrame(cols, index=pd.RangeIndex(len(frame)))


def align(real, synthetic, holdout=None) -> Tables:
    """Read the inputs, check they have the same columns, and return canonical tables."""
    width = max((max(len(s) for s in d) for d in (real, synthetic, holdout) if _is_strings(d)),
                default=0)
    real_f = as_frame(real, "real", width=width)
    names = list(real_f.columns)
    others = {}
    for what, data in (("synthetic", synthetic), ("holdout", holdout)):
        if data is None:
            continue
        frame = as_frame(data, what, names=names, width=width)
        missing = [c for c in names if c not in frame.columns]
        extra = [c for c in frame.columns if c not in names]
        if missing or extra:
            parts = [f"missing {', '.join(missing)}" if missing else "",
                     f"not in the real data: {', '.join(extra)}" if extra else ""]
            raise InvalidDataError(
                f"the {what} data's columns differ from the real data's: "
                + "; ".join(p for p in parts if p)
            )
        others[what] = frame[names]
    kinds = {c: column_kind(real_f[c]) for c in names}
    return Tables(
        canonical(real_f, kinds, "real"),
        canonical(others["synthetic"], kinds, "synthetic"),
        canonical(others["holdout"], kinds, "holdout") if "holdout" in others else None,
        kinds,
    )


def numeric_values(series: pd.Series) -> np.ndarray:
    """A canonical continuous/datetime column as a float64 array with NaN for gaps."""
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def discrete_values(series: pd.Series) -> np.ndarray:
    """A canonical categorical/boolean column as an object array with NaN for gaps."""
    return series.astype(object).where(series.notna(), np.nan).to_numpy(dtype=object)


class Encoder:
    """Canonical tables -> float matrix: standardised numbers and one-hot categories.

    ``fit(reference, others)`` takes the scaling from ``reference`` (the real training rows)
    and the categories (and whether gaps occur) from all tables, so every table gets the same
    columns.  At most ``max_categories`` values per categorical column get their own column,
    the most frequent first; the rest share one.
    """

    def __init__(self, kinds: dict[str, str], *, max_categories: int = MAX_CATEGORIES):
        self.kinds = dict(kinds)
        self.max_categories = max_categories

    def fit(self, reference: pd.DataFrame, others=()) -> "Encoder":
        frames = [reference] + [f for f in others if f is not None]
        self.specs_ = {}
        for col, kind in self.kinds.items():
            if kind in NUMERIC_KINDS:
                self.specs_[col] = self._numeric_spec(reference[col], frames, col)
            else:
                self.specs_[col] = self._discrete_spec(frames, col)
        return self

    @staticmethod
    def _numeric_spec(series, frames, col) -> dict:
        v = numeric_values(series)
        ok = v[~np.isnan(v)]
        mean = float(ok.mean()) if ok.size else 0.0
        sd = float(ok.std()) if ok.size else 0.0
        gaps = any(f[col].isna().any() for f in frames)
        return {"mean": mean, "scale": sd if sd > 0 else 1.0, "gaps": gaps}

    def _discrete_spec(self, frames, col) -> dict:
        values = pd.concat([f[col].astype(object) for f in frames], ignore_index=True)
        counts = values.value_counts(dropna=True)
        cats = list(counts.index[: self.max_categories])
        return {"categories": cats, "gaps": bool(values.isna().any()),
                "other": len(counts) > self.max_categories}

    def feature_names(self) -> list[str]:
        """Names of the output columns, in order."""
        names = []
        for col, spec in self.specs_.items():
            if "mean" in spec:
                names += [col] + ([f"{col}=<missing>"] if spec["gaps"] else [])
            else:
                names += [f"{col}={c}" for c in spec["categories"]]
                names += [f"{col}=<missing>"] if spec["gaps"] else []
                names += [f"{col}=<other>"] if spec["other"] else []
        return names

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The encoded ``(n_rows, n_features)`` float64 matrix of a canonical table."""
        parts = [self._encode(frame[col], spec) for col, spec in self.specs_.items()]
        return np.concatenate(parts, axis=1) if parts else np.empty((len(frame), 0))

    @staticmethod
    def _encode(series: pd.Series, spec: dict) -> np.ndarray:
        n = len(series)
        if "mean" in spec:
            v = (numeric_values(series) - spec["mean"]) / spec["scale"]
            gap = np.isnan(v)
            out = [np.where(gap, 0.0, v)[:, None]]
            if spec["gaps"]:
                out.append(gap[:, None].astype(np.float64))
            return np.concatenate(out, axis=1)
        cats = spec["categories"]
        width = len(cats) + spec["gaps"] + spec["other"]
        codes = pd.Categorical(series.astype(object), categories=cats).codes.astype(np.int64)
        missing = series.isna().to_numpy()
        if spec["gaps"]:
            codes[missing] = len(cats)
        if spec["other"]:
            codes[(codes < 0) & ~missing] = width - 1
        out = np.zeros((n, width))
        ok = codes >= 0
        out[np.nonzero(ok)[0], codes[ok]] = 1.0
        return out


def row_hashes(frame: pd.DataFrame, kinds: dict[str, str]) -> np.ndarray:
    """One 64-bit hash per row of a canonical table: equal rows, equal hashes.

    Numbers are compared exactly (as float64, with ``-0.0`` read as ``0.0``), other values by
    their text; a gap equals a gap.
    """
    cols = {}
    for col, kind in kinds.items():
        if kind in NUMERIC_KINDS:
            v = numeric_values(frame[col])
            gap = np.isnan(v)
            cols[col] = np.where(gap, 0.0, v) + 0.0  # one bit pattern for 0 and for a gap
            cols[f"{col}\x00gap"] = gap
        else:
            text = frame[col].astype(object).astype(str).to_numpy(dtype=object)
            text[frame[col].isna().to_numpy()] = _MISSING
            cols[col] = text
    canon = pd.DataFrame(cols)
    return pd.util.hash_pandas_object(canon, index=False).to_numpy(dtype=np.uint64)
