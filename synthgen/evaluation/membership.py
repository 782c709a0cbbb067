"""Membership inference: can an attacker who sees the synthetic rows tell training rows
(members) from real rows the generator never saw (non-members)?

Two attacks, each scoring candidate rows (equal numbers of members and non-members, drawn
with the seed) and reported as the ROC AUC of telling them apart (0.5: no better than a
coin; 1: every member found):

* **DCR attack**: a candidate closer to its nearest synthetic row is called a member
  (score: minus the distance).
* **Density attack** (a shadow model, as DOMIAS, van Breugel et al., AISTATS 2023): a
  Gaussian kernel density fitted on the synthetic rows against one fitted on reference rows
  (half of the holdout, never used as candidates); a candidate where the synthetic density
  is high relative to the reference density is called a member.  Each bandwidth is half
  the median nearest-neighbour distance among the rows it is fitted on.

Rows are encoded as in :mod:`synthgen.evaluation.privacy` (standardised numbers, one-hot
categories).  Memory is bounded: candidates are scored in chunks against at most
``max_model_rows`` synthetic and reference rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import logsumexp
from scipy.stats import rankdata

from ..errors import InvalidDataError
from ._tables import Encoder

CANDIDATES = 1000
MAX_MODEL_ROWS = 5000
_CHUNK = 256


def roc_auc(scores_pos: np.ndarray, scores_neg: np.ndarray) -> float:
    """ROC AUC of positives scoring above negatives (ties count half): Mann-Whitney U."""
    s = np.concatenate([scores_pos, scores_neg])
    ranks = rankdata(s)
    n1, n0 = len(scores_pos), len(scores_neg)
    return float((ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _sq_dist_chunks(Q: np.ndarray, R: np.ndarray):
    r2 = np.sum(R * R, axis=1)
    for start in range(0, len(Q), _CHUNK):
        q = Q[start:start + _CHUNK]
        yield np.maximum(np.sum(q * q, axis=1)[:, None] + r2[None, :] - 2.0 * q @ R.T, 0.0)


def nearest_distance(Q: np.ndarray, R: np.ndarray) -> np.ndarray:
    return np.concatenate([np.sqrt(d.min(axis=1)) for d in _sq_dist_chunks(Q, R)])


def bandwidth(R: np.ndarray, rng: np.random.Generator, rows: int = 500) -> float:
    """Half the median distance from a row of ``R`` to its nearest other row (on a subsample):
    narrow enough that a kernel on a copied record stands out, as an attacker would want."""
    pick = rng.choice(len(R), min(rows, len(R)), replace=False)
    d2 = next(_sq_dist_chunks(R[pick], R[pick])) if len(pick) <= _CHUNK else np.concatenate(
        list(_sq_dist_chunks(R[pick], R[pick])))
    np.fill_diagonal(d2, np.inf)
    h = 0.5 * float(np.median(np.sqrt(d2.min(axis=1))))
    return h if h > 0 else 1e-3


def kde_log_density(Q: np.ndarray, R: np.ndarray, h: float) -> np.ndarray:
    """Log density of ``Q`` under an isotropic Gaussian KDE of ``R`` with bandwidth ``h``."""
    n, d = R.shape
    out = [logsumexp(-0.5 * dd / h ** 2, axis=1) for dd in _sq_dist_chunks(Q, R)]
    return np.concatenate(out) - np.log(n) - d * np.log(h * np.sqrt(2 * np.pi))


def membership_inference(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame,
                         kinds: dict[str, str], *, seed: int = 0, candidates: int = CANDIDATES,
                         max_model_rows: int = MAX_MODEL_ROWS) -> dict:
    """ROC AUC of the DCR and density attacks, members (training rows) against non-members
    (holdout rows); see the module's description."""
    if len(holdout) < 4 or len(train) < 2:
        raise InvalidDataError(
            f"membership inference needs at least 4 holdout and 2 training rows; got "
            f"{len(holdout)} and {len(train)}")
    rng = np.random.default_rng([seed, 18])
    order = rng.permutation(len(holdout))
    half = len(holdout) // 2
    non_idx, ref_idx = order[:half][:candidates], order[half:][:max_model_rows]
    m = len(non_idx)
    mem_idx = rng.choice(len(train), min(m, len(train)), replace=False)
    enc = Encoder(kinds).fit(train, [synthetic, holdout])
    members = enc.transform(train.iloc[np.sort(mem_idx)])
    non = enc.transform(holdout.iloc[np.sort(non_idx)])
    ref = enc.transform(holdout.iloc[np.sort(ref_idx)])
    syn_pick = rng.choice(len(synthetic), min(len(synthetic), max_model_rows), replace=False)
    syn = enc.transform(synthetic.iloc[np.sort(syn_pick)])
    dcr = roc_auc(-nearest_distance(members, syn), -nearest_distance(non, syn))
    h_syn, h_ref = bandwidth(syn, rng), bandwidth(ref, rng)

    def score(Q):
        return kde_log_density(Q, syn, h_syn) - kde_log_density(Q, ref, h_ref)

    density = roc_auc(score(members), score(non))
    return {"dcr_auc": dcr, "density_auc": density, "n_members": int(len(members)),
            "n_non_members": int(len(non)), "n_reference": int(len(ref)),
            "reading": "ROC AUC of telling training rows from holdout rows; 0.5 = no better than chance"}
