"""The multivariate normal generator: the simplest model, and the protocol's reference."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._params import Choice, Float, Param
from ..base import Generator
from ..dp.params import PRIVACY_PARAMS, check_privacy
from ._draws import standard_normal_rows
from ._linalg import mvn_log_prob_chol, mvn_log_prob_diag


class GaussianParams(NamedTuple):
    mean: jax.Array  # (d,)
    chol: jax.Array  # (d, d) lower Cholesky factor of the covariance (diagonal for "diag")


def fit_gaussian(X, *, covariance_type: str = "full", reg_covar: float = 1e-6) -> GaussianParams:
    """Maximum-likelihood mean and covariance (divided by n, as scipy and scikit-learn do)."""
    mean = jnp.mean(X, axis=0)
    Xc = X - mean
    if covariance_type == "diag":
        var = jnp.mean(Xc * Xc, axis=0) + reg_covar
        return GaussianParams(mean, jnp.diag(jnp.sqrt(var)))
    cov = Xc.T @ Xc / X.shape[0] + reg_covar * jnp.eye(X.shape[1], dtype=X.dtype)
    return GaussianParams(mean, jnp.linalg.cholesky(cov))


def fit_gaussian_float64(X: np.ndarray, *, reg_covar: float = 1e-6) -> GaussianParams:
    """:func:`fit_gaussian` (full covariance) with the moments and the Cholesky factor in float64.

    A one-hot group's columns sum to 1, so its covariance is singular and ``reg_covar`` is all
    that keeps it positive definite; in float32 the rounding of the scatter matrix can exceed
    that and the factorisation fails.  The factor is then stored in float32.
    """
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    Xc = X - mean
    cov = Xc.T @ Xc / X.shape[0] + reg_covar * np.eye(X.shape[1])
    chol = np.linalg.cholesky(cov)
    return GaussianParams(jnp.asarray(mean, jnp.float32), jnp.asarray(chol, jnp.float32))


def sample_gaussian(key, params: GaussianParams, n: int):
    z = standard_normal_rows(key, n, params.mean.shape[0], params.mean.dtype, params.mean[0])
    return params.mean + z @ params.chol.T


def log_prob_gaussian(params: GaussianParams, X):
    return mvn_log_prob_chol(X, params.mean, params.chol)


def log_prob_gaussian_diag(params: GaussianParams, X):
    return mvn_log_prob_diag(X, params.mean, jnp.diagonal(params.chol) ** 2)


class GaussianGenerator(Generator):
    """Multivariate normal with ``covariance_type`` ``"full"`` or ``"diag"``."""

    name = "gaussian"
    hyperparameters = {
        "covariance_type": Param("full", Choice("full", "diag"), "full or diagonal covariance"),
        "reg_covar": Param(1e-6, Float(0), "added to the covariance's diagonal"),
        **PRIVACY_PARAMS,
    }

    def _fit(self, key, X, hp):
        self.covariance_type_ = hp["covariance_type"]
        check_privacy(hp)
        if hp["epsilon"] is not None:
            from ..dp.models import fit_gaussian_private

            return GaussianParams(*fit_gaussian_private(
                key, X, self._private_fit_, covariance_type=hp["covariance_type"],
                reg_covar=hp["reg_covar"]))
        if hp["covariance_type"] == "diag":
            return fit_gaussian(X, covariance_type="diag", reg_covar=hp["reg_covar"])
        return fit_gaussian_float64(np.asarray(X), reg_covar=hp["reg_covar"])

    _sample_fn = staticmethod(sample_gaussian)
    _log_prob_fn = staticmethod(log_prob_gaussian)

    def _log_prob(self):
        """Scores follow the covariance the model was fitted with, whatever ``set_params`` did
        since (the hyperparameter takes effect at the next ``fit``)."""
        self._check_fitted()
        return log_prob_gaussian_diag if self.covariance_type_ == "diag" else log_prob_gaussian

    def _plan_private(self, ledger, share, hp, n_rows=None, n_columns=None):
        from ..dp.models import plan_moments

        check_privacy(hp)
        plan_moments(ledger, "gaussian", share)

    def _extra_state(self):
        return {"covariance_type": self.covariance_type_}

    def _set_extra_state(self, extra):
        self.covariance_type_ = extra.get("covariance_type", self.covariance_type)

    def _condition_fn(self, key, evidence, n):
        """Exact: the conditional normal (Schur complement), see ``_conditional.py``."""
        from ._conditional import condition_mixture, gaussian_mixture

        L = np.asarray(self.params_.chol, np.float64)
        mix = gaussian_mixture([0.0], np.asarray(self.params_.mean)[None], L @ L.T)
        return condition_mixture(key, mix, evidence, n, "exact conditional normal")

    @property
    def mean_(self):
        self._check_fitted()
        return jax.device_get(self.params_.mean)

    @property
    def covariance_(self):
        self._check_fitted()
        L = jax.device_get(self.params_.chol)
        return L @ L.T
