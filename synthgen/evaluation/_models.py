"""Small models for detection and utility: L2 logistic regression, ridge regression, ROC AUC.

Only numpy and scipy are needed.  The logistic regression minimises scikit-learn's
objective, ``1/2 |W|^2 + C sum_i log-loss_i`` with unpenalised intercepts (binary: one
weight vector; more classes: the multinomial model with one weight vector per class), by
Newton-CG with exact Hessian-vector products (a few large matrix products per step, which
stay fast on busy machines where L-BFGS's many small BLAS calls do not); the mean loss is
minimised (same optimum), so tolerances do not depend on ``n``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_softmax, softmax
from scipy.stats import rankdata

MAX_ITER = 200
_OPTIONS = {"maxiter": MAX_ITER, "xtol": 1e-9}


class Logistic(NamedTuple):
    """A fitted logistic regression: ``coef`` ``(d, K)`` (``(d, 1)`` when binary) and ``intercept``."""

    coef: np.ndarray
    intercept: np.ndarray
    n_classes: int


def _binary_loss(theta, X, t, lam):
    w, b = theta[:-1], theta[-1]
    z = X @ w + b
    loss = np.mean(np.logaddexp(0.0, z) - t * z) + 0.5 * lam * (w @ w)
    g = (expit(z) - t) / len(t)
    return loss, np.concatenate([X.T @ g + lam * w, [g.sum()]])


def _binary_hessp(theta, v, X, t, lam):
    s = expit(X @ theta[:-1] + theta[-1])
    su = s * (1.0 - s) * (X @ v[:-1] + v[-1]) / len(t)
    return np.concatenate([X.T @ su + lam * v[:-1], [su.sum()]])


def _multinomial_loss(theta, X, Y, lam):
    d, k = X.shape[1], Y.shape[1]
    W, b = theta[: d * k].reshape(d, k), theta[d * k:]
    Z = X @ W + b
    logp = log_softmax(Z, axis=1)
    loss = -np.mean(np.sum(Y * logp, axis=1)) + 0.5 * lam * np.sum(W * W)
    G = (np.exp(logp) - Y) / len(Y)
    return loss, np.concatenate([(X.T @ G + lam * W).ravel(), G.sum(axis=0)])


def _multinomial_hessp(theta, v, X, Y, lam):
    d, k = X.shape[1], Y.shape[1]
    P = softmax(X @ theta[: d * k].reshape(d, k) + theta[d * k:], axis=1)
    V = v[: d * k].reshape(d, k)
    U = X @ V + v[d * k:]
    R = P * (U - np.sum(P * U, axis=1, keepdims=True)) / len(Y)
    return np.concatenate([(X.T @ R + lam * V).ravel(), R.sum(axis=0)])


def fit_logistic(X: np.ndarray, y: np.ndarray, *, C: float = 1.0, n_classes: int | None = None) -> Logistic:
    """Fit on features ``X`` and integer labels ``y`` in ``[0, n_classes)`` (at least two present)."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    k = int(n_classes if n_classes is not None else y.max() + 1)
    lam = 1.0 / (C * len(y))
    d = X.shape[1]
    if k == 2:
        res = minimize(_binary_loss, np.zeros(d + 1), args=(X, (y == 1).astype(np.float64), lam),
                       jac=True, hessp=_binary_hessp, method="Newton-CG", options=_OPTIONS)
        return Logistic(res.x[:-1, None], res.x[-1:], 2)
    Y = np.eye(k)[y]
    res = minimize(_multinomial_loss, np.zeros(d * k + k), args=(X, Y, lam), jac=True,
                   hessp=_multinomial_hessp, method="Newton-CG", options=_OPTIONS)
    return Logistic(res.x[: d * k].reshape(d, k), res.x[d * k:], k)


def predict_proba(model: Logistic, X: np.ndarray) -> np.ndarray:
    """Class probabilities ``(n, K)``."""
    Z = np.asarray(X, dtype=np.float64) @ model.coef + model.intercept
    if model.n_classes == 2:
        p = expit(Z[:, 0])
        return np.column_stack([1.0 - p, p])
    return softmax(Z, axis=1)


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for the positive labels ``y`` (ties count half).

    NaN when ``y`` holds a single class.
    """
    y = np.asarray(y, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def stratified_folds(y: np.ndarray, n_folds: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Test indices of ``n_folds`` folds, each class shuffled and dealt out round-robin."""
    y = np.asarray(y)
    fold_of = np.empty(len(y), dtype=np.int64)
    offset = 0
    for label in np.unique(y):
        idx = rng.permutation(np.nonzero(y == label)[0])
        fold_of[idx] = (np.arange(len(idx)) + offset) % n_folds
        offset += len(idx)
    return [np.nonzero(fold_of == f)[0] for f in range(n_folds)]


class Ridge(NamedTuple):
    """A fitted ridge regression."""

    coef: np.ndarray
    intercept: float


def fit_ridge(X: np.ndarray, y: np.ndarray, *, alpha: float = 1.0) -> Ridge:
    """``min |y - Xw - b|^2 + alpha |w|^2`` (intercept unpenalised), as scikit-learn's Ridge."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    mx, my = X.mean(axis=0), y.mean()
    Xc = X - mx
    A = Xc.T @ Xc + alpha * np.eye(X.shape[1])
    w = np.linalg.solve(A, Xc.T @ (y - my))
    return Ridge(w, float(my - mx @ w))


def predict_ridge(model: Ridge, X: np.ndarray) -> np.ndarray:
    """Predictions of a ridge regression."""
    return np.asarray(X, dtype=np.float64) @ model.coef + model.intercept


def r2_score(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot`` (NaN for a constant ``y``)."""
    y = np.asarray(y, dtype=np.float64)
    ss_tot = np.sum((y - y.mean()) ** 2)
    if ss_tot == 0:
        return float("nan")
    return float(1.0 - np.sum((y - pred) ** 2) / ss_tot)
