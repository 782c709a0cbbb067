"""The VAE generator: block likelihoods against scipy, bounds, reproducibility, files, training."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from scipy.special import log_softmax

import synthgen
from synthgen.errors import InvalidDataError, InvalidParameterError
from synthgen.generators import _vae_nets as nets
from synthgen.generators import _vae_train as vtrain
from synthgen.vectorisers.base import Block, Vectoriser

QUIET = {"verbose": False}


class BlocksVectoriser(Vectoriser):
    """Identity on a ready-made matrix whose column groups are declared as blocks."""

    name = "blocks-for-tests"

    def __init__(self, blocks=()):
        self.given = list(blocks)

    def _fit(self, data):
        self.blocks_ = [Block(*b) for b in self.given]

    def _transform(self, data):
        return np.asarray(data, dtype=np.float32)

    def _inverse(self, X):
        return np.asarray(X)

    def _feature_names(self):
        return [f"f{i}" for i in range(self.blocks_[-1].stop)]


def mixed_data(n, seed=0):
    """Two continuous columns, a 3-way and a 4-way categorical block, two binary flags.

    The categories and flags depend on the first continuous column, so a model must use its
    latent space to get the pairs right.
    """
    r = np.random.default_rng(seed)
    u = r.normal(size=n)
    cont = np.column_stack([u, 0.5 * u + 0.3 * r.normal(size=n)])
    c3 = np.where(u < -0.5, 0, np.where(u < 0.7, 1, 2))
    c4 = r.choice(4, size=n, p=[0.1, 0.2, 0.3, 0.4])
    flags = np.column_stack([u > 0, r.random(n) < 0.2]).astype(float)
    X = np.column_stack([cont, np.eye(3)[c3], np.eye(4)[c4], flags])
    blocks = [("a", "continuous", 0, 1), ("b", "continuous", 1, 2), ("c3", "categorical", 2, 5),
              ("c4", "categorical", 5, 9), ("f1", "binary", 9, 10), ("f2", "binary", 10, 11)]
    return X, blocks


@pytest.fixture(scope="module")
def gauss_data():
    r = np.random.default_rng(1)
    return r.normal(size=(400, 3)) @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.4], [0.0, 0.0, 0.6]])


@pytest.fixture(scope="module")
def fitted_mixed():
    X, blocks = mixed_data(1500)
    gen = synthgen.make("vae", vectoriser=BlocksVectoriser(blocks), epochs=60, latent_dim=4, **QUIET)
    return gen.fit(X, seed=0), X


@pytest.fixture(scope="module")
def fitted_gauss(gauss_data):
    return synthgen.make("vae", epochs=25, latent_dim=3, **QUIET).fit(gauss_data, seed=2)


# ---------------------------------------------------------------------------------------------
# Heads and likelihoods
# ---------------------------------------------------------------------------------------------


def test_gaussian_head_matches_scipy_norm():
    layout = nets.Layout(3, (0, 1, 2), (), ())
    r = np.random.default_rng(0)
    raw = r.normal(scale=2.0, size=(5, 6)).astype(np.float32)
    x = r.normal(size=(5, 3)).astype(np.float32)
    mean, log_var = map(np.asarray, nets.gaussian_params(jnp.asarray(raw), layout))
    np.testing.assert_array_equal(mean, raw[:, :3])
    assert (log_var >= nets.DECODER_LOGVAR_MIN).all()
    ref = stats.norm.logpdf(x, loc=mean, scale=np.exp(0.5 * log_var)).sum(axis=1)
    np.testing.assert_allclose(nets.log_lik(jnp.asarray(x), jnp.asarray(raw), layout), ref, rtol=1e-5)


def test_categorical_head_is_log_softmax_within_each_block():
    layout = nets.Layout(7, (), (), ((0, 2), (2, 7)))  # widths 2 and 5: padding must not leak
    r = np.random.default_rng(1)
    raw = r.normal(scale=3.0, size=(6, 7)).astype(np.float32)
    a, b = r.integers(0, 2, 6), r.integers(0, 5, 6)
    x = np.column_stack([np.eye(2)[a], np.eye(5)[b]]).astype(np.float32)
    ref = (log_softmax(raw[:, :2], axis=1)[np.arange(6), a]
           + log_softmax(raw[:, 2:], axis=1)[np.arange(6), b])
    np.testing.assert_allclose(nets.log_lik(jnp.asarray(x), jnp.asarray(raw), layout), ref, rtol=1e-5)


def test_binary_head_matches_scipy_bernoulli_even_for_extreme_logits():
    layout = nets.Layout(3, (), (0, 1, 2), ())
    raw = np.array([[-30.0, 0.3, 25.0], [4.0, -2.0, 0.0]], dtype=np.float32)
    x = np.array([[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]], dtype=np.float32)
    p = 1.0 / (1.0 + np.exp(-raw.astype(np.float64)))
    ref = stats.bernoulli.logpmf(x, p).sum(axis=1)
    np.testing.assert_allclose(nets.log_lik(jnp.asarray(x), jnp.asarray(raw), layout), ref, rtol=1e-5)


def test_mixed_layout_adds_the_block_likelihoods():
    X, blocks = mixed_data(8, seed=3)
    layout = nets.layout_from_blocks([Block(*b) for b in blocks])
    assert layout == nets.Layout(11, (0, 1), (9, 10), ((2, 5), (5, 9)))
    r = np.random.default_rng(2)
    raw = r.normal(size=(8, layout.n_out)).astype(np.float32)
    mean, log_var = map(np.asarray, nets.gaussian_params(jnp.asarray(raw), layout))
    ref = stats.norm.logpdf(X[:, :2], mean, np.exp(0.5 * log_var)).sum(1)
    ref += log_softmax(raw[:, 2:5], axis=1)[X[:, 2:5] == 1] + log_softmax(raw[:, 5:9], axis=1)[X[:, 5:9] == 1]
    ref += stats.bernoulli.logpmf(X[:, 9:11], 1 / (1 + np.exp(-raw[:, 9:11].astype(float)))).sum(1)
    got = nets.log_lik(jnp.asarray(X, jnp.float32), jnp.asarray(raw), layout)
    np.testing.assert_allclose(got, ref, rtol=1e-5)


def test_kl_term_matches_the_closed_form():
    r = np.random.default_rng(4)
    mean, log_var = r.normal(size=(5, 3)), r.normal(size=(5, 3))
    var = np.exp(log_var)
    ref = 0.5 * np.sum(var + mean**2 - 1 - log_var, axis=1)
    np.testing.assert_allclose(nets.kl_standard_normal(jnp.asarray(mean), jnp.asarray(log_var)), ref, rtol=1e-5)


def test_head_modes_give_valid_rows():
    layout = nets.Layout(6, (0,), (5,), ((1, 5),))
    raw = jax.random.normal(jax.random.PRNGKey(0), (200, layout.n_out)) * 3
    key = jax.random.PRNGKey(1)
    probs = np.asarray(nets.head_values(key, raw, layout, "probs"))
    np.testing.assert_allclose(probs[:, 1:5].sum(1), 1.0, rtol=1e-5)
    mode = np.asarray(nets.head_values(key, raw, layout, "mode"))
    np.testing.assert_array_equal(mode[:, 1:5].argmax(1), probs[:, 1:5].argmax(1))
    np.testing.assert_array_equal(mode[:, 5], probs[:, 5] > 0.5)
    np.testing.assert_array_equal(mode[:, 0], probs[:, 0])
    draw = np.asarray(nets.head_values(key, raw, layout, "sample"))
    assert set(np.unique(draw[:, 1:6])) <= {0.0, 1.0}
    np.testing.assert_array_equal(draw[:, 1:5].sum(1), 1.0)


# ---------------------------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------------------------


def test_elbo_is_below_the_importance_weighted_estimate_which_grows_with_k(fitted_gauss, gauss_data):
    gen = fitted_gauss
    elbo = gen.score_samples(gauss_data)
    iw = {k: gen.score_samples(gauss_data, n_importance=k) for k in (1, 10, 200)}
    assert elbo.mean() <= iw[200].mean()
    assert iw[1].mean() < iw[10].mean() < iw[200].mean()
    assert abs(iw[1].mean() - elbo.mean()) < 0.5 * (iw[200].mean() - elbo.mean()) + 0.05


def test_scores_are_in_the_data_units(gauss_data):
    a = synthgen.make("vae", epochs=3, latent_dim=3, **QUIET).fit(gauss_data, seed=5)
    b = synthgen.make("vae", epochs=3, latent_dim=3, **QUIET).fit(gauss_data * 10.0, seed=5)
    shift = 3 * math.log(10.0)  # the density of 10 X is the density of X divided by 10^d
    np.testing.assert_allclose(b.reconstruction_error(gauss_data * 10),
                               a.reconstruction_error(gauss_data) + shift, rtol=1e-4, atol=1e-3)
    elbo_a, elbo_b = a.score_samples(gauss_data), b.score_samples(gauss_data * 10)
    assert abs(elbo_b.mean() - (elbo_a.mean() - shift)) < 0.1


def test_n_importance_hyperparameter_sets_the_default_score(fitted_gauss, gauss_data):
    gen = synthgen.make("vae", epochs=3, latent_dim=3, n_importance=20, **QUIET).fit(gauss_data, seed=1)
    np.testing.assert_array_equal(gen.score_samples(gauss_data[:30]),
                                  gen.score_samples(gauss_data[:30], n_importance=20))
    with pytest.raises(InvalidParameterError, match="n_importance must be a non-negative int; got -1"):
        fitted_gauss.score_samples(gauss_data, n_importance=-1)


def test_outliers_have_high_reconstruction_error_and_low_score(fitted_mixed):
    gen, X = fitted_mixed
    odd = X[:50].copy()
    odd[:, 0] += 6.0
    assert np.median(gen.reconstruction_error(odd)) > np.quantile(gen.reconstruction_error(X), 0.95)
    assert np.median(gen.score_samples(odd)) < np.quantile(gen.score_samples(X), 0.05)


# ---------------------------------------------------------------------------------------------
# Samples, latent space
# ---------------------------------------------------------------------------------------------


def test_samples_reproduce_marginals_and_dependence_of_mixed_blocks(fitted_mixed):
    gen, X = fitted_mixed
    S = gen.sample(6000, seed=3)
    np.testing.assert_array_equal(S[:, 2:5].sum(1), 1.0)
    np.testing.assert_array_equal(S[:, 5:9].sum(1), 1.0)
    assert set(np.unique(S[:, 9:])) <= {0.0, 1.0}
    np.testing.assert_allclose(S[:, 2:].mean(0), X[:, 2:].mean(0), atol=0.05)
    np.testing.assert_allclose(S[:, :2].mean(0), X[:, :2].mean(0), atol=0.15)
    np.testing.assert_allclose(S[:, :2].std(0), X[:, :2].std(0), rtol=0.2)
    # the flag "a > 0" and the categorical cut points follow the continuous column
    assert np.mean((S[:, 0] > 0) == (S[:, 9] == 1)) > 0.8
    assert S[S[:, 2] == 1, 0].mean() < S[S[:, 4] == 1, 0].mean() - 1.0


def test_mode_sampling_takes_each_blocks_most_likely_value(fitted_mixed):
    gen, _ = fitted_mixed
    gen.set_params(sample_mode="mode")
    try:
        S = gen.sample(500, seed=4)
    finally:
        gen.set_params(sample_mode="sample")
    from synthgen.generators import _vae_prior
    from synthgen.random import sample_key

    # the latent points the first block decodes: its key's first half, through the fitted prior
    k_z = jax.random.split(jax.random.fold_in(sample_key(4), 0))[0]
    prior = None if gen.prior_ is None else _vae_prior.as_jax(gen.prior_)
    z = np.asarray(_vae_prior.latent_draws(k_z, prior, 8192, 4))[:500]
    probs = gen.decode_matrix(z, mode="probs")
    np.testing.assert_array_equal(S[:, 2:5].argmax(1), probs[:, 2:5].argmax(1))
    np.testing.assert_array_equal(S[:, 9:], (probs[:, 9:] > 0.5).astype(float))
    np.testing.assert_allclose(S[:, :2], probs[:, :2], rtol=1e-5, atol=1e-5)


def test_encode_decode_shapes_and_reconstruction(fitted_mixed):
    gen, X = fitted_mixed
    mean, log_var = gen.encode(X[:100])
    assert mean.shape == log_var.shape == (100, 4) == (100, gen.latent_dim_)
    back = gen.reconstruct(X[:300])
    assert np.mean(back[:, 2:5].argmax(1) == X[:300, 2:5].argmax(1)) > 0.9
    assert np.corrcoef(back[:, 0], X[:300, 0])[0, 1] > 0.9
    a = gen.decode_matrix(mean, mode="sample", key=jax.random.PRNGKey(3))
    b = gen.decode_matrix(mean, mode="sample", key=jax.random.PRNGKey(3))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(InvalidDataError, match=r"z must be a non-empty \(n, 4\) array"):
        gen.decode(np.zeros((3, 2)))
    with pytest.raises(InvalidParameterError, match="mode must be one of"):
        gen.decode_matrix(mean, mode="best")


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


def test_same_seed_gives_bit_identical_weights_and_rows(gauss_data):
    kw = dict(epochs=4, latent_dim=3, **QUIET)
    a = synthgen.make("vae", **kw).fit(gauss_data, seed=7)
    b = synthgen.make("vae", **kw).fit(gauss_data, seed=7)
    c = synthgen.make("vae", **kw).fit(gauss_data, seed=8)
    for x, y in zip(jax.tree_util.tree_leaves(a.params_), jax.tree_util.tree_leaves(b.params_)):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.history_["train_loss"], b.history_["train_loss"])
    np.testing.assert_array_equal(a.sample(300, seed=1), b.sample(300, seed=1))
    np.testing.assert_array_equal(a.score_samples(gauss_data), b.score_samples(gauss_data))
    assert not np.array_equal(a.sample(300, seed=1), c.sample(300, seed=1))


def test_save_load_round_trip_keeps_samples_scores_and_history(fitted_mixed, tmp_path, gauss_data):
    gen = synthgen.make("vae", epochs=5, hidden=[12, 6], latent_dim=3, **QUIET).fit(gauss_data, seed=3)
    path = tmp_path / "vae.sgm"
    gen.save(path)
    back = synthgen.load(path)
    assert back.hidden == (12, 6) and back.arch_ == gen.arch_
    np.testing.assert_array_equal(back.sample(100, seed=2), gen.sample(100, seed=2))
    np.testing.assert_array_equal(back.score_samples(gauss_data), gen.score_samples(gauss_data))
    np.testing.assert_array_equal(back.score_samples(gauss_data, n_importance=8),
                                  gen.score_samples(gauss_data, n_importance=8))
    np.testing.assert_array_equal(back.encode(gauss_data)[0], gen.encode(gauss_data)[0])
    np.testing.assert_array_equal(back.history_["val_loss"], gen.history_["val_loss"])
    assert back.training_summary() == gen.training_summary()
    np.testing.assert_array_equal(back.sample(10), gen.sample(10))  # same unseeded sequence


def test_early_stopping_keeps_the_best_weights(gauss_data):
    X = gauss_data[:120]
    patience, warmup = 3, 2
    hp = dict(epochs=200, batch_size=16, learning_rate=0.02, beta=1.0, kl_warmup=warmup,
              validation_fraction=0.25, patience=patience, verbose=False)
    arch = nets.Arch(nets.Layout(3, (0, 1, 2), (), ()), (32, 32), 8)
    xs = jnp.asarray((X - X.mean(0)) / X.std(0), jnp.float32)
    key = jax.random.PRNGKey(0)
    res = vtrain.train(key, xs, arch, hp)
    val = res.val_loss
    assert res.n_epochs < 200, "a large learning rate on 90 rows should overfit and stop early"
    assert res.n_epochs == res.best_epoch + patience + 1
    assert val[res.best_epoch] == np.min(val[warmup - 1:])
    assert (val[res.best_epoch + 1:] >= val[res.best_epoch]).all()
    part = vtrain.holdout(key, xs, hp["validation_fraction"], arch.latent_dim)
    kept = vtrain.mean_objective(res.net, part.x_val, part.eps_val, jnp.float32(1.0), arch=arch)
    assert float(kept) == val[res.best_epoch]


def test_early_stopping_rule_ignores_warmup_and_counts_patience():
    stop = vtrain._EarlyStopping(patience=2, warmup=3)
    losses = [0.1, 0.2, 5.0, 4.0, 4.5, 4.1]  # epochs 0 and 1 are in the warm-up
    out = [stop.update(e, v, f"net{e}") for e, v in enumerate(losses)]
    assert out == [False, False, False, False, False, True]
    assert stop.best_net == "net3" and stop.best_epoch == 3


def test_history_and_warmup_without_validation(gauss_data):
    gen = synthgen.make("vae", epochs=6, latent_dim=3, validation_fraction=0.0, kl_warmup=3, **QUIET)
    gen.fit(gauss_data)
    assert gen.n_epochs_ == 6 and gen.best_epoch_ == 5
    assert np.isnan(gen.history_["val_loss"]).all() and np.isfinite(gen.history_["train_loss"]).all()
    assert vtrain._beta_at(0, 0.5, 4) == 0.125 and vtrain._beta_at(10, 0.5, 4) == 0.5
    assert gen.training_summary()["best_val_loss"] is None


def test_a_second_fit_of_the_same_shape_reuses_the_compiled_epoch(gauss_data):
    kw = dict(epochs=2, latent_dim=3, hidden=[12, 6], **QUIET)
    synthgen.make("vae", **kw).fit(gauss_data, seed=0)
    size = vtrain.run_epoch._cache_size()
    gen = synthgen.make("vae", **kw).fit(gauss_data, seed=1)
    assert vtrain.run_epoch._cache_size() == size
    gen.score_samples(gauss_data[:10])
    gen.score_samples(gauss_data[10:20])
    assert len(gen._jit_cache) == 1


def test_progress_bar_goes_to_stderr_only_when_verbose(gauss_data, capsys):
    synthgen.make("vae", epochs=2, latent_dim=3, verbose=True).fit(gauss_data)
    out = capsys.readouterr()
    assert "vae epoch" in out.err and "loss" in out.err and out.out == ""
    synthgen.make("vae", epochs=2, latent_dim=3, verbose=False).fit(gauss_data)
    out = capsys.readouterr()
    assert out.err == "" and out.out == ""


@pytest.mark.parametrize(
    "params, message",
    [
        ({"latent_dim": 0}, "latent_dim must be a positive int; got 0"),
        ({"hidden": [64, 0]}, "hidden must be 'auto' or a non-empty list of positive ints; got \\[64, 0\\]"),
        ({"hidden": "wide"}, "hidden must be 'auto' or a non-empty list of positive ints; got 'wide'"),
        ({"hidden": []}, "hidden must be 'auto'"),
        ({"epochs": 0}, "epochs must be a positive int; got 0"),
        ({"batch_size": 2.5}, "batch_size must be 'auto' or a positive int; got 2.5"),
        ({"learning_rate": 0.0}, "learning_rate must be a positive number; got 0.0"),
        ({"beta": -1}, "beta must be 'auto' or a positive number; got -1"),
        ({"kl_warmup": -2}, "kl_warmup must be a non-negative int; got -2"),
        ({"validation_fraction": 0.5}, "validation_fraction must be a number in \\[0, 0.5\\); got 0.5"),
        ({"patience": 0}, "patience must be a positive int or None; got 0"),
        ({"sample_mode": "argmax"}, "sample_mode must be one of 'sample', 'mode'; got 'argmax'"),
        ({"n_importance": -1}, "n_importance must be a non-negative int; got -1"),
        ({"verbose": "yes"}, "verbose must be True or False; got 'yes'"),
    ],
)
def test_bad_hyperparameters_are_refused_by_name(params, message, gauss_data):
    gen = synthgen.make("vae", **params)
    with pytest.raises(InvalidParameterError, match=message):
        gen.fit(gauss_data)


def test_hyperparameters_accept_plain_json_values(gauss_data):
    gen = synthgen.make("vae", hidden=[12, 6], latent_dim=3, batch_size=32, epochs=2, patience=None, **QUIET)
    gen.fit(gauss_data)
    assert gen.arch_.hidden == (12, 6)
    assert gen.training_summary()["hidden"] == [12, 6]


def test_auto_sizes_scale_with_the_data():
    from synthgen.generators.vae import auto_hidden

    assert auto_hidden(4) == (64, 64) and auto_hidden(60) == (128, 128) and auto_hidden(300) == (256, 256)
    assert vtrain.auto_batch_size(100) == 16 and vtrain.auto_batch_size(2000) == 125
    assert vtrain.auto_batch_size(100_000) == 256


# ---------------------------------------------------------------------------------------------
# Real vectorisers
# ---------------------------------------------------------------------------------------------


def test_registrations_are_rebuilt_from_the_latent_space_and_samples_are_valid_and_new():
    from synthgen.vectorisers import ukreg_rules as rules

    plates = synthgen.datasets.load("ukreg", n=5300, seed=0)
    train, held_out = plates[:5000], plates[5000:]
    gen = synthgen.make("vae", latent_dim=16, beta=0.05, hidden=[512], batch_size=64, epochs=30,
                        **QUIET).fit(train, seed=0)
    assert gen.vectoriser_.name == "ukreg"
    assert all(b.kind == "categorical" for b in gen.vectoriser_.blocks_)

    def char_accuracy(marks):
        back = gen.reconstruct(marks)
        return np.mean([x == y for a, b in zip(back, marks) for x, y in zip(a, b)])

    assert char_accuracy(train[:300]) > 0.95
    assert char_accuracy(held_out) > 0.9
    samples = gen.sample(2000, seed=1)
    assert rules.valid_mask(samples).mean() > 0.9
    assert np.mean([s not in set(train) for s in samples]) > 0.99


def test_a_mixed_table_round_trips_through_the_table_vectoriser(tmp_path):
    import pandas as pd

    r = np.random.default_rng(0)
    n = 600
    colour = r.choice(["red", "green", "blue"], size=n, p=[0.5, 0.3, 0.2])
    size = np.where(colour == "red", r.normal(10, 1, n), r.normal(20, 2, n))
    frame = pd.DataFrame({"colour": colour, "size": size, "flag": r.random(n) < 0.3})
    gen = synthgen.make("vae", epochs=40, latent_dim=3, **QUIET).fit(frame, seed=0)
    kinds = sorted({b.kind for b in gen.vectoriser_.blocks_})
    assert kinds == ["binary", "categorical", "continuous"]
    out = gen.sample(3000, seed=2)
    assert list(out.columns) == ["colour", "size", "flag"]
    assert set(out["colour"]) <= {"red", "green", "blue"}
    share = out["colour"].value_counts(normalize=True)
    assert abs(share["red"] - 0.5) < 0.08 and abs(out["flag"].mean() - 0.3) < 0.08
    red, other = out.loc[out["colour"] == "red", "size"], out.loc[out["colour"] != "red", "size"]
    assert red.mean() < 14 < other.mean()
    gen.save(tmp_path / "table.sgm")
    back = synthgen.load(tmp_path / "table.sgm")
    pd.testing.assert_frame_equal(back.sample(50, seed=3), gen.sample(50, seed=3))
    np.testing.assert_array_equal(back.score_samples(frame), gen.score_samples(frame))


def test_auto_beta_is_lighter_for_strings_than_for_tables(tmp_path):
    from synthgen.generators.vae import auto_beta
    from synthgen.vectorisers import Block, ukreg_rules

    cat = [Block("pos1", "categorical", 0, 3), Block("pos2", "categorical", 3, 5)]
    assert auto_beta(cat) == 0.5
    assert auto_beta(cat + [Block("x", "continuous", 5, 6)]) == 1.5
    assert auto_beta([Block("x", "continuous", 0, 1)]) == 1.5
    plates = ukreg_rules.generate(300, seed=0)
    gen = synthgen.make("vae", epochs=2, verbose=False).fit(plates)
    assert gen.beta_ == 0.5
    gen.save(tmp_path / "p.sgm")
    assert synthgen.load(tmp_path / "p.sgm").beta_ == 0.5
    table = synthgen.make("vae", epochs=2, beta=0.7, verbose=False).fit(np.random.default_rng(0).normal(size=(64, 2)))
    assert table.beta_ == 0.7


# ---------------------------------------------------------------------------------------------
# Row counts in one size bucket share the compiled training programs
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 7, 100, 1000, 1625, 1626, 3000])
def test_padded_shuffles_and_draws_are_jax_random_on_the_real_rows(n):
    """The programs shared by a size bucket shuffle and draw exactly as jax.random does for n."""
    key = jax.random.PRNGKey(n)
    np.testing.assert_array_equal(vtrain.permutation(key, n), np.asarray(jax.random.permutation(key, n)))
    size = 2 * n + 5
    padded = np.asarray(vtrain.padded_shuffle(key, n, size, vtrain.shuffle_rounds(n)))
    np.testing.assert_array_equal(padded[:n], np.asarray(jax.random.permutation(key, n)))
    np.testing.assert_array_equal(np.sort(padded[n:]), np.arange(n, size))
    np.testing.assert_array_equal(vtrain.normal_rows(key, n, 3), np.asarray(jax.random.normal(key, (n, 3))))


def test_fits_on_1000_and_1001_rows_compile_the_training_once():
    X = np.random.default_rng(6).normal(size=(1001, 3))
    kw = dict(epochs=2, latent_dim=2, hidden=[8], **QUIET)
    synthgen.make("vae", **kw).fit(X[:1000], seed=0)
    jitted = (vtrain.run_epoch, vtrain._mean_objective, vtrain._permutation, vtrain._normal)
    sizes = [f._cache_size() for f in jitted]
    gen = synthgen.make("vae", **kw).fit(X, seed=0)
    assert [f._cache_size() for f in jitted] == sizes
    assert gen.n_epochs_ == 2 and np.isfinite(gen.history_["train_loss"]).all()


def test_padding_leaves_the_epoch_loss_unchanged():
    """One epoch on rows padded to a larger bucket (batches and steps too) gives the losses and
    weights of the same epoch on tighter padding: padding rows and steps add nothing."""
    arch = nets.Arch(nets.Layout(3, (0, 1, 2), (), ()), (8,), 2)
    xs = np.random.default_rng(2).normal(size=(90, 3)).astype(np.float32)
    net, opt = vtrain.init_state(jax.random.PRNGKey(0), arch=arch)
    out = []
    for extra in (0, 40):
        shapes = vtrain.Shapes(90 + extra, 16 + extra, 5 + extra, vtrain.shuffle_rounds(90))
        rows = vtrain.pad_rows(xs, shapes.rows)
        rows[90:] = 1e3
        out.append(vtrain.run_epoch(net, opt, jax.random.PRNGKey(1), rows, 90, 16, 5, jnp.float32(1.0),
                                    jnp.float32(1e-2), jnp.float32(50.0), arch=arch, shapes=shapes))
    np.testing.assert_allclose(float(out[0][2]), float(out[1][2]), rtol=1e-5)
    for a, b in zip(jax.tree_util.tree_leaves(out[0][0]), jax.tree_util.tree_leaves(out[1][0])):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)


def spiky_table(n=1500, seed=0):
    """A text column, a count that is 0 in about 85% of rows, an integer age, a float."""
    import pandas as pd

    r = np.random.default_rng(seed)
    group = r.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    gain = np.where(r.random(n) < 0.85, 0, r.choice([2000, 5000, 15000], size=n))
    age = np.clip(np.round(r.normal(40, 12, n)), 17, 90).astype(np.int64)
    weight = r.lognormal(0, 1, n)
    return pd.DataFrame({"group": group, "gain": gain.astype(np.int64), "age": age, "weight": weight})


def test_numbers_with_few_values_are_modelled_as_their_values():
    from synthgen.generators.vae import discrete_columns

    frame = spiky_table()
    assert discrete_columns(frame, 128) == {"gain": "categorical", "age": "categorical"}
    assert discrete_columns(frame, 3) == {}
    gen = synthgen.make("vae", epochs=30, latent_dim=3, **QUIET).fit(frame, seed=0)
    kinds = [b.kind for b in gen.vectoriser_.blocks_]
    assert kinds == ["categorical", "categorical", "categorical", "continuous"]
    out = gen.sample(4000, seed=1)
    assert out["gain"].dtype == np.int64 and out["age"].dtype == np.int64
    assert set(out["gain"]) <= set(frame["gain"]) and set(out["age"]) <= set(frame["age"])
    # the spike at zero comes back at its share (a Gaussian head would smear it)
    assert abs((out["gain"] == 0).mean() - (frame["gain"] == 0).mean()) < 0.05
    assert gen.beta_ == 1.5
    # every column categorical, yet a table: the table's KL weight, not the strings' 0.5
    counts = synthgen.make("vae", epochs=2, latent_dim=3, **QUIET).fit(frame.drop(columns="weight"), seed=0)
    assert {b.kind for b in counts.vectoriser_.blocks_} == {"categorical"} and counts.beta_ == 1.5
    plain = synthgen.make("vae", epochs=30, latent_dim=3, discrete_levels=0, **QUIET).fit(frame, seed=0)
    assert [b.kind for b in plain.vectoriser_.blocks_].count("continuous") == 3
    assert (plain.sample(4000, seed=1)["gain"] == 0).mean() < (frame["gain"] == 0).mean() - 0.2


def test_a_range_on_numbers_modelled_as_categories_is_met_exactly():
    frame = spiky_table()
    gen = synthgen.make("vae", epochs=30, latent_dim=3, **QUIET).fit(frame, seed=0)
    rows = gen.sample(300, seed=2, given={"group": "b", "age": (50, None)})
    assert len(rows) == 300 and (rows["group"] == "b").all()
    assert (rows["age"] >= 50).all() and set(rows["age"]) <= set(frame["age"])
    assert "rejection" in gen.conditional_summary_["method"]
    one = gen.sample(40, seed=3, given={"gain": (4000, 6000)})
    assert (one["gain"] == 5000).all()
    with pytest.raises(InvalidDataError, match="no value of column 'gain' lies in the range"):
        gen.sample(10, given={"gain": (6000, 14000)})
