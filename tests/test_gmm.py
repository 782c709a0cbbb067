"""The Gaussian mixture generator against scikit-learn's GaussianMixture and scipy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits, load_iris
from sklearn.mixture import GaussianMixture

import synthgen
from synthgen.errors import InvalidParameterError
from synthgen.generators import _em
from synthgen.generators.gmm import (
    ConvergenceWarning,
    fit_gmm,
    fit_gmm_counts,
    log_prob_gmm,
    n_parameters,
    pick_components,
    sample_gmm,
)
from synthgen.generators._draws import standard_normal

TYPES = ("full", "tied", "diag", "spherical")
SEEDS = (0, 41, 99)


@pytest.fixture(scope="module")
def iris():
    return load_iris().data


@pytest.fixture(scope="module")
def blobs():
    """Three well-separated, differently shaped clusters in 3-D (300 rows, fixed)."""
    r = np.random.default_rng(5)
    parts = [
        r.normal(size=(120, 3)) @ np.array([[1.0, 0.3, 0.0], [0.0, 0.6, 0.2], [0.0, 0.0, 0.4]]),
        r.normal(size=(100, 3)) * [0.5, 1.2, 0.7] + [10.0, 0.0, 3.0],
        r.normal(size=(80, 3)) * 0.8 + [0.0, 12.0, -6.0],
    ]
    return np.concatenate(parts)


# ---------------------------------------------------------------------------------------------
# EM against scikit-learn from the same starting point
# ---------------------------------------------------------------------------------------------


def _start_from_labels(X, labels, k, kind, reg):
    """scikit-learn's first M-step from hard labels, in its own parameter shapes."""
    resp = np.eye(k)[labels]
    nk = resp.sum(0) + 10 * np.finfo(np.float64).eps
    means = resp.T @ X / nk[:, None]
    covs = np.stack([(resp[:, j, None] * (X - means[j])).T @ (X - means[j]) / nk[j] for j in range(k)])
    if kind == "full":
        prec = np.linalg.inv(covs + reg * np.eye(X.shape[1]))
    elif kind == "tied":
        prec = np.linalg.inv((covs * nk[:, None, None]).sum(0) / nk.sum() + reg * np.eye(X.shape[1]))
    elif kind == "diag":
        prec = 1.0 / (np.diagonal(covs, axis1=1, axis2=2) + reg)
    else:
        prec = 1.0 / (np.diagonal(covs, axis1=1, axis2=2) + reg).mean(1)
    return nk / len(X), means, prec


def _run_pool(X, labels, counts, kind, reg=1e-6, tol=1e-3, max_iter=100, active=None):
    Xc = (X - X.mean(0)).astype(np.float32)
    c = _em.chunk_rows(len(Xc), sum(counts), X.shape[1])
    Xs, ws = _em.pad_rows(Xc, c)
    lab = np.stack([np.pad(lb, (0, Xs.shape[0] * c - len(X))) for lb in labels]).astype(np.int32)
    return jax.device_get(_em.em_pool(Xs, ws, lab, active, counts=tuple(counts), kind=kind, reg=reg,
                                      tol=tol, max_iter=max_iter))


def test_inactive_candidates_are_skipped_and_the_others_unchanged(blobs):
    counts = (2, 3, 4)
    labels = [KMeans(k, n_init=1, random_state=0).fit(blobs).labels_ for k in counts]
    every = _run_pool(blobs, labels, counts, "full", active=np.ones(3, bool))
    some = _run_pool(blobs, labels, counts, "full", active=np.array([True, False, True]))
    assert every.n_iter.tolist()[1] > 0 and some.n_iter.tolist()[1] == 0
    for i in (0, 2):
        assert some.n_iter[i] == every.n_iter[i]
        np.testing.assert_allclose(some.lower_bound[i], every.lower_bound[i], rtol=1e-6)
    np.testing.assert_allclose(some.params.means[:2], every.params.means[:2], atol=1e-5)
    np.testing.assert_allclose(some.params.means[5:], every.params.means[5:], atol=1e-5)


@pytest.mark.parametrize("kind", TYPES)
def test_em_follows_scikit_learn_from_the_same_start(iris, kind):
    """Iris, 2..4 components: the same iterations, lower bound and final score."""
    counts = (2, 3, 4)
    r = np.random.default_rng(3)
    labels = [np.arange(len(iris)) % k for k in counts]
    for lb in labels:
        r.shuffle(lb)
    labels = [np.sort(lb) if k == 2 else lb for lb, k in zip(labels, counts)]
    res = _run_pool(iris, labels, counts, kind)
    for i, (k, lb) in enumerate(zip(counts, labels)):
        w, m, p = _start_from_labels(iris, lb, k, kind, 1e-6)
        ref = GaussianMixture(k, covariance_type=kind, weights_init=w, means_init=m,
                              precisions_init=p, tol=1e-3, max_iter=100).fit(iris)
        assert bool(res.converged[i]) == ref.converged_
        assert abs(int(res.n_iter[i]) - ref.n_iter_) <= 1, (k, int(res.n_iter[i]), ref.n_iter_)
        np.testing.assert_allclose(res.score[i], ref.score(iris), rtol=2e-4, atol=2e-4)


_FITS: dict = {}


def _fitted(blobs, kind, seed):
    """The blobs fitted with 1..3 components by BIC (kept for the module's tests)."""
    if (kind, seed) not in _FITS:
        gen = synthgen.make("gmm", n_components_range=(1, 3), covariance_type=kind)
        _FITS[kind, seed] = gen.fit(blobs, seed=seed)
    return _FITS[kind, seed]


def _order(means):
    return np.argsort(means[:, 0] + means[:, 1])


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_fit_matches_scikit_learn_on_separated_clusters(blobs, kind, seed):
    """One optimum for 1 and for 3 components: the same BIC, parameters and scores."""
    gen = _fitted(blobs, kind, seed)
    assert gen.n_components_ == 3 and gen.covariance_type_ == kind
    for k in (1, 3):
        ref = GaussianMixture(k, covariance_type=kind, random_state=seed, n_init=2).fit(blobs)
        np.testing.assert_allclose(gen.bic_curve_[k], ref.bic(blobs), rtol=1e-5)
    o, ro = _order(gen.means_), _order(ref.means_)
    np.testing.assert_allclose(gen.means_[o], ref.means_[ro], atol=1e-3)
    np.testing.assert_allclose(gen.weights_[o], ref.weights_[ro], atol=1e-5)
    cov, rcov = gen.covariances_, ref.covariances_
    assert cov.shape == rcov.shape
    if kind != "tied":
        cov, rcov = cov[o], rcov[ro]
    np.testing.assert_allclose(cov, rcov, rtol=2e-3, atol=1e-4)
    np.testing.assert_allclose(gen.score_samples(blobs), ref.score_samples(blobs), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gen.bic(blobs), ref.bic(blobs), rtol=1e-5)
    np.testing.assert_allclose(gen.aic(blobs), ref.aic(blobs), rtol=1e-5)
    assert gen.converged_ and gen.n_iter_ >= 1 and np.isfinite(gen.lower_bound_)


def test_n_parameters_matches_scikit_learn():
    X = np.random.default_rng(0).normal(size=(40, 5))
    for kind in TYPES:
        for k in (1, 3):
            ref = GaussianMixture(k, covariance_type=kind, max_iter=200).fit(X)
            assert n_parameters(kind, k, 5) == ref._n_parameters()


# ---------------------------------------------------------------------------------------------
# Densities and samples
# ---------------------------------------------------------------------------------------------


def _mixture_logpdf(gen, X):
    w, m, cov = gen.weights_, gen.means_, gen.covariances_
    K, d = m.shape
    if gen.covariance_type_ == "tied":
        cov = np.broadcast_to(cov, (K, d, d))
    elif gen.covariance_type_ == "diag":
        cov = np.stack([np.diag(c) for c in cov])
    elif gen.covariance_type_ == "spherical":
        cov = np.stack([c * np.eye(d) for c in cov])
    dens = sum(w[j] * stats.multivariate_normal(m[j], cov[j]).pdf(X) for j in range(K))
    return np.log(dens)


@pytest.mark.parametrize("kind", TYPES)
def test_score_samples_is_the_mixture_density(blobs, kind):
    gen = _fitted(blobs, kind, SEEDS[0])
    X = np.concatenate([blobs, blobs[:50] * 1.3 + 0.5])
    np.testing.assert_allclose(gen.score_samples(X), _mixture_logpdf(gen, X), rtol=1e-4, atol=1e-4)


def _mixture_moments(gen):
    w, m = gen.weights_, gen.means_
    K, d = m.shape
    cov = gen.covariances_
    if gen.covariance_type_ == "tied":
        cov = np.broadcast_to(cov, (K, d, d))
    elif gen.covariance_type_ == "diag":
        cov = np.stack([np.diag(c) for c in cov])
    elif gen.covariance_type_ == "spherical":
        cov = np.stack([c * np.eye(d) for c in cov])
    mean = w @ m
    second = np.einsum("k,kij->ij", w, cov + np.einsum("ki,kj->kij", m, m))
    return mean, second - np.outer(mean, mean)


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("seed", SEEDS)
def test_samples_have_the_mixture_moments(blobs, kind, seed):
    gen = _fitted(blobs, kind, seed)
    S = gen.sample(131_072, seed=seed)
    mean, cov = _mixture_moments(gen)
    scale = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(S.mean(0), mean, atol=0.02 * scale.max())
    np.testing.assert_allclose(np.cov(S.T), cov, atol=0.03 * scale.max() ** 2)


def test_sample_gmm_large_batches_follow_each_component(blobs):
    params = _fitted(blobs, "full", SEEDS[0]).params_
    S = np.asarray(jax.jit(sample_gmm, static_argnums=2)(jax.random.PRNGKey(9), params, 150_000))
    labels = np.argmax(np.stack([
        np.asarray(log_prob_gmm(params._replace(log_weights=params.log_weights.at[j].set(1e3)), S))
        for j in range(3)]), axis=0)
    L = np.asarray(params.cov_chol)
    for j in range(3):
        part = S[labels == j]
        np.testing.assert_allclose(part.mean(0), np.asarray(params.means)[j], atol=0.05)
        np.testing.assert_allclose(np.cov(part.T), L[j] @ L[j].T, atol=0.06)


def test_component_picks_follow_the_weights():
    w = np.array([0.5, 0.0, 0.2, 0.3])
    with np.errstate(divide="ignore"):
        log_w = np.log(w)
    comp = np.asarray(pick_components(jax.random.PRNGKey(3), log_w, 100_000))
    counts = np.bincount(comp, minlength=4)
    assert counts[1] == 0
    expected = w[[0, 2, 3]] * len(comp)
    assert stats.chisquare(counts[[0, 2, 3]], expected).pvalue > 1e-4



@pytest.mark.parametrize("K", [4, 64, 65, 300])
def test_component_picks_are_the_inverse_cdf_of_the_same_uniforms(K):
    from synthgen.generators._draws import uniform

    log_w = jnp.asarray(np.log(np.random.default_rng(K).dirichlet(np.ones(K))), jnp.float32)
    key = jax.random.PRNGKey(5)
    comp = np.asarray(pick_components(key, log_w, 20_000))
    cdf = np.asarray(jnp.cumsum(jnp.exp(log_w - jnp.max(log_w))))
    u = np.asarray(uniform(key, (20_000,), jnp.float32) * cdf[-1])
    np.testing.assert_array_equal(comp, np.minimum(np.searchsorted(cdf, u, side="right"), K - 1))


@pytest.mark.parametrize("d", [5, 32, 33, 48])
def test_full_covariance_rows_are_mean_plus_own_factor_times_draws(d):
    """Both ways of applying each row's Cholesky factor (by column up to 32 columns, by matrix
    products above) give mu_k + L_k z."""
    from synthgen.generators.gmm import _sample_full

    r = np.random.default_rng(d)
    K, n = 7, 3000
    L = np.tril(r.normal(size=(K, d, d))).astype(np.float32)
    means = r.normal(size=(K, d)).astype(np.float32)
    z = r.normal(size=(n, d)).astype(np.float32)
    comp = r.integers(0, K, n)
    got = np.asarray(jax.jit(_sample_full)(jnp.asarray(z), jnp.asarray(comp), jnp.asarray(means), jnp.asarray(L)))
    expect = means[comp] + np.einsum("nij,nj->ni", L[comp].astype(np.float64), z)
    np.testing.assert_allclose(got, expect, rtol=1e-4, atol=1e-4 * np.sqrt(d))

def test_standard_normal_draws_are_standard_normal():
    z = np.asarray(standard_normal(jax.random.PRNGKey(0), (50_001, 3)))
    assert z.shape == (50_001, 3) and z.dtype == np.float32
    for j in range(3):
        assert stats.kstest(z[:, j], "norm").pvalue > 1e-4
    assert abs(np.corrcoef(z.T)[0, 1]) < 0.02


# ---------------------------------------------------------------------------------------------
# Choosing the size, warnings, files, errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_bic_search_finds_the_three_clusters(blobs, seed):
    gen = synthgen.make("gmm", n_components_range=(1, 6)).fit(blobs, seed=seed)
    assert gen.n_components_ == 3
    assert sorted(gen.bic_curve_) == [1, 2, 3, 4, 5, 6]
    assert min(gen.bic_curve_, key=gen.bic_curve_.get) == 3
    np.testing.assert_allclose(gen.bic(blobs), gen.bic_curve_[3], rtol=1e-6)
    ref = GaussianMixture(3, random_state=seed).fit(blobs)
    np.testing.assert_allclose(gen.bic_curve_[3], ref.bic(blobs), rtol=1e-5)


def test_bic_search_over_covariance_types(blobs):
    gen = synthgen.make("gmm", n_components_range=(1, 3), covariance_type="bic").fit(blobs)
    assert set(gen.bic_curve_) == set(TYPES)
    best = min((bic, kind, k) for kind, c in gen.bic_curve_.items() for k, bic in c.items())
    assert (gen.covariance_type_, gen.n_components_) == (best[1], best[2])
    for kind in TYPES:  # each type is fitted as it would be alone
        np.testing.assert_allclose(gen.bic_curve_[kind][3], _fitted(blobs, kind, 0).bic_curve_[3], rtol=1e-4)
    two = synthgen.make("gmm", n_components_range=(1, 3), covariance_type=["diag", "spherical"])
    two.fit(blobs)
    assert set(two.bic_curve_) == {"diag", "spherical"}
    assert two.covariance_type_ == min(two.bic_curve_, key=lambda t: min(two.bic_curve_[t].values()))


def test_counts_fitted_together_equal_counts_fitted_alone(blobs):
    key = jax.random.PRNGKey(4)
    together = fit_gmm_counts(key, blobs, counts=(1, 2, 3), covariance_type="diag")
    alone, info = fit_gmm(key, blobs, n_components=2, covariance_type="diag")
    np.testing.assert_allclose(together[2][1]["score"], info["score"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(together[2][0].means), np.asarray(alone.means), atol=1e-4)


def test_more_starts_never_lower_the_best_bound(blobs):
    key = jax.random.PRNGKey(11)
    one = fit_gmm_counts(key, blobs, counts=(1, 2, 3), n_init=1)
    three = fit_gmm_counts(key, blobs, counts=(1, 2, 3), n_init=3)
    for k in (1, 2, 3):
        assert three[k][1]["lower_bound"] >= one[k][1]["lower_bound"] - 1e-6



# ---------------------------------------------------------------------------------------------
# Refinement of a search over counts: restarts from the neighbouring counts' fits
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits_refined():
    """Digits, full covariance, 2..8 components: no refinement and two rounds, same key."""
    X = load_digits().data
    settings = dict(counts=tuple(range(2, 9)), covariance_type="full", tol=1e-3, max_iter=100, reg_covar=1e-6)
    key = jax.random.PRNGKey(3)
    return X, fit_gmm_counts(key, X, **settings), fit_gmm_counts(key, X, refine_rounds=2, **settings)


def test_refinement_only_ever_raises_the_bound(digits_refined):
    _, base, refined = digits_refined
    gains = [refined[k][1]["lower_bound"] - base[k][1]["lower_bound"] for k in base]
    assert min(gains) >= 0.0
    # on digits the k-means starts alone are far from the best mixtures found from neighbours
    assert sum(g > 1.0 for g in gains) >= 3


def test_refined_search_is_no_worse_than_scikit_learn_at_any_count(digits_refined):
    from threadpoolctl import threadpool_limits

    X, _, refined = digits_refined
    with threadpool_limits(limits=1):
        for k, (params, info) in refined.items():
            ref = GaussianMixture(k, covariance_type="full", tol=1e-3, max_iter=100, reg_covar=1e-6,
                                  random_state=0).fit(X)
            assert info["bic"] <= ref.bic(X) + 0.01 * abs(ref.bic(X)), k
            # the reported BIC is the BIC of the returned parameters
            ours = GaussianMixture(k, covariance_type="full")
            ours.weights_ = np.exp(np.asarray(params.log_weights, np.float64))
            ours.means_ = np.asarray(params.means, np.float64)
            ours.precisions_cholesky_ = np.asarray(params.prec_chol, np.float64)
            ours.covariances_ = np.linalg.inv(ours.precisions_cholesky_ @ np.swapaxes(ours.precisions_cholesky_, 1, 2))
            np.testing.assert_allclose(ours.bic(X), info["bic"], rtol=1e-4)


def test_split_restart_gives_the_worst_explained_rows_a_new_component(blobs):
    from synthgen.generators.gmm import _neighbour_labels

    X = (blobs - blobs.mean(axis=0)).astype(np.float32)
    Xs, _ = _em.pad_rows(X, len(X))
    res = fit_gmm_counts(jax.random.PRNGKey(0), blobs, counts=(2, 3), covariance_type="full")
    pool = _pool_result(res, (2, 3), blobs.mean(axis=0))
    has, labels = _neighbour_labels(pool, X, Xs, (2, 3), 1, "full", 1e-6, -1)
    assert has.tolist() == [True, True]
    # count 3 from the 2-component fit: n // 3 rows, those of lowest likelihood, are the new one
    params2 = res[2][0]
    shifted = res[2][0]._replace(means=params2.means - blobs.mean(axis=0).astype(np.float32))
    ll = np.asarray(log_prob_gmm(shifted, jnp.asarray(X)))
    new = labels[1] == 2
    assert new.sum() == len(X) // 3
    assert ll[new].max() <= ll[~new].min() + 1e-4
    # the other rows keep their most likely component of the 2-component fit
    logp, _ = _em.component_log_prob(jnp.asarray(X), shifted.means, shifted.prec_chol,
                                     _em.log_det_prec(shifted.prec_chol, 3), shifted.log_weights)
    np.testing.assert_array_equal(labels[1][~new], np.asarray(logp).argmax(axis=1)[~new])
    # count 2 has no fitted predecessor: split off the rows farthest from one Gaussian
    assert (labels[0] == 1).sum() == len(X) // 2


def test_merge_restart_drops_the_lightest_component(blobs):
    from synthgen.generators.gmm import _neighbour_labels

    X = (blobs - blobs.mean(axis=0)).astype(np.float32)
    Xs, _ = _em.pad_rows(X, len(X))
    res = fit_gmm_counts(jax.random.PRNGKey(0), blobs, counts=(3, 4), covariance_type="full")
    pool = _pool_result(res, (3, 4), blobs.mean(axis=0))
    has, labels = _neighbour_labels(pool, X, Xs, (3, 4), 1, "full", 1e-6, 1)
    assert has.tolist() == [True, False]
    p4 = res[4][0]
    shifted = p4._replace(means=p4.means - blobs.mean(axis=0).astype(np.float32))
    logp, _ = _em.component_log_prob(jnp.asarray(X), shifted.means, shifted.prec_chol,
                                     _em.log_det_prec(shifted.prec_chol, 3), shifted.log_weights)
    logp = np.array(logp)
    drop = int(np.argmin(np.asarray(p4.log_weights)))
    logp[:, drop] = -np.inf
    expect = logp.argmax(axis=1)
    np.testing.assert_array_equal(labels[0], expect - (expect > drop))
    assert set(np.unique(labels[0])) <= {0, 1, 2}


def _pool_result(fits, counts, shift):
    """The flat pool result that ``fit_gmm_counts`` works on, rebuilt from its public output."""
    params = [fits[k][0] for k in counts]
    cat = lambda f: np.concatenate([np.asarray(f(p)) for p in params])  # noqa: E731
    pool = _em.PoolParams(cat(lambda p: p.means - shift.astype(np.float32)), cat(lambda p: p.prec_chol),
                          cat(lambda p: _em.log_det_prec(p.prec_chol, p.means.shape[1])),
                          cat(lambda p: p.log_weights))
    lb = np.array([fits[k][1]["lower_bound"] for k in counts])
    return _em.PoolResult(pool, lb, lb * 0, lb > 0, lb)


def test_refine_rounds_must_not_be_negative(blobs):
    with pytest.raises(InvalidParameterError, match="refine_rounds must be a non-negative int; got -1"):
        fit_gmm_counts(jax.random.PRNGKey(0), blobs, counts=(1, 2), refine_rounds=-1)

def test_non_convergence_warns(blobs):
    gen = synthgen.make("gmm", n_components_range=(1, 3), max_iter=2, tol=0.0)
    with pytest.warns(ConvergenceWarning, match=r"did not converge within max_iter=2 for n_components=1, 2, 3 "):
        gen.fit(blobs)
    assert not gen.converged_ and gen.n_iter_ == 2


def test_degenerate_components_match_scikit_learn_and_stay_finite():
    """Digits: pixels constant within clusters give singular scatter matrices; with
    reg_covar EM still follows scikit-learn (float64) from the same start."""
    X = load_digits().data[:300, 16:48]
    X = X[:, X.std(axis=0) > 0]
    labels = [KMeans(6, n_init=1, random_state=s).fit(X).labels_ for s in (0, 1)]
    res = _run_pool(X, labels, (6, 6), "full")
    for i, lb in enumerate(labels):
        w, m, p = _start_from_labels(X, lb, 6, "full", 1e-6)
        ref = GaussianMixture(6, weights_init=w, means_init=m, precisions_init=p).fit(X)
        np.testing.assert_allclose(res.score[i], ref.score(X), rtol=1e-4)
    gen = synthgen.make("gmm", n_components=6).fit(X, seed=0)
    assert np.isfinite(gen.score_samples(X)).all() and np.isfinite(gen.sample(100, seed=1)).all()


def test_save_and_load_keep_the_search(blobs, tmp_path):
    gen = synthgen.make("gmm", n_components_range=(1, 3), covariance_type=("full", "diag")).fit(blobs)
    gen.save(tmp_path / "m.sgm")
    back = synthgen.load(tmp_path / "m.sgm")
    assert back.bic_curve_ == gen.bic_curve_
    for attr in ("n_components_", "covariance_type_", "converged_", "n_iter_", "lower_bound_"):
        assert getattr(back, attr) == getattr(gen, attr), attr
    np.testing.assert_allclose(back.covariances_, gen.covariances_)
    assert back.training_summary()["bic_curve"]["full"]["3"] == pytest.approx(gen.bic_curve_["full"][3])


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_components": 0}, "n_components must be a positive int or 'bic'; got 0"),
        ({"n_components": "many"}, "n_components must be a positive int or 'bic'; got 'many'"),
        ({"n_components": 2.0}, "n_components must be a positive int or 'bic'; got 2.0"),
        ({"n_components_range": (5, 2)}, "n_components_range must be a pair (low, high) of positive ints"),
        ({"n_components_range": (0, 3)}, "n_components_range must be a pair (low, high) of positive ints"),
        ({"n_components_range": 4}, "n_components_range must be a pair (low, high) of positive ints"),
        ({"covariance_type": "round"}, "covariance_type must be one of 'full', 'tied', 'diag', 'spherical', 'bic'"),
        ({"covariance_type": ["full", "x"]}, "covariance_type must be one of"),
        ({"covariance_type": []}, "covariance_type must be one of"),
        ({"reg_covar": -1e-3}, "reg_covar must be a non-negative number; got -0.001"),
        ({"tol": "small"}, "tol must be a non-negative number; got 'small'"),
        ({"max_iter": 0}, "max_iter must be a positive int; got 0"),
        ({"n_init": 0}, "n_init must be a positive int; got 0"),
        ({"refine_rounds": -1}, "refine_rounds must be a non-negative int; got -1"),
        ({"refine_rounds": 1.5}, "refine_rounds must be a non-negative int; got 1.5"),
        ({"n_components": 500}, "n_components must be at most the number of training rows (150); got 500"),
        ({"n_components_range": (200, 300)}, "n_components_range must start at most at the number of training rows"),
    ],
)
def test_bad_hyperparameters_name_themselves(iris, params, message):
    gen = synthgen.make("gmm", **params)
    with pytest.raises(InvalidParameterError) as err:
        gen.fit(iris)
    assert str(err.value).startswith(message), str(err.value)


def test_bic_range_is_clipped_to_the_rows():
    X = np.random.default_rng(0).normal(size=(4, 2))
    gen = synthgen.make("gmm", n_components_range=(1, 20), covariance_type="spherical").fit(X)
    assert sorted(gen.bic_curve_) == [1, 2, 3, 4]


@pytest.mark.parametrize("kind", TYPES)
def test_a_component_with_no_rows_stays_finite_as_in_scikit_learn(iris, kind):
    """Hard labels that leave a component empty: scikit-learn gives it weight ~0, mean 0 and
    covariance reg_covar * I, and goes on; so must the EM here (it used to return NaN)."""
    labels = np.arange(len(iris)) % 2  # three components, the third gets no row
    res = _run_pool(iris, [labels], (3,), kind)
    assert all(np.isfinite(np.asarray(a)).all() for a in res.params)
    w, m, p = _start_from_labels(iris, labels, 3, kind, 1e-6)
    ref = GaussianMixture(3, covariance_type=kind, weights_init=w, means_init=m,
                          precisions_init=p, tol=1e-3, max_iter=100).fit(iris)
    np.testing.assert_allclose(res.score[0], ref.score(iris), rtol=2e-4, atol=2e-4)


@pytest.fixture(scope="module")
def adult_matrix():
    """3,200 Adult rows through the TableVectoriser: ~100 one-hot and flag columns, most of
    them constant within any one cluster."""
    from synthgen import datasets
    from synthgen.vectorisers import TableVectoriser

    frame = datasets.load("adult").sample(3200, random_state=2)
    return TableVectoriser().fit_transform(frame)


@pytest.mark.parametrize("k", (5, 10))
def test_full_covariance_em_on_one_hot_data_stays_finite(adult_matrix, k):
    """One-hot groups sum to 1 and are constant within clusters, so every component's scatter
    is singular: float32 EM must neither diverge nor stop with NaN parameters (with key 2 both
    counts ended in NaN before the scatter was accumulated about each chunk's mean), and it
    reaches optima as good as scikit-learn's float64 EM from its own starts."""
    ours = []
    for seed in (0, 1, 2):
        params, info = fit_gmm(jax.random.PRNGKey(seed), adult_matrix, n_components=k)
        assert all(np.isfinite(np.asarray(a)).all() for a in params), seed
        assert info["converged"] and np.isfinite(info["score"]), seed
        assert np.isfinite(np.asarray(log_prob_gmm(params, adult_matrix))).all()
        assert np.isfinite(np.asarray(sample_gmm(jax.random.PRNGKey(3), params, 100))).all()
        ours.append(info["score"])
    theirs = [GaussianMixture(k, random_state=s).fit(adult_matrix).score(adult_matrix) for s in (0, 1, 2)]
    assert np.mean(ours) >= np.mean(theirs) - 0.02 * abs(np.mean(theirs)), (ours, theirs)


def test_kmeans_start_uses_every_cluster_on_duplicated_rows():
    """Many equal rows (6 distinct points, 100 copies each): k-means++ must not pick a copy of a
    centre it has, and Lloyd must not leave a cluster empty, so all 6 labels are used."""
    from synthgen.generators._kmeans import kmeans_labels

    points = np.random.default_rng(0).integers(0, 2, size=(6, 12)).astype(np.float32)
    points[:, 0] = np.arange(6)  # all distinct
    X = np.repeat(points, 100, axis=0)
    keys = jax.random.split(jax.random.PRNGKey(0), 20)
    labels, _ = kmeans_labels(keys, jnp.asarray(X), jnp.full(20, 6, jnp.int32), k_max=6)
    for lb in np.asarray(labels):
        assert len(np.unique(lb)) == 6


# ---------------------------------------------------------------------------------------------
# Row counts in one size bucket share one compiled program; padding rows count for nothing
# ---------------------------------------------------------------------------------------------


def _two_clusters(n, d, seed=0):
    r = np.random.default_rng(seed)
    return np.concatenate([r.normal(size=(n - n // 3, d)), r.normal(size=(n // 3, d)) * 0.5 + 4.0])


def test_fits_on_1000_and_1001_rows_compile_the_em_and_kmeans_once():
    from synthgen.generators._kmeans import kmeans_labels

    X = _two_clusters(1001, 2, seed=3)
    synthgen.make("gmm", n_components_range=(1, 3), covariance_type="diag").fit(X[:1000], seed=0)
    sizes = (_em.em_pool._cache_size(), kmeans_labels._cache_size())
    gen = synthgen.make("gmm", n_components_range=(1, 3), covariance_type="diag").fit(X, seed=0)
    assert (_em.em_pool._cache_size(), kmeans_labels._cache_size()) == sizes
    assert gen.n_components_ == 2


def test_padding_rows_never_enter_kmeans_or_em(blobs):
    """Rows of weight 0 appended to the data, even far-off ones, change no label and no fit."""
    from synthgen.generators._kmeans import kmeans_labels

    X = (blobs - blobs.mean(axis=0)).astype(np.float32)
    n = len(X)
    keys = jax.random.split(jax.random.PRNGKey(4), 3)
    ks = jnp.asarray([2, 3, 4], jnp.int32)
    plain, _ = kmeans_labels(keys, jnp.asarray(X), ks, k_max=4)
    junk = np.concatenate([X, np.full((212, 3), 1e3, np.float32)])
    w = (np.arange(len(junk)) < n).astype(np.float32)
    padded, _ = kmeans_labels(keys, jnp.asarray(junk), ks, jnp.asarray(w), k_max=4)
    np.testing.assert_array_equal(np.asarray(padded)[:, :n], np.asarray(plain))

    labels = [np.asarray(plain)[1]]
    ref = _run_pool(blobs, labels, (3,), "full")
    Xs, ws = _em.pad_rows(X, 128, n_rows=512)
    assert Xs.shape == (4, 128, 3) and ws.sum() == n and (ws.reshape(-1)[n:] == 0).all()
    Xs.reshape(-1, 3)[n:] = 1e3
    lab = np.pad(labels[0], (0, 512 - n))[None].astype(np.int32)
    res = jax.device_get(_em.em_pool(Xs, ws, lab, counts=(3,), kind="full", reg=1e-6, tol=1e-3,
                                     max_iter=100))
    assert res.n_iter[0] == ref.n_iter[0]
    np.testing.assert_allclose(res.score, ref.score, rtol=1e-5)
    np.testing.assert_allclose(res.params.means, ref.params.means, atol=1e-4)
    np.testing.assert_allclose(res.params.prec, ref.params.prec, rtol=1e-3, atol=1e-3)


# ---------------------------------------------------------------------------------------------
# What the rows cannot support is refused or left out of the search, and said so
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["full", "tied"])
def test_full_and_tied_covariances_need_more_rows_than_columns(kind):
    X = np.random.default_rng(0).normal(size=(30, 40))
    with pytest.raises(InvalidParameterError) as err:
        synthgen.make("gmm", covariance_type=kind).fit(X)
    msg = str(err.value)
    assert msg.startswith(f"covariance_type='{kind}' needs more training rows than dimensions")
    assert "30 rows in 40 dimensions" in msg and "covariance_type='diag'" in msg and "pca_gmm" in msg
    with pytest.raises(InvalidParameterError, match="needs more training rows than dimensions"):
        fit_gmm(jax.random.PRNGKey(0), X, n_components=1, covariance_type=kind)


def test_a_search_over_types_leaves_out_those_the_rows_cannot_estimate():
    X = np.random.default_rng(1).normal(size=(30, 40))
    gen = synthgen.make("gmm", covariance_type="bic", n_components_range=(1, 2)).fit(X)
    assert set(gen.bic_curve_) == {"diag", "spherical"}
    assert gen.covariance_type_ in ("diag", "spherical")
    assert any("full, tied not searched" in note for note in gen.search_notes_)
    with pytest.raises(InvalidParameterError, match=r"covariance_type='full' or 'tied' needs more"):
        synthgen.make("gmm", covariance_type=["full", "tied"]).fit(X)


def test_the_bic_search_stops_at_the_components_the_rows_support(tmp_path):
    """300 rows in 20 dimensions hold 14 full components of 21 rows: the search ends there."""
    X = _two_clusters(300, 20, seed=2)
    gen = synthgen.make("gmm", n_components_range=(1, 20), refine_rounds=0).fit(X)
    assert sorted(gen.bic_curve_) == list(range(1, 15))
    assert gen.search_notes_ == ["n_components searched up to 14, not 20: that is as many as 300 rows "
                                 "in 20 dimensions support with covariance_type='full'"]
    assert gen.training_summary()["search_notes"] == gen.search_notes_
    gen.save(tmp_path / "m.sgm")
    assert synthgen.load(tmp_path / "m.sgm").search_notes_ == gen.search_notes_
    tied = synthgen.make("gmm", covariance_type="tied", n_components_range=(1, 6), refine_rounds=0)
    assert sorted(tied.fit(X[:24]).bic_curve_) == [1, 2, 3, 4]  # 24 rows, 20 dimensions: 4 left
    with pytest.raises(InvalidParameterError) as err:
        synthgen.make("gmm", n_components_range=(15, 20)).fit(X)
    assert str(err.value).startswith("n_components_range must start at most at 14: with "
                                     "covariance_type='full', 300 rows in 20 dimensions")


def test_an_unlimited_search_notes_nothing(blobs):
    gen = synthgen.make("gmm", n_components_range=(1, 3)).fit(blobs)
    assert gen.search_notes_ == [] and gen.training_summary()["search_notes"] == []


@pytest.mark.parametrize("kind", TYPES)
def test_a_constant_column_follows_scikit_learn_from_the_same_start(iris, kind):
    """Iris with a constant column added: EM (variance reg_covar in that column) gives
    scikit-learn's lower bound and score from the same start, and the BIC agrees."""
    X = np.column_stack([iris, np.full(len(iris), 2.5)])
    k = 3
    labels = np.arange(len(X)) % k
    np.random.default_rng(8).shuffle(labels)
    res = _run_pool(X, [labels], (k,), kind)
    w, m, p = _start_from_labels(X, labels, k, kind, 1e-6)
    ref = GaussianMixture(k, covariance_type=kind, weights_init=w, means_init=m,
                          precisions_init=p, tol=1e-3, max_iter=100).fit(X)
    np.testing.assert_allclose(res.score[0], ref.score(X), rtol=2e-4, atol=2e-4)
    gen = synthgen.make("gmm", n_components=k, covariance_type=kind).fit(X, seed=0)
    theirs = GaussianMixture(k, covariance_type=kind, random_state=0).fit(X).bic(X)
    assert np.isfinite(gen.bic(X)) and gen.bic(X) <= theirs + 0.01 * abs(theirs)
    assert (gen.sample(100, seed=1)[:, -1] == 2.5).all()
