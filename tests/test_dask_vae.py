"""synthgen.dask.fit on the VAE: batches streamed from a Parquet dataset give the weights that
in-memory training gives for the same batches, and only one piece of the data is read at a time."""

from __future__ import annotations

import weakref

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import synthgen
import synthgen.dask as sdask
from synthgen.dask import _vae
from synthgen.dask._units import ParquetUnits
from synthgen.errors import InvalidDataError, InvalidParameterError
from synthgen.generators import _vae_nets as nets
from synthgen.generators import _vae_prior as latent_prior
from synthgen.generators import _vae_train as vt
from synthgen.generators.vae import _PRIOR_STREAM, standardisation
from synthgen.random import fit_keys
from synthgen.vectorisers.base import NumericVectoriser

SMALL = {"epochs": 4, "kl_warmup": 2, "patience": None, "hidden": [16], "latent_dim": 2,
         "prior_components": 3, "verbose": False}
GROUP = 50


@pytest.fixture(scope="module")
def frame():
    r = np.random.default_rng(5)
    X = r.normal(size=(610, 3))
    X[:, 1] += 0.8 * X[:, 0]
    X[300:, 2] += 3.0
    return pd.DataFrame(X, columns=["a", "b", "c"])


@pytest.fixture(scope="module")
def dataset(frame, tmp_path_factory):
    """Two files of row groups of GROUP rows (the last one shorter)."""
    folder = tmp_path_factory.mktemp("vae") / "data"
    folder.mkdir()
    for i, part in enumerate((frame.iloc[:300], frame.iloc[300:])):
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False),
                       folder / f"part.{i}.parquet", row_group_size=GROUP)
    return folder


def _in_memory(frame, gen, seed, sizes, window, prior_rows=1 << 16):
    """The weights, history and prior of in-memory training in the stream's order and split."""
    matrix = NumericVectoriser().fit(frame).transform(frame).astype(np.float32)
    shift, scale = standardisation(matrix, gen.arch_.layout)
    xs = (matrix - shift) / scale
    fit_key, _ = fit_keys(seed)
    plan = _vae.Plan(fit_key, sizes, gen.validation_fraction, gen.arch_.latent_dim, window, 1 << 16)
    tr, va = plan.split_rows()
    hp = {**gen._validated_params(), "beta": gen.beta_}
    res = vt.train(fit_key, xs, gen.arch_, hp, split=vt.Holdout(xs[tr], xs[va], plan.validation_draws()),
                   epoch_order=plan.order)
    params = nets.VAEParams(res.net, jnp.asarray(shift), jnp.asarray(scale))
    step = -(-len(matrix) // prior_rows)
    prior = latent_prior.fit_prior(jax.random.fold_in(fit_key, _PRIOR_STREAM), params,
                                   matrix[::step], gen.arch_, n_components=gen.prior_components)
    return params, res, prior


def _close(a, b, atol):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol, rtol=1e-4)


@pytest.mark.parametrize("prior_rows", [1 << 16, 150])
def test_streamed_vae_equals_in_memory_training_in_the_same_order(frame, dataset, prior_rows):
    gen = sdask.fit(synthgen.make("vae", **SMALL), dataset, seed=4, window=3, prior_rows=prior_rows)
    sizes = ParquetUnits(dataset).sizes
    assert sizes == [GROUP] * 6 + [GROUP] * 6 + [10]
    params, res, prior = _in_memory(frame, gen, 4, sizes, 3, prior_rows)
    np.testing.assert_allclose(np.asarray(gen.params_.shift), frame.mean().to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(gen.params_.scale), frame.std(ddof=0).to_numpy(), rtol=1e-5)
    _close(gen.params_, params, 1e-5)
    np.testing.assert_allclose(gen.history_["train_loss"], res.train_loss, rtol=1e-5)
    np.testing.assert_allclose(gen.history_["val_loss"], res.val_loss, rtol=1e-5)
    _close(gen.prior_, prior, 1e-4)
    assert gen.n_train_ == len(frame)
    np.testing.assert_array_equal(gen.vectoriser_.min_, frame.min().to_numpy())
    rows = gen.sample(200, seed=0)
    assert list(rows.columns) == ["a", "b", "c"] and np.isfinite(rows.to_numpy()).all()


def test_a_dask_frame_streams_the_same_batches_as_its_parquet_files(dataset):
    import dask.dataframe as dd

    groups = _groups(dataset)
    ddf = dd.from_delayed([_delayed_frame(g) for g in groups], meta=groups[0].iloc[:0])
    a = sdask.fit(synthgen.make("vae", **SMALL), ddf, seed=2, window=4)
    b = sdask.fit(synthgen.make("vae", **SMALL), dataset, seed=2, window=4)
    _close(a.params_, b.params_, 0)


def _groups(folder):
    units = ParquetUnits(folder)
    return [units.read(i) for i in range(len(units))]


def _delayed_frame(g):
    import dask

    return dask.delayed(lambda: g)()


def test_plan_takes_every_training_row_once_per_epoch_and_bounds_the_validation_rows():
    sizes = [40, 70, 13, 90, 55]
    plan = _vae.Plan(jax.random.PRNGKey(0), sizes, 0.2, 2, window=2, validation_rows=30)
    tr, va = plan.split_rows()
    assert plan.n_val == len(va) == len(plan.validation_draws()) and 25 <= plan.n_val <= 30
    assert np.intersect1d(tr, va).size == 0 and len(tr) + len(va) == sum(sizes)
    orders = [plan.order(e, jax.random.PRNGKey(e)) for e in range(3)]
    for o in orders:
        np.testing.assert_array_equal(np.sort(o), np.arange(plan.n_train))
    assert not np.array_equal(orders[0], orders[1])
    # a window's rows are contiguous in the order: the rows of at most two pieces at a time
    firsts = np.concatenate([[0], np.cumsum(plan.train_sizes)])
    piece = np.searchsorted(firsts, orders[0], side="right") - 1
    windows = [set(u) for u, _ in plan.windows(jax.random.PRNGKey(0))]
    starts = np.cumsum([0] + [int(plan.train_sizes[list(w)].sum()) for w in windows])
    for w, lo, hi in zip(windows, starts[:-1], starts[1:]):
        assert set(piece[lo:hi]) == w and len(w) <= 2


class _CountingUnits(ParquetUnits):
    """Row groups read from the files, with the rows of the frames still alive counted."""

    def __init__(self, path):
        super().__init__(path)
        self.live = self.peak = self.reads = 0

    def read(self, i):
        frame = super().read(i)
        self.reads += 1
        self.live += len(frame)
        self.peak = max(self.peak, self.live)
        weakref.finalize(frame, self._release, len(frame))
        return frame

    def _release(self, n):
        self.live -= n


def test_the_stream_holds_one_row_group_at_a_time(dataset, tmp_path):
    units = _CountingUnits(dataset)
    gen = sdask.fit(synthgen.make("vae", **SMALL), units, seed=0, window=3)
    assert units.peak == GROUP  # one row group of the 610 rows
    n_groups = len(units.sizes)
    assert units.reads <= (2 + gen.n_epochs_) * n_groups  # statistics, holdout, one per epoch
    assert gen.n_epochs_ == SMALL["epochs"]
    gen.save(tmp_path / "m.sgm")  # a streamed fit is saved and loaded like any other
    back = synthgen.load(tmp_path / "m.sgm")
    pd.testing.assert_frame_equal(back.sample(50, seed=3), gen.sample(50, seed=3))


def test_bad_input_is_refused_with_a_clear_error(tmp_path, dataset):
    gen = synthgen.make("vae", **SMALL)
    with pytest.raises(InvalidDataError, match="no such file or folder"):
        sdask.fit(gen, tmp_path / "missing", seed=0)
    with pytest.raises(InvalidParameterError, match="window must be a positive int; got 0"):
        sdask.fit(gen, dataset, seed=0, window=0)
    pq.write_table(pa.table({"a": [1.0, 2.0, 3.0], "s": ["x", "y", "z"]}), tmp_path / "s.parquet")
    with pytest.raises(InvalidDataError, match="numeric columns"):
        sdask.fit(gen, tmp_path / "s.parquet", seed=0)
    pq.write_table(pa.table({"a": [1.0, np.nan, 3.0], "b": [1.0, 2.0, 3.0]}), tmp_path / "n.parquet")
    with pytest.raises(InvalidDataError, match="partition 0"):
        sdask.fit(gen, tmp_path / "n.parquet", seed=0)
    assert not hasattr(gen, "params_")
