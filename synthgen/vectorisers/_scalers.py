"""Reversible scalings of one numeric feature: standard, min-max and quantile-to-normal.

Each scaling is fitted on the observed (non-missing) values of one column and stored as
a small dict of JSON numbers and numpy arrays, so it can be saved in a model file.
The quantile scaling follows scikit-learn's ``QuantileTransformer(output_distribution=
"normal")``: values are mapped through their empirical CDF (interpolated between
``n_quantiles`` quantiles) and then through the standard normal's inverse CDF; the
inverse maps back through the normal CDF and interpolates between the same quantiles,
so sampled values always stay within the training range.  Heavy-tailed columns such as
payment amounts are where it pays: a Gaussian model then sees a bell, not a spike.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

SCALINGS = ("standard", "minmax", "quantile")

#: As scikit-learn: probabilities are kept within [BOUNDS, 1 - BOUNDS] before ndtri.
BOUNDS = 1e-7
_CLIP = float(ndtri(BOUNDS - np.spacing(1)))


def fit_scaling(method: str, values: np.ndarray, *, n_quantiles: int = 1000) -> dict:
    """Fit ``method`` on the 1-D float array ``values`` (no NaN); return its state."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        values = np.zeros(1)
    if method == "standard":
        loc, scale = float(values.mean()), float(values.std())
        return {"method": method, "loc": loc, "scale": scale if scale > 0 else 1.0}
    if method == "minmax":
        lo, hi = float(values.min()), float(values.max())
        return {"method": method, "loc": lo, "scale": hi - lo if hi > lo else 1.0}
    if method == "quantile":
        n = int(max(2, min(n_quantiles, values.size)))
        references = np.linspace(0.0, 1.0, n)
        quantiles = np.maximum.accumulate(np.percentile(values, references * 100.0))
        return {"method": method, "quantiles": quantiles, "references": references}
    raise ValueError(f"unknown scaling {method!r}")


def scale(state: dict, x: np.ndarray) -> np.ndarray:
    """Map original values to the model's scale (float64)."""
    x = np.asarray(x, dtype=np.float64)
    if state["method"] == "quantile":
        return _quantile_forward(x, np.asarray(state["quantiles"]), np.asarray(state["references"]))
    return (x - state["loc"]) / state["scale"]


def unscale(state: dict, z: np.ndarray) -> np.ndarray:
    """Map values on the model's scale back to original units (float64)."""
    z = np.asarray(z, dtype=np.float64)
    if state["method"] == "quantile":
        return _quantile_inverse(z, np.asarray(state["quantiles"]), np.asarray(state["references"]))
    return z * state["scale"] + state["loc"]


def scaled_fill(state: dict, values: np.ndarray) -> float:
    """The value a gap is imputed with on the model's scale: the mean (the median for quantile)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return 0.0
    if state["method"] == "quantile":
        return float(scale(state, np.array([np.median(values)]))[0])
    return float(scale(state, np.array([values.mean()]))[0])


def _quantile_forward(x: np.ndarray, quantiles: np.ndarray, references: np.ndarray) -> np.ndarray:
    # Average of the forward and backward interpolation, so tied quantiles map to the middle
    # of their probability range (as scikit-learn does).
    lower = x - BOUNDS < quantiles[0]
    upper = x + BOUNDS > quantiles[-1]
    p = 0.5 * (
        np.interp(x, quantiles, references)
        - np.interp(-x, -quantiles[::-1], -references[::-1])
    )
    p[upper] = 1.0
    p[lower] = 0.0
    return np.clip(ndtri(p), _CLIP, -_CLIP)


def _quantile_inverse(z: np.ndarray, quantiles: np.ndarray, references: np.ndarray) -> np.ndarray:
    p = ndtr(z)
    out = np.interp(p, references, quantiles)
    out[p - BOUNDS < 0.0] = quantiles[0]
    out[p + BOUNDS > 1.0] = quantiles[-1]
    return out

