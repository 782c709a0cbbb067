"""Shared test helpers: where the real data lives, and small fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SYNTHGEN_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_data(name: str) -> Path:
    """Path of a file in the shared real-data folder (``../shared/data`` from the repo root)."""
    path = SHARED_DATA / name
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: the tests need the shared data folder beside the repository "
            "(or SYNTHGEN_SHARED_DATA pointing at it)"
        )
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def correlated_data():
    """300 x 3 correlated Gaussian rows, fixed."""
    r = np.random.default_rng(0)
    A = np.array([[1.0, 0.6, 0.0], [0.0, 0.8, 0.3], [0.0, 0.0, 0.5]])
    return r.normal(size=(300, 3)) @ A + np.array([1.0, -2.0, 0.5])
