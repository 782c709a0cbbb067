"""Calibrated decoding of flags and one-hot groups.

A generator that models every feature as continuous (a Gaussian, a Gaussian mixture)
does not produce exact 0/1 flags or one-hot rows: it produces values spread around
them.  Read with a fixed 0.5 threshold, such a flag comes back *less* often than it
was set when it is rare (a flag set in 2% of rows is modelled as roughly N(0.02, 0.14^2)
and almost never exceeds 0.5); read with a plain argmax, a one-hot group favours its
frequent categories and starves the rare ones.

Calibrated decoding corrects this: each flag gets the threshold, and each one-hot group
the offsets added before the argmax, under which a Gaussian with the feature's training
mean and covariance gives back the training frequencies.  The threshold stays within
[0.05, 0.95] and the offsets within [-0.45, 0.45], so exact 0/1 and one-hot rows (from
the training data, or from a generator that samples categories exactly) still decode to
themselves.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

DECODINGS = ("calibrated", "argmax")

_THRESHOLD_RANGE = (0.05, 0.95)
_OFFSET_LIMIT = 0.45
_DRAWS = 16_384
_MAX_CELLS = 1 << 20
_ROUNDS = 60
_TOLERANCE = 1e-3


def flag_threshold(rate: float, decoding: str) -> float:
    """The threshold at which a flag set in ``rate`` of the rows is read as set.

    A flag modelled as ``N(p, p(1 - p))`` exceeds ``p + sqrt(p(1 - p)) * Phi^-1(1 - p)``
    with probability ``p``.
    """
    if decoding == "argmax" or not 0.0 < rate < 1.0:
        return 0.5
    t = rate + np.sqrt(rate * (1.0 - rate)) * ndtri(1.0 - rate)
    return float(np.clip(t, *_THRESHOLD_RANGE))


def onehot_offsets(freqs: np.ndarray, decoding: str) -> np.ndarray:
    """Offsets added to a one-hot group before its argmax, so the group's categories come back
    at their training frequencies ``freqs`` when the group is modelled as a Gaussian.

    The Gaussian has mean ``p`` and the covariance of one categorical draw,
    ``diag(p) - p p^T``.  Offsets are found by a fixed number of rounds of
    ``b += p - q`` (``q``: the frequencies the argmax gives) on one fixed set of draws, so
    the same frequencies always give the same offsets; the rounds stop early once every
    frequency is within 0.1 percentage point.
    """
    p = np.asarray(freqs, dtype=np.float64)
    w = p.size
    if decoding == "argmax" or w < 2 or (p > 0).sum() < 2:
        return np.zeros(w)
    p = p / p.sum()
    n = int(max(1000, min(_DRAWS, _MAX_CELLS // w)))
    g = np.random.default_rng(0).standard_normal((n, w)) * np.sqrt(p)
    Z = (p + g - np.outer(g.sum(axis=1), p)).astype(np.float32)
    b = np.zeros(w)
    for _ in range(_ROUNDS):
        q = np.bincount(np.argmax(Z + b.astype(np.float32), axis=1), minlength=w) / n
        if np.abs(p - q).max() <= _TOLERANCE:
            break
        b = b + (p - q)
        b = np.clip(b - b.mean(), -_OFFSET_LIMIT, _OFFSET_LIMIT)
    return b
