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
    """One variable: its ``kind``, the matrix columns it covers and its number of states.

    A number's states may group its cells (``cell_state``: the state of each cell, ``cell_p``:
    each cell's probability within its state, fixed at its training frequency); without
    ``cell_state`` every cell is a state of its own.
    """

    kind: str  # "categorical", "binary" or "continuous"
    columns: tuple
    n_states: int
    cell_state: tuple = ()
    cell_p: tuple = ()

    @property
    def n_cells(self) -> int:
        return len(self.cell_state) if self.cell_state else self.n_states


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


def group_cells(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, max_states: int):
    """States of a number made of runs of its cells: ``(cell_state, cell_p, n_states)``.

    As :func:`fit_states` makes states from values: a cell holding at least ``1 / max_states``
    of the rows is a state of its own, and the other cells, in the order of their values, form
    runs of about equal shares of the remaining rows, ``max_states`` states in all.  Within a
    state, a cell's probability is its share of the state's training rows (half a row added to
    every cell, so that no cell has none).  With at most ``max_states`` cells, every cell is a
    state.
    """
    n_cells = len(lo)
    if n_cells <= max_states:
        return (), (), n_cells
    x = np.asarray(x, np.float64)
    counts = np.full(n_cells, 0.5)
    for start in range(0, len(x), 65_536):  # the cell of each value, as state_codes finds it
        part = x[start:start + 65_536, None]
        dist = np.maximum(np.maximum(lo[None, :] - part, part - hi[None, :]), 0.0)
        counts += np.bincount(np.argmin(dist, axis=1), minlength=n_cells)
    share = counts / counts.sum()
    heavy = share >= 1.0 / max_states
    order = np.lexsort((hi, lo))
    rest = order[~heavy[order]]
    label = np.zeros(n_cells, np.int64)
    label[heavy] = -1 - np.flatnonzero(heavy)  # one label of its own per heavy cell
    if len(rest):
        n_runs = max(1, max_states - int(heavy.sum()))
        mass = share[rest] / share[rest].sum()
        middle = np.cumsum(mass) - mass / 2
        label[rest] = np.minimum((middle * n_runs).astype(np.int64), n_runs - 1)
    _, first = np.unique(label[order], return_index=True)
    rank = {lab: r for r, lab in enumerate(label[order][np.sort(first)])}
    state = np.array([rank[v] for v in label])
    n_states = len(rank)
    p = counts / np.bincount(state, weights=counts)[state]
    return tuple(int(v) for v in state), tuple(float(v) for v in p), n_states


def _cell_tables(v: Variable):
    """``(state of each cell, log p(cell | state))`` of a number (its cells may be its states)."""
    if not v.cell_state:
        return None, None
    return (jnp.asarray(v.cell_state, jnp.int32), jnp.log(jnp.asarray(v.cell_p, jnp.float32)))


def state_codes(X, variables, lo, hi, width):
    """The state of every variable in every row, and what the states leave out.

    Returns ``codes (n, m)`` int32, ``observed (n, m)`` bool (False where the row's entries of
    the variable are NaN: marginalised), and ``log_extra (n,)``: for continuous values, the log
    probability of their cell within its state, minus the log width of the cell (a density
    within it) and, outside the cells, a decay of ``distance / width`` from the nearest cell
    (sampling never goes there).
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
            C = v.n_cells
            l, h = lo[j, :C], hi[j, :C]
            dist = jnp.maximum(jnp.maximum(l[None, :] - x[:, None], x[:, None] - h[None, :]), 0.0)
            cell = jnp.argmin(dist, axis=1)
            w = width[j, :C][cell]
            extra = -jnp.log(w) - jnp.min(dist, axis=1) / w
            cell_state, log_p = _cell_tables(v)
            if cell_state is None:
                code = cell
            else:
                code, extra = cell_state[cell], extra + log_p[cell]
            log_extra = log_extra + jnp.where(seen, extra, 0.0)
        codes.append(code.astype(jnp.int32))
        observed.append(seen)
    return jnp.stack(codes, axis=1), jnp.stack(observed, axis=1), log_extra


def matrix_from_states(key, states, variables, lo, hi, n_features: int, dtype, cell_u=None):
    """Matrix rows from sampled states: one-hot slots, 0/1 flags, numbers drawn uniformly within
    their cell (a point cell gives its value).  A number whose states group cells first draws
    its cell within the state, by the uniforms ``cell_u (n, m)`` (default: drawn from ``key``)."""
    from ._draws import inverse_cdf, uniform

    n = states.shape[0]
    u = uniform(key, (n, len(variables)), dtype)
    if cell_u is None and any(v.cell_state for v in variables):
        cell_u = uniform(jax.random.fold_in(key, 1), (n, len(variables)), dtype)
    out = jnp.zeros((n, n_features), dtype)
    for j, v in enumerate(variables):
        s = states[:, j]
        cols = np.asarray(v.columns, dtype=np.int32)
        if v.kind == "categorical":
            out = out.at[:, cols].set(jax.nn.one_hot(s, v.n_states, dtype=dtype))
        elif v.kind == "binary":
            out = out.at[:, cols[0]].set(s.astype(dtype))
        else:
            cell_state, log_p = _cell_tables(v)
            if cell_state is not None:
                within = (cell_state[None, :] == jnp.arange(v.n_states)[:, None]) * jnp.exp(log_p)
                s = inverse_cdf(within[s], cell_u[:, j])
            l, h = lo[j][s], hi[j][s]
            out = out.at[:, cols[0]].set(l + u[:, j] * (h - l))
    return out
