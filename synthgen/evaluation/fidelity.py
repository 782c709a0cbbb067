"""Fidelity: how well the synthetic table reproduces each column and each pair of columns.

The definitions are those of SDMetrics' QualityReport, so the numbers can be checked
against it:

* **Column shapes.**  A continuous or datetime column scores the Kolmogorov-Smirnov
  complement ``1 - D`` (``D`` the largest gap between the two empirical CDFs, gaps left
  out, values rounded to 14 decimals first); a categorical or boolean column scores the total
  variation complement ``1 - 1/2 sum |p_real(v) - p_synth(v)|`` over the observed values
  (gaps left out).
* **Column pair trends.**  Two continuous columns score the correlation similarity
  ``1 - |r_real - r_synth| / 2`` (Pearson's ``r`` on the rows where both are present; a
  constant column gives no score).  Any pair with a categorical column scores the
  contingency similarity ``1 - 1/2 sum |P_real(a, b) - P_synth(a, b)|`` over the joint
  frequency table, in which a gap is a value of its own and a continuous column is cut into
  the 10 equal-width bins of ``numpy.histogram_bin_edges``; as in SDMetrics, each table is
  cut on its own range.
* **Scores.**  Each property is the mean of its column (pair) scores, missing scores left
  out; the overall score is the mean of the two properties.

SDMetrics' QualityReport (from 0.2x) lets only pairs whose real relationship is strong
enough count: ``|r_real| > real_correlation_threshold`` and Cramer's V of the real table
``> real_association_threshold``, 0.5 and 0.3 by default (:data:`SDMETRICS_THRESHOLDS`).
``synthgen.evaluate`` defaults to those, so its report agrees with ``QualityReport()`` as it
comes.  The functions here default, as SDMetrics' column-pair metrics and its
``ColumnPairTrends`` property do, to :data:`EVERY_PAIR` (both 0: every pair counts), the
convention of the published papers.
"""

from __future__ import annotations

import itertools
import sys
from types import MappingProxyType

import numpy as np
import pandas as pd

from ._tables import NUMERIC_KINDS, discrete_values, numeric_values

#: Decimals kept before the KS statistic, as SDMetrics (float noise is not a difference).
KS_DECIMALS = sys.float_info.dig - 1
N_BINS = 10

#: SDMetrics QualityReport's thresholds (``sdmetrics.reports.utils``): ``evaluate``'s defaults.
SDMETRICS_THRESHOLDS = MappingProxyType({"real_correlation_threshold": 0.5,
                                         "real_association_threshold": 0.3})
#: Both thresholds 0, every pair counts: the published papers' convention (and the
#: default of the functions here).
EVERY_PAIR = MappingProxyType({"real_correlation_threshold": 0.0,
                               "real_association_threshold": 0.0})


def ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    """``1 - D``, the Kolmogorov-Smirnov statistic's complement, gaps left out (NaN if none)."""
    a = np.sort(np.round(_present(real), KS_DECIMALS))
    b = np.sort(np.round(_present(synthetic), KS_DECIMALS))
    if a.size == 0 or b.size == 0:
        return float("nan")
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / a.size
    cdf_b = np.searchsorted(b, points, side="right") / b.size
    return float(1.0 - np.max(np.abs(cdf_a - cdf_b)))


def tv_complement(real: np.ndarray, synthetic: np.ndarray) -> float:
    """``1 - TV``, the total variation distance's complement over observed values."""
    r = pd.Series(real, dtype=object).dropna()
    s = pd.Series(synthetic, dtype=object).dropna()
    if r.empty or s.empty:
        return float("nan")
    codes, uniques = pd.factorize(pd.concat([r, s], ignore_index=True))
    p = np.bincount(codes[: len(r)], minlength=len(uniques)) / len(r)
    q = np.bincount(codes[len(r):], minlength=len(uniques)) / len(s)
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r on the rows where both are present; NaN for a constant or too short column."""
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    if x.size < 2:
        return float("nan")
    xc, yc = x - x.mean(), y - y.mean()
    den = np.sqrt(np.sum(xc * xc) * np.sum(yc * yc))
    if den == 0:
        return float("nan")
    return float(np.clip(np.sum(xc * yc) / den, -1.0, 1.0))


def correlation_similarity(r_real: float, r_synthetic: float) -> float:
    """``1 - |r_real - r_synth| / 2`` (NaN when either is undefined)."""
    return float(1.0 - abs(r_real - r_synthetic) / 2.0)


def discretise(values: np.ndarray) -> np.ndarray:
    """Bin codes of a continuous column: 10 equal-width bins of its own range; a gap gets a code.

    Codes follow ``numpy.digitize`` on the bin edges (so the maximum has a code of its own,
    as in SDMetrics); a gap is ``N_BINS + 2``.
    """
    values = np.asarray(values, dtype=np.float64)
    gap = np.isnan(values)
    codes = np.full(values.shape, N_BINS + 2, dtype=np.int64)
    if (~gap).any():
        present = values[~gap]
        try:
            edges = np.histogram_bin_edges(present, bins=N_BINS)
        except ValueError:  # a range too narrow for ten distinct float edges: one bin
            edges = np.array([present.min(), present.max()])
        codes[~gap] = np.digitize(present, edges)
    return codes


def _factor(real, synthetic) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of two tables' values of one column, shared; a gap is a value of its own."""
    codes, _ = pd.factorize(pd.Series(np.concatenate([real, synthetic]), dtype=object),
                            use_na_sentinel=False)
    codes = codes.astype(np.int64)
    return codes[: len(real)], codes[len(real):]


def contingency_from_codes(a_real, b_real, a_syn, b_syn) -> float:
    """``1 - TV`` of the joint frequency tables of two integer-coded columns."""
    kb = np.int64(max(b_real.max(initial=0), b_syn.max(initial=0)) + 1)
    jr, js = a_real * kb + b_real, a_syn * kb + b_syn
    uniques, inverse = np.unique(np.concatenate([jr, js]), return_inverse=True)
    p = np.bincount(inverse[: len(jr)], minlength=len(uniques)) / max(1, len(jr))
    q = np.bincount(inverse[len(jr):], minlength=len(uniques)) / max(1, len(js))
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def contingency_similarity(a_real, b_real, a_syn, b_syn) -> tuple[float, float]:
    """``1 - TV`` of the joint frequency tables of two discrete columns, and Cramer's V of the
    real table (values of any kind; gaps are values of their own)."""
    (ar, as_), (br, bs) = _factor(a_real, a_syn), _factor(b_real, b_syn)
    return contingency_from_codes(ar, br, as_, bs), cramers_v_codes(ar, br)


def cramers_v(a, b) -> float:
    """Cramer's V of two discrete columns (gaps are values of their own)."""
    return cramers_v_codes(_factor(a, [])[0], _factor(b, [])[0])


def cramers_v_codes(ca: np.ndarray, cb: np.ndarray) -> float:
    """Cramer's V of two integer-coded columns, without continuity correction, from the observed
    cells only: ``chi2 = n (sum O^2 / (R C) - 1)``, ``V = sqrt(chi2 / n / (min(r, c) - 1))``."""
    n = ca.size
    if n == 0:
        return float("nan")
    _, ca = np.unique(ca, return_inverse=True)
    _, cb = np.unique(cb, return_inverse=True)
    n_a, n_b = int(ca.max()) + 1, int(cb.max()) + 1
    if min(n_a, n_b) < 2:
        return float("nan")
    cells, counts = np.unique(ca * np.int64(n_b) + cb, return_counts=True)
    rows = np.bincount(ca, minlength=n_a)[cells // n_b].astype(np.float64)
    cols = np.bincount(cb, minlength=n_b)[cells % n_b].astype(np.float64)
    chi2 = n * (np.sum(counts.astype(np.float64) ** 2 / (rows * cols)) - 1.0)
    return float(np.sqrt(max(chi2, 0.0) / n / (min(n_a, n_b) - 1)))


def column_shapes(real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str]) -> list[dict]:
    """One row per column: ``column``, ``kind``, ``metric`` and ``score``."""
    rows = []
    for col, kind in kinds.items():
        if kind in NUMERIC_KINDS:
            metric = "KSComplement"
            score = ks_complement(numeric_values(real[col]), numeric_values(synthetic[col]))
        else:
            metric = "TVComplement"
            score = tv_complement(discrete_values(real[col]), discrete_values(synthetic[col]))
        rows.append({"column": col, "kind": kind, "metric": metric, "score": score})
    return rows


def _pair_codes(real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str]):
    """Numeric values of the continuous columns, and integer codes of every column, per table.

    A continuous column's codes are its bins (each table cut on its own range); a discrete
    column's codes are shared by the two tables.
    """
    num_r = {c: numeric_values(real[c]) for c, k in kinds.items() if k in NUMERIC_KINDS}
    num_s = {c: numeric_values(synthetic[c]) for c in num_r}
    codes_r, codes_s = {}, {}
    for c in kinds:
        if c in num_r:
            codes_r[c], codes_s[c] = discretise(num_r[c]), discretise(num_s[c])
        else:
            codes_r[c], codes_s[c] = _factor(discrete_values(real[c]), discrete_values(synthetic[c]))
    return num_r, num_s, codes_r, codes_s


def column_pair_trends(real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str], *,
                       real_correlation_threshold: float = 0.0,
                       real_association_threshold: float = 0.0) -> list[dict]:
    """One row per pair of columns: the metric, its score and the real (and synthetic) statistic.

    A pair whose real relationship is at or below the threshold keeps ``meets_threshold``
    False and no score (with a threshold of 0, as in :data:`EVERY_PAIR`, every pair counts).
    """
    num_r, num_s, dis_r, dis_s = _pair_codes(real, synthetic, kinds)
    rows = []
    for c1, c2 in itertools.combinations(kinds, 2):
        both_numeric = c1 in num_r and c2 in num_r
        if both_numeric:
            row = _correlation_row(num_r[c1], num_r[c2], num_s[c1], num_s[c2],
                                   real_correlation_threshold)
        else:
            row = _contingency_row(dis_r[c1], dis_r[c2], dis_s[c1], dis_s[c2],
                                   real_association_threshold)
        rows.append({"column_1": c1, "column_2": c2, **row})
    return rows


def _correlation_row(x_r, y_r, x_s, y_s, threshold: float) -> dict:
    r_real = pearson(x_r, y_r)
    r_syn = pearson(x_s, y_s)
    meets = threshold <= 0 or (not np.isnan(r_real) and abs(r_real) > threshold)
    score = correlation_similarity(r_real, r_syn) if meets else float("nan")
    return {"metric": "CorrelationSimilarity", "score": score, "real_correlation": r_real,
            "synthetic_correlation": r_syn, "real_association": float("nan"),
            "meets_threshold": bool(meets)}


def _contingency_row(a_r, b_r, a_s, b_s, threshold: float) -> dict:
    score, v_real = contingency_from_codes(a_r, b_r, a_s, b_s), cramers_v_codes(a_r, b_r)
    meets = threshold <= 0 or (not np.isnan(v_real) and v_real > threshold)
    return {"metric": "ContingencySimilarity", "score": score if meets else float("nan"),
            "real_correlation": float("nan"), "synthetic_correlation": float("nan"),
            "real_association": v_real, "meets_threshold": bool(meets)}


def mean_score(rows: list[dict]) -> float:
    """Mean of the rows' scores that exist (NaN when none does)."""
    scores = np.array([r["score"] for r in rows if r.get("meets_threshold", True)], dtype=np.float64)
    scores = scores[~np.isnan(scores)]
    return float(scores.mean()) if scores.size else float("nan")


def fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str], *,
             real_correlation_threshold: float = 0.0,
             real_association_threshold: float = 0.0) -> dict:
    """Column shapes and column pair trends of canonical tables, with their scores and the
    thresholds used (see :func:`describe_thresholds`)."""
    shapes = column_shapes(real, synthetic, kinds)
    pairs = column_pair_trends(real, synthetic, kinds,
                               real_correlation_threshold=real_correlation_threshold,
                               real_association_threshold=real_association_threshold)
    shape_score, pair_score = mean_score(shapes), mean_score(pairs)
    both = np.array([shape_score, pair_score])
    overall = float(np.nanmean(both)) if not np.isnan(both).all() else float("nan")
    return {"score": overall, "column_shapes": shape_score, "column_pair_trends": pair_score,
            "shapes": shapes, "pairs": pairs,
            "thresholds": describe_thresholds(real_correlation_threshold,
                                              real_association_threshold, pairs)}


def thresholds_convention(real_correlation_threshold: float, real_association_threshold: float) -> str:
    """``"sdmetrics"`` (QualityReport's defaults), ``"every_pair"`` (both 0) or ``"custom"``."""
    given = (float(real_correlation_threshold), float(real_association_threshold))
    for name, preset in (("sdmetrics", SDMETRICS_THRESHOLDS), ("every_pair", EVERY_PAIR)):
        if given == (preset["real_correlation_threshold"], preset["real_association_threshold"]):
            return name
    return "custom"


def describe_thresholds(real_correlation_threshold: float, real_association_threshold: float,
                        pairs: list[dict]) -> dict:
    """The thresholds, their convention, and how many of the pairs have a score that counts in
    the column pair trends (those that meet the thresholds and have a score)."""
    counted = sum(bool(p["meets_threshold"]) and not np.isnan(p["score"]) for p in pairs)
    return {"real_correlation": float(real_correlation_threshold),
            "real_association": float(real_association_threshold),
            "convention": thresholds_convention(real_correlation_threshold, real_association_threshold),
            "pairs_counted": int(counted), "pairs": len(pairs)}


def _present(values) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    return v[~np.isnan(v)]
