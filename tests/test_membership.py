"""Membership-inference attacks: AUC against scikit-learn, and the attacks' two extremes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

import synthgen
from synthgen import datasets
from synthgen.cli.app import app
from synthgen.evaluation.membership import kde_log_density, membership_inference, roc_auc

KINDS = {"a": "continuous", "b": "continuous", "c": "categorical"}


def _table(rng, n):
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                         "c": rng.choice(["x", "y", "z"], n)})


def test_roc_auc_equals_scikit_learn_with_ties():
    rng = np.random.default_rng(0)
    pos, neg = rng.integers(0, 5, 60).astype(float), rng.integers(0, 6, 80).astype(float)
    expected = roc_auc_score(np.r_[np.ones(60), np.zeros(80)], np.r_[pos, neg])
    assert roc_auc(pos, neg) == pytest.approx(expected, abs=1e-12)


def test_kde_log_density_equals_scipy_with_the_same_bandwidth():
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(1)
    R, Q = rng.normal(size=(30, 2)), rng.normal(size=(5, 2))
    h = 0.3
    ref = np.log(np.mean([multivariate_normal(r, h * h * np.eye(2)).pdf(Q) for r in R], axis=0))
    np.testing.assert_allclose(kde_log_density(Q, R, h), ref, rtol=1e-8)


def test_copies_of_the_training_rows_are_found_and_fresh_rows_are_not():
    rng = np.random.default_rng(2)
    train, holdout = _table(rng, 600), _table(rng, 800)
    leaked = membership_inference(train, train.copy(), holdout, KINDS, seed=0)
    # the DCR attack finds every copy; the smoothed density attack is weaker on them, still well above chance
    assert leaked["dcr_auc"] > 0.95 and leaked["density_auc"] > 0.65
    fresh = membership_inference(train, _table(rng, 600), holdout, KINDS, seed=0)
    # independent rows from the same law carry no membership signal: AUC within noise of 0.5
    assert abs(fresh["dcr_auc"] - 0.5) < 0.1 and abs(fresh["density_auc"] - 0.5) < 0.1


def test_evaluate_reports_attacks_and_the_model_privacy_record(tmp_path):
    df = datasets.load("adult")[["age", "sex", "hours-per-week", "income"]].iloc[:1500]
    train, holdout = df.iloc[:1000].reset_index(drop=True), df.iloc[1000:].reset_index(drop=True)
    train.to_csv(tmp_path / "train.csv", index=False)
    holdout.to_csv(tmp_path / "holdout.csv", index=False)
    runner = CliRunner()
    env = {"SYNTHGEN_QUIET": "1"}
    res = runner.invoke(app, ["fit", str(tmp_path / "train.csv"), "-m", "gaussian", "--epsilon",
                              "1", "--delta", "1e-6", "-o", str(tmp_path / "m.sgm")], env=env)
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["sample", "--from", str(tmp_path / "m.sgm"), "-n", "1000", "--seed", "1",
                              "-o", str(tmp_path / "syn.csv")], env=env)
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["evaluate", str(tmp_path / "train.csv"), str(tmp_path / "syn.csv"),
                              "--holdout", str(tmp_path / "holdout.csv"), "--from",
                              str(tmp_path / "m.sgm"), "--json", str(tmp_path / "r.json")], env=env)
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["differential_privacy"]["epsilon"] == 1.0
    assert 0.0 <= report["membership_inference"]["dcr_auc"] <= 1.0
    assert "membership attack AUC" in res.output and "differential privacy" in res.output
    res = runner.invoke(app, ["fit", str(tmp_path / "train.csv"), "-m", "gaussian", "--epsilon",
                              "1", "-o", str(tmp_path / "m2.sgm")], env=env)
    assert res.exit_code == 2 and "delta must be set" in res.output
