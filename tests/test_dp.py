"""Differential privacy: accounting against dp-accounting, noise scales, validity, no-DP identity."""

from __future__ import annotations

import json

import dp_accounting
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import synthgen
from synthgen import datasets
from synthgen.dp import fit as dp_fit
from synthgen.dp.accounting import Ledger, calibrate
from synthgen.dp.mechanisms import clip_rows, gaussian_mechanism, moment_sums, noisy_symmetric
from synthgen.dp.models import noisy_moments, project_pd
from synthgen.dp.schema import category_threshold, load_schema
from synthgen.errors import InvalidParameterError, ModelFileError

SCHEMA = {"columns": {
    "age": {"kind": "integer", "lower": 17, "upper": 90},
    "hours-per-week": {"kind": "integer", "lower": 1, "upper": 99},
    "sex": {"kind": "categorical", "categories": ["Female", "Male"]},
    "income": {"kind": "categorical", "categories": ["<=50K", ">50K"]},
}}


@pytest.fixture(scope="module")
def adult():
    return datasets.load("adult")[list(SCHEMA["columns"])].iloc[:3000].reset_index(drop=True)


@pytest.fixture(scope="module")
def private_gmm(adult):
    return synthgen.make("gmm", n_components=3, epsilon=0.5, delta=1e-6, private_iter=4,
                         public_metadata=SCHEMA).fit(adult, seed=3)


def _independent_epsilon(record, accountant):
    events = [dp_accounting.SelfComposedDpEvent(dp_accounting.GaussianDpEvent(r["noise_multiplier"]),
                                                r["count"]) for r in record["releases"]]
    acc = accountant()
    acc.compose(dp_accounting.ComposedDpEvent(events))
    return acc.get_epsilon(record["delta_gaussian"])


def test_fit_epsilon_equals_dp_accounting_for_the_same_composition(private_gmm):
    record = private_gmm.privacy_
    names = [r["name"] for r in record["releases"]]
    assert names == ["gmm_init:count", "gmm_init:sum", "gmm_init:scatter",
                     "gmm_em:count", "gmm_em:sum", "gmm_em:scatter"]
    assert [r["count"] for r in record["releases"]] == [1, 1, 1, 4, 4, 4]
    rdp = _independent_epsilon(record, dp_accounting.rdp.RdpAccountant)
    assert rdp == pytest.approx(record["epsilon_spent"], rel=1e-9)
    assert 0.99 * 0.5 <= rdp <= 0.5
    # the tighter PLD accountant never finds more loss than the RDP bound that was spent
    pld = _independent_epsilon(record, lambda: dp_accounting.pld.PLDAccountant(value_discretization_interval=1e-3))
    assert pld <= rdp + 1e-6


def test_budget_shares_set_the_noise_of_each_release():
    ledger = Ledger(2.0, 1e-5)
    a = ledger.add("a", 1.0, 0.25)
    b = ledger.add("b", 3.0, 0.75, count=3)
    calibrate(ledger)
    # each release's part of the Renyi divergence, count / z^2, is its share of the total
    parts = np.array([r.count / r.noise_multiplier ** 2 for r in (a, b)])
    np.testing.assert_allclose(parts / parts.sum(), [0.25, 0.75], rtol=1e-9)
    assert b.sigma == pytest.approx(3.0 * b.noise_multiplier)
    gauss = dp_accounting.GaussianDpEvent(1.0 / np.sqrt(parts.sum()))  # the same Gaussian, composed
    acc = dp_accounting.rdp.RdpAccountant()
    acc.compose(gauss)
    assert acc.get_epsilon(1e-5) == pytest.approx(ledger.spent_epsilon(), rel=1e-6)


def test_noise_std_follows_the_stated_sigma_on_known_inputs():
    ledger = Ledger(1.0, 1e-6)
    for stat in ("count", "sum", "scatter"):
        ledger.add(f"g:{stat}", 1.0, 1 / 3)
    calibrate(ledger)
    clip = 2.0
    ledger.get("g:sum").sensitivity = clip
    ledger.get("g:scatter").sensitivity = clip ** 2
    fit = dp_fit.PrivateFit(ledger, np.zeros(3, np.float32), clip, {})
    X = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (50, 3)), jnp.float32)
    V = clip_rows(X, jnp.zeros(3), clip)
    n0, s0, M0 = (np.asarray(a, np.float64) for a in moment_sums(V, jnp.ones(50)))
    draws = [noisy_moments(jax.random.key(i), V, jnp.ones(50), fit, "g") for i in range(400)]
    n, s, M = (np.stack(a) for a in zip(*draws))
    for got, exact, name in ((n - n0, None, "count"), ((s - s0).ravel(), None, "sum"),
                             ((M - M0)[:, np.triu_indices(3)[0], np.triu_indices(3)[1]].ravel(),
                              None, "scatter")):
        sigma = ledger.get(f"g:{name}").sigma
        assert abs(np.mean(got)) < 4 * sigma / np.sqrt(got.size)
        assert np.std(got) == pytest.approx(sigma, rel=4 / np.sqrt(2 * got.size) + 0.02)
    assert np.allclose(M - np.swapaxes(M, 1, 2), 0)  # released scatter is symmetric


def test_one_row_moves_the_clipped_statistics_by_at_most_their_sensitivity():
    rng = np.random.default_rng(1)
    clip = 1.5
    X = jnp.asarray(rng.normal(0, 3, (40, 4)), jnp.float32)
    extra = jnp.asarray(rng.normal(0, 30, (1, 4)), jnp.float32)
    centre = jnp.asarray(rng.normal(size=4), jnp.float32)
    a = moment_sums(clip_rows(X, centre, clip), jnp.ones(40))
    b = moment_sums(clip_rows(jnp.concatenate([X, extra]), centre, clip), jnp.ones(41))
    assert abs(float(b[0] - a[0])) == 1.0
    assert float(jnp.linalg.norm(b[1] - a[1])) <= clip * (1 + 1e-5)
    assert float(jnp.linalg.norm(b[2] - a[2])) <= clip ** 2 * (1 + 1e-5)
    assert float(jnp.linalg.norm(b[2] - a[2])) >= clip ** 2 * (1 - 1e-4)  # the bound is reached


def test_gaussian_mechanism_std_and_symmetric_noise():
    keys = jax.random.split(jax.random.key(0), 4000)
    out = np.asarray(jax.vmap(lambda k: gaussian_mechanism(k, jnp.float32(5.0), 2.5))(keys))
    assert np.mean(out) == pytest.approx(5.0, abs=4 * 2.5 / np.sqrt(4000))
    assert np.std(out) == pytest.approx(2.5, rel=0.05)
    S = np.asarray(noisy_symmetric(jax.random.key(1), jnp.zeros((6, 6)), 1.0))
    np.testing.assert_array_equal(S, S.T)


def test_private_mixture_parameters_are_valid(private_gmm, adult):
    w = private_gmm.weights_
    assert np.all(w >= 0) and w.sum() == pytest.approx(1.0, abs=1e-5)
    cov = private_gmm.covariances_
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    rows = private_gmm.sample(500, seed=0)
    assert rows["age"].between(17, 90).all() and rows["hours-per-week"].between(1, 99).all()
    assert set(rows["sex"]) <= {"Female", "Male"}
    assert np.isfinite(private_gmm.score_samples(adult.iloc[:50])).all()


def test_projection_to_positive_definite_is_nearest_and_keeps_valid_matrices():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(5, 5))
    P = project_pd(A + A.T, 1e-3)
    assert np.linalg.eigvalsh(P).min() >= 1e-3 * (1 - 1e-9)
    B = rng.normal(size=(5, 5))
    good = B @ B.T + np.eye(5)
    np.testing.assert_allclose(project_pd(good, 1e-3), good, atol=1e-10)


def test_model_file_records_and_checks_the_privacy_spent(private_gmm, tmp_path):
    path = tmp_path / "m.sgm"
    private_gmm.save(path)
    loaded = synthgen.load(path)
    assert loaded.privacy_ == private_gmm.privacy_
    assert loaded.training_summary()["privacy"]["epsilon"] == 0.5
    from synthgen.dp.ledger_file import check_privacy_record

    bad = json.loads(json.dumps(private_gmm.privacy_))
    bad["releases"][0]["noise_multiplier"] = "x"
    with pytest.raises(ModelFileError, match="noise_multiplier"):
        check_privacy_record(bad)


def test_epsilon_none_is_bit_identical_to_the_plain_fit(adult):
    from synthgen.generators.gaussian import fit_gaussian_float64
    from synthgen.random import fit_keys
    from synthgen.vectorisers import auto_vectoriser

    g = synthgen.make("gaussian", epsilon=None).fit(adult, seed=0)
    X = auto_vectoriser(adult).fit_transform(adult)
    ref = fit_gaussian_float64(np.asarray(np.asarray(X, np.float32)), reg_covar=1e-6)
    np.testing.assert_array_equal(np.asarray(g.params_.mean), np.asarray(ref.mean))
    np.testing.assert_array_equal(np.asarray(g.params_.chol), np.asarray(ref.chol))
    assert not hasattr(g, "privacy_") and "privacy" not in g.training_summary()
    from synthgen.generators.gmm import select_gmm

    m = synthgen.make("gmm", n_components=2, max_iter=20).fit(adult, seed=4)
    p, _ = select_gmm(fit_keys(4)[0], np.asarray(X, np.float32), n_components=2,
                      n_components_range=(1, 20), covariance_type="full", reg_covar=1e-6,
                      tol=1e-3, max_iter=20, n_init=1, refine_rounds=1)
    for a, b in zip(m.params_, p):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_too_small_budget_is_refused_before_the_data_is_read(adult, data_untouched):
    with pytest.raises(InvalidParameterError, match="too small for this fit"):
        synthgen.make("gaussian", epsilon=1e-7, delta=1e-9).fit(adult)
    with pytest.raises(InvalidParameterError, match="n_components must be a positive int when epsilon"):
        synthgen.make("gmm", epsilon=1.0, delta=1e-6).fit(adult)
    with pytest.raises(InvalidParameterError, match="delta must be set"):
        synthgen.make("gaussian", epsilon=1.0).fit(adult)
    with pytest.raises(InvalidParameterError, match="not in the data"):
        synthgen.make("gaussian", epsilon=1.0, delta=1e-6,
                      public_metadata={"columns": {"zzz": {"kind": "boolean"}}}).fit(adult)


def test_bad_public_metadata_names_the_column():
    with pytest.raises(InvalidParameterError, match="'age'.*lower < upper"):
        load_schema({"columns": {"age": {"kind": "integer", "lower": 5, "upper": 5}}})
    with pytest.raises(InvalidParameterError, match="'c'.*kind must be"):
        load_schema({"columns": {"c": {"kind": "text"}}})


def test_estimated_metadata_drops_rare_categories_and_bounds_numbers():
    rng = np.random.default_rng(5)
    n = 4000
    frame = pd.DataFrame({"x": rng.uniform(20, 60, n).round(),
                          "c": np.where(np.arange(n) == 0, "unique-row", rng.choice(["a", "b"], n))})
    gen = synthgen.make("gaussian", epsilon=4.0, delta=1e-6).fit(frame, seed=0)
    releases = {r["name"]: r for r in gen.privacy_["releases"]}
    assert {"metadata:x", "metadata:c", "gaussian:count"} <= set(releases)
    assert gen.privacy_["delta_selection"] == pytest.approx(5e-7)
    sigma = releases["metadata:c"]["sigma"]
    assert category_threshold(sigma, 5e-7, 1) > 1 + 4.8 * sigma  # one row passes w.p. <= 5e-7
    rows = gen.sample(2000, seed=1)
    assert set(rows["c"].dropna()) <= {"a", "b"}
    meta = gen.privacy_["metadata"]
    assert meta["c"]["categories"] == ["a", "b"]
    # the estimated bounds are public bin edges 10**(k/4) around the data's range [20, 60]
    assert 10 <= meta["x"]["lower"] <= 20 and 60 <= meta["x"]["upper"] <= 100


def test_private_samples_of_float_columns_stay_within_the_public_bounds():
    rng = np.random.default_rng(0)
    frame = datasets.load("adult")[["age", "sex"]].iloc[:1500].reset_index(drop=True)
    frame["ratio"] = rng.normal(0.5, 0.4, len(frame))  # floats, often beyond the bounds below
    schema = {"columns": {"age": {"kind": "integer", "lower": 17, "upper": 90},
                          "sex": {"kind": "categorical", "categories": ["Female", "Male"]},
                          "ratio": {"kind": "continuous", "lower": 0.0, "upper": 1.0}}}
    g = synthgen.make("gaussian", epsilon=0.3, delta=1e-6, public_metadata=schema).fit(frame, seed=1)
    X = g.sample_matrix(3000, seed=2)
    j = g.vectoriser_.get_feature_names_out().tolist().index("ratio")
    assert (X[:, j] > 1.0).any() and (X[:, j] < 0.0).any()  # the model itself goes beyond
    rows = g.sample(3000, seed=2)
    assert rows["ratio"].between(0.0, 1.0).all()
    assert (rows["ratio"] == 1.0).any() and (rows["ratio"] == 0.0).any()
    plain = synthgen.make("gaussian").fit(frame, seed=1).sample(3000, seed=2)
    assert (plain["ratio"] > frame["ratio"].max()).any()  # non-private fits do not clip
