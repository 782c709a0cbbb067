"""The KDE generator against scikit-learn's KernelDensity and float64 brute force."""

from __future__ import annotations

import warnings
from functools import partial

import jax
import jax.extend
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import cdist
from scipy.special import logsumexp
from sklearn.datasets import load_digits
from sklearn.model_selection import KFold, train_test_split
from sklearn.neighbors import KernelDensity

import synthgen
from synthgen.generators.kde import (
    QUERY_BLOCK,
    TRAIN_BLOCK,
    cv_log_likelihood,
    fit_kde,
    log_prob_kde,
    scott_bandwidth,
    silverman_bandwidth,
)


def as_f32(X):
    """The float64 values that float32 represents exactly, so references see the same data."""
    return np.asarray(X, dtype=np.float32).astype(np.float64)


def brute_log_density(X, Q, h):
    """Float64 reference: every pair, scipy's logsumexp."""
    d2 = cdist(Q, X, "sqeuclidean")
    d = X.shape[1]
    return logsumexp(-d2 / (2 * h * h), axis=1) - np.log(len(X)) - d * np.log(h) - 0.5 * d * np.log(2 * np.pi)


@pytest.fixture(scope="module")
def mixture():
    """900 x 2 rows from two well-separated clusters (the best bandwidth is well inside the grid)."""
    r = np.random.default_rng(3)
    a = r.normal(size=(450, 2)) * 0.5
    b = r.normal(size=(450, 2)) * 0.5 + np.array([4.0, 1.0])
    return as_f32(np.concatenate([a, b]))


@pytest.mark.parametrize("h", [0.2, 0.6, 2.5])
def test_score_samples_matches_sklearn(correlated_data, h):
    X = as_f32(correlated_data)
    r = np.random.default_rng(1)
    Q = as_f32(np.concatenate([X[:40], X[40:100] + r.normal(size=(60, 3)), X[:10] + 6.0]))
    gen = synthgen.make("kde", bandwidth=h).fit(X)
    ref = KernelDensity(bandwidth=h).fit(X).score_samples(Q)
    np.testing.assert_allclose(gen.score_samples(Q), ref, rtol=1e-5)
    assert gen.bandwidth_ == pytest.approx(h)


def test_score_samples_matches_sklearn_in_many_dimensions():
    """d = 40 runs the feature loop; 1,300 training rows end in a partial training block."""
    r = np.random.default_rng(2)
    X = as_f32(r.normal(size=(1300, 40)) @ (np.eye(40) + 0.2 * r.normal(size=(40, 40))))
    Q = as_f32(np.concatenate([X[:300], r.normal(size=(213, 40)) * 1.5]))
    gen = synthgen.make("kde", bandwidth=3.0).fit(X)
    ref = KernelDensity(bandwidth=3.0).fit(X).score_samples(Q)
    np.testing.assert_allclose(gen.score_samples(Q), ref, rtol=1e-5)
    # Narrower kernels: scikit-learn's tree-based sums drift (by 2% at h = 1.5), brute force does not.
    narrow = synthgen.make("kde", bandwidth=1.5).fit(X)
    np.testing.assert_allclose(narrow.score_samples(Q), brute_log_density(X, Q, 1.5), rtol=1e-5)


def test_narrow_kernels_and_far_queries_match_float64_brute_force():
    """No underflow: a query 40 bandwidths from every row still has its exact log density.

    scikit-learn's tree-based sums are not accurate for kernels this narrow, so the
    reference is the float64 sum over every pair.
    """
    r = np.random.default_rng(4)
    X = as_f32(r.normal(size=(700, 6)) + 3.0)
    Q = as_f32(np.concatenate([X[:200] + 0.05 * r.normal(size=(200, 6)), X[:50] + 4.0]))
    h = 0.05
    got = np.asarray(jax.jit(log_prob_kde)(fit_kde(X, h), Q), dtype=np.float64)
    ref = brute_log_density(X, Q, h)
    assert np.isfinite(got).all() and ref.min() < -1e4
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-4)


def test_blocks_do_not_change_scores(correlated_data):
    X = as_f32(correlated_data)
    Q = X[:123] + 0.3
    params = fit_kde(X, 0.4)
    whole = np.asarray(jax.jit(partial(log_prob_kde, query_block=1024, train_block=1024))(params, Q))
    tiny = np.asarray(jax.jit(partial(log_prob_kde, query_block=5, train_block=7))(params, Q))
    np.testing.assert_allclose(tiny, whole, rtol=2e-6)
    np.testing.assert_allclose(whole, brute_log_density(X, Q, 0.4), rtol=1e-5)


def _largest_intermediate(jaxpr) -> int:
    biggest = 0
    for eqn in jaxpr.eqns:
        for var in eqn.outvars:
            biggest = max(biggest, int(np.prod(var.aval.shape, dtype=np.int64)))
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            biggest = max(biggest, _largest_intermediate(sub))
    return biggest


def test_scoring_never_builds_a_train_by_query_matrix():
    n, m, d = 6000, 5000, 3
    params = fit_kde(np.zeros((n, d), np.float32), 1.0)
    jaxpr = jax.make_jaxpr(log_prob_kde)(params, np.zeros((m, d), np.float32)).jaxpr
    largest = _largest_intermediate(jaxpr)
    assert largest <= max(QUERY_BLOCK * TRAIN_BLOCK, (m + QUERY_BLOCK) * d)
    assert largest < n * m // 100
    unblocked = partial(log_prob_kde, query_block=m, train_block=n)
    assert _largest_intermediate(jax.make_jaxpr(unblocked)(params, np.zeros((m, d), np.float32)).jaxpr) >= n * m


def test_digits_known_answer_matches_sklearn_predictions():
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=1)
    score = jax.jit(log_prob_kde)
    ours, theirs = [], []
    for c in range(10):
        prior = np.log(np.mean(ytr == c))
        ours.append(prior + np.asarray(score(fit_kde(Xtr[ytr == c], 10.0), Xte), dtype=np.float64))
        theirs.append(prior + KernelDensity(bandwidth=10.0).fit(Xtr[ytr == c]).score_samples(Xte))
    pred, ref = np.argmax(ours, axis=0), np.argmax(theirs, axis=0)
    np.testing.assert_array_equal(pred, ref)
    assert round(float(np.mean(pred == yte)), 4) == 0.9907


@pytest.mark.parametrize("seed", [0, 1, 99])
def test_samples_have_the_training_moments_plus_kernel_noise(correlated_data, seed):
    h = 0.5
    gen = synthgen.make("kde", bandwidth=h).fit(correlated_data, seed=seed)
    S = gen.sample(65_536, seed=seed)
    X = np.asarray(gen.params_.train, dtype=np.float64)
    np.testing.assert_allclose(S.mean(axis=0), X.mean(axis=0), atol=0.025)
    np.testing.assert_allclose(np.cov(S.T), np.cov(X.T, bias=True) + h * h * np.eye(3), atol=0.03)
    np.testing.assert_array_equal(gen.sample(500, seed=seed), S[:500])
    assert not np.allclose(gen.sample(500, seed=seed + 1), S[:500])


def test_samples_pick_rows_uniformly_and_add_gaussian_noise():
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0], [5.0, 20.0]])
    gen = synthgen.make("kde", bandwidth=0.7).fit(centres, seed=0)
    S = gen.sample(32_768, seed=2)
    nearest = np.argmin(cdist(S, centres), axis=1)
    counts = np.bincount(nearest, minlength=5)
    assert stats.chisquare(counts).pvalue > 1e-4
    resid = S - centres[nearest]
    for j in range(2):
        assert stats.kstest(resid[:, j], "norm", args=(0.0, 0.7)).pvalue > 1e-4


@pytest.mark.parametrize("rule, fn", [("scott", scott_bandwidth), ("silverman", silverman_bandwidth)])
def test_bandwidth_rules_are_sklearns(mixture, rule, fn):
    gen = synthgen.make("kde", bandwidth=rule).fit(mixture)
    ref = KernelDensity(bandwidth=rule).fit(mixture)
    assert gen.bandwidth_ == pytest.approx(ref.bandwidth_, rel=1e-6)
    assert fn(*mixture.shape) == pytest.approx(ref.bandwidth_, rel=1e-12)
    np.testing.assert_allclose(gen.score_samples(mixture[:200]), ref.score_samples(mixture[:200]), rtol=1e-5)
    assert gen.cv_scores_ is None


def sklearn_held_out(X, h, splits):
    """Mean held-out log density per row, with scikit-learn, over the given (train, test) splits."""
    total = 0.0
    for train, test in splits:
        total += KernelDensity(bandwidth=h).fit(X[train]).score_samples(X[test]).sum()
    return total / len(X)


def test_cv_scores_equal_sklearn_on_the_same_folds(mixture):
    grid = np.array([0.05, 0.2, 0.8])
    folds = np.arange(len(mixture)) % 4
    splits = [(np.nonzero(folds != f)[0], np.nonzero(folds == f)[0]) for f in range(4)]
    ours = cv_log_likelihood(mixture, grid, folds)
    ref = [sklearn_held_out(mixture, h, splits) for h in grid]
    np.testing.assert_allclose(ours, ref, rtol=1e-5)


def test_cv_picks_the_best_bandwidth_of_the_grid(mixture):
    gen = synthgen.make("kde", bandwidth="cv", cv_grid=12, cv_folds=5).fit(mixture, seed=0)
    grid = np.array(list(gen.cv_scores_))
    assert len(grid) == 12 and np.all(np.diff(grid) > 0)
    splits = list(KFold(5, shuffle=True, random_state=0).split(mixture))
    brute = np.array([sklearn_held_out(mixture, h, splits) for h in grid])
    best = int(np.argmax(brute))
    chosen = int(np.argmin(np.abs(grid - gen.bandwidth_)))
    assert 0 < best < len(grid) - 1
    assert abs(chosen - best) <= 1
    assert brute[chosen] >= brute[best] - 0.01 * abs(brute[best])
    assert gen.cv_scores_[grid[chosen]] == max(gen.cv_scores_.values())


def test_cv_on_an_explicit_grid_and_a_subset_of_rows(mixture):
    grid = [0.3, 0.03, 3.0, 0.3]
    gen = synthgen.make("kde", bandwidth="cv", cv_grid=grid, cv_max_rows=300).fit(mixture)
    assert list(gen.cv_scores_) == [0.03, 0.3, 3.0]
    assert gen.bandwidth_ == pytest.approx(0.3)


def test_cv_warns_when_the_best_is_at_the_edge_of_the_grid(mixture):
    with pytest.warns(UserWarning, match="chose the smallest value on the grid"):
        synthgen.make("kde", bandwidth="cv", cv_grid=[0.5, 1.0, 4.0]).fit(mixture)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        synthgen.make("kde", bandwidth="cv", cv_grid=[0.05, 0.2, 1.0]).fit(mixture)


def test_cv_choice_survives_save_and_load(mixture, tmp_path):
    gen = synthgen.make("kde", bandwidth="cv", cv_grid=np.array([0.05, 0.2, 1.0])).fit(mixture, seed=4)
    path = tmp_path / "kde.sgm"
    gen.save(path)
    back = synthgen.load(path)
    assert back.bandwidth_ == gen.bandwidth_
    assert back.cv_scores_ == gen.cv_scores_
    np.testing.assert_array_equal(back.sample(100, seed=1), gen.sample(100, seed=1))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"bandwidth": 0}, "bandwidth must be a positive number, 'scott', 'silverman' or 'cv'; got 0"),
        ({"bandwidth": -0.5}, "bandwidth must be a positive number, 'scott', 'silverman' or 'cv'; got -0.5"),
        ({"bandwidth": "auto"}, "bandwidth must be a positive number, 'scott', 'silverman' or 'cv'; got 'auto'"),
        ({"bandwidth": float("inf")}, "bandwidth must be a positive number"),
        ({"bandwidth": float("nan")}, "bandwidth must be a positive number"),
        ({"bandwidth": True}, "bandwidth must be a positive number"),
        ({"cv_grid": 1}, "cv_grid must be an int >= 2 or a sequence of at least 2 positive numbers; got 1"),
        ({"cv_grid": [0.1, -1.0]}, "cv_grid must be an int >= 2 or a sequence"),
        ({"cv_span": 1.0}, "cv_span must be a number in (1.0, inf]; got 1.0"),
        ({"cv_folds": 1}, "cv_folds must be an int in [2, inf]; got 1"),
        ({"cv_max_rows": 0}, "cv_max_rows must be an int in [2, inf] or None; got 0"),
    ],
)
def test_bad_hyperparameters_name_themselves(mixture, params, message):
    gen = synthgen.make("kde", **params)
    with pytest.raises(synthgen.InvalidParameterError) as err:
        gen.fit(mixture)
    assert str(err.value).startswith(message)


def test_more_folds_than_rows_is_refused():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.5]])
    with pytest.raises(synthgen.InvalidParameterError, match="cv_folds must be at most .* got cv_folds=5 with 3"):
        synthgen.make("kde", bandwidth="cv").fit(X)


# ---------------------------------------------------------------------------------------------
# Constant columns, the public API on digits, and scikit-learn's model selection
# ---------------------------------------------------------------------------------------------


def test_raw_digits_with_their_constant_pixels_score_as_sklearn():
    X, _ = load_digits(return_X_y=True)
    assert (np.ptp(X, axis=0) == 0).sum() == 3
    gen = synthgen.make("kde", bandwidth=10.0).fit(X[:1200])
    ref = KernelDensity(bandwidth=10.0).fit(X[:1200]).score_samples(X[1200:])
    np.testing.assert_allclose(gen.score_samples(X[1200:]), ref, rtol=1e-5)
    constant = np.flatnonzero(np.ptp(X, axis=0) == 0)
    assert (gen.sample(200, seed=0)[:, constant] == X[0, constant]).all()


class KDEClassifier:
    """The not-so-naive Bayes classifier: one synthgen KDE per class, through the public API."""

    def __init__(self, bandwidth=1.0):
        self.bandwidth = bandwidth

    def get_params(self, deep=True):
        return {"bandwidth": self.bandwidth}

    def set_params(self, **params):
        self.bandwidth = params.get("bandwidth", self.bandwidth)
        return self

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags())

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.models_ = [synthgen.make("kde", bandwidth=self.bandwidth).fit(X[y == c])
                        for c in self.classes_]
        self.log_priors_ = np.log([np.mean(y == c) for c in self.classes_])
        return self

    def log_posterior(self, X):
        return np.array([m.score_samples(X) + p for m, p in zip(self.models_, self.log_priors_)])

    def predict(self, X):
        return self.classes_[np.argmax(self.log_posterior(X), axis=0)]

    def score(self, X, y):
        return float(np.mean(self.predict(X) == y))


def test_not_so_naive_bayes_on_digits_through_the_public_api():
    """Bandwidth by 5-fold cross-validation of the classifier, as in the textbook recipe;
    the predictions are scikit-learn's KernelDensity's at the chosen bandwidth."""
    from sklearn.model_selection import GridSearchCV

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=1)
    grid = GridSearchCV(KDEClassifier(), {"bandwidth": [1.0, 2.0, 4.0, 6.579, 10.0, 20.0]}, cv=5)
    grid.fit(Xtr, ytr)
    h = grid.best_params_["bandwidth"]
    assert h == 6.579
    ours = grid.best_estimator_.predict(Xte)
    theirs = np.argmax([np.log(np.mean(ytr == c))
                        + KernelDensity(bandwidth=h).fit(Xtr[ytr == c]).score_samples(Xte)
                        for c in range(10)], axis=0)
    np.testing.assert_array_equal(ours, theirs)
    assert np.mean(ours == yte) >= 0.9907


def test_grid_search_over_a_generators_hyperparameters_uses_its_score(mixture):
    """GridSearchCV on a synthgen generator ranks bandwidths by mean held-out log-likelihood,
    as it does for scikit-learn's KernelDensity on the same folds."""
    from sklearn.model_selection import GridSearchCV

    grid = {"bandwidth": [0.1, 0.3, 0.9]}
    ours = GridSearchCV(synthgen.make("kde"), grid, cv=KFold(3)).fit(mixture)
    ref = GridSearchCV(KernelDensity(), grid, cv=KFold(3)).fit(mixture)
    assert ours.best_params_ == ref.best_params_
    # KernelDensity.score is the total log-likelihood of a fold, synthgen's the mean per row
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"] * (len(mixture) // 3),
                               ref.cv_results_["mean_test_score"], rtol=1e-4)


# ---------------------------------------------------------------------------------------------
# The categorical kernel
# ---------------------------------------------------------------------------------------------


def small_table(n=300, seed=0):
    r = np.random.default_rng(seed)
    colour = r.choice(["red", "green", "blue", "grey"], size=n, p=[0.4, 0.3, 0.2, 0.1])
    flag = r.random(n) < np.where(colour == "red", 0.8, 0.3)
    x = r.normal(size=n) + (colour == "blue") * 2.0
    return pd.DataFrame({"x": x, "colour": colour, "flag": flag})


def aitchison_aitken_reference(train, query, kernel, h):
    """Float64 brute force: the product of a Gaussian and one categorical kernel per block."""
    lam = kernel.lam
    log_k = np.zeros((len(query), len(train)))
    cont = list(kernel.cont)
    if cont:
        d2 = cdist(query[:, cont], train[:, cont], "sqeuclidean")
        log_k += -d2 / (2 * h * h) - len(cont) * np.log(h) - 0.5 * len(cont) * np.log(2 * np.pi)
    for block in kernel.onehot:
        same = np.argmax(query[:, block], 1)[:, None] == np.argmax(train[:, block], 1)[None, :]
        log_k += np.where(same, np.log(1 - lam), np.log(lam / (len(block) - 1)))
    for j in kernel.flags:
        same = query[:, j][:, None] == train[:, j][None, :]
        log_k += np.where(same, np.log(1 - lam), np.log(lam))
    return logsumexp(log_k, axis=1) - np.log(len(train))


@pytest.mark.parametrize("lam", [0.01, 0.2, 0.5])
def test_mixed_kernel_scores_equal_float64_brute_force(lam):
    df = small_table()
    gen = synthgen.make("kde", bandwidth=0.4, cat_smoothing=lam).fit(df)
    kernel = gen._kernel()
    assert kernel.lam == lam and len(kernel.onehot) == 1 and len(kernel.flags) == 1
    M = gen.vectoriser_.transform(df).astype(np.float64)
    ref = aitchison_aitken_reference(M, M[:50], kernel, 0.4)
    np.testing.assert_allclose(gen.score_samples(df.iloc[:50]), ref, rtol=1e-5, atol=1e-5)


def test_categorical_kernel_is_a_distribution_over_the_categories():
    df = small_table().drop(columns="x")
    gen = synthgen.make("kde", cat_smoothing=0.15).fit(df)
    every = pd.DataFrame([(c, f) for c in ["red", "green", "blue", "grey"] for f in (False, True)],
                         columns=["colour", "flag"])
    assert np.exp(gen.score_samples(every)).sum() == pytest.approx(1.0, abs=1e-5)


def test_sampled_categories_follow_the_kernel_marginals():
    df = small_table(n=400, seed=1)
    lam = 0.3
    gen = synthgen.make("kde", bandwidth=0.4, cat_smoothing=lam).fit(df)
    out = gen.sample(20_000, seed=3)
    cats = ["blue", "green", "grey", "red"]
    f = df["colour"].value_counts(normalize=True).reindex(cats).to_numpy()
    expected = (1 - lam) * f + lam * (1 - f) / 3
    observed = out["colour"].value_counts().reindex(cats).to_numpy()
    assert stats.chisquare(observed, expected * len(out)).pvalue > 0.001
    p_flag = (1 - lam) * df["flag"].mean() + lam * (1 - df["flag"].mean())
    assert abs(out["flag"].mean() - p_flag) < 4 * np.sqrt(p_flag * (1 - p_flag) / len(out))


def test_cross_validation_chooses_lambda_and_samples_are_not_copies():
    adult = synthgen.datasets.load("adult").sample(2000, random_state=0).reset_index(drop=True)
    gen = synthgen.make("kde").fit(adult, seed=0)
    lam = gen.cat_smoothing_
    assert 0 < lam <= 0.5 and lam == max(gen.cv_lambda_scores_, key=gen.cv_lambda_scores_.get)
    assert gen.bandwidth_ == pytest.approx(max(gen.cv_scores_, key=gen.cv_scores_.get), rel=1e-6)
    synth = gen.sample(2000, seed=1)
    report = synthgen.evaluate(adult, synth)
    assert report.to_dict()["privacy"]["exact_copies"]["synthetic"] < 0.10
    old = synthgen.make("kde", cat_smoothing=None).fit(adult, seed=0)
    assert old.cat_smoothing_ is None


def test_held_out_scores_of_the_mixed_kernel_equal_brute_force():
    from synthgen.generators.kde import cv_log_likelihood, kfold_labels

    df = small_table(n=120, seed=2)
    gen = synthgen.make("kde", bandwidth=0.5, cat_smoothing=0.1).fit(df)
    M = gen.vectoriser_.transform(df).astype(np.float64)
    folds = kfold_labels(jax.random.PRNGKey(0), len(M), 3)
    kernel = gen._kernel()
    got = cv_log_likelihood(M, [0.3, 0.5], folds, kernel, [0.1, 0.2])
    for value, (h, lam) in zip(got, [(0.3, 0.1), (0.5, 0.2)]):
        k = kernel._replace(lam=lam)
        total = sum(aitchison_aitken_reference(M[folds != f], M[folds == f], k, h).sum()
                    for f in range(3))
        assert value == pytest.approx(total / len(M), rel=1e-5)


def test_the_categorical_kernel_survives_save_and_load(tmp_path):
    df = small_table()
    gen = synthgen.make("kde", bandwidth=0.4, cat_smoothing=0.2).fit(df)
    gen.save(tmp_path / "k.sgm")
    back = synthgen.load(tmp_path / "k.sgm")
    assert back.cat_smoothing_ == 0.2
    pd.testing.assert_frame_equal(back.sample(100, seed=4), gen.sample(100, seed=4))
    np.testing.assert_allclose(back.score_samples(df), gen.score_samples(df), rtol=1e-6)
