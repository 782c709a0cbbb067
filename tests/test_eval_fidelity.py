"""Fidelity metrics: hand-computed cases, scipy references, and an independent implementation of
SDMetrics' definitions (KS/TV complements, correlation and contingency similarity)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp, pearsonr
from scipy.stats.contingency import association

from synthgen.evaluation._tables import align
from synthgen.evaluation.fidelity import (
    column_pair_trends,
    contingency_similarity,
    cramers_v,
    discretise,
    fidelity,
    ks_complement,
    tv_complement,
)


def test_ks_complement_by_hand():
    # CDFs differ by 0.5 at 2, 3 and 4: D = 0.5.
    assert ks_complement(np.array([1.0, 2, 3, 4]), np.array([3.0, 4, 5, 6])) == pytest.approx(0.5)
    # Gaps are left out; identical values give 1.
    assert ks_complement(np.array([1.0, np.nan, 2.0]), np.array([2.0, 1.0])) == 1.0
    assert np.isnan(ks_complement(np.array([np.nan]), np.array([1.0])))


def test_ks_complement_matches_scipy_with_ties():
    r = np.random.default_rng(7)
    a = r.integers(0, 12, 300).astype(float)
    b = r.integers(0, 14, 170).astype(float) + r.normal(0, 1, 170).round(1)
    assert ks_complement(a, b) == pytest.approx(1 - ks_2samp(a, b).statistic, abs=1e-12)


def test_tv_complement_by_hand():
    real = np.array(["a", "a", "b", np.nan], dtype=object)
    synth = np.array(["a", "b", "b", "c"], dtype=object)
    # p = (2/3, 1/3, 0), q = (1/4, 1/2, 1/4): TV = (5/12 + 2/12 + 3/12) / 2 = 5/12.
    assert tv_complement(real, synth) == pytest.approx(7 / 12)


def test_correlation_and_contingency_pairs_by_hand():
    real = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [2.0, 4, 6, 8],
                         "a": ["a", "a", "b", "b"], "b": ["x", "x", "y", None]})
    synth = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [8.0, 6, 4, 2],
                          "a": ["a", "b", "b", "b"], "b": ["x", "x", "y", "y"]})
    t = align(real, synth)
    pairs = {(p["column_1"], p["column_2"]): p for p in column_pair_trends(t.real, t.synthetic, t.kinds)}
    xy = pairs[("x", "y")]
    assert xy["metric"] == "CorrelationSimilarity"
    assert xy["real_correlation"] == pytest.approx(1.0) and xy["synthetic_correlation"] == pytest.approx(-1.0)
    assert xy["score"] == pytest.approx(0.0)
    # P_real: (a,x) .5, (b,y) .25, (b,gap) .25; P_synth: (a,x) .25, (b,x) .25, (b,y) .5.
    ab = pairs[("a", "b")]
    assert ab["metric"] == "ContingencySimilarity" and ab["score"] == pytest.approx(0.5)


def test_gaps_in_a_correlation_pair_drop_the_row_and_constant_columns_give_no_score():
    real = pd.DataFrame({"x": [1.0, 2, 3, np.nan], "y": [1.0, 2, 3, 100], "c": [5.0, 5, 5, 5]})
    synth = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [1.0, 2, 3, 4], "c": [1.0, 2, 3, 4]})
    t = align(real, synth)
    rows = {(p["column_1"], p["column_2"]): p for p in column_pair_trends(t.real, t.synthetic, t.kinds)}
    assert rows[("x", "y")]["score"] == pytest.approx(1.0)
    assert np.isnan(rows[("x", "c")]["score"]) and np.isnan(rows[("y", "c")]["score"])
    result = fidelity(t.real, t.synthetic, t.kinds)
    assert result["column_pair_trends"] == pytest.approx(1.0)  # the pairs with no score are left out


def test_discretise_uses_ten_equal_width_bins_of_its_own_range():
    values = np.array([0.0, 0.5, 1.0, 9.99, 10.0, np.nan])
    codes = discretise(values)
    edges = np.histogram_bin_edges(values[:-1], bins=10)
    np.testing.assert_array_equal(codes[:-1], np.digitize(values[:-1], edges))
    assert codes[-1] == 12 and codes[-1] not in codes[:-1]
    # Each table is cut on its own range, as SDMetrics does: a shifted copy keeps its contingencies.
    r = np.random.default_rng(0)
    real = pd.DataFrame({"x": r.normal(size=200), "g": r.choice(["u", "v"], 200)})
    shifted = real.assign(x=real["x"] + 100.0)
    t = align(real, shifted)
    res = fidelity(t.real, t.synthetic, t.kinds)
    assert res["pairs"][0]["score"] == pytest.approx(1.0)
    assert res["shapes"][0]["score"] == pytest.approx(0.0)


def test_cramers_v_matches_scipy():
    r = np.random.default_rng(3)
    a = r.choice(list("abcd"), 500)
    b = np.where(r.random(500) < 0.6, np.char.upper(a), r.choice(list("ABCDE"), 500))
    table = pd.crosstab(a, b).to_numpy()
    assert cramers_v(a.astype(object), b.astype(object)) == pytest.approx(
        association(table, method="cramer"), abs=1e-12)
    assert np.isnan(cramers_v(np.array(["a"] * 5, dtype=object), np.array(list("abcde"), dtype=object)))


def test_thresholds_keep_only_strong_real_relationships():
    r = np.random.default_rng(11)
    x = r.normal(size=400)
    real = pd.DataFrame({"x": x, "y": x + 0.3 * r.normal(size=400), "z": r.normal(size=400),
                         "g": np.where(x > 0, "p", "n"), "h": r.choice(["s", "t"], 400)})
    synth = real.sample(frac=1, random_state=1).reset_index(drop=True)
    synth["z"] = r.normal(size=400)
    t = align(real, synth)
    every = fidelity(t.real, t.synthetic, t.kinds)
    strong = fidelity(t.real, t.synthetic, t.kinds, real_correlation_threshold=0.5,
                      real_association_threshold=0.3)
    assert all(p["meets_threshold"] for p in every["pairs"])
    kept = [p for p in strong["pairs"] if p["meets_threshold"]]
    assert {(p["column_1"], p["column_2"]) for p in kept} >= {("x", "y"), ("x", "g")}
    assert not any(p["column_2"] == "z" or p["column_1"] == "z" for p in kept)
    assert all(np.isnan(p["score"]) for p in strong["pairs"] if not p["meets_threshold"])
    assert strong["column_pair_trends"] == pytest.approx(np.mean([p["score"] for p in kept]))
    assert every["score"] == pytest.approx((every["column_shapes"] + every["column_pair_trends"]) / 2)


# -- an independent, straightforward implementation of SDMetrics' definitions ----------------------
def _reference_shape(r: pd.Series, s: pd.Series, kind: str) -> float:
    r, s = r.dropna(), s.dropna()
    if kind in ("continuous", "datetime"):
        return 1 - ks_2samp(r.to_numpy(float).round(14), s.to_numpy(float).round(14)).statistic
    p, q = r.value_counts(normalize=True), s.value_counts(normalize=True)
    idx = p.index.union(q.index)
    return 1 - 0.5 * (p.reindex(idx, fill_value=0) - q.reindex(idx, fill_value=0)).abs().sum()


def _reference_bins(x: pd.Series) -> pd.Series:
    edges = np.histogram_bin_edges(x.dropna(), bins=10)
    return pd.Series(np.where(x.isna(), -1, np.digitize(x.fillna(0), edges)))


def _reference_pair(r: pd.DataFrame, s: pd.DataFrame, kinds: dict) -> float:
    c1, c2 = r.columns
    cont = [c for c in (c1, c2) if kinds[c] in ("continuous", "datetime")]
    if len(cont) == 2:
        rr, ss = r.dropna(), s.dropna()
        return 1 - abs(pearsonr(rr[c1], rr[c2])[0] - pearsonr(ss[c1], ss[c2])[0]) / 2
    r = r.astype(object).assign(**{c: _reference_bins(r[c].astype(float)) for c in cont})
    s = s.astype(object).assign(**{c: _reference_bins(s[c].astype(float)) for c in cont})
    p = r.groupby([c1, c2], dropna=False).size() / len(r)
    q = s.groupby([c1, c2], dropna=False).size() / len(s)
    idx = p.index.union(q.index)
    return 1 - 0.5 * (p.reindex(idx, fill_value=0) - q.reindex(idx, fill_value=0)).abs().sum()


def _mixed_frame(r: np.random.Generator, n: int) -> pd.DataFrame:
    x = r.normal(size=n)
    frame = pd.DataFrame({
        "x": x,
        "y": 2 * x + r.normal(size=n),
        "k": r.integers(0, 5, n),
        "c": pd.Series(r.choice(["red", "green", "blue"], n)).where(r.random(n) > 0.1),
        "flag": x + r.normal(size=n) > 0,
        "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(r.integers(0, 900, n), unit="D"),
    })
    frame.loc[r.random(n) < 0.1, "y"] = np.nan
    return frame


def test_agrees_with_an_independent_implementation_of_the_definitions():
    r = np.random.default_rng(5)
    real, synth = _mixed_frame(r, 300), _mixed_frame(r, 250)
    synth["x"] = synth["x"] * 1.3
    t = align(real, synth)
    res = fidelity(t.real, t.synthetic, t.kinds)
    for row in res["shapes"]:
        c = row["column"]
        assert row["score"] == pytest.approx(_reference_shape(t.real[c], t.synthetic[c], t.kinds[c]), abs=1e-12)
    pairs = {(p["column_1"], p["column_2"]): p["score"] for p in res["pairs"]}
    for c1, c2 in itertools.combinations(t.kinds, 2):
        ref = _reference_pair(t.real[[c1, c2]], t.synthetic[[c1, c2]], t.kinds)
        assert pairs[(c1, c2)] == pytest.approx(ref, abs=1e-12), (c1, c2)
    assert contingency_similarity(*(np.array(["a", "b"], dtype=object),) * 4)[0] == 1.0


def test_a_column_with_a_range_too_narrow_for_ten_bins_is_one_bin():
    import numpy as np

    from synthgen.evaluation.fidelity import discretise

    codes = discretise(np.array([1.0, 1.0 + 1e-15, np.nan, 1.0]))
    assert codes[0] == codes[3] and codes[2] != codes[0]
    assert len(set(codes[[0, 1, 3]])) <= 2
