"""Expectation-maximisation for many Gaussian mixtures at once, inside one ``lax.while_loop``.

A *pool* is a list of candidate mixtures (one per component count and restart) whose
components are laid end to end: component ``m`` belongs to candidate ``seg[m]``.  One
E-step scores every row against every component of every candidate with a single
matrix product, normalises the responsibilities within each candidate, and
accumulates the sufficient statistics over row chunks (bounded memory).  Candidates
that have converged keep their parameters while the others go on.

Covariances are carried as Cholesky factors ``P`` of the precision (``x @ P`` whitens
``x``), with the shape saying the kind:

* full ``(M, d, d)`` upper-triangular (tied: the same matrix for a candidate's components),
* diag ``(M, d)`` inverse standard deviations, spherical ``(M, 1)``.

The M-step works in the coordinates whitened by the previous ``P``: the new covariance
``C + reg I`` is ``P^-T (G + reg P^T P) P^-1`` with ``G`` the whitened scatter, so the
Cholesky factorisation is of a well-conditioned matrix even where a component is
(nearly) degenerate and float32 is enough.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

LOG_2PI = math.log(2.0 * math.pi)
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
#: the y array of one row chunk holds at most this many floats (4 MiB: it stays in cache;
#: 16 MiB chunks made a 200,000 x 10 fit 1.9x slower)
_CHUNK_FLOATS = 1 << 20
#: log-weight of an empty slot of a group (finite, so no NaN appears)
_EMPTY_LOG_WEIGHT = -1e30
#: relative jitter added to a whitened scatter matrix whose factorisation failed
_JITTER = 1e-5


class PoolParams(NamedTuple):
    """Parameters of every component of a pool (see the module docstring for ``prec``)."""

    means: jax.Array  # (M, d)
    prec: jax.Array  # (M, d, d) | (M, d) | (M, 1)
    log_det: jax.Array  # (M,)  log |det P|
    log_weights: jax.Array  # (M,)


class PoolResult(NamedTuple):
    params: PoolParams
    lower_bound: jax.Array  # (C,) mean log-likelihood per row at the last E-step
    n_iter: jax.Array  # (C,)
    converged: jax.Array  # (C,)
    score: jax.Array  # (C,) mean log-likelihood per row of the final parameters


def log_det_prec(prec, d: int):
    """log |det P| per component, for any of the precision-factor shapes."""
    if prec.ndim == 3:
        return jnp.sum(jnp.log(jnp.diagonal(prec, axis1=-2, axis2=-1)), axis=-1)
    return jnp.sum(jnp.log(prec), axis=-1) * (d // prec.shape[-1])


def whiten(X, means, prec):
    """``(x - mu_m) @ P_m`` for every component and row: shape ``(M, n, d)``."""
    if prec.ndim == 3:
        muP = jnp.einsum("md,mde->me", means, prec)
        return jnp.einsum("nd,mde->mne", X, prec) - muP[:, None, :]
    return (X[None] - means[:, None, :]) * prec[:, None, :]


def component_log_prob(X, means, prec, log_det, log_weights):
    """log w_m + log N(x | mu_m, (P_m P_m^T)^-1) for every row and component: ``(n, M)``.

    Also returns the whitened rows ``(M, n, d)``.
    """
    y = whiten(X, means, prec)
    maha = jnp.sum(y * y, axis=-1)
    logp = -0.5 * (X.shape[1] * LOG_2PI + maha) + (log_det + log_weights)[:, None]
    return logp.T, y


def _segment_logsumexp(logp, seg, onehot):
    """Per-candidate log-sum-exp of ``logp`` (n, M) and the normalised responsibilities."""
    n_cand = onehot.shape[1]
    mx = jax.ops.segment_max(logp.T, seg, num_segments=n_cand, indices_are_sorted=True).T
    e = jnp.exp(logp - mx[:, seg])
    s = e @ onehot
    lse = mx + jnp.log(s)
    return lse, e / s[:, seg]


class _Stats(NamedTuple):
    ll: jax.Array  # (C,) summed log-likelihood
    n: jax.Array  # (M,) summed responsibilities
    sx: jax.Array  # (M, d) weighted sums of the rows
    ym: jax.Array  # (M, d) weighted mean of the whitened rows
    m2: jax.Array  # (M, d, d) or (M, d) weighted scatter of the whitened rows about ``ym``


def _zero_stats(n_cand, M, d, full, dtype):
    m2 = jnp.zeros((M, d, d) if full else (M, d), dtype)
    return _Stats(jnp.zeros(n_cand, dtype), jnp.zeros(M, dtype), jnp.zeros((M, d), dtype),
                  jnp.zeros((M, d), dtype), m2)


def _accumulate(stats, Xc, r, y, lse):
    """Add one chunk to the statistics.

    The scatter is taken about the chunk's own weighted mean and the chunks are merged by
    the pairwise update of Chan, Golub and LeVeque, so no large mean is ever subtracted
    from a sum of squares: in float32 that cancellation left indefinite covariances on
    data whose columns are constant within a component (one-hot groups).
    """
    nb = r.sum(axis=0)  # (M,)
    yb = jnp.einsum("cm,mcd->md", r, y) / jnp.where(nb > 0, nb, 1.0)[:, None]
    yc = y - yb[:, None, :]
    n = stats.n + nb
    frac = nb / jnp.where(n > 0, n, 1.0)
    delta = yb - stats.ym
    w = stats.n * frac  # n_a n_b / (n_a + n_b)
    if stats.m2.ndim == 3:
        m2 = (stats.m2 + jnp.einsum("mc,mcd,mce->mde", r.T, yc, yc)
              + w[:, None, None] * delta[:, :, None] * delta[:, None, :])
    else:
        m2 = stats.m2 + jnp.einsum("mc,mcd->md", r.T, yc * yc) + w[:, None] * delta * delta
    return _Stats(stats.ll + lse, n, stats.sx + r.T @ Xc, stats.ym + delta * frac[:, None], m2)


def _scan_stats(Xs, ws, params, seg, onehot, resp_fn=None, use_given=False, need_stats=True):
    """Sum the sufficient statistics over row chunks ``Xs`` (B, c, d) with row weights ``ws``.

    The responsibilities are the E-step's, or ``resp_fn(chunk)`` where ``use_given``.
    """
    n_cand, M, d = onehot.shape[1], params.means.shape[0], Xs.shape[2]
    full = params.prec.ndim == 3

    def body(stats, chunk):
        Xc, wc, idx = chunk
        logp, y = component_log_prob(Xc, *params)
        lse, r = _segment_logsumexp(logp, seg, onehot)
        lse = jnp.sum(lse * wc[:, None], axis=0)
        if resp_fn is not None:
            r = jnp.where(use_given, resp_fn(idx), r)
        r = r * wc[:, None]
        if not need_stats:
            return stats._replace(ll=stats.ll + lse), None
        return _accumulate(stats, Xc, r, y, lse), None

    idx = jnp.arange(Xs.shape[0])
    stats, _ = lax.scan(body, _zero_stats(n_cand, M, d, full, Xs.dtype), (Xs, ws, idx))
    return stats


def _robust_cholesky(A):
    """Lower Cholesky factors of a batch of SPD matrices, adding jitter where one fails.

    A failure is rare in the whitened coordinates of the M-step (mostly a first step
    from a nearly singular k-means cluster); the jitter inflates the smallest variances
    a little and the next step, whitened by the result, is well conditioned again.  The
    second factorisation runs only when needed.
    """
    L = jnp.linalg.cholesky(A)
    bad = ~jnp.all(jnp.isfinite(L), axis=(-2, -1))

    def retry(L):
        d = A.shape[-1]
        scale = jnp.trace(A, axis1=-2, axis2=-1)[:, None, None] / d
        eye = jnp.eye(d, dtype=A.dtype)
        L2 = jnp.linalg.cholesky(A + _JITTER * scale * eye)
        still = ~jnp.all(jnp.isfinite(L2), axis=(-2, -1))[:, None, None]
        diag = jnp.diagonal(A, axis1=-2, axis2=-1)
        floor = _JITTER * jnp.mean(jnp.abs(diag), axis=-1, keepdims=True) + jnp.finfo(A.dtype).tiny
        diag = jnp.sqrt(jnp.maximum(diag, floor))
        L2 = jnp.where(still, diag[..., None] * eye, L2)
        return jnp.where(bad[:, None, None], L2, L)

    return lax.cond(jnp.any(bad), retry, lambda L: L, L)


def times_inv_t(P, L):
    """``P @ L^-T`` for batches of lower-triangular ``L``.

    By the block-doubling inverse: XLA's batched triangular solve on CPU is slow, and
    erratic when the machine is busy.
    """
    return P @ jnp.swapaxes(tri_inv_lower(L), -1, -2)


def tri_inv_lower(L):
    """Inverses of a batch of lower-triangular matrices, by doubling diagonal blocks.

    At each level the inverses of neighbouring diagonal blocks ``A`` and ``C`` give the
    inverse of ``[[A, 0], [B, C]]`` as ``[[A^-1, 0], [-C^-1 B A^-1, C^-1]]``.  Only
    batched matrix products are used (XLA's batched triangular solve is slow on CPU);
    the matrix is padded with an identity block to a power-of-two size.
    """
    d = L.shape[-1]
    size = 1 << max(0, (d - 1).bit_length())
    batch = L.shape[:-2]
    if size != d:
        L = jnp.broadcast_to(jnp.eye(size, dtype=L.dtype), batch + (size, size)).at[..., :d, :d].set(L)
    inv = (1.0 / jnp.diagonal(L, axis1=-2, axis2=-1))[..., None, None]  # (..., size, 1, 1)
    h = 1
    while h < size:
        nb = size // (2 * h)
        blocks = L.reshape(batch + (nb, 2 * h, nb, 2 * h))
        blocks = jnp.moveaxis(jnp.diagonal(blocks, axis1=-4, axis2=-2), -1, -3)
        a_inv, c_inv = inv[..., 0::2, :, :], inv[..., 1::2, :, :]
        low = -c_inv @ blocks[..., h:, :h] @ a_inv
        top = jnp.concatenate([a_inv, jnp.zeros_like(a_inv)], axis=-1)
        inv = jnp.concatenate([top, jnp.concatenate([low, c_inv], axis=-1)], axis=-2)
        h *= 2
    return inv[..., 0, :d, :d]


def _m_step(stats, old, seg, onehot, kind, reg):
    """New pool parameters from the statistics gathered under the ``old`` parameters."""
    eps = 10.0 * jnp.finfo(stats.n.dtype).eps
    nk = stats.n + eps
    means = stats.sx / nk[:, None]
    d = means.shape[1]
    P = old.prec
    if P.ndim == 3:
        G = stats.m2 / nk[:, None, None]
        if kind == "tied":
            tot = nk @ onehot
            G = ((nk[:, None, None] * G).reshape(len(seg), -1).T @ onehot / tot).T
            G = G.reshape(-1, d, d)[seg]
        G = 0.5 * (G + jnp.swapaxes(G, -1, -2))
        G = G + reg * jnp.einsum("mji,mjk->mik", P, P)
        L = _robust_cholesky(G)
        prec = times_inv_t(P, L)
    else:
        g = jnp.maximum(stats.m2 / nk[:, None], 0.0)
        if kind == "spherical":
            g = jnp.mean(g, axis=1, keepdims=True)
        prec = P / jnp.sqrt(g + reg * P * P)
    tot = nk @ onehot
    log_w = jnp.log(nk) - jnp.log(tot)[seg]
    return PoolParams(means, prec, log_det_prec(prec, d), log_w)


def _start_params(X, w, M, kind, reg):
    """Scaling by the standard deviations of the rows (weights ``w``): the first M-step's frame."""
    d = X.shape[1]
    total = jnp.sum(w)
    mean = (w @ X) / total
    inv_sd = 1.0 / jnp.sqrt((w @ ((X - mean) ** 2)) / total + reg)
    if kind in ("full", "tied"):
        prec = jnp.broadcast_to(jnp.diag(inv_sd), (M, d, d))
    elif kind == "diag":
        prec = jnp.broadcast_to(inv_sd, (M, d))
    else:
        prec = jnp.broadcast_to(jnp.sqrt(1.0 / jnp.mean(1.0 / inv_sd**2)), (M, 1))
    means = jnp.broadcast_to(mean, (M, d))
    zeros = jnp.zeros(M, X.dtype)
    return PoolParams(means, prec, log_det_prec(prec, d), zeros)


def chunk_rows(n: int, M: int, d: int) -> int:
    """Rows per E-step chunk so that the whitened array stays within a fixed budget."""
    c = max(64, _CHUNK_FLOATS // max(1, M * d))
    if c >= n:
        return int(n)
    # equal chunks: padding rows cost as much as real ones (1,797 rows in chunks of 780
    # would be 30% padding; three chunks of 600 are 0.2%)
    chunks = -(-n // c)
    return int(-(-n // chunks))


def pad_rows(X: np.ndarray, c: int, n_rows: int | None = None):
    """``X`` as (B, c, d) chunks plus a (B, c) 0/1 weight for the padding rows (zeros, last).

    ``n_rows``: pad to at least this many rows (a size bucket, see
    ``synthgen._compile_cache.bucket``), so that every row count of the bucket gives arrays
    of one shape.
    """
    n, d = X.shape
    B = -(-max(n, n_rows or 0) // c)
    pad = B * c - n
    Xp = np.concatenate([X, np.zeros((pad, d), X.dtype)]) if pad else X
    w = np.ones(B * c, X.dtype)
    w[n:] = 0
    return Xp.reshape(B, c, d), w.reshape(B, c)


class Layout(NamedTuple):
    """Candidates packed into ``G`` groups of ``S`` component slots (numpy, static).

    Groups are fitted one after the other inside each EM iteration, and a group whose
    candidates have all converged is skipped, so a candidate that needs many iterations
    does not make the whole pool iterate.  A group holds at most ``Cg`` candidates; local
    candidate ``Cg`` owns the empty slots.
    """

    slot_seg: np.ndarray  # (G, S) local candidate of each slot (Cg: empty slot)
    slot_offset: np.ndarray  # (G, Cg) first slot of each local candidate (S: none)
    flat_slot: np.ndarray  # (M,) slot (g * S + s) of each component of the flat pool
    flat_cand: np.ndarray  # (C,) local index (g * (Cg + 1) + c) of each candidate


def pack(counts: tuple[int, ...]) -> Layout:
    """First-fit-decreasing packing of candidates into groups of ``max + min`` slots."""
    cap = max(counts) + min(counts) if len(counts) > 1 else counts[0]
    groups: list[list[int]] = []
    used: list[int] = []
    for i in sorted(range(len(counts)), key=lambda j: -counts[j]):
        g = next((g for g in range(len(groups)) if used[g] + counts[i] <= cap), None)
        if g is None:
            groups.append([])
            used.append(0)
            g = len(groups) - 1
        groups[g].append(i)
        used[g] += counts[i]
    G, S, Cg = len(groups), max(used), max(len(g) for g in groups)
    slot_seg = np.full((G, S), Cg, np.int32)
    slot_offset = np.full((G, Cg), S, np.int32)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flat_slot = np.zeros(sum(counts), np.int32)
    flat_cand = np.zeros(len(counts), np.int32)
    for g, members in enumerate(groups):
        o = 0
        for j, i in enumerate(members):
            slot_seg[g, o:o + counts[i]] = j
            slot_offset[g, j] = o
            flat_slot[starts[i]:starts[i] + counts[i]] = g * S + o + np.arange(counts[i])
            flat_cand[i] = g * (Cg + 1) + j
            o += counts[i]
    return Layout(slot_seg, slot_offset, flat_slot, flat_cand)


@partial(jax.jit, static_argnames=("counts", "kind"))
def em_pool(Xs, ws, labels, active=None, *, counts, kind, reg, tol, max_iter):
    """Run EM for every candidate of a pool.

    ``Xs``/``ws``: rows in chunks (see :func:`pad_rows`); ``labels`` (C, B*c): k-means
    labels of each candidate, which give the first M-step; ``active`` (C,) bool: the
    candidates to fit (default all; the others are left unfitted and skipped, like a
    converged candidate); ``counts``: components per candidate (static).  Returns a
    :class:`PoolResult` in the order of ``counts``.
    """
    lay = pack(tuple(counts))
    G, S = lay.slot_seg.shape
    Cg = lay.slot_offset.shape[1]
    B, c, d = Xs.shape
    n_rows = jnp.sum(ws)
    seg = jnp.asarray(lay.slot_seg)
    onehot = jax.nn.one_hot(seg, Cg + 1, dtype=Xs.dtype)  # (G, S, Cg + 1)
    empty = seg == Cg
    real = jnp.arange(Cg + 1) < Cg
    lab = _group_labels(labels, lay, B, c)  # (G, Cg, B, c) slot of each row's cluster

    frame = _start_params(Xs.reshape(B * c, d), ws.reshape(-1), S, kind, reg)
    frame = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(a, (G,) + a.shape), frame)
    frame = frame._replace(log_weights=jnp.where(empty, _EMPTY_LOG_WEIGHT, frame.log_weights))

    def group_step(it, group):
        params, prev, lb, n_iter, done, seg_g, onehot_g, lab_g, empty_g = group
        first = it == 0

        def hard_resp(i):
            rows = jnp.broadcast_to(jnp.arange(c)[None], (Cg, c))
            return jnp.zeros((c, S), Xs.dtype).at[rows, lab_g[:, i]].set(1.0, mode="drop")

        def run(_):
            # iteration 0 is the first M-step, from the k-means labels in the frame
            stats = _scan_stats(Xs, ws, params, seg_g, onehot_g, resp_fn=hard_resp, use_given=first)
            ll = jnp.where(first | ~real, -jnp.inf, stats.ll / n_rows)
            new = _m_step(stats, params, seg_g, onehot_g, kind, reg)
            new = new._replace(log_weights=jnp.where(empty_g, _EMPTY_LOG_WEIGHT, new.log_weights))
            keep = done[seg_g]
            p = jax.tree_util.tree_map(lambda a, b: _where_rows(keep, a, b), params, new)
            stop = done | first
            return (p, ll, jnp.where(stop, lb, ll), jnp.where(stop, n_iter, it),
                    done | (jnp.abs(ll - prev) < tol))

        return lax.cond(jnp.all(done), lambda _: group[:5], run, None)

    def cond(state):
        return (state[-1] <= max_iter) & ~jnp.all(state[-2])

    def body(state):
        *groups_state, it = state
        out = lax.map(lambda g: group_step(it, g), (*groups_state, seg, onehot, lab, empty))
        return (*out, it + 1)

    neg_inf = jnp.full((G, Cg + 1), -jnp.inf, Xs.dtype)
    init = (frame, neg_inf, neg_inf, jnp.zeros((G, Cg + 1), jnp.int32),
            jnp.broadcast_to(~real, (G, Cg + 1)) | ~_group_active(active, lay), 0)
    params, _, lb, n_iter, done, _ = lax.while_loop(cond, body, init)

    def final_score(group):
        p, seg_g, onehot_g = group
        return _scan_stats(Xs, ws, p, seg_g, onehot_g, need_stats=False).ll / n_rows

    score = lax.map(final_score, (params, seg, onehot))
    flat = jax.tree_util.tree_map(lambda a: a.reshape((G * S,) + a.shape[2:])[lay.flat_slot], params)
    pick = lambda a: a.reshape(-1)[lay.flat_cand]  # noqa: E731
    return PoolResult(flat, pick(lb), pick(n_iter), pick(done), pick(score))


def _group_labels(labels, lay: Layout, B: int, c: int):
    """k-means labels (C, B*c) as slots within each group: (G, Cg, B, c); S where none."""
    G, Cg = lay.slot_offset.shape
    S = lay.slot_seg.shape[1]
    cand_of = np.full((G, Cg), -1, np.int32)
    for i, f in enumerate(lay.flat_cand):
        g, j = divmod(int(f), Cg + 1)
        cand_of[g, j] = i
    idx = jnp.asarray(np.maximum(cand_of, 0))
    lab = labels[idx] + jnp.asarray(lay.slot_offset)[:, :, None]
    lab = jnp.where(jnp.asarray(cand_of >= 0)[:, :, None], lab, S)
    return lab.reshape(G, Cg, B, c)


def _group_active(active, lay: Layout):
    """``active`` (C,) laid out as (G, Cg + 1) like the candidates' state; True where absent."""
    G, Cg = lay.slot_offset.shape
    if active is None:
        return jnp.ones((G, Cg + 1), bool)
    flat = jnp.ones(G * (Cg + 1), bool).at[jnp.asarray(lay.flat_cand)].set(active)
    return flat.reshape(G, Cg + 1)


def _where_rows(keep, a, b):
    shape = keep.shape + (1,) * (a.ndim - 1)
    return jnp.where(keep.reshape(shape), a, b)


def group_size(counts) -> int:
    """Component slots per group for these candidates (see :func:`pack`)."""
    return int(pack(tuple(counts)).slot_seg.shape[1])
