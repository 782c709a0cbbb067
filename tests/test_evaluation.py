"""synthgen.evaluate end to end: inputs, errors, the Report's forms, detection, utility, plots."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import synthgen
from synthgen import InvalidDataError, InvalidParameterError, NotFittedError, evaluate
from synthgen.evaluation import EVERY_PAIR, MissingDependencyError, Report, plot_bic_curve, plot_latent
from synthgen.evaluation.plots import bic_points

PNG = b"\x89PNG\r\n\x1a\n"


def _frame(r: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    x = r.normal(shift, 1.0, n)
    frame = pd.DataFrame({
        "x": x,
        "y": 0.8 * x + 0.6 * r.normal(size=n),
        "colour": r.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2]),
        "flag": x + r.normal(size=n) > 0,
        "day": pd.Timestamp("2022-01-01") + pd.to_timedelta(r.integers(0, 365, n), unit="D"),
    })
    frame.loc[r.random(n) < 0.05, "y"] = np.nan
    frame.loc[r.random(n) < 0.05, "colour"] = None
    return frame


@pytest.fixture(scope="module")
def report():
    r = np.random.default_rng(0)
    return evaluate(_frame(r, 500), _frame(r, 400), holdout=_frame(r, 200), target="flag")


def test_report_dict_has_every_part(report):
    d = report.to_dict()
    assert isinstance(d["column_shapes"], float) and isinstance(d["column_pair_trends"], float)
    assert d["score"] == pytest.approx((d["column_shapes"] + d["column_pair_trends"]) / 2)
    assert [r["column"] for r in d["details"]["column_shapes"]] == ["x", "y", "colour", "flag", "day"]
    assert len(d["details"]["column_pair_trends"]) == 10
    assert d["columns"] == {"x": "continuous", "y": "continuous", "colour": "categorical",
                            "flag": "boolean", "day": "datetime"}
    assert d["utility"]["task"] == "classification" and d["utility"]["test_set"] == "holdout"
    assert set(d["utility"]["metrics"]) == {"accuracy", "roc_auc"}
    assert d["privacy"]["baseline"] == "holdout"
    assert d["n_rows"] == {"real": 500, "synthetic": 400, "holdout": 200}
    assert report.score == d["score"] and report.column_shapes == d["column_shapes"]
    d["score"] = -1.0
    assert report.score != -1.0  # to_dict is a copy


def test_same_distribution_scores_high_and_is_hard_to_detect(report):
    d = report.to_dict()
    assert d["score"] > 0.85
    assert 0.35 < d["detection"]["auc"] < 0.65
    det = d["detection"]
    assert det["score"] == pytest.approx(1 - np.mean([2 * max(a, 0.5) - 1 for a in det["fold_aucs"]]))
    util = d["utility"]["metrics"]
    assert abs(util["accuracy"]["tstr"] - util["accuracy"]["trtr"]) < 0.1
    assert util["roc_auc"]["trtr"] > 0.7


def test_json_is_valid_and_missing_scores_are_null(tmp_path):
    r = np.random.default_rng(1)
    real = pd.DataFrame({"a": r.normal(size=50), "k": np.full(50, 3.0)})  # a constant column
    rep = evaluate(real, real.assign(a=r.normal(size=50)))
    text = rep.to_json()
    parsed = json.loads(text)
    assert parsed["details"]["column_pair_trends"][0]["score"] is None
    assert "NaN" not in text
    path = tmp_path / "report.json"
    assert rep.to_json(path) == text
    assert json.loads(path.read_text()) == parsed


def test_printing(report, capsys):
    text = str(report)
    for phrase in ("fidelity score", "column shapes", "detection ROC AUC", "exact copies",
                   "Column pair trends", "colour"):
        assert phrase in text
    print(report)
    assert "fidelity score" in capsys.readouterr().out
    report.show()
    assert "NNDR median" in capsys.readouterr().out
    assert repr(report).startswith("Report(score=")
    assert hasattr(report, "__rich__")


def test_report_says_which_pairs_count(report, tmp_path):
    th = report.to_dict()["thresholds"]
    assert (th["real_correlation"], th["real_association"], th["convention"]) == (0.5, 0.3, "sdmetrics")
    pairs = report.to_dict()["details"]["column_pair_trends"]
    counted = [p for p in pairs if p["meets_threshold"] and not np.isnan(p["score"])]
    assert th["pairs_counted"] == len(counted) and 0 < len(counted) < th["pairs"] == len(pairs)
    assert report.column_pair_trends == pytest.approx(np.mean([p["score"] for p in counted]))
    assert json.loads(report.to_json())["thresholds"] == th
    assert f"{len(counted)} of {len(pairs)}" in str(report) and "(SDMetrics)" in str(report)
    r = np.random.default_rng(0)
    every = evaluate(_frame(r, 300), _frame(r, 300), **EVERY_PAIR)
    assert every.to_dict()["thresholds"]["convention"] == "every_pair"
    assert "thresholds 0: every pair" in str(every)
    custom = evaluate(_frame(r, 300), _frame(r, 300), real_correlation_threshold=0.2)
    assert custom.to_dict()["thresholds"]["convention"] == "custom"
    assert "real |r| > 0.2, V > 0.3" in str(custom) and "(SDMetrics)" not in str(custom)
    page = report.to_html(tmp_path / "report.html")
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == page
    assert page.startswith("<!DOCTYPE html>") and f"{th['pairs_counted']} of {th['pairs']}" in page


def test_shifted_data_is_detected_and_scores_lower():
    r = np.random.default_rng(2)
    real = _frame(r, 400)
    good = evaluate(real, _frame(r, 400)).to_dict()
    bad = evaluate(real, _frame(r, 400, shift=1.5)).to_dict()
    assert bad["detection"]["auc"] > 0.75 and bad["detection"]["score"] < 0.5
    assert bad["column_shapes"] < good["column_shapes"] - 0.1
    assert bad["score"] < good["score"]


def test_utility_without_a_holdout_and_with_broken_labels():
    r = np.random.default_rng(3)
    real, synth = _frame(r, 600), _frame(r, 600)
    broken = synth.assign(flag=~synth["flag"])  # the relationship turned round
    ok = evaluate(real, synth, target="flag").to_dict()["utility"]
    bad = evaluate(real, broken, target="flag").to_dict()["utility"]
    assert ok["test_set"].startswith("random 30%") and ok["n_rows"]["test"] == 180
    assert ok["metrics"]["roc_auc"]["tstr"] > 0.75
    assert bad["metrics"]["roc_auc"]["tstr"] < 0.5 < bad["metrics"]["roc_auc"]["trtr"]
    assert bad["metrics"]["accuracy"]["tstr"] < 0.5 < bad["metrics"]["accuracy"]["trtr"]
    assert bad["metrics"]["roc_auc"]["trtr"] == ok["metrics"]["roc_auc"]["trtr"]


def test_regression_and_multiclass_targets():
    r = np.random.default_rng(4)
    real, synth = _frame(r, 500), _frame(r, 500)
    reg = evaluate(real, synth, target="x").to_dict()["utility"]
    assert reg["task"] == "regression" and set(reg["metrics"]) == {"r2"}
    assert reg["metrics"]["r2"]["trtr"] > 0.3
    assert abs(reg["metrics"]["r2"]["tstr"] - reg["metrics"]["r2"]["trtr"]) < 0.15
    multi = evaluate(real, synth, target="colour").to_dict()["utility"]
    assert multi["task"] == "classification"
    assert 0 <= multi["metrics"]["accuracy"]["tstr"] <= 1
    forced = evaluate(real, synth, target="x", task="classification").to_dict()["utility"]
    assert forced["task"] == "classification"


def test_numpy_arrays_and_column_order():
    r = np.random.default_rng(5)
    a, b = r.normal(size=(200, 3)), r.normal(size=(150, 3))
    d = evaluate(a, b).to_dict()
    assert list(d["columns"]) == ["x0", "x1", "x2"]
    frame = pd.DataFrame(a, columns=["p", "q", "s"])
    reordered = pd.DataFrame(b, columns=["p", "q", "s"])[["s", "p", "q"]]
    e = evaluate(frame, reordered)
    f = evaluate(frame, b)  # an array takes the real table's names
    assert e.to_json() == f.to_json()
    assert list(e.to_dict()["columns"]) == ["p", "q", "s"]


def test_lists_of_strings_are_tables_of_character_positions():
    real = ["AB12 CDE", "AB13 CDF", "XY12 CDE", "AB12 CDE"]
    synth = ["AB12 CDE", "XY99 ZZZ", "AB1"]
    d = evaluate(real, synth).to_dict()
    assert list(d["columns"]) == [f"char_{i}" for i in range(8)]
    shapes = {r["column"]: r["score"] for r in d["details"]["column_shapes"]}
    # Position 0: real A,A,X,A; synthetic A,X,A -> TV = (|3/4 - 2/3| + |1/4 - 1/3|) / 2 = 1/12.
    assert shapes["char_0"] == pytest.approx(11 / 12)
    assert d["privacy"]["exact_copies"]["n_synthetic"] == 1


def test_bad_inputs_name_what_is_wrong():
    r = np.random.default_rng(6)
    real = _frame(r, 50)
    with pytest.raises(InvalidDataError, match="missing flag"):
        evaluate(real, real.drop(columns="flag"))
    with pytest.raises(InvalidDataError, match="not in the real data: extra"):
        evaluate(real, real.assign(extra=1))
    with pytest.raises(InvalidDataError, match="empty"):
        evaluate(real, real.iloc[:0])
    with pytest.raises(InvalidDataError, match="Series"):
        evaluate(real["x"], real)
    with pytest.raises(InvalidDataError, match="reshape"):
        evaluate(np.arange(5.0), np.arange(5.0))
    with pytest.raises(InvalidDataError, match="column 'x' of the synthetic data"):
        evaluate(real, real.assign(x="text"))
    with pytest.raises(InvalidParameterError, match="target must be a column"):
        evaluate(real, real, target="nope")
    with pytest.raises(InvalidParameterError, match="task must be"):
        evaluate(real, real, target="x", task="ranking")
    with pytest.raises(InvalidParameterError, match="real_correlation_threshold must be"):
        evaluate(real, real, real_correlation_threshold=2)
    with pytest.raises(InvalidParameterError, match="seed"):
        evaluate(real, real, seed=-1)
    with pytest.raises(InvalidDataError, match="at least 2 real rows"):
        evaluate(real.iloc[:1], real)


def test_same_seed_same_report():
    r = np.random.default_rng(7)
    real, synth = _frame(r, 200), _frame(r, 200)
    assert evaluate(real, synth, target="flag", seed=3).to_json() == evaluate(
        real, synth, target="flag", seed=3).to_json()


def test_lazy_top_level_name():
    assert synthgen.evaluate is evaluate


# -- plots ----------------------------------------------------------------------------------------
def test_report_plot_writes_a_png(report, tmp_path):
    path = report.plot(tmp_path / "report.png")
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 20_000
    assert [p.name for p in tmp_path.iterdir()] == ["report.png"]


def test_missing_matplotlib_names_the_extra(report, tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match=r"pip install synthgen\[plot\]") as info:
        report.plot(tmp_path / "r.png")
    assert isinstance(info.value, ImportError) and isinstance(info.value, synthgen.SynthgenError)
    assert not (tmp_path / "r.png").exists()


def test_a_report_without_data_cannot_plot(report, tmp_path):
    with pytest.raises(InvalidDataError, match="no data to plot"):
        Report(report.to_dict()).plot(tmp_path / "r.png")


def test_bic_curves_in_each_accepted_shape():
    counts, bic = bic_points({3: 9.0, 1: 10.0, 2: 5.0})
    np.testing.assert_array_equal(counts, [1, 2, 3])
    np.testing.assert_array_equal(bic[:, 0], [10.0, 5.0, 9.0])
    counts, bic = bic_points({"n_components": [1, 2], "bic": [[4.0, 5.0], [3.0, 2.0]]})
    assert bic.shape == (2, 2)
    counts, bic = bic_points(np.array([[2, 7.0], [1, 8.0]]))
    np.testing.assert_array_equal(counts, [1, 2])
    with pytest.raises(InvalidDataError, match="BIC"):
        bic_points(np.arange(3.0))


def test_plot_bic_curve(tmp_path):
    gmm = SimpleNamespace(params_=object(), bic_curve_={1: 120.0, 2: 80.5, 3: 95.0, 4: 101.0})
    path = plot_bic_curve(gmm, tmp_path / "bic.png")
    assert path.read_bytes().startswith(PNG)
    with pytest.raises(InvalidParameterError, match="n_components='bic'"):
        plot_bic_curve(SimpleNamespace(params_=object()), tmp_path / "x.png")
    with pytest.raises(NotFittedError):
        plot_bic_curve(SimpleNamespace(), tmp_path / "x.png")


class _LinearEncoder:
    """A fitted encoder in the VAE's shape: ``encode(data) -> (mean, log_var)``."""

    def __init__(self, latent_dim: int):
        self.W = np.random.default_rng(latent_dim).normal(size=(2, latent_dim))

    def encode(self, data):
        X = data[["x", "y"]].fillna(0.0).to_numpy()
        return X @ self.W, np.full((len(X), self.W.shape[1]), -1.0)


@pytest.mark.parametrize("latent_dim, color_by", [(1, None), (2, "colour"), (5, "x")])
def test_plot_latent(tmp_path, latent_dim, color_by):
    data = _frame(np.random.default_rng(8), 300)
    path = plot_latent(_LinearEncoder(latent_dim), data, tmp_path / "latent.png", color_by=color_by)
    assert path.read_bytes().startswith(PNG)


def test_plot_latent_checks_color_by(tmp_path):
    data = _frame(np.random.default_rng(9), 50)
    with pytest.raises(InvalidParameterError, match="color_by must be a column"):
        plot_latent(_LinearEncoder(2), data, tmp_path / "l.png", color_by="nope")
    with pytest.raises(InvalidParameterError, match="one value per row"):
        plot_latent(_LinearEncoder(2), data, tmp_path / "l.png", color_by=np.arange(3))
