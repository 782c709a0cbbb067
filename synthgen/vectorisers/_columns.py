"""One codec per kind of table column: how a column becomes matrix columns and comes back.

Every codec is fitted on one pandas Series and then maps it to a few float columns
(``encode``) and back (``decode``); its state is JSON values and numpy arrays only.
A column with gaps (and some values) gets a missing-indicator feature, except a
categorical column, where a gap is its own one-hot slot.

An identifier column has no features at all: each sampled row gets a fresh value.  A
categorical column with more categories than the default cap keeps the most frequent and
pools the rest, and says so in a warning.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import ClassVar

import numpy as np
import pandas as pd

from ..errors import InvalidDataError, SamplingError
from . import _dtypes as dt
from ._decoding import (draw_integer_ids, draw_text_ids, fit_integer_ids, fit_text_ids,
                        flag_threshold, onehot_offsets, row_hash, salted_hashes, salted_uniforms,
                        text_id_room)
from ._scalers import fit_scaling, scale, scaled_fill, unscale

KINDS = ("continuous", "integer", "categorical", "boolean", "datetime", "constant", "identifier")
MISSING = "<missing>"
OTHER = "<other>"

#: One-hot slots per categorical column under ``max_categories="auto"`` (``<other>`` included).
DEFAULT_MAX_CATEGORIES = 50
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Candidate resolutions of a date-time column, in nanoseconds (day ... nanosecond).
_STEPS_NS = (86_400 * 10**9, 3_600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3, 1)
_NS_PER_UNIT = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def warn(message: str) -> None:
    """A ``UserWarning`` attributed to the first caller outside synthgen."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)


class Codec:
    """Base of the column codecs: subclasses define ``_fit``, ``_encode``, ``_decode``."""

    kind: ClassVar[str] = ""

    def __init__(self, name: str, spec: dict, options: dict):
        self.name, self.spec, self.options = name, spec, options
        self.gaps = False

    # -- public -----------------------------------------------------------------------------
    def fit(self, series: pd.Series) -> "Codec":
        missing = series.isna().to_numpy()
        self.gaps = bool(missing.any() and not missing.all())
        self.gap_threshold = flag_threshold(float(missing.mean()), self.options["decoding"])
        self._fit(series, missing)
        return self

    def encode(self, series: pd.Series) -> np.ndarray:
        """The column's features, shape ``(n, width)``, float64."""
        missing = series.isna().to_numpy()
        parts = self._encode(series, missing)
        if self.has_indicator:
            parts.append(missing.astype(np.float64))
        return np.column_stack(parts) if parts else np.empty((len(series), 0))

    def decode(self, Z: np.ndarray, row_hash: np.ndarray | None) -> pd.Series:
        """The column from its features (one row per row of ``Z``)."""
        missing = np.zeros(len(Z), dtype=bool)
        if self.has_indicator:
            missing = Z[:, -1] >= self.gap_threshold
            Z = Z[:, :-1]
        return self._decode(Z, missing, row_hash)

    @property
    def has_indicator(self) -> bool:
        return self.gaps and self.kind != "categorical"

    @property
    def uses_row_hash(self) -> bool:
        """Whether decoding draws from the row hashes (see :func:`row_hash`)."""
        return False

    def layout(self) -> list[tuple[str, str, list[str]]]:
        """``(block name, block kind, feature names)`` for each block, in order."""
        out = self._layout()
        if self.has_indicator:
            label = f"{self.name}={MISSING}"
            out.append((label, "binary", [label]))
        return out

    def get_state(self) -> dict:
        return {"gaps": self.gaps, "gap_threshold": self.gap_threshold, **self._get_state()}

    def set_state(self, state: dict) -> "Codec":
        self.gaps = bool(state["gaps"])
        self.gap_threshold = float(state["gap_threshold"])
        self._set_state(state)
        return self

    # -- helpers ----------------------------------------------------------------------------
    def _check_no_new_gaps(self, missing: np.ndarray) -> None:
        if missing.any() and not self.gaps:
            raise InvalidDataError(
                f"column {self.name!r} has missing values, but had none when the vectoriser "
                "was fitted"
            )

    def _values(self) -> pd.Index:
        return dt.from_json_values(self.values, dt.value_dtype(self.spec))


class NumericCodec(Codec):
    """A continuous or integer column: one scaled feature (plus an indicator for gaps)."""

    kind = "continuous"

    def _fit(self, series, missing):
        x = dt.numbers_of(series, self.name)[~missing]
        self.scaling = fit_scaling(self._method(), x, n_quantiles=self.options["n_quantiles"])
        self.fill = scaled_fill(self.scaling, x)
        self.lo = float(x.min()) if x.size else 0.0
        self.hi = float(x.max()) if x.size else 0.0
        self.decimals = (_decimals(x) if self.kind == "continuous"
                         and self.options.get("round_floats", False) else None)

    def _method(self) -> str:
        return self.options["scalers"].get(self.name, self.options["continuous"])

    def _encode(self, series, missing):
        self._check_no_new_gaps(missing)
        z = scale(self.scaling, dt.numbers_of(series, self.name))
        z[missing] = self.fill
        return [z]

    def _decode(self, Z, missing, row_hash):
        x = unscale(self.scaling, Z[:, 0])
        if self.kind == "integer":
            x = np.clip(np.rint(x), self.lo, self.hi)
        elif self.options.get("clip_numbers", False):
            x = np.clip(x, self.lo, self.hi)
        if self.kind != "integer" and getattr(self, "decimals", None) is not None:
            x = np.round(x, self.decimals)
        x[missing] = np.nan
        dtype = dt.restore_dtype(self.spec)
        if dt.family(dtype) == "int" and isinstance(dtype, np.dtype) and not missing.any():
            return pd.Series(x.astype(dtype))
        return pd.Series(x).astype(dtype)

    def _layout(self):
        return [(self.name, "continuous", [self.name])]

    def _get_state(self):
        state = {"scaling": self.scaling, "fill": self.fill, "lo": self.lo, "hi": self.hi}
        if getattr(self, "decimals", None) is not None:
            state["decimals"] = int(self.decimals)
        return state

    def _set_state(self, state):
        self.scaling = dict(state["scaling"])
        self.fill, self.lo, self.hi = float(state["fill"]), float(state["lo"]), float(state["hi"])
        self.decimals = None if state.get("decimals") is None else int(state["decimals"])


#: most decimals a float column is rounded back to (``round_floats``)
MAX_DECIMALS = 6


def _decimals(x: np.ndarray) -> int | None:
    """The fewest decimals (0 to ``MAX_DECIMALS``) that every value of ``x`` has (to 1e-9 of
    the value, 1e-12 of the column's largest); None when the values need more (measurements,
    model outputs)."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if not x.size:
        return None
    tol = np.maximum(1e-9 * np.abs(x), 1e-12 * np.abs(x).max())
    for d in range(MAX_DECIMALS + 1):
        if np.all(np.abs(np.round(x, d) - x) <= tol):
            return d
    return None


class IntegerCodec(NumericCodec):
    """An integer column: scaled like a continuous one; decoded values are rounded and clipped."""

    kind = "integer"


class DatetimeCodec(Codec):
    """Date-times or durations: a scaled number, decoded at the column's resolution and range."""

    kind = "datetime"

    def _fit(self, series, missing):
        ints = dt.time_ints(series)[~missing]
        self.lo = int(ints.min()) if ints.size else 0
        self.hi = int(ints.max()) if ints.size else 0
        self.step = _resolution(ints - self.lo, dt.time_unit(series.dtype))
        offsets = (ints - self.lo).astype(np.float64)
        method = self.options["scalers"].get(self.name, self.options["continuous"])
        self.scaling = fit_scaling(method, offsets, n_quantiles=self.options["n_quantiles"])
        self.fill = scaled_fill(self.scaling, offsets)

    def _encode(self, series, missing):
        self._check_no_new_gaps(missing)
        try:
            series = series.astype(dt.restore_dtype(self.spec))
        except (TypeError, ValueError) as exc:
            raise InvalidDataError(
                f"column {self.name!r} must hold {self.spec['name']} values ({exc})"
            ) from None
        z = scale(self.scaling, (dt.time_ints(series) - self.lo).astype(np.float64))
        z[missing] = self.fill
        return [z]

    def _decode(self, Z, missing, row_hash):
        offsets = unscale(self.scaling, Z[:, 0])
        top = (self.hi - self.lo) // self.step
        k = np.clip(np.rint(offsets / self.step), 0, top).astype(np.int64)
        ints = self.lo + k * self.step
        ints[missing] = dt.NAT
        dtype = dt.restore_dtype(self.spec)
        return pd.Series(dt.time_values(ints, dtype)).astype(dtype)

    def _layout(self):
        return [(self.name, "continuous", [self.name])]

    def _get_state(self):
        return {"scaling": self.scaling, "fill": self.fill, "lo": self.lo, "hi": self.hi,
                "step": self.step}

    def _set_state(self, state):
        self.scaling = dict(state["scaling"])
        self.fill = float(state["fill"])
        self.lo, self.hi, self.step = int(state["lo"]), int(state["hi"]), int(state["step"])


def _resolution(offsets: np.ndarray, unit: str) -> int:
    """The coarsest of day/hour/minute/second/ms/us/ns that every offset is a multiple of."""
    per = _NS_PER_UNIT.get(unit, 1)
    for step_ns in _STEPS_NS:
        if step_ns % per:
            continue
        step = step_ns // per
        if not np.any(offsets % step):
            return int(step)
    return 1


class BooleanCodec(Codec):
    """A two-valued column (bool, boolean, or any column named boolean): one binary feature."""

    kind = "boolean"

    def _fit(self, series, missing):
        if dt.family(dt.value_dtype(self.spec)) == "bool":
            self.values = [False, True]
        else:
            found = dt.to_json_values(_distinct(series[~missing]), self.name)
            self.values = (found * 2)[:2] if len(found) < 2 else found
        flags = self._flags(series[~missing])
        self.fill = float(flags.mean()) if flags.size else 0.0
        self.threshold = flag_threshold(self.fill, self.options["decoding"])

    def _flags(self, series) -> np.ndarray:
        codes = self._values().get_indexer(series.to_numpy(dtype=object))
        if (codes < 0).any():
            bad = pd.unique(series.to_numpy(dtype=object)[codes < 0])[:5]
            raise InvalidDataError(
                f"column {self.name!r} has values not seen when fitted: {list(bad)!r}"
            )
        return (codes == len(self.values) - 1).astype(np.float64)

    def _encode(self, series, missing):
        self._check_no_new_gaps(missing)
        z = np.full(len(series), self.fill)
        z[~missing] = self._flags(series[~missing])
        return [z]

    def _decode(self, Z, missing, row_hash):
        codes = np.where(Z[:, 0] >= self.threshold, len(self.values) - 1, 0)
        codes[missing] = -1
        return dt.build_column(self._values(), codes, self.spec)

    def _layout(self):
        return [(self.name, "binary", [self.name])]

    def _get_state(self):
        return {"values": self.values, "fill": self.fill, "threshold": self.threshold}

    def _set_state(self, state):
        self.values, self.fill = list(state["values"]), float(state["fill"])
        self.threshold = float(state["threshold"])


class ConstantCodec(Codec):
    """A column with one value (and perhaps gaps): kept aside; only its gaps reach the matrix."""

    kind = "constant"

    def _fit(self, series, missing):
        self.values = dt.to_json_values(_distinct(series[~missing]), self.name)

    def _encode(self, series, missing):
        return []

    def _decode(self, Z, missing, row_hash):
        codes = np.where(missing, -1, 0) if self.values else np.full(len(Z), -1)
        return dt.build_column(self._values(), codes, self.spec)

    def _layout(self):
        return []

    def _get_state(self):
        return {"values": self.values}

    def _set_state(self, state):
        self.values = list(state["values"])


class IdentifierCodec(Codec):
    """An identifier (a key, a code, a name unique to its row): no features of its own.

    Each sampled row gets a fresh value derived from the row's hash: an integer from a range
    beside the training values, or a string of the training values' shape (see
    :func:`synthgen.vectorisers._decoding.fit_text_ids`), never a training value, and
    different from every other value decoded in the same call.
    """

    kind = "identifier"

    def _fit(self, series, missing):
        observed = series[~missing]
        if dt.family(dt.value_dtype(self.spec)) == "text":
            self.form = "text"
            self.shape = fit_text_ids([str(v) for v in observed.to_numpy(dtype=object)])
        else:
            self.form = "integer"
            lo, hi = (int(observed.min()), int(observed.max())) if observed.size else (0, -1)
            self.shape = fit_integer_ids(lo, hi, *dt.int_bounds(dt.restore_dtype(self.spec)))
        if self.room == 0:
            raise InvalidDataError(
                f"column {self.name!r} cannot be an identifier: its values leave no room for "
                "fresh ones of the same shape"
            )

    @property
    def room(self) -> int:
        """How many fresh values one call can decode."""
        return int(self.shape["width"]) if self.form == "integer" else text_id_room(self.shape)

    @property
    def uses_row_hash(self) -> bool:
        return True

    def _encode(self, series, missing):
        self._check_no_new_gaps(missing)
        return []

    def _decode(self, Z, missing, row_hash):
        h = salted_hashes(row_hash[~missing], self.options["salt"])
        try:
            if self.form == "text":
                fresh = draw_text_ids(self.shape, h)
            else:
                fresh = draw_integer_ids(self.shape, h)
        except ValueError as exc:
            raise SamplingError(
                f"column {self.name!r} cannot give {len(h)} rows distinct fresh identifiers in "
                f"one call ({exc}); sample fewer rows per call (iter_sample), or declare "
                f"kinds={{{self.name!r}: 'categorical'}}"
            ) from None
        dtype = dt.restore_dtype(self.spec)
        if self.form == "text":
            out = np.full(len(Z), None, dtype=object)
            out[~missing] = fresh
            return pd.Series(out).astype(dtype)
        values = np.zeros(len(Z), dtype=np.int64)
        values[~missing] = fresh
        out = pd.Series(values).astype(dtype)
        if missing.any():
            out[missing] = None
        return out

    def _layout(self):
        return []

    def _get_state(self):
        return {"form": self.form, "shape": self.shape}

    def _set_state(self, state):
        self.form, shape = str(state["form"]), dict(state["shape"])
        if self.form == "text":
            shape["alphabets"] = [str(a) for a in shape["alphabets"]]
            for key in ("lengths", "counts", "leads", "used", "used_at"):
                shape[key] = np.asarray(shape[key], dtype=np.int64)
        else:
            shape = {k: int(v) for k, v in shape.items()}
        self.shape = shape


def _distinct(series: pd.Series) -> pd.Index:
    """Distinct values in a stable order: sorted when they sort, else as first seen."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = series.cat.categories
        return cats[cats.isin(series.unique())]
    values = pd.Index(pd.unique(series.to_numpy(dtype=object) if dt.family(series.dtype) == "text"
                                else series))
    try:
        return values.sort_values()
    except TypeError:
        return values


class CategoricalCodec(Codec):
    """One-hot over the seen categories, with slots for pooled rare categories and for gaps.

    Slots, in order: each kept category, then ``<other>`` (the pooled rare categories) if
    any were pooled, then ``<missing>`` if the column had gaps.  ``<other>`` decodes to the
    most frequent pooled category (``decode_other="mode"``) or to a pooled category drawn
    with its training frequency (``"frequency"``) by a number derived from the row itself;
    ``"auto"`` is ``"frequency"`` for a column capped by ``max_categories="auto"`` (at
    :data:`DEFAULT_MAX_CATEGORIES` slots, with a warning) and ``"mode"`` otherwise.
    """

    kind = "categorical"

    def _fit(self, series, missing):
        observed = series[~missing]
        self.values = dt.to_json_values(_distinct(observed), self.name)
        codes = self._values().get_indexer(observed.to_numpy(dtype=object))
        self.counts = np.bincount(codes, minlength=len(self.values)).astype(np.int64)
        cap, min_frequency = self.options["max_categories"], self.options["min_frequency"]
        auto = cap == "auto"
        pooled = _pooled(self.counts, len(series), min_frequency,
                         DEFAULT_MAX_CATEGORIES if auto else cap)
        capped = auto and bool((pooled & ~_pooled(self.counts, len(series), min_frequency,
                                                  None)).any())
        self.decode_other = self.options["decode_other"]
        if self.decode_other == "auto":
            self.decode_other = "frequency" if capped else "mode"
        if capped:
            warn(
                f"column {self.name!r} has {len(self.values)} categories, more than the default "
                f"max_categories={DEFAULT_MAX_CATEGORIES} one-hot slots: the "
                f"{int((~pooled).sum())} most frequent are modelled and the other "
                f"{int(pooled.sum())} pooled into one {OTHER} slot, decoded to one of them at "
                "their training frequencies; pass max_categories=None to model every category"
            )
        kept = np.flatnonzero(~pooled)
        self.slot_of = np.full(len(self.values), len(kept), dtype=np.int64)
        self.slot_of[kept] = np.arange(len(kept))
        self.n_kept, self.pooled = len(kept), bool(pooled.any())
        slot_counts = np.bincount(self.slot_of, weights=self.counts, minlength=self.width)
        if self.gaps:
            slot_counts[-1] = missing.sum()
        self.offsets = onehot_offsets(slot_counts, self.options["decoding"])

    @property
    def width(self) -> int:
        return self.n_kept + int(self.pooled) + int(self.gaps)

    def _encode(self, series, missing):
        codes = self._values().get_indexer(series.to_numpy(dtype=object))
        unknown = (codes < 0) & ~missing if self.gaps else codes < 0
        if unknown.any() and self.options["handle_unknown"] == "error":
            bad = pd.unique(series.to_numpy(dtype=object)[unknown])[:5]
            raise InvalidDataError(
                f"column {self.name!r} has categories not seen when fitted: {list(bad)!r} "
                "(use handle_unknown='ignore' to encode them as all zeros)"
            )
        slots = np.where(codes >= 0, self.slot_of[np.maximum(codes, 0)], -1)
        if self.gaps:
            slots[missing] = self.width - 1
        onehot = np.zeros((len(series), self.width))
        rows = np.flatnonzero(slots >= 0)
        onehot[rows, slots[rows]] = 1.0
        return [onehot[:, j] for j in range(self.width)]

    def _decode(self, Z, missing, row_hash):
        slots = np.argmax(Z + self.offsets, axis=1) if self.width else np.zeros(len(Z), np.int64)
        first = np.full(self.width, -1, dtype=np.int64)
        kept = self.slot_of < self.n_kept
        first[self.slot_of[kept]] = np.flatnonzero(kept)
        codes = first[slots] if self.width else np.full(len(Z), -1)
        if self.pooled:
            other = slots == self.n_kept
            codes[other] = self._decode_other(int(other.sum()), row_hash, other)
        return dt.build_column(self._values(), codes, self.spec)

    def _decode_other(self, n: int, row_hash, rows: np.ndarray) -> np.ndarray:
        members = np.flatnonzero(self.slot_of == self.n_kept)
        weights = self.counts[members].astype(np.float64)
        if self.decode_other == "mode" or row_hash is None:
            return np.full(n, members[int(np.argmax(weights))])
        u = salted_uniforms(row_hash[rows], self.options["salt"])
        cdf = np.cumsum(weights) / weights.sum()
        return members[np.minimum(np.searchsorted(cdf, u, side="right"), len(members) - 1)]

    @property
    def uses_row_hash(self) -> bool:
        return self.pooled and self.decode_other == "frequency"

    def _layout(self):
        names = [None] * self.n_kept
        for code, slot in enumerate(self.slot_of):
            if slot < self.n_kept:
                names[slot] = f"{self.name}={self.values[code]}"
        names += [f"{self.name}={OTHER}"] * int(self.pooled)
        names += [f"{self.name}={MISSING}"] * int(self.gaps)
        return [(self.name, "categorical", names)] if names else []

    def _get_state(self):
        return {"values": self.values, "counts": self.counts, "slot_of": self.slot_of,
                "n_kept": self.n_kept, "pooled": self.pooled, "offsets": self.offsets,
                "decode_other": self.decode_other}

    def _set_state(self, state):
        self.values = list(state["values"])
        self.counts = np.asarray(state["counts"], dtype=np.int64)
        self.slot_of = np.asarray(state["slot_of"], dtype=np.int64)
        self.n_kept, self.pooled = int(state["n_kept"]), bool(state["pooled"])
        self.offsets = np.asarray(state["offsets"], dtype=np.float64)
        self.decode_other = str(state.get("decode_other", self.options["decode_other"]))


def _pooled(counts: np.ndarray, n_rows: int, min_frequency, max_categories) -> np.ndarray:
    """Which categories go to the ``<other>`` slot (the rules of scikit-learn's OneHotEncoder)."""
    pooled = np.zeros(len(counts), dtype=bool)
    if min_frequency is not None:
        threshold = min_frequency * n_rows if isinstance(min_frequency, float) else min_frequency
        pooled = counts < threshold
    n_slots = int((~pooled).sum()) + int(pooled.any())
    if max_categories is not None and max_categories < n_slots:
        keep = max_categories - 1
        order = np.argsort(counts, kind="mergesort")
        pooled[order[: len(counts) - keep] if keep else order] = True
    return pooled


CODECS = {c.kind: c for c in (NumericCodec, IntegerCodec, DatetimeCodec, BooleanCodec,
                              ConstantCodec, CategoricalCodec, IdentifierCodec)}


def make_codec(kind: str, name: str, spec: dict, options: dict) -> Codec:
    """A codec of ``kind`` for the column ``name`` with dtype ``spec``."""
    return CODECS[kind](name, spec, options)
