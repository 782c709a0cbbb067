"""The VAE's learned prior: a Gaussian mixture fitted to the aggregate posterior.

A VAE trained against N(0, I) leaves the codes of its training rows in a region of the latent
space that the standard normal does not match: some directions are used, others collapse, and
draws from N(0, I) fall in holes that decode to unrealistic rows.  After training, the codes of
the training rows (one draw ``z = mean + std * eps`` from each row's posterior, a sample of the
aggregate posterior ``q(z) = mean_i q(z | x_i)``) are fitted with a full-covariance Gaussian
mixture, and new rows decode draws from that mixture: the two-stage idea behind TabSyn, with a
mixture in place of the diffusion model.

The generative model is then ``p(x) = int p_prior(z) p(x | z) dz`` with the mixture as
``p_prior``, and the scores below are statements about that model: the ELBO
``E_q[log p(x | z) + log p_prior(z) - log q(z | x)]`` (Monte Carlo over the posterior draws) and
the importance-weighted estimate with ``p_prior`` in place of N(0, I).  With ``prior=None`` every
function is the standard-normal one.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from . import _vae_nets as nets
from .gmm import GMMParams, fit_gmm, log_prob_gmm, sample_gmm

#: rows encoded per call when the training codes are collected (one compiled program)
ENCODE_CHUNK = 4096
#: the fewest training rows per mixture component
ROWS_PER_COMPONENT = 10


def n_prior_components(requested: int, n_rows: int) -> int:
    """Components of the prior's mixture: as requested, at most one per ``ROWS_PER_COMPONENT`` rows."""
    return int(max(1, min(requested, n_rows // ROWS_PER_COMPONENT)))


@jax.jit
def _posterior_draw(key, mean, log_var):
    return mean + jnp.exp(0.5 * log_var) * jax.random.normal(key, mean.shape, mean.dtype)


def aggregate_posterior_draws(key, params: nets.VAEParams, X: np.ndarray, arch: nets.Arch) -> np.ndarray:
    """One draw from each row's posterior ``q(z | x)`` (rows in data units): ``(n, latent_dim)``."""
    encode = jax.jit(nets.encode_rows, static_argnames=("arch",))
    out = []
    for i, start in enumerate(range(0, len(X), ENCODE_CHUNK)):
        part = np.asarray(X[start:start + ENCODE_CHUNK], np.float32)
        n = len(part)
        if n < ENCODE_CHUNK and len(X) > ENCODE_CHUNK:  # pad: one program for every chunk
            part = np.concatenate([part, np.repeat(part[-1:], ENCODE_CHUNK - n, axis=0)])
        codes = encode(params, jnp.asarray(part), arch=arch)
        mean, log_var = codes[:, : arch.latent_dim], codes[:, arch.latent_dim:]
        out.append(np.asarray(_posterior_draw(jax.random.fold_in(key, i), mean, log_var))[:n])
    return np.concatenate(out)


def fit_prior(key, params: nets.VAEParams, X: np.ndarray, arch: nets.Arch, *,
              n_components: int) -> GMMParams:
    """The learned prior: a full-covariance mixture fitted by EM to the aggregate posterior draws."""
    k_codes, k_fit = jax.random.split(key)
    Z = aggregate_posterior_draws(k_codes, params, X, arch)
    K = n_prior_components(n_components, len(Z))
    mixture, _ = fit_gmm(k_fit, Z, n_components=K, covariance_type="full", reg_covar=1e-4,
                         max_iter=200, n_init=1)
    return GMMParams(*(np.asarray(leaf, np.float32) for leaf in mixture))


def as_jax(prior: GMMParams) -> GMMParams:
    """The prior's leaves as float32 JAX arrays (what traced functions close over)."""
    return GMMParams(*(jnp.asarray(leaf, jnp.float32) for leaf in prior))


def latent_draws(key, prior: GMMParams | None, n: int, latent_dim: int):
    """``n`` latent points from the prior (N(0, I) when ``prior`` is None)."""
    if prior is None:
        return jax.random.normal(key, (n, latent_dim), jnp.float32)
    return sample_gmm(key, prior, n)


def log_prior(prior: GMMParams | None, z):
    """log p_prior(z) per row of ``z``."""
    if prior is None:
        return -0.5 * jnp.sum(nets.LOG_2PI + z**2, axis=-1)
    return log_prob_gmm(prior, z)


def sample_rows(key, params: nets.VAEParams, prior: GMMParams | None, n: int, *, arch: nets.Arch,
                mode: str):
    """``n`` rows decoded from prior draws, in data units."""
    k_z, k_x = jax.random.split(key)
    z = latent_draws(k_z, prior, n, arch.latent_dim)
    return nets.decode_rows(k_x, params, z, arch=arch, mode=mode)


def elbo_rows(params: nets.VAEParams, X, *, prior: GMMParams, arch: nets.Arch, draws: int, key):
    """The ELBO per row in data units under the learned prior, averaged over ``draws`` draws."""
    xs = nets.standardise(params, X)
    mean, log_var = nets.encode(params.net, arch, xs)
    std = jnp.exp(0.5 * log_var)
    eps = nets._posterior_draws(key, X, arch.latent_dim)

    def one(i):
        e = eps(i)
        z = mean + std * e
        log_px = nets.log_lik(xs, nets.decode_raw(params.net, arch, z), arch.layout)
        log_qz = -0.5 * jnp.sum(nets.LOG_2PI + log_var + e**2, axis=-1)
        return log_px + log_prior(prior, z) - log_qz

    return jnp.mean(jax.lax.map(one, jnp.arange(draws)), axis=0) + nets.log_jacobian(params)


def iw_log_prob_rows(params: nets.VAEParams, X, *, prior: GMMParams, arch: nets.Arch, k: int, key):
    """Importance-weighted estimate of log p(x) per row under the learned prior, ``k`` draws."""
    xs = nets.standardise(params, X)
    mean, log_var = nets.encode(params.net, arch, xs)
    std = jnp.exp(0.5 * log_var)
    eps = nets._posterior_draws(key, X, arch.latent_dim)

    def one(i):
        e = eps(i)
        z = mean + std * e
        log_px = nets.log_lik(xs, nets.decode_raw(params.net, arch, z), arch.layout)
        log_qz = -0.5 * jnp.sum(nets.LOG_2PI + log_var + e**2, axis=-1)
        return log_px + log_prior(prior, z) - log_qz

    log_w = jax.lax.map(one, jnp.arange(k))
    return jax.scipy.special.logsumexp(log_w, axis=0) - math.log(k) + nets.log_jacobian(params)


def check_prior(prior, latent_dim: int) -> str | None:
    """What is wrong with a saved prior (None when it is a usable mixture over the latent space)."""
    if not isinstance(prior, GMMParams):
        return f"its prior is a {type(prior).__name__}, not a Gaussian mixture"
    leaves = [np.asarray(leaf) for leaf in prior]
    if any(leaf.dtype.kind != "f" or not np.isfinite(leaf).all() for leaf in leaves):
        return "its prior holds values that are not finite floats"
    w, means, prec, cov = leaves
    K = w.shape[0] if w.ndim == 1 else -1
    want = {"log_weights": (K,), "means": (K, latent_dim), "prec_chol": (K, latent_dim, latent_dim),
            "cov_chol": (K, latent_dim, latent_dim)}
    for name, leaf in zip(GMMParams._fields, leaves):
        if K < 1 or leaf.shape != want[name]:
            return f"its prior's {name} has shape {leaf.shape}, expected {want[name]}"
    if not np.isclose(np.exp(w.astype(np.float64)).sum(), 1.0, atol=1e-3):
        return "its prior's weights do not sum to 1"
    for name, L in (("prec_chol", prec), ("cov_chol", cov)):
        if not (np.diagonal(L, axis1=-2, axis2=-1) > 0).all():
            return f"its prior's {name} diagonal must be positive"
    return None
