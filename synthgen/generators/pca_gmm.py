"""PCA, then a Gaussian mixture in the reduced space: a generator for wide data.

The data are centred and projected on the ``q`` leading principal directions ``W``
(orthonormal columns, eigenvectors of the scatter matrix).  A mixture models the projected rows; the ``d - q``
discarded directions are modelled as isotropic Gaussian noise whose variance is the
mean of the discarded eigenvalues (probabilistic PCA), so the density in data space is

    log p(x) = log p_gmm(W^T (x - mu)) + log N(r; 0, sigma^2 I_{d-q}),
    r = (x - mu) - W W^T (x - mu).

Samples are drawn in the reduced space and mapped back with ``mu + W z`` (the inverse
transform); with ``sample_noise=True`` the noise in the discarded directions is drawn
too, so the samples follow the density exactly.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._compile_cache import bucket
from .._params import AnyOf, Bool, Float, Int, Param
from ..errors import InvalidParameterError
from ._em import LOG_2PI
from ._draws import standard_normal_rows
from .gmm import GMMGenerator, GMMParams, _gmm_settings, log_prob_gmm, sample_gmm, select_gmm


class PCAGMMParams(NamedTuple):
    """Centre ``mean`` (d,), principal directions ``components`` (d, q) with orthonormal
    columns, ``noise_var`` (scalar) of the discarded directions, and the reduced-space
    ``mixture``."""

    mean: jax.Array
    components: jax.Array
    noise_var: jax.Array
    mixture: GMMParams


# ---------------------------------------------------------------------------------------------
# Pure functions
# ---------------------------------------------------------------------------------------------


def fit_pca(X, n_components):
    """Principal directions of ``X``: the eigenvectors of the centred scatter matrix.

    The ``d x d`` scatter matrix is one matrix product and its eigendecomposition is
    small, whatever the number of rows (a LAPACK SVD of the tall matrix is much slower
    on a busy CPU); the eigenvalues are then refined as the variance of the rows along
    each direction (Rayleigh quotients), which is accurate to float32 precision.

    ``n_components``: an int ``q``, or a float in (0, 1), the fraction of variance to
    keep (the smallest ``q`` whose explained-variance ratio reaches it, as scikit-learn).
    Returns ``(mean (d,), components (d, q), eigenvalues (d,), q)`` with the eigenvalues
    of the covariance divided by ``n``, largest first, and each direction's sign fixed
    so its largest entry is positive.
    """
    mean, W, eig, q, _ = _pca_kept(X, n_components)
    return mean, W, eig, q


def _pca_kept(X, n_components):
    """:func:`fit_pca`'s results, plus the rows projected on the kept directions ``(n, q)``."""
    mean, vecs, eig, proj = _pca_rows(X)
    n, d = np.shape(X)
    q = components_for(n_components, eig, n, d)
    return mean, jnp.asarray(np.asarray(vecs)[:, :q]), eig, q, proj[:, :q]


def _pca_rows(X):
    """``(mean, directions (d, d), eigenvalues (d,) float64, projected rows (n, d))``.

    The rows are padded (weight 0) to a size bucket, so every row count of the bucket
    shares one compiled program; the projections are those of the Rayleigh quotients.
    """
    X = np.asarray(X, np.float32)
    n, d = X.shape
    Xp = np.zeros((bucket(n), d), np.float32)
    Xp[:n] = X
    mean, vecs, eig, proj = _pca_padded(jnp.asarray(Xp), jnp.asarray(n, jnp.int32))
    eig = np.asarray(eig, np.float64)
    if n < d:
        eig[n:] = 0.0  # at most n - 1 directions carry variance; the rest is rounding
    return mean, vecs, eig, np.asarray(proj)[:n]


@jax.jit
def _pca_padded(X, n):
    """:func:`_pca_rows` on rows of which the first ``n`` are real (the rest are weight 0)."""
    real = (jnp.arange(X.shape[0]) < n).astype(X.dtype)
    d = X.shape[1]
    n = n.astype(X.dtype)
    mean = (real @ X) / n
    Xc = (X - mean) * real[:, None]
    _, vecs = jnp.linalg.eigh(Xc.T @ Xc)
    proj = Xc @ vecs
    eig = jnp.sum(proj**2, axis=0) / n
    order = jnp.argsort(-eig)
    vecs, eig, proj = vecs[:, order], eig[order], proj[:, order]
    big = jnp.argmax(jnp.abs(vecs), axis=0)
    signs = jnp.sign(vecs[big, jnp.arange(d)])
    signs = jnp.where(signs == 0, 1.0, signs)
    return mean, vecs * signs[None, :], eig, proj * signs[None, :]


def components_for(n_components, eig: np.ndarray, n: int, d: int) -> int:
    """The number of directions kept for ``n_components`` (int, or variance fraction)."""
    limit = min(n, d)
    if isinstance(n_components, float):
        total = eig.sum()
        if total <= 0:
            return 1
        ratio = np.cumsum(eig) / total
        return int(min(limit, np.searchsorted(ratio, n_components, side="right") + 1))
    if n_components > limit:
        raise InvalidParameterError(
            f"pca_components must be at most min(n_rows, n_columns) = {limit}; got {n_components}")
    return int(n_components)


def noise_variance(eig: np.ndarray, q: int, d: int, reg_covar: float) -> float:
    """Mean of the ``d - q`` discarded eigenvalues (zeros included), plus ``reg_covar``."""
    if q >= d:
        return 0.0
    return float(np.sum(eig[q:]) / (d - q) + reg_covar)


def log_prob_pca_gmm(params: PCAGMMParams, X):
    """log density in data space of each row of ``X``: shape ``(n,)``."""
    Xc = X - params.mean
    z = Xc @ params.components
    lp = log_prob_gmm(params.mixture, z)
    d, q = params.components.shape
    if q == d:
        return lp
    r = Xc - z @ params.components.T
    var = params.noise_var
    return lp - 0.5 * ((d - q) * (LOG_2PI + jnp.log(var)) + jnp.sum(r * r, axis=1) / var)


def sample_pca_gmm(key, params: PCAGMMParams, n: int, noise: bool = False):
    """``n`` rows: mixture draws mapped back by ``mu + W z``; plus the discarded-direction
    noise when ``noise`` (then the rows follow :func:`log_prob_pca_gmm` exactly)."""
    k_mix, k_noise = jax.random.split(key)
    W = params.components
    X = params.mean + sample_gmm(k_mix, params.mixture, n) @ W.T
    d, q = W.shape
    if not noise or q == d:
        return X
    e = standard_normal_rows(k_noise, n, d, X.dtype, params.noise_var)
    return X + jnp.sqrt(params.noise_var) * (e - (e @ W) @ W.T)


def _sample_with_noise(key, params, n):
    return sample_pca_gmm(key, params, n, noise=True)


# ---------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------


class PCAGMMGenerator(GMMGenerator):
    """PCA to ``pca_components`` directions, then a Gaussian mixture (``gmm`` settings).

    The mixture's hyperparameters are the ``gmm`` generator's own (``n_components``
    counts mixture components); ``pca_components`` is the PCA size: an int, or a float
    in (0, 1), the fraction of variance kept.
    """

    name = "pca_gmm"
    hyperparameters = {
        "pca_components": Param(0.95, AnyOf(Int(1), Float(0, 1, low_open=True, high_open=True),
                                            desc="a positive int or a number in (0, 1)"),
                                "principal directions kept, or the fraction of variance to keep"),
        "sample_noise": Param(False, Bool(), "also draw the noise of the discarded directions"),
        **GMMGenerator.hyperparameters,
    }

    def _fit(self, key, X, hp):
        mean, W, eig, q, Z = _pca_kept(X, hp["pca_components"])
        n, d = X.shape
        Z = Z.astype(np.float64)
        mixture, summary = select_gmm(key, Z, **_gmm_settings(hp))
        self._set_selection(summary)
        self.pca_components_ = q
        self.sample_noise_ = bool(hp["sample_noise"])
        keep = min(n, d)
        self.explained_variance_ = eig[:keep] * n / max(n - 1, 1)
        self.explained_variance_ratio_ = eig[:keep] / eig.sum() if eig.sum() > 0 else eig[:keep]
        noise = noise_variance(eig, q, d, hp["reg_covar"])
        return PCAGMMParams(mean, W, jnp.asarray(noise, jnp.float32), mixture)

    _log_prob_fn = staticmethod(log_prob_pca_gmm)
    _sample_fn = staticmethod(sample_pca_gmm)

    def _sampler(self):
        """The sampler the model was fitted with (``set_params`` takes effect at the next fit)."""
        self._check_fitted()
        return _sample_with_noise if self.sample_noise_ else sample_pca_gmm

    def _mixture(self) -> GMMParams:
        self._check_fitted()
        return self.params_.mixture

    def _condition_fn(self, key, evidence, n):
        """Exact: the data-space mixture with low-rank-plus-diagonal covariances, conditioned
        in closed form (see ``_conditional.py``)."""
        from ._conditional import condition_mixture, pca_gmm_mixture

        return condition_mixture(key, pca_gmm_mixture(self.params_), evidence, n,
                                 "exact conditional mixture (PCA density)")

    # -- fitted attributes ----------------------------------------------------------------------
    @property
    def mean_(self) -> np.ndarray:
        self._check_fitted()
        return np.asarray(self.params_.mean, dtype=np.float64)

    @property
    def components_(self) -> np.ndarray:
        """Principal directions as rows, ``(q, d)``, as scikit-learn's ``PCA.components_``."""
        self._check_fitted()
        return np.asarray(self.params_.components, dtype=np.float64).T

    @property
    def noise_variance_(self) -> float:
        self._check_fitted()
        return float(self.params_.noise_var)

    def transform(self, data) -> np.ndarray:
        """Rows projected on the principal directions: ``(x - mean) W``."""
        X = self._transform_for_scoring(data)
        return (X - self.mean_) @ self.components_.T

    def _n_parameters(self) -> int:
        d, q = self.n_features_in_, self.pca_components_
        pca = d + d * q - q * (q + 1) // 2 + (1 if q < d else 0)
        return super()._n_parameters() + pca

    # -- persistence ----------------------------------------------------------------------------
    def _extra_state(self) -> dict[str, Any]:
        out = super()._extra_state()
        out["pca_components"] = int(self.pca_components_)
        out["sample_noise"] = bool(self.sample_noise_)
        out["explained_variance"] = [float(v) for v in self.explained_variance_]
        out["explained_variance_ratio"] = [float(v) for v in self.explained_variance_ratio_]
        return out

    def _set_extra_state(self, extra: dict[str, Any]) -> None:
        super()._set_extra_state(extra)
        self.pca_components_ = int(extra["pca_components"])
        self.sample_noise_ = bool(extra.get("sample_noise", self.sample_noise))
        self.explained_variance_ = np.asarray(extra["explained_variance"], dtype=np.float64)
        self.explained_variance_ratio_ = np.asarray(extra["explained_variance_ratio"], dtype=np.float64)
