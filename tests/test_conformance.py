"""Every registered generator keeps the same protocol: shapes, dtypes, seeds, files, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import synthgen
from synthgen.errors import (
    InvalidDataError,
    InvalidParameterError,
    ModelFileError,
    NotFittedError,
)

# Small settings so the whole suite stays quick; the protocol does not depend on them.
FAST = {
    "gaussian": {},
    "gmm": {"n_components": 2, "n_init": 1, "max_iter": 50},
    "pca_gmm": {"n_components": 2},
    "kde": {"bandwidth": 0.5},
    "vae": {"epochs": 3, "verbose": False},
    "circuit": {"n_hidden": 4, "epochs": 3},
}

#: The built-in generators, named here so that one dropping out of the registry fails the suite.
BUILTINS = ["gaussian", "gmm", "pca_gmm", "kde", "vae", "circuit"]
NAMES = BUILTINS


def make(name, **extra):
    return synthgen.make(name, **{**FAST[name], **extra})


@pytest.fixture(scope="module")
def data():
    r = np.random.default_rng(7)
    X = r.normal(size=(240, 4)) @ np.array(
        [[1.0, 0.4, 0.0, 0.2], [0.0, 1.0, 0.3, 0.0], [0.0, 0.0, 1.0, 0.5], [0.0, 0.0, 0.0, 0.7]]
    )
    return X


@pytest.fixture(scope="module")
def frame(data):
    df = pd.DataFrame(data[:, :3], columns=["alpha", "beta", "gamma"])
    df["count"] = np.rint(np.abs(data[:, 3]) * 10).astype("int64")
    df["ratio"] = data[:, 0].astype("float32")
    return df


@pytest.fixture(scope="module", params=NAMES)
def fitted(request, data):
    return request.param, make(request.param).fit(data, seed=3)


def test_registry_lists_the_builtin_generators():
    names = synthgen.list_generators()
    assert names[: len(BUILTINS)] == BUILTINS
    assert set(FAST) == set(BUILTINS)
    assert "gaussian" in names
    assert set(synthgen.describe_generators()) == set(names)


def test_fit_returns_self_and_sample_has_the_input_shape_and_dtype(fitted, data):
    name, gen = fitted
    rows = gen.sample(50, seed=0)
    assert isinstance(rows, np.ndarray)
    assert rows.shape == (50, data.shape[1])
    assert rows.dtype == data.dtype
    assert np.isfinite(rows).all()


def test_dataframe_in_dataframe_out(frame):
    for name in NAMES:
        gen = make(name).fit(frame, seed=1)
        out = gen.sample(40, seed=2)
        assert isinstance(out, pd.DataFrame), name
        assert list(out.columns) == list(frame.columns), name
        assert list(out.dtypes) == list(frame.dtypes), name
        counts = out["count"].to_numpy()
        assert counts.min() >= frame["count"].min() and counts.max() <= frame["count"].max(), name


def test_same_seed_same_rows_and_different_seed_different_rows(fitted):
    _, gen = fitted
    a = gen.sample(100, seed=11)
    b = gen.sample(100, seed=11)
    c = gen.sample(100, seed=12)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_rows_do_not_depend_on_chunking(fitted):
    _, gen = fitted
    n = 20_000  # spans several internal blocks
    whole = gen.sample(n, seed=5)
    for chunk in (7_777, 8_192, 19_999):
        parts = np.concatenate(list(gen.iter_sample(n, seed=5, chunk_rows=chunk)))
        np.testing.assert_array_equal(parts, whole)
    np.testing.assert_array_equal(gen.sample(10, seed=5), whole[:10])


def test_unseeded_calls_differ_but_replay_from_the_fit_seed(fitted, data):
    name, gen = fitted
    twin = make(name).fit(data, seed=3)
    first, second = twin.sample(30), twin.sample(30)
    assert not np.allclose(first, second)
    again = make(name).fit(data, seed=3)
    np.testing.assert_array_equal(again.sample(30), first)
    np.testing.assert_array_equal(again.sample(30), second)


def test_save_load_round_trip(fitted, data, tmp_path):
    name, gen = fitted
    path = tmp_path / f"{name}.sgm"
    gen.save(path)
    back = synthgen.load(path)
    assert type(back) is type(gen)
    assert back.get_params().keys() == gen.get_params().keys()
    np.testing.assert_array_equal(back.sample(64, seed=9), gen.sample(64, seed=9))
    np.testing.assert_allclose(back.score_samples(data[:50]), gen.score_samples(data[:50]), rtol=1e-6)


def test_scores_are_finite_and_typical_rows_score_higher(fitted, data):
    _, gen = fitted
    scores = gen.score_samples(data)
    assert scores.shape == (len(data),) and np.isfinite(scores).all()
    far = data[:20] + 25.0
    assert gen.score_samples(far).mean() < scores.mean()


def test_scores_do_not_depend_on_batching(fitted, data):
    _, gen = fitted
    whole = gen.score_samples(data)
    parts = np.concatenate([gen.score_samples(data[i:i + 37]) for i in range(0, len(data), 37)])
    np.testing.assert_allclose(parts, whole, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_bad_training_data_is_refused_with_a_clear_error(name, data):
    gen = make(name)
    bad = data.copy()
    bad[5, 2] = np.nan
    with pytest.raises(InvalidDataError, match="NaN in column 'x2'"):
        gen.fit(bad)
    bad[5, 2] = np.inf
    with pytest.raises(InvalidDataError, match="infinite"):
        gen.fit(bad)
    with pytest.raises(InvalidDataError, match="empty"):
        gen.fit(data[:0])
    with pytest.raises(InvalidDataError, match="1 row"):
        gen.fit(data[:1])
    mixed = pd.DataFrame({"a": data[:, 0], "name": ["x"] * len(data)})
    with pytest.raises(InvalidDataError, match="non-numeric columns: name"):
        make(name, vectoriser="numeric").fit(mixed)
    with pytest.raises(InvalidDataError, match="expected numeric data"):
        gen.fit(np.full((10, 2), "x", dtype=object))
    with pytest.raises(InvalidDataError, match="2-D"):
        gen.fit(data[:, 0])


@pytest.mark.parametrize("name", NAMES)
def test_a_constant_column_is_modelled_and_given_back_exactly(name, data):
    const = data.copy()
    const[:, 1] = 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gen = make(name).fit(const, seed=0)
    rows = gen.sample(300, seed=1)
    assert (rows[:, 1] == 0.1).all()
    assert np.isfinite(gen.score_samples(const)).all()
    frame = pd.DataFrame(const, columns=list("abcd")).assign(n=3)
    back = make(name).fit(frame, seed=0).sample(50, seed=2)
    assert (back["b"] == 0.1).all() and (back["n"] == 3).all()


def test_huge_finite_values_are_refused_as_beyond_float32(data):
    big = data.copy()
    big[7, 2] = 1e300
    with pytest.raises(InvalidDataError, match=r"column 'x2' holds 1e\+300 \(row 7\), beyond the float32"):
        synthgen.make("gaussian").fit(big)


def test_bad_calls_on_a_fitted_generator(fitted, data):
    _, gen = fitted
    for n in (0, -3, 2.5, True, "10"):
        with pytest.raises(InvalidParameterError, match="n must be a positive int"):
            gen.sample(n)
    with pytest.raises(InvalidDataError, match="expected 4 columns"):
        gen.score_samples(data[:, :3])
    with pytest.raises(InvalidParameterError, match="seed must be"):
        gen.sample(5, seed=-1)


@pytest.mark.parametrize("name", NAMES)
def test_unfitted_generator_says_so(name):
    gen = make(name)
    with pytest.raises(NotFittedError, match="not fitted"):
        gen.sample(3)
    with pytest.raises(NotFittedError):
        gen.score_samples(np.zeros((2, 2)))
    with pytest.raises(NotFittedError):
        gen.save("never-written.sgm")


@pytest.mark.parametrize("name", NAMES)
def test_unknown_parameter_names_are_refused(name):
    with pytest.raises(InvalidParameterError, match=f"unknown parameter for {name}: colour"):
        synthgen.make(name, colour="blue")


def test_unknown_generator_is_refused():
    with pytest.raises(InvalidParameterError, match="unknown generator 'nope'; known: gaussian"):
        synthgen.make("nope")


def test_loading_a_file_that_is_not_a_model(tmp_path):
    path = tmp_path / "x.sgm"
    path.write_text("hello")
    with pytest.raises(ModelFileError, match="damaged or not a synthgen model file"):
        synthgen.load(path)


def test_a_fit_with_non_finite_parameters_is_refused(data, monkeypatch):
    from synthgen.generators.gaussian import GaussianGenerator, GaussianParams

    def broken(self, key, X, hp):
        mean = np.asarray(X).mean(axis=0)
        chol = np.eye(X.shape[1])
        chol[1, 1] = np.nan
        return GaussianParams(mean, chol)

    monkeypatch.setattr(GaussianGenerator, "_fit", broken)
    with pytest.raises(InvalidDataError, match=r"fitting gaussian failed numerically: parameter .*chol"):
        synthgen.make("gaussian").fit(data)


def test_partitioned_dask_sample_equals_single_process(fitted):
    """synthgen.dask draws each partition from the model's own block keys: the same rows."""
    import synthgen.dask as sdask

    name, gen = fitted
    got = sdask.sample(gen, 3000, seed=5, rows_per_partition=1000)  # three parts in one block
    assert got.npartitions == 3
    np.testing.assert_array_equal(got.compute(scheduler="threads").to_numpy(),
                                  gen.sample(3000, seed=5))
