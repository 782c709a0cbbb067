"""synthgen.dask on a distributed LocalCluster: the same rows, fits, scores and distances as
one process, whatever the partitioning and the failures on the way."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist

import dask
import dask.dataframe as dd
from distributed import Client, LocalCluster, as_completed

import synthgen
import synthgen.dask as sdask
from synthgen.errors import InvalidDataError, InvalidParameterError
from synthgen.random import BLOCK_ROWS
from synthgen.sampling.rejection import RejectionSampler

#: every registered generator is checked by tests/test_conformance.py (its fitted models, dask's
#: local scheduler); here a table with an integer column, several whole blocks, on a cluster
FAST = {"gaussian": {}, "gmm": {"n_components": 2, "max_iter": 50}}


@pytest.fixture(scope="module")
def client():
    """Two in-process workers (threads): the model is scattered to them as to remote ones."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def table():
    r = np.random.default_rng(11)
    X = r.normal(size=(400, 3)) @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.4], [0.0, 0.0, 0.6]])
    X[200:] += np.array([3.0, -2.0, 1.0])
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df["count"] = np.rint(np.abs(X[:, 0]) * 5).astype("int64")
    return df


@pytest.fixture(scope="module")
def numeric(table):
    return table[["a", "b", "c"]]


# -- sampling ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FAST))
def test_partitioned_sample_equals_single_process_rows(client, table, name):
    gen = synthgen.make(name, **FAST[name]).fit(table, seed=1)
    n = 2 * BLOCK_ROWS + 1234  # three partitions of whole blocks, the last one ending inside one
    ddf = sdask.sample(gen, n, seed=5, rows_per_partition=BLOCK_ROWS)
    assert ddf.npartitions == 3
    pd.testing.assert_frame_equal(ddf._meta, gen.sample(1, seed=5).iloc[:0])
    pd.testing.assert_frame_equal(ddf.compute(), gen.sample(n, seed=5))


def test_partitions_inside_blocks_and_the_stream_without_seed(client, table):
    gen = synthgen.make("gaussian").fit(table, seed=0)
    twin = synthgen.make("gaussian").fit(table, seed=0)
    ddf = sdask.sample(gen, 5000, seed=2, npartitions=7)  # 715 rows each: inside one block
    assert ddf.npartitions == 7 and ddf.divisions[-1] == 4999
    pd.testing.assert_frame_equal(ddf.compute(), gen.sample(5000, seed=2))
    # without a seed both follow the model's own stream, one call after the other
    for _ in range(2):
        pd.testing.assert_frame_equal(sdask.sample(gen, 3000, npartitions=2).compute(),
                                      twin.sample(3000))


def test_array_model_gives_feature_columns(client, numeric):
    gen = synthgen.make("gaussian").fit(numeric.to_numpy(), seed=0)
    got = sdask.sample(gen, 1000, seed=3, npartitions=2).compute()
    assert list(got.columns) == ["x0", "x1", "x2"]
    np.testing.assert_array_equal(got.to_numpy(), gen.sample(1000, seed=3))


def test_rejection_sampler_meets_its_quota_with_the_same_rows(client, table):
    # under half of the candidates pass: several batches are drawn
    rs = RejectionSampler(synthgen.make("gaussian"), threshold=4.5).fit(table, seed=0)
    n = 2 * BLOCK_ROWS
    ref = rs.sample(n, seed=4)
    ref_summary = dict(rs.summary_)
    got = sdask.sample(rs, n, seed=4, rows_per_partition=BLOCK_ROWS).compute()
    pd.testing.assert_frame_equal(got, ref)
    for key in ("accepted", "candidates", "passed"):
        assert rs.summary_[key] == ref_summary[key]
    assert ref_summary["candidates"] > 2 * n  # the quota needed many blocks


def test_rejection_sampler_fails_where_one_process_fails(client, table):
    rs = RejectionSampler(synthgen.make("gaussian"), threshold=12.0, max_tries=1,
                          max_batch=BLOCK_ROWS).fit(table, seed=0)
    with pytest.raises(synthgen.errors.SamplingError) as single:
        rs.sample(BLOCK_ROWS, seed=1)
    with pytest.raises(synthgen.errors.SamplingError) as parted:
        sdask.sample(rs, BLOCK_ROWS, seed=1)
    assert str(parted.value) == str(single.value)


def test_sample_rejects_bad_arguments(table):
    gen = synthgen.make("gaussian").fit(table, seed=0)
    with pytest.raises(InvalidParameterError, match="not both"):
        sdask.sample(gen, 10, seed=0, npartitions=2, rows_per_partition=5)
    with pytest.raises(InvalidParameterError, match="npartitions must be a positive int"):
        sdask.sample(gen, 10, seed=0, npartitions=0)
    with pytest.raises(synthgen.errors.NotFittedError):
        sdask.sample(synthgen.make("gaussian"), 10, seed=0)


# -- fitting out of core ----------------------------------------------------------------------


def test_gaussian_fit_over_partitions_equals_in_memory(client, numeric):
    ddf = dd.from_pandas(numeric, npartitions=3)
    for kind in ("full", "diag"):
        ref = synthgen.make("gaussian", covariance_type=kind).fit(numeric, seed=0)
        got = sdask.fit(synthgen.make("gaussian", covariance_type=kind), ddf, seed=0)
        np.testing.assert_allclose(got.mean_, ref.mean_, atol=1e-6)
        np.testing.assert_allclose(got.covariance_, ref.covariance_, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(got.vectoriser_.min_, ref.vectoriser_.min_)
        np.testing.assert_array_equal(got.vectoriser_.max_, ref.vectoriser_.max_)
    pd.testing.assert_frame_equal(got.sample(50, seed=1).iloc[:0], ref.sample(50, seed=1).iloc[:0])


def test_gmm_bic_search_over_partitions_equals_in_memory(client, numeric):
    """Few enough rows that the k-means start sees them all: the same start as in memory, and
    EM's statistics summed over partitions give the same mixtures and BIC curve."""
    settings = dict(n_components="bic", n_components_range=(1, 2), refine_rounds=0)
    ref = synthgen.make("gmm", **settings).fit(numeric, seed=2)
    got = sdask.fit(synthgen.make("gmm", **settings), dd.from_pandas(numeric, npartitions=3), seed=2)
    assert got.n_components_ == ref.n_components_ == 2
    assert got.n_iter_ == ref.n_iter_ and got.converged_ == ref.converged_
    for k in ref.bic_curve_:
        assert got.bic_curve_[k] == pytest.approx(ref.bic_curve_[k], rel=1e-6)
    order = np.argsort(ref.means_[:, 0])
    np.testing.assert_allclose(got.weights_, ref.weights_, atol=1e-5)
    np.testing.assert_allclose(got.means_, ref.means_, atol=1e-4)
    np.testing.assert_allclose(got.covariances_, ref.covariances_, atol=1e-4)
    assert got.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-6)
    assert np.all(np.diff(ref.means_[order, 0]) > 0)


# -- scoring and distances --------------------------------------------------------------------


def test_score_samples_over_partitions(client, table):
    gen = synthgen.make("gaussian").fit(table, seed=0)
    ddf = dd.from_pandas(table, npartitions=3)
    got = sdask.score_samples(gen, ddf).compute()
    np.testing.assert_array_equal(got.index, table.index)
    np.testing.assert_allclose(got.to_numpy(), gen.score_samples(table), rtol=1e-6)


def test_nearest_distances_over_partitions_equal_brute_force(client, numeric):
    gen = synthgen.make("gaussian").fit(numeric, seed=0)
    queries = gen.sample(300, seed=9)
    records = dd.from_pandas(numeric, npartitions=3)
    exact = cdist(queries.to_numpy(), numeric.to_numpy()).min(axis=1)
    np.testing.assert_allclose(sdask.nearest_distances(queries, records), exact, atol=1e-3)
    both = sdask.nearest_distances(dd.from_pandas(queries, npartitions=2), records)
    np.testing.assert_allclose(both, exact, atol=1e-3)


# -- bad partitions ---------------------------------------------------------------------------


def _parts(frames):
    return dd.from_map(lambda f: f, frames, meta=frames[0].iloc[:0], enforce_metadata=False)


def test_a_partition_missing_a_column_is_named(client, numeric):
    frames = [numeric.iloc[:200], numeric.iloc[200:].drop(columns="b")]
    with pytest.raises(InvalidDataError, match=r"partition 1 has no column 'b'"):
        sdask.fit(synthgen.make("gaussian"), _parts(frames), seed=0)


def test_a_partition_with_another_dtype_is_named(client, table):
    gen = synthgen.make("gaussian").fit(table, seed=0)
    other = table.iloc[200:].astype({"count": "float64"})
    frames = [table.iloc[:200], other]
    with pytest.raises(InvalidDataError, match=r"partition 1: column 'count' has dtype float64"):
        sdask.fit(synthgen.make("gaussian"), _parts(frames), seed=0)
    with pytest.raises(InvalidDataError, match=r"partition 1: column 'count'"):
        sdask.score_samples(gen, _parts(frames)).compute()


def test_a_partition_with_nan_is_named(client, numeric):
    bad = numeric.iloc[200:].copy()
    bad.iloc[3, 2] = np.nan
    with pytest.raises(InvalidDataError, match=r"partition 1 has NaN in column 'c'"):
        sdask.fit(synthgen.make("gaussian"), _parts([numeric.iloc[:200], bad]), seed=0)


# -- the Parquet dataset ----------------------------------------------------------------------


def test_parquet_dataset_is_complete_or_absent(client, table, tmp_path):
    gen = synthgen.make("gaussian").fit(table, seed=0)
    ddf = sdask.sample(gen, 3 * BLOCK_ROWS, seed=1, rows_per_partition=BLOCK_ROWS)
    out = tmp_path / "rows.parquet"
    assert sdask.write_parquet(ddf, out) == 3 * BLOCK_ROWS
    assert sorted(p.name for p in out.iterdir()) == [f"part.0000{i}.parquet" for i in range(3)]
    pd.testing.assert_frame_equal(pd.read_parquet(out), gen.sample(3 * BLOCK_ROWS, seed=1))

    def interrupt(rows):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sdask.write_parquet(ddf, tmp_path / "other.parquet", progress=interrupt)
    # replacing a dataset that is interrupted leaves the old one as it was
    with pytest.raises(KeyboardInterrupt):
        sdask.write_parquet(sdask.sample(gen, 100, seed=2), out, progress=interrupt)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.parquet"]
    assert len(pd.read_parquet(out)) == 3 * BLOCK_ROWS


def test_a_part_landing_while_the_folder_is_removed_is_removed_too(tmp_path, monkeypatch):
    from synthgen.dask import _parquet

    folder = tmp_path / ".rows.parquet.tmp"
    folder.mkdir()
    (folder / "part.00000.parquet").write_bytes(b"x")
    real_rmtree = _parquet.shutil.rmtree
    calls = []

    def rmtree_while_a_worker_writes(path, ignore_errors=False):
        calls.append(path)
        real_rmtree(path, ignore_errors=ignore_errors)
        if len(calls) == 1:  # a worker that was mid-write renames its part in
            path.mkdir()
            (path / "part.00001.parquet").write_bytes(b"y")

    monkeypatch.setattr(_parquet.shutil, "rmtree", rmtree_while_a_worker_writes)
    _parquet._remove_folder(folder)
    assert not folder.exists()
    assert len(calls) == 2


# -- worker processes: a killed worker, and the CLI -------------------------------------------


@pytest.fixture(scope="module")
def process_cluster(client):
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.CRITICAL) as cluster:
        yield cluster


def test_a_worker_killed_mid_sampling_leaves_the_rows_unchanged(process_cluster, table):
    gen = synthgen.make("gaussian").fit(table, seed=0)
    n = 8 * BLOCK_ROWS
    with Client(process_cluster) as c:
        ddf = sdask.sample(gen, n, seed=7, rows_per_partition=BLOCK_ROWS, client=c)
        futures = c.compute(ddf.to_delayed())
        first = next(as_completed(futures))
        holder = next(iter(c.who_has(first)[first.key]))
        # the worker process holding a finished part is killed (its nanny starts a new one)
        nanny = next(w for w in process_cluster.workers.values() if w.worker_address == holder)
        os.kill(nanny.process.process.pid, signal.SIGKILL)
        got = pd.concat(c.gather(futures))
        while holder in c.scheduler_info()["workers"]:  # the scheduler has seen it go
            time.sleep(0.05)
    pd.testing.assert_frame_equal(got, gen.sample(n, seed=7))


def test_cli_writes_the_single_process_rows_as_a_dataset(process_cluster, table, tmp_path):
    from typer.testing import CliRunner

    from synthgen.cli.app import app

    data = tmp_path / "train.csv"
    table.to_csv(data, index=False)
    env = {"TTY_INTERACTIVE": "0", "TTY_COMPATIBLE": "0"}
    runner = CliRunner()
    common = ["sample", "-m", "gaussian", "-d", str(data), "-n", "20000", "--seed", "3", "-q"]
    single = runner.invoke(app, [*common, "-o", str(tmp_path / "one.parquet")], env=env)
    assert single.exit_code == 0, single.output
    res = runner.invoke(app, [*common, "-o", str(tmp_path / "many"), "--chunk-rows", "8192",
                              "--scheduler", process_cluster.scheduler_address], env=env)
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "many").iterdir())) == 3
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "many"),
                                  pd.read_parquet(tmp_path / "one.parquet"))
    bad = runner.invoke(app, [*common, "--workers", "2"], env=env)
    assert bad.exit_code == 2 and "--output DIR" in bad.output


def test_cli_without_dask_says_what_to_install(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from synthgen.cli.app import app

    monkeypatch.setitem(sys.modules, "distributed", None)
    res = CliRunner().invoke(app, ["sample", "-m", "gaussian", "-n", "10", "--workers", "2",
                                   "-o", str(tmp_path / "out")],
                             env={"TTY_INTERACTIVE": "0", "TTY_COMPATIBLE": "0"})
    assert res.exit_code == 2
    assert "pip install synthgen[dask]" in res.output
    assert not (tmp_path / "out").exists()
