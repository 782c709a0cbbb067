"""k-means++ seeding and Lloyd iterations in JAX, for many cluster counts at once.

Every candidate (a cluster count, with its own key) is fitted by one ``vmap`` over
padded centres: a candidate with ``k`` clusters uses the first ``k`` of ``k_max`` rows
of its centre array and ignores the rest.  This seeds the EM of the Gaussian mixture
the way scikit-learn does (hard labels from k-means, then one M-step).

Rows may carry weights (0 or 1): the rows of weight 0 come last and pad the data to a
size bucket, so a new row count reuses the compiled program.  They are never picked as
centres, never move a centre and never count in the tolerance; the real rows get the
labels they would get without them.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

#: Lloyd stops when the total squared shift of the centres falls below this fraction
#: of the data's mean per-column variance (scikit-learn's ``KMeans`` rule).
KMEANS_TOL = 1e-4
KMEANS_MAX_ITER = 100


#: squared distances below this fraction of ``|x|^2 + |c|^2`` are float32 rounding: taken as 0
_DUPLICATE_REL = 1e-5


def _sq_dist(X, x_sq, C):
    """Squared distances between rows of ``X`` (with squared norms ``x_sq``) and rows of ``C``.

    By ``|x|^2 - 2 x.c + |c|^2``; what is left of that after rounding is set to 0, so a
    row equal to a centre is at distance 0 (k-means++ must never pick a duplicate of a
    centre it already has: data with many equal rows, such as one-hot tables, would
    otherwise get two equal centres and an empty cluster).
    """
    c_sq = jnp.sum(C * C, axis=-1)
    norms = x_sq[:, None] + c_sq[None, :]
    d2 = norms - 2.0 * X @ C.T
    return jnp.where(d2 > _DUPLICATE_REL * norms, d2, 0.0)


def _plusplus(key, X, x_sq, w, k, k_max: int, n_trials: int):
    """Greedy k-means++ (as scikit-learn): ``k_max`` centres of which the first ``k`` are chosen.

    All random numbers are drawn up front; candidates are picked by inverse CDF of the
    squared distances to the closest centre so far.  Rows of weight 0 (last) are at
    distance 0 from the start, so they are never picked, and add nothing to a potential.
    """
    n = jnp.sum(w > 0).astype(jnp.int32)
    u = jax.random.uniform(key, (k_max * n_trials + 1,), dtype=X.dtype)
    c0 = X[jnp.minimum((u[0] * n.astype(X.dtype)).astype(jnp.int32), n - 1)]
    u = u[1:].reshape(k_max, n_trials)
    centres = jnp.zeros((k_max, X.shape[1]), X.dtype).at[0].set(c0)
    closest = _sq_dist(X, x_sq, c0[None])[:, 0] * w

    def step(j, carry):
        centres, closest = carry
        cdf = jnp.cumsum(closest)
        idx = jnp.minimum(jnp.searchsorted(cdf, u[j] * cdf[-1], side="right"), n - 1)
        d2 = _sq_dist(X, x_sq, X[idx])  # (n, trials)
        pot = jnp.sum(jnp.minimum(closest[:, None], d2) * w[:, None], axis=0)
        best = jnp.argmin(pot)
        use = j < k
        centres = centres.at[j].set(jnp.where(use, X[idx[best]], centres[j]))
        closest = jnp.where(use, jnp.minimum(closest, d2[:, best]), closest)
        return centres, closest

    centres, _ = lax.fori_loop(1, k_max, step, (centres, closest))
    return centres


def _assign(X, x_sq, centres, mask):
    return _assign_dist(X, x_sq, centres, mask)[0]


def _assign_dist(X, x_sq, centres, mask):
    """Label of the closest centre of each row, and the squared distance to it."""
    d2 = _sq_dist(X, x_sq, centres)
    d2 = jnp.where(mask[None, :], d2, jnp.inf)
    labels = jnp.argmin(d2, axis=1)
    return labels, jnp.take_along_axis(d2, labels[:, None], axis=1)[:, 0]


def _lloyd(X, x_sq, w, centres, mask, tol, max_iter: int):
    """Lloyd iterations until the centres move less than ``tol`` (squared, summed) or ``max_iter``.

    A cluster left empty is moved onto one of the rows farthest from their own centre
    (the j-th empty cluster onto the j-th farthest row), as scikit-learn's ``KMeans`` does,
    so a fit never keeps fewer clusters than it was asked for while rows differ.  Rows of
    weight 0 neither count in a cluster nor are moved onto.
    """
    k_max = centres.shape[0]

    def update(c):
        labels, dist = _assign_dist(X, x_sq, c, mask)
        dist = jnp.where(w > 0, dist, -1.0)
        onehot = jax.nn.one_hot(labels, k_max, dtype=X.dtype) * w[:, None]
        counts = onehot.sum(axis=0)
        sums = onehot.T @ X
        new = jnp.where(counts[:, None] > 0, sums / jnp.maximum(counts, 1.0)[:, None], c)
        empty = (counts == 0) & mask
        far_dist, far = lax.top_k(dist, min(k_max, X.shape[0]))
        rank = jnp.clip(jnp.cumsum(empty) - 1, 0, far.shape[0] - 1)
        move = empty & (far_dist[rank] > 0)
        new = jnp.where(move[:, None], X[far[rank]], new)
        return jnp.where(mask[:, None], new, c)

    def cond(state):
        _, shift, it = state
        return (shift > tol) & (it < max_iter)

    def body(state):
        c, _, it = state
        new = update(c)
        return new, jnp.sum((new - c) ** 2), it + 1

    c, _, _ = lax.while_loop(cond, body, (centres, jnp.asarray(jnp.inf, X.dtype), 0))
    return c


@partial(jax.jit, static_argnames=("k_max", "max_iter"))
def kmeans_labels(keys, X, ks, w=None, *, k_max: int, max_iter: int = KMEANS_MAX_ITER):
    """k-means labels for each candidate: ``keys`` (C, 2), ``ks`` (C,) cluster counts <= ``k_max``.

    ``w`` (n,): 1 for a real row, 0 for a padding row (padding rows last); default all 1.
    Returns ``(labels (C, n) int32, centres (C, k_max, d))``; a candidate's unused centre
    rows are left at zero, and padding rows get some label.
    """
    w = jnp.ones(X.shape[0], X.dtype) if w is None else w.astype(X.dtype)
    x_sq = jnp.sum(X * X, axis=1)
    tol = KMEANS_TOL * jnp.mean(weighted_var(X, w))
    n_trials = 2 + int(math.log(max(k_max, 1)))

    def one(key, k):
        mask = jnp.arange(k_max) < k
        centres = _plusplus(key, X, x_sq, w, k, k_max, n_trials)
        centres = _lloyd(X, x_sq, w, centres, mask, tol, max_iter)
        return _assign(X, x_sq, centres, mask).astype(jnp.int32), centres

    return jax.vmap(one)(keys, ks)


def weighted_var(X, w):
    """Per-column variance of the rows of ``X`` with weights ``w`` (divided by the weight)."""
    total = jnp.sum(w)
    mean = (w @ X) / total
    return (w @ ((X - mean) ** 2)) / total
