"""Seeds at the boundary, JAX keys inside.

A user gives an ``int`` seed; synthgen turns it into a ``jax.random`` key once and
derives every other key from it, splitting once per consumer and using
``fold_in(key, i)`` for chunk ``i``.  Rows are produced in fixed-size blocks, each
with its own folded key, so the rows for a seed do not depend on how a caller
chunks a request.
"""

from __future__ import annotations

import numbers

import numpy as np

from .errors import InvalidParameterError

#: Rows are drawn in blocks of this many rows; block ``b`` uses ``fold_in(key, b)``.
BLOCK_ROWS = 8192

_MAX_SEED = 2**32 - 1


def check_seed(seed, name: str = "seed") -> int:
    """Return ``seed`` as a Python int after checking it is a non-negative integer."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise InvalidParameterError(f"{name} must be a non-negative int; got {seed!r}")
    seed = int(seed)
    if seed < 0 or seed > _MAX_SEED:
        raise InvalidParameterError(f"{name} must be an int in [0, {_MAX_SEED}]; got {seed}")
    return seed


def key_from_seed(seed):
    """A raw ``uint32[2]`` JAX PRNG key from an int seed (raw keys save to .npz as they are)."""
    import jax

    return jax.random.PRNGKey(check_seed(seed))


#: Domain tags that keep the fit's keys and the sampling keys of one seed apart.
_FIT_DOMAIN = 0x66697420  # "fit "
_SAMPLE_DOMAIN = 0x73616D70  # "samp"


def fit_keys(seed):
    """``(fit_key, stream_key)`` for a fit with ``seed``: the fit's randomness, and the key of the
    sequence that ``sample()`` calls without a seed follow.  Neither equals any sampling key."""
    import jax

    base = jax.random.fold_in(key_from_seed(seed), _FIT_DOMAIN)
    return jax.random.fold_in(base, 0), jax.random.fold_in(base, 1)


def sample_key(seed):
    """The key of ``sample(n, seed=seed)``; rows of block ``b`` use ``fold_in(sample_key, b)``."""
    import jax

    return jax.random.fold_in(key_from_seed(seed), _SAMPLE_DOMAIN)


def block_keys(key, first_block: int, n_blocks: int):
    """Keys of blocks ``first_block .. first_block + n_blocks - 1`` as one stacked array."""
    import jax
    import jax.numpy as jnp

    idx = jnp.asarray(first_block, jnp.uint32) + jnp.arange(n_blocks, dtype=jnp.uint32)
    return jax.vmap(lambda i: jax.random.fold_in(key, i))(idx)


def blocks_for_rows(start: int, stop: int, block_rows: int = BLOCK_ROWS) -> tuple[int, int]:
    """The block range ``[first, last)`` that covers rows ``[start, stop)``."""
    first = start // block_rows
    last = -(-stop // block_rows)
    return first, last
