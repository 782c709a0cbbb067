"""PCA+GMM: the PCA against scikit-learn, the density against scipy and PPCA, the samples."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

import synthgen
from synthgen.errors import InvalidParameterError
from synthgen.generators.gmm import log_prob_gmm
from synthgen.generators.pca_gmm import fit_pca, log_prob_pca_gmm

SEEDS = (0, 57, 99)


@pytest.fixture(scope="module")
def wide():
    """400 rows in 5-D: two clusters in a 2-D plane plus small noise in the other 3 directions."""
    r = np.random.default_rng(21)
    plane = np.concatenate([r.normal(size=(250, 2)) * [1.5, 0.6],
                            r.normal(size=(150, 2)) * [0.5, 0.9] + [6.0, 2.0]])
    basis = np.linalg.qr(r.normal(size=(5, 5)))[0]
    noise = r.normal(size=(400, 3)) * [0.3, 0.2, 0.1]
    return np.concatenate([plane, noise], axis=1) @ basis.T + [1.0, -2.0, 0.0, 3.0, 0.5]


@pytest.fixture(scope="module")
def digits():
    X = load_digits().data
    return X[:, X.std(axis=0) > 0]


def _same_up_to_sign(a, b, atol):
    signs = np.sign(np.sum(a * b, axis=1))
    np.testing.assert_allclose(a * signs[:, None], b, atol=atol)


@pytest.mark.parametrize("q", [2, 3, 0.9, 0.99])
def test_pca_matches_scikit_learn(wide, q):
    mean, W, eig, kept = fit_pca(wide, q)
    ref = PCA(n_components=q, svd_solver="full").fit(wide)
    assert kept == ref.n_components_
    np.testing.assert_allclose(np.asarray(mean), ref.mean_, atol=1e-5)
    _same_up_to_sign(np.asarray(W).T, ref.components_, atol=1e-4)
    n = len(wide)
    np.testing.assert_allclose(eig[:kept] * n / (n - 1), ref.explained_variance_, rtol=1e-4)


def test_pca_with_fewer_rows_than_columns():
    X = np.random.default_rng(8).normal(size=(9, 14)) * np.linspace(3, 0.5, 14)
    mean, W, eig, kept = fit_pca(X, 0.9)
    ref = PCA(n_components=0.9, svd_solver="full").fit(X)
    assert kept == ref.n_components_
    _same_up_to_sign(np.asarray(W).T, ref.components_, atol=1e-4)
    np.testing.assert_allclose(eig[:kept] * 9 / 8, ref.explained_variance_, rtol=1e-4)
    assert np.all(np.abs(eig[8:]) < 1e-5 * eig[0])  # 9 centred rows span 8 directions
    with pytest.raises(InvalidParameterError, match=r"pca_components must be at most min\(n_rows, n_columns\) = 9"):
        fit_pca(X, 10)


def test_generator_exposes_the_pca(digits):
    gen = synthgen.make("pca_gmm", pca_components=0.8, n_components=3).fit(digits, seed=1)
    ref = PCA(n_components=0.8, svd_solver="full").fit(digits)
    assert gen.pca_components_ == ref.n_components_
    _same_up_to_sign(gen.components_, ref.components_, atol=2e-4)
    q = gen.pca_components_
    np.testing.assert_allclose(gen.explained_variance_[:q], ref.explained_variance_, rtol=1e-3)
    np.testing.assert_allclose(gen.explained_variance_ratio_[:q], ref.explained_variance_ratio_, rtol=1e-3)
    np.testing.assert_allclose(np.abs(gen.transform(digits[:50])), np.abs(ref.transform(digits[:50])),
                               rtol=1e-3, atol=1e-3)
    assert gen.means_.shape == (3, q)


def _ppca_covariance(gen):
    """Covariance in data space of a one-component model: W S W^T + sigma^2 (I - W W^T)."""
    W = gen.components_.T
    S = gen.covariances_[0]
    d = W.shape[0]
    return W @ S @ W.T + gen.noise_variance_ * (np.eye(d) - W @ W.T)


@pytest.mark.parametrize("q", [1, 2, 4])
def test_one_component_is_probabilistic_pca(wide, q):
    gen = synthgen.make("pca_gmm", pca_components=q, n_components=1, reg_covar=0.0).fit(wide)
    n, d = wide.shape
    cov = _ppca_covariance(gen)
    ref = stats.multivariate_normal(gen.mean_, cov).logpdf(wide)
    np.testing.assert_allclose(gen.score_samples(wide), ref, rtol=1e-4, atol=1e-4)
    # the maximum-likelihood PPCA: kept eigenvalues as they are, the rest averaged
    eig = np.linalg.eigvalsh(np.cov(wide.T, bias=True))[::-1]
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(cov))[::-1][:q], eig[:q], rtol=1e-3)
    np.testing.assert_allclose(gen.noise_variance_, eig[q:].mean(), rtol=1e-3)
    # scikit-learn's PCA.score_samples is the PPCA density with variances divided by n - 1;
    # fitted to rows shrunk by sqrt((n - 1) / n) it is the maximum-likelihood one
    mu = wide.mean(0)
    shrunk = mu + np.sqrt((n - 1) / n) * (wide - mu)
    sk = PCA(n_components=q, svd_solver="full").fit(shrunk).score_samples(wide)
    np.testing.assert_allclose(gen.score_samples(wide), sk, rtol=1e-4, atol=1e-4)


def test_all_directions_kept_is_a_mixture_on_rotated_data(wide):
    gen = synthgen.make("pca_gmm", pca_components=5, n_components=2).fit(wide, seed=3)
    assert gen.pca_components_ == 5 and gen.noise_variance_ == 0.0
    W = gen.components_.T
    Z = (wide - gen.mean_) @ W
    np.testing.assert_allclose(gen.score_samples(wide), np.asarray(log_prob_gmm(gen.params_.mixture, Z)),
                               rtol=1e-5, atol=1e-5)
    dens = sum(w * stats.multivariate_normal(gen.mean_ + W @ m, W @ c @ W.T).pdf(wide)
               for w, m, c in zip(gen.weights_, gen.means_, gen.covariances_))
    np.testing.assert_allclose(gen.score_samples(wide), np.log(dens), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("seed", SEEDS)
def test_density_integrates_to_one(wide, seed):
    """Importance sampling from a broad Gaussian: the integral of exp(score) is 1."""
    gen = synthgen.make("pca_gmm", pca_components=2, n_components=2).fit(wide, seed=seed)
    proposal = stats.multivariate_normal(wide.mean(0), 2.0 * np.cov(wide.T))
    draws = proposal.rvs(200_000, random_state=seed)
    ratio = np.exp(gen.score_samples(draws) - proposal.logpdf(draws))
    assert abs(ratio.mean() - 1.0) < 4 * ratio.std() / np.sqrt(len(ratio)) + 0.01


@pytest.mark.parametrize("seed", SEEDS)
def test_samples_lie_in_the_subspace_or_follow_the_density(wide, seed):
    gen = synthgen.make("pca_gmm", pca_components=2, n_components=2).fit(wide, seed=seed)
    S = gen.sample(20_000, seed=seed)
    W = gen.components_.T
    resid = (S - gen.mean_) - (S - gen.mean_) @ W @ W.T
    assert np.abs(resid).max() < 1e-4 * np.abs(S).max()
    noisy = synthgen.make("pca_gmm", pca_components=2, n_components=2, sample_noise=True)
    noisy.fit(wide, seed=seed)
    S = noisy.sample(131_072, seed=seed)
    Wm = W @ noisy.means_.T  # (d, K)
    mean = noisy.mean_ + Wm @ noisy.weights_
    within = sum(w * (W @ c @ W.T) for w, c in zip(noisy.weights_, noisy.covariances_))
    between = (Wm - (mean - noisy.mean_)[:, None]) @ np.diag(noisy.weights_) @ (Wm - (mean - noisy.mean_)[:, None]).T
    cov = within + between + noisy.noise_variance_ * (np.eye(5) - W @ W.T)
    np.testing.assert_allclose(S.mean(0), mean, atol=0.03)
    np.testing.assert_allclose(np.cov(S.T), cov, atol=0.05)
    # samples from the density score like the training rows do
    assert abs(noisy.score(S[:5000]) - noisy.score(wide)) < 0.25


def test_bic_counts_the_pca_parameters(wide):
    gen = synthgen.make("pca_gmm", pca_components=2, n_components_range=(1, 3)).fit(wide)
    n, d, q, K = len(wide), 5, 2, gen.n_components_
    mixture = K * q * (q + 1) // 2 + K * q + K - 1
    pca = d + d * q - q * (q + 1) // 2 + 1
    loglik = gen.score_samples(wide).sum()
    np.testing.assert_allclose(gen.bic(wide), -2 * loglik + (mixture + pca) * np.log(n), rtol=1e-6)
    np.testing.assert_allclose(gen.aic(wide), -2 * loglik + 2 * (mixture + pca), rtol=1e-6)
    assert sorted(gen.bic_curve_) == [1, 2, 3] and gen.n_components_ == 2


def test_pure_functions_agree_with_the_generator(wide):
    gen = synthgen.make("pca_gmm", pca_components=3, n_components=2).fit(wide)
    np.testing.assert_allclose(np.asarray(log_prob_pca_gmm(gen.params_, wide.astype(np.float32))),
                               gen.score_samples(wide), rtol=1e-6, atol=1e-6)


def test_save_and_load(wide, tmp_path):
    gen = synthgen.make("pca_gmm", pca_components=0.95, n_components_range=(1, 3), sample_noise=True)
    gen.fit(wide, seed=4)
    gen.save(tmp_path / "p.sgm")
    back = synthgen.load(tmp_path / "p.sgm")
    for attr in ("pca_components_", "n_components_", "bic_curve_", "covariance_type_", "noise_variance_"):
        assert getattr(back, attr) == getattr(gen, attr), attr
    np.testing.assert_allclose(back.explained_variance_, gen.explained_variance_)
    np.testing.assert_array_equal(back.sample(300, seed=2), gen.sample(300, seed=2))
    np.testing.assert_allclose(back.score_samples(wide), gen.score_samples(wide), rtol=1e-6)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"pca_components": 0}, "pca_components must be a positive int or a number in (0, 1); got 0"),
        ({"pca_components": 1.0}, "pca_components must be a positive int or a number in (0, 1); got 1.0"),
        ({"pca_components": -0.5}, "pca_components must be a positive int or a number in (0, 1)"),
        ({"pca_components": "all"}, "pca_components must be a positive int or a number in (0, 1)"),
        ({"pca_components": 9}, "pca_components must be at most min(n_rows, n_columns) = 5; got 9"),
        ({"sample_noise": 1}, "sample_noise must be True or False; got 1"),
        ({"n_components": 0}, "n_components must be a positive int or 'bic'; got 0"),
    ],
)
def test_bad_hyperparameters_name_themselves(wide, params, message):
    with pytest.raises(InvalidParameterError) as err:
        synthgen.make("pca_gmm", **params).fit(wide)
    assert str(err.value).startswith(message), str(err.value)


def test_fits_on_1000_and_1001_rows_compile_the_pca_once():
    from synthgen.generators import pca_gmm as pg

    X = np.random.default_rng(8).normal(size=(1001, 6)) @ np.random.default_rng(9).normal(size=(6, 6))
    mean, W, eig, q = fit_pca(X[:1000], 3)
    size = pg._pca_padded._cache_size()
    mean1, W1, eig1, q1 = fit_pca(X, 3)
    assert pg._pca_padded._cache_size() == size
    ref = PCA(3).fit(X)
    _same_up_to_sign(np.asarray(W1).T, ref.components_, atol=1e-4)
    np.testing.assert_allclose(eig1[:3] * len(X) / (len(X) - 1), ref.explained_variance_, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(mean1), X.mean(axis=0), rtol=1e-5, atol=1e-5)


def test_wide_data_with_fewer_rows_than_columns_still_fits():
    """50 rows in 1,000 columns: gmm refuses full covariances; pca_gmm reduces the columns
    first, and its mixture search stops at what the rows support in the reduced space."""
    X = np.random.default_rng(4).normal(size=(50, 1000)) * np.linspace(0.5, 2.0, 1000)
    with pytest.raises(InvalidParameterError, match="covariance_type='full' needs more training rows"):
        synthgen.make("gmm").fit(X)
    gen = synthgen.make("pca_gmm").fit(X, seed=0)
    q = gen.pca_components_
    assert q < 50
    assert sorted(gen.bic_curve_) == list(range(1, 50 // (q + 1) + 1))
    assert gen.search_notes_ and f"50 rows in {q} dimensions" in gen.search_notes_[0]
    rows = gen.sample(20, seed=1)
    assert rows.shape == (20, 1000) and np.isfinite(rows).all()
    assert np.isfinite(gen.score_samples(X)).all()
