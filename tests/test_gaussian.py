"""The Gaussian generator against scipy.stats."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import synthgen


def test_full_covariance_matches_scipy(correlated_data):
    X = correlated_data
    gen = synthgen.make("gaussian", reg_covar=0.0).fit(X)
    mean, cov = X.mean(axis=0), np.cov(X.T, bias=True)
    np.testing.assert_allclose(gen.mean_, mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gen.covariance_, cov, rtol=1e-4, atol=1e-6)
    ref = stats.multivariate_normal(mean, cov).logpdf(X)
    np.testing.assert_allclose(gen.score_samples(X), ref, rtol=1e-5)


def test_diag_covariance_matches_independent_normals(correlated_data):
    X = correlated_data
    gen = synthgen.make("gaussian", covariance_type="diag", reg_covar=0.0).fit(X)
    ref = stats.norm(X.mean(axis=0), X.std(axis=0)).logpdf(X).sum(axis=1)
    np.testing.assert_allclose(gen.score_samples(X), ref, rtol=1e-5)
    np.testing.assert_allclose(gen.covariance_, np.diag(X.var(axis=0)), rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("seed", [0, 1, 99])
def test_samples_have_the_fitted_moments(correlated_data, seed):
    gen = synthgen.make("gaussian").fit(correlated_data, seed=seed)
    S = gen.sample(200_000, seed=seed)
    np.testing.assert_allclose(S.mean(axis=0), gen.mean_, atol=0.01)
    np.testing.assert_allclose(np.cov(S.T), gen.covariance_, atol=0.01)


def test_samples_pass_a_normality_test_per_dimension(correlated_data):
    gen = synthgen.make("gaussian").fit(correlated_data)
    S = gen.sample(5000, seed=4)
    for j in range(S.shape[1]):
        sd = np.sqrt(gen.covariance_[j, j])
        assert stats.kstest(S[:, j], "norm", args=(gen.mean_[j], sd)).pvalue > 1e-4


def test_reg_covar_is_added_to_the_diagonal(correlated_data):
    a = synthgen.make("gaussian", reg_covar=0.0).fit(correlated_data)
    b = synthgen.make("gaussian", reg_covar=0.5).fit(correlated_data)
    np.testing.assert_allclose(b.covariance_ - a.covariance_, 0.5 * np.eye(3), atol=1e-5)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"covariance_type": "tied"}, "covariance_type must be one of 'full', 'diag'; got 'tied'"),
        ({"reg_covar": -1.0}, "reg_covar must be a non-negative number; got -1.0"),
        ({"reg_covar": "big"}, "reg_covar must be a non-negative number; got 'big'"),
        ({"vectoriser": "nope"}, "vectoriser must be None, a vectoriser name, or a Vectoriser"),
    ],
)
def test_bad_hyperparameters_name_themselves(correlated_data, params, message):
    gen = synthgen.make("gaussian", **params)  # stored as given; checked by fit
    with pytest.raises(synthgen.InvalidParameterError) as err:
        gen.fit(correlated_data)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize("seed", range(10))
def test_a_one_hot_group_fits_although_its_covariance_is_singular(seed):
    import pandas as pd

    r = np.random.default_rng(seed)
    df = pd.DataFrame({"x": r.normal(size=5000), "c": r.choice(["a", "b", "c"], 5000)})
    gen = synthgen.make("gaussian").fit(df, seed=seed)
    out = gen.sample(4000, seed=1)
    assert set(out["c"]) == {"a", "b", "c"}
    shares = out["c"].value_counts(normalize=True)
    assert (abs(shares - df["c"].value_counts(normalize=True)) < 0.05).all()


def test_a_constant_column_scores_as_scikit_learns_single_gaussian(correlated_data):
    from sklearn.mixture import GaussianMixture

    X = np.column_stack([correlated_data, np.full(len(correlated_data), -1.0)])
    gen = synthgen.make("gaussian").fit(X)
    ref = GaussianMixture(1, reg_covar=1e-6).fit(X)
    np.testing.assert_allclose(gen.score_samples(X), ref.score_samples(X), rtol=1e-4)
    assert (gen.sample(200, seed=0)[:, -1] == -1.0).all()
