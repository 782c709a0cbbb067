"""The circuit's model itself, below both its fits: parameters, layout, Chow-Liu structure and
the upward pass (log-likelihood of rows from their states).

:mod:`.circuit` (the generator, its EM fit and sampling) and :mod:`._circuit_dp` (the private
fit) both build on these; neither imports the other's fit.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._circuit_leaves import Variable

#: floor of a tree's likelihood before its log (a state a tree has never seen is not -inf)
_TINY = 1e-30


class CircuitParams(NamedTuple):
    """Probabilities of the circuit and the bounds of the continuous states.

    ``weights`` (K,): the mixture of trees; ``prior`` (K, H): each tree's root hidden states;
    ``trans`` (K, m, H, H): ``trans[k, j, p, c] = T_kj(z_j = c | z_parent = p)`` (unused for the
    root); ``leaf`` (K, m, H, S): ``L_kj(state | z_j)``, zero beyond a variable's states; ``lo``,
    ``hi`` (m, C): the bounds of numbers' cells (a number's states, or the cells its states
    group; see :class:`._circuit_leaves.Variable`); ``width`` (m, C): their widths (a point's is
    the gap to its neighbouring values), over which the density is spread and beyond which a
    value outside every cell loses one nat.
    """

    weights: jax.Array
    prior: jax.Array
    trans: jax.Array
    leaf: jax.Array
    lo: jax.Array
    hi: jax.Array
    width: jax.Array


class Layout(NamedTuple):
    """The static part: the variables, each one's parent (-1 for the root), a topological order."""

    variables: tuple
    parents: tuple
    order: tuple
    n_features: int

    @property
    def children(self) -> tuple:
        kids = [[] for _ in self.variables]
        for j, p in enumerate(self.parents):
            if p >= 0:
                kids[p].append(j)
        return tuple(tuple(k) for k in kids)

    def to_json(self) -> dict:
        return {"variables": [[v.kind, list(v.columns), v.n_states]
                              + ([list(v.cell_state), list(v.cell_p)] if v.cell_state else [])
                              for v in self.variables],
                "parents": list(self.parents), "order": list(self.order),
                "n_features": self.n_features}

    @classmethod
    def from_json(cls, state: dict) -> "Layout":
        def variable(k, cols, s, cell_state=(), cell_p=()):
            return Variable(str(k), tuple(int(c) for c in cols), int(s),
                            tuple(int(c) for c in cell_state), tuple(float(q) for q in cell_p))

        variables = tuple(variable(*v) for v in state["variables"])
        return cls(variables, tuple(int(p) for p in state["parents"]),
                   tuple(int(o) for o in state["order"]), int(state["n_features"]))


def mutual_information(codes: np.ndarray, n_states) -> np.ndarray:
    """Pairwise mutual information (nats) of the columns of ``codes`` (empirical, plug-in)."""
    n, m = codes.shape
    offsets = np.concatenate([[0], np.cumsum(n_states)])
    Z = np.zeros((n, offsets[-1]), dtype=np.float32)
    for j in range(m):
        Z[np.arange(n), offsets[j] + codes[:, j]] = 1.0
    joint = (Z.T @ Z).astype(np.float64) / n
    marg = np.diag(joint)
    mi = np.zeros((m, m))
    for a in range(m):
        pa = marg[offsets[a]:offsets[a + 1]]
        for b in range(a + 1, m):
            pb = marg[offsets[b]:offsets[b + 1]]
            pab = joint[offsets[a]:offsets[a + 1], offsets[b]:offsets[b + 1]]
            nz = pab > 0
            mi[a, b] = mi[b, a] = float(np.sum(pab[nz] * np.log(pab[nz] / np.outer(pa, pb)[nz])))
    return mi


def chow_liu_tree(mi: np.ndarray) -> tuple[tuple, tuple]:
    """Parents (-1 for the root) and a topological order of the maximum spanning tree of ``mi``.

    The root is the variable with the largest total mutual information.
    """
    from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

    m = mi.shape[0]
    if m == 1:
        return (-1,), (0,)
    weights = (mi.max() + 1.0) - mi
    np.fill_diagonal(weights, 0.0)
    tree = minimum_spanning_tree(weights)
    tree = tree + tree.T
    root = int(np.argmax(mi.sum(axis=1)))
    order, preds = breadth_first_order(tree, root, directed=False, return_predecessors=True)
    parents = tuple(int(p) if p >= 0 else -1 for p in preds)
    return parents, tuple(int(o) for o in order)


def _tree_log_lik(tree, codes, observed, layout: Layout):
    """log p of each row under one tree ``(prior, trans, leaf)``: the upward pass."""
    prior, trans, leaf = tree
    n = codes.shape[0]
    children = layout.children
    msgs = [None] * len(layout.variables)
    log_scale = jnp.zeros((n,), leaf.dtype)
    root_belief = None
    for j in reversed(layout.order):
        b = jnp.take(leaf[j], codes[:, j], axis=1).T
        b = jnp.where(observed[:, j, None], b, 1.0)
        for c in children[j]:
            b = b * msgs[c]
        s = jnp.max(b, axis=1, keepdims=True)
        s = jnp.where(s > 0, s, 1.0)
        b = b / s
        log_scale = log_scale + jnp.log(s[:, 0])
        if layout.parents[j] < 0:
            root_belief = b
        else:
            msgs[j] = b @ trans[j].T
    return jnp.log(jnp.maximum(root_belief @ prior, _TINY)) + log_scale


def _log_lik_codes(theta, codes, observed, layout: Layout):
    """log p of each row from its states (no continuous widths): the mixture of trees."""
    weights, prior, trans, leaf = theta
    per_tree = jax.vmap(_tree_log_lik, in_axes=((0, 0, 0), None, None, None))(
        (prior, trans, leaf), codes, observed, layout)
    return jax.nn.logsumexp(per_tree + jnp.log(weights)[:, None], axis=0)


def _masks(theta, layout: Layout):
    weights, prior, trans, leaf = theta
    S = leaf.shape[-1]
    states = jnp.asarray([v.n_states for v in layout.variables])
    leaf_mask = (jnp.arange(S)[None, :] < states[:, None]).astype(leaf.dtype)[None, :, None, :]
    return (jnp.ones_like(weights), jnp.ones_like(prior), jnp.ones_like(trans),
            jnp.broadcast_to(leaf_mask, leaf.shape))
