"""Exact conditionals of a Gaussian mixture: fixed features, plus one feature in an interval.

A mixture ``sum_k w_k N(mu_k, S_k)`` given ``x_A = a`` is again a mixture over the other
features ``B``:

* weights ``w_k N(a | mu_kA, S_kAA)``, normalised (each component's marginal likelihood of
  the evidence);
* means ``mu_kB + S_kBA S_kAA^-1 (a - mu_kA)`` and covariances
  ``S_kBB - S_kBA S_kAA^-1 S_kAB`` (the Schur complement, from the Cholesky factor of
  ``S_kAA``).

An interval ``lo <= x_j <= hi`` on one feature ``j`` of ``B`` multiplies each weight by the
component's conditional probability of the interval; ``x_j`` is drawn from that component's
truncated normal and the rest of ``B`` conditioned on it in turn.  Everything is exact.

The algebra runs in float64 on the host: the mixtures are small (``K`` components of ``d``
features), and a one-hot group fixed as evidence has a covariance block that is singular up to
``reg_covar``, which float32 cannot factor.  The random numbers come from ``jax.random`` keys,
so rows depend only on the seed.  ``cov`` of one component serves every component (tied
covariance, or a kernel density estimate whose kernels are its training rows).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import log_ndtr, ndtri_exp

from ..errors import SamplingError

#: rows of evidence handled at once when every row has its own (bounds memory at rows x K x m)
_CHUNK = 512


class Mixture(NamedTuple):
    """A Gaussian mixture in matrix space, float64: ``cov`` is (K, d, d) or (1, d, d) (shared)."""

    log_weights: np.ndarray
    means: np.ndarray
    cov: np.ndarray


class _Plan(NamedTuple):
    A: np.ndarray  # fixed features (m,)
    B: np.ndarray  # the others, the ranged one (if any) first (b,)
    L_inv: np.ndarray  # (K', m, m) inverse Cholesky factor of S_AA
    log_det: np.ndarray  # (K',) log det S_AA
    gain: np.ndarray  # (K', b, m) S_BA S_AA^-1
    cov_b: np.ndarray  # (K', b, b) Schur complement


def gaussian_mixture(log_weights, means, cov) -> Mixture:
    """A :class:`Mixture` from arrays of any float type."""
    cov = np.asarray(cov, np.float64)
    return Mixture(np.asarray(log_weights, np.float64), np.asarray(means, np.float64),
                   cov if cov.ndim == 3 else cov[None])


def _cholesky(S: np.ndarray) -> np.ndarray:
    """Batched Cholesky of symmetric positive (semi)definite matrices, with a tiny jitter if
    rounding made one indefinite."""
    S = 0.5 * (S + np.swapaxes(S, -1, -2))
    try:
        return np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        scale = np.maximum(np.trace(S, axis1=-2, axis2=-1) / max(S.shape[-1], 1), 1e-300)
        eye = np.eye(S.shape[-1])
        for jitter in (1e-12, 1e-10, 1e-8):
            try:
                return np.linalg.cholesky(S + jitter * scale[..., None, None] * eye)
            except np.linalg.LinAlgError:
                continue
        raise


def plan(mix: Mixture, fixed: np.ndarray, ranged: int | None) -> _Plan:
    """The Schur complements of the mixture for the fixed features ``fixed``."""
    d = mix.means.shape[1]
    A = np.asarray(fixed, np.int64)
    rest = np.setdiff1d(np.arange(d), A)
    if ranged is not None:
        rest = np.concatenate([[ranged], rest[rest != ranged]])
    S = mix.cov
    k = S.shape[0]
    if A.size:
        L = _cholesky(S[:, A][:, :, A])
        L_inv = np.linalg.inv(L)
        log_det = 2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
        S_AB = S[:, A][:, :, rest]
        W = L_inv @ S_AB  # (K', m, b) = L^-1 S_AB
        gain = np.swapaxes(np.swapaxes(L_inv, 1, 2) @ W, 1, 2)  # S_BA S_AA^-1
        cov_b = S[:, rest][:, :, rest] - np.swapaxes(W, 1, 2) @ W
    else:
        L_inv, log_det = np.zeros((k, 0, 0)), np.zeros(k)
        gain, cov_b = np.zeros((k, rest.size, 0)), S[:, rest][:, :, rest]
    return _Plan(A, rest, L_inv, log_det, gain, cov_b)


def posterior_log_weights(mix: Mixture, p: _Plan, values: np.ndarray) -> np.ndarray:
    """log w_k N(a | mu_kA, S_kAA) for each row of evidence ``values`` (r, m): (r, K), unnormalised."""
    m = p.A.size
    diff = values[:, None, :] - mix.means[None, :, p.A]  # (r, K, m)
    if p.L_inv.shape[0] == 1:
        z = diff @ p.L_inv[0].T
    else:
        z = np.einsum("rkm,knm->rkn", diff, p.L_inv)
    maha = np.sum(z * z, axis=-1)
    return mix.log_weights[None] - 0.5 * (m * np.log(2 * np.pi) + p.log_det[None] + maha)


def _log_diff_ndtr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log(Phi(b) - Phi(a)) for a <= b, accurate in both tails."""
    flip = a > 0
    lo, hi = np.where(flip, -b, a), np.where(flip, -a, b)
    lb, la = log_ndtr(hi), log_ndtr(lo)
    with np.errstate(divide="ignore", invalid="ignore"):
        return lb + np.log1p(-np.exp(np.minimum(la - lb, 0.0)))


def truncated_standard_normal(u: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The inverse CDF of N(0, 1) truncated to [a, b] at the uniforms ``u`` (tails in log space)."""
    flip = a > 0
    lo, hi = np.where(flip, -b, a), np.where(flip, -a, b)
    la, lb = log_ndtr(lo), log_ndtr(hi)
    u = np.clip(u, 1e-12, 1 - 1e-12)
    logp = np.logaddexp(np.log1p(-u) + la, np.log(u) + lb)
    x = np.clip(ndtri_exp(np.minimum(logp, 0.0)), lo, hi)
    return np.where(flip, -x, x)


def _pick(log_w: np.ndarray, u: np.ndarray) -> np.ndarray:
    """A component per row from unnormalised log weights (r, K) (r = 1: shared) and uniforms."""
    top = log_w.max(axis=1, keepdims=True)
    if not np.isfinite(top).all():
        raise SamplingError(
            "the model gives the evidence zero probability under every component, so no row "
            "can carry it (the condition is impossible under this model)"
        )
    cdf = np.cumsum(np.exp(log_w - top), axis=1)
    cdf /= cdf[:, -1:]
    if log_w.shape[0] == 1:
        idx = np.searchsorted(cdf[0], u, side="right")
    else:
        idx = (cdf < u[:, None]).sum(axis=1)
    return np.minimum(idx, log_w.shape[1] - 1)


def sample_conditional(uniforms, normals, mix: Mixture, fixed, values, ranged=None,
                       lower=None, upper=None) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the mixture given ``x[fixed] = values`` (values (r, m), r = 1 or n) and, with
    ``ranged``, ``lower <= x[ranged] <= upper`` ((r,) arrays).

    ``uniforms`` (n, 2) and ``normals`` (n, d) are the random numbers (n rows).  Returns the
    rows (n, d) and the posterior weights of the first evidence row (for inspection).
    """
    n, d = normals.shape
    values = np.asarray(values, np.float64)
    p = plan(mix, fixed, ranged)
    K = mix.means.shape[0]
    shared = p.cov_b.shape[0] == 1
    out = np.empty((n, d))
    out[:, p.A] = np.broadcast_to(values, (n, p.A.size))
    r = values.shape[0]
    comps = np.empty(n, np.int64)
    first = None
    for s in range(0, r, _CHUNK):
        vals = values[s:s + _CHUNK]
        log_w = posterior_log_weights(mix, p, vals)
        if ranged is not None:
            mean_j, sd_j = _ranged_marginal(mix, p, vals, shared)
            lo, hi = np.asarray(lower)[s:s + _CHUNK, None], np.asarray(upper)[s:s + _CHUNK, None]
            log_w = log_w + _log_diff_ndtr((lo - mean_j) / sd_j, (hi - mean_j) / sd_j)
        if first is None:
            first = log_w[0] - np.logaddexp.reduce(log_w[0])
        rows = slice(0, n) if r == 1 else slice(s, s + len(vals))
        comps[rows] = _pick(log_w, uniforms[rows, 0])
    # conditional means of the chosen components
    diff = np.broadcast_to(values, (n, p.A.size)) - mix.means[comps][:, p.A]
    g = p.gain[0] if shared else None
    mean_b = mix.means[comps][:, p.B] + (diff @ g.T if shared else
                                          np.einsum("nbm,nm->nb", p.gain[comps], diff))
    cov_b = p.cov_b
    start = 0
    if ranged is not None:
        var = cov_b[:, 0, 0]
        sd = np.sqrt(var)
        sd_n = sd[0] if shared else sd[comps]
        lo = np.broadcast_to(np.asarray(lower, np.float64), (n,))
        hi = np.broadcast_to(np.asarray(upper, np.float64), (n,))
        t = truncated_standard_normal(uniforms[:, 1], (lo - mean_b[:, 0]) / sd_n,
                                      (hi - mean_b[:, 0]) / sd_n)
        x_j = np.clip(mean_b[:, 0] + sd_n * t, lo, hi)
        gain_j = cov_b[:, 1:, 0] / var[:, None]  # (K', b-1)
        step = (x_j - mean_b[:, 0])[:, None]
        mean_b = mean_b[:, 1:] + step * (gain_j[0] if shared else gain_j[comps])
        cov_b = cov_b[:, 1:, 1:] - gain_j[:, :, None] * cov_b[:, None, 0, 1:]
        out[:, p.B[0]] = x_j
        start = 1
    z = normals[:, :p.B.size - start]
    if p.B.size - start:
        chol = _cholesky(cov_b)
        if shared:
            free = mean_b + z @ chol[0].T
        else:
            free = np.empty_like(mean_b)
            for k in np.unique(comps):
                rows = comps == k
                free[rows] = mean_b[rows] + z[rows] @ chol[k].T
        out[:, p.B[start:]] = free
    return out, np.exp(first) if first is not None else np.ones(K) / K


def _ranged_marginal(mix: Mixture, p: _Plan, vals: np.ndarray, shared: bool):
    """Mean (r, K) and standard deviation (1 or K,) of the ranged feature given the evidence."""
    j = p.B[0]
    diff = vals[:, None, :] - mix.means[None, :, p.A]  # (r, K, m)
    g = p.gain[:, 0, :]  # (K', m)
    mean = mix.means[None, :, j] + (diff @ g[0] if shared else np.einsum("rkm,km->rk", diff, g))
    sd = np.sqrt(p.cov_b[:, 0, 0])
    return mean, (sd[None, :] if not shared else sd[None, :1])


#: rows drawn per call of :func:`sample_conditional` (bounds memory at rows x features)
CHUNK_ROWS = 1 << 16


def _padded(n: int) -> int:
    """Random numbers are drawn for a power-of-two row count (one program per size class)."""
    return max(256, 1 << max(0, (n - 1).bit_length()))


def _uniforms(key, n: int, k: int) -> np.ndarray:
    import jax

    return np.asarray(jax.random.uniform(key, (_padded(n), k)), np.float64)[:n]


def _normals(key, n: int, k: int) -> np.ndarray:
    import jax

    return np.asarray(jax.random.normal(key, (_padded(n), k)), np.float64)[:n]


def condition_mixture(key, mix: Mixture, evidence, n: int, method: str = "exact mixture"):
    """``n`` matrix rows (float32) of ``mix`` given ``evidence`` (at most one ranged feature),
    chunk ``c`` drawn with ``fold_in(key, c)``; and a summary with the posterior weights."""
    import jax

    d = mix.means.shape[1]
    ranged = int(evidence.ranged[0]) if evidence.ranged.size else None
    out = np.empty((n, d), np.float32)
    weights = None
    for c, start in enumerate(range(0, n, CHUNK_ROWS)):
        stop = min(n, start + CHUNK_ROWS)
        ev = evidence.rows(start, stop)
        k_u, k_z = jax.random.split(jax.random.fold_in(key, c))
        u = _uniforms(k_u, stop - start, 2)
        z = _normals(k_z, stop - start, d)
        lower = ev.lower[:, 0] if ranged is not None else None
        upper = ev.upper[:, 0] if ranged is not None else None
        rows, w = sample_conditional(u, z, mix, ev.fixed, ev.values, ranged, lower, upper)
        out[start:stop] = rows
        if weights is None:
            weights = w
    info = {"method": method, "n_components": int(mix.means.shape[0])}
    if mix.means.shape[0] <= 64:
        info["posterior_weights"] = [float(v) for v in weights]
    else:
        info["effective_components"] = float(1.0 / np.sum(weights ** 2))
    return out, info


def gmm_mixture(params) -> Mixture:
    """The :class:`Mixture` of a fitted ``GMMParams`` (any covariance type)."""
    L = np.asarray(params.cov_chol, np.float64)
    K, d = np.asarray(params.means).shape
    if L.ndim == 3:
        cov = L @ np.swapaxes(L, -1, -2)
    else:
        var = np.broadcast_to(L * L, (K, d))
        cov = var[:, :, None] * np.eye(d)[None]
    return gaussian_mixture(params.log_weights, params.means, cov)


def pca_gmm_mixture(params) -> Mixture:
    """The data-space density of a PCA+GMM: ``N(mu + W m_k, W S_k W^T + s2 (I - W W^T))``."""
    inner = gmm_mixture(params.mixture)
    W = np.asarray(params.components, np.float64)
    d, q = W.shape
    noise = float(params.noise_var) * (np.eye(d) - W @ W.T) if q < d else np.zeros((d, d))
    cov = W[None] @ inner.cov @ W.T[None] + noise[None]
    means = np.asarray(params.mean, np.float64)[None] + inner.means @ W.T
    return gaussian_mixture(inner.log_weights, means, cov)


def kde_mixture(params) -> Mixture:
    """A Gaussian-kernel KDE as a mixture: one component per training row, ``cov = h^2 I``."""
    T = np.asarray(params.train, np.float64)
    n, d = T.shape
    h2 = float(params.bandwidth) ** 2
    return gaussian_mixture(np.full(n, -np.log(n)), T, h2 * np.eye(d))


# ---------------------------------------------------------------------------------------------
# Kernel density estimates: product kernels, so every feature is independent given the kernel
# ---------------------------------------------------------------------------------------------


def _kde_layout(kernel, d: int):
    """(continuous features, one-hot groups, flags) of a KDE's kernel (None: all Gaussian)."""
    if kernel is None:
        return np.arange(d), (), ()
    return (np.asarray(kernel.cont, np.int64), tuple(np.asarray(b) for b in kernel.onehot),
            tuple(int(j) for j in kernel.flags))


def kde_log_weights(train, h, lam, layout, evidence, vals, lower, upper):
    """log of each kernel's likelihood of each evidence row (r, n_train), up to a constant."""
    cont, groups, flags = layout
    fixed = {int(j): i for i, j in enumerate(evidence.fixed)}
    out = np.zeros((vals.shape[0], train.shape[0]))
    for j in cont:
        if int(j) in fixed:
            a = vals[:, fixed[int(j)]][:, None]
            out -= 0.5 * ((a - train[None, :, j]) / h) ** 2
    for cols in groups:
        if int(cols[0]) in fixed:
            given = np.argmax(vals[:, [fixed[int(c)] for c in cols]], axis=1)[:, None]
            own = np.argmax(train[:, cols], axis=1)[None]
            out += np.where(given == own, np.log1p(-lam), np.log(lam / (len(cols) - 1)))
    for j in flags:
        if j in fixed:
            same = np.abs(vals[:, fixed[j]][:, None] - train[None, :, j]) < 0.5
            out += np.where(same, np.log1p(-lam), np.log(lam))
    for c, j in enumerate(evidence.ranged):
        t = train[None, :, j]
        out += _log_diff_ndtr((lower[:, c:c + 1] - t) / h, (upper[:, c:c + 1] - t) / h)
    return out


def condition_kde(key, params, kernel, evidence, n: int):
    """``n`` rows of a KDE given ``evidence`` (any number of ranges), exactly: kernels weighted
    by their likelihood of the evidence, then each feature drawn from the chosen kernel."""
    import jax

    train = np.asarray(params.train, np.float64)
    h = float(params.bandwidth)
    lam = float(kernel.lam) if kernel is not None else 0.0
    N, d = train.shape
    layout = _kde_layout(kernel, d)
    k_u, k_z, k_c = jax.random.split(key, 3)
    u = _uniforms(k_u, n, 1 + evidence.ranged.size)
    z = _normals(k_z, n, d)
    uc = _uniforms(k_c, n, 2 * (len(layout[1]) + len(layout[2])))
    r = evidence.n_rows
    comps = np.empty(n, np.int64)
    first = None
    for s in range(0, r, _CHUNK):
        sl = slice(s, s + _CHUNK)
        log_w = kde_log_weights(train, h, lam, layout, evidence, evidence.values[sl],
                                evidence.lower[sl], evidence.upper[sl])
        if first is None:
            first = log_w[0]
        rows = slice(0, n) if r == 1 else slice(s, s + log_w.shape[0])
        comps[rows] = _pick(log_w, u[rows, 0])
    out = train[comps] + h * z * _continuous_mask(layout, d)
    out = _kde_categories(out, train[comps], layout, lam, uc)
    for c, j in enumerate(evidence.ranged):
        lo = np.broadcast_to(evidence.lower[:, c], (n,))
        hi = np.broadcast_to(evidence.upper[:, c], (n,))
        t = train[comps, j]
        x = t + h * truncated_standard_normal(u[:, 1 + c], (lo - t) / h, (hi - t) / h)
        out[:, j] = np.clip(x, lo, hi)
    out[:, evidence.fixed] = np.broadcast_to(evidence.values, (n, evidence.fixed.size))
    w = np.exp(first - np.logaddexp.reduce(first))
    info = {"method": "exact kernel weighting", "n_components": int(N),
            "effective_components": float(1.0 / np.sum(w ** 2))}
    return out.astype(np.float32), info


def _continuous_mask(layout, d: int) -> np.ndarray:
    mask = np.zeros(d)
    mask[layout[0]] = 1.0
    return mask


def _kde_categories(out, picked, layout, lam, uc):
    """Categorical blocks of the chosen kernels: kept, or with probability ``lam`` another."""
    _, groups, flags = layout
    for i, cols in enumerate(groups):
        c = len(cols)
        current = np.argmax(picked[:, cols], axis=1)
        shift = 1 + np.minimum(np.floor(uc[:, 2 * i + 1] * (c - 1)).astype(np.int64), c - 2)
        new = np.where(uc[:, 2 * i] < lam, (current + shift) % c, current)
        out[:, cols] = np.eye(c)[new]
    base = 2 * len(groups)
    for i, j in enumerate(flags):
        flip = uc[:, base + i] < lam
        out[:, j] = np.where(flip, 1.0 - picked[:, j], picked[:, j])
    return out
