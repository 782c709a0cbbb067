"""Uniform and standard normal draws for the samplers, from Threefry-2x32 counter bits.

``jax.random`` draws the same numbers more slowly on CPU when the sampler runs under
``vmap`` over block keys (as every generator's sampler does).  Here the counters
``0 .. n-1`` are hashed directly (Threefry pairs counter ``i`` with counter ``i + n/2``
and gives two words), so one 32-bit word makes one draw; a normal is the inverse CDF of
a uniform (the transform ``jax.random.normal`` uses).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend.random import threefry_2x32

#: the largest number of words drawn from 32-bit counters (beyond: ``jax.random``)
_MAX_WORDS = 2**32
_LO = np.nextafter(np.float32(-1.0), np.float32(0.0))
_SQRT2 = np.float32(math.sqrt(2.0))


def _raw_key(key):
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(key)
    return key


def random_words(key, n: int):
    """``n`` uniformly random ``uint32`` words (``n`` static)."""
    return threefry_2x32(_raw_key(key), jnp.arange(n, dtype=jnp.uint32))


def _unit(words):
    """Floats in ``[0, 1)`` from the top 23 bits of each word."""
    return lax.bitcast_convert_type((words >> 9) | jnp.uint32(0x3F800000), jnp.float32) - 1.0


def uniform(key, shape, dtype=jnp.float32):
    """Uniform draws in ``[0, 1)``."""
    size = math.prod(shape)
    if size >= _MAX_WORDS:
        return jax.random.uniform(key, shape, dtype)
    return _unit(random_words(key, size)).reshape(shape).astype(dtype)


def standard_normal(key, shape, dtype=jnp.float32):
    """Standard normal draws: ``sqrt(2) erfinv(2u - 1)`` of a uniform ``u`` in ``(0, 1)``."""
    size = math.prod(shape)
    if size >= _MAX_WORDS:
        return jax.random.normal(key, shape, dtype)
    u = jnp.maximum(_LO, _unit(random_words(key, size)) * (1.0 - _LO) + _LO)
    return (_SQRT2 * lax.erf_inv(u)).reshape(shape).astype(dtype)


def standard_normal_rows(key, n: int, d: int, dtype, unbatched):
    """``(n, d)`` standard normal draws, the same numbers as ``standard_normal(key, (n, d))``.

    The samplers run under ``vmap`` over block keys; there XLA fuses the reshape to
    ``(n, d)`` into the computation of the draws, and with a narrow ``d`` that loop runs
    several times slower than the flat one (1,000,000 x 10 draws: about 75 ms instead of
    15 ms on a 2-core CPU).  Computing them inside a conditional keeps the flat array a
    buffer of its own.  ``unbatched``: any scalar that is not batched under the caller's
    ``vmap`` (a model parameter); both branches are the same, so its value does not matter.
    """
    draw = lambda: standard_normal(key, (n * d,), dtype)  # noqa: E731
    return lax.cond(jnp.isfinite(unbatched), draw, draw).reshape(n, d)


def inverse_cdf(P, u):
    """Index drawn from each row of ``P`` (rows of probabilities, not necessarily normalised)
    by the uniforms ``u``."""
    cdf = jnp.cumsum(P, axis=-1)
    k = jnp.sum(cdf < u[:, None] * cdf[:, -1:], axis=-1)
    return jnp.minimum(k, P.shape[-1] - 1)
