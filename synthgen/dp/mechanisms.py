"""The Gaussian mechanism and the clipped sufficient statistics it releases (pure JAX).

Neighbouring tables differ by one row added or removed.  Rows are centred at ``centre``
and clipped to L2 norm ``clip`` (``clip_rows``); then one row changes

* the count by 1,
* the sum of centred rows by at most ``clip`` (L2),
* the scatter matrix ``sum (x - c)(x - c)^T`` by at most ``clip**2`` (Frobenius norm:
  ``||v v^T||_F = ||v||^2``), and its upper triangle (what is released) by no more,
* with responsibilities ``r_i`` (non-negative, summing to at most 1 over components):
  the weighted counts by 1, the weighted sums by ``clip`` and the weighted scatters by
  ``clip**2`` taken over all components together (``sum_k r_k^2 <= 1``).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

#: rows per chunk when statistics are summed (bounds memory to chunk x K x d)
STAT_CHUNK = 2048


def gaussian_mechanism(key, value, sigma: float):
    """``value`` plus independent Gaussian noise of standard deviation ``sigma`` per entry."""
    return value + sigma * jax.random.normal(key, jnp.shape(value), jnp.result_type(value))


def noisy_symmetric(key, value, sigma: float):
    """A symmetric matrix (or a stack of them) with noise on the upper triangle, mirrored.

    The upper triangle is the released statistic: one noise draw per distinct entry.
    """
    noise = sigma * jax.random.normal(key, jnp.shape(value), jnp.result_type(value))
    upper = jnp.triu(noise)
    return value + upper + jnp.swapaxes(jnp.triu(noise, 1), -1, -2)


def clip_rows(X, centre, clip: float):
    """Rows centred at ``centre`` and scaled down to L2 norm at most ``clip``."""
    V = X - centre
    norm = jnp.linalg.norm(V, axis=1, keepdims=True)
    return V * jnp.minimum(1.0, clip / jnp.maximum(norm, 1e-30))


@partial(jax.jit, static_argnames=("diag",))
def moment_sums(V, w, *, diag: bool = False):
    """Count, sum and scatter of the rows of ``V`` weighted by ``w`` (0 for padding rows).

    Scatter is ``(d, d)``, or its diagonal ``(d,)`` when ``diag``.
    """
    n = jnp.sum(w)
    s = w @ V
    M = (V * w[:, None]).T @ V
    return n, s, (jnp.diagonal(M) if diag else M)


def weighted_moment_sums(V, w, resp_fn, params, n_chunks: int):
    """Per-component counts ``(K,)``, sums ``(K, d)`` and scatters ``(K, d, d)`` of the rows
    of ``V`` (``(n_chunks * c, d)``, padding rows with ``w = 0``), with responsibilities
    ``resp_fn(params, V_chunk) -> (c, K)``, summed chunk by chunk."""
    d = V.shape[1]
    Vc = V.reshape(n_chunks, -1, d)
    wc = w.reshape(n_chunks, -1)

    def step(acc, args):
        v, ww = args
        r = resp_fn(params, v) * ww[:, None]
        N, S, M = acc
        return (N + r.sum(0), S + r.T @ v, M + jnp.einsum("ck,ci,cj->kij", r, v, v)), None

    K = resp_fn(params, Vc[0]).shape[1]
    init = (jnp.zeros(K, V.dtype), jnp.zeros((K, d), V.dtype), jnp.zeros((K, d, d), V.dtype))
    out, _ = lax.scan(step, init, (Vc, wc))
    return out
