"""The small models of detection and utility against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import r2_score as sk_r2
from sklearn.metrics import roc_auc_score

from synthgen.evaluation._models import (
    fit_logistic,
    fit_ridge,
    predict_proba,
    predict_ridge,
    r2_score,
    roc_auc,
    stratified_folds,
)


@pytest.fixture(scope="module")
def data():
    r = np.random.default_rng(1)
    X = r.normal(size=(600, 6))
    X[:, 5] = (X[:, 5] > 0.3).astype(float)  # a 0/1 feature, as after one-hot encoding
    w = r.normal(size=6)
    return X, X @ w + r.normal(size=600)


@pytest.mark.parametrize("C", [1.0, 0.05])
def test_binary_logistic_regression_matches_scikit_learn(data, C):
    X, z = data
    y = (z > 0.2).astype(int)
    ours = predict_proba(fit_logistic(X, y, C=C), X)
    ref = LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_multinomial_logistic_regression_matches_scikit_learn(data):
    X, z = data
    y = np.digitize(z, np.quantile(z, [0.3, 0.6, 0.9]))
    ours = predict_proba(fit_logistic(X, y), X)
    ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(ours, ref, atol=1e-4)
    np.testing.assert_allclose(ours.sum(axis=1), 1.0)


def test_separable_classes_stay_finite():
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0, 0, 1, 1])
    p = predict_proba(fit_logistic(X, y), X)[:, 1]
    ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(X, y).predict_proba(X)[:, 1]
    np.testing.assert_allclose(p, ref, atol=1e-6)


def test_roc_auc_matches_scikit_learn_with_ties():
    r = np.random.default_rng(2)
    y = r.random(500) < 0.3
    score = np.round(r.normal(size=500) + y, 1)
    assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.4])) == 1.0
    assert np.isnan(roc_auc(np.ones(4, bool), np.arange(4.0)))


def test_ridge_and_r2_match_scikit_learn(data):
    X, z = data
    model = fit_ridge(X, z, alpha=1.0)
    ref = Ridge(alpha=1.0).fit(X, z)
    np.testing.assert_allclose(model.coef, ref.coef_, atol=1e-10)
    assert model.intercept == pytest.approx(ref.intercept_, abs=1e-10)
    pred = predict_ridge(model, X)
    assert r2_score(z, pred) == pytest.approx(sk_r2(z, pred), abs=1e-12)


def test_stratified_folds_partition_rows_and_keep_class_shares():
    y = np.array([0] * 50 + [1] * 13 + [2] * 7)
    folds = stratified_folds(y, 3, np.random.default_rng(0))
    together = np.sort(np.concatenate(folds))
    np.testing.assert_array_equal(together, np.arange(len(y)))
    for label, count in [(0, 50), (1, 13), (2, 7)]:
        sizes = [int(np.sum(y[f] == label)) for f in folds]
        assert max(sizes) - min(sizes) <= 1 and sum(sizes) == count
