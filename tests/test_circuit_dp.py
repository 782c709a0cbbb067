"""The private circuit: accounting against dp-accounting, sensitivities, DP quantiles, validity."""

from __future__ import annotations

import dp_accounting
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import synthgen
from synthgen import datasets
from synthgen.errors import InvalidParameterError
from synthgen.generators import _circuit_dp as cdp
from synthgen.generators.circuit import fit_circuit

SCHEMA = {"columns": {
    "age": {"kind": "integer", "lower": 17, "upper": 90},
    "hours-per-week": {"kind": "integer", "lower": 1, "upper": 99},
    "sex": {"kind": "categorical", "categories": ["Female", "Male"]},
    "income": {"kind": "categorical", "categories": ["<=50K", ">50K"]},
}}
SMALL = {"n_hidden": 3, "n_trees": 2, "max_bins": 12}


@pytest.fixture(scope="module")
def adult():
    return datasets.load("adult")[list(SCHEMA["columns"])].iloc[:2000].reset_index(drop=True)


@pytest.fixture(scope="module")
def private_circuit(adult):
    return synthgen.make("circuit", epsilon=1.0, delta=1e-6, public_metadata=SCHEMA, private_iter=5,
                         **SMALL).fit(adult, seed=0)


def test_circuit_epsilon_equals_dp_accounting_for_the_same_composition(private_circuit):
    record = private_circuit.privacy_
    rel = {r["name"]: r for r in record["releases"]}
    assert list(rel) == ["circuit_bins:histogram", "circuit_structure:pairs", "circuit_em:counts"]
    m = 4  # two numbers, two categorical columns: four variables
    assert rel["circuit_bins:histogram"]["sensitivity"] == pytest.approx(np.sqrt(2))
    assert rel["circuit_structure:pairs"]["sensitivity"] == pytest.approx(np.sqrt(m * (m - 1) / 2))
    assert rel["circuit_em:counts"]["sensitivity"] == pytest.approx(np.sqrt(2 * m + 1))
    assert rel["circuit_em:counts"]["count"] == 5
    events = [dp_accounting.SelfComposedDpEvent(dp_accounting.GaussianDpEvent(r["noise_multiplier"]), r["count"])
              for r in rel.values()]
    acc = dp_accounting.rdp.RdpAccountant()
    acc.compose(dp_accounting.ComposedDpEvent(events))
    eps = acc.get_epsilon(1e-6)
    assert eps == pytest.approx(record["epsilon_spent"], rel=1e-9)
    assert 0.99 <= eps <= 1.0
    for r in rel.values():
        assert r["sigma"] == pytest.approx(r["noise_multiplier"] * r["sensitivity"])


def test_one_rows_expected_counts_are_probability_vectors_within_the_em_sensitivity(private_circuit, adult):
    layout = private_circuit.layout_
    theta = tuple(private_circuit.params_[:4])
    X = private_circuit.vectoriser_.transform(adult.iloc[:50])
    codes = np.asarray(cdp.state_codes(jnp.asarray(X, jnp.float32), layout.variables,
                                       private_circuit.params_.lo, private_circuit.params_.hi,
                                       private_circuit.params_.width)[0])
    m = len(layout.variables)
    root = layout.order[0]
    for i in range(0, 50, 7):
        w = np.zeros(50, np.float32)
        w[i] = 1.0
        weights, prior, trans, leaf = (np.asarray(a, np.float64) for a in
                                       cdp.expected_counts(theta, jnp.asarray(codes), jnp.asarray(w), layout=layout))
        assert np.all(weights >= -1e-7) and weights.sum() == pytest.approx(1.0, abs=1e-4)
        assert prior.sum() == pytest.approx(1.0, abs=1e-4)
        per_var_trans = trans.sum(axis=(0, 2, 3))
        np.testing.assert_allclose(np.delete(per_var_trans, root), 1.0, atol=1e-4)
        assert per_var_trans[root] == pytest.approx(0.0, abs=1e-7)
        np.testing.assert_allclose(leaf.sum(axis=(0, 2, 3)), 1.0, atol=1e-4)
        norm = np.sqrt(sum(np.sum(a ** 2) for a in (weights, prior, trans, leaf)))
        assert norm <= np.sqrt(2 * m + 1) * (1 + 1e-5)
    # the released sum is the sum of the rows' counts: one row more moves it by that row's counts
    all_rows = cdp.summed_counts(theta, codes, layout)
    fewer = cdp.summed_counts(theta, codes[:-1], layout)
    last = cdp.expected_counts(theta, jnp.asarray(codes), jnp.asarray(np.eye(50, dtype=np.float32)[-1]),
                               layout=layout)
    for a, b, c in zip(all_rows, fewer, last):
        np.testing.assert_allclose(np.asarray(a) - np.asarray(b), np.asarray(c), atol=2e-3)


def test_noisy_counts_have_the_stated_std_and_post_processing_gives_distributions():
    counts = (jnp.zeros((3,)), jnp.full((3, 4), 5.0))
    draws = [cdp.noisy_counts(jax.random.key(i), counts, 2.5) for i in range(300)]
    noise = np.concatenate([np.ravel(np.asarray(d[1]) - 5.0) for d in draws] +
                           [np.asarray(d[0]) for d in draws])
    assert abs(noise.mean()) < 4 * 2.5 / np.sqrt(noise.size)
    assert noise.std() == pytest.approx(2.5, rel=0.05)
    masks = (jnp.ones(3), jnp.asarray([[1, 1, 0, 0]] * 3, jnp.float32))
    a, b = cdp.to_distributions(draws[0], masks, 0.1)
    assert np.all(np.asarray(a) > 0) and float(a.sum()) == pytest.approx(1.0)
    np.testing.assert_allclose(np.asarray(b).sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(np.asarray(b)[:, 2:] == 0)


def test_dp_quantile_edges_follow_the_data_and_keep_the_public_bounds():
    rng = np.random.default_rng(0)
    x = rng.exponential(2.0, 200_000)
    x = x[x < 20]
    edges = cdp.dp_quantile_edges(np.random.default_rng(1), x, 0.0, 20.0, 8, sigma=5.0)
    assert edges[0] == 0.0 and edges[-1] == 20.0 and np.all(np.diff(edges) > 0)
    np.testing.assert_allclose(edges[1:-1], np.quantile(x, np.linspace(0, 1, 9)[1:-1]), atol=0.1)
    # pure noise (no rows) still gives valid edges within the bounds
    empty = cdp.dp_quantile_edges(np.random.default_rng(2), np.array([]), -1.0, 1.0, 5, sigma=3.0)
    assert empty[0] == -1.0 and empty[-1] == 1.0 and np.all(np.diff(empty) > 0)


def test_private_circuit_parameters_are_valid_and_samples_keep_the_bounds(private_circuit, adult):
    p = private_circuit.params_
    assert float(p.weights.sum()) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(np.asarray(p.prior).sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(p.trans).sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(p.leaf).sum(-1), 1.0, rtol=1e-5)
    assert all(np.all(np.asarray(a) >= 0) for a in p[:4])
    rows = private_circuit.sample(2000, seed=0)
    assert rows["age"].between(17, 90).all() and rows["hours-per-week"].between(1, 99).all()
    assert set(rows["income"]) <= {"<=50K", ">50K"}
    assert np.isfinite(private_circuit.score_samples(adult.iloc[:50])).all()
    assert "Chow-Liu" in private_circuit.privacy_["notes"]["circuit_structure"]


def test_a_chain_fixed_in_advance_spends_nothing_on_structure(adult):
    g = synthgen.make("circuit", epsilon=2.0, delta=1e-6, public_metadata=SCHEMA, private_iter=3,
                      structure="chain", **SMALL).fit(adult, seed=1)
    names = [r["name"] for r in g.privacy_["releases"]]
    assert names == ["circuit_bins:histogram", "circuit_em:counts"]
    assert g.layout_.parents == (-1, 0, 1, 2) and g.layout_.order == (0, 1, 2, 3)
    with pytest.raises(InvalidParameterError, match="private_iter must be at least 1 with structure='chain'"):
        synthgen.make("circuit", epsilon=2.0, delta=1e-6, public_metadata=SCHEMA, private_iter=0,
                      structure="chain").fit(adult)
    tree = synthgen.make("circuit", epsilon=2.0, delta=1e-6, public_metadata=SCHEMA, private_iter=0,
                         **SMALL).fit(adult, seed=1)
    assert [r["name"] for r in tree.privacy_["releases"]] == ["circuit_bins:histogram",
                                                              "circuit_structure:pairs"]


def test_epsilon_none_is_bit_identical_to_the_plain_fit(adult):
    from synthgen.random import fit_keys
    from synthgen.vectorisers import make_vectoriser

    part = adult.iloc[:500]
    g = synthgen.make("circuit", epsilon=None, epochs=3, **SMALL).fit(part, seed=2)
    vec = make_vectoriser("table", decoding="argmax")
    X = np.asarray(vec.fit_transform(part), np.float32)
    hp = g._validated_params()  # the generator's own settings, defaults included
    params, layout, _ = fit_circuit(fit_keys(2)[0], X, vec.blocks_, epochs=3,
                                    batch_size=hp["batch_size"], step_size=hp["step_size"],
                                    pseudocount=hp["pseudocount"],
                                    validation_fraction=hp["validation_fraction"], **SMALL)
    assert layout == g.layout_
    for a, b in zip(g.params_, params):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not hasattr(g, "privacy_")


def test_too_small_budget_is_refused_before_the_data_is_read(adult, data_untouched):
    with pytest.raises(InvalidParameterError, match="too small for this fit.*circuit_em:counts"):
        synthgen.make("circuit", epsilon=1e-6, delta=1e-9, public_metadata=SCHEMA, **SMALL).fit(adult)
    with pytest.raises(InvalidParameterError, match="structure"):
        synthgen.make("circuit", epsilon=1.0, delta=1e-6, structure="tree").fit(adult)


def test_integer_states_are_points_on_a_short_public_range_else_a_floor_point_and_intervals():
    lo, hi, w = cdp.integer_states(0.0, 1.0, 1, 16, None, 16)  # 16 values scaled onto [0, 1]
    np.testing.assert_allclose(lo, np.arange(16) / 15)
    np.testing.assert_array_equal(lo, hi)
    np.testing.assert_allclose(w, 1 / 15)
    edges = np.array([0.0, 0.3, 0.7, 1.0])
    lo, hi, w = cdp.integer_states(0.0, 1.0, 0, 99, edges, 16)
    assert lo[0] == hi[0] == 0.0  # the lower bound is a point of its own
    assert lo[1] == pytest.approx(0.5 / 99) and hi[-1] == 1.0
    np.testing.assert_allclose(w[1:], hi[1:] - lo[1:])
