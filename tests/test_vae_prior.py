"""The VAE's learned prior: a Gaussian mixture on the aggregate posterior of the training rows."""

from __future__ import annotations

import copy
import io
import json
import zipfile
from functools import partial

import jax
import numpy as np
import pytest

import synthgen
from synthgen.errors import ModelFileError
from synthgen.generators import _vae_nets as nets
from synthgen.generators import _vae_prior as latent_prior
from synthgen.generators.gmm import GMMParams

QUIET = {"verbose": False}


def two_cluster_data(n: int = 400, seed: int = 0) -> np.ndarray:
    """Three columns driven by one two-valued factor: codes that N(0, I) does not match."""
    r = np.random.default_rng(seed)
    side = np.where(r.random(n) < 0.3, -2.0, 1.5)
    return np.column_stack([side + 0.2 * r.normal(size=n), 0.5 * side + 0.3 * r.normal(size=n),
                            r.normal(size=n)]).astype(np.float32)


@pytest.fixture(scope="module")
def data():
    return two_cluster_data()


@pytest.fixture(scope="module")
def fitted(data):
    return synthgen.make("vae", epochs=20, latent_dim=2, prior_components=4, **QUIET).fit(data, seed=0)


def mixture_moments(prior: GMMParams) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of a full-covariance mixture, in closed form (float64)."""
    w = np.exp(np.asarray(prior.log_weights, np.float64))
    mu = np.asarray(prior.means, np.float64)
    L = np.asarray(prior.cov_chol, np.float64)
    mean = w @ mu
    second = np.einsum("k,kij->ij", w, L @ np.swapaxes(L, 1, 2) + mu[:, :, None] * mu[:, None, :])
    return mean, second - np.outer(mean, mean)


def test_the_prior_keeps_the_first_two_moments_of_the_latent_codes(fitted, data):
    key = jax.random.PRNGKey(5)
    prior = latent_prior.fit_prior(key, fitted.params_, data, fitted.arch_, n_components=4)
    codes = latent_prior.aggregate_posterior_draws(jax.random.split(key)[0], fitted.params_, data,
                                                   fitted.arch_)
    mean, cov = mixture_moments(prior)
    # an EM fixed point matches the data's mean and covariance (plus reg_covar on the diagonal)
    sd = codes.std(axis=0)
    np.testing.assert_allclose(mean, codes.mean(axis=0), atol=0.02 * sd.max())
    np.testing.assert_allclose(cov, np.cov(codes.T, bias=True), atol=0.03 * sd.max() ** 2)
    draws = np.asarray(latent_prior.latent_draws(jax.random.PRNGKey(1), latent_prior.as_jax(prior),
                                                 20_000, 2))
    se = np.sqrt(np.diag(cov) / len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - mean) < 4 * se)
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=0.05 * np.diag(cov).max())


def test_the_fitted_generator_samples_its_own_prior_and_not_the_standard_normal(fitted, data):
    assert fitted.prior_ is not None and fitted.training_summary()["prior"] == "learned"
    codes, _ = fitted.encode(data)
    mean, _ = mixture_moments(fitted.prior_)
    # the codes of the two clusters sit apart; the mixture puts its mass where they are
    assert np.linalg.norm(mean - codes.mean(axis=0)) < 0.25 * codes.std(axis=0).max()
    rows = fitted.sample(4000, seed=3)
    # the two-valued factor is reproduced: the share of rows on the small side is near 0.3
    assert abs(np.mean(rows[:, 0] < -0.25) - 0.3) < 0.06


def test_with_a_standard_normal_mixture_the_scores_equal_the_standard_prior_ones(fitted, data):
    standard = GMMParams(np.zeros(1, np.float32), np.zeros((1, 2), np.float32),
                         np.eye(2, dtype=np.float32)[None], np.eye(2, dtype=np.float32)[None])
    X = jax.numpy.asarray(data[:200])
    key, arch, prior = jax.random.PRNGKey(9), fitted.arch_, latent_prior.as_jax(standard)
    iw_std = jax.jit(partial(nets.iw_log_prob_rows, arch=arch, k=8))(fitted.params_, X, key=key)
    iw_mix = jax.jit(partial(latent_prior.iw_log_prob_rows, arch=arch, k=8))(
        fitted.params_, X, prior=prior, key=key)
    np.testing.assert_allclose(np.asarray(iw_mix), np.asarray(iw_std), rtol=1e-4, atol=1e-4)
    # the ELBO's KL term by Monte Carlo (16 draws per row) against its closed form
    elbo_std = jax.jit(partial(nets.elbo_rows, arch=arch, draws=16))(fitted.params_, X, key=key)
    elbo_mix = jax.jit(partial(latent_prior.elbo_rows, arch=arch, draws=16))(
        fitted.params_, X, prior=prior, key=key)
    assert abs(float(np.mean(elbo_mix - elbo_std))) < 0.1


def test_scores_are_the_learned_models_and_the_elbo_is_below_the_importance_weighted_bound(fitted, data):
    elbo = fitted.score_samples(data[:200])
    iw = fitted.score_samples(data[:200], n_importance=32)
    assert np.isfinite(elbo).all() and np.mean(iw) >= np.mean(elbo)
    standard = synthgen.make("vae", epochs=20, latent_dim=2, prior="standard", **QUIET).fit(data, seed=0)
    # the same network (same seed, same training): the learned prior explains the rows better
    assert np.mean(fitted.score_samples(data, n_importance=32)) > np.mean(
        standard.score_samples(data, n_importance=32))
    assert standard.prior_ is None and standard.training_summary()["prior"] == "standard"


def test_same_seed_same_prior_and_rows(fitted, data):
    again = synthgen.make("vae", epochs=20, latent_dim=2, prior_components=4, **QUIET).fit(data, seed=0)
    for a, b in zip(fitted.prior_, again.prior_):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(fitted.sample(300, seed=4), again.sample(300, seed=4))


def test_save_load_round_trip_keeps_the_prior(fitted, data, tmp_path):
    path = tmp_path / "vae.sgm"
    fitted.save(path)
    loaded = synthgen.load(path)
    for a, b in zip(fitted.prior_, loaded.prior_):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(loaded.sample(500, seed=2), fitted.sample(500, seed=2))
    np.testing.assert_array_equal(loaded.score_samples(data[:50]), fitted.score_samples(data[:50]))


def rewrite(path, out, edit) -> None:
    """Copy the model file ``path`` to ``out`` with ``edit(config, arrays)`` applied."""
    with zipfile.ZipFile(path) as zf:
        config = json.loads(zf.read("config.json"))
        arrays = dict(np.load(io.BytesIO(zf.read("params.npz"))))
    edit(config, arrays)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("params.npz", buf.getvalue())


def test_a_file_written_before_the_learned_prior_loads_with_the_standard_prior(fitted, tmp_path):
    fitted.save(tmp_path / "new.sgm")

    def as_old(config, arrays):
        config["trees"]["state"]["items"]["extra"]["items"].pop("prior")
        for name in ("prior", "prior_components"):
            config["hyperparameters"].pop(name)
        for key in [k for k in arrays if "/prior/" in k]:
            arrays.pop(key)

    rewrite(tmp_path / "new.sgm", tmp_path / "old.sgm", as_old)
    old = synthgen.load(tmp_path / "old.sgm")
    assert old.prior_ is None and old.training_summary()["prior"] == "standard"
    # the standard prior's rows: the network's own decoder on N(0, I) draws
    reference = copy.copy(fitted)
    reference.__dict__.pop("_jit_cache", None)
    reference.prior_ = None
    np.testing.assert_array_equal(old.sample(500, seed=6), reference.sample(500, seed=6))
    assert not np.array_equal(old.sample(500, seed=6), fitted.sample(500, seed=6))


def test_a_damaged_prior_is_refused_naming_the_fault(fitted, tmp_path):
    fitted.save(tmp_path / "good.sgm")

    def damage(config, arrays):
        arrays["state/extra/prior/log_weights"] = arrays["state/extra/prior/log_weights"] + 1.0

    rewrite(tmp_path / "good.sgm", tmp_path / "bad.sgm", damage)
    with pytest.raises(ModelFileError, match="prior's weights do not sum to 1"):
        synthgen.load(tmp_path / "bad.sgm")


def test_check_prior_names_shapes_and_values():
    good = GMMParams(np.log(np.full(2, 0.5, np.float32)), np.zeros((2, 3), np.float32),
                     np.tile(np.eye(3, dtype=np.float32), (2, 1, 1)),
                     np.tile(np.eye(3, dtype=np.float32), (2, 1, 1)))
    assert latent_prior.check_prior(good, 3) is None
    assert "means has shape (2, 3), expected (2, 4)" in latent_prior.check_prior(good, 4)
    assert "not a Gaussian mixture" in latent_prior.check_prior({"means": 0}, 3)
    bad = good._replace(cov_chol=-good.cov_chol)
    assert "cov_chol diagonal must be positive" in latent_prior.check_prior(bad, 3)
    nan = good._replace(means=np.full((2, 3), np.nan, np.float32))
    assert "not finite" in latent_prior.check_prior(nan, 3)


def test_bad_prior_settings_are_refused_by_name(data):
    with pytest.raises(synthgen.errors.InvalidParameterError, match="prior"):
        synthgen.make("vae", prior="diffusion", **QUIET).fit(data)
    with pytest.raises(synthgen.errors.InvalidParameterError, match="prior_components"):
        synthgen.make("vae", prior_components=0, **QUIET).fit(data)
    assert latent_prior.n_prior_components(32, 100) == 10
    assert latent_prior.n_prior_components(32, 5) == 1
