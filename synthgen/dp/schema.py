"""Public metadata: what a private fit may know about the columns without reading the data.

A schema is a dict (or a JSON file holding one)::

    {"columns": {
        "age":       {"kind": "integer", "lower": 17, "upper": 90},
        "hours":     {"kind": "continuous", "lower": 0.0, "upper": 99.0, "nullable": true},
        "workclass": {"kind": "categorical", "categories": ["Private", "State-gov"],
                      "nullable": true},
        "smoker":    {"kind": "boolean"}}}

Kinds are ``continuous``, ``integer``, ``categorical`` and ``boolean``.  The vectoriser of a
private fit is fitted on a small table built from the schema alone (:func:`skeleton`), so
its scalings, category lists and missing-value flags cost no budget.  Columns the schema
does not describe are estimated from the data with part of the budget
(:func:`estimate_schema`): bounds of numeric columns from a noisy histogram over fixed,
public bins (DP quantiles), category lists from noisy counts kept above a threshold (rare
categories, those of one row included, are dropped), gaps from a noisy count of them.

Data are then made to fit the schema row by row (:func:`conform`): numbers are clipped to
their bounds, a gap in a column declared without gaps becomes the middle of its range, and
an unlisted category becomes an all-zero one-hot row.  Each row is changed on its own, so
the neighbour relation (one row added or removed) is unchanged.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from ..errors import InvalidDataError, InvalidParameterError
from ..vectorisers import _dtypes as dt
from .accounting import Ledger

KINDS = ("continuous", "integer", "categorical", "boolean")
#: share of the rows left outside the estimated bounds at each end
BOUND_QUANTILE = 0.005
#: noisy histogram bins below this many noise standard deviations are taken as empty
BIN_THRESHOLD = 3.0
#: public histogram edges for bounds: 0 and +-10**(k/4), k = -8 .. 40 (0.01 to 1e10)
_MAGNITUDES = 10.0 ** (np.arange(-8, 41) / 4.0)
EDGES = np.concatenate([-_MAGNITUDES[::-1], [0.0], _MAGNITUDES])


def load_schema(spec) -> dict[str, dict[str, Any]]:
    """Column -> checked metadata, from a schema dict or the path of a JSON file holding one."""
    if spec is None:
        return {}
    if isinstance(spec, (str, Path)):
        try:
            spec = json.loads(Path(spec).read_text())
        except (OSError, ValueError) as exc:
            raise InvalidParameterError(f"public_metadata file {spec}: cannot be read as JSON "
                                        f"({exc})") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("columns"), dict):
        raise InvalidParameterError(
            "public_metadata must be a dict (or JSON file) with a 'columns' mapping of column "
            "name -> {kind, lower, upper, categories, nullable}")
    return {str(name): _check_column(str(name), meta) for name, meta in spec["columns"].items()}


def _check_column(name: str, meta) -> dict[str, Any]:
    if not isinstance(meta, dict) or meta.get("kind") not in KINDS:
        raise InvalidParameterError(
            f"public_metadata column {name!r}: kind must be one of {', '.join(KINDS)}; "
            f"got {meta!r:.80}")
    out = {"kind": meta["kind"], "nullable": bool(meta.get("nullable", False))}
    if meta["kind"] in ("continuous", "integer"):
        lo, hi = meta.get("lower"), meta.get("upper")
        ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                 for v in (lo, hi))
        if not ok or not lo < hi:
            raise InvalidParameterError(
                f"public_metadata column {name!r}: lower and upper must be finite numbers with "
                f"lower < upper; got lower={lo!r}, upper={hi!r}")
        out.update(lower=float(lo), upper=float(hi))
    elif meta["kind"] == "categorical":
        cats = meta.get("categories")
        if not isinstance(cats, list) or not cats or len(set(map(repr, cats))) != len(cats):
            raise InvalidParameterError(
                f"public_metadata column {name!r}: categories must be a non-empty list of "
                f"distinct values; got {cats!r:.80}")
        out["categories"] = list(cats)
    return out


def kind_from_dtype(series: pd.Series) -> str:
    """The kind a column without metadata gets, from its dtype alone (no values are read)."""
    fam = dt.family(series.dtype)
    kind = {"int": "integer", "float": "continuous", "bool": "boolean", "text": "categorical",
            "category": "categorical"}.get(fam)
    if kind is None:
        raise InvalidParameterError(
            f"column {series.name!r} (dtype {series.dtype}) has no public metadata and its bounds "
            "cannot be estimated privately; describe it in public_metadata")
    return kind


# ---------------------------------------------------------------------------------------------
# Estimating metadata with part of the budget
# ---------------------------------------------------------------------------------------------


def plan_schema(frame: pd.DataFrame, schema: dict, ledger: Ledger, share: float) -> list[str]:
    """Add a release per column the schema leaves out (reading only names and dtypes).

    Returns those columns.  Each numeric column's histogram (gaps in a bin of their own) and
    each categorical column's counts change by 1 in one bin (L2 sensitivity 1) when a row is
    added or removed.  Categories come from the data, so thresholding them sets aside half of
    ``delta``.
    """
    missing = [str(c) for c in frame.columns if str(c) not in schema]
    if not missing:
        return []
    kinds = {c: kind_from_dtype(frame[c].rename(c)) for c in missing}
    for c in missing:
        ledger.add(f"metadata:{c}", 1.0, share / len(missing))
    if any(k == "categorical" for k in kinds.values()):
        ledger.delta_selection = ledger.delta / 2
    return missing


def category_threshold(sigma: float, delta_selection: float, n_columns: int) -> float:
    """Noisy count a category must pass: a category of one row passes in any of ``n_columns``
    columns with probability at most ``delta_selection``."""
    return 1.0 + sigma * float(ndtri(1.0 - delta_selection / max(1, n_columns)))


def estimate_schema(rng: np.random.Generator, frame: pd.DataFrame, columns: list[str],
                    ledger: Ledger) -> dict[str, dict[str, Any]]:
    """Metadata of ``columns`` from noisy releases planned by :func:`plan_schema`."""
    n_cat = sum(kind_from_dtype(frame[c].rename(c)) == "categorical" for c in columns)
    out = {}
    for c in columns:
        series = frame[c]
        kind = kind_from_dtype(series.rename(c))
        sigma = ledger.get(f"metadata:{c}").sigma
        gaps = series.isna().to_numpy()
        if kind == "boolean":
            counts = np.array([gaps.sum()], float) + sigma * rng.standard_normal(1)
            out[c] = {"kind": kind, "nullable": bool(counts[0] > 3 * sigma)}
        elif kind == "categorical":
            out[c] = _noisy_categories(rng, series, sigma,
                                       category_threshold(sigma, ledger.delta_selection, n_cat))
        else:
            out[c] = _noisy_bounds(rng, series, kind, sigma)
    return out


def _noisy_categories(rng, series: pd.Series, sigma: float, threshold: float) -> dict[str, Any]:
    observed = series.dropna()
    values = pd.Series(observed.to_numpy(dtype=object))
    counts = values.value_counts(sort=False)
    keys = sorted(counts.index, key=repr)
    noisy = counts[keys].to_numpy(float) + sigma * rng.standard_normal(len(keys))
    gaps = float(series.isna().sum()) + sigma * rng.standard_normal()
    kept = [k.item() if isinstance(k, np.generic) else k for k, v in zip(keys, noisy)
            if v > threshold]
    meta = {"kind": "categorical", "categories": kept, "nullable": bool(gaps > 3 * sigma)}
    if not kept:
        meta["nullable"] = True
    return meta


def _noisy_bounds(rng, series: pd.Series, kind: str, sigma: float) -> dict[str, Any]:
    x = dt.numbers_of(series, str(series.name)).astype(np.float64)
    gaps = np.isnan(x)
    x = x[~gaps]
    bins = np.clip(np.searchsorted(EDGES, x, side="right"), 1, len(EDGES) - 1) - 1
    counts = np.bincount(bins, minlength=len(EDGES) - 1).astype(float)
    noisy = counts + sigma * rng.standard_normal(len(counts))
    noisy = np.where(noisy > BIN_THRESHOLD * sigma, noisy, 0.0)  # empty bins stay empty
    gap_count = float(gaps.sum()) + sigma * rng.standard_normal()
    total = noisy.sum()
    if total <= 0:
        lo, hi = 0.0, 1.0
    else:
        cdf = np.cumsum(noisy) / total
        first = int(np.searchsorted(cdf, BOUND_QUANTILE))
        last = int(np.searchsorted(cdf, 1.0 - BOUND_QUANTILE))
        lo, hi = float(EDGES[first]), float(EDGES[min(last + 1, len(EDGES) - 1)])
    if kind == "integer":
        lo, hi = math.floor(lo), math.ceil(hi)
    if not lo < hi:
        hi = lo + 1.0
    return {"kind": kind, "lower": lo, "upper": hi, "nullable": bool(gap_count > 3 * sigma)}


# ---------------------------------------------------------------------------------------------
# The vectoriser of a private fit
# ---------------------------------------------------------------------------------------------


def skeleton(frame: pd.DataFrame, schema: dict) -> pd.DataFrame:
    """A small table holding, per column, only what the schema says: its bounds (and the
    points between), its categories, a gap where gaps are allowed.  Dtypes follow ``frame``'s."""
    cols = {}
    for c in frame.columns:
        meta = schema[str(c)]
        kind = meta["kind"]
        if kind in ("continuous", "integer"):
            values = list(np.linspace(meta["lower"], meta["upper"], 3))
            if kind == "integer":
                values = [round(v) for v in values]
        elif kind == "boolean":
            values = [False, True]
        else:
            values = list(meta["categories"])
        if meta["nullable"]:
            values.append(None)
        cols[c] = values
    rows = max(len(v) for v in cols.values())
    out = {}
    for c, values in cols.items():
        values = (values * rows)[:rows]
        out[c] = _as_dtype(pd.Series(values, name=c), frame[c].dtype, schema[str(c)])
    return pd.DataFrame(out, columns=frame.columns)


def _as_dtype(series: pd.Series, dtype, meta: dict) -> pd.Series:
    fam = dt.family(dtype)
    if fam == "category":
        return pd.Series(pd.Categorical(series, categories=meta.get("categories")), name=series.name)
    if fam == "int" and series.isna().any():
        return series.astype("float64")
    if fam in ("int", "float", "bool"):
        try:
            return series.astype(dtype)
        except (TypeError, ValueError):
            return series
    return series.astype(object)


def conform(frame: pd.DataFrame, schema: dict) -> pd.DataFrame:
    """``frame`` made to fit ``schema`` row by row (clipped numbers, filled gaps)."""
    out = frame.copy()
    for c in frame.columns:
        meta = schema[str(c)]
        if meta["kind"] in ("continuous", "integer"):
            x = dt.numbers_of(frame[c], str(c)).astype(np.float64)
            x = np.clip(x, meta["lower"], meta["upper"])
            if not meta["nullable"]:
                x = np.where(np.isnan(x), 0.5 * (meta["lower"] + meta["upper"]), x)
            if meta["kind"] == "integer":
                x = np.round(x)
            out[c] = x if np.isnan(x).any() or dt.family(frame[c].dtype) == "float" else \
                x.astype(frame[c].dtype)
        elif meta["kind"] == "boolean" and not meta["nullable"] and frame[c].isna().any():
            out[c] = frame[c].fillna(False)
    return out


def private_vectoriser(frame: pd.DataFrame, schema: dict):
    """A TableVectoriser fitted on :func:`skeleton` only: min-max scaling to the public
    bounds, the public categories, argmax decoding (no calibration on data); decoded numbers,
    floats included, are clipped to the public bounds, and not rounded to decimals (those
    would come from the data)."""
    from ..vectorisers.table import TableVectoriser

    names = {str(c) for c in frame.columns}
    extra = sorted(set(schema) - names)
    if extra:
        raise InvalidDataError(f"public_metadata names column(s) not in the data: "
                               f"{', '.join(map(repr, extra))}")
    kinds = {c: schema[str(c)]["kind"] for c in frame.columns}
    vec = TableVectoriser(kinds=kinds, continuous="minmax", max_categories=None,
                          handle_unknown="ignore", decoding="argmax", decode_other="mode",
                          clip_numbers=True, round_floats=False)
    vec.fit(skeleton(frame, schema))
    return vec
