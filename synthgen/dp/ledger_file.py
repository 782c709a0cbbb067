"""The privacy record of a model file (``config.json`` training summary), checked on load."""

from __future__ import annotations

import math

from ..errors import ModelFileError

_RELEASE_KEYS = {"name": str, "mechanism": str, "sensitivity": float, "noise_multiplier": float,
                 "sigma": float, "count": int, "share": float}


def check_privacy_record(record) -> dict:
    """``record`` if it is a well-formed privacy summary, else ``ModelFileError``."""
    if not isinstance(record, dict):
        raise ModelFileError("its privacy record is not a mapping")
    for key in ("epsilon", "delta", "epsilon_spent"):
        v = record.get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise ModelFileError(f"its privacy record's {key} must be a positive number; got {v!r:.40}")
    releases = record.get("releases")
    if not isinstance(releases, list) or not releases:
        raise ModelFileError("its privacy record lists no releases")
    for i, rel in enumerate(releases):
        if not isinstance(rel, dict):
            raise ModelFileError(f"its privacy record's release {i} is not a mapping")
        for key, kind in _RELEASE_KEYS.items():
            v = rel.get(key)
            ok = isinstance(v, str) if kind is str else (
                not isinstance(v, bool) and isinstance(v, (int, float) if kind is float else int))
            if not ok:
                raise ModelFileError(f"its privacy record's release {i} has a bad {key}: {v!r:.40}")
    return record
