"""Conditions on the user's columns (``given=``) as evidence in a vectoriser's matrix space.

``given`` is a dict of column -> value (the same for every row) or a DataFrame of conditions
(one row per sampled row).  A value is a label or number the column can hold (``None`` asks
for a gap in a column that has gaps); a dict value may also be a range ``(lo, hi)`` on a
numeric column (either end ``None``: open).  :func:`evidence_for` maps them to
:class:`Evidence`: which matrix features are fixed to which values (a category is its one-hot
row, a number its scaled value, an indicator 0 or 1) and which features lie in which interval
(a range mapped through the column's scaler, which is monotone).  The evidence also keeps the
user's values, so the decoded rows can carry exactly the values that were given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InvalidDataError, InvalidParameterError
from ._scalers import scale


@dataclass
class Evidence:
    """Evidence in matrix space for ``n_rows`` rows (1: every row the same).

    ``fixed`` (m,) feature indices with ``values`` (n_rows, m); ``ranged`` (q,) feature indices
    with bounds ``lower``/``upper`` (n_rows, q) (``-inf``/``inf`` for an open end).
    ``exact`` holds the user's values of the equality columns (a DataFrame of ``n_rows`` rows)
    and ``ranges`` column -> (lo, hi) in the user's units, both applied to the decoded rows.
    ``sets`` column -> the values a range allows in a column of numbers modelled as categories
    (several one-hot slots, not one feature interval): met by rejection on the decoded rows.
    """

    n_features: int
    fixed: np.ndarray
    values: np.ndarray
    ranged: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    exact: pd.DataFrame
    ranges: dict = field(default_factory=dict)
    sets: dict = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return int(self.values.shape[0])

    @property
    def free(self) -> np.ndarray:
        """Features neither fixed nor ranged."""
        taken = np.zeros(self.n_features, dtype=bool)
        taken[self.fixed] = True
        taken[self.ranged] = True
        return np.flatnonzero(~taken)

    def rows(self, start: int, stop: int) -> "Evidence":
        """The evidence of rows ``[start, stop)`` (the same object when it is one row)."""
        if self.n_rows == 1:
            return self
        return Evidence(self.n_features, self.fixed, self.values[start:stop], self.ranged,
                        self.lower[start:stop], self.upper[start:stop],
                        self.exact.iloc[start:stop].reset_index(drop=True), self.ranges,
                        self.sets)


def as_conditions(given, n: int) -> tuple[pd.DataFrame, dict]:
    """``given`` as a DataFrame of equality conditions (1 or ``n`` rows) and a dict of ranges."""
    if isinstance(given, pd.DataFrame):
        if len(given) != n:
            raise InvalidParameterError(
                f"given has {len(given)} row(s) of conditions; a DataFrame of conditions needs "
                f"one row per sampled row ({n})"
            )
        if given.columns.has_duplicates:
            raise InvalidParameterError("given names a column more than once")
        return given.reset_index(drop=True), {}
    if not isinstance(given, dict) or not given:
        raise InvalidParameterError(
            f"given must be a non-empty dict of column -> value or (lo, hi), or a DataFrame of "
            f"conditions; got {given!r:.80}"
        )
    equal, ranges = {}, {}
    for col, value in given.items():
        if isinstance(value, tuple):
            ranges[col] = _check_range(col, value)
        else:
            equal[col] = [value]
    return pd.DataFrame(equal, index=pd.RangeIndex(1)), ranges


def _check_range(col, value) -> tuple[float, float]:
    ok = len(value) == 2 and all(
        v is None or (isinstance(v, (int, float, np.integer, np.floating))
                      and not isinstance(v, bool) and not math.isnan(v)) for v in value)
    if not ok:
        raise InvalidParameterError(
            f"given[{col!r}] must be a value or a range (lo, hi) of numbers (None for an open "
            f"end); got {value!r}"
        )
    lo = -math.inf if value[0] is None else float(value[0])
    hi = math.inf if value[1] is None else float(value[1])
    if lo > hi:
        raise InvalidParameterError(f"given[{col!r}] is an empty range: {value!r}")
    return lo, hi


def evidence_for(vectoriser, given, n: int) -> Evidence:
    """The evidence of ``given`` for ``vectoriser`` (a table, creditcard or numeric one)."""
    from .creditcard import CreditCardVectoriser
    from .table import TableVectoriser

    equal, ranges = as_conditions(given, n)
    if isinstance(vectoriser, TableVectoriser):
        return _table_evidence(vectoriser, equal, ranges)
    if isinstance(vectoriser, CreditCardVectoriser):
        return _columns_evidence(vectoriser, equal, ranges, _creditcard_column)
    from .base import NumericVectoriser
    from .ukreg import UkRegVectoriser

    if isinstance(vectoriser, UkRegVectoriser):
        return _ukreg_evidence(vectoriser, equal, ranges)
    if isinstance(vectoriser, NumericVectoriser):
        return _columns_evidence(vectoriser, equal, ranges, _numeric_column)
    raise InvalidParameterError(
        f"given= is not available for a {type(vectoriser).__name__}; use require= (rejection "
        "sampling) instead"
    )


# ---------------------------------------------------------------------------------------------
# The table vectoriser
# ---------------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, n_features: int, n_rows: int):
        self.n_features, self.n_rows = n_features, n_rows
        self.fixed, self.values, self.ranged, self.lower, self.upper = [], [], [], [], []

    def fix(self, j: int, values) -> None:
        self.fixed.append(j)
        self.values.append(np.broadcast_to(np.asarray(values, np.float64), (self.n_rows,)))

    def bound(self, j: int, lo: float, hi: float) -> None:
        self.ranged.append(j)
        self.lower.append(np.full(self.n_rows, lo))
        self.upper.append(np.full(self.n_rows, hi))

    def build(self, exact: pd.DataFrame, ranges: dict, sets: dict | None = None) -> Evidence:
        def stack(cols):
            return np.stack(cols, axis=1) if cols else np.empty((self.n_rows, 0))

        return Evidence(self.n_features, np.asarray(self.fixed, np.int64), stack(self.values),
                        np.asarray(self.ranged, np.int64), stack(self.lower), stack(self.upper),
                        exact, ranges, dict(sets or {}))


def _lookup(labels, col):
    names = {str(label): i for i, label in enumerate(labels)}
    if col in labels:
        return labels.index(col)
    if str(col) in names:
        return names[str(col)]
    known = ", ".join(map(repr, labels[:12])) + (" ..." if len(labels) > 12 else "")
    raise InvalidDataError(f"given names column {col!r}, which is not a column; known: {known}")


def _table_evidence(vec, equal: pd.DataFrame, ranges: dict) -> Evidence:
    starts = np.concatenate([[0], np.cumsum(vec._widths)]).astype(int)
    b = _Builder(int(starts[-1]), len(equal))
    exact = {}
    for col in equal.columns:
        i = _lookup(vec.labels_, col)
        codec, start = vec.codecs_[i], int(starts[i])
        series = equal[col].rename(codec.name)
        _check_equal(codec, series)
        feats = codec.encode(series)
        for k in range(feats.shape[1]):
            b.fix(start + k, feats[:, k])
        exact[vec.labels_[i]] = equal[col].to_numpy()
    out_ranges, sets = {}, {}
    for col, (lo, hi) in ranges.items():
        i = _lookup(vec.labels_, col)
        codec, start = vec.codecs_[i], int(starts[i])
        if vec.labels_[i] in exact:
            raise InvalidParameterError(f"given names column {col!r} twice")
        numbers = _category_numbers(codec)
        if numbers is not None:  # numbers modelled as categories: the values inside the range
            inside = numbers[(numbers >= (-np.inf if lo is None else lo))
                             & (numbers <= (np.inf if hi is None else hi))]
            if inside.size == 0:
                raise InvalidDataError(
                    f"given[{col!r}] = {(lo, hi)!r}: no value of column {col!r} lies in the range "
                    f"(its values run from {numbers.min():g} to {numbers.max():g})"
                )
            label = vec.labels_[i]
            if inside.size == 1:  # one value: an equality, exact
                value = codec._values()[int(np.flatnonzero(numbers == inside[0])[0])]
                feats = codec.encode(pd.Series([value] * len(equal), name=codec.name, dtype=object))
                for k in range(feats.shape[1]):
                    b.fix(start + k, feats[:, k])
                exact[label] = np.repeat(np.asarray([value], dtype=object), len(equal))
            elif inside.size < numbers.size:
                out_ranges[label] = (-np.inf if lo is None else float(lo),
                                     np.inf if hi is None else float(hi))
                sets[label] = tuple(inside.tolist())
            continue
        if codec.kind not in ("continuous", "integer"):
            raise InvalidParameterError(
                f"given[{col!r}]: a range needs a numeric column; {col!r} is {codec.kind}"
            )
        lo, hi = _clip_range(col, lo, hi, codec.lo, codec.hi)
        zlo, zhi = _scaled_range(codec.scaling, lo, hi, codec.kind == "integer", codec.name)
        b.bound(start, zlo, zhi)
        if codec.has_indicator:
            b.fix(start + 1, 0.0)
        out_ranges[vec.labels_[i]] = (lo, hi)
    return b.build(pd.DataFrame(exact, index=pd.RangeIndex(len(equal))), out_ranges, sets)


def _category_numbers(codec) -> np.ndarray | None:
    """The categories of a categorical column as numbers, when every one is a number (a numeric
    column modelled as categories of its values); None otherwise."""
    if codec.kind != "categorical":
        return None
    values = list(codec._values())
    if not values or not all(isinstance(v, (int, float, np.integer, np.floating))
                             and not isinstance(v, (bool, np.bool_)) for v in values):
        return None
    return np.asarray(values, dtype=np.float64)


def _check_equal(codec, series: pd.Series) -> None:
    """Refuse values the column cannot take, naming the column and the value."""
    kind = codec.kind
    if kind == "identifier":
        raise InvalidParameterError(
            f"given names column {codec.name!r}, an identifier: every sampled row gets a fresh "
            "value of it, so it cannot be conditioned on"
        )
    missing = series.isna().to_numpy()
    if missing.any() and not codec.gaps:
        raise InvalidDataError(
            f"given asks for a gap in column {codec.name!r}, which had none when fitted"
        )
    observed = series[~missing]
    if kind in ("categorical", "boolean", "constant"):
        known = codec._values()
        codes = known.get_indexer(observed.to_numpy(dtype=object))
        if (codes < 0).any():
            bad = observed.to_numpy(dtype=object)[codes < 0][0]
            shown = ", ".join(map(repr, list(known[:10]))) + (" ..." if len(known) > 10 else "")
            raise InvalidDataError(
                f"given[{codec.name!r}] = {bad!r} is not a category of column {codec.name!r}; "
                f"known: {shown}"
            )
    elif kind in ("continuous", "integer"):
        from . import _dtypes as dt

        x = dt.numbers_of(observed, codec.name)
        out = (x < codec.lo) | (x > codec.hi)
        if out.any():
            raise InvalidDataError(
                f"given[{codec.name!r}] = {x[out][0]!r} is outside the range of column "
                f"{codec.name!r} seen when fitted ({codec.lo:g} to {codec.hi:g})"
            )


def _clip_range(col, lo: float, hi: float, low: float, high: float) -> tuple[float, float]:
    new_lo, new_hi = max(lo, low), min(hi, high)
    if new_lo > new_hi:
        raise InvalidDataError(
            f"given[{col!r}] = ({_end(lo)}, {_end(hi)}) lies outside the range of column "
            f"{col!r} seen when fitted ({low:g} to {high:g})"
        )
    return new_lo, new_hi


def _end(v: float):
    return None if math.isinf(v) else v


def _scaled_range(scaling: dict, lo: float, hi: float, integer: bool, name, pre=None):
    """A range in user units as an interval on the model's scale (integers: the values that
    round into it; ``pre``: a monotone map applied before the scaling, such as ``log1p``)."""
    if integer:
        lo, hi = math.ceil(lo - 1e-9) - 0.5, math.floor(hi + 1e-9) + 0.5
        if lo > hi:
            raise InvalidDataError(f"given[{name!r}] is a range that holds no integer")
    x = np.array([lo, hi])
    if pre is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            x = np.where(x > -1, pre(np.maximum(x, -1 + 1e-12)), -np.inf)
    z = scale(scaling, x)
    return float(z[0]), float(z[1])


# ---------------------------------------------------------------------------------------------
# Vectorisers of numeric columns, one feature each (creditcard, numeric)
# ---------------------------------------------------------------------------------------------


def _creditcard_column(vec, j: int):
    """(scaling or None for the label, lo, hi, integer, transform to the scaled unit)."""
    role = vec.roles_[j]
    if role == "label":
        return None, 0.0, 1.0, True, None
    integer = pd.api.types.is_integer_dtype(pd.api.types.pandas_dtype(vec.dtypes_[j]))
    pre = np.log1p if role == "log" else None
    return vec.scalings_[j], vec.lo_[j], vec.hi_[j], integer, pre


def _numeric_column(vec, j: int):
    kind = np.dtype(vec.dtypes_[j]).kind if vec.dtypes_[j] != "boolean" else "b"
    return ({"method": "standard", "loc": 0.0, "scale": 1.0}, float(vec.min_[j]),
            float(vec.max_[j]), kind in "iub", None)


def _columns_evidence(vec, equal: pd.DataFrame, ranges: dict, column) -> Evidence:
    labels = list(vec.columns_)
    b = _Builder(len(labels), len(equal))
    exact, out_ranges = {}, {}
    for col in equal.columns:
        j = _lookup(labels, col)
        scaling, low, high, integer, pre = column(vec, j)
        x = pd.to_numeric(equal[col], errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(x) | (x < low) | (x > high)
        if scaling is None:
            bad |= ~np.isin(x, (0.0, 1.0))
        if bad.any():
            raise InvalidDataError(
                f"given[{col!r}] = {equal[col].iloc[int(np.argmax(bad))]!r} is not a value of "
                f"column {labels[j]!r} (seen when fitted: {low:g} to {high:g})"
            )
        b.fix(j, x if scaling is None else scale(scaling, pre(x) if pre else x))
        exact[_label_of(vec, j)] = equal[col].to_numpy()
    for col, (lo, hi) in ranges.items():
        j = _lookup(labels, col)
        scaling, low, high, integer, pre = column(vec, j)
        if scaling is None:
            raise InvalidParameterError(f"given[{col!r}]: a range needs a numeric column")
        lo, hi = _clip_range(col, lo, hi, low, high)
        zlo, zhi = _scaled_range(scaling, lo, hi, integer, labels[j], pre)
        b.bound(j, zlo, zhi)
        out_ranges[_label_of(vec, j)] = (lo, hi)
    return b.build(pd.DataFrame(exact, index=pd.RangeIndex(len(equal))), out_ranges)


def _label_of(vec, j: int):
    labels = getattr(vec, "column_labels_", None)
    return labels[j] if labels else vec.columns_[j]


# ---------------------------------------------------------------------------------------------
# UK registrations: parts of the mark are characters at fixed positions
# ---------------------------------------------------------------------------------------------

#: the parts of a mark that fix characters: name -> (first position, width)
UKREG_PARTS = {"region": (0, 1), "tag": (0, 2), "age": (2, 2)}


def _ukreg_chars(part: str, value) -> str:
    from . import ukreg_rules as rules

    if part == "region":
        for letter, name, _ in rules.REGIONS:
            if str(value).lower() in (letter.lower(), name.lower()):
                return letter
        known = ", ".join(f"{name} ({letter})" for letter, name, _ in rules.REGIONS)
        raise InvalidDataError(f"given['region'] = {value!r} is not a region; known: {known}")
    if part == "age":
        text = f"{int(value):02d}" if isinstance(value, (int, np.integer)) else str(value)
        if len(text) != 2 or not text.isdigit():
            raise InvalidDataError(f"given['age'] = {value!r} is not a two-digit age identifier")
        return text
    text = str(value).upper()
    if len(text) != 2:
        raise InvalidDataError(f"given['tag'] = {value!r} is not a two-letter memory tag")
    return text


def _ukreg_evidence(vec, equal: pd.DataFrame, ranges: dict) -> Evidence:
    if ranges:
        col = next(iter(ranges))
        raise InvalidParameterError(
            f"given[{col!r}]: a registration takes parts by value (region, tag, age), not ranges"
        )
    b = _Builder(vec.n_features_out_, len(equal))
    chars: dict[int, list[str]] = {}
    for col in equal.columns:
        if col not in UKREG_PARTS:
            raise InvalidDataError(
                f"given names {col!r}, which is not a part of a registration that can be fixed; "
                f"known: {', '.join(UKREG_PARTS)} (others by require=)"
            )
        first, width = UKREG_PARTS[col]
        values = [_ukreg_chars(col, v) for v in equal[col]]
        for k in range(width):
            p = first + k
            column = [v[k] for v in values]
            if p in chars and chars[p] != column:
                raise InvalidParameterError(f"given fixes position {p + 1} of the mark twice, "
                                            "differently")
            chars[p] = column
    for p, column in sorted(chars.items()):
        block, alphabet = vec.blocks_[p], vec.alphabets_[p]
        slot = np.array([alphabet.find(c) for c in column])
        if (slot < 0).any():
            bad = column[int(np.argmin(slot))]
            raise InvalidDataError(
                f"given puts {bad!r} at position {p + 1} of the mark, where only {alphabet!r} "
                f"occur on {vec.on_}"
            )
        for k in range(block.width):
            b.fix(block.start + k, (slot == k).astype(np.float64))
    exact = pd.DataFrame({f"__pos{p}": column for p, column in chars.items()},
                         index=pd.RangeIndex(len(equal)))
    return b.build(exact, {})


def _set_mark_chars(marks: list[str], exact: pd.DataFrame) -> list[str]:
    out = []
    for i, mark in enumerate(marks):
        chars = list(mark)
        for col in exact.columns:
            p = int(col[5:])
            p = p + 1 if p >= 4 and len(mark) == 8 else p
            chars[p] = exact[col].iloc[0 if len(exact) == 1 else i]
        out.append("".join(chars))
    return out


# ---------------------------------------------------------------------------------------------
# Decoded rows
# ---------------------------------------------------------------------------------------------


def apply_to_rows(rows, evidence: Evidence):
    """The decoded rows with the given values written in and ranged columns kept in range
    (a float32 draw at an interval's edge may round just past it)."""
    if any(str(c).startswith("__pos") for c in evidence.exact.columns):
        marks = _set_mark_chars([str(m) for m in rows], evidence.exact)
        if isinstance(rows, pd.Series):
            return pd.Series(marks, name=rows.name)
        if isinstance(rows, np.ndarray):
            return np.asarray(marks, dtype=rows.dtype)
        return marks
    if isinstance(rows, pd.DataFrame):
        rows = rows.copy()
        for col in evidence.exact.columns:
            values = evidence.exact[col].to_numpy()
            if len(values) == 1:
                values = np.repeat(values, len(rows))
            rows[col] = pd.Series(values, index=rows.index).astype(rows[col].dtype)
        for col, (lo, hi) in evidence.ranges.items():
            rows[col] = rows[col].clip(lo, hi).astype(rows[col].dtype)
        return rows
    rows = np.array(rows, copy=True)
    for col in evidence.exact.columns:
        j = int(str(col)[1:]) if isinstance(col, str) and col.startswith("x") else int(col)
        rows[:, j] = evidence.exact[col].to_numpy()
    for col, (lo, hi) in evidence.ranges.items():
        j = int(str(col)[1:]) if isinstance(col, str) and col.startswith("x") else int(col)
        rows[:, j] = np.clip(rows[:, j], lo, hi)
    return rows
