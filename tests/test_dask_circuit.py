"""synthgen.dask.fit on the circuit: mini-batch EM on batches streamed from a Parquet dataset
gives the parameters that in-memory EM gives from the same start, split and batch order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import synthgen
import synthgen.dask as sdask
from synthgen.dask import _vae
from synthgen.dask._units import ParquetUnits
from synthgen.errors import InvalidParameterError
from synthgen.generators import circuit as C
from synthgen.random import fit_keys
from synthgen.vectorisers.base import NumericVectoriser

# a held-out share, so that the validation history (which streamed and in-memory EM must share) exists
HP = {"n_hidden": 4, "n_trees": 2, "epochs": 5, "batch_size": 48, "max_bins": 16, "validation_fraction": 0.1}


@pytest.fixture(scope="module")
def frame():
    r = np.random.default_rng(8)
    X = r.normal(size=(530, 3))
    X[:, 1] += X[:, 0]
    X[:, 2] = np.rint(2 * X[:, 2] + (X[:, 0] > 0))
    return pd.DataFrame(X, columns=["a", "b", "c"])


@pytest.fixture(scope="module")
def dataset(frame, tmp_path_factory):
    path = tmp_path_factory.mktemp("circuit") / "data.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=60)
    return path


def _in_memory(frame, dataset, gen, seed, window, init_rows):
    matrix = NumericVectoriser().fit(frame).transform(frame).astype(np.float32)
    fit_key, _ = fit_keys(seed)
    step = -(-len(matrix) // init_rows)
    start = C.circuit_start(fit_key, matrix[::step], gen.vectoriser_.blocks_, n_hidden=HP["n_hidden"],
                            n_trees=HP["n_trees"], max_bins=HP["max_bins"])
    plan = _vae.Plan(fit_key, ParquetUnits(dataset).sizes, gen.validation_fraction, 0, window,
                     1 << 16)
    return C.fit_circuit(fit_key, matrix, gen.vectoriser_.blocks_, epochs=HP["epochs"],
                         batch_size=HP["batch_size"], step_size=gen.step_size,
                         pseudocount=gen.pseudocount, start=start, split=plan.split_rows(),
                         epoch_order=plan.order)


@pytest.mark.parametrize("init_rows", [1 << 17, 200])
def test_streamed_em_equals_in_memory_em_from_the_same_start_and_order(frame, dataset, init_rows):
    gen = sdask.fit(synthgen.make("circuit", **HP), dataset, seed=6, window=3, init_rows=init_rows)
    params, layout, history = _in_memory(frame, dataset, gen, 6, 3, init_rows)
    assert layout == gen.layout_
    for a, b in zip(params, gen.params_):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6, rtol=1e-5)
    np.testing.assert_allclose(history, gen.history_, rtol=1e-6)
    assert len(history) == HP["epochs"] and np.isfinite(history).all()
    # EM improved on its start, and the model scores its own samples like the data
    assert history[-1] > history[0]
    rows = gen.sample(2000, seed=0)
    assert abs(gen.score_samples(rows).mean() - gen.score_samples(frame).mean()) < 0.3


def test_streamed_circuit_with_all_rows_in_the_sample_has_the_in_memory_structure(frame, dataset):
    """With every row in the start's sample, the states of each number are those an in-memory
    fit finds on the same rows."""
    gen = sdask.fit(synthgen.make("circuit", **HP), dataset, seed=1)
    matrix = NumericVectoriser().fit(frame).transform(frame).astype(np.float32)
    variables, lo, hi, width = C.discretise(matrix, gen.vectoriser_.blocks_, HP["max_bins"])
    assert tuple(v.n_states for v in variables) == tuple(v.n_states for v in gen.layout_.variables)
    np.testing.assert_allclose(np.asarray(gen.params_.lo), lo, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(gen.params_.hi), hi, rtol=1e-6)


def test_a_streamed_circuit_is_saved_and_loaded_like_any_other(dataset, tmp_path):
    gen = sdask.fit(synthgen.make("circuit", **HP), dataset, seed=2)
    gen.save(tmp_path / "c.sgm")
    back = synthgen.load(tmp_path / "c.sgm")
    pd.testing.assert_frame_equal(back.sample(50, seed=3), gen.sample(50, seed=3))
    assert back.training_summary()["epochs_run"] == HP["epochs"]


def test_bad_counts_are_refused(dataset):
    with pytest.raises(InvalidParameterError, match="init_rows must be a positive int; got 0"):
        sdask.fit(synthgen.make("circuit", **HP), dataset, seed=0, init_rows=0)
