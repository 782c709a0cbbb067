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


def fit_states(x: np.ndarray, max_bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounds ``(lo, hi)`` and widths of the states of a continuous column: points first, then
    intervals.

    With at most ``max_bins`` distinct values every value is a point state.  Otherwise values
    holding at least ``1 / max_bins`` of the rows are points, and the rest fall into intervals
    between equally spaced quantiles, ``max_bins`` states in all.  An interval's width is its
    length; a point's is the distance to the nearest other value of the column (1 for
    consecutive integers), at least the column's range over its number of states, so that
    scores are densities throughout (a point's probability over its width).
    """
    x = np.asarray(x, dtype=np.float64)
    values, counts = np.unique(x, return_counts=True)
    if len(values) <= max_bins:
        lo = hi = values.copy()
    else:
        heavy = values[counts >= len(x) / max_bins]
        rest = x[~np.isin(x, heavy)]
        n_int = max(1, max_bins - len(heavy))
        edges = np.unique(np.quantile(rest, np.linspace(0.0, 1.0, n_int + 1)))
        if len(edges) < 2:
            edges = np.array([rest.min(), rest.max()])
        lo = np.concatenate([heavy, edges[:-1]])
        hi = np.concatenate([heavy, edges[1:]])
    span = float(values[-1] - values[0])
    floor = span / len(lo) if span > 0 else 1.0
    width = hi - lo
    points = width == 0
    if points.any():
        gaps = np.diff(values)
        i = np.searchsorted(values, lo[points])
        padded = np.concatenate([[np.inf], gaps, [np.inf]])
        nearest = np.minimum(padded[i], padded[i + 1])
        width[points] = np.maximum(np.where(np.isfinite(nearest), nearest, floor), floor)
    return lo, hi, width


def state_codes(X, variables, lo, hi, width):
    """The state of every variable in every row, and what the states leave out.

    Returns ``codes (n, m)`` int32, ``observed (n, m)`` bool (False where the row's entries of
    the variable are NaN: marginalised), and ``log_extra (n,)``: for continuous values, minus the
    log width of their state (a density within it) and, outside the states, a decay of
    ``distance / width`` from the nearest state (sampling never goes there).
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
            w = width[j, :S][code]
            log_extra = log_extra + jnp.where(seen, -jnp.log(w) - jnp.min(dist, axis=1) / w, 0.0)
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
