"""Private fits of the Gaussian models: noisy clipped sufficient statistics, post-processed.

Every statistic is released once through the Gaussian mechanism (its noise set by the
ledger) and everything after is post-processing: counts are floored, covariances are
projected onto the positive definite matrices (eigenvalues floored at ``floor``), mixture
weights are normalised non-negative counts.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from .mechanisms import STAT_CHUNK, clip_rows, gaussian_mechanism, moment_sums, noisy_symmetric
from .mechanisms import weighted_moment_sums

#: share of each model's budget per statistic: count, sum, scatter
STAT_SHARES = {"count": 0.1, "sum": 0.3, "scatter": 0.6}
#: share of a mixture's budget spent on its starting point (one Gaussian of the data)
GMM_INIT_SHARE = 0.2


def plan_moments(ledger, prefix: str, share: float, count: int = 1) -> None:
    """Add the count, sum and scatter releases of one moment estimate to ``ledger``."""
    for stat, w in STAT_SHARES.items():
        ledger.add(f"{prefix}:{stat}", 1.0, share * w, count)


def project_pd(cov: np.ndarray, floor: float) -> np.ndarray:
    """The symmetric matrix nearest ``cov`` (Frobenius) with eigenvalues at least ``floor``."""
    cov = 0.5 * (cov + np.swapaxes(cov, -1, -2))
    w, U = np.linalg.eigh(cov)
    return (U * np.maximum(w, floor)[..., None, :]) @ np.swapaxes(U, -1, -2)


def noisy_moments(key, V, w, fit, prefix: str, diag: bool = False):
    """Noisy count, sum and scatter of centred, clipped rows ``V`` (float64 numpy)."""
    n, s, M = moment_sums(V, w, diag=diag)
    k1, k2, k3 = jax.random.split(key, 3)
    n = gaussian_mechanism(k1, n, fit.sigma(prefix + ":count"))
    s = gaussian_mechanism(k2, s, fit.sigma(prefix + ":sum"))
    M = (gaussian_mechanism(k3, M, fit.sigma(prefix + ":scatter")) if diag
         else noisy_symmetric(k3, M, fit.sigma(prefix + ":scatter")))
    return tuple(np.asarray(jax.device_get(a), np.float64) for a in (n, s, M))


def moments_to_gaussian(n, s, M, floor: float, diag: bool = False):
    """Mean (centred) and covariance from noisy moments; the count floored at 1."""
    n = max(float(n), 1.0)
    mean = s / n
    if diag:
        return mean, np.maximum(M / n - mean * mean, floor)
    return mean, project_pd(M / n - np.outer(mean, mean), floor)


def fit_gaussian_private(key, X, fit, *, covariance_type: str, reg_covar: float):
    """A Gaussian from one noisy count, sum and scatter; returns ``(mean, chol)``, the fields of
    the Gaussian generator's parameters."""
    diag = covariance_type == "diag"
    V = clip_rows(X, jnp.asarray(fit.centre), fit.clip)
    n, s, M = noisy_moments(key, V, jnp.ones(X.shape[0], X.dtype), fit, "gaussian", diag)
    mean, cov = moments_to_gaussian(n, s, M, _floor(reg_covar), diag)
    chol = np.diag(np.sqrt(cov)) if diag else np.linalg.cholesky(cov)
    return jnp.asarray(mean + fit.centre, jnp.float32), jnp.asarray(chol, jnp.float32)


def _floor(reg_covar: float) -> float:
    return max(float(reg_covar), 1e-4)


def _responsibilities(params, v):
    means, chol, log_w = params
    d = v.shape[1]

    def comp(m, L):
        z = jax.scipy.linalg.solve_triangular(L, (v - m).T, lower=True)
        return (-0.5 * jnp.sum(z * z, axis=0) - jnp.sum(jnp.log(jnp.diagonal(L)))
                - 0.5 * d * jnp.log(2 * jnp.pi))

    logp = jax.vmap(comp)(means, chol).T + log_w
    return jnp.exp(logp - logsumexp(logp, axis=1, keepdims=True))


_em_sums = jax.jit(lambda V, w, params, n_chunks: weighted_moment_sums(V, w, _responsibilities,
                                                                          params, n_chunks),
                   static_argnums=3)


def fit_gmm_private(key, X, fit, *, n_components: int, n_iter: int, reg_covar: float):
    """DP-EM: a noisy Gaussian of the data as the start (means drawn from it), then
    ``n_iter`` iterations, each releasing noisy per-component counts, sums and scatters.
    Returns ``(log_weights, means, prec_chol, chol)`` (full covariances), the fields of the
    mixture generator's parameters."""

    K, d, floor = int(n_components), X.shape[1], _floor(reg_covar)
    k_init, k_means, k_iter = jax.random.split(key, 3)
    n = X.shape[0]
    chunks = -(-n // STAT_CHUNK)
    V = clip_rows(X, jnp.asarray(fit.centre), fit.clip)
    V = jnp.concatenate([V, jnp.zeros((chunks * STAT_CHUNK - n, d), V.dtype)])
    w = (jnp.arange(chunks * STAT_CHUNK) < n).astype(V.dtype)
    n0, s0, M0 = noisy_moments(k_init, V, w, fit, "gmm_init")
    mean, cov = moments_to_gaussian(n0, s0, M0, floor)
    L0 = np.linalg.cholesky(cov)
    z = np.asarray(jax.random.normal(k_means, (K, d)), np.float64)
    means = mean + z @ L0.T
    covs = np.repeat(cov[None], K, axis=0)
    weights = np.full(K, 1.0 / K)
    for t in range(int(n_iter)):
        chol = np.linalg.cholesky(covs)
        params = (jnp.asarray(means, V.dtype), jnp.asarray(chol, V.dtype),
                  jnp.asarray(np.log(weights), V.dtype))
        N, S, M = _em_sums(V, w, params, chunks)
        kn, ks, km = jax.random.split(jax.random.fold_in(k_iter, t), 3)
        N = np.asarray(gaussian_mechanism(kn, N, fit.sigma("gmm_em:count")), np.float64)
        S = np.asarray(gaussian_mechanism(ks, S, fit.sigma("gmm_em:sum")), np.float64)
        M = np.asarray(noisy_symmetric(km, M, fit.sigma("gmm_em:scatter")), np.float64)
        N = np.maximum(N, 1.0)
        weights = N / N.sum()
        means = S / N[:, None]
        covs = project_pd(M / N[:, None, None] - means[:, :, None] * means[:, None, :], floor)
    chol = np.linalg.cholesky(covs)
    prec_chol = np.swapaxes(np.linalg.inv(chol), -1, -2)
    return (jnp.asarray(np.log(weights), jnp.float32), jnp.asarray(means + fit.centre, jnp.float32),
            jnp.asarray(prec_chol, jnp.float32), jnp.asarray(chol, jnp.float32))


def plan_gmm(ledger, share: float, hp: dict) -> None:
    """The releases of :func:`fit_gmm_private`; refuses settings that would look at the data."""
    from ..errors import InvalidParameterError

    if hp["n_components"] == "bic":
        raise InvalidParameterError(
            "n_components must be a positive int when epsilon is set: choosing it by BIC reads the "
            "data outside the privacy budget; got 'bic'")
    if hp["covariance_type"] != "full":
        raise InvalidParameterError(
            f"covariance_type must be 'full' when epsilon is set; got {hp['covariance_type']!r}")
    plan_moments(ledger, "gmm_init", share * GMM_INIT_SHARE)
    plan_moments(ledger, "gmm_em", share * (1 - GMM_INIT_SHARE), count=int(hp["private_iter"]))


def private_gmm_summary(hp: dict) -> dict:
    """The selection summary of a private mixture: fixed in advance, nothing measured on data."""
    return {"covariance_type": "full", "n_components": int(hp["n_components"]), "converged": False,
            "n_iter": int(hp["private_iter"]), "lower_bound": float("nan"), "bic_curve": {},
            "search_notes": ["private fit: n_components fixed in advance, EM ran private_iter "
                             "noisy iterations; no likelihood or BIC was computed on the data"]}
