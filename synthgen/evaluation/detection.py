"""Detection: can a classifier tell synthetic rows from real ones?

Real rows are labelled 0 and synthetic rows 1, both encoded as the evaluation encodes
every table (numbers standardised with the real table's mean and standard deviation,
categories one-hot, gaps flagged).  An L2 logistic regression (``C = 1``) is trained and
tested in stratified k-fold cross-validation (3 folds), and each fold's ROC AUC is taken on
its held-out rows.

* ``auc`` is the mean held-out AUC: 0.5 when the classifier cannot tell the tables apart,
  1.0 when it always can.  It is reported as measured, not as ``max(AUC, 1 - AUC)``: a
  held-out AUC below 0.5 is noise around 0.5 (the model learnt nothing that carries over),
  not evidence that the tables differ, and folding it up would bias the metric upwards.
* ``score`` is SDMetrics' LogisticDetection convention, ``1 - mean_k(2 max(AUC_k, 0.5) - 1)``:
  1 for indistinguishable tables, 0 for perfectly separable ones.

Large tables are subsampled to ``max_rows`` rows each (seeded) before fitting.
"""

from __future__ import annotations

import numpy as np

from ._models import fit_logistic, predict_proba, roc_auc, stratified_folds

N_FOLDS = 3
MAX_ROWS = 50_000


def _subsample(X: np.ndarray, max_rows: int, rng: np.random.Generator) -> np.ndarray:
    if len(X) <= max_rows:
        return X
    return X[np.sort(rng.choice(len(X), max_rows, replace=False))]


def detection(real_X: np.ndarray, synthetic_X: np.ndarray, *, seed: int = 0,
              n_folds: int = N_FOLDS, max_rows: int = MAX_ROWS, C: float = 1.0) -> dict:
    """Cross-validated ROC AUC of a logistic regression telling encoded real from synthetic rows."""
    rng = np.random.default_rng(seed)
    real_X = _subsample(real_X, max_rows, rng)
    synthetic_X = _subsample(synthetic_X, max_rows, rng)
    X = np.concatenate([real_X, synthetic_X])
    y = np.concatenate([np.zeros(len(real_X), np.int64), np.ones(len(synthetic_X), np.int64)])
    k = int(min(n_folds, len(real_X), len(synthetic_X)))
    aucs = []
    if k >= 2:
        for test in stratified_folds(y, k, rng):
            train = np.ones(len(y), dtype=bool)
            train[test] = False
            model = fit_logistic(X[train], y[train], C=C, n_classes=2)
            aucs.append(roc_auc(y[test] == 1, predict_proba(model, X[test])[:, 1]))
    aucs_arr = np.asarray(aucs, dtype=np.float64)
    auc = float(aucs_arr.mean()) if aucs_arr.size else float("nan")
    score = float(1.0 - np.mean(2.0 * np.maximum(aucs_arr, 0.5) - 1.0)) if aucs_arr.size else float("nan")
    return {
        "model": f"logistic regression (L2, C={C:g})",
        "n_folds": k,
        "n_rows": {"real": int(len(real_X)), "synthetic": int(len(synthetic_X))},
        "auc": auc,
        "fold_aucs": [float(a) for a in aucs_arr],
        "score": score,
    }
