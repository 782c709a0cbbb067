"""Our fidelity numbers agree with SDMetrics' QualityReport on the same data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from conftest import packaged_file
from synthgen import datasets, evaluate
from synthgen.evaluation import EVERY_PAIR, SDMETRICS_THRESHOLDS

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    from sdmetrics.reports.single_table import QualityReport

ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "income",
]


@pytest.fixture(scope="module")
def adult_pair():
    """1,500 real Adult rows and a perturbed copy of other rows (shifted, rescaled, gaps, flips)."""
    df = pd.read_csv(packaged_file("adult"), header=None, names=ADULT_COLUMNS,
                     skipinitialspace=True, na_values="?")
    r = np.random.default_rng(2024)
    real = df.sample(1500, random_state=0).reset_index(drop=True)
    synth = df.sample(1500, random_state=1).reset_index(drop=True)
    synth["age"] = synth["age"] + r.normal(0, 3, len(synth)).round()
    synth["hours-per-week"] = synth["hours-per-week"] * 1.1
    synth.loc[r.random(len(synth)) < 0.1, "workclass"] = None
    synth.loc[r.random(len(synth)) < 0.1, "sex"] = "Female"
    return real, synth


def _metadata(frame: pd.DataFrame) -> dict:
    def sdtype(s):
        if pd.api.types.is_bool_dtype(s.dtype):
            return "boolean"
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            return "datetime"
        return "numerical" if pd.api.types.is_numeric_dtype(s.dtype) else "categorical"

    return {"columns": {c: {"sdtype": sdtype(frame[c])} for c in frame.columns}}


def _sdmetrics(real, synth, thresholds):
    report = QualityReport()
    report.real_correlation_threshold, report.real_association_threshold = thresholds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(real, synth, _metadata(real), verbose=False)
    return report


def _compare(real, synth, thresholds):
    theirs = _sdmetrics(real, synth, thresholds)
    ours = evaluate(real, synth, real_correlation_threshold=thresholds[0],
                    real_association_threshold=thresholds[1]).to_dict()
    props = theirs.get_properties().set_index("Property")["Score"]
    # TVComplement adds 1e-6 to the real count of a value only the synthetic table has.
    assert ours["column_shapes"] == pytest.approx(props["Column Shapes"], abs=1e-8)
    assert ours["column_pair_trends"] == pytest.approx(props["Column Pair Trends"], abs=1e-10)
    assert ours["score"] == pytest.approx(theirs.get_score(), abs=1e-8)
    shapes = theirs.get_details("Column Shapes")
    np.testing.assert_allclose([r["score"] for r in ours["details"]["column_shapes"]],
                               shapes["Score"].to_numpy(float), atol=1e-8)
    assert [r["metric"] for r in ours["details"]["column_shapes"]] == list(shapes["Metric"])
    pairs = theirs.get_details("Column Pair Trends")
    np.testing.assert_allclose([r["score"] for r in ours["details"]["column_pair_trends"]],
                               pairs["Score"].to_numpy(float), atol=1e-10)
    assert [r["metric"] for r in ours["details"]["column_pair_trends"]] == list(pairs["Metric"])
    return ours, pairs


def test_adult_every_pair_counts(adult_pair):
    ours, _ = _compare(*adult_pair, (0.0, 0.0))
    assert 0.8 < ours["score"] < 0.99


def test_adult_with_sdmetrics_default_thresholds(adult_pair):
    ours, pairs = _compare(*adult_pair, (0.5, 0.3))
    assoc = [r["real_association"] for r in ours["details"]["column_pair_trends"]]
    np.testing.assert_allclose(assoc, pairs["Real Association"].to_numpy(float), atol=1e-10)
    assert sum(r["meets_threshold"] for r in ours["details"]["column_pair_trends"]) < len(assoc)


def test_booleans_and_datetimes():
    r = np.random.default_rng(9)

    def frame(n, shift):
        x = r.normal(shift, 1, n)
        return pd.DataFrame({
            "x": x,
            "flag": x + r.normal(size=n) > 0,
            "colour": r.choice(["red", "green", "blue"], n),
            "when": pd.Timestamp("2021-03-01") + pd.to_timedelta(r.integers(0, 400, n) + 30 * x, unit="D"),
        })

    _compare(frame(400, 0.0), frame(300, 0.4), (0.0, 0.0))


# -- defaults: synthgen.evaluate(real, synth) against QualityReport() as it comes ----------------
def _quality_report_as_it_comes(real, synth):
    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(real, synth, _metadata(real), verbose=False)
    return report


def _compare_defaults(real, synth):
    """evaluate() and QualityReport(), neither given a threshold, agree to 1e-6."""
    theirs = _quality_report_as_it_comes(real, synth)
    ours = evaluate(real, synth).to_dict()
    props = theirs.get_properties().set_index("Property")["Score"]
    assert ours["column_shapes"] == pytest.approx(props["Column Shapes"], abs=1e-6)
    assert ours["column_pair_trends"] == pytest.approx(props["Column Pair Trends"], abs=1e-6)
    assert ours["score"] == pytest.approx(theirs.get_score(), abs=1e-6)
    pairs = theirs.get_details("Column Pair Trends")
    assert [r["meets_threshold"] for r in ours["details"]["column_pair_trends"]] == [
        bool(m) for m in pairs["Meets Threshold?"].fillna(False)]
    np.testing.assert_allclose([r["score"] for r in ours["details"]["column_pair_trends"]],
                               pairs["Score"].to_numpy(float), atol=1e-6)
    th = ours["thresholds"]
    assert (th["real_correlation"], th["real_association"]) == (
        theirs.real_correlation_threshold, theirs.real_association_threshold)
    assert th["convention"] == "sdmetrics"
    assert th["pairs_counted"] == int(pairs["Meets Threshold?"].fillna(False).sum())
    assert th["pairs"] == len(pairs)
    return ours, theirs


@pytest.fixture(scope="module")
def adult_loaded():
    """2,000 Adult rows from synthgen.datasets, and 2,000 others with ages shifted and sexes
    flipped."""
    df = datasets.load("adult")
    real = df.sample(2000, random_state=3).reset_index(drop=True)
    synth = df.drop(index=real.index).sample(2000, random_state=4).reset_index(drop=True)
    r = np.random.default_rng(5)
    synth["age"] = synth["age"] + r.integers(-4, 5, len(synth))
    synth.loc[r.random(len(synth)) < 0.15, "sex"] = "Male"
    return real, synth


def _weak_table(r: np.random.Generator, n: int, slope: float, strength: float) -> pd.DataFrame:
    """Mostly weak relationships (|r| near 0.3, small Cramer's V), a few strong ones."""
    x = r.normal(size=n)
    return pd.DataFrame({
        "x": x,
        "weak": slope * x + r.normal(size=n),
        "strong": x + 0.3 * r.normal(size=n),
        "noise": r.gamma(2.0, 1.0, n),
        "shade": np.where(r.random(n) < strength, np.where(x > 0, "dark", "light"),
                          r.choice(["dark", "light", "grey"], n)),
        "sign": np.where(x + 0.2 * r.normal(size=n) > 0, "plus", "minus"),
        "flag": r.random(n) < 0.3 + 0.1 * (x > 0),
        "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(
            r.integers(0, 300, n) + np.round(40 * slope * x), unit="D"),
    })


def test_defaults_agree_with_quality_report_on_adult(adult_loaded):
    ours, _ = _compare_defaults(*adult_loaded)
    assert 0 < ours["thresholds"]["pairs_counted"] < ours["thresholds"]["pairs"]


def test_defaults_agree_with_quality_report_where_thresholds_matter():
    r = np.random.default_rng(21)
    real, synth = _weak_table(r, 800, 0.3, 0.2), _weak_table(r, 700, 0.9, 0.6)
    ours, _ = _compare_defaults(real, synth)
    counted = {(p["column_1"], p["column_2"]) for p in ours["details"]["column_pair_trends"]
               if p["meets_threshold"]}
    assert ("x", "strong") in counted and ("x", "weak") not in counted
    every = evaluate(real, synth, **EVERY_PAIR).to_dict()
    assert every["thresholds"]["convention"] == "every_pair"
    assert every["thresholds"]["pairs_counted"] == len(every["details"]["column_pair_trends"])
    # The weak pairs the synthetic table gets wrong count only when every pair does.
    assert every["column_pair_trends"] < ours["column_pair_trends"] - 0.01
    theirs_every = _sdmetrics(real, synth, (0, 0))
    props = theirs_every.get_properties().set_index("Property")["Score"]
    assert every["column_pair_trends"] == pytest.approx(props["Column Pair Trends"], abs=1e-6)


def test_presets_are_sdmetrics_defaults_and_every_pair():
    report = QualityReport()
    assert dict(SDMETRICS_THRESHOLDS) == {
        "real_correlation_threshold": report.real_correlation_threshold,
        "real_association_threshold": report.real_association_threshold}
    assert dict(EVERY_PAIR) == {"real_correlation_threshold": 0.0, "real_association_threshold": 0.0}
    with pytest.raises(TypeError):
        EVERY_PAIR["real_correlation_threshold"] = 0.5
