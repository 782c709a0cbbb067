"""Decoding: calibrated flags and one-hot groups, per-row random numbers, fresh identifiers.

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

Whatever a decoder draws (a pooled category, a fresh identifier) it draws from a hash of
the sampled row itself, so the same row always decodes the same way, in any chunking.
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


# ---------------------------------------------------------------------------------------------
# Per-row pseudo-random numbers: the same row always decodes the same way
# ---------------------------------------------------------------------------------------------


def row_hash(X: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row's float32 bits: a row's own pseudo-random number."""
    bits = np.ascontiguousarray(X, dtype=np.float32).view(np.uint32).astype(np.uint64)
    h = np.full(len(X), 0x9E3779B97F4A7C15, dtype=np.uint64)
    for j in range(bits.shape[1]):
        h = _mix(h ^ bits[:, j])
    return h


def _mix(z: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser (wrapping uint64 arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def salted_hashes(h: np.ndarray, salt: int) -> np.ndarray:
    """Row hashes mixed with ``salt``: independent 64-bit numbers for each salt."""
    return _mix(h ^ _mix(np.full(1, salt + 1, dtype=np.uint64)))


def salted_uniforms(h: np.ndarray, salt: int) -> np.ndarray:
    """Uniform numbers in [0, 1) from row hashes, different for each ``salt``."""
    return (salted_hashes(h, salt) >> np.uint64(11)).astype(np.float64) / float(2**53)


def distinct_ranks(h: np.ndarray, size: int) -> np.ndarray:
    """One rank in ``[0, size)`` per hash, all different: ``h mod size``, and a rank already
    taken moves to the next free one (in the order of the ranks, then of the rows).

    The rows of one call get distinct ranks whenever there are at most ``size`` of them;
    a row whose rank no other row of the call shares keeps ``h mod size``.
    """
    m = len(h)
    if m > size:
        raise ValueError(f"{m} distinct ranks asked for in a range of {size}")
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    r = (h % np.uint64(size)).astype(np.int64)
    order = np.lexsort((np.arange(m), r))
    steps = np.arange(m)
    ranks = np.maximum.accumulate(r[order] - steps) + steps
    over = ranks >= size
    if over.any():
        taken = ranks[~over]
        ranks[over] = np.setdiff1d(np.arange(len(taken) + int(over.sum())), taken)[: over.sum()]
    out = np.empty(m, dtype=np.int64)
    out[order] = ranks
    return out


# ---------------------------------------------------------------------------------------------
# Fresh identifiers
# ---------------------------------------------------------------------------------------------
#
# An identifier column is not modelled: each sampled row gets a fresh value derived from the
# row's hash.  Integers come from a range next to the training values (above them, or below
# where there is more room).  Strings keep the training values' shape: their lengths (drawn at
# the training frequencies) and, at each position, the character class seen there (a fixed
# character, digits, hexadecimal digits, letters, ...).  A fresh string differs from every
# training value of its length in its leading varying characters: the combinations of those
# characters that training values use are kept, and fresh values take the others.

#: Integers drawn per identifier column: a range this wide beside the training values.
INTEGER_ROOM = 1 << 52
#: At most this many combinations of leading characters are compared with the training values.
_MAX_LEAD = 1 << 16
#: Digits of a fresh string that are drawn jointly (distinct per call) span at most this range.
_JOINT = 1 << 62
_SALT_LENGTH, _SALT_JOINT, _SALT_DIGIT = 1, 2, 16
_DIGITS = "0123456789"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_UPPER = _LOWER.upper()
_HEX = ("0123456789abcdef", "0123456789ABCDEF")


def fit_integer_ids(lo: int, hi: int, lowest: int, highest: int) -> dict:
    """A range of fresh integers beside the training values ``[lo, hi]``, within ``[lowest,
    highest]``: above them, unless there is more room below."""
    above, below = highest - hi, lo - lowest
    if min(above, INTEGER_ROOM) >= min(below, INTEGER_ROOM):
        return {"start": hi + 1, "step": 1, "width": int(min(above, INTEGER_ROOM))}
    return {"start": lo - 1, "step": -1, "width": int(min(below, INTEGER_ROOM))}


def draw_integer_ids(state: dict, h: np.ndarray) -> np.ndarray:
    """Fresh integers (int64), distinct within the call; raises ``ValueError`` when too many."""
    if len(h) > state["width"]:
        raise ValueError(f"the fresh range holds {state['width']} values")
    return state["start"] + state["step"] * distinct_ranks(h, state["width"])


def _alphabet(seen: str) -> str:
    """The characters a position may hold: the one character seen, or the classes seen."""
    chars = set(seen)
    if len(chars) == 1:
        return seen
    if chars <= set(_DIGITS):
        return _DIGITS
    for hexdigits in _HEX:
        if chars <= set(hexdigits) and chars & set(_DIGITS):
            return hexdigits
    for group in (_DIGITS, _LOWER, _UPPER):
        if chars & set(group):
            chars |= set(group)
    return "".join(sorted(chars))


def _code_matrix(strings: list[str], length: int) -> np.ndarray:
    """Strings of one length as a matrix of code points (one row per string)."""
    return np.asarray(strings, dtype=f"<U{length}").view(np.uint32).reshape(len(strings), length)


def fit_text_ids(strings: list[str]) -> dict:
    """The shape of ``strings``: lengths, per-position alphabets, and what fresh values avoid."""
    by_length: dict[int, list[str]] = {}
    for s in strings:
        by_length.setdefault(len(s), []).append(s)
    lengths = sorted(by_length)
    mats = {n: _code_matrix(by_length[n], n) for n in lengths if n}
    top = max(lengths, default=0)
    seen = [set() for _ in range(top)]
    for n, mat in mats.items():
        for p in range(n):
            seen[p].update(np.unique(mat[:, p]).tolist())
    alphabets = [_alphabet("".join(sorted(map(chr, s)))) for s in seen]
    leads, used = [], []
    for n in lengths:
        k, combos = _fresh_lead(mats.get(n), alphabets[:n])
        leads.append(k)
        used.append(combos)
    return {"alphabets": alphabets, "lengths": np.asarray(lengths, dtype=np.int64),
            "counts": np.asarray([len(by_length[n]) for n in lengths], dtype=np.int64),
            "leads": np.asarray(leads, dtype=np.int64),
            "used": np.concatenate(used) if used else np.zeros(0, np.int64),
            "used_at": np.cumsum([0] + [len(u) for u in used]).astype(np.int64)}


def _fresh_lead(mat, alphabets: list[str]) -> tuple[int, np.ndarray]:
    """How many leading varying positions tell fresh values from the training values (0: none
    can), and the combinations of characters the training values hold there.

    The fewest positions that leave at least half of their combinations free, else the ones
    that leave the largest share free (comparing at most ``_MAX_LEAD`` combinations)."""
    varying = [p for p, a in enumerate(alphabets) if len(a) > 1]
    best, best_share, code, combos = (0, np.zeros(0, np.int64)), 0.0, None, 1
    for k, p in enumerate(varying, start=1):
        combos *= len(alphabets[p])
        if combos > _MAX_LEAD:
            break
        index = np.searchsorted(np.asarray([ord(c) for c in alphabets[p]]), mat[:, p])
        code = index if code is None else code * len(alphabets[p]) + index
        taken = np.unique(code)
        share = 1.0 - len(taken) / combos
        if share > best_share:
            best, best_share = (k, taken.astype(np.int64)), share
        if share >= 0.5:
            break
    return best


def text_id_room(state: dict) -> int:
    """How many fresh values the shape holds (at most ``_JOINT``)."""
    room = 0
    for i in np.flatnonzero(state["leads"]):
        digits = _digits(state, i)
        size = 1
        for radix in digits:
            size *= radix
        room = min(_JOINT, room + size)
    return room


def _digits(state: dict, i: int) -> list[int]:
    """The radices of a fresh value of the ``i``-th length: the free lead combinations, then
    each further varying position."""
    n, k = int(state["lengths"][i]), int(state["leads"][i])
    varying = [p for p in range(n) if len(state["alphabets"][p]) > 1]
    lead = 1
    for p in varying[:k]:
        lead *= len(state["alphabets"][p])
    n_used = int(state["used_at"][i + 1] - state["used_at"][i])
    return [lead - n_used] + [len(state["alphabets"][p]) for p in varying[k:]]


def draw_text_ids(state: dict, h: np.ndarray) -> np.ndarray:
    """Fresh strings (an object array), distinct within the call; ``ValueError`` when a length
    has fewer fresh values than rows drawn for it."""
    usable = np.flatnonzero(state["leads"])
    cdf = np.cumsum(state["counts"][usable]) / state["counts"][usable].sum()
    pick = usable[np.minimum(np.searchsorted(cdf, salted_uniforms(h, _SALT_LENGTH), side="right"),
                             len(usable) - 1)]
    out = np.empty(len(h), dtype=object)
    for i in np.unique(pick):
        rows = np.flatnonzero(pick == i)
        out[rows] = _draw_length(state, int(i), h[rows])
    return out


def _draw_length(state: dict, i: int, h: np.ndarray) -> np.ndarray:
    n, k = int(state["lengths"][i]), int(state["leads"][i])
    alphabets = state["alphabets"][:n]
    radices = _digits(state, i)
    # the last digits, jointly at most _JOINT values, get distinct ranks; the others are drawn
    joint, size = len(radices), 1
    while joint > 0 and size * radices[joint - 1] <= _JOINT:
        joint -= 1
        size *= radices[joint]
    values = np.zeros((len(h), len(radices)), dtype=np.int64)
    for d in range(joint):
        values[:, d] = np.floor(salted_uniforms(h, _SALT_DIGIT + d) * radices[d]).astype(np.int64)
    if len(h) > size:
        raise ValueError(f"{len(h)} rows drew length {n}, whose shape holds {size} fresh values")
    rank = distinct_ranks(salted_hashes(h, _SALT_JOINT), size)
    for d in range(len(radices) - 1, joint - 1, -1):
        rank, values[:, d] = np.divmod(rank, radices[d])
    used = state["used"][state["used_at"][i]:state["used_at"][i + 1]]
    varying = [p for p in range(n) if len(alphabets[p]) > 1]
    lead_sizes = [len(alphabets[p]) for p in varying[:k]]
    free = np.setdiff1d(np.arange(int(np.prod(lead_sizes))), used)
    mat = np.empty((len(h), n), dtype=np.uint32)
    for p, a in enumerate(alphabets):
        if len(a) == 1:
            mat[:, p] = ord(a)
    combo = free[values[:, 0]]
    for p, radix in zip(reversed(varying[:k]), reversed(lead_sizes)):
        combo, index = np.divmod(combo, radix)
        mat[:, p] = _ords(alphabets[p])[index]
    for d, p in enumerate(varying[k:], start=1):
        mat[:, p] = _ords(alphabets[p])[values[:, d]]
    return np.ascontiguousarray(mat).view(f"<U{n}").ravel().astype(object)


def _ords(alphabet: str) -> np.ndarray:
    return np.asarray([ord(c) for c in alphabet], dtype=np.uint32)
