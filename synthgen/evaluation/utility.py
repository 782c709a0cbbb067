"""Utility: is a model trained on synthetic rows as good, on real rows, as one trained on real rows?

TSTR (train on synthetic, test on real) is compared with TRTR (train on real, test on real)
for one ``target`` column, on the same real test rows: the ``holdout`` table when given,
else a random 30 % of the real table (the rest trains TRTR).  Without a holdout the test
rows were usually seen by the generator too, which flatters TSTR: pass a holdout the
generator never saw for an honest answer.

* Classification (a categorical or boolean target, or a numeric one with at most 10
  distinct integer values): an L2 logistic regression (``C = 1``, multinomial for more than
  two classes); accuracy and ROC AUC (the later class in sorted order is the positive one;
  with more classes, the mean one-vs-rest AUC over the classes in the test rows).
* Regression: ridge regression (``alpha = 1``); the coefficient of determination R^2.

Features are the other columns, encoded as everywhere in the evaluation (numbers
standardised with the real training rows' statistics, categories one-hot).  Rows with no
target value are left out.  The models are linear on purpose: small, deterministic and
dependency-free; they measure the signal a linear model finds, not the best achievable score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InvalidParameterError
from ._models import fit_logistic, fit_ridge, predict_proba, predict_ridge, r2_score, roc_auc
from ._tables import DISCRETE_KINDS, Encoder, discrete_values, numeric_values

TASKS = ("classification", "regression")
MAX_INTEGER_CLASSES = 10
TEST_FRACTION = 0.3


def split_real(real: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A random 70/30 split of the real rows into training and test rows."""
    order = rng.permutation(len(real))
    n_test = int(min(len(real) - 1, max(1, round(TEST_FRACTION * len(real)))))
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    return real.iloc[train].reset_index(drop=True), real.iloc[test].reset_index(drop=True)


def infer_task(series: pd.Series, kind: str) -> str:
    """``classification`` for a discrete column or a numeric one of few integer values."""
    if kind in DISCRETE_KINDS:
        return "classification"
    v = numeric_values(series)
    v = v[~np.isnan(v)]
    if v.size and np.all(v == np.round(v)) and np.unique(v).size <= MAX_INTEGER_CLASSES:
        return "classification"
    return "regression"


def check_task(task) -> str | None:
    """``None`` (inferred) or one of :data:`TASKS`."""
    if task is not None and task not in TASKS:
        raise InvalidParameterError(f"task must be None, 'classification' or 'regression'; got {task!r}")
    return task


def _labels(frames: list[pd.DataFrame], target: str) -> list[np.ndarray]:
    """Integer class codes shared by all tables (sorted by value when the values sort); -1 = gap."""
    values = [discrete_values(f[target]) for f in frames]
    joined = pd.Series(np.concatenate(values), dtype=object)
    try:
        codes, _ = pd.factorize(joined, sort=True)
    except TypeError:
        codes, _ = pd.factorize(joined)
    bounds = np.cumsum([0] + [len(v) for v in values])
    return [codes[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _class_probabilities(X, y, X_test, n_classes: int) -> np.ndarray:
    """Probabilities over all ``n_classes`` (0 for classes absent from the training rows)."""
    present = np.unique(y)
    out = np.zeros((len(X_test), n_classes))
    if present.size == 1:
        out[:, present[0]] = 1.0
        return out
    local = np.searchsorted(present, y)
    model = fit_logistic(X, local, n_classes=present.size)
    out[:, present] = predict_proba(model, X_test)
    return out


def _classification_metrics(proba: np.ndarray, y_test: np.ndarray) -> dict:
    accuracy = float(np.mean(np.argmax(proba, axis=1) == y_test))
    classes = np.unique(y_test)
    if classes.size < 2:
        auc = float("nan")
    elif classes.size == 2:
        auc = roc_auc(y_test == classes[1], proba[:, classes[1]])
    else:
        auc = float(np.mean([roc_auc(y_test == c, proba[:, c]) for c in classes]))
    return {"accuracy": accuracy, "roc_auc": auc}


def _present(X: np.ndarray, y: np.ndarray, missing) -> tuple[np.ndarray, np.ndarray]:
    keep = ~missing
    return X[keep], y[keep]


def utility(train: pd.DataFrame, synthetic: pd.DataFrame, test: pd.DataFrame, target: str,
            kinds: dict[str, str], *, task: str | None = None, test_set: str = "holdout") -> dict:
    """TSTR against TRTR for ``target``, tested on the real ``test`` rows (canonical tables)."""
    task = check_task(task) or infer_task(train[target], kinds[target])
    features = {c: k for c, k in kinds.items() if c != target}
    frames = [train, synthetic, test]
    if features:
        enc = Encoder(features).fit(train, [synthetic, test])
        Xs = [enc.transform(f) for f in frames]
    else:
        Xs = [np.zeros((len(f), 0)) for f in frames]
    if task == "classification":
        ys = _labels(frames, target)
        n_classes = int(max(int(y.max()) for y in ys) + 1)
        data = [_present(X, y, y < 0) for X, y in zip(Xs, ys)]
    else:
        ys = [numeric_values(f[target]) for f in frames]
        data = [_present(X, y, np.isnan(y)) for X, y in zip(Xs, ys)]
    (X_tr, y_tr), (X_sy, y_sy), (X_te, y_te) = data
    result = {"target": target, "task": task, "test_set": test_set,
              "n_rows": {"train_real": int(len(y_tr)), "synthetic": int(len(y_sy)),
                         "test": int(len(y_te))}}
    if min(len(y_tr), len(y_sy), len(y_te)) == 0:
        return {**result, "model": None, "metrics": {}}
    if task == "classification":
        trtr = _classification_metrics(_class_probabilities(X_tr, y_tr, X_te, n_classes), y_te)
        tstr = _classification_metrics(_class_probabilities(X_sy, y_sy, X_te, n_classes), y_te)
        model = "logistic regression (L2, C=1)"
    else:
        trtr = {"r2": r2_score(y_te, predict_ridge(fit_ridge(X_tr, y_tr), X_te))}
        tstr = {"r2": r2_score(y_te, predict_ridge(fit_ridge(X_sy, y_sy), X_te))}
        model = "ridge regression (alpha=1)"
    metrics = {name: {"tstr": tstr[name], "trtr": trtr[name]} for name in trtr}
    return {**result, "model": model, "metrics": metrics}
