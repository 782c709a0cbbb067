"""The circuit generator against known answers: brute-force sums, a known generating circuit,
frequencies of samples, exact marginals."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import logsumexp

import synthgen
from synthgen.generators._circuit_leaves import Variable, fit_states, group_cells
from synthgen.generators.circuit import (
    CircuitParams,
    Layout,
    chow_liu_tree,
    log_prob_circuit,
    mutual_information,
    sample_circuit,
)

FAST = {"n_hidden": 4, "n_trees": 1, "epochs": 15}


def discrete_table(n=3000, seed=0):
    """Three dependent categorical columns and a flag."""
    r = np.random.default_rng(seed)
    a = r.choice(["x", "y", "z"], size=n, p=[0.5, 0.3, 0.2])
    b = np.where(r.random(n) < 0.8, np.where(a == "x", "p", "q"), r.choice(["p", "q", "s"], size=n))
    c = np.where(b == "p", r.choice(["u", "v"], size=n, p=[0.9, 0.1]), r.choice(["u", "v"], size=n))
    flag = (a == "z") ^ (r.random(n) < 0.1)
    return pd.DataFrame({"a": a, "b": b, "c": c, "flag": flag})


def every_row(df):
    levels = [sorted(df[c].unique().tolist()) for c in df.columns]
    return pd.DataFrame(list(itertools.product(*levels)), columns=df.columns).astype(df.dtypes)


@pytest.fixture(scope="module")
def fitted():
    df = discrete_table()
    return df, synthgen.make("circuit", **FAST).fit(df, seed=0)


def test_probabilities_of_every_row_sum_to_one(fitted):
    df, gen = fitted
    grid = every_row(df)
    assert np.exp(gen.score_samples(grid)).sum() == pytest.approx(1.0, abs=1e-4)


def test_marginalising_a_column_equals_summing_it_out(fitted):
    df, gen = fitted
    grid = every_row(df)
    logp = gen.score_samples(grid)
    summed = pd.Series(logp).groupby([grid["a"], grid["flag"]]).apply(lambda s: logsumexp(s))
    keys = summed.index.to_frame(index=False)
    marginal = gen.marginal_score_samples(keys[["a", "flag"]])
    np.testing.assert_allclose(marginal, summed.to_numpy(), atol=1e-4)
    gaps = keys.assign(b=np.nan, c=np.nan)[["a", "b", "c", "flag"]]
    np.testing.assert_allclose(gen.marginal_score_samples(gaps), summed.to_numpy(), atol=1e-4)


def test_sample_frequencies_follow_the_models_marginals(fitted):
    df, gen = fitted
    out = gen.sample(20_000, seed=4)
    for col in ("a", "b", "c"):
        levels = sorted(df[col].unique())
        expected = np.exp(gen.marginal_score_samples(pd.DataFrame({col: levels})))
        assert expected.sum() == pytest.approx(1.0, abs=1e-4)
        observed = out[col].value_counts().reindex(levels, fill_value=0).to_numpy()
        assert stats.chisquare(observed, expected / expected.sum() * len(out)).pvalue > 0.001, col


def test_the_fitted_model_learns_the_dependencies(fitted):
    df, gen = fitted
    out = gen.sample(20_000, seed=5)
    real = pd.crosstab(df["a"], df["b"], normalize=True)
    synth = pd.crosstab(out["a"], out["b"], normalize=True).reindex_like(real).fillna(0)
    assert 0.5 * np.abs(real - synth).to_numpy().sum() < 0.03
    independent = synthgen.make("circuit", n_hidden=1, n_trees=1, epochs=5).fit(df, seed=0)
    assert gen.score(df) > independent.score(df) + 0.1


def known_circuit():
    """Three variables (3, 2 and 4 states) under a chain of hidden variables with 2 states."""
    variables = (Variable("categorical", (0, 1, 2), 3), Variable("binary", (3,), 2),
                 Variable("categorical", (4, 5, 6, 7), 4))
    layout = Layout(variables, (-1, 0, 1), (0, 1, 2), 8)
    leaf = np.zeros((3, 2, 4))
    leaf[0, :, :3] = [[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]
    leaf[1, :, :2] = [[0.9, 0.1], [0.2, 0.8]]
    leaf[2] = [[0.4, 0.4, 0.1, 0.1], [0.05, 0.05, 0.3, 0.6]]
    trans = np.array([np.eye(2), [[0.85, 0.15], [0.25, 0.75]], [[0.9, 0.1], [0.1, 0.9]]])
    params = CircuitParams(jnp.ones(1), jnp.asarray([[0.6, 0.4]]),
                           jnp.asarray(trans[None], jnp.float32), jnp.asarray(leaf[None], jnp.float32),
                           jnp.zeros((3, 4)), jnp.zeros((3, 4)), jnp.ones((3, 4)))
    return params, layout


def as_table(M):
    """The known circuit's matrix rows as a table: two categorical columns and a flag."""
    M = np.asarray(M)
    return pd.DataFrame({"a": np.array(["a0", "a1", "a2"])[np.argmax(M[:, :3], axis=1)],
                         "f": M[:, 3] > 0.5,
                         "c": np.array(["c0", "c1", "c2", "c3"])[np.argmax(M[:, 4:], axis=1)]})


def test_a_fit_recovers_the_log_likelihood_of_the_generating_circuit():
    params, layout = known_circuit()
    draw = jax.jit(sample_circuit, static_argnums=(2,), static_argnames="layout")
    train = as_table(draw(jax.random.PRNGKey(0), params, 20_000, layout=layout))
    fresh_matrix = draw(jax.random.PRNGKey(1), params, 20_000, layout=layout)
    truth = float(np.mean(log_prob_circuit(params, fresh_matrix, layout=layout)))
    gen = synthgen.make("circuit", n_hidden=4, n_trees=1, epochs=30).fit(train, seed=0)
    assert gen.score(as_table(fresh_matrix)) == pytest.approx(truth, abs=0.02)
    independent = synthgen.make("circuit", n_hidden=1, n_trees=1, epochs=3).fit(train).score(as_table(fresh_matrix))
    assert independent < truth - 0.05


def test_the_generating_circuit_sums_to_one_and_matches_brute_force():
    params, layout = known_circuit()
    rows = []
    for a, f, c in itertools.product(range(3), range(2), range(4)):
        x = np.zeros(8, np.float32)
        x[a], x[3], x[4 + c] = 1.0, f, 1.0
        rows.append(x)
    logp = np.asarray(log_prob_circuit(params, jnp.asarray(np.array(rows)), layout=layout))
    leaf, trans, prior = np.asarray(params.leaf[0]), np.asarray(params.trans[0]), np.asarray(params.prior[0])
    brute = []
    for a, f, c in itertools.product(range(3), range(2), range(4)):
        total = 0.0
        for z0, z1, z2 in itertools.product(range(2), repeat=3):
            total += (prior[z0] * trans[1, z0, z1] * trans[2, z1, z2]
                      * leaf[0, z0, a] * leaf[1, z1, f] * leaf[2, z2, c])
        brute.append(np.log(total))
    np.testing.assert_allclose(logp, brute, rtol=1e-5)
    assert np.exp(logp).sum() == pytest.approx(1.0, abs=1e-5)


def test_an_integer_column_scores_its_probabilities_as_a_density_of_unit_width():
    r = np.random.default_rng(4)
    X = r.integers(0, 6, size=(3000, 1)).astype(float)
    gen = synthgen.make("circuit", n_hidden=2, n_trees=1, epochs=20,
                         validation_fraction=0.0).fit(X, seed=0)
    p = np.exp(gen.score_samples(np.arange(6.0)[:, None]))
    assert p.sum() == pytest.approx(1.0, abs=1e-4)
    np.testing.assert_allclose(p, np.bincount(X[:, 0].astype(int)) / len(X), atol=0.01)


def test_a_numeric_column_has_a_density_that_integrates_to_one():
    r = np.random.default_rng(2)
    X = np.column_stack([r.gamma(2.0, size=2000)])
    gen = synthgen.make("circuit", n_hidden=3, epochs=5, max_bins=16).fit(X, seed=0)
    grid = np.linspace(X.min(), X.max(), 200_001)[:, None]
    dens = np.exp(gen.score_samples(grid))
    assert np.trapezoid(dens, grid[:, 0]) == pytest.approx(1.0, abs=2e-3)
    top = gen.params_.width[0, gen.layout_.variables[0].n_states - 1]
    edge = gen.score_samples(grid[-1:])[0]
    beyond = gen.score_samples(np.array([[X.max() + 3.0 * float(top)]]))[0]
    assert beyond == pytest.approx(edge - 3.0, abs=1e-3)  # one nat per width beyond the range


def test_numeric_states_are_points_for_few_values_and_quantile_intervals_otherwise():
    lo, hi, width = fit_states(np.array([3.0, 1.0, 3.0, 2.0]), max_bins=8)
    np.testing.assert_array_equal(lo, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(hi, lo)
    np.testing.assert_array_equal(width, [1.0, 1.0, 1.0])  # consecutive integers
    r = np.random.default_rng(0)
    x = np.concatenate([np.zeros(600), r.normal(size=400)])
    lo, hi, width = fit_states(x, max_bins=10)
    assert lo[0] == hi[0] == 0.0 and len(lo) == 10
    assert (hi[1:] > lo[1:]).all() and lo[1] == x[x != 0].min() and hi[-1] == x.max()
    np.testing.assert_allclose(width[1:], hi[1:] - lo[1:])
    assert width[0] >= (x.max() - x.min()) / 10


def test_integers_bounds_and_gaps_come_back_through_the_vectoriser():
    r = np.random.default_rng(3)
    df = pd.DataFrame({"age": r.integers(18, 90, 800), "income": r.gamma(2.0, 1e4, 800),
                       "city": r.choice(["a", "b", None], 800)})
    gen = synthgen.make("circuit", **FAST).fit(df, seed=0)
    out = gen.sample(2000, seed=1)
    assert out["age"].dtype == df["age"].dtype
    assert out["age"].between(18, 89).all()
    assert out["income"].between(df["income"].min(), df["income"].max()).all()
    assert abs(out["city"].isna().mean() - df["city"].isna().mean()) < 0.05


def test_chow_liu_tree_links_the_dependent_columns():
    r = np.random.default_rng(1)
    a = r.integers(0, 3, 5000)
    b = (a + (r.random(5000) < 0.1)) % 3
    c = r.integers(0, 2, 5000)
    d = c ^ (r.random(5000) < 0.05)
    mi = mutual_information(np.column_stack([a, b, c, d]), [3, 3, 2, 2])
    parents, order = chow_liu_tree(mi)
    edges = {frozenset((j, p)) for j, p in enumerate(parents) if p >= 0}
    assert frozenset((0, 1)) in edges and frozenset((2, 3)) in edges
    assert len(edges) == 3 and sorted(order) == [0, 1, 2, 3]
    assert parents[order[0]] == -1


def test_a_mixture_of_trees_is_a_mixture():
    """Two trees: the density is the weighted sum of the trees' densities, and samples come from
    each tree in proportion to its weight."""
    params, layout = known_circuit()
    flipped_leaf = np.asarray(params.leaf).copy()
    flipped_leaf[0, 0] = flipped_leaf[0, 0, ::-1]
    two = params._replace(weights=jnp.asarray([0.3, 0.7]), prior=jnp.concatenate([params.prior] * 2),
                          trans=jnp.concatenate([params.trans] * 2),
                          leaf=jnp.concatenate([params.leaf, jnp.asarray(flipped_leaf)]))
    one_b = params._replace(leaf=jnp.asarray(flipped_leaf))
    draw = jax.jit(sample_circuit, static_argnums=(2,), static_argnames="layout")
    rows = draw(jax.random.PRNGKey(3), two, 4000, layout=layout)
    mixed = np.exp(np.asarray(log_prob_circuit(two, rows, layout=layout)))
    parts = (0.3 * np.exp(np.asarray(log_prob_circuit(params, rows, layout=layout)))
             + 0.7 * np.exp(np.asarray(log_prob_circuit(one_b, rows, layout=layout))))
    np.testing.assert_allclose(mixed, parts, rtol=1e-5)


def test_a_fit_with_several_trees(fitted):
    df, _ = fitted
    gen = synthgen.make("circuit", **{**FAST, "n_trees": 3}).fit(df, seed=0)
    assert gen.params_.weights.shape == (3,) and float(gen.params_.weights.sum()) == pytest.approx(1.0)
    assert np.exp(gen.score_samples(every_row(df))).sum() == pytest.approx(1.0, abs=1e-4)


def test_same_seed_same_rows_and_a_file_round_trip(fitted, tmp_path):
    df, gen = fitted
    pd.testing.assert_frame_equal(gen.sample(500, seed=9), gen.sample(500, seed=9))
    gen.save(tmp_path / "c.sgm")
    back = synthgen.load(tmp_path / "c.sgm")
    pd.testing.assert_frame_equal(back.sample(500, seed=9), gen.sample(500, seed=9))
    np.testing.assert_allclose(back.score_samples(df), gen.score_samples(df), rtol=1e-6)
    assert back.training_summary()["n_variables"] == 4


def test_auto_epochs_are_40_on_small_tables_and_fewer_on_large_ones():
    from synthgen.generators.circuit import resolve_epochs

    assert [resolve_epochs("auto", n) for n in (10, 26_049, 30_000)] == [40, 40, 40]
    assert resolve_epochs("auto", 60_000) == 20 and resolve_epochs("auto", 494_021) == 4
    assert resolve_epochs("auto", 10**8) == 4 and resolve_epochs(7, 10**8) == 7
    df = discrete_table(400)
    auto = synthgen.make("circuit", n_hidden=2, n_trees=1).fit(df, seed=0)
    fixed = synthgen.make("circuit", n_hidden=2, n_trees=1, epochs=40).fit(df, seed=0)
    assert len(auto.history_) == 40
    pd.testing.assert_frame_equal(auto.sample(200, seed=1), fixed.sample(200, seed=1))


def test_an_em_step_with_counts_that_are_not_finite_is_skipped(fitted):
    from synthgen.generators.circuit import _masks, codes_of, em_step

    df, gen = fitted
    theta = (gen.params_.weights, gen.params_.prior, gen.params_.trans, gen.params_.leaf)
    X = gen.vectoriser_.transform(df.iloc[:64]).astype(np.float32)
    p = gen.params_
    codes = jnp.asarray(codes_of(X, gen.layout_, p.lo, p.hi, p.width))
    masks = _masks(theta, gen.layout_)
    moved = em_step(theta, codes, jnp.float32(0.5), jnp.float32(0.1), jnp.float32(1.0), masks, gen.layout_)
    assert all(np.isfinite(np.asarray(m)).all() for m in moved)
    assert any(not np.allclose(np.asarray(m), np.asarray(t)) for m, t in zip(moved, theta))
    # an overflowing count (here: an infinite weight) leaves the parameters as they were
    kept = em_step(theta, codes, jnp.float32(0.5), jnp.float32(0.1), jnp.float32(np.inf), masks, gen.layout_)
    for k, t in zip(kept, theta):
        np.testing.assert_array_equal(np.asarray(k), np.asarray(t))


def _known_circuit_probabilities(params, layout):
    """The known circuit's probability of each of its 24 rows, by brute force, as (a, f, c)."""
    cells = list(itertools.product(range(3), range(2), range(4)))
    rows = np.zeros((len(cells), 8), np.float32)
    for i, (a, f, c) in enumerate(cells):
        rows[i, a], rows[i, 3], rows[i, 4 + c] = 1.0, f, 1.0
    p = np.exp(np.asarray(log_prob_circuit(params, jnp.asarray(rows), layout=layout), np.float64))
    return p / p.sum()


def _cells(M):
    M = np.asarray(M)
    return np.argmax(M[..., :3], axis=-1) * 8 + (M[..., 3] > 0.5) * 4 + np.argmax(M[..., 4:], axis=-1)


def test_each_stratified_row_is_an_exact_draw_of_the_circuit():
    params, layout = known_circuit()
    p = _known_circuit_probabilities(params, layout)
    keys = jax.random.split(jax.random.PRNGKey(3), 4000)
    blocks = jax.jit(jax.vmap(lambda k: sample_circuit(k, params, 64, layout=layout, stratified=True)))(keys)
    for row in (0, 37):  # one row of each of 4,000 independent blocks
        observed = np.bincount(_cells(blocks[:, row]), minlength=24)
        assert stats.chisquare(observed, p * len(keys)).pvalue > 0.001, row


def test_stratified_rows_of_a_block_follow_the_models_marginals_within_a_few_rows():
    params, layout = known_circuit()
    p = _known_circuit_probabilities(params, layout).reshape(3, 2, 4)
    n = 8192
    draw = jax.jit(sample_circuit, static_argnums=(2,), static_argnames=("layout", "stratified"))
    for seed in range(3):
        cells = _cells(draw(jax.random.PRNGKey(seed), params, n, layout=layout, stratified=True))
        counts = np.bincount(cells, minlength=24).reshape(3, 2, 4)
        # every choice is within one row of its share in each group of rows (2 hidden states
        # per variable): the marginals of variables 0, 1, 2 steps down the chain are within
        # 2 * 2 * (depth + 1) rows of n times their probability, where independent draws
        # scatter by a binomial's standard deviation (20 to 44 rows here)
        for axes, marginal_depth in (((1, 2), 0), ((0, 2), 1), ((0, 1), 2)):
            gap = np.abs(counts.sum(axis=axes) - n * p.sum(axis=axes))
            assert gap.max() <= 4 * (marginal_depth + 1), (seed, marginal_depth, gap)


def test_sampling_is_stratified_by_default_and_older_model_files_keep_independent_draws(fitted):
    df, gen = fitted
    assert gen.sampling == "stratified"
    independent = synthgen.make("circuit", **FAST, sampling="independent").fit(df, seed=0)
    assert not independent.sample(500, seed=9).equals(gen.sample(500, seed=9))
    pd.testing.assert_frame_equal(gen.set_params(sampling="independent").sample(500, seed=9),
                                  independent.sample(500, seed=9))
    gen.set_params(sampling="stratified")
    # a model file written before stratified sampling has no sampler version: its rows stay
    older = {k: v for k, v in gen._extra_state().items() if k != "sampler_version"}
    clone = synthgen.make("circuit", **FAST)
    clone._set_extra_state(older)
    assert clone.sampling == "independent"


def test_cells_group_into_states_of_equal_shares_with_heavy_cells_on_their_own():
    r = np.random.default_rng(4)
    x = np.concatenate([np.zeros(3000), r.exponential(size=7000)])
    lo, hi, _ = fit_states(x, max_bins=100)
    cell_state, cell_p, n_states = group_cells(x, lo, hi, max_states=10)
    cell_state, cell_p = np.asarray(cell_state), np.asarray(cell_p)
    assert n_states == 10 and len(cell_state) == len(lo) == 100
    zero = np.flatnonzero((lo == 0) & (hi == 0))
    assert len(zero) == 1 and (cell_state == cell_state[zero[0]]).sum() == 1  # a state of its own
    np.testing.assert_allclose(np.bincount(cell_state, cell_p), 1.0)
    order = np.argsort(lo)
    assert (np.diff(cell_state[order]) >= 0).all()  # runs of consecutive cells
    dist = np.maximum(np.maximum(lo[None] - x[:, None], x[:, None] - hi[None]), 0.0)
    share = np.bincount(cell_state[np.argmin(dist, axis=1)], minlength=10) / len(x)
    others = np.delete(share, cell_state[zero[0]])
    np.testing.assert_allclose(others, 0.7 / 9, atol=0.02)  # equal shares of the other rows
    assert group_cells(x, lo, hi, max_states=100) == ((), (), 100)  # few cells: each a state


def test_grouped_cells_make_a_density_and_are_drawn_at_their_shares():
    r = np.random.default_rng(5)
    X = r.gamma(2.0, size=(4000, 1))
    gen = synthgen.make("circuit", n_hidden=3, epochs=5, max_bins=64, max_states=6).fit(X, seed=0)
    v = gen.layout_.variables[0]
    assert v.n_states == 6 and v.n_cells == 64
    grid = np.linspace(X.min(), X.max(), 200_001)
    dens = np.exp(gen.score_samples(grid[:, None]))
    assert np.trapezoid(dens, grid) == pytest.approx(1.0, abs=2e-3)
    lo, hi = np.asarray(gen.params_.lo[0, :64]), np.asarray(gen.params_.hi[0, :64])
    s = np.asarray(gen.sample(40_000, seed=1))[:, 0]
    cell = np.clip(np.searchsorted(lo, s, side="right") - 1, 0, 63)
    cell_state, cell_p = np.asarray(v.cell_state), np.asarray(v.cell_p)
    for state in range(v.n_states):  # cells within a state at their probabilities (chi-squared)
        mine = np.flatnonzero(cell_state == state)
        got = np.bincount(cell[np.isin(cell, mine)], minlength=64)[mine]
        assert stats.chisquare(got, cell_p[mine] * got.sum()).pvalue > 1e-3
    # a range: the rows follow the density inside it, across the cells of the states it cuts
    a, b, mid = 1.0, 3.0, 1.7
    inside = np.asarray(gen.sample(20_000, seed=2, given={"x0": (a, b)}))[:, 0]
    assert inside.min() >= a and inside.max() <= b
    part = (grid >= a) & (grid <= mid)
    whole = (grid >= a) & (grid <= b)
    expected = np.trapezoid(dens[part], grid[part]) / np.trapezoid(dens[whole], grid[whole])
    assert np.mean(inside <= mid) == pytest.approx(expected, abs=4 * np.sqrt(0.25 / 20_000))
