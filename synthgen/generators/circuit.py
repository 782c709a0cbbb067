"""A probabilistic circuit over mixed-type tables: a mixture of hidden Chow-Liu trees (HCLT).

Every block of the vectorised table (a one-hot group, a flag, a number) is one discrete variable
``X_j`` (see :mod:`._circuit_leaves`: numbers get point states and quantile intervals with a
uniform density inside).  Each variable has a hidden variable ``Z_j`` with ``H`` states; the hidden
variables form a tree, learned as the Chow-Liu tree (the maximum spanning tree of the pairwise
mutual information of the ``X_j``)::

    p(x) = sum_z  pi(z_root)  prod_{j != root} T_j(z_j | z_parent(j))  prod_j L_j(x_j | z_j)

A mixture of ``n_trees`` such trees (one structure, parameters of their own, each started from a
k-means cluster of the rows) is the model: ``p(x) = sum_k w_k p_k(x)``.

As a circuit this is a deep alternation of sum nodes (the sums over each ``z_j``) and product nodes
(over a node's leaf and children), smooth and decomposable, so that

* ``score_samples`` is exact: one upward pass of ``H x H`` matrix products, one per variable;
* any variable can be left out (marginalised) exactly by setting its leaf to 1;
* sampling is exact: ``z_root``, then each ``z_j`` given its parent, then each ``x_j``.

It is fitted by mini-batch EM: the expected counts of every parameter are ``theta * dLL/dtheta``
(the circuit is multilinear in each of its distributions), computed by ``jax.grad`` of the
batch's log-likelihood; each step moves the parameters a fraction of the way towards the
normalised counts, ``step_size`` at first and 5% of it at the end (a cosine schedule), so the
last epochs settle instead of following each batch's noise.  With ``H = 1`` the hidden variables
vanish, and the model is a shallow mixture of ``n_trees`` factorised components.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._params import AnyOf, Bool, Choice, Float, Int, Param
from ..base import Generator
from ..dp.params import PRIVACY_PARAMS, check_privacy
from ..errors import InvalidDataError
from ._circuit_leaves import (
    fit_states,
    group_cells,
    matrix_from_states,
    state_codes,
    variables_from_blocks,
)
from ._circuit_model import (  # noqa: F401  (the model's pieces, importable from here too)
    CircuitParams,
    Layout,
    _log_lik_codes,
    _masks,
    _tree_log_lik,
    chow_liu_tree,
    mutual_information,
)
from ._draws import inverse_cdf, uniform

_CL_MAX_ROWS = 20_000


# ---------------------------------------------------------------------------------------------
# Structure: variables, their states, the Chow-Liu tree
# ---------------------------------------------------------------------------------------------


def discretise(X: np.ndarray, blocks, max_bins: int, max_states: int | None = None):
    """The variables of ``blocks`` with their continuous cells and states fitted on ``X``.

    A number gets at most ``max_bins`` cells (:func:`fit_states`), grouped into at most
    ``max_states`` states (:func:`group_cells`; None: every cell a state).
    Returns ``(variables, lo (m, C), hi (m, C), width (m, C))``, the bounds of the cells.
    """
    variables = list(variables_from_blocks(blocks))
    bounds = []
    for j, v in enumerate(variables):
        if v.kind == "continuous":
            x = X[:, v.columns[0]]
            lo, hi, width = fit_states(x, max_bins)
            cell_state, cell_p, n_states = group_cells(x, lo, hi, max_states or len(lo))
            variables[j] = v._replace(n_states=n_states, cell_state=cell_state, cell_p=cell_p)
            bounds.append((lo, hi, width))
        else:
            bounds.append((np.zeros(v.n_states), np.zeros(v.n_states), np.ones(v.n_states)))
    C = max(len(b[0]) for b in bounds)
    lo = np.zeros((len(variables), C))
    hi = np.zeros((len(variables), C))
    width = np.ones((len(variables), C))
    for j, (l, h, w) in enumerate(bounds):
        lo[j, :len(l)], hi[j, :len(h)], width[j, :len(w)] = l, h, w
    return tuple(variables), lo, hi, width


# ---------------------------------------------------------------------------------------------
# The circuit's pure functions
# ---------------------------------------------------------------------------------------------


def log_prob_circuit(params: CircuitParams, X, *, layout: Layout):
    """Log density of each row of ``X``; NaN entries mark variables to marginalise out."""
    codes, observed, extra = state_codes(X, layout.variables, params.lo, params.hi, params.width)
    theta = (params.weights, params.prior, params.trans, params.leaf)
    return _log_lik_codes(theta, codes, observed, layout) + extra


def stratified_uniforms(key, group, n_groups: int, dtype):
    """One uniform per row, stratified within each group of rows (``group`` in ``[0, n_groups)``).

    The ``m`` rows of a group get the strata ``[0, 1/m), [1/m, 2/m), ...`` in a uniformly random
    order, each with a uniform position inside.  Each row's uniform is exactly uniform on
    ``[0, 1)``, so a row is still an exact draw; but inverse-CDF draws from one distribution in
    a group then hit every state close to ``m`` times its probability (within one row per
    state), where independent draws scatter by their binomial noise.
    """
    k_r, k_v = jax.random.split(key)
    n = group.shape[0]
    order = jnp.lexsort((uniform(k_r, (n,), dtype), group))  # by group, randomly inside
    position = jnp.zeros(n, jnp.int32).at[order].set(jnp.arange(n, dtype=jnp.int32))
    counts = jnp.bincount(group, length=n_groups)
    rank = position - (jnp.cumsum(counts) - counts)[group]
    return ((rank + uniform(k_v, (n,), dtype)) / counts[group]).astype(dtype)


def sample_circuit(key, params: CircuitParams, n: int, *, layout: Layout, stratified: bool = False):
    """``n`` exact draws, top-down: a tree, hidden states along it, then each variable's state.

    ``stratified``: each choice among rows that draw from the same distribution (the tree for
    all rows, a hidden state among rows of one tree and parent state, a variable's state among
    rows of one tree and hidden state) uses stratified uniforms (``stratified_uniforms``); each
    row is distributed as with independent draws, the ``n`` rows together follow the model's
    frequencies more closely.
    """
    m = len(layout.variables)
    dtype = params.leaf.dtype
    K, H = params.prior.shape
    if stratified:
        keys = list(jax.random.split(key, 2 * m + 2))
        k_u = keys.pop()

        def u_of(slot, group, n_groups):
            return stratified_uniforms(keys[slot], group, n_groups, dtype)
    else:
        k_k, k_z, k_x, k_u = jax.random.split(key, 4)
        uz = uniform(k_z, (n, m), dtype)
        ux = uniform(k_x, (n, m), dtype)
        u_k = uniform(k_k, (n,), dtype)

        def u_of(slot, group, n_groups):
            return u_k if slot == 0 else (uz[:, slot - 1] if slot <= m else ux[:, slot - 1 - m])
    comp = inverse_cdf(jnp.broadcast_to(params.weights, (n, K)),
                        u_of(0, jnp.zeros(n, jnp.int32), 1))
    z = [None] * m
    for j in layout.order:
        p = layout.parents[j]
        if p < 0:
            z[j] = inverse_cdf(params.prior[comp], u_of(1 + j, comp, K))
        else:
            z[j] = inverse_cdf(params.trans[comp, j, z[p]], u_of(1 + j, comp * H + z[p], K * H))
    states = jnp.stack([inverse_cdf(params.leaf[comp, j, z[j]],
                                     u_of(1 + m + j, comp * H + z[j], K * H))
                        for j in range(m)], axis=1)
    cell_u = None
    if any(v.cell_state for v in layout.variables):  # a cell within each grouped state
        k_cells = jax.random.split(jax.random.fold_in(k_u, 1), m)
        cell_u = jnp.stack([
            (stratified_uniforms(k_cells[j], states[:, j], v.n_states, dtype) if stratified
             else uniform(k_cells[j], (n,), dtype)) if v.cell_state else jnp.zeros(n, dtype)
            for j, v in enumerate(layout.variables)], axis=1)
    return matrix_from_states(k_u, states, layout.variables, params.lo, params.hi,
                              layout.n_features, dtype, cell_u)


@functools.lru_cache(maxsize=32)
def circuit_functions(layout: Layout, stratified: bool = True):
    """``(sample_fn, log_prob_fn)`` bound to ``layout``; equal layouts share compiled programs."""
    return (functools.partial(sample_circuit, layout=layout, stratified=stratified),
            functools.partial(log_prob_circuit, layout=layout))


# ---------------------------------------------------------------------------------------------
# EM
# ---------------------------------------------------------------------------------------------


def _normalise(counts, mask, pseudocount):
    c = (counts + pseudocount) * mask
    return c / jnp.sum(c, axis=-1, keepdims=True)


def _em_target(theta, codes, layout, masks, pseudocount, weight):
    """The normalised expected counts of a batch, ``theta * dLL/dtheta`` scaled by ``weight``
    (training rows per batch row, so the counts stand for the whole training set), plus
    pseudocounts."""
    observed = jnp.ones(codes.shape, bool)
    grads = jax.grad(lambda t: jnp.sum(_log_lik_codes(t, codes, observed, layout)))(theta)
    return tuple(_normalise(weight * t * g, mk, pseudocount) for t, g, mk in zip(theta, grads, masks))


@functools.partial(jax.jit, static_argnames=("layout", "batch", "n_batches"))
def _em_epoch(key, theta, codes, step, pseudocount, *, layout, batch, n_batches):
    """One pass of mini-batch EM over a random permutation of the rows."""
    perm = jax.random.permutation(key, codes.shape[0])[: batch * n_batches]
    return _em_batches(theta, codes, perm, step, pseudocount, layout=layout, batch=batch,
                       n_batches=n_batches)


@functools.partial(jax.jit, static_argnames=("layout", "batch", "n_batches"))
def _em_ordered_epoch(theta, codes, order, step, pseudocount, *, layout, batch, n_batches):
    """:func:`_em_epoch` with the rows taken in the given ``order`` instead of a shuffle."""
    return _em_batches(theta, codes, order[: batch * n_batches], step, pseudocount, layout=layout,
                       batch=batch, n_batches=n_batches)


def _em_batches(theta, codes, idx, step, pseudocount, *, layout, batch, n_batches):
    masks = _masks(theta, layout)
    weight = codes.shape[0] / batch

    def one(theta, rows):
        return em_step(theta, codes[rows], step, pseudocount, weight, masks, layout), None

    theta, _ = jax.lax.scan(one, theta, idx.reshape(n_batches, batch))
    return theta


def em_step(theta, batch_codes, step, pseudocount, weight, masks, layout):
    """One mini-batch EM step: ``theta`` moved ``step`` of the way to the batch's target.

    A batch whose expected counts are not finite (a row so unlikely under the current
    parameters that float32's rescaled upward pass overflows in the gradient) leaves
    ``theta`` as it was: the step is skipped rather than poisoning every parameter."""
    target = _em_target(theta, batch_codes, layout, masks, pseudocount, weight)
    moved = tuple((1 - step) * t + step * s for t, s in zip(theta, target))
    finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(m)) for m in moved]))
    return tuple(jnp.where(finite, m, t) for m, t in zip(moved, theta))


@functools.partial(jax.jit, static_argnames=("layout",))
def _mean_log_lik(theta, codes, *, layout):
    return jnp.mean(_log_lik_codes(theta, codes, jnp.ones(codes.shape, bool), layout))


def latent_groups(codes: np.ndarray, n_states: int, n_hidden: int) -> np.ndarray:
    """A start for one hidden variable: each state of the variable mapped to a hidden state.

    With at most ``n_hidden`` states each state has its own hidden state; otherwise runs of
    consecutive states (intervals of a number, in order) of about equal frequency share one.
    """
    if n_states <= n_hidden:
        return np.arange(n_states)
    freq = np.bincount(codes, minlength=n_states) + 1e-3
    cum = np.cumsum(freq) / freq.sum()
    return np.minimum((cum * n_hidden - 1e-9).astype(int), n_hidden - 1)


def init_tree(key, codes: np.ndarray, layout: Layout, n_hidden: int, smoothing: float = 0.5):
    """The Chow-Liu tree of the variables themselves, as a start for EM: ``(prior, trans, leaf)``.

    Each hidden variable starts as a copy of its variable (:func:`latent_groups`); leaves and
    transitions are then the empirical frequencies of those copies, mixed with ``smoothing`` of
    the marginal (leaves) or of uniform (transitions), and multiplied by random factors in
    [0.9, 1.1] so that hidden states that start alike can part.
    """
    m = len(layout.variables)
    S = max(v.n_states for v in layout.variables)
    H = n_hidden
    k_p, k_t, k_l = jax.random.split(key, 3)
    groups = [latent_groups(codes[:, j], v.n_states, H) for j, v in enumerate(layout.variables)]
    latent = np.stack([g[codes[:, j]] for j, g in enumerate(groups)], axis=1)
    noise = lambda k, shape: np.array(jax.random.uniform(k, shape, minval=0.9, maxval=1.1))  # noqa: E731
    leaf = np.zeros((m, H, S))
    for j, v in enumerate(layout.variables):
        marg = (np.bincount(codes[:, j], minlength=v.n_states) + 0.5) / (len(codes) + 0.5 * v.n_states)
        joint = np.zeros((H, v.n_states))
        np.add.at(joint, (latent[:, j], codes[:, j]), 1.0)
        rows = joint.sum(axis=1, keepdims=True)
        cond = np.where(rows > 0, joint / np.maximum(rows, 1.0), marg[None, :])
        leaf[j, :, :v.n_states] = (1 - smoothing) * cond + smoothing * marg[None, :]
    leaf *= noise(k_l, leaf.shape)
    leaf /= leaf.sum(axis=-1, keepdims=True)
    trans = np.full((m, H, H), 1.0 / H)
    for j, p in enumerate(layout.parents):
        if p >= 0:
            joint = np.zeros((H, H))
            np.add.at(joint, (latent[:, p], latent[:, j]), 1.0)
            rows = joint.sum(axis=1, keepdims=True)
            cond = np.where(rows > 0, joint / np.maximum(rows, 1.0), 1.0 / H)
            trans[j] = (1 - smoothing) * cond + smoothing / H
    trans *= noise(k_t, trans.shape)
    trans /= trans.sum(axis=-1, keepdims=True)
    root = layout.order[0]
    prior = np.bincount(latent[:, root], minlength=H) / len(codes)
    prior = ((1 - smoothing) * prior + smoothing / H) * noise(k_p, (H,))
    prior /= prior.sum()
    return prior, trans, leaf


def init_theta(key, codes: np.ndarray, layout: Layout, n_hidden: int, n_trees: int,
               groups: np.ndarray | None = None):
    """One start per tree (:func:`init_tree`) from the rows of its group (``groups``: a group
    label per row, e.g. k-means clusters; None: every tree from all rows), weighted by size."""
    keys = jax.random.split(key, n_trees)
    trees, sizes = [], []
    for k in range(n_trees):
        rows = codes if groups is None else codes[groups == k]
        if len(rows) == 0:
            rows = codes
        trees.append(init_tree(keys[k], rows, layout, n_hidden))
        sizes.append(len(rows) + 1.0)
    weights = np.asarray(sizes) / np.sum(sizes)
    stacked = [np.stack([t[i] for t in trees]) for i in range(3)]
    return tuple(jnp.asarray(a, jnp.float32) for a in (weights, *stacked))


def kmeans_groups(key, X: np.ndarray, k: int, max_rows: int = 20_000) -> np.ndarray:
    """k-means clusters of the rows of the (standardised, one-hot) matrix, as start groups."""
    from ._kmeans import kmeans_labels

    if k == 1:
        return np.zeros(len(X), dtype=np.int32)
    Xj = jnp.asarray(X, jnp.float32)
    labels, centres = kmeans_labels(jax.random.split(key, 1), Xj[:max_rows], jnp.asarray([k]),
                                    k_max=k)
    c = centres[0]
    d2 = jnp.sum(Xj * Xj, 1)[:, None] - 2 * Xj @ c.T + jnp.sum(c * c, 1)[None, :]
    return np.asarray(jnp.argmin(d2, axis=1), dtype=np.int32)


def circuit_start(key, X, blocks, *, n_hidden: int, n_trees: int, max_bins: int,
                  max_states: int | None = None):
    """The structure and the EM start of a circuit fitted on all rows of ``X`` as training rows:
    ``(layout, lo, hi, width, theta)`` (``fit_circuit``'s, save that it holds out no rows)."""
    X = np.asarray(X, dtype=np.float32)
    layout, lo, hi, width, codes = _structure(key, X, blocks, max_bins, max_states)
    k_split, _, k_init, _ = jax.random.split(key, 4)
    groups = kmeans_groups(k_split, X, n_trees) if n_trees > 1 else None
    theta = init_theta(k_init, codes, layout, n_hidden, n_trees, groups)
    return layout, lo, hi, width, theta


def _structure(key, X, blocks, max_bins, max_states=None):
    n, d = X.shape
    variables, lo, hi, width = discretise(X, blocks, max_bins, max_states)
    pre = Layout(variables, (-1,) * len(variables), tuple(range(len(variables))), d)
    codes = codes_of(X, pre, lo, hi, width)
    _, k_cl, _, _ = jax.random.split(key, 4)
    rows = np.asarray(jax.random.permutation(k_cl, n))[: min(n, _CL_MAX_ROWS)]
    parents, order = chow_liu_tree(mutual_information(codes[rows], [v.n_states for v in variables]))
    return Layout(variables, parents, order, d), lo, hi, width, codes


def codes_of(X, layout: Layout, lo, hi, width) -> np.ndarray:
    """The state codes ``(n, m)`` of the rows of ``X``."""
    codes, _, _ = _state_codes(jnp.asarray(X, jnp.float32), layout.variables, jnp.asarray(lo, jnp.float32),
                               jnp.asarray(hi, jnp.float32), jnp.asarray(width, jnp.float32))
    return np.asarray(codes)


_state_codes = jax.jit(state_codes, static_argnums=1)


#: ``epochs="auto"``: EM steps over about this many rows in all, within [4, 40] epochs
AUTO_EPOCH_ROWS = 1_200_000


def resolve_epochs(epochs, n_rows: int) -> int:
    """The number of epochs: ``epochs`` itself, or for ``"auto"`` 40 on up to 30,000 rows and
    ``ceil(1.2e6 / n_rows)`` above, at least 4 (mini-batch EM on many rows settles in fewer
    passes; kddcup's 494,021 rows get 4)."""
    if epochs != "auto":
        return int(epochs)
    return int(min(40, max(4, math.ceil(AUTO_EPOCH_ROWS / max(int(n_rows), 1)))))


def step_size_at(epoch: int, epochs: int, step_size: float) -> float:
    """The EM step of ``epoch``: a cosine from ``step_size`` to 5% of it."""
    return step_size * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs)))


def em_batch_layout(n_train: int, batch_size: int) -> tuple[int, int]:
    """``(rows per batch, batches per epoch)``: at least 8 steps an epoch on small data."""
    batch = int(min(batch_size, max(32, n_train // 8), n_train))
    return batch, max(1, n_train // batch)


def fit_circuit(key, X, blocks, *, n_hidden: int = 16, n_trees: int = 4, max_bins: int = 128,
                max_states: int | None = 32,
                epochs: int = 40,
                batch_size: int = 1024, step_size: float = 0.5, pseudocount: float = 0.01,
                validation_fraction: float = 0.0, progress=None, start=None, split=None,
                epoch_order=None):
    """Fit the circuit to the rows of ``X`` whose columns ``blocks`` describe.

    Returns ``(params, layout, history)``: ``history`` holds the mean held-out log-likelihood of
    the states after each epoch (``nan`` without a validation split); the parameters kept are
    those of the best epoch.

    ``start`` (``circuit_start``'s ``(layout, lo, hi, width, theta)``), ``split`` (row indices
    of the training and the validation rows) and ``epoch_order(epoch, key)`` (the order of the
    training rows in an epoch) replace the structure, start, split and shuffles this function
    makes itself: out-of-core fitting (``synthgen.dask``) streams its batches in such an
    order, and these reproduce it in memory.
    """
    X = np.asarray(X, dtype=np.float32)
    n, d = X.shape
    k_split, k_cl, k_init, k_em = jax.random.split(key, 4)
    if start is None:
        layout, lo, hi, width, codes = _structure(key, X, blocks, max_bins, max_states)
    else:
        layout, lo, hi, width, theta = start
        codes = codes_of(X, layout, lo, hi, width)
    if split is None:
        perm = np.asarray(jax.random.permutation(k_split, n))
        n_val = int(round(validation_fraction * n)) if n >= 20 else 0
        tr_rows, va_rows = perm[n_val:], perm[:n_val]
    else:
        tr_rows, va_rows = (np.asarray(r, np.int64) for r in split)
        n_val = len(va_rows)
    val, train = codes[va_rows], codes[tr_rows]
    batch, n_batches = em_batch_layout(len(train), batch_size)
    if start is None:
        groups = kmeans_groups(k_split, X[tr_rows], n_trees) if n_trees > 1 else None
        theta = init_theta(k_init, train, layout, n_hidden, n_trees, groups)
    train_j, val_j = jnp.asarray(train), jnp.asarray(val)
    best, best_score, history = theta, -np.inf, []
    for epoch in range(epochs):
        step = jnp.float32(step_size_at(epoch, epochs, step_size))
        k_epoch = jax.random.fold_in(k_em, epoch)
        if epoch_order is None:
            theta = _em_epoch(k_epoch, theta, train_j, step, jnp.float32(pseudocount),
                              layout=layout, batch=batch, n_batches=n_batches)
        else:
            order = jnp.asarray(np.asarray(epoch_order(epoch, k_epoch), np.int32))
            theta = _em_ordered_epoch(theta, train_j, order, step, jnp.float32(pseudocount),
                                      layout=layout, batch=batch, n_batches=n_batches)
        score = float(_mean_log_lik(theta, val_j, layout=layout)) if n_val else float("nan")
        history.append(score)
        if not n_val or score > best_score:
            best, best_score = theta, score
        if progress is not None:
            progress(epoch + 1, epochs, score)
    return circuit_params(best, lo, hi, width), layout, history


def circuit_params(theta, lo, hi, width) -> CircuitParams:
    weights, prior, trans, leaf = theta
    return CircuitParams(weights, prior, trans, leaf, jnp.asarray(lo, jnp.float32),
                         jnp.asarray(hi, jnp.float32), jnp.asarray(width, jnp.float32))


# ---------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------


class CircuitGenerator(Generator):
    """Hidden Chow-Liu tree circuit; see ``docs/generators/circuit.md``."""

    name = "circuit"
    hyperparameters = {
        "n_hidden": Param(16, Int(1), "hidden states per variable (1: independent columns)"),
        "n_trees": Param(4, Int(1), "trees in the mixture, started from k-means clusters"),
        "max_bins": Param(128, Int(2), "most cells of a number's piecewise-constant density "
                          "(points and intervals)"),
        "max_states": Param(32, Int(2), "most states of a number that the hidden variables tell "
                            "apart: runs of cells, each cell at its training share within its state"),
        "epochs": Param("auto", AnyOf(Choice("auto"), Int(1), desc="'auto' or a positive int"),
                        "passes of mini-batch EM over the training rows; 'auto': 40 up to "
                        "30,000 rows, then fewer (about 1.2 million rows of steps), at least 4"),
        "batch_size": Param(1024, Int(1), "rows per EM step (fewer on small data: at least 8 "
                            "steps an epoch)"),
        "step_size": Param(0.5, Float(0, 1, low_open=True), "how far each step moves towards the "
                           "batch's EM update (at first; 5% of it at the end)"),
        "pseudocount": Param(0.01, Float(0, low_open=True),
                             "added to every expected count (counts of the whole training set)"),
        "validation_fraction": Param(0.0, Float(0, 0.5, high_open=True),
                                     "rows held out to keep the best epoch (0: none, every row "
                                     "trains and the last epoch is kept)"),
        "sampling": Param("stratified", Choice("stratified", "independent"),
                          "'stratified': rows drawing from one distribution share stratified "
                          "uniforms (each row exact, frequencies closer to the model's); "
                          "'independent': independent uniforms"),
        "verbose": Param(False, Bool(), "show a progress bar on stderr while fitting"),
        **PRIVACY_PARAMS,
        "private_iter": Param(10, Int(0), "EM iterations of a private fit (each one is a release; "
                              "0 with structure='private': the tree of the noisy pairwise counts)"),
        "structure": Param("private", Choice("private", "chain"),
                           "private fits: the Chow-Liu tree of noisy pairwise counts (paid with "
                           "budget), or a chain in column order fixed in advance"),
    }

    def _plan_private(self, ledger, share, hp, n_rows=None, n_columns=None):
        from ._circuit_dp import plan_circuit

        check_privacy(hp)
        plan_circuit(ledger, share, hp, n_columns)
        ledger.notes["circuit_structure"] = (
            "Chow-Liu tree of noisy pairwise counts" if hp["structure"] == "private"
            else "a chain in column order, fixed in advance")
        ledger.notes["circuit_start"] = (
            "the noisy pairwise counts of the structure release; EM on all rows"
            if hp["structure"] == "private" else "random parameters, fixed in advance; EM on all rows")

    def _make_vectoriser(self, spec, data):
        from ..vectorisers import make_vectoriser
        import pandas as pd

        if spec is None and isinstance(data, pd.DataFrame):
            return make_vectoriser("table", decoding="argmax")
        return super()._make_vectoriser(spec, data)

    def _fit(self, key, X, hp):
        if X.shape[0] < 2:
            raise InvalidDataError("the circuit needs at least 2 training rows")
        check_privacy(hp)
        if hp["epsilon"] is not None:
            return self._fit_private(key, X, hp)
        hp = dict(hp, epochs=resolve_epochs(hp["epochs"], X.shape[0]))
        return self._run_fit(hp["epochs"], hp["verbose"], functools.partial(
            fit_circuit, key, np.asarray(X), self.vectoriser_.blocks_, n_hidden=hp["n_hidden"],
            n_trees=hp["n_trees"], max_bins=hp["max_bins"], max_states=hp["max_states"],
            epochs=hp["epochs"],
            batch_size=hp["batch_size"], step_size=hp["step_size"], pseudocount=hp["pseudocount"],
            validation_fraction=hp["validation_fraction"]))

    def _fit_private(self, key, X, hp):
        from ._circuit_dp import fit_circuit_private

        return self._run_fit(hp["private_iter"], hp["verbose"], functools.partial(
            fit_circuit_private, key, np.asarray(X), self.vectoriser_.blocks_, self._private_fit_,
            n_hidden=hp["n_hidden"], n_trees=hp["n_trees"], max_bins=hp["max_bins"],
            private_iter=hp["private_iter"], pseudocount=hp["pseudocount"],
            structure=hp["structure"]))

    def _run_fit(self, steps: int, verbose: bool, fit):
        """``fit(progress=...)`` under a progress bar of ``steps`` when verbose; keeps the
        layout and history it returns beside the parameters."""
        progress = _progress(steps) if verbose else None
        try:
            params, layout, history = fit(progress=None if progress is None else progress.update)
        finally:
            if progress is not None:
                progress.close()
        self.layout_ = layout
        self.history_ = history
        return params

    def _sampler(self):
        return circuit_functions(self.layout_, self.sampling == "stratified")[0]

    def _log_prob(self):
        return circuit_functions(self.layout_)[1]

    _sample_fn = staticmethod(sample_circuit)
    _log_prob_fn = staticmethod(log_prob_circuit)

    #: ranges conditioned on exactly: any number (evidence on each variable's states)
    _condition_ranges = math.inf

    def _condition_fn(self, key, evidence, n):
        """Exact: evidence in one upward pass, then top-down draws (``_circuit_conditional.py``)."""
        from ._circuit_conditional import condition_circuit

        return condition_circuit(key, self.params_, self.layout_, evidence, n)

    def training_summary(self) -> dict[str, Any]:
        out = super().training_summary()
        hist = [h for h in self.history_ if not math.isnan(h)]
        out.update(n_variables=len(self.layout_.variables),
                   n_states=[v.n_states for v in self.layout_.variables],
                   best_validation_log_lik=max(hist) if hist else None,
                   epochs_run=len(self.history_))
        return out

    # -- marginals ------------------------------------------------------------------------------
    def marginal_score_samples(self, data) -> np.ndarray:
        """Exact log marginal density of each row with its missing entries summed out.

        ``data``: an array with NaN where a value is missing, or a DataFrame with NaN cells
        and/or only some of the training columns (the others are summed out).  A variable is
        summed out where any of its matrix entries is missing.
        """
        import pandas as pd

        self._check_fitted()
        if isinstance(data, pd.DataFrame):
            X = self._matrix_with_gaps(data)
        else:
            X = np.asarray(data, dtype=np.float32)
            if X.ndim != 2 or X.shape[1] != self.n_features_in_:
                raise InvalidDataError(
                    f"expected {self.n_features_in_} columns; got shape {X.shape}")
        return self._chunked("marginal", self._log_prob(), X)

    def _matrix_with_gaps(self, frame) -> np.ndarray:
        """The matrix of a frame whose absent columns and NaN cells become NaN features."""
        import pandas as pd

        vec = self.vectoriser_
        names = list(getattr(vec, "labels_", None) or getattr(vec, "column_labels_", None)
                     or vec.columns_)
        unknown = [c for c in frame.columns if c not in names]
        if unknown:
            raise InvalidDataError(f"columns not seen when fitted: {unknown!r}")
        fill = vec.inverse_transform(self.sample_matrix(1, seed=0))
        if not isinstance(fill, pd.DataFrame):
            fill = pd.DataFrame(fill, columns=names)
        full = pd.DataFrame({c: (frame[c] if c in frame.columns else pd.Series(
            [fill[c].iloc[0]] * len(frame), index=frame.index, dtype=fill[c].dtype)) for c in names})
        gaps = full.isna()
        for c in names:
            if gaps[c].any():
                full[c] = full[c].fillna(fill[c].iloc[0])
        X = np.array(vec.transform(full.reset_index(drop=True)), dtype=np.float32)
        widths = _feature_widths(vec, names)
        start = 0
        for c, w in zip(names, widths):
            missing = np.full(len(full), c not in frame.columns) | gaps[c].to_numpy()
            X[missing, start:start + w] = np.nan
            start += w
        return X

    # -- persistence ----------------------------------------------------------------------------
    def _extra_state(self) -> dict[str, Any]:
        return {"layout": self.layout_.to_json(), "history": [float(h) for h in self.history_],
                "sampler_version": 2}

    def _set_extra_state(self, extra: dict[str, Any]) -> None:
        self.layout_ = Layout.from_json(extra["layout"])
        if extra.get("sampler_version", 1) < 2:  # files from before stratified sampling
            self.sampling = "independent"
        self.history_ = [float(h) for h in extra.get("history", [])]


def _feature_widths(vec, names) -> list[int]:
    widths = getattr(vec, "_widths", None)
    return list(widths) if widths is not None else [1] * len(names)


class _progress:
    """A rich progress bar over EM epochs on stderr."""

    def __init__(self, total: int):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(TextColumn("circuit EM"), BarColumn(), TextColumn("{task.completed}/"
                             "{task.total}"), TextColumn("{task.fields[score]}"),
                             TimeElapsedColumn(), console=Console(stderr=True))
        self._task = self._bar.add_task("em", total=total, score="")
        self._bar.start()

    def update(self, done: int, total: int, score: float) -> None:
        label = "" if math.isnan(score) else f"held-out log-lik {score:.3f}"
        self._bar.update(self._task, completed=done, score=label)

    def close(self) -> None:
        self._bar.stop()
