"""The rejection sampler in a VAE's latent space, on UK registrations."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

import synthgen
from synthgen.sampling import RejectionSampler
from synthgen.vectorisers.ukreg_rules import generate, is_valid, parse

from conftest import TEST_DATA as DATA

sys.path.insert(0, str(DATA))
from make_september_vae import RECIPE, fit_recipe  # noqa: E402


@pytest.fixture(scope="module")
def plates():
    return generate(3000, seed=0)


@pytest.fixture(scope="module")
def vae(plates):
    return synthgen.make("vae", latent_dim=2, epochs=60, verbose=False).fit(plates, seed=0)


def september(plate: str) -> bool:
    return is_valid(plate) and parse(plate).age >= 50


def test_accepted_points_are_outside_every_avoided_posterior(vae, plates):
    rs = RejectionSampler(vae, alpha=0.05).fit(plates)
    z = rs.sample_latent(500, seed=3)
    mu, log_var = vae.encode(plates)
    sigma = np.exp(0.5 * log_var)
    d = np.sqrt((((z[:, None, :] - mu[None]) / sigma[None]) ** 2).sum(-1)).min(axis=1)
    assert (d > rs.threshold_).all()
    assert rs.threshold_ == pytest.approx(np.sqrt(5.991464547107979))  # chi2(0.95, 2)
    assert rs.summary_["space"] == "latent" and rs.n_avoided_ == len(plates)


def test_sample_decodes_exactly_the_accepted_points(vae, plates):
    rs = RejectionSampler(vae, require="age >= 50").fit(plates)
    z = rs.sample_latent(300, seed=4)
    assert rs.sample(300, seed=4) == vae.decode(z, mode="mode")


def test_requiring_september_plates(vae, plates):
    base = np.mean([september(p) for p in vae.sample(2000, seed=1)])
    rs = RejectionSampler(vae, require="age >= 50").fit(plates)
    out = rs.sample(2000, seed=1)
    share = np.mean([september(p) for p in out])
    assert len(out) == 2000
    # A small, quickly trained model: the share rises; the full recipe's >= 99.5% is checked
    # in the slow test below, and a clear-cut case in the next test.
    assert share > base + 0.1
    assert 0 < rs.acceptance_rate_ < 1
    assert rs.n_avoided_ == sum(not september(p) for p in plates)
    checked = RejectionSampler(vae, require="age >= 50", check_output=True).fit(plates).sample(500, seed=2)
    assert all(september(p) for p in checked)


def test_requiring_one_of_two_clusters_in_a_table():
    r = np.random.default_rng(2)
    side = np.where(r.random(1500) < 0.5, -1.0, 1.0)
    df = pd.DataFrame({"x": 3.0 * side + 0.3 * r.normal(size=1500), "y": r.normal(size=1500)})
    vae = synthgen.make("vae", latent_dim=2, epochs=40, verbose=False).fit(df, seed=1)
    base = (vae.sample(2000, seed=3)["x"] > 0).mean()
    rs = RejectionSampler(vae, require="x > 0").fit(df)
    out = rs.sample(2000, seed=3)
    assert 0.3 < base < 0.7
    assert (out["x"] > 0).mean() >= 0.9
    assert rs.n_avoided_ == int((df["x"] <= 0).sum())


def test_latent_sampler_round_trips_through_a_file(vae, plates, tmp_path):
    rs = RejectionSampler(vae, require="region == 'London'").fit(plates)
    rs.save(tmp_path / "london.sgm")
    back = synthgen.load(tmp_path / "london.sgm")
    assert back.sample(200, seed=6) == rs.sample(200, seed=6)


def _september_share_with_the_recipe(vae):
    plates = synthgen.datasets.load("ukreg", n=10_000, seed=0)
    rs = RejectionSampler(vae, require="age >= 50").fit(plates)
    out = rs.sample(10_000, seed=1)
    return np.mean([september(p) for p in out])


def test_requiring_september_plates_from_the_documented_model():
    """The documented case (docs/benchmarks.md): >= 99.5% September plates.

    The model file is the documented recipe fitted once (tests/data/make_september_vae.py:
    10,000 plates, latent_dim=2, default training, seed 0); the slow test below refits it.
    """
    vae = synthgen.load(DATA / "vae_ukreg_latent2.sgm")
    summary = vae.training_summary()
    assert (summary["n_rows"], summary["seed"], summary["latent_dim"]) == (10_000, 0, 2)
    defaults = {k: p.default for k, p in vae.param_table().items()}
    assert {**defaults, **RECIPE, "verbose": False} == {**vae.get_params(), "vectoriser": None}
    assert _september_share_with_the_recipe(vae) >= 0.995


@pytest.mark.slow
def test_requiring_september_plates_with_the_full_recipe():
    """The same claim with the recipe refitted from scratch (minutes on two cores)."""
    vae, _ = fit_recipe()
    assert _september_share_with_the_recipe(vae) >= 0.995
