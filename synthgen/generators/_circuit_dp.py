"""A differentially private circuit: DP quantile states, a paid (or fixed) structure, noisy EM.

A private fit (``epsilon`` set) reads the rows through three kinds of Gaussian releases, each
accounted in the fit's ledger (:mod:`synthgen.dp.accounting`):

* ``circuit_bins:histogram`` - the states of the numeric variables.  Each numeric column's
  values are counted in ``FINE_BINS`` equal-width bins of its public range; the noisy counts
  (clamped at 0) give a CDF whose quantiles at ``0, 1/max_bins, .., 1`` are the edges of the
  variable's interval states (DP quantiles; the outer edges are the public bounds).  A row adds
  1 to one bin per numeric column: L2 sensitivity ``sqrt(number of numeric variables)``.
* ``circuit_structure:pairs`` (``structure="private"``) - the joint counts of every pair of
  variables, from which the Chow-Liu tree is built (plug-in mutual information of the noisy,
  clamped counts).  A row adds 1 to one cell of each pair's table: sensitivity
  ``sqrt(m (m - 1) / 2)``.  ``structure="chain"`` fixes the tree in advance (each variable's
  parent is the one before it) and spends nothing.
* ``circuit_em:counts`` - one release per EM iteration: the expected counts of every
  parameter, summed over the rows.  A row's expected counts of the mixture weights, of the root
  prior, of each variable's transition and of each leaf are each a probability vector (non-
  negative, summing to 1), so one row moves the released counts by at most ``sqrt(2 m + 1)``
  in L2 norm.  The noisy counts are clamped at 0, given ``pseudocount`` and normalised: valid
  parameters by post-processing.

With the structure paid for, EM starts from the tree the noisy pairwise counts describe (each
hidden variable a copy of its variable, each transition the noisy conditional along the edge:
post-processing, no further budget), and ``private_iter=0`` keeps that tree as it is, a
Chow-Liu tree of noisy 2-way marginals.  With the chain it starts from random parameters that
read no data.  EM runs on all rows (no validation split, no best-epoch selection: those would
be releases too).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from ..dp.schema import load_schema
from ..errors import InvalidParameterError
from ._circuit_leaves import state_codes, variables_from_blocks
from ._circuit_model import CircuitParams, Layout, _log_lik_codes, _masks, chow_liu_tree

#: shares of the model's budget: numeric states, structure (when paid), the rest to EM
BINS_SHARE, STRUCTURE_SHARE = 0.1, 0.2
#: equal-width bins of a numeric column's public range behind its DP quantiles
FINE_BINS = 512
#: weight of uniform in the start built from the noisy pairwise counts
INIT_SMOOTHING = 0.05
#: rows per chunk when the expected counts are summed
COUNT_CHUNK = 4096


def may_have_numbers(hp: dict, n_columns: int | None = None) -> bool:
    """Whether a numeric column may need states: the public schema, where it describes every
    column, says there is none only if it lists no continuous or integer column."""
    schema = load_schema(hp.get("public_metadata"))
    numeric = any(m["kind"] in ("continuous", "integer") for m in schema.values())
    return numeric or n_columns is None or len(schema) < n_columns


def plan_circuit(ledger, share: float, hp: dict, n_columns: int | None = None) -> None:
    """The releases of :func:`fit_circuit_private` (sensitivities set once the layout is known)."""
    if int(hp["private_iter"]) == 0 and hp["structure"] != "private":
        raise InvalidParameterError(
            "private_iter must be at least 1 with structure='chain': without EM nothing would "
            "be learned from the data; got 0")
    rest = share
    if may_have_numbers(hp, n_columns):
        ledger.add("circuit_bins:histogram", 1.0, share * BINS_SHARE)
        rest -= share * BINS_SHARE
    if hp["structure"] == "private":
        ledger.add("circuit_structure:pairs", 1.0, share * STRUCTURE_SHARE)
        rest -= share * STRUCTURE_SHARE
    if int(hp["private_iter"]) > 0:
        ledger.add("circuit_em:counts", 1.0, rest, count=int(hp["private_iter"]))


def _release(ledger, name: str):
    try:
        return ledger.get(name)
    except KeyError:
        return None


# ---------------------------------------------------------------------------------------------
# States of the numeric variables: DP quantiles over the public range
# ---------------------------------------------------------------------------------------------


def dp_quantile_edges(rng, x: np.ndarray, lower: float, upper: float, n_states: int,
                      sigma: float) -> np.ndarray:
    """Edges of ``n_states`` (at most) intervals at the noisy quantiles of ``x`` in [lower, upper].

    A histogram of ``FINE_BINS`` equal-width bins over the public range is released with noise
    ``sigma``; the quantiles are read off its clamped, normalised CDF.
    """
    fine = np.linspace(lower, upper, FINE_BINS + 1)
    bins = np.clip(np.searchsorted(fine, np.clip(x, lower, upper), side="right") - 1, 0, FINE_BINS - 1)
    counts = np.bincount(bins, minlength=FINE_BINS).astype(np.float64)
    noisy = np.maximum(counts + sigma * rng.standard_normal(FINE_BINS), 0.0)
    if noisy.sum() <= 0:
        return np.linspace(lower, upper, n_states + 1)
    cdf = np.concatenate([[0.0], np.cumsum(noisy) / noisy.sum()])
    edges = np.interp(np.linspace(0.0, 1.0, n_states + 1), cdf, fine)
    edges[0], edges[-1] = lower, upper
    return np.unique(edges)


def integer_states(lower: float, upper: float, public_lower: float, public_upper: float,
                   edges: np.ndarray | None, max_bins: int):
    """States of an integer column in matrix units: a point per integer of the public range when
    there are at most ``max_bins``; else a point at the lower bound (where many columns pile
    up, as capital gains at 0) and the intervals of ``edges`` above it."""
    step = (upper - lower) / (public_upper - public_lower)
    count = int(round(public_upper - public_lower)) + 1
    if count <= max_bins:
        points = lower + step * np.arange(count)
        return points, points.copy(), np.full(count, step)
    edges = np.unique(np.concatenate([[lower + 0.5 * step], edges[edges > lower + 0.5 * step]]))
    lo = np.concatenate([[lower], edges[:-1]])
    hi = np.concatenate([[lower], edges[1:]])
    return lo, hi, np.concatenate([[step], np.diff(edges)])


def private_states(rng, X: np.ndarray, blocks, fit, max_bins: int, ledger):
    """``(variables, lo, hi, width)`` as :func:`circuit.discretise` gives: numeric states from
    DP quantiles (integer columns of a short public range: a point per value, no budget)."""
    variables = list(variables_from_blocks(blocks))
    names = {b.start: str(b.name) for b in blocks if b.kind == "continuous" and b.stop == b.start + 1}
    numeric = [j for j, v in enumerate(variables) if v.kind == "continuous"]
    rel = _release(ledger, "circuit_bins:histogram")
    if numeric:
        rel.sensitivity = math.sqrt(len(numeric))
    bounds = []
    for j, v in enumerate(variables):
        if v.kind == "continuous":
            c = v.columns[0]
            lower = float(fit.centre[c] - fit.half_width[c])
            upper = float(fit.centre[c] + fit.half_width[c])
            if not upper > lower:
                upper = lower + 1.0
            meta = fit.schema.get(names.get(c, ""), {})
            n_int = (meta.get("upper", 0) - meta.get("lower", 0) + 1) if meta.get("kind") == "integer" else 0
            short = 0 < n_int <= max_bins
            edges = None if short else dp_quantile_edges(rng, X[:, c], lower, upper, max_bins, rel.sigma)
            if meta.get("kind") == "integer":
                a, b, w = integer_states(lower, upper, meta["lower"], meta["upper"], edges, max_bins)
            else:
                a, b, w = edges[:-1], edges[1:], np.diff(edges)
            variables[j] = v._replace(n_states=len(a))
            bounds.append((a, b, w))
        else:
            bounds.append((np.zeros(v.n_states), np.zeros(v.n_states), np.ones(v.n_states)))
    S = max(v.n_states for v in variables)
    lo, hi, width = np.zeros((len(variables), S)), np.zeros((len(variables), S)), np.ones((len(variables), S))
    for j, (a, b, w) in enumerate(bounds):
        lo[j, :len(a)], hi[j, :len(b)], width[j, :len(w)] = a, b, w
    return tuple(variables), lo, hi, width


# ---------------------------------------------------------------------------------------------
# Structure
# ---------------------------------------------------------------------------------------------


def noisy_pair_mi(rng, codes: np.ndarray, n_states, sigma: float):
    """Mutual information of every pair of variables from its noisy, clamped joint counts;
    and those counts, ``{(a, b): (S_a, S_b)}`` for ``a < b``."""
    m = codes.shape[1]
    mi = np.zeros((m, m))
    joints = {}
    for a in range(m):
        for b in range(a + 1, m):
            sa, sb = n_states[a], n_states[b]
            joint = np.bincount(codes[:, a] * sb + codes[:, b], minlength=sa * sb).astype(np.float64)
            joint = np.maximum(joint + sigma * rng.standard_normal(sa * sb), 0.0).reshape(sa, sb)
            joints[a, b] = joint
            total = joint.sum()
            if total <= 0:
                continue
            p = joint / total
            pa, pb = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
            nz = p > 0
            mi[a, b] = mi[b, a] = float(np.sum(p[nz] * np.log(p[nz] / (pa @ pb)[nz])))
    return mi, joints


def chain(m: int) -> tuple[tuple, tuple]:
    """The structure fixed in advance: each variable's parent is the one before it."""
    return tuple(range(-1, m - 1)), tuple(range(m))


def _groups(freq: np.ndarray, n_hidden: int) -> np.ndarray:
    """Each state's hidden state: its own when there are few, else runs of about equal mass."""
    if len(freq) <= n_hidden:
        return np.arange(len(freq))
    cum = np.cumsum(freq + 1e-3) / np.sum(freq + 1e-3)
    return np.minimum((cum * n_hidden - 1e-9).astype(int), n_hidden - 1)


def theta_from_pairs(key, joints: dict, layout, n_hidden: int, n_trees: int,
                     smoothing: float = INIT_SMOOTHING):
    """A start from the released pairwise counts (post-processing, no further budget): each
    hidden variable a copy of its variable (runs of states where it has more than ``n_hidden``),
    each transition the noisy conditional of the tree edge, mixed with ``smoothing`` of uniform;
    trees of the mixture differ by random factors in [0.9, 1.1]."""
    m = len(layout.variables)
    S = max(v.n_states for v in layout.variables)
    H = n_hidden

    def joint(a, b):
        return joints[a, b] if a < b else joints[b, a].T

    other = [(j + 1) % m for j in range(m)]
    marg = [joint(j, other[j]).sum(axis=1) for j in range(m)]
    groups = [_groups(f, H) for f in marg]
    G = [np.eye(H)[g] for g in groups]  # (S_j, H) state -> hidden state
    leaf = np.zeros((m, H, S))
    for j, v in enumerate(layout.variables):
        f = marg[j] + 1e-3
        cond = G[j].T * f[None, :]
        cond = cond / np.maximum(cond.sum(axis=1, keepdims=True), 1e-12)
        cond[cond.sum(axis=1) == 0] = f / f.sum()
        leaf[j, :, :v.n_states] = (1 - smoothing) * cond + smoothing * (f / f.sum())[None, :]
    trans = np.full((m, H, H), 1.0 / H)
    for j, p in enumerate(layout.parents):
        if p >= 0:
            J = G[p].T @ joint(p, j) @ G[j] + 1e-3
            trans[j] = (1 - smoothing) * J / J.sum(axis=1, keepdims=True) + smoothing / H
    root = layout.order[0]
    prior = (marg[root] + 1e-3) @ G[root]
    prior = (1 - smoothing) * prior / prior.sum() + smoothing / H
    keys = jax.random.split(key, 3)
    jitter = lambda k, shape: np.asarray(jax.random.uniform(k, shape, minval=0.9, maxval=1.1), np.float64)  # noqa: E731
    K = n_trees
    norm = lambda a: a / a.sum(axis=-1, keepdims=True)  # noqa: E731
    leaf_k = norm(leaf[None] * jitter(keys[0], (K, m, H, S)))
    trans_k = norm(trans[None] * jitter(keys[1], (K, m, H, H)))
    prior_k = norm(prior[None] * jitter(keys[2], (K, H)))
    return tuple(jnp.asarray(a, jnp.float32) for a in (np.full(K, 1.0 / K), prior_k, trans_k, leaf_k))


# ---------------------------------------------------------------------------------------------
# Noisy EM
# ---------------------------------------------------------------------------------------------


def random_theta(key, layout, n_hidden: int, n_trees: int):
    """Parameters that read no data: uniform weights, other distributions random near uniform."""
    m = len(layout.variables)
    S = max(v.n_states for v in layout.variables)
    H, K = n_hidden, n_trees
    k_p, k_t, k_l = jax.random.split(key, 3)
    u = lambda k, shape: np.asarray(jax.random.uniform(k, shape, minval=0.5, maxval=1.5), np.float64)  # noqa: E731
    states = np.array([v.n_states for v in layout.variables])
    mask = (np.arange(S)[None, :] < states[:, None]).astype(np.float64)
    leaf = u(k_l, (K, m, H, S)) * mask[None, :, None, :]
    prior, trans = u(k_p, (K, H)), u(k_t, (K, m, H, H))
    norm = lambda a: a / a.sum(axis=-1, keepdims=True)  # noqa: E731
    return tuple(jnp.asarray(a, jnp.float32) for a in (np.full(K, 1.0 / K), norm(prior), norm(trans), norm(leaf)))


@functools.partial(jax.jit, static_argnames=("layout",))
def expected_counts(theta, codes, w, *, layout):
    """Expected counts ``theta * d/dtheta sum_i w_i log p(x_i)`` of every parameter; each row's
    part of each distribution is a probability vector."""

    observed = jnp.ones(codes.shape, bool)
    grads = jax.grad(lambda t: jnp.sum(w * _log_lik_codes(t, codes, observed, layout)))(theta)
    return tuple(t * g for t, g in zip(theta, grads))


def summed_counts(theta, codes: np.ndarray, layout):
    """:func:`expected_counts` over all rows, in padded chunks of ``COUNT_CHUNK``."""
    n = codes.shape[0]
    c = min(COUNT_CHUNK, 1 << max(0, (n - 1).bit_length()))
    total = None
    for start in range(0, n, c):
        part = codes[start:start + c]
        w = np.zeros(c, np.float32)
        w[:len(part)] = 1.0
        padded = np.zeros((c, codes.shape[1]), codes.dtype)
        padded[:len(part)] = part
        out = expected_counts(theta, jnp.asarray(padded), jnp.asarray(w), layout=layout)
        total = out if total is None else tuple(a + b for a, b in zip(total, out))
    return total


def noisy_counts(key, counts, sigma: float):
    """The Gaussian mechanism on every count: N(0, sigma^2) noise on each entry."""
    keys = jax.random.split(key, len(counts))
    return tuple(c + sigma * jax.random.normal(k, c.shape, c.dtype) for k, c in zip(keys, counts))


def to_distributions(counts, masks, pseudocount: float):
    """Noisy counts clamped at 0, plus ``pseudocount``, normalised (zero outside ``masks``)."""
    out = []
    for c, mk in zip(counts, masks):
        clamped = (jnp.maximum(c, 0.0) + pseudocount) * mk
        out.append(clamped / jnp.sum(clamped, axis=-1, keepdims=True))
    return tuple(out)


def noisy_em_step(key, theta, codes, layout, sigma: float, pseudocount: float):
    """One EM iteration on noisy expected counts, post-processed to valid distributions."""

    noisy = noisy_counts(key, summed_counts(theta, codes, layout), sigma)
    return to_distributions(noisy, _masks(theta, layout), pseudocount)


def fit_circuit_private(key, X, blocks, fit, *, n_hidden: int, n_trees: int, max_bins: int,
                        private_iter: int, pseudocount: float, structure: str, progress=None):
    """The private fit; returns ``(params, layout, history)`` as :func:`circuit.fit_circuit`."""

    X = np.asarray(X, dtype=np.float32)
    d = X.shape[1]
    ledger = fit.ledger
    k_bins, k_pairs, k_init, k_em = jax.random.split(key, 4)
    rng_bins = np.random.default_rng(np.asarray(jax.random.key_data(k_bins)).ravel())
    variables, lo, hi, width = private_states(rng_bins, X, blocks, fit, max_bins, ledger)
    pre = Layout(variables, (-1,) * len(variables), tuple(range(len(variables))), d)
    codes, _, _ = jax.jit(state_codes, static_argnums=1)(
        jnp.asarray(X), pre.variables, jnp.asarray(lo, jnp.float32), jnp.asarray(hi, jnp.float32),
        jnp.asarray(width, jnp.float32))
    codes = np.asarray(codes)
    m = len(variables)
    if structure == "private" and m > 1:
        rel = ledger.get("circuit_structure:pairs")
        rel.sensitivity = math.sqrt(m * (m - 1) / 2)
        rng_pairs = np.random.default_rng(np.asarray(jax.random.key_data(k_pairs)).ravel())
        mi, joints = noisy_pair_mi(rng_pairs, codes, [v.n_states for v in variables], rel.sigma)
        parents, order = chow_liu_tree(mi)
    else:
        parents, order = chain(m)
        joints = None
    layout = Layout(variables, parents, order, d)
    if joints is not None:
        theta = theta_from_pairs(k_init, joints, layout, n_hidden, n_trees)
    else:
        theta = random_theta(k_init, layout, n_hidden, n_trees)
    em = _release(ledger, "circuit_em:counts")
    if em is not None:
        em.sensitivity = math.sqrt(2 * m + 1)
    for t in range(private_iter):
        theta = noisy_em_step(jax.random.fold_in(k_em, t), theta, codes, layout, em.sigma, pseudocount)
        if progress is not None:
            progress(t + 1, private_iter, float("nan"))
    weights, prior, trans, leaf = theta
    params = CircuitParams(weights, prior, trans, leaf, jnp.asarray(lo, jnp.float32),
                           jnp.asarray(hi, jnp.float32), jnp.asarray(width, jnp.float32))
    return params, layout, [float("nan")] * private_iter
