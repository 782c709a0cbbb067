"""Shared test helpers: the packaged real data files, and small fixtures.

Tests read only what the repository holds: the package's embedded data sets or files
under ``tests/data`` (see its PROVENANCE.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# The suite compiles in-process without JAX's persistent cache (and so do the commands it runs in
# subprocesses, which inherit this): what it checks must not depend on programs other runs left in
# the user's cache folder.  tests/test_compile_cache.py gives its own processes a cache of their own.
os.environ["SYNTHGEN_CACHE_DIR"] = "off"

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "data"


def packaged_file(name: str) -> Path:
    """Path of the file behind the embedded data set ``name`` (``creditcard``, ``adult``)."""
    from synthgen import datasets

    return Path(str(datasets.data_path(name)))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def correlated_data():
    """300 x 3 correlated Gaussian rows, fixed."""
    r = np.random.default_rng(0)
    A = np.array([[1.0, 0.6, 0.0], [0.0, 0.8, 0.3], [0.0, 0.0, 0.5]])
    return r.normal(size=(300, 3)) @ A + np.array([1.0, -2.0, 0.5])
