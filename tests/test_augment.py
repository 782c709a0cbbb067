"""GeneratorOversampler: imbalanced-learn's semantics, its estimator checks, types, seeds, errors."""

from __future__ import annotations

from collections import Counter, OrderedDict

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from imblearn.utils import check_sampling_strategy
from imblearn.utils.estimator_checks import estimator_checks_generator
from scipy import sparse

from synthgen import make
from synthgen.augment import (
    GeneratorOversampler,
    augment_frame,
    class_defaults,
    class_seeds,
    read_target,
    resolve_sampling_strategy,
)
from synthgen.errors import InvalidDataError, InvalidParameterError, NotFittedError
from synthgen.sampling import RejectionSampler, chi_threshold
from synthgen.sampling.nearest import RecordIndex


def imbalanced(seed: int, counts=(120, 30, 12), d: int = 4):
    """Rows of len(counts) classes, class c centred at 3c in every column."""
    r = np.random.default_rng(seed)
    X = np.concatenate([r.normal(3.0 * c, 1.0 + c, size=(n, d)) for c, n in enumerate(counts)])
    y = np.repeat(np.arange(len(counts)), counts)
    perm = r.permutation(len(y))
    return X[perm], y[perm]


# -- sampling_strategy: imbalanced-learn's meanings ------------------------------------------------
labels_st = st.lists(st.integers(1, 40), min_size=2, max_size=4).map(
    lambda counts: np.repeat(np.arange(len(counts)) * 3 + 1, counts)
)


@settings(max_examples=150, deadline=None)
@given(y=labels_st, choice=st.sampled_from(["auto", "minority", "not minority", "not majority", "all",
                                            "majority", "bogus"]))
def test_named_strategies_match_imblearn(y, choice):
    try:
        want = check_sampling_strategy(choice, y, "over-sampling")
    except ValueError:
        with pytest.raises(InvalidParameterError):
            resolve_sampling_strategy(choice, y)
        return
    got = resolve_sampling_strategy(choice, y)
    assert isinstance(got, OrderedDict)
    assert list(got.items()) == list(want.items())


@settings(max_examples=150, deadline=None)
@given(n0=st.integers(2, 60), n1=st.integers(2, 60), ratio=st.floats(-0.5, 1.5, allow_nan=False))
def test_float_strategy_matches_imblearn(n0, n1, ratio):
    y = np.array(["a"] * n0 + ["b"] * n1)
    try:
        want = check_sampling_strategy(ratio, y, "over-sampling")
    except ValueError:
        with pytest.raises(InvalidParameterError):
            resolve_sampling_strategy(ratio, y)
        return
    assert list(resolve_sampling_strategy(ratio, y).items()) == list(want.items())


@settings(max_examples=150, deadline=None)
@given(y=labels_st, data=st.data())
def test_dict_and_callable_strategies_match_imblearn(y, data):
    counts = Counter(y.tolist())
    keys = data.draw(st.lists(st.sampled_from(sorted(counts) + [99]), unique=True, max_size=4))
    wanted = {k: counts.get(k, 5) + data.draw(st.integers(-3, 30)) for k in keys}
    for strategy in (wanted, lambda labels: dict(wanted)):
        try:
            want = check_sampling_strategy(strategy, y, "over-sampling")
        except ValueError:
            with pytest.raises(InvalidParameterError):
                resolve_sampling_strategy(strategy, y)
            continue
        assert list(resolve_sampling_strategy(strategy, y).items()) == list(want.items())


def test_float_strategy_needs_a_binary_target():
    y = np.repeat([0, 1, 2], [10, 5, 5])
    with pytest.raises(InvalidParameterError, match="binary"):
        resolve_sampling_strategy(0.5, y)


@pytest.mark.parametrize("y", [np.zeros(20), ["a"] * 5])
def test_a_single_class_is_refused(y):
    with pytest.raises(InvalidDataError, match="single class"):
        resolve_sampling_strategy("auto", y)


# -- the target ------------------------------------------------------------------------------------
def test_read_target_forms():
    assert read_target([1, 0, 1]).tolist() == [1, 0, 1]
    assert read_target(np.array([[2], [3]])).tolist() == [2, 3]
    assert read_target(np.eye(3)[[2, 0, 1, 2]]).tolist() == [2, 0, 1, 2]
    assert read_target(pd.Series(["x", "y"], dtype="category")).tolist() == ["x", "y"]
    assert read_target(pd.DataFrame({"t": [1.0, 2.0]})).tolist() == [1.0, 2.0]


@pytest.mark.parametrize("y, match", [
    (np.linspace(0, 1, 5), "continuous"),
    (np.array([[1, 1, 0], [0, 1, 0]]), "multilabel"),
    (np.array([[0.5, 2.0], [1.0, 3.0]]), "indicator"),
    (np.array([1.0, np.nan, 0.0]), "missing"),
    (np.zeros((2, 2, 2)), "1-D"),
    (np.array([], dtype=int), "empty"),
])
def test_read_target_refuses(y, match):
    with pytest.raises(InvalidDataError, match=match):
        read_target(y)


# -- resampling ------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_resample_appends_the_asked_rows(seed):
    X, y = imbalanced(seed)
    sampler = GeneratorOversampler(random_state=seed)
    X_res, y_res = sampler.fit_resample(X, y)
    assert sampler.sampling_strategy_ == OrderedDict([(1, 90), (2, 108)])
    assert Counter(y_res.tolist()) == {0: 120, 1: 120, 2: 120}
    np.testing.assert_array_equal(X_res[: len(X)], X)
    np.testing.assert_array_equal(y_res[: len(y)], y)
    np.testing.assert_array_equal(y_res[len(y):], np.repeat([1, 2], [90, 108]))
    assert set(sampler.generators_) == {1, 2}
    assert np.isfinite(X_res).all()


def test_new_rows_follow_their_class():
    """Each class's new rows have its mean and spread (a diagonal Gaussian per class)."""
    X, y = imbalanced(3, counts=(2000, 400, 400), d=3)
    X_res, y_res = GeneratorOversampler(random_state=3).fit_resample(X, y)
    new_X, new_y = X_res[len(X):], y_res[len(y):]
    for c in (1, 2):
        real, fake = X[y == c], new_X[new_y == c]
        assert len(fake) == 1600
        se = real.std(axis=0) / np.sqrt(len(real))
        assert np.all(np.abs(fake.mean(axis=0) - real.mean(axis=0)) < 5 * se)
        np.testing.assert_allclose(fake.std(axis=0), real.std(axis=0), rtol=0.12)


def test_dict_strategy_leaves_other_classes_alone():
    """imbalanced-learn's check_samplers_sampling_strategy_fit_resample, for a non-imblearn class."""
    X, y = imbalanced(0)
    sampler = GeneratorOversampler(sampling_strategy={0: 150, 2: 40}, random_state=0)
    _, y_res = sampler.fit_resample(X, y)
    assert Counter(y_res.tolist()) == {0: 150, 1: 30, 2: 40}
    assert set(sampler.generators_) == {0, 2}


def test_small_class_in_many_dimensions():
    """10 rows in 30 columns: both the default and a regularised full covariance fit and sample."""
    r = np.random.default_rng(7)
    X = np.concatenate([r.normal(size=(200, 30)), r.normal(2.0, 1.0, size=(10, 30))])
    y = np.repeat([0, 1], [200, 10])
    for params in (None, {"covariance_type": "full"}):
        sampler = GeneratorOversampler(random_state=0, generator_params=params)
        X_res, _ = sampler.fit_resample(X, y)
        assert X_res.shape == (400, 30) and np.isfinite(X_res).all()
        assert abs(X_res[210:].mean() - X[200:].mean()) < 0.3


def test_gmm_defaults_fit_small_classes_and_find_modes():
    """10 rows in 30 columns get one component; a two-mode class gets two, and rows in both modes."""
    r = np.random.default_rng(5)
    X = np.concatenate([r.normal(size=(200, 30)), r.normal(2.0, 1.0, size=(10, 30))])
    y = np.repeat([0, 1], [200, 10])
    sampler = GeneratorOversampler(generator="gmm", random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    assert sampler.generators_[1].n_components_range == (1, 2)
    assert np.isfinite(X_res).all() and abs(X_res[210:].mean() - X[200:].mean()) < 0.3
    modes = np.repeat([[0.0, 8.0], [0.0, -8.0]], 20, axis=0)
    X = np.concatenate([r.normal(size=(120, 2)), r.normal(size=(40, 2)) + modes])
    y = np.repeat([0, 1], [120, 40])
    sampler = GeneratorOversampler(generator="gmm", sampling_strategy={1: 440}, random_state=1)
    X_res, _ = sampler.fit_resample(X, y)
    assert sampler.generators_[1].n_components_ >= 2
    second = X_res[160:, 1]
    assert abs(np.mean(second > 0) - 0.5) < 0.1 and np.mean(np.abs(second) < 3) < 0.02


def test_constant_columns_within_a_class_are_kept():
    r = np.random.default_rng(1)
    X = r.normal(size=(60, 3))
    y = np.repeat([0, 1], [45, 15])
    X[y == 1, 1] = 7.5
    X_res, _ = GeneratorOversampler(random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(X_res[60:, 1], 7.5)
    assert X_res[60:, 0].std() > 0.3


def test_a_class_whose_columns_are_all_constant_is_copied():
    X = np.array([[0.0, 1.0], [1.0, 0.5], [2.0, 2.0], [3.0, 3.0], [5.0, 5.0], [5.0, 5.0]])
    y = np.array([0, 0, 0, 0, 1, 1])
    X_res, _ = GeneratorOversampler(random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(X_res[6:], [[5.0, 5.0]] * 2)


# -- types -----------------------------------------------------------------------------------------
def test_dataframe_and_series_keep_columns_dtypes_and_name():
    X, y = imbalanced(4)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"]).astype({"b": np.float32})
    df["n"] = np.random.default_rng(0).integers(-3, 9, len(df))
    df["flag"] = df["a"] > 1
    ys = pd.Series(np.array(["lo", "mid", "hi"])[y], name="label", index=np.arange(len(y)) + 1000)
    X_res, y_res = GeneratorOversampler(random_state=0).fit_resample(df, ys)
    assert list(X_res.columns) == list(df.columns)
    assert X_res.dtypes.to_dict() == df.dtypes.to_dict()
    assert isinstance(y_res, pd.Series) and y_res.name == "label" and y_res.dtype == ys.dtype
    assert X_res.index.equals(pd.RangeIndex(len(X_res))) and y_res.index.equals(X_res.index)
    new = X_res.iloc[len(df):]
    assert new["n"].between(df["n"].min(), df["n"].max()).all()
    pd.testing.assert_frame_equal(X_res.iloc[: len(df)], df.reset_index(drop=True))
    assert Counter(y_res) == {"lo": 120, "mid": 120, "hi": 120}


def test_numpy_results_equal_dataframe_and_list_results():
    X, y = imbalanced(5)
    a, ya = GeneratorOversampler(random_state=9).fit_resample(X, y)
    b, yb = GeneratorOversampler(random_state=9).fit_resample(pd.DataFrame(X), pd.DataFrame({"t": y}))
    c, yc = GeneratorOversampler(random_state=9).fit_resample(X.tolist(), y.tolist())
    assert isinstance(b, pd.DataFrame) and isinstance(yb, pd.DataFrame) and list(yb.columns) == ["t"]
    assert isinstance(c, list) and isinstance(yc, list)
    np.testing.assert_array_equal(a, b.to_numpy())
    np.testing.assert_array_equal(a, np.asarray(c))
    np.testing.assert_array_equal(ya, yb["t"].to_numpy())
    np.testing.assert_array_equal(ya, yc)


def test_integer_and_float32_arrays_keep_their_dtype():
    X, y = imbalanced(6)
    Xi = np.rint(X * 3).astype(np.int16)
    X_res, y_res = GeneratorOversampler(random_state=0).fit_resample(Xi, y.astype(np.int8))
    assert X_res.dtype == np.int16 and y_res.dtype == np.int8
    assert X_res.min() >= Xi.min() and X_res.max() <= Xi.max()
    X_res, _ = GeneratorOversampler(random_state=0).fit_resample(X.astype(np.float32), y)
    assert X_res.dtype == np.float32


def test_one_vs_all_target_comes_back_binarised():
    X, y = imbalanced(2)
    Y = np.eye(3, dtype=np.int64)[y]
    X_a, y_a = GeneratorOversampler(random_state=1).fit_resample(X, y)
    X_b, Y_b = GeneratorOversampler(random_state=1).fit_resample(X, Y)
    np.testing.assert_array_equal(X_a, X_b)
    np.testing.assert_array_equal(Y_b, np.eye(3, dtype=np.int64)[y_a])


def test_mixed_dataframe_goes_through_a_table_vectoriser():
    r = np.random.default_rng(2)
    n = 90
    df = pd.DataFrame({
        "amount": r.gamma(2.0, 10.0, n),
        "shop": pd.Categorical(r.choice(["web", "till", "phone"], n)),
        "city": r.choice(["Leeds", "York"], n),
    })
    y = np.repeat([0, 1], [70, 20])
    X_res, y_res = GeneratorOversampler(random_state=0).fit_resample(df, y)
    assert len(X_res) == 140 and Counter(y_res.tolist()) == {0: 70, 1: 70}
    assert X_res.dtypes.to_dict() == df.dtypes.to_dict()
    new = X_res.iloc[n:]
    assert set(new["shop"]) <= {"web", "till", "phone"} and set(new["city"]) <= {"Leeds", "York"}
    assert new["amount"].notna().all()


# -- seeds -----------------------------------------------------------------------------------------
def test_random_state_semantics():
    X, y = imbalanced(8)
    first = GeneratorOversampler(random_state=4).fit_resample(X, y)[0]
    np.testing.assert_array_equal(first, GeneratorOversampler(random_state=4).fit_resample(X, y)[0])
    assert not np.array_equal(first, GeneratorOversampler(random_state=5).fit_resample(X, y)[0])
    shared = GeneratorOversampler(random_state=np.random.RandomState(4))
    a, b = shared.fit_resample(X, y)[0], shared.fit_resample(X, y)[0]
    assert not np.array_equal(a, b)
    np.random.seed(11)
    c = GeneratorOversampler().fit_resample(X, y)[0]
    np.random.seed(11)
    np.testing.assert_array_equal(c, GeneratorOversampler().fit_resample(X, y)[0])


def test_class_seeds_come_from_the_random_state():
    assert class_seeds(3, 2) == class_seeds(np.random.RandomState(3), 2)
    assert len({s for pair in class_seeds(0, 50) for s in pair}) == 100


# -- generators ------------------------------------------------------------------------------------
def test_a_generator_instance_is_cloned_per_class():
    X, y = imbalanced(0)
    template = make("gaussian", covariance_type="full", reg_covar=0.01)
    sampler = GeneratorOversampler(generator=template, generator_params={"reg_covar": 0.05}, random_state=0)
    sampler.fit_resample(X, y)
    g1, g2 = sampler.generators_[1], sampler.generators_[2]
    assert g1 is not g2 and g1 is not template and not hasattr(template, "params_")
    assert template.reg_covar == 0.01
    assert (g1.covariance_type, g1.reg_covar) == ("full", 0.05)


def test_generator_params_override_the_class_defaults():
    X, y = imbalanced(0)
    sampler = GeneratorOversampler(generator_params={"covariance_type": "full"}, random_state=0).fit(X, y)
    g = sampler.generators_[1]
    assert g.covariance_type == "full" and g.reg_covar == class_defaults("gaussian", 30, 4)["reg_covar"]
    assert class_defaults("gaussian", 10, 30)["covariance_type"] == "diag"
    assert class_defaults("gmm", 10, 30)["n_components_range"] == (1, 2)
    assert class_defaults("gmm", 1000, 3)["n_components_range"] == (1, 20)
    assert class_defaults("pca_gmm", 50, 30)["sample_noise"] is True


def test_avoid_keeps_new_rows_away_from_the_class_rows():
    X, y = imbalanced(1, counts=(400, 150), d=2)
    sampler = GeneratorOversampler(generator_params={"covariance_type": "full"}, avoid=True, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    g = sampler.generators_[1]
    assert isinstance(g, RejectionSampler) and g.summary_["acceptance_rate"] < 1.0
    model = sampler.models_[1]
    Z_new = (X_res[len(X):] - model.mean) / model.scale
    Z_real = (X[y == 1] - model.mean) / model.scale
    assert np.allclose(g.space_.records, Z_real, atol=1e-5)
    index = RecordIndex(g.space_.records, whiten=g.space_.whiten, scales=g.space_.scales)
    assert (index.query(Z_new).distance > g.threshold_ * (1 - 1e-5)).all()
    assert Counter(y_res.tolist()) == {0: 400, 1: 400}
    loose = GeneratorOversampler(avoid={"alpha": 0.2}, random_state=0).fit(X, y).generators_[1]
    assert loose.threshold_ == pytest.approx(chi_threshold(0.2, 2))


def test_sample_class_gives_rows_in_the_input_units():
    X, y = imbalanced(2)
    df = pd.DataFrame(X, columns=list("abcd"))
    sampler = GeneratorOversampler(random_state=0).fit(df, y)
    rows = sampler.sample_class(2, 500, seed=1)
    assert list(rows.columns) == list("abcd") and len(rows) == 500
    pd.testing.assert_frame_equal(rows, sampler.sample_class(2, 500, seed=1))
    assert np.all(np.abs(rows.mean().to_numpy() - X[y == 2].mean(axis=0)) < 1.0)
    with pytest.raises(InvalidParameterError, match="class 0"):
        sampler.sample_class(0, 5)
    with pytest.raises(NotFittedError):
        GeneratorOversampler().sample_class(1, 5)


# -- scikit-learn and imbalanced-learn -------------------------------------------------------------
IMBLEARN_CHECKS = list(estimator_checks_generator(GeneratorOversampler(random_state=0)))


@pytest.mark.parametrize("estimator, check", IMBLEARN_CHECKS,
                         ids=[check.func.__name__ for _, check in IMBLEARN_CHECKS])
def test_imblearn_estimator_checks(estimator, check):
    """Every check imbalanced-learn yields for a dense, DataFrame-accepting sampler.

    ``random_state=0`` because the checks compare two calls (array vs DataFrame vs list).  Two of
    them only act on subclasses of imblearn's ``BaseOverSampler``; their over-sampling assertions
    are repeated here in ``test_fit_resample_appends_the_asked_rows`` and
    ``test_dict_strategy_leaves_other_classes_alone``.
    """
    check(estimator)


def test_clone_params_and_tags():
    from sklearn.base import clone
    from imblearn.base import is_sampler
    from imblearn.utils._tags import get_tags

    sampler = GeneratorOversampler(sampling_strategy=0.5, generator="kde", generator_params={"bandwidth": 0.3},
                                   avoid={"alpha": 0.1}, random_state=3)
    twin = clone(sampler)
    assert twin is not sampler and twin.get_params() == sampler.get_params()
    assert twin.generator_params is not sampler.generator_params
    assert is_sampler(sampler) and get_tags(sampler).input_tags.dataframe
    assert "sampling_strategy=0.5" in repr(sampler) and "avoid={'alpha': 0.1}" in repr(sampler)
    assert twin.set_params(random_state=7) is twin and twin.random_state == 7
    with pytest.raises(InvalidParameterError, match="unknown parameter"):
        twin.set_params(n_neighbors=3)


def test_in_an_imblearn_pipeline_with_cross_validation():
    from imblearn.pipeline import Pipeline
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.preprocessing import StandardScaler

    X, y = imbalanced(0, counts=(150, 20), d=4)
    pipe = Pipeline([("over", GeneratorOversampler(random_state=0)), ("scale", StandardScaler()),
                     ("clf", LogisticRegression(max_iter=1000))])
    scores = cross_val_score(pipe, X, y, cv=3, scoring="roc_auc")
    assert scores.min() > 0.9
    pipe.fit(X, y)
    assert len(pipe.predict(X)) == len(X)
    assert Counter(pipe.named_steps["over"].sampling_strategy_) == {1: 130}


def test_feature_names_out():
    X, y = imbalanced(0)
    df = pd.DataFrame(X, columns=list("wxyz"))
    sampler = GeneratorOversampler(random_state=0).fit(df, y)
    assert sampler.get_feature_names_out().tolist() == list("wxyz")
    with pytest.raises(InvalidParameterError, match="not equal to feature_names_in_"):
        sampler.get_feature_names_out(list("abcd"))
    sampler.fit(X, y)
    assert not hasattr(sampler, "feature_names_in_")
    assert sampler.get_feature_names_out().tolist() == ["x0", "x1", "x2", "x3"]
    with pytest.raises(InvalidParameterError, match="length equal"):
        sampler.get_feature_names_out(["a"])


# -- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("params, match", [
    ({"generator": "nope"}, "generator must be"),
    ({"generator": 3}, "generator must be"),
    ({"generator_params": [1]}, "generator_params must be"),
    ({"generator_params": {"bogus": 1}}, "bogus"),
    ({"avoid": "yes"}, "avoid must be"),
    ({"avoid": {"radius": 2}}, "radius"),
    ({"random_state": -1}, "random_state"),
    ({"random_state": 1.5}, "random_state"),
    ({"sampling_strategy": 0.0}, r"\(0, 1\]"),
    ({"sampling_strategy": True}, "sampling_strategy must be"),
    ({"sampling_strategy": {1: 5}}, "at least the current count"),
    ({"sampling_strategy": {7: 50}}, "class 7"),
    ({"sampling_strategy": {1: 40.0}}, "non-negative int"),
    ({"sampling_strategy": lambda y: [1]}, "must return a dict"),
])
def test_bad_parameters_are_named(params, match):
    X, y = imbalanced(0)
    with pytest.raises(InvalidParameterError, match=match):
        GeneratorOversampler(**params).fit_resample(X, y)


def test_bad_data_is_named():
    X, y = imbalanced(0)
    with pytest.raises(InvalidDataError, match="rows but y has"):
        GeneratorOversampler().fit_resample(X, y[:-1])
    with pytest.raises(InvalidDataError, match="sparse"):
        GeneratorOversampler().fit_resample(sparse.csr_matrix(X), y)
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(InvalidDataError, match="'x2'"):
        GeneratorOversampler().fit_resample(Xn, y)
    with pytest.raises(InvalidDataError, match="2-D"):
        GeneratorOversampler().fit_resample(X[:, 0], y)
    with pytest.raises(InvalidDataError, match="numeric"):
        GeneratorOversampler().fit_resample(X.astype(str), y)
    y1 = y.copy()
    y1[np.flatnonzero(y == 2)[1:]] = 1
    with pytest.raises(InvalidDataError, match="class 2 has 1 row"):
        GeneratorOversampler().fit_resample(X, y1)
    with pytest.raises(InvalidParameterError, match="extra parameters"):
        GeneratorOversampler().fit_resample(X, y, sample_weight=np.ones(len(y)))


# -- augment_frame ---------------------------------------------------------------------------------
def test_augment_frame_keeps_the_table_layout():
    X, y = imbalanced(3, counts=(80, 20))
    df = pd.DataFrame(X, columns=list("abcd"))
    df.insert(2, "fraud", y.astype(bool))
    out = augment_frame(df, "fraud", model="gaussian", ratio=0.5, seed=1, params=None)
    assert list(out.columns) == list(df.columns) and out.dtypes.to_dict() == df.dtypes.to_dict()
    assert out["fraud"].sum() == 40 and len(out) == 120
    pd.testing.assert_frame_equal(out.iloc[:100], df)
    pd.testing.assert_frame_equal(out, augment_frame(df, "fraud", model="gaussian", ratio=0.5, seed=1,
                                                     params=None))
    with pytest.raises(InvalidParameterError, match="target column 'label'"):
        augment_frame(df, "label", model="gaussian", ratio=0.5, seed=1, params=None)
    with pytest.raises(InvalidDataError, match="DataFrame"):
        augment_frame(X, "fraud", model="gaussian", ratio=0.5, seed=1, params=None)
