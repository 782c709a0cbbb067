"""Gaussian kernel density estimation: score by blocked log-sum-exp, sample exactly.

A KDE is its training matrix ``T`` (n x d) and one bandwidth ``h`` shared by every
dimension, with scikit-learn's convention (``KernelDensity(kernel="gaussian", bandwidth=h)``)::

    log p(x) = logsumexp_j(-|x - t_j|^2 / (2 h^2)) - log n - d log h - (d / 2) log(2 pi)

Bandwidth rules, on the vectorised data as it is (no rescaling), as scikit-learn defines them:

* ``"scott"``: ``n ** (-1 / (d + 4))``
* ``"silverman"``: ``(n * (d + 2) / 4) ** (-1 / (d + 4))``
* ``"cv"``: the value on a grid that maximises the mean held-out log-likelihood under
  k-fold cross-validation; every grid value is scored in the same pass over the data.

Scoring never holds an ``n_train x n_query`` matrix: queries go in blocks of
``QUERY_BLOCK`` rows (``lax.map``), training rows in blocks of ``TRAIN_BLOCK`` rows
(``lax.fori_loop``) with a running maximum and sum (an online log-sum-exp).  Squared
distances are sums of squared differences, not ``|x|^2 + |t|^2 - 2 x.t``: the expanded form
loses precision in float32 when the bandwidth is small against the data's norm, the direct
form keeps a relative error of about 1e-7 on every kernel term.

Sampling is exact: pick training rows uniformly, add ``N(0, h^2 I)`` noise.

Categorical data (one-hot groups and 0/1 flags of a table's vectoriser) gets a kernel of its own,
Aitchison and Aitken's: a training row's category is kept with probability ``1 - lambda`` and
replaced by each of the ``c - 1`` others with probability ``lambda / (c - 1)`` (a flag flips with
probability ``lambda``).  The Gaussian kernel then covers the continuous columns only::

    log p(x) = logsumexp_j(-|x_c - t_jc|^2 / (2 h^2) + alpha M(x, t_j) + C(x, t_j))
               - log n - d_c log h - (d_c / 2) log(2 pi) + B log(lambda) - sum_b log(c_b - 1)

with ``M`` the number of categorical blocks where ``x`` and ``t_j`` agree, ``alpha = log(1 -
lambda) - log(lambda)``, ``C`` the sum of ``log(c_b - 1)`` over those blocks and ``B`` the number of
blocks: each kernel is a proper distribution over the categories, and the kernel sums are two
matrix products more in the same blocked pass.  ``lambda`` (``cat_smoothing``) is chosen by the
same cross-validation as ``h``; without it one-hot columns get the Gaussian kernel of the
continuous ones, and a small bandwidth then turns samples into copies of training rows.
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._params import Check, Float, Int, Optional, Param
from ..base import Generator
from ..errors import InvalidParameterError
from . import _draws
from ._draws import standard_normal_rows

LOG_2PI = math.log(2.0 * math.pi)
QUERY_BLOCK = 256
TRAIN_BLOCK = 512
FEATURE_BLOCK = 32
BANDWIDTH_RULES = ("scott", "silverman", "cv")
#: candidate values of the categorical kernel's ``lambda`` for cross-validation
LAMBDA_GRID = tuple(float(v) for v in np.geomspace(1e-3, 0.5, 12))
#: ``lambda`` used while the bandwidth is cross-validated first
LAMBDA_START = 0.05


class KDEParams(NamedTuple):
    train: jax.Array  # (n, d) training matrix
    bandwidth: jax.Array  # () the kernel's standard deviation in every dimension


class CategoricalKernel(NamedTuple):
    """Which columns get which kernel (static: hashable, compared by value).

    ``cont``: columns with the Gaussian kernel; ``onehot``: one-hot groups (two or more columns
    each); ``flags``: 0/1 columns; ``lam``: the probability of another category.
    """

    lam: float
    cont: tuple
    onehot: tuple
    flags: tuple

    @property
    def n_blocks(self) -> int:
        return len(self.onehot) + len(self.flags)

    def log_c1(self) -> np.ndarray:
        """``log(c - 1)`` of each feature of :func:`categorical_features` (0 for flags)."""
        parts = [np.full(len(b), math.log(len(b) - 1)) for b in self.onehot]
        parts.append(np.zeros(2 * len(self.flags)))
        return np.concatenate(parts).astype(np.float32)

    def block_log_c1_sum(self) -> float:
        return float(sum(math.log(len(b) - 1) for b in self.onehot))

    def to_json(self) -> dict:
        return {"lam": self.lam, "cont": list(self.cont), "onehot": [list(b) for b in self.onehot],
                "flags": list(self.flags)}

    @classmethod
    def from_json(cls, state: dict) -> "CategoricalKernel":
        return cls(float(state["lam"]), tuple(int(j) for j in state["cont"]),
                   tuple(tuple(int(j) for j in b) for b in state["onehot"]),
                   tuple(int(j) for j in state["flags"]))


def categorical_layout(blocks, d: int, lam: float) -> CategoricalKernel | None:
    """The kernel layout of a vectoriser's blocks, or None when no block is categorical."""
    onehot, flags = [], []
    for b in blocks:
        cols = tuple(range(b.start, b.stop))
        if b.kind == "categorical" and len(cols) >= 2:
            onehot.append(cols)
        elif b.kind == "binary" and len(cols) == 1:
            flags.append(cols[0])
    if not onehot and not flags:
        return None
    taken = {j for b in onehot for j in b} | set(flags)
    cont = tuple(j for j in range(d) if j not in taken)
    return CategoricalKernel(float(lam), cont, tuple(onehot), tuple(flags))


def categorical_features(X, kernel: CategoricalKernel):
    """The categorical part of ``X`` as indicators: one-hot columns, then each flag and 1 - flag.

    The product of two rows' features counts the blocks where they agree.
    """
    parts = [X[:, list(b)] for b in kernel.onehot]
    if kernel.flags:
        f = X[:, list(kernel.flags)]
        parts += [f, 1.0 - f]
    return jnp.concatenate(parts, axis=1)


# ---------------------------------------------------------------------------------------------
# Bandwidth rules
# ---------------------------------------------------------------------------------------------


def scott_bandwidth(n: int, d: int) -> float:
    """Scott's factor as scikit-learn defines it: ``n ** (-1 / (d + 4))`` (no data scale)."""
    return float(n ** (-1.0 / (d + 4)))


def silverman_bandwidth(n: int, d: int) -> float:
    """Silverman's factor as scikit-learn defines it: ``(n (d + 2) / 4) ** (-1 / (d + 4))``."""
    return float((n * (d + 2) / 4.0) ** (-1.0 / (d + 4)))


def default_cv_grid(X, n_points: int = 15, span: float = 10.0) -> np.ndarray:
    """A log grid from ``c / span`` to ``c * span`` around ``c = sigma * scott(n, d)``.

    ``sigma`` is the root mean column variance of ``X``, so the grid follows the data's
    scale; on standardised data ``c`` is Scott's factor itself.
    """
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    sigma = math.sqrt(float(np.mean(np.var(X, axis=0))))
    if not (sigma > 0 and math.isfinite(sigma)):
        sigma = 1.0
    centre = sigma * scott_bandwidth(n, d)
    return centre * np.logspace(-math.log10(span), math.log10(span), n_points)


# ---------------------------------------------------------------------------------------------
# Blocked log-sum-exp of Gaussian kernels
# ---------------------------------------------------------------------------------------------


def _feature_block(d: int) -> int:
    """Features per unrolled step: at most FEATURE_BLOCK, splitting ``d`` into near-equal parts."""
    return -(-d // -(-d // FEATURE_BLOCK))


def _pad_features(A, width: int, axis: int):
    pad = width - A.shape[axis]
    if pad == 0:
        return A
    widths = [(0, 0)] * A.ndim
    widths[axis] = (0, pad)
    return jnp.pad(A, widths)


def _sq_dists(Q, rT, fb: int):
    """``|q_i - r_j|^2`` as a (q, b) matrix from queries (q, D) and features-major rows (D, b).

    Sums of squared differences, ``fb`` features at a time (D is a multiple of ``fb``).
    """

    def add(acc, q, r):
        for k in range(fb):
            diff = q[:, k, None] - r[None, k, :]
            acc = acc + diff * diff
        return acc

    acc = jnp.zeros((Q.shape[0], rT.shape[1]), Q.dtype)
    n_blocks = Q.shape[1] // fb
    if n_blocks == 1:
        return add(acc, Q, rT)

    def body(i, acc):
        q = jax.lax.dynamic_slice_in_dim(Q, i * fb, fb, axis=1)
        r = jax.lax.dynamic_slice_in_dim(rT, i * fb, fb, axis=0)
        return add(acc, q, r)

    return jax.lax.fori_loop(0, n_blocks, body, acc)


def _lse_update(m, s, a):
    """Fold the terms ``a`` (..., b) into a running log-sum-exp held as max ``m`` and sum ``s``."""
    m_new = jnp.maximum(m, jnp.max(a, axis=-1))
    shift = jnp.where(jnp.isfinite(m_new), m_new, 0.0)
    s = s * jnp.exp(m - shift) + jnp.sum(jnp.exp(a - shift[..., None]), axis=-1)
    return m_new, s


def _block_lse(Q, train, scale, q_fold=None, t_fold=None, train_block: int = TRAIN_BLOCK,
               cat=None):
    """``log sum_j exp(-scale_g |q_i - t_j|^2 [+ alpha_g M_ij + C_ij])`` over training rows: (G, q).

    Training rows go in blocks of ``train_block``; the last block is shifted back to end at
    row n and its rows already seen are masked.  With fold labels, rows of the query's own
    fold are left out (held-out scoring).  ``cat``: ``(Qk, Tk, log_c1, alpha)``, the
    categorical indicators of the queries and of the training rows, ``log(c - 1)`` per
    indicator and one ``alpha`` per configuration (see the module's docstring).
    """
    n, d = train.shape
    b = min(train_block, n)
    n_blocks = -(-n // b)
    if d:
        fb = _feature_block(d)
        width = -(-d // fb) * fb
        Qp = _pad_features(Q, width, axis=1)
    G = scale.shape[0]
    init = (jnp.full((G, Q.shape[0]), -jnp.inf, Q.dtype), jnp.zeros((G, Q.shape[0]), Q.dtype))

    def body(i, carry):
        nominal = i * b
        start = jnp.minimum(nominal, n - b)
        valid = (start + jnp.arange(b) >= nominal)[None, :]
        if q_fold is not None:
            folds = jax.lax.dynamic_slice_in_dim(t_fold, start, b)
            valid = valid & (q_fold[:, None] != folds[None, :])
        a = jnp.zeros((G, Q.shape[0], b), Q.dtype)
        if d:
            rT = _pad_features(jax.lax.dynamic_slice_in_dim(train, start, b, axis=0), width, axis=1).T
            a = a - scale[:, None, None] * _sq_dists(Qp, rT, fb)[None]
        if cat is not None:
            Qk, Tk, log_c1, alpha = cat
            tk = jax.lax.dynamic_slice_in_dim(Tk, start, b, axis=0)
            agree = Qk @ tk.T
            weight = (Qk * log_c1) @ tk.T
            a = a + alpha[:, None, None] * agree[None] + weight[None]
        a = jnp.where(valid[None], a, -jnp.inf)
        return _lse_update(*carry, a)

    m, s = jax.lax.fori_loop(0, n_blocks, body, init)
    return m + jnp.log(s)


def _query_blocks_lse(X, train, scale, q_fold=None, t_fold=None, *, query_block: int = QUERY_BLOCK,
                      train_block: int = TRAIN_BLOCK, cat=None):
    """:func:`_block_lse` for any number of queries, ``query_block`` rows at a time: (G, m)."""
    m_rows = X.shape[0]
    qb = min(query_block, m_rows)
    n_q = -(-m_rows // qb)
    pad = n_q * qb - m_rows

    def blocks(A, fill=0):
        return jnp.pad(A, ((0, pad),) + ((0, 0),) * (A.ndim - 1),
                       constant_values=fill).reshape((n_q, qb) + A.shape[1:])

    xs = {"x": blocks(X)}
    if q_fold is not None:
        xs["fold"] = blocks(q_fold, -1)
    if cat is not None:
        xs["cat"] = blocks(cat[0])

    def one(q):
        c = None if cat is None else (q["cat"], cat[1], cat[2], cat[3])
        return _block_lse(q["x"], train, scale, q.get("fold"), t_fold, train_block=train_block, cat=c)

    out = jax.lax.map(one, xs)
    return jnp.transpose(out, (1, 0, 2)).reshape(scale.shape[0], n_q * qb)[:, :m_rows]


def _log_norm(n, d: int, h):
    """``log n + d log h + (d / 2) log(2 pi)``: the kernel sum's normaliser."""
    return jnp.log(n) + d * jnp.log(h) + 0.5 * d * LOG_2PI


# ---------------------------------------------------------------------------------------------
# The model's pure functions
# ---------------------------------------------------------------------------------------------


def fit_kde(X, bandwidth: float) -> KDEParams:
    """The KDE of the rows of ``X`` with a scalar ``bandwidth``: the data and ``h`` themselves."""
    X = jnp.asarray(X, dtype=jnp.float32)
    return KDEParams(X, jnp.asarray(bandwidth, dtype=X.dtype))


def log_prob_kde(params: KDEParams, X, *, query_block: int = QUERY_BLOCK,
                 train_block: int = TRAIN_BLOCK, kernel: CategoricalKernel | None = None):
    """Log density of each row of ``X`` (m, d); ``kernel``: the categorical kernel's layout.

    Working memory is about ``query_block x train_block`` floats whatever n and m are.
    """
    train, h = params.train, params.bandwidth
    X = jnp.asarray(X, dtype=train.dtype)
    scale = jnp.reshape(0.5 / (h * h), (1,))
    if kernel is None:
        lse = _query_blocks_lse(X, train, scale, query_block=query_block, train_block=train_block)[0]
        return lse - _log_norm(jnp.asarray(train.shape[0], train.dtype), train.shape[1], h)
    lam = jnp.asarray(kernel.lam, train.dtype)
    cont = list(kernel.cont)
    cat = (categorical_features(X, kernel), categorical_features(train, kernel),
           jnp.asarray(kernel.log_c1()), jnp.reshape(jnp.log1p(-lam) - jnp.log(lam), (1,)))
    lse = _query_blocks_lse(X[:, cont], train[:, cont], scale, query_block=query_block,
                            train_block=train_block, cat=cat)[0]
    norm = _log_norm(jnp.asarray(train.shape[0], train.dtype), len(cont), h)
    return lse - norm + kernel.n_blocks * jnp.log(lam) - kernel.block_log_c1_sum()


def sample_kde(key, params: KDEParams, n: int, kernel: CategoricalKernel | None = None):
    """``n`` exact draws: training rows picked uniformly, plus ``N(0, h^2 I)`` noise.

    With a categorical ``kernel`` the noise goes to the continuous columns only, and each
    categorical block of the picked row is replaced, with probability ``lambda``, by one of the
    block's other categories chosen uniformly (a flag is flipped).
    """
    k_rows, k_noise, k_cat = jax.random.split(key, 3)
    train = params.train
    idx = jax.random.randint(k_rows, (n,), 0, train.shape[0])
    if kernel is None:
        z = standard_normal_rows(k_noise, n, train.shape[1], train.dtype, params.bandwidth)
        return train[idx] + params.bandwidth * z
    rows = train[idx]
    cont = np.asarray(kernel.cont, dtype=np.int32)
    if cont.size:
        z = standard_normal_rows(k_noise, n, cont.size, train.dtype, params.bandwidth)
        rows = rows.at[:, cont].add(params.bandwidth * z)
    u = _draws.uniform(k_cat, (n, 2 * kernel.n_blocks), train.dtype)
    for i, block in enumerate(kernel.onehot):
        cols = np.asarray(block, dtype=np.int32)
        c = cols.size
        current = jnp.argmax(rows[:, cols], axis=1)
        shift = 1 + jnp.minimum(jnp.floor(u[:, 2 * i + 1] * (c - 1)).astype(jnp.int32), c - 2)
        new = jnp.where(u[:, 2 * i] < kernel.lam, (current + shift) % c, current)
        rows = rows.at[:, cols].set(jax.nn.one_hot(new, c, dtype=train.dtype))
    if kernel.flags:
        flags = np.asarray(kernel.flags, dtype=np.int32)
        offset = 2 * len(kernel.onehot)
        flip = u[:, offset:offset + flags.size] < kernel.lam
        rows = rows.at[:, flags].set(jnp.where(flip, 1.0 - rows[:, flags], rows[:, flags]))
    return rows


@functools.lru_cache(maxsize=64)
def kernel_functions(kernel: CategoricalKernel | None):
    """``(sample_fn, log_prob_fn)`` bound to ``kernel``, the same objects for equal kernels (so
    their compiled programs are shared)."""
    if kernel is None:
        return sample_kde, log_prob_kde
    return (functools.partial(sample_kde, kernel=kernel),
            functools.partial(log_prob_kde, kernel=kernel))


@jax.jit
def _held_out_lse(X, scale, folds):
    return _query_blocks_lse(X, X, scale, folds, folds)


def kfold_labels(key, n: int, n_folds: int) -> np.ndarray:
    """Fold label (0 .. n_folds-1) of each of ``n`` rows: a random permutation dealt in turn."""
    perm = np.asarray(jax.random.permutation(key, n))
    labels = np.empty(n, dtype=np.int32)
    labels[perm] = np.arange(n, dtype=np.int32) % n_folds
    return labels


@jax.jit
def _held_out_lse_mixed(Xc, Xk, log_c1, scale, alpha, folds):
    return _query_blocks_lse(Xc, Xc, scale, folds, folds, cat=(Xk, Xk, log_c1, alpha))


def cv_log_likelihood(X, grid, folds, kernel: CategoricalKernel | None = None,
                      lams=None) -> np.ndarray:
    """Mean held-out log density per bandwidth in ``grid``, over every row of ``X``.

    Row ``i`` is scored by the KDE of the rows outside its fold ``folds[i]``; the kernel
    sums for all bandwidths come from one blocked pass over the row pairs.  With a
    categorical ``kernel``, ``lams`` holds the ``lambda`` that goes with each bandwidth
    (the pairs are scored in the same pass).
    """
    X = np.asarray(X, dtype=np.float32)
    folds = np.asarray(folds, dtype=np.int32)
    grid = np.asarray(grid, dtype=np.float64)
    n = X.shape[0]
    counts = np.bincount(folds)
    n_other = n - counts[folds]
    if np.any(n_other == 0):
        raise InvalidParameterError("folds must hold at least two distinct labels")
    scale = jnp.asarray(0.5 / grid**2, dtype=jnp.float32)
    if kernel is None:
        d = X.shape[1]
        lse = np.asarray(_held_out_lse(jnp.asarray(X), scale, jnp.asarray(folds)), dtype=np.float64)
        log_norm = np.log(n_other)[None, :] + d * np.log(grid)[:, None] + 0.5 * d * LOG_2PI
        return np.mean(lse - log_norm, axis=1)
    lams = np.broadcast_to(np.asarray(lams, dtype=np.float64), grid.shape)
    Xj = jnp.asarray(X)
    alpha = jnp.asarray(np.log1p(-lams) - np.log(lams), dtype=jnp.float32)
    lse = np.asarray(_held_out_lse_mixed(Xj[:, list(kernel.cont)], categorical_features(Xj, kernel),
                                         jnp.asarray(kernel.log_c1()), scale, alpha,
                                         jnp.asarray(folds)), dtype=np.float64)
    dc = len(kernel.cont)
    log_norm = (np.log(n_other)[None, :] + (dc * np.log(grid) + 0.5 * dc * LOG_2PI
                - kernel.n_blocks * np.log(lams) + kernel.block_log_c1_sum())[:, None])
    return np.mean(lse - log_norm, axis=1)


def _cv_rows(key, X, n_folds: int, max_rows: int | None):
    """The rows cross-validation uses (a random subset of at most ``max_rows``) and their folds."""
    X = np.asarray(X, dtype=np.float32)
    k_rows, k_folds = jax.random.split(key)
    if max_rows is not None and X.shape[0] > max_rows:
        X = X[np.sort(np.asarray(jax.random.permutation(k_rows, X.shape[0]))[:max_rows])]
    return X, kfold_labels(k_folds, X.shape[0], n_folds)


def select_bandwidth_cv(key, X, grid, n_folds: int, max_rows: int | None = None):
    """The grid value with the best mean held-out log-likelihood, and the scores of all values.

    With ``max_rows``, the cross-validation uses a random subset of at most that many rows.
    """
    X, folds = _cv_rows(key, X, n_folds, max_rows)
    scores = cv_log_likelihood(X, grid, folds)
    return float(np.asarray(grid)[int(np.argmax(scores))]), scores


def select_kernel_cv(key, X, kernel: CategoricalKernel, grid, lam_grid, n_folds: int,
                     max_rows: int | None = None, *, bandwidth: float | None = None,
                     lam: float | None = None):
    """Bandwidth and ``lambda`` by cross-validation on the same folds, one after the other.

    The bandwidth is chosen with ``lambda`` at :data:`LAMBDA_START`, then ``lambda`` with that
    bandwidth, then the bandwidth again with that ``lambda`` (a value given as ``bandwidth``
    or ``lam`` is kept, not searched).  Returns ``(h, lambda, bandwidth scores, lambda scores)``,
    the scores as dicts from the last search of each (empty when it was given).
    """
    X, folds = _cv_rows(key, X, n_folds, max_rows)
    grid, lam_grid = np.asarray(grid, np.float64), np.asarray(lam_grid, np.float64)
    h = bandwidth if bandwidth is not None else float(np.sqrt(grid[0] * grid[-1]))
    current = lam if lam is not None else LAMBDA_START
    h_scores: dict = {}
    lam_scores: dict = {}
    search_h = bandwidth is None and len(kernel.cont) > 0
    rounds = (["h"] if search_h else []) + (["lam"] if lam is None else [])
    if search_h and lam is None:
        rounds.append("h")
    for what in rounds:
        if what == "h":
            scores = cv_log_likelihood(X, grid, folds, kernel, np.full(grid.shape, current))
            h = float(grid[int(np.argmax(scores))])
            h_scores = {float(g): float(v) for g, v in zip(grid, scores)}
        else:
            scores = cv_log_likelihood(X, np.full(lam_grid.shape, h), folds, kernel, lam_grid)
            current = float(lam_grid[int(np.argmax(scores))])
            lam_scores = {float(g): float(v) for g, v in zip(lam_grid, scores)}
    return h, current, h_scores, lam_scores


# ---------------------------------------------------------------------------------------------
# Hyperparameters and the generator
# ---------------------------------------------------------------------------------------------


def _check_bandwidth(v):
    if isinstance(v, str):
        if v in BANDWIDTH_RULES:
            return v
        raise ValueError
    if isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
        return float(v)
    raise ValueError


def _check_grid(v):
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        if v >= 2:
            return int(v)
        raise ValueError
    if isinstance(v, (list, tuple, np.ndarray)):
        arr = np.asarray(v)
        if arr.ndim != 1 or len(arr) < 2 or arr.dtype.kind not in "iuf":
            raise ValueError
        if not (np.all(np.isfinite(arr)) and np.all(arr > 0)):
            raise ValueError
        return tuple(float(x) for x in np.unique(arr))
    raise TypeError


def _check_smoothing(v):
    if v is None or (isinstance(v, str) and v == "cv"):
        return v
    if isinstance(v, numbers.Real) and not isinstance(v, bool) and 0 < v <= 0.5:
        return float(v)
    raise ValueError


class KDEGenerator(Generator):
    """Kernel density estimate: a Gaussian kernel with one bandwidth for every continuous
    dimension, and a categorical kernel for one-hot groups and flags.

    ``bandwidth``: a positive number, ``"scott"``, ``"silverman"`` (scikit-learn's factors,
    on the vectorised data as it is) or ``"cv"`` (the grid value that maximises the mean
    held-out log-likelihood under ``cv_folds``-fold cross-validation).  ``cat_smoothing``:
    the categorical kernel's probability of another category, ``"cv"`` (chosen on the same
    folds), a number in (0, 0.5], or None for the Gaussian kernel on every column (as
    scikit-learn's ``KernelDensity`` on the same matrix).  Data without categorical blocks
    (an array, a numeric table) is unaffected by it.  Fitted attributes: ``bandwidth_``,
    ``cat_smoothing_`` (None without categorical blocks), and for cross-validated values
    ``cv_scores_`` (bandwidth -> mean held-out log-lik) and ``cv_lambda_scores_``.
    """

    name = "kde"
    hyperparameters = {
        "bandwidth": Param("cv", Check(_check_bandwidth, "a positive number, 'scott', 'silverman' or 'cv'"),
                           "kernel standard deviation, or the rule that chooses it"),
        "cat_smoothing": Param("cv", Check(_check_smoothing, "'cv', a number in (0, 0.5] or None"),
                               "probability that the categorical kernel moves a category "
                               "(None: one-hot columns get the Gaussian kernel)"),
        "cv_grid": Param(15, Check(_check_grid, "an int >= 2 or a sequence of at least 2 positive numbers"),
                         "number of log-spaced candidate bandwidths, or the candidates themselves"),
        "cv_span": Param(10.0, Float(1.0, low_open=True),
                         "the default grid runs from c / cv_span to c * cv_span around sigma * scott"),
        "cv_folds": Param(5, Int(2), "number of cross-validation folds"),
        "cv_max_rows": Param(10_000, Optional(Int(2)),
                             "cross-validate on a random subset of at most this many rows (None: all)"),
    }

    def _fit(self, key, X, hp):
        n, d = X.shape
        self.cv_scores_ = None
        self.cv_lambda_scores_ = None
        kernel = None
        if hp["cat_smoothing"] is not None:
            kernel = categorical_layout(self.vectoriser_.blocks_, d, 0.5)
        rule = hp["bandwidth"]
        dc = d if kernel is None else len(kernel.cont)
        h = rule if not isinstance(rule, str) else None
        if rule == "scott":
            h = scott_bandwidth(n, max(dc, 1))
        elif rule == "silverman":
            h = silverman_bandwidth(n, max(dc, 1))
        if kernel is None:
            if rule == "cv":
                h = self._cross_validate(key, np.asarray(X), hp)
            self._kernel_ = None
            return fit_kde(X, h)
        lam = hp["cat_smoothing"]
        if rule == "cv" or lam == "cv":
            h, lam = self._cross_validate_kernel(key, np.asarray(X), hp, kernel, h,
                                                 None if lam == "cv" else lam)
        if h is None:  # no continuous column: the bandwidth plays no part
            h = 1.0
        self._kernel_ = kernel._replace(lam=float(lam))
        return fit_kde(X, h)

    def _cv_settings(self, X, hp) -> np.ndarray:
        folds = hp["cv_folds"]
        rows = X.shape[0] if hp["cv_max_rows"] is None else min(X.shape[0], hp["cv_max_rows"])
        if rows < folds:
            raise InvalidParameterError(
                f"cv_folds must be at most the number of rows used for cross-validation; "
                f"got cv_folds={folds} with {rows} row(s)"
            )
        grid = hp["cv_grid"]
        if isinstance(grid, int):
            grid = default_cv_grid(X, grid, hp["cv_span"]) if X.shape[1] else np.ones(2)
        return np.asarray(grid, dtype=np.float64)

    def _cross_validate(self, key, X, hp) -> float:
        grid = self._cv_settings(X, hp)
        h, scores = select_bandwidth_cv(key, X, grid, hp["cv_folds"], hp["cv_max_rows"])
        self.cv_scores_ = {float(g): float(s) for g, s in zip(grid, scores)}
        self._warn_at_edge("bandwidth='cv'", h, grid, scores, "widen cv_span or give a cv_grid "
                           "that reaches further")
        return h

    def _cross_validate_kernel(self, key, X, hp, kernel, h, lam):
        grid = self._cv_settings(X[:, list(kernel.cont)], hp)
        h, lam, h_scores, lam_scores = select_kernel_cv(
            key, X, kernel, grid, LAMBDA_GRID, hp["cv_folds"], hp["cv_max_rows"],
            bandwidth=h, lam=lam)
        self.cv_scores_ = h_scores or None
        self.cv_lambda_scores_ = lam_scores or None
        if h_scores:
            self._warn_at_edge("bandwidth='cv'", h, grid, np.array(list(h_scores.values())),
                               "widen cv_span or give a cv_grid that reaches further")
        return h, lam

    @staticmethod
    def _warn_at_edge(what: str, value: float, grid, scores, advice: str) -> None:
        if value in (grid[0], grid[-1]) and np.isfinite(scores).all():
            side = "smallest" if value == grid[0] else "largest"
            warnings.warn(f"{what} chose the {side} value on the grid ({value:.4g}); {advice}",
                          stacklevel=5)

    def _sampler(self):
        return kernel_functions(self._kernel())[0]

    def _log_prob(self):
        return kernel_functions(self._kernel())[1]

    def _kernel(self) -> CategoricalKernel | None:
        return getattr(self, "_kernel_", None)

    _sample_fn = staticmethod(sample_kde)
    _log_prob_fn = staticmethod(log_prob_kde)

    #: ranges it conditions on exactly: any number (a product kernel)
    _condition_ranges = math.inf

    def _condition_fn(self, key, evidence, n):
        """Exact: kernels weighted by their likelihood of the evidence (``_conditional.py``)."""
        from ._conditional import condition_kde

        return condition_kde(key, self.params_, self._kernel(), evidence, n)

    @property
    def cat_smoothing_(self) -> float | None:
        """The categorical kernel's probability of another category (None: no such kernel)."""
        self._check_fitted()
        kernel = self._kernel()
        return None if kernel is None else kernel.lam

    @property
    def bandwidth_(self) -> float:
        """The kernel's standard deviation, as chosen by fit."""
        self._check_fitted()
        return float(self.params_.bandwidth)

    def _hyperparameters_for_file(self):
        out = super()._hyperparameters_for_file()
        if isinstance(out.get("cv_grid"), np.ndarray):
            out["cv_grid"] = [float(x) for x in out["cv_grid"]]
        return out

    def _extra_state(self):
        out = {}
        if getattr(self, "cv_scores_", None) is not None:
            out["cv_grid"] = np.array(list(self.cv_scores_))
            out["cv_scores"] = np.array(list(self.cv_scores_.values()))
        if getattr(self, "cv_lambda_scores_", None) is not None:
            out["cv_lambda_grid"] = np.array(list(self.cv_lambda_scores_))
            out["cv_lambda_scores"] = np.array(list(self.cv_lambda_scores_.values()))
        if self._kernel() is not None:
            out["categorical_kernel"] = self._kernel().to_json()
        return out

    def _set_extra_state(self, extra):
        self.cv_scores_ = self.cv_lambda_scores_ = None
        if "cv_grid" in extra:
            grid, scores = np.asarray(extra["cv_grid"]), np.asarray(extra["cv_scores"])
            self.cv_scores_ = {float(g): float(s) for g, s in zip(grid, scores)}
        if "cv_lambda_grid" in extra:
            grid, scores = np.asarray(extra["cv_lambda_grid"]), np.asarray(extra["cv_lambda_scores"])
            self.cv_lambda_scores_ = {float(g): float(s) for g, s in zip(grid, scores)}
        kernel = extra.get("categorical_kernel")
        self._kernel_ = None if kernel is None else CategoricalKernel.from_json(kernel)
