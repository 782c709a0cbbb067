"""Dtypes and values of table columns, as JSON: what a column held and how to give it back.

A column's dtype is stored as its string (``"int64"``, ``"str"``, ``"Float64"``,
``"datetime64[s, UTC]"``); a categorical dtype also keeps its categories (as JSON values,
restored with their own dtype) and whether they are ordered.  Category and constant
values are stored as JSON strings, numbers and booleans; date-time values as integers
in the column's own unit.  Nothing is pickled.

Text formats (CSV, JSON Lines) hold date-times as text: :func:`parse_datetimes` turns a
text column whose values all read as date-times of one format into a datetime64 column.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from ..errors import InvalidDataError

#: The integer pandas uses for NaT.
NAT = np.iinfo(np.int64).min


def family(dtype) -> str:
    """The broad family of a dtype: category, bool, datetime, timedelta, int, float, text or other."""
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        return "text"
    return "other"


def dtype_spec(dtype, column: str) -> dict:
    """Describe ``dtype`` as JSON (categories included for a categorical dtype)."""
    spec = {"name": str(dtype), "categories": None, "categories_dtype": None, "ordered": None}
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        spec["categories"] = to_json_values(cats, column)
        spec["categories_dtype"] = str(cats.dtype)
        spec["ordered"] = bool(dtype.ordered)
    return spec


def restore_dtype(spec: dict):
    """The pandas dtype described by :func:`dtype_spec`."""
    if spec["name"] == "category":
        cats = from_json_values(spec["categories"], spec["categories_dtype"])
        return pd.CategoricalDtype(cats, ordered=bool(spec["ordered"]))
    return pd.api.types.pandas_dtype(spec["name"])


def value_dtype(spec: dict) -> str:
    """The dtype of the column's values (the categories' dtype for a categorical column)."""
    return spec["categories_dtype"] if spec["name"] == "category" else spec["name"]


# ---------------------------------------------------------------------------------------------
# Values <-> JSON
# ---------------------------------------------------------------------------------------------


def to_json_values(values, column: str) -> list:
    """Distinct non-missing values as a JSON list (date-times as integers in their unit)."""
    index = pd.Index(values)
    if family(index.dtype) in ("datetime", "timedelta"):
        return [int(v) for v in index.asi8]
    out = []
    for v in index:
        if isinstance(v, np.generic):
            v = v.item()
        if not isinstance(v, (str, bool, int, float)):
            raise InvalidDataError(
                f"column {column!r} holds a value of type {type(v).__name__} ({v!r}); only "
                "strings, numbers, booleans and date-times can be stored: convert it first"
            )
        out.append(v)
    return out


def from_json_values(items: list, dtype_name: str) -> pd.Index:
    """Inverse of :func:`to_json_values`: an Index of the given dtype."""
    dtype = pd.api.types.pandas_dtype(dtype_name)
    fam = family(dtype)
    if fam in ("datetime", "timedelta"):
        return pd.Index(time_values(np.asarray(items, dtype=np.int64), dtype))
    if fam == "text" and not pd.api.types.is_string_dtype(dtype):
        return pd.Index(list(items), dtype=object)
    return pd.Index(list(items), dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Date-times as integers
# ---------------------------------------------------------------------------------------------


def time_unit(dtype) -> str:
    """The unit of a datetime64/timedelta64 dtype (``"s"``, ``"ms"``, ``"us"``, ``"ns"``)."""
    unit = getattr(dtype, "unit", None)
    return unit if unit else np.datetime_data(np.dtype(dtype))[0]


def time_ints(series: pd.Series) -> np.ndarray:
    """Date-times or durations as int64 counts of their unit (UTC for time-zone-aware values)."""
    return np.asarray(series.array.asi8, dtype=np.int64)


def time_values(ints: np.ndarray, dtype):
    """Inverse of :func:`time_ints`: a DatetimeIndex/TimedeltaIndex of ``dtype`` (NAT -> NaT)."""
    unit = time_unit(dtype)
    ints = np.asarray(ints, dtype=np.int64)
    if family(dtype) == "timedelta":
        return pd.TimedeltaIndex(ints.view(f"m8[{unit}]"))
    index = pd.DatetimeIndex(ints.view(f"M8[{unit}]"))
    tz = getattr(dtype, "tz", None)
    if tz is not None:
        index = index.tz_localize("UTC").tz_convert(tz)
    return index


# ---------------------------------------------------------------------------------------------
# Building the output column
# ---------------------------------------------------------------------------------------------


def build_column(values: pd.Index, codes: np.ndarray, spec: dict) -> pd.Series:
    """The column whose row ``i`` is ``values[codes[i]]`` (missing where ``codes[i] < 0``)."""
    codes = np.asarray(codes, dtype=np.int64)
    dtype = restore_dtype(spec)
    missing = codes < 0
    if isinstance(dtype, pd.CategoricalDtype):
        full = dtype.categories.get_indexer(values) if len(values) else np.zeros(0, np.int64)
        mapped = np.where(missing, -1, full[np.where(missing, 0, codes)] if len(full) else -1)
        return pd.Series(pd.Categorical.from_codes(mapped, dtype=dtype))
    if len(values) == 0:
        return pd.Series(np.full(len(codes), np.nan, dtype=object)).astype(dtype)
    series = pd.Series(values.take(np.where(missing, 0, codes)))
    if missing.any():
        series = series.where(~missing)
    return series.astype(dtype)


def int_bounds(dtype) -> tuple[int, int]:
    """The integers a column of ``dtype`` holds (within int64; floats: exactly, up to 2**53)."""
    base = np.dtype(getattr(dtype, "numpy_dtype", dtype))
    if base.kind in "iu":
        info = np.iinfo(base)
        return max(int(info.min), -(2**63)), min(int(info.max), 2**63 - 1)
    return -(2**53), 2**53


def numbers_of(series: pd.Series, column: str) -> np.ndarray:
    """A numeric column as float64 with NaN for gaps; a clear error if it holds other things."""
    try:
        if family(series.dtype) == "bool":
            return series.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        sample = series.dropna().head(3).tolist()
        raise InvalidDataError(
            f"column {column!r} must hold numbers; got values such as {sample!r} "
            f"(dtype {series.dtype})"
        ) from None


# ---------------------------------------------------------------------------------------------
# Date-times held as text
# ---------------------------------------------------------------------------------------------

_ISO_DATE = r"\s*\d{4}-\d{2}-\d{2}"


def parse_datetimes(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each text column whose values all read as date-times as a datetime64
    column (the same frame when there is none).

    A column is parsed only when every non-missing value is a string and reads with one
    format, guessed from the first value (month first, else day first), or as ISO 8601
    when that format is ISO's.  The format must name a four-digit year, a month and a day,
    with separators, so that numbers, codes (``"20210301"``), years, months (``"2021-03"``)
    and words (``"March"``) stay text.  Values with UTC offsets become time-zone-aware
    (in UTC when the offsets differ).
    """
    out = frame
    for i in range(frame.shape[1]):
        parsed = _datetimes(frame.iloc[:, i])
        if parsed is not None:
            out = frame.copy() if out is frame else out
            out.isetitem(i, parsed)
    return out


def _datetimes(series: pd.Series) -> pd.Series | None:
    if family(series.dtype) != "text":
        return None
    values = series.dropna()
    if values.empty or not all(isinstance(v, str) for v in values):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fmt, utc in _datetime_formats(values.iloc[0].strip()):
            if fmt == "ISO8601" and not values.str.match(_ISO_DATE).all():
                continue
            try:
                parsed = pd.to_datetime(series, format=fmt, utc=utc, errors="raise")
            except (ValueError, TypeError, OverflowError):
                continue
            if pd.api.types.is_datetime64_any_dtype(parsed.dtype):
                return parsed
    return None


def datetime_mask(values: np.ndarray) -> tuple[np.ndarray, str | None]:
    """Which of ``values`` (strings) read as date-times of the format that reads the most of
    them, and that format (formats are guessed from the first ten values, as in
    :func:`parse_datetimes`)."""
    best, best_fmt = np.zeros(len(values), dtype=bool), None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tried = set()
        for first in values[:10]:
            for fmt, utc in _datetime_formats(first.strip()):
                if fmt in tried:
                    continue
                tried.add(fmt)
                try:
                    parsed = pd.to_datetime(pd.Series(values), format=fmt, utc=True,
                                            errors="coerce")
                except (ValueError, TypeError, OverflowError):
                    continue
                ok = parsed.notna().to_numpy()
                if fmt == "ISO8601":
                    ok &= pd.Series(values).str.match(_ISO_DATE).to_numpy(dtype=bool)
                if ok.sum() > best.sum():
                    best, best_fmt = ok, fmt
    return best, best_fmt


def _datetime_formats(first: str) -> list[tuple[str, bool]]:
    """Candidate ``(format, utc)`` pairs for a column whose first value is ``first``."""
    from pandas.tseries.api import guess_datetime_format

    formats = []
    for dayfirst in (False, True):
        fmt = guess_datetime_format(first, dayfirst=dayfirst)
        if fmt and _full_date(fmt) and fmt not in formats:
            formats.append(fmt)
    if any(f.startswith("%Y-%m-%d") for f in formats):
        formats.append("ISO8601")
    return [(f, utc) for f in formats for utc in (False, True) if not utc or "%z" in f
            or f == "ISO8601"]


def _full_date(fmt: str) -> bool:
    """A year, a month and a day, with something between the fields."""
    return ("%Y" in fmt and any(m in fmt for m in ("%m", "%b", "%B")) and "%d" in fmt
            and re.sub(r"%.", "", fmt).strip() != "")
