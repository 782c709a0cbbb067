"""Small pure helpers shared by the Gaussian-family generators."""

from __future__ import annotations

import math

import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular

LOG_2PI = math.log(2.0 * math.pi)


def mvn_log_prob_chol(X, mean, chol):
    """log N(X | mean, L L^T) for each row of X, from the lower Cholesky factor L."""
    d = X.shape[-1]
    z = solve_triangular(chol, (X - mean).T, lower=True)
    maha = jnp.sum(z * z, axis=0)
    log_det = 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol)))
    return -0.5 * (d * LOG_2PI + log_det + maha)


def mvn_log_prob_diag(X, mean, var):
    """log N(X | mean, diag(var)) for each row of X."""
    d = X.shape[-1]
    maha = jnp.sum((X - mean) ** 2 / var, axis=-1)
    return -0.5 * (d * LOG_2PI + jnp.sum(jnp.log(var)) + maha)
