"""The hyperparameters every private-capable generator shares (no dp-accounting import)."""

from __future__ import annotations

from pathlib import Path

from .._params import Check, Float, Optional, Param


def _check_metadata(v):
    if v is None or isinstance(v, dict):
        return v
    if isinstance(v, (str, Path)):
        return str(v)
    raise ValueError


PRIVACY_PARAMS = {
    "epsilon": Param(None, Optional(Float(0, low_open=True)),
                     "differential privacy: the fit's epsilon (None: not private)"),
    "delta": Param(None, Optional(Float(0, 1, low_open=True, high_open=True)),
                   "differential privacy: the fit's delta (needed with epsilon; well below 1/rows)"),
    "public_metadata": Param(None, Check(_check_metadata, "None, a schema dict or a JSON file path"),
                             "column bounds, categories and gaps known without the data "
                             "(private fits; what is not given is estimated with budget)"),
}


def check_privacy(hp: dict) -> None:
    """Refuse ``epsilon`` without ``delta`` (and metadata without ``epsilon``)."""
    from ..errors import InvalidParameterError

    if hp.get("epsilon") is not None and hp.get("delta") is None:
        raise InvalidParameterError(
            "delta must be set when epsilon is (e.g. delta=1e-6, well below 1 / the number of rows)")
    if hp.get("epsilon") is None and (hp.get("delta") is not None or hp.get("public_metadata") is not None):
        raise InvalidParameterError("delta and public_metadata apply to private fits only; set epsilon too")
