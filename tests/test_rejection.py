"""The rejection sampler in data space (the latent-space path is tested with the VAE)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import synthgen
from synthgen.errors import InvalidParameterError, NotFittedError, SamplingError
from synthgen.sampling import RejectionSampler, chi_threshold
from synthgen.sampling.nearest import nearest_records


@pytest.fixture(scope="module")
def data():
    return np.random.default_rng(1).normal(size=(250, 3)) @ np.array([[1.0, 0.3, 0], [0, 1, 0.5], [0, 0, 0.4]])


def brute_force_min_distance(space, samples):
    """Smallest scaled distance from each sample to any avoided record, by the definition."""
    R = space.records @ space.whiten
    S = samples @ space.whiten
    diff = S[:, None, :] - R[None, :, :]
    if space.scales is not None:
        diff = diff / space.scales[None, :, :]
    return np.sqrt((diff ** 2).sum(-1)).min(axis=1)


def test_threshold_is_the_chi_quantile():
    for d in (1, 2, 16):
        assert chi_threshold(0.05, d) == pytest.approx(stats.chi.ppf(0.95, d), rel=1e-9)


@pytest.mark.parametrize("scale", ["neighbour", "kernel"])
def test_no_sample_within_the_threshold_of_a_training_record(data, scale):
    rs = RejectionSampler(synthgen.make("gaussian"), data_scale=scale, alpha=0.1).fit(data, seed=2)
    out = rs.sample(700, seed=4)
    assert out.shape == (700, 3)
    d = brute_force_min_distance(rs.space_, out)
    assert (d > rs.threshold_).all()
    assert rs.threshold_ == pytest.approx(stats.chi.ppf(0.9, 3))
    s = rs.summary_
    assert s["accepted"] == 700 and s["candidates"] >= 700
    assert 0 < rs.acceptance_rate_ <= 1 and s["acceptance_rate"] == rs.acceptance_rate_
    assert s["nearest_distance_seen"] <= rs.threshold_


def test_at_default_alpha_the_neighbour_radius_is_the_nearest_neighbour_distance(data):
    rs = RejectionSampler(synthgen.make("gaussian")).fit(data)
    W = rs.space_.whiten
    D = np.sqrt((((data @ W)[:, None] - (data @ W)[None]) ** 2).sum(-1))
    np.fill_diagonal(D, np.inf)
    radius = rs.space_.scales[:, 0] * rs.threshold_
    np.testing.assert_allclose(radius, D.min(axis=1), rtol=1e-4)


def test_kde_samples_are_pushed_away_from_the_records(data):
    kde = synthgen.make("kde", bandwidth=0.2).fit(data)
    plain = kde.sample(2000, seed=3)
    filtered = RejectionSampler(kde).fit(data).sample(2000, seed=3)
    dcr_plain = nearest_records(plain, data).distance
    dcr_filtered = nearest_records(filtered, data).distance
    assert np.median(dcr_filtered) > np.median(dcr_plain)
    assert np.quantile(dcr_filtered, 0.05) > np.quantile(dcr_plain, 0.05)


def test_explicit_threshold_and_avoid_set(data):
    avoid = data[:20]
    rs = RejectionSampler(synthgen.make("gaussian"), avoid=avoid, threshold=1.5).fit(data)
    assert rs.threshold_ == 1.5 and rs.n_avoided_ == 20
    out = rs.sample(300, seed=0)
    assert (brute_force_min_distance(rs.space_, out) > 1.5).all()


def test_same_seed_same_rows_whatever_the_chunks(data):
    rs = RejectionSampler(synthgen.make("gaussian")).fit(data)
    whole = rs.sample(9000, seed=8)
    parts = np.concatenate(list(rs.iter_sample(9000, seed=8, chunk_rows=1234)))
    np.testing.assert_array_equal(parts, whole)
    np.testing.assert_array_equal(rs.sample(100, seed=8), whole[:100])
    assert not np.allclose(rs.sample(100), rs.sample(100))


def test_save_and_load(data, tmp_path):
    rs = RejectionSampler(synthgen.make("gaussian"), alpha=0.2).fit(data)
    rs.save(tmp_path / "r.sgm")
    back = synthgen.load(tmp_path / "r.sgm")
    assert isinstance(back, RejectionSampler)
    np.testing.assert_array_equal(back.sample(500, seed=1), rs.sample(500, seed=1))
    assert back.threshold_ == rs.threshold_
    np.testing.assert_allclose(back.score_samples(data[:10]), rs.score_samples(data[:10]))


def test_require_on_table_rows_with_checked_output(data):
    df = pd.DataFrame(data, columns=["a", "b", "c"])
    rs = RejectionSampler(synthgen.make("gaussian"), require="a > 0.5", check_output=True).fit(df)
    out = rs.sample(400, seed=2)
    assert isinstance(out, pd.DataFrame) and len(out) == 400
    assert (out["a"] > 0.5).all()
    assert rs.share_with_attribute_ == pytest.approx((df["a"] > 0.5).mean())
    # The avoided records are exactly those without the attribute.
    assert rs.n_avoided_ == int((df["a"] <= 0.5).sum())


def test_require_callable_is_the_same_as_the_expression(data):
    df = pd.DataFrame(data, columns=["a", "b", "c"])
    by_text = RejectionSampler(synthgen.make("gaussian"), require="a > 0.5").fit(df).sample(200, seed=5)
    by_fn = RejectionSampler(synthgen.make("gaussian"), require=lambda r: r["a"] > 0.5).fit(df).sample(200, seed=5)
    pd.testing.assert_frame_equal(by_text, by_fn)


def test_an_impossible_quota_raises_with_what_was_seen(data):
    rs = RejectionSampler(synthgen.make("gaussian"), threshold=50.0, max_tries=2).fit(data)
    with pytest.raises(SamplingError, match=r"found 0 of 10 rows after 2 batches \(\d+ candidates, acceptance 0.000%\)"):
        rs.sample(10)
    assert rs.summary_["accepted"] == 0


def test_bad_settings(data):
    with pytest.raises(InvalidParameterError, match="alpha must be a number in \\(0, 1\\); got 1.5"):
        RejectionSampler(synthgen.make("gaussian"), alpha=1.5).fit(data)
    with pytest.raises(InvalidParameterError, match="space='latent' needs a generator with a latent space"):
        RejectionSampler(synthgen.make("gaussian"), space="latent").fit(data)
    with pytest.raises(InvalidParameterError, match="generator must be a Generator"):
        RejectionSampler(42).fit(data)
    with pytest.raises(InvalidParameterError, match="require must be None, a callable or an expression"):
        RejectionSampler("gaussian", require=3).fit(data)
    with pytest.raises(SamplingError, match="no training record has the required attribute"):
        RejectionSampler("gaussian", require="x0 > 100").fit(data)
    with pytest.raises(NotFittedError):
        RejectionSampler("gaussian").sample(3)


def test_a_prefitted_generator_is_kept(data):
    gen = synthgen.make("gaussian").fit(data[:100], seed=0)
    mean = gen.mean_.copy()
    RejectionSampler(gen).fit(data)
    np.testing.assert_array_equal(gen.mean_, mean)


def test_repr_names_the_wrapped_generator_and_the_changed_settings():
    rs = RejectionSampler(synthgen.make("gaussian", covariance_type="diag"), alpha=0.1)
    assert repr(rs) == "RejectionSampler(GaussianGenerator(covariance_type='diag'), alpha=0.1)"


def test_few_rows_per_column_still_reject_near_copies():
    """A class with about as many rows as columns: the covariance is shrunk, not singular."""
    r = np.random.default_rng(5)
    X = r.normal(size=(12, 10))
    # KDE draws are training rows plus small noise: every one must be rejected
    rs = RejectionSampler(synthgen.make("kde", bandwidth=0.05), max_tries=3).fit(X)
    with pytest.raises(SamplingError, match="found 0 of 50 rows"):
        rs.sample(50, seed=1)
    assert rs.acceptance_rate_ == 0.0
    # while draws from a broad Gaussian mostly pass
    wide = RejectionSampler(synthgen.make("gaussian", covariance_type="diag")).fit(X)
    wide.sample(200, seed=1)
    assert 0.3 < wide.acceptance_rate_ < 1.0
    from synthgen.sampling.spaces import shrunk_covariance

    S = shrunk_covariance(X)
    assert np.linalg.eigvalsh(S).min() > 0.05 * np.trace(S) / 10
    big = r.normal(size=(20000, 3))
    np.testing.assert_allclose(shrunk_covariance(big), np.cov(big.T, bias=True), atol=2e-3)


def test_decoded_table_rows_keep_their_distance(data):
    """Integer and categorical columns are rounded and snapped on the way out; the test applies
    to the rows the user gets."""
    r = np.random.default_rng(9)
    df = pd.DataFrame({
        "count": r.integers(0, 6, size=250),
        "kind": r.choice(["a", "b", "c"], size=250),
        "x": data[:, 0],
    })
    rs = RejectionSampler(synthgen.make("gaussian"), alpha=0.2).fit(df)
    out = rs.sample(300, seed=2)
    space = rs.space_
    M = rs.generator_.vectoriser_.transform(out)
    d = nearest_records(M @ space.whiten, space.records @ space.whiten, scales=space.scales).distance
    assert (d > rs.threshold_ * (1 - 1e-6)).all()
    assert set(out["kind"]) <= {"a", "b", "c"}


def test_repr_with_records_to_avoid_given_as_data():
    r = np.random.default_rng(0)
    X = r.normal(size=(50, 2))
    gen = synthgen.make("gaussian")
    for avoid in (X, pd.DataFrame(X, columns=["a", "b"]), [[0.0, 1.0]] * 20):
        text = repr(RejectionSampler(gen, avoid=avoid))
        assert text.startswith("RejectionSampler(GaussianGenerator()") and "avoid=<" in text
    assert repr(RejectionSampler(gen, alpha=0.1)) == "RejectionSampler(GaussianGenerator(), alpha=0.1)"
