"""The circuit's variables: one discrete variable per vectoriser block, and back.

Each block of the vectorised matrix becomes one variable with a few states:

* a one-hot group (``categorical``): one state per slot;
* a 0/1 flag (``binary``): two states;
* a number (``continuous``): point states for values that are frequent (or for every value when
  there are few), then intervals between quantiles of the other values.  Within an interval the
  density is uniform, so the leaf is a piecewise-constant density that follows the marginal,
  and integers and bounds come back through the vectoriser.

The layout is static (hashable tuples), the state bounds are arrays of the parameters.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class Variable(NamedTuple):
    """One variable: its ``kind``, the matrix columns it covers and its number of states."""

    kind: str  # "categorical", "binary" or "continuous"
    columns: tuple
    n_states: int


def variables_from_blocks(blocks) -> tuple[Variable, ...]:
    out = []
    for b in blocks:
        cols = tuple(range(b.start, b.stop))
        if b.kind == "categorical":
            out.append(Variable("categorical", cols, len(cols)))
        elif b.kind == "binary":
            out.append(Variable("binary", cols, 2))
        else:
            for c in cols:
                out.append(Variable("continuous", (c,), 0))
    return tuple(out)


def fit_states(x: np.ndarray, max_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Bounds ``(lo, hi)`` of the states of a continuous column: points first, then intervals.

    With at most ``max_bins`` distinct values every value is a point state.  Otherwise values
    holding at least ``1 / max_bins`` of the rows are points, and the rest fall into intervals
    between equally spaced quantiles, ``max_bins`` states in all.
    """
    x = np.asarray(x, dtype=np.float64)
    values, counts = np.unique(x, return_counts=True)
    if len(values) <= max_bins:
        return values.copy(), values.copy()
    heavy = values[counts >= len(x) / max_bins]
    rest = x[~np.isin(x, heavy)]
    n_int = max(1, max_bins - len(heavy))
    edges = np.unique(np.quantile(rest, np.linspace(0.0, 1.0, n_int + 1)))
    if len(edges) < 2:
        edges = np.array([rest.min(), rest.max()])
    lo = np.concatenate([heavy, edges[:-1]])
    hi = np.concatenate([heavy, edges[1:]])
    return lo, hi


def state_codes(X, variables, lo, hi, scale):
    """The state of every variable in every row, and what the states leave out.

    Returns ``codes (n, m)`` int32, ``observed (n, m)`` bool (False where the row's entries of
    the variable are NaN: marginalised), and ``log_extra (n,)``: for continuous values, minus the
    log width of their interval (a density within it) and, outside the training range, a decay
    of ``distance / scale`` to the nearest state (sampling never goes there).
    """
    n = X.shape[0]
    codes, observed = [], []
    log_extra = jnp.zeros((n,), X.dtype)
    for j, v in enumerate(variables):
        block = X[:, list(v.columns)]
        seen = ~jnp.any(jnp.isnan(block), axis=1)
        block = jnp.where(jnp.isnan(block), 0.0, block)
        if v.kind == "categorical":
            code = jnp.argmax(block, axis=1)
        elif v.kind == "binary":
            code = (block[:, 0] >= 0.5).astype(jnp.int32)
        else:
            x = block[:, 0]
            S = v.n_states
            l, h = lo[j, :S], hi[j, :S]
            dist = jnp.maximum(jnp.maximum(l[None, :] - x[:, None], x[:, None] - h[None, :]), 0.0)
            code = jnp.argmin(dist, axis=1)
            width = (h - l)[code]
            inside = jnp.where(width > 0, -jnp.log(jnp.where(width > 0, width, 1.0)), 0.0)
            decay = -jnp.min(dist, axis=1) / scale[j]
            log_extra = log_extra + jnp.where(seen, inside + decay, 0.0)
        codes.append(code.astype(jnp.int32))
        observed.append(seen)
    return jnp.stack(codes, axis=1), jnp.stack(observed, axis=1), log_extra


def matrix_from_states(key, states, variables, lo, hi, n_features: int, dtype):
    """Matrix rows from sampled states: one-hot slots, 0/1 flags, numbers drawn uniformly within
    their interval (a point state gives its value)."""
    from ._draws import uniform

    n = states.shape[0]
    u = uniform(key, (n, len(variables)), dtype)
    out = jnp.zeros((n, n_features), dtype)
    for j, v in enumerate(variables):
        s = states[:, j]
        cols = np.asarray(v.columns, dtype=np.int32)
        if v.kind == "categorical":
            out = out.at[:, cols].set(jax.nn.one_hot(s, v.n_states, dtype=dtype))
        elif v.kind == "binary":
            out = out.at[:, cols[0]].set(s.astype(dtype))
        else:
            l, h = lo[j][s], hi[j][s]
            out = out.at[:, cols[0]].set(l + u[:, j] * (h - l))
    return out
