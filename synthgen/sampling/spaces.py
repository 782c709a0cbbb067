"""Where the rejection sampler measures distances: a VAE's latent space, or the data space."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidDataError
from ..random import BLOCK_ROWS
from .nearest import RecordIndex


def user_records(data) -> list:
    """Records in the user's form: strings, dicts (table rows) or numpy rows."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data.to_dict(orient="records")
    if isinstance(data, (list, tuple)):
        return list(data)
    return list(np.asarray(data))


def select_records(data, mask: np.ndarray):
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data.loc[mask]
    if isinstance(data, (list, tuple)):
        return [r for r, keep in zip(data, mask) if keep]
    return np.asarray(data)[mask]


def shrunk_covariance(X: np.ndarray) -> np.ndarray:
    """The covariance of ``X`` pulled towards ``(trace / d) I`` by ``d / (n + d)``.

    With many rows per column this is the sample covariance; with few (a rare class, say), the
    sample covariance is singular and its near-null directions would make every point look far
    away, so it is shrunk towards a sphere of the same total variance.
    """
    n, d = X.shape
    S = np.cov(X.T, bias=True).reshape(d, d) if n > 1 else np.zeros((d, d))
    scale = float(np.trace(S)) / d
    if scale <= 0:
        scale = 1.0
    shrink = d / (n + d)
    return (1.0 - shrink) * S + shrink * scale * np.eye(d) + 1e-9 * scale * np.eye(d)


class DataSpace:
    """Distances between vectorised rows, whitened by the training covariance ``S``
    (shrunk towards a sphere when there are few rows per column; see :func:`shrunk_covariance`).

    Each record ``r`` gets a neighbourhood ``N(x_r, s_r^2 S)``:

    * ``scale="neighbour"`` (default): ``s_r = delta_r / chi_d(0.95)``, with ``delta_r`` the record's
      distance to its nearest other record and ``chi_d(0.95)`` the 95% quantile of the chi
      distribution; at the default ``alpha=0.05`` a sample is therefore rejected exactly when it is
      closer to a record than that record's nearest real neighbour (a floor of a tenth of the median
      keeps duplicated records from collapsing their neighbourhood to a point);
    * ``scale="kernel"``: the kernel a Gaussian KDE would put there: ``s_r = n^(-1/(d+4))`` (Scott),
      or, for a KDE generator, its own ``N(x_r, bandwidth^2 I)``.
    """

    kind = "data"

    def __init__(self, generator, scale: str = "neighbour"):
        self.generator = generator
        self.scale = scale
        self.dim = int(generator.n_features_in_)
        self.n_records = 0
        self.whiten = None
        self.scales = None

    def set_scale_from(self, data) -> None:
        """Take the covariance from the training data (not only from the records avoided)."""
        X = self.generator.vectoriser_.transform(data).astype(np.float64)
        self.whiten = self._whitening(X)

    def index(self, parts: list) -> None:
        vec = self.generator.vectoriser_
        mats = [vec.transform(p) for p in parts if _size(p)]
        if not mats:
            raise InvalidDataError("there are no records to avoid (avoid=None and no require)")
        X = np.concatenate(mats).astype(np.float64)
        self.records = X
        if self.whiten is None:
            self.whiten = self._whitening(X)
        if self.scale == "neighbour":
            self.scales = self._neighbour_scales(X)
        self._build()

    def _whitening(self, X: np.ndarray) -> np.ndarray:
        d = X.shape[1]
        bandwidth = getattr(self.generator, "bandwidth_", None)
        if self.scale == "kernel" and bandwidth is not None:
            return np.eye(d) / float(bandwidth)
        W = np.linalg.inv(np.linalg.cholesky(shrunk_covariance(X))).T
        if self.scale == "kernel":
            W = W / max(len(X), 2) ** (-1.0 / (d + 4))
        return W

    def _neighbour_scales(self, X: np.ndarray) -> np.ndarray:
        d = X.shape[1]
        if len(X) < 2:
            delta = np.ones(len(X))
        else:
            delta = RecordIndex(X, whiten=self.whiten).distances_to_others(X)
            median = float(np.median(delta))
            delta = np.maximum(delta, 0.1 * median if median > 0 else 1e-3)
        from scipy.stats import chi2

        return np.repeat((delta / np.sqrt(chi2.ppf(0.95, d)))[:, None], d, axis=1)

    def _build(self) -> None:
        self._index = RecordIndex(self.records, whiten=self.whiten, scales=self.scales)
        self.n_records = len(self.records)

    def candidates(self, key, block: int) -> np.ndarray:
        """The block's rows as the user will get them: decoded, then encoded again.

        Decoding rounds integers, snaps one-hot groups and flags, and clips; the distance test
        must see those rows, not the model's raw output, or a decoded row could land closer to a
        record than the threshold.
        """
        raw = self.generator._rows(key, block * BLOCK_ROWS, (block + 1) * BLOCK_ROWS)
        vec = self.generator.vectoriser_
        return np.asarray(vec.transform(vec.inverse_transform(raw)), dtype=np.float64)

    def distances(self, cand: np.ndarray) -> np.ndarray:
        return self._index.query(cand).distance

    def to_matrix(self, key, cand: np.ndarray, ok: np.ndarray) -> np.ndarray:
        return cand[ok]

    def get_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "scale": self.scale, "records": self.records,
                "whiten": self.whiten, "scales": self.scales}

    def set_state(self, state: dict[str, Any]) -> None:
        self.scale = state["scale"]
        self.records = np.asarray(state["records"], dtype=np.float64)
        self.whiten = np.asarray(state["whiten"], dtype=np.float64)
        self.scales = None if state["scales"] is None else np.asarray(state["scales"], dtype=np.float64)
        self._build()


class LatentSpace:
    """Distances from prior draws to each record's posterior ``N(mu, diag(sigma^2))``."""

    kind = "latent"

    def __init__(self, generator, mode: str | None = None):
        self.generator = generator
        self.mode = mode
        self.dim = int(generator.latent_dim_)
        self.n_records = 0

    def index(self, parts: list) -> None:
        mus, sigmas = [], []
        for part in parts:
            if not _size(part):
                continue
            mean, log_var = self.generator.encode(part)
            mus.append(np.asarray(mean, dtype=np.float64))
            sigmas.append(np.exp(0.5 * np.asarray(log_var, dtype=np.float64)))
        if not mus:
            raise InvalidDataError("there are no records to avoid (avoid=None and no require)")
        self.mu, self.sigma = np.concatenate(mus), np.concatenate(sigmas)
        self._build()

    def _build(self) -> None:
        self._index = RecordIndex(self.mu, scales=self.sigma)
        self.n_records = len(self.mu)

    def candidates(self, key, block: int) -> np.ndarray:
        import jax

        z = jax.random.normal(jax.random.fold_in(key, block), (BLOCK_ROWS, self.dim))
        return np.asarray(z, dtype=np.float64)

    def distances(self, cand: np.ndarray) -> np.ndarray:
        return self._index.query(cand).distance

    def to_matrix(self, key, cand: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """Decode every candidate of the block with the block's key, keep the accepted ones."""
        rows = np.asarray(self.generator.decode_matrix(cand, key=key, mode=self.mode))
        return rows[ok]

    def get_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "mu": self.mu, "sigma": self.sigma, "mode": self.mode}

    def set_state(self, state: dict[str, Any]) -> None:
        self.mu = np.asarray(state["mu"], dtype=np.float64)
        self.sigma = np.asarray(state["sigma"], dtype=np.float64)
        self.mode = state.get("mode")
        self._build()


def _size(part) -> int:
    return len(part) if part is not None else 0
