"""DP-SGD for the VAE: accounting against dp-accounting, clipping and noise, no-DP identity."""

from __future__ import annotations

import dp_accounting
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import synthgen
from synthgen import datasets
from synthgen.dp.accounting import Ledger, calibrate
from synthgen.errors import InvalidParameterError
from synthgen.generators import _vae_dp as dp
from synthgen.generators import _vae_nets as nets

SCHEMA = {"columns": {
    "age": {"kind": "integer", "lower": 17, "upper": 90},
    "hours-per-week": {"kind": "integer", "lower": 1, "upper": 99},
    "sex": {"kind": "categorical", "categories": ["Female", "Male"]},
    "income": {"kind": "categorical", "categories": ["<=50K", ">50K"]},
}}
SMALL = {"hidden": [16], "latent_dim": 2, "verbose": False}


@pytest.fixture(scope="module")
def adult():
    return datasets.load("adult")[list(SCHEMA["columns"])].iloc[:1000].reset_index(drop=True)


@pytest.fixture(scope="module")
def private_vae(adult):
    return synthgen.make("vae", epsilon=1.0, delta=1e-6, public_metadata=SCHEMA, private_epochs=2,
                         **SMALL).fit(adult, seed=0)


def test_vae_epsilon_equals_dp_accounting_for_the_same_composition(private_vae):
    record = private_vae.privacy_
    (rel,) = record["releases"]
    # 'auto' batch on 1000 rows: 64 rows expected per step, 16 steps per epoch, 2 epochs
    assert rel["sampling_rate"] == pytest.approx(64 / 1000)
    assert rel["count"] == 32 and rel["sensitivity"] == 1.0
    assert rel["sigma"] == pytest.approx(rel["noise_multiplier"] * 1.0)
    event = dp_accounting.SelfComposedDpEvent(
        dp_accounting.PoissonSampledDpEvent(64 / 1000, dp_accounting.GaussianDpEvent(rel["noise_multiplier"])),
        32)
    acc = dp_accounting.rdp.RdpAccountant()
    acc.compose(event)
    rdp = acc.get_epsilon(1e-6)
    assert rdp == pytest.approx(record["epsilon_spent"], rel=1e-9)
    assert 0.99 <= rdp <= 1.0
    pld = dp_accounting.pld.PLDAccountant(value_discretization_interval=1e-3)
    pld.compose(event)
    assert pld.get_epsilon(1e-6) <= rdp + 1e-6
    assert "N(0, I)" in record["notes"]["vae_prior"]
    assert private_vae.prior_ is None


def _net_and_rows(seed=0, n=24):
    arch = nets.Arch(nets.Layout(5, (0, 1), (2,), ((3, 5),)), (8,), 2)
    net = nets.init_net(jax.random.key(seed), arch)
    rng = np.random.default_rng(seed)
    xs = np.zeros((n, 5), np.float32)
    xs[:, :2] = rng.normal(0, 3, (n, 2))
    xs[:, 2] = rng.integers(0, 2, n)
    xs[np.arange(n), 3 + rng.integers(0, 2, n)] = 1
    eps = rng.normal(size=(n, 2)).astype(np.float32)
    return arch, net, jnp.asarray(xs), jnp.asarray(eps)


def _flat(tree):
    return np.concatenate([np.ravel(np.asarray(g)) for g in jax.tree_util.tree_leaves(tree)])


def _rows(tree):
    """Per-example gradients as an (n, parameters) matrix."""
    leaves = jax.tree_util.tree_leaves(tree)
    return np.concatenate([np.asarray(g).reshape(g.shape[0], -1) for g in leaves], axis=1)


def test_per_example_gradients_match_one_row_at_a_time_and_clip_to_the_bound():
    arch, net, xs, eps = _net_and_rows()
    grads = dp.per_example_grads(net, arch, xs, eps, 1.5)

    def loss(p, x, e):
        nll, kl = nets.neg_elbo_terms(p, arch, x[None], e[None])
        return nll[0] + 1.5 * kl[0]

    G = _rows(grads)
    one = jax.jit(jax.grad(loss))
    for i in (0, 7, 23):
        np.testing.assert_allclose(G[i], _flat(one(net, xs[i], eps[i])), rtol=1e-4, atol=1e-6)
    _, norms = dp.clip_per_example(grads, 1.0)
    raw = np.linalg.norm(G, axis=1)
    np.testing.assert_allclose(np.asarray(norms), raw, rtol=1e-5)
    bound = float(np.median(raw))  # half the rows above the bound, half below
    C = _rows(dp.clip_per_example(grads, bound)[0])
    after = np.linalg.norm(C, axis=1)
    assert np.all(after <= bound * (1 + 1e-5))
    np.testing.assert_allclose(after, np.minimum(raw, bound), rtol=1e-5)
    big = raw > bound  # same direction, shorter
    assert big.sum() >= 10
    np.testing.assert_allclose(C[big], G[big] * (bound / raw[big])[:, None], rtol=1e-4, atol=1e-7)
    np.testing.assert_array_equal(C[~big], G[~big])


def test_noisy_gradient_is_the_clipped_sum_of_a_poisson_sample_plus_noise_of_multiplier_times_bound():
    arch, net, xs, _ = _net_and_rows(1, n=40)
    ledger = Ledger(1.0, 1e-6)
    rel = ledger.add(dp.RELEASE, 0.5, 1.0, count=50, sampling_rate=0.25)
    calibrate(ledger)
    assert rel.sigma == pytest.approx(rel.noise_multiplier * 0.5)
    rows = jnp.concatenate([xs, jnp.zeros((24, 5), xs.dtype)])  # padding rows are never drawn
    q, n, chunk = 0.25, 40, 8
    run = jax.jit(lambda key, sigma: dp.noisy_gradient(net, key, rows, n, q, 1.0, 0.5, sigma,
                                                       arch=arch, chunk=chunk))
    key = jax.random.key(3)
    # without noise: the clipped sum of the rows the Poisson draw keeps, over q * n
    k_sel, k_eps, _ = jax.random.split(key, 3)
    kept = np.flatnonzero((np.asarray(jax.random.uniform(k_sel, (64,))) < q) & (np.arange(64) < n))
    assert 0 < len(kept) < n
    total = np.zeros_like(_flat(net))
    for c in range(-(-len(kept) // chunk)):
        ids = kept[c * chunk:(c + 1) * chunk]
        e = jax.random.normal(jax.random.fold_in(k_eps, c), (chunk, 2), xs.dtype)[:len(ids)]
        clipped, _ = dp.clip_per_example(dp.per_example_grads(net, arch, xs[ids], e, 1.0), 0.5)
        total += _rows(clipped).sum(axis=0)
    np.testing.assert_allclose(_flat(run(key, 0.0)), total / (q * n), rtol=1e-4, atol=1e-6)
    # the noise: the difference of a noisy and a noiseless gradient, times q * n, is N(0, sigma^2)
    noise = np.concatenate([(_flat(run(jax.random.key(i), rel.sigma)) - _flat(run(jax.random.key(i), 0.0)))
                            * q * n for i in range(20)])
    assert abs(noise.mean()) < 4 * rel.sigma / np.sqrt(noise.size)
    assert noise.std() == pytest.approx(rel.sigma, rel=0.03)


def test_epsilon_none_is_bit_identical_to_the_plain_fit(adult):
    from synthgen.generators import _vae_prior
    from synthgen.generators._vae_train import train
    from synthgen.generators.vae import standardisation
    from synthgen.random import fit_keys

    part = adult.iloc[:300]
    g = synthgen.make("vae", epochs=3, prior_components=2, epsilon=None, **SMALL).fit(part, seed=2)
    # the vectoriser the plain fit chooses (the VAE's own choice for a mixed table)
    X = np.asarray(g._make_vectoriser(None, part).fit_transform(part), np.float32)
    layout = nets.layout_from_blocks(g.vectoriser_.blocks_)
    arch = nets.Arch(layout, (16,), 2)
    shift, scale = standardisation(X, layout)
    hp = dict(g._validated_params(), beta=1.5)
    key = fit_keys(2)[0]
    result = train(key, (X - shift) / scale, arch, hp)
    for a, b in zip(jax.tree_util.tree_leaves(g.params_.net), jax.tree_util.tree_leaves(result.net)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    prior = _vae_prior.fit_prior(jax.random.fold_in(key, 0x7072),
                                 nets.VAEParams(result.net, jnp.asarray(shift), jnp.asarray(scale)),
                                 X, arch, n_components=2)
    for a, b in zip(g.prior_, prior):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not hasattr(g, "privacy_")


def test_too_small_budget_is_refused_before_the_data_is_read(adult, data_untouched):
    with pytest.raises(InvalidParameterError, match="too small for this fit.*vae_sgd:gradient"):
        synthgen.make("vae", epsilon=1e-6, delta=1e-9, public_metadata=SCHEMA, **SMALL).fit(adult)
    with pytest.raises(InvalidParameterError, match="delta must be set"):
        synthgen.make("vae", epsilon=1.0, **SMALL).fit(adult)


def test_private_vae_samples_valid_rows_and_round_trips(private_vae, adult, tmp_path):
    rows = private_vae.sample(500, seed=0)
    assert rows["age"].between(17, 90).all() and rows["hours-per-week"].between(1, 99).all()
    assert set(rows["sex"]) <= {"Female", "Male"}
    assert np.isfinite(private_vae.score_samples(adult.iloc[:50])).all()
    summary = private_vae.training_summary()
    assert summary["final_train_loss"] is None and summary["best_val_loss"] is None
    path = tmp_path / "m.sgm"
    private_vae.save(path)
    loaded = synthgen.load(path)
    assert loaded.privacy_ == private_vae.privacy_
    assert loaded.sample(50, seed=4).equals(private_vae.sample(50, seed=4))

