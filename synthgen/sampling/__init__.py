"""Sampling on top of generators: the Mahalanobis rejection sampler and nearest-record search."""

from __future__ import annotations

from .nearest import RecordIndex, nearest_records
from .require import Condition, as_predicate


def __getattr__(name: str):
    if name in ("RejectionSampler", "chi_threshold"):
        from . import rejection

        return getattr(rejection, name)
    raise AttributeError(f"module 'synthgen.sampling' has no attribute {name!r}")


__all__ = ["RejectionSampler", "chi_threshold", "RecordIndex", "nearest_records", "Condition", "as_predicate"]
