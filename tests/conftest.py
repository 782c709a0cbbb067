"""Shared test helpers: the packaged real data files, and small fixtures.

Tests read only what the repository holds: the package's embedded data sets or files
under ``tests/data`` (see its PROVENANCE.md).
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import numpy as np
import pytest

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


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop JAX's compiled programs after each test module.

    One process runs the whole suite and compiles thousands of programs; each loaded CPU
    executable holds memory mappings, and a process past the kernel's limit on them
    (``vm.max_map_count``, 65,530 here) crashes inside XLA.  No module relies on another's
    compiled programs.
    """
    yield
    jax = sys.modules.get("jax")
    if jax is not None:
        jax.clear_caches()
        gc.collect()


@pytest.fixture
def data_untouched(monkeypatch):
    """A private fit that reads its data (schema estimate or conforming rows) fails the test."""
    from synthgen.dp import fit as dp_fit

    def touched(*args, **kwargs):
        raise AssertionError("the data was read")

    monkeypatch.setattr(dp_fit, "estimate_schema", touched)
    monkeypatch.setattr(dp_fit, "conform", touched)
