"""Exact conditional sampling of the circuit: evidence in one upward pass, then top-down draws.

Evidence on a variable is a likelihood over its states: the one state of a fixed category, flag
or number (a number's state is the one of the cell that scores it, as in :func:`state_codes`),
or, for a range on a number, each state's probability inside the range: the sum over its cells
of their probability within the state times their share inside the range (an interval's
overlap over its width, a point 1 or 0).  Unobserved variables have likelihood 1 everywhere (marginalised).

* Upward, per tree: ``b_j(z) = E_j(z) prod_children m_c(z)`` with ``E_j(z) = sum_s L_j(s|z) e_j(s)``
  and ``m_j(p) = sum_z T_j(z|p) b_j(z)``; the tree's likelihood of the evidence is
  ``sum_z pi(z) b_root(z)``, which re-weights the mixture of trees.
* Downward: a tree, ``z_root ~ pi * b_root``, each ``z_j ~ T_j(.|z_parent) * b_j``, each state
  ``s_j ~ L_j(.|z_j) * e_j``; a number is drawn uniformly within its state (within the part
  of it inside the range); where a number's states group cells, the cell is drawn first, by
  its probability within the state times its share inside the range.

Everything is exact for equalities and any number of ranges.  The algebra is small (``K`` trees,
``m`` variables, ``H`` hidden states) and runs in float64 on the host; the random numbers come
from ``jax.random`` keys.
"""

from __future__ import annotations

import numpy as np

from ._conditional import _pick, _uniforms


def _cell_states(v) -> np.ndarray:
    return np.asarray(v.cell_state, np.int64) if v.cell_state else np.arange(v.n_states)


def _cell_p(v) -> np.ndarray:
    return np.asarray(v.cell_p, np.float64) if v.cell_state else np.ones(v.n_states)


def _range_share(l, h, a, b) -> np.ndarray:
    """Each cell's share inside ``[a, b]``: an interval's overlap over its width, a point 1 or 0."""
    point = h <= l
    overlap = np.clip(np.minimum(h, b) - np.maximum(l, a), 0.0, None)
    return np.where(point, ((l >= a) & (l <= b)).astype(float), overlap / np.where(point, 1.0, h - l))


def _evidence_vectors(params, layout, evidence):
    """Per variable: its likelihood over states (None: unobserved) and its range (or None)."""
    lo, hi = np.asarray(params.lo, np.float64), np.asarray(params.hi, np.float64)
    fixed = {int(j): float(v) for j, v in zip(evidence.fixed, evidence.values[0])}
    ranged = {int(j): (float(a), float(b)) for j, a, b in
              zip(evidence.ranged, evidence.lower[0], evidence.upper[0])}
    vectors, ranges = [], []
    for j, v in enumerate(layout.variables):
        S = v.n_states
        cols = list(v.columns)
        e, rng = None, None
        if all(c in fixed for c in cols):
            vals = np.array([fixed[c] for c in cols])
            e = np.zeros(S)
            if v.kind == "categorical":
                e[int(np.argmax(vals))] = 1.0
            elif v.kind == "binary":
                e[int(vals[0] >= 0.5)] = 1.0
            else:
                C = v.n_cells
                l, h = lo[j, :C], hi[j, :C]
                dist = np.maximum(np.maximum(l - vals[0], vals[0] - h), 0.0)
                e[int(_cell_states(v)[np.argmin(dist)])] = 1.0
        elif v.kind == "continuous" and cols[0] in ranged:
            a, b = ranged[cols[0]]
            C = v.n_cells
            share = _range_share(lo[j, :C], hi[j, :C], a, b)
            e = np.bincount(_cell_states(v), weights=_cell_p(v) * share, minlength=S)
            rng = (a, b)
        vectors.append(e)
        ranges.append(rng)
    return vectors, ranges


def condition_circuit(key, params, layout, evidence, n: int):
    """``n`` rows (float32) of the circuit given ``evidence`` (one row of it), and a summary."""
    import jax

    if evidence.n_rows != 1:
        return None
    weights = np.asarray(params.weights, np.float64)
    prior = np.asarray(params.prior, np.float64)
    trans = np.asarray(params.trans, np.float64)
    leaf = np.asarray(params.leaf, np.float64)
    K, m, H = leaf.shape[0], leaf.shape[1], leaf.shape[2]
    vectors, ranges = _evidence_vectors(params, layout, evidence)
    E = np.ones((K, m, H))
    for j, e in enumerate(vectors):
        if e is not None:
            S = layout.variables[j].n_states
            E[:, j] = leaf[:, j, :, :S] @ e
    belief = np.zeros((K, m, H))
    msgs = np.zeros((K, m, H))
    log_scale = np.zeros(K)
    root = None
    for j in reversed(layout.order):
        b = E[:, j].copy()
        for c in layout.children[j]:
            b *= msgs[:, c]
        s = b.max(axis=1, keepdims=True)
        s = np.where(s > 0, s, 1.0)
        b /= s
        log_scale += np.log(s[:, 0])
        belief[:, j] = b
        if layout.parents[j] < 0:
            root = j
        else:
            msgs[:, j] = np.einsum("kpc,kc->kp", trans[:, j], b)  # sum_z T(z|p) b(z)
    with np.errstate(divide="ignore"):
        log_lik = np.log(np.einsum("kh,kh->k", prior, belief[:, root])) + log_scale
        log_w = np.log(weights) + log_lik
    k_u, k_s = jax.random.split(key)
    u = _uniforms(k_u, n, 2 * m + 1)
    comp = _pick(log_w[None], u[:, 0])
    z = np.zeros((n, m), np.int64)
    states = np.zeros((n, m), np.int64)
    for j in layout.order:
        p = layout.parents[j]
        probs = (prior[comp] if p < 0 else trans[comp, j, z[:, p]]) * belief[comp, j]
        z[:, j] = _pick_rows(probs, u[:, 1 + j])
    for j, v in enumerate(layout.variables):
        probs = leaf[comp, j, z[:, j], :v.n_states]
        if vectors[j] is not None:
            probs = probs * vectors[j][None]
        states[:, j] = _pick_rows(probs, u[:, 1 + m + j])
    rows = _rows_from_states(_uniforms(k_s, n, m), states, layout, params, ranges,
                             _uniforms(jax.random.fold_in(k_s, 1), n, m))
    rows[:, evidence.fixed] = evidence.values[0]
    post = np.exp(log_w - np.logaddexp.reduce(log_w))
    info = {"method": "exact circuit conditional", "n_components": int(K),
            "posterior_weights": [float(v) for v in post]}
    return rows.astype(np.float32), info


def _pick_rows(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(probs, axis=1)
    total = cdf[:, -1:]
    idx = (cdf < u[:, None] * total).sum(axis=1)
    return np.minimum(idx, probs.shape[1] - 1)


def _rows_from_states(u, states, layout, params, ranges, cell_u) -> np.ndarray:
    lo, hi = np.asarray(params.lo, np.float64), np.asarray(params.hi, np.float64)
    out = np.zeros((states.shape[0], layout.n_features))
    for j, v in enumerate(layout.variables):
        s = states[:, j]
        cols = list(v.columns)
        if v.kind == "categorical":
            out[:, cols] = np.eye(v.n_states)[s]
        elif v.kind == "binary":
            out[:, cols[0]] = s
        else:
            if v.cell_state:  # the cell within the state (and within the range)
                C = v.n_cells
                within = (_cell_states(v)[None, :] == np.arange(v.n_states)[:, None]) * _cell_p(v)
                if ranges[j] is not None:
                    within = within * _range_share(lo[j, :C], hi[j, :C], *ranges[j])[None, :]
                s = _pick_rows(within[s], cell_u[:, j])
            l, h = lo[j][s], hi[j][s]
            if ranges[j] is not None:
                a, b = ranges[j]
                l, h = np.where(h > l, np.maximum(l, a), l), np.where(h > l, np.minimum(h, b), h)
            out[:, cols[0]] = l + u[:, j] * (h - l)
    return out
