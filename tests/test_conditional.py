"""Conditional sampling, ``sample(n, given=...)``: closed forms, brute force, exact given values,
clear errors for impossible conditions, and the rejection fallback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import synthgen
from synthgen.errors import InvalidDataError, InvalidParameterError, SamplingError
from synthgen.generators._conditional import gmm_mixture, pca_gmm_mixture
from synthgen.generators.gaussian import GaussianGenerator
from synthgen import conditional

N = 20_000


@pytest.fixture(scope="module")
def bivariate():
    r = np.random.default_rng(3)
    cov = np.array([[1.0, 0.8], [0.8, 2.0]])
    return r.multivariate_normal([1.0, -1.0], cov, size=4000)


@pytest.fixture(scope="module")
def gaussian(bivariate):
    return synthgen.make("gaussian").fit(bivariate, seed=0)


@pytest.fixture(scope="module")
def mixture_data():
    r = np.random.default_rng(4)
    a = r.multivariate_normal([-2.0, 0.0], [[1.0, 0.6], [0.6, 1.0]], size=1500)
    b = r.multivariate_normal([2.0, 3.0], [[0.5, -0.2], [-0.2, 0.8]], size=1000)
    return np.vstack([a, b])


@pytest.fixture(scope="module")
def gmm(mixture_data):
    return synthgen.make("gmm", n_components=2).fit(mixture_data, seed=0)


@pytest.fixture(scope="module")
def table():
    df = synthgen.datasets.load("adult")
    cols = ["age", "sex", "education", "hours-per-week", "income"]
    return df[cols].sample(1500, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module")
def table_gmm(table):
    return synthgen.make("gaussian").fit(table, seed=0)


def _conditional_normal(mean, cov, a):
    """E and Var of x1 given x0 = a (the closed form, float64)."""
    return (mean[1] + cov[1, 0] / cov[0, 0] * (a - mean[0]),
            cov[1, 1] - cov[1, 0] ** 2 / cov[0, 0])


# ---------------------------------------------------------------------------------------------
# gaussian
# ---------------------------------------------------------------------------------------------


def test_gaussian_conditional_matches_the_closed_form(gaussian):
    """x1 | x0 = 2 is N(m, v) from the fitted mean and covariance: the sample mean within 4
    standard errors, the variance within 5%, and a KS test against scipy's normal."""
    rows = gaussian.sample(N, seed=1, given={"x0": 2.0})
    assert np.all(rows[:, 0] == 2.0)
    m, v = _conditional_normal(gaussian.mean_, gaussian.covariance_, 2.0)
    x1 = rows[:, 1].astype(np.float64)
    assert abs(x1.mean() - m) < 4 * np.sqrt(v / N)
    assert abs(x1.var() / v - 1) < 0.05
    assert stats.kstest(x1, stats.norm(m, np.sqrt(v)).cdf).pvalue > 1e-3


def test_gaussian_range_is_a_truncated_normal(gaussian):
    """x0 in [1.5, 3]: x0 follows scipy's truncnorm, x1 the closed-form conditional mean."""
    lo, hi = 1.5, 3.0
    rows = gaussian.sample(N, seed=2, given={"x0": (lo, hi)})
    x0, x1 = rows[:, 0].astype(np.float64), rows[:, 1].astype(np.float64)
    assert x0.min() >= lo and x0.max() <= hi
    mu, S = gaussian.mean_, gaussian.covariance_
    sd = np.sqrt(S[0, 0])
    ref = stats.truncnorm((lo - mu[0]) / sd, (hi - mu[0]) / sd, loc=mu[0], scale=sd)
    assert stats.kstest(x0, ref.cdf).pvalue > 1e-3
    m1 = mu[1] + S[1, 0] / S[0, 0] * (ref.mean() - mu[0])
    assert abs(x1.mean() - m1) < 4 * x1.std() / np.sqrt(N)


def test_far_tail_range_still_gives_every_row(gaussian, bivariate):
    """A sliver at the top of the training range (probability ~1e-6 under the model) is
    sampled exactly, not by rejection; a range beyond it is an error naming the column."""
    top = bivariate[:, 0].max()
    lo = top - 0.01
    rows = gaussian.sample(500, seed=3, given={"x0": (lo, None)})
    assert len(rows) == 500 and rows[:, 0].min() >= np.float32(lo) and rows[:, 0].max() <= top
    with pytest.raises(InvalidDataError, match="'x0'"):
        gaussian.sample(5, given={"x0": (top + 1, None)})


def test_same_seed_same_rows_and_chunks_agree(gaussian):
    a = gaussian.sample(3000, seed=5, given={"x0": 0.5})
    b = gaussian.sample(3000, seed=5, given={"x0": 0.5})
    c = np.concatenate(list(gaussian.iter_sample(3000, seed=5, chunk_rows=700, given={"x0": 0.5})))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


# ---------------------------------------------------------------------------------------------
# gmm
# ---------------------------------------------------------------------------------------------


def test_gmm_posterior_weights_by_hand(gmm):
    """Weights w_k N(a | mu_k0, S_k00), normalised, computed here with scipy."""
    a = 0.3
    rows = gmm.sample(N, seed=1, given={"x0": a})
    w = gmm.weights_ * stats.norm.pdf(a, gmm.means_[:, 0], np.sqrt(gmm.covariances_[:, 0, 0]))
    w /= w.sum()
    np.testing.assert_allclose(gmm.conditional_summary_["posterior_weights"], w, rtol=1e-6)
    # and the rows: mean and variance of x1 by the law of total expectation / variance
    S, mu = gmm.covariances_, gmm.means_
    m = np.array([_conditional_normal(mu[k], S[k], a) for k in range(2)])
    mean = np.sum(w * m[:, 0])
    var = np.sum(w * (m[:, 1] + m[:, 0] ** 2)) - mean ** 2
    x1 = rows[:, 1].astype(np.float64)
    assert abs(x1.mean() - mean) < 4 * np.sqrt(var / N)
    assert abs(x1.var() / var - 1) < 0.06


def test_gmm_range_reweights_components_by_their_mass(gmm):
    """x0 >= 1: each component's weight times its probability of the range (scipy's normal)."""
    rows = gmm.sample(N, seed=2, given={"x0": (1.0, None)})
    assert rows[:, 0].min() >= 1.0
    mu, S = gmm.means_, gmm.covariances_
    hi = rows[:, 0].max()  # ranges are kept within the training range
    sd = np.sqrt(S[:, 0, 0])
    w = gmm.weights_ * (stats.norm.cdf(hi, mu[:, 0], sd) - stats.norm.cdf(1.0, mu[:, 0], sd))
    w /= w.sum()
    np.testing.assert_allclose(gmm.conditional_summary_["posterior_weights"], w, atol=1e-3)


def test_pca_gmm_closed_form_is_its_density(gmm):
    """The data-space mixture conditioned by pca_gmm scores rows as the model does."""
    r = np.random.default_rng(5)  # as many rows as mixture_data: the EM programs are reused
    X = r.normal(size=(2500, 4)) @ np.diag([2.0, 1.5, 0.3, 0.2]) + np.arange(4)
    gen = synthgen.make("pca_gmm", pca_components=2, n_components=2).fit(X, seed=0)
    mix = pca_gmm_mixture(gen.params_)
    probe = X[:5]
    dens = np.logaddexp.reduce([lw + stats.multivariate_normal(m, c).logpdf(probe)
                                for lw, m, c in zip(mix.log_weights, mix.means, mix.cov)], axis=0)
    np.testing.assert_allclose(dens, gen.score_samples(probe), rtol=1e-4, atol=1e-3)
    rows = gen.sample(200, seed=1, given={"x1": float(np.median(X[:, 1]))})
    assert np.all(rows[:, 1] == np.float64(np.median(X[:, 1])).astype(rows.dtype))


# ---------------------------------------------------------------------------------------------
# kde
# ---------------------------------------------------------------------------------------------


def test_kde_conditional_by_brute_force():
    """Kernel i weighted by N(a | t_i0, h^2); x1 then follows the weighted kernel mixture."""
    r = np.random.default_rng(6)
    T = r.normal(size=(40, 2)) * [1.0, 2.0]
    h, a = 0.4, 0.5
    gen = synthgen.make("kde", bandwidth=h).fit(T, seed=0)
    rows = gen.sample(N, seed=1, given={"x0": a})
    w = stats.norm.pdf(a, T[:, 0], h)
    w /= w.sum()

    def cdf(x):
        return np.sum(w[None] * stats.norm.cdf((x[:, None] - T[None, :, 1]) / h), axis=1)

    assert stats.kstest(rows[:, 1].astype(np.float64), cdf).pvalue > 1e-3
    assert gen.conditional_summary_["effective_components"] == pytest.approx(1 / np.sum(w ** 2),
                                                                             rel=1e-4)


def test_kde_categorical_kernel_by_brute_force():
    """A categorical kernel: P(category | x = a) by summing over the kernels by hand."""
    r = np.random.default_rng(7)
    x = r.normal(size=60)
    cat = np.where(x + r.normal(scale=0.5, size=60) > 0, "hi", "lo")
    df = pd.DataFrame({"x": x, "c": cat})
    gen = synthgen.make("kde", bandwidth=0.5, cat_smoothing=0.2).fit(df, seed=0)
    a = 0.8
    rows = gen.sample(N, seed=2, given={"x": a})
    assert (rows["x"] == a).all()
    z = gen.vectoriser_.transform(pd.DataFrame({"x": [a], "c": ["hi"]}))[0, 0]
    t = gen.vectoriser_.transform(df)[:, 0]
    w = stats.norm.pdf(z, t, 0.5)
    w /= w.sum()
    p_hi = np.sum(w * np.where(cat == "hi", 0.8, 0.2))
    assert abs((rows["c"] == "hi").mean() - p_hi) < 4 * np.sqrt(p_hi * (1 - p_hi) / N)


# ---------------------------------------------------------------------------------------------
# tables: evidence, exact values, errors
# ---------------------------------------------------------------------------------------------


def test_table_rows_carry_the_given_values(table_gmm, table):
    rows = table_gmm.sample(3000, seed=1, given={"sex": "Female", "income": ">50K",
                                                 "age": (60, None)})
    assert len(rows) == 3000
    assert (rows["sex"] == "Female").all() and (rows["income"] == ">50K").all()
    assert rows["age"].min() >= 60 and rows["age"].max() <= table["age"].max()
    assert list(rows.columns) == list(table.columns)
    assert rows.dtypes.to_dict() == table.dtypes.to_dict()
    assert rows["education"].nunique() > 3  # the other columns still vary


def test_table_dataframe_of_conditions_one_row_each(table_gmm):
    conds = pd.DataFrame({"sex": ["Male", "Female"] * 200,
                          "education": ["Bachelors"] * 100 + ["HS-grad"] * 300})
    rows = table_gmm.sample(400, seed=2, given=conds)
    assert (rows["sex"].to_numpy() == conds["sex"].to_numpy()).all()
    assert (rows["education"].to_numpy() == conds["education"].to_numpy()).all()


@pytest.mark.parametrize("given, words", [
    ({"sex": "Martian"}, ["'sex'", "'Martian'"]),
    ({"age": (200, 300)}, ["'age'", "200"]),
    ({"age": 150}, ["'age'", "150"]),
    ({"height": 3}, ["'height'"]),
])
def test_impossible_conditions_name_the_column_and_value(table_gmm, given, words):
    with pytest.raises(InvalidDataError) as err:
        table_gmm.sample(10, given=given)
    for w in words:
        assert w in str(err.value)


@pytest.mark.parametrize("given", [{"sex": ("a", "b")}, {"age": (5, 1)}, {}, "age=3",
                                   {"sex": (0, 1)}])
def test_malformed_given_is_a_parameter_error(table_gmm, given):
    with pytest.raises(InvalidParameterError):
        table_gmm.sample(10, given=given)


def test_creditcard_vectoriser_conditions():
    df = synthgen.datasets.load("creditcard")
    gen = synthgen.make("gaussian", vectoriser="creditcard").fit(df, seed=0)
    rows = gen.sample(2000, seed=1, given={"Class": 1, "Amount": (1000, None)})
    assert (rows["Class"] == 1).all() and rows["Amount"].min() >= 1000
    assert rows["Amount"].max() <= df["Amount"].max()


# ---------------------------------------------------------------------------------------------
# the rejection fallback
# ---------------------------------------------------------------------------------------------


class _NoExact(GaussianGenerator):
    name = "gaussian"
    _condition_fn = None


@pytest.fixture(scope="module")
def no_exact(table):
    return _NoExact().fit(table, seed=0)


def test_fallback_rejection_returns_every_row_with_the_condition(no_exact):
    rows = no_exact.sample(300, seed=1, given={"sex": "Female", "age": (50, 70)})
    assert len(rows) == 300 and (rows["sex"] == "Female").all()
    assert rows["age"].between(50, 70).all()
    assert no_exact.conditional_summary_["method"] == "rejection"
    assert 0 < no_exact.conditional_summary_["acceptance_rate"] < 1


def test_fallback_never_returns_fewer_rows_silently(no_exact, monkeypatch):
    monkeypatch.setattr(conditional, "MAX_TRIES", 2)
    monkeypatch.setattr(conditional, "MAX_BATCH", 512)
    with pytest.raises(SamplingError, match="of 5000 rows"):
        no_exact.sample(5000, seed=1, given={"age": (89, None), "education": "Doctorate"})


def test_fallback_refuses_exact_continuous_values():
    r = np.random.default_rng(8)
    gen = _NoExact().fit(pd.DataFrame({"a": r.normal(size=50), "b": r.normal(size=50)}), seed=0)
    with pytest.raises(InvalidParameterError, match="'a'"):
        gen.sample(10, given={"a": 0.1})


def test_more_ranges_than_exact_are_rejected_on_top(gmm):
    rows = gmm.sample(1000, seed=4, given={"x0": (0.0, 2.0), "x1": (1.0, None)})
    assert rows[:, 0].min() >= 0 and rows[:, 0].max() <= 2 and rows[:, 1].min() >= 1
    assert "rejection" in gmm.conditional_summary_["method"]


def test_gmm_mixture_covariances_match_the_generator(gmm):
    np.testing.assert_allclose(gmm_mixture(gmm.params_).cov, gmm.covariances_, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# vae: importance resampling in latent space
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vae(bivariate):
    return synthgen.make("vae", epochs=8, latent_dim=2, verbose=False).fit(bivariate[:600], seed=0)


def test_vae_importance_resampling_matches_the_models_own_rejection(vae):
    """x1 given x0 in [1, 2.5]: resampled rows against the model's unconditional rows
    filtered on the range (the same conditional, estimated by brute force)."""
    given = {"x0": (1.0, 2.5)}
    rows = vae.sample(2000, seed=1, given=given)
    info = vae.conditional_summary_
    assert info["method"] == "importance resampling in latent space"
    assert info["effective_sample_size"] >= 50
    assert rows[:, 0].min() >= 1.0 and rows[:, 0].max() <= 2.5
    free = vae.sample(20_000, seed=2)
    ref = free[(free[:, 0] >= 1.0) & (free[:, 0] <= 2.5), 1]
    se = np.sqrt(rows[:, 1].var() / len(rows) + ref.var() / len(ref))
    assert abs(rows[:, 1].mean() - ref.mean()) < 4 * se + 0.02


def test_vae_low_effective_sample_size_falls_back_to_rejection(vae, monkeypatch):
    from synthgen.generators import _vae_conditional

    monkeypatch.setattr(_vae_conditional, "MIN_ESS", 1e12)
    rows = vae.sample(200, seed=3, given={"x0": (0.0, 1.0)})
    assert len(rows) == 200 and vae.conditional_summary_["method"] == "rejection"
    monkeypatch.setattr(conditional, "MAX_TRIES", 1)
    monkeypatch.setattr(conditional, "MAX_BATCH", 256)
    with pytest.raises(SamplingError, match="effective sample size"):
        vae.sample(5000, seed=3, given={"x0": (0.0, 0.2)})


# ---------------------------------------------------------------------------------------------
# UK registrations: region, tag and age identifier fix characters of the mark
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plates():
    return synthgen.datasets.load("ukreg", n=1500, seed=0)


def test_registration_parts_are_exact(plates):
    from synthgen.vectorisers.ukreg_rules import parse

    gen = synthgen.make("gaussian").fit(plates, seed=0)
    marks = gen.sample(500, seed=1, given={"region": "Cymru", "age": 19})
    parsed = [parse(m) for m in marks]
    assert all(p.region == "Cymru" and p.age == 19 for p in parsed)
    with pytest.raises(InvalidDataError, match="'Atlantis'"):
        gen.sample(5, given={"region": "Atlantis"})
    fallback = _NoExact().fit(plates, seed=0).sample(100, seed=2, given={"tag": "CA"})
    assert all(m.startswith("CA") for m in fallback)


# ---------------------------------------------------------------------------------------------
# circuit: evidence in the upward pass, top-down draws
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def circuit_table():
    r = np.random.default_rng(0)
    a = r.choice(["x", "y", "z"], size=800)
    b = np.where(r.random(800) < 0.7, np.where(a == "x", "p", "q"), r.choice(["p", "q"], size=800))
    c = np.where(r.random(800) < 0.6, np.where(b == "p", "u", "v"), r.choice(["u", "v", "w"], 800))
    n = np.where(a == "x", 10, 30) + r.integers(0, 10, size=800)
    return pd.DataFrame({"a": a, "b": b, "c": c, "n": n})


@pytest.fixture(scope="module")
def circuit(circuit_table):
    return synthgen.make("circuit", n_hidden=3, n_trees=2, epochs=5).fit(circuit_table, seed=0)


def test_circuit_conditional_by_enumeration(circuit):
    """p(a, b | c = u) from the circuit's own scores of every completion, summed over n."""
    rows = circuit.sample(N, seed=1, given={"c": "u"})
    assert circuit.conditional_summary_["method"] == "exact circuit conditional"
    assert (rows["c"] == "u").all()
    grid = pd.DataFrame([(a, b, "u", k) for a in "xyz" for b in "pq" for k in range(10, 40)],
                        columns=["a", "b", "c", "n"])
    p = pd.Series(np.exp(circuit.score_samples(grid))).groupby([grid["a"], grid["b"]]).sum()
    p /= p.sum()
    freq = rows.groupby(["a", "b"]).size().reindex(p.index, fill_value=0) / len(rows)
    assert np.abs(freq.to_numpy() - p.to_numpy()).max() < 0.015


def test_circuit_ranges_are_exact(circuit):
    rows = circuit.sample(2000, seed=2, given={"n": (32, 35), "b": "q"})
    assert rows["n"].between(32, 35).all() and (rows["b"] == "q").all()
