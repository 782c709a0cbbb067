"""The probabilistic circuit fitted out of core: mini-batch EM on batches streamed from a
Parquet dataset (or a Dask DataFrame's partitions) in one process.

The circuit's EM is stochastic: each step moves the parameters part of the way towards one
batch's normalised expected counts, so the result depends on the order of the batches and is
not a sum of per-partition statistics.  The out-of-core fit therefore streams the batches in
an order it can read piece by piece (:class:`._vae.Plan`: the pieces in a random order,
``window`` at a time, the rows of a window shuffled together), and ``circuit.fit_circuit`` given
the same start, split and order computes the same steps in memory.  What differs from an
in-memory fit on the same seed:

* the structure (each number's states, the Chow-Liu tree) and the EM start (k-means groups,
  the trees' first parameters) come from an evenly spread sample of at most ``init_rows``
  rows, not from all training rows (all rows when there are no more, minus none held out);
* the validation rows are a share of every piece, at most ``validation_rows`` in all, instead
  of a share of a permutation of all rows;
* the batches of an epoch follow the window order above instead of one permutation of all
  training rows.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import InvalidDataError
from ..generators import circuit as C
from ..random import check_seed, fit_keys
from ._common import install_fit
from ._units import progress, stream_moments, unit_matrix
from ._vae import DEFAULT_VALIDATION_ROWS, DEFAULT_WINDOW, STEPS_PER_CALL, Plan, check_counts

#: most rows the structure and the EM start are computed from
DEFAULT_INIT_ROWS = 1 << 17


@partial(jax.jit, static_argnames=("layout",))
def _stream_steps(theta, batches, m, step, pseudocount, weight, *, layout):
    masks = C._masks(theta, layout)

    def one(theta, i):
        new = jax.lax.cond(i < m, lambda t: C.em_step(t, batches[i], step, pseudocount, weight,
                                                       masks, layout), lambda t: t, theta)
        return new, None

    theta, _ = jax.lax.scan(one, theta, jnp.arange(batches.shape[0]))
    return theta


def fit_circuit(gen, units, vec, columns, dtypes, *, seed, window=DEFAULT_WINDOW,
                validation_rows=DEFAULT_VALIDATION_ROWS, init_rows=DEFAULT_INIT_ROWS):
    """Fit the circuit ``gen`` on ``units`` (:mod:`._units`) streamed; returns it."""
    check_counts(window=window, validation_rows=validation_rows, init_rows=init_rows)
    seed = check_seed(0 if seed is None else seed)
    hp = gen._validated_params()
    moments = stream_moments(units, vec, columns, dtypes, verbose=hp["verbose"])
    vec.min_, vec.max_ = moments["min"], moments["max"]
    n = int(moments["n"])
    if n < max(2, gen.min_rows):
        raise InvalidDataError(f"the training data has {n} row(s); at least 2 are needed")
    hp = dict(hp, epochs=C.resolve_epochs(hp["epochs"], n))
    fit_key, stream_key = fit_keys(seed)
    sample = evenly_spread(units, vec, columns, dtypes, n, init_rows, hp["verbose"])
    start = C.circuit_start(fit_key, sample, vec.blocks_, n_hidden=hp["n_hidden"],
                            n_trees=hp["n_trees"], max_bins=hp["max_bins"],
                            max_states=hp["max_states"])
    layout, lo, hi, width, theta = start
    plan = Plan(fit_key, units.sizes, hp["validation_fraction"], 0, window, validation_rows)
    codes = partial(_piece_codes, units, plan, vec, columns, dtypes, layout, lo, hi, width)
    val = np.concatenate([codes(u, train=False) for u in range(len(units))]) if plan.n_val else None
    best, history = stream_em(fit_key, plan, codes, val, theta, layout, hp)
    new = gen._unfitted_copy()
    new.layout_, new.history_ = layout, history
    return install_fit(gen, new, vec=vec, n_features=len(columns), n_rows=n, seed=seed,
                       params=C.circuit_params(best, lo, hi, width), stream_key=stream_key)


def evenly_spread(units, vec, columns, dtypes, n: int, max_rows: int, verbose: bool) -> np.ndarray:
    """The rows (float32 matrix) whose number is a multiple of ``ceil(n / max_rows)``."""
    step, first, out = max(1, -(-n // int(max_rows))), 0, []
    with progress(verbose, "sample", len(units)) as bar:
        for u in range(len(units)):
            _, X = unit_matrix(units, u, vec, columns, dtypes)
            out.append(X[(-first) % step::step])
            first += len(X)
            bar.advance()
    return np.concatenate(out)


def _piece_codes(units, plan, vec, columns, dtypes, layout, lo, hi, width, u, *, train=True):
    _, X = unit_matrix(units, u, vec, columns, dtypes)
    if len(X) != plan.sizes[u]:
        raise InvalidDataError(f"partition {u} changed size between passes")
    rows = X[plan.train_mask(u)] if train else X[plan.val_rows[u]]
    return C.codes_of(rows, layout, lo, hi, width) if len(rows) else np.zeros((0, len(layout.variables)), np.int32)


def stream_em(key, plan: Plan, codes, val, theta, layout, hp):
    """``fit_circuit``'s epochs with the batches streamed in ``plan``'s order; returns the best
    epoch's parameters and the validation history."""
    k_em = jax.random.split(key, 4)[3]
    batch, n_batches = C.em_batch_layout(plan.n_train, hp["batch_size"])
    S, m_vars = STEPS_PER_CALL, len(layout.variables)
    weight = jnp.float32(plan.n_train / batch)
    pseudo = jnp.float32(hp["pseudocount"])
    val_j = None if val is None else jnp.asarray(val)

    def run(theta, carry, m, step):
        batches = np.zeros((S, batch, m_vars), np.int32)
        batches[:m] = carry[:m * batch].reshape(m, batch, m_vars)
        return _stream_steps(theta, batches, m, step, pseudo, weight, layout=layout)

    bar = C._progress(hp["epochs"]) if hp["verbose"] else None
    best, best_score, history = theta, -np.inf, []
    try:
        for epoch in range(hp["epochs"]):
            step = jnp.float32(C.step_size_at(epoch, hp["epochs"], hp["step_size"]))
            carry, j = np.zeros((0, m_vars), np.int32), 0
            for units, shuffle in plan.windows(jax.random.fold_in(k_em, epoch)):
                carry = np.concatenate([carry, np.concatenate([codes(u) for u in units])[shuffle]])
                while len(carry) >= S * batch and j < n_batches:
                    m = min(S, n_batches - j)
                    theta, carry, j = run(theta, carry, m, step), carry[m * batch:], j + m
                if j >= n_batches:
                    break
            while j < n_batches:
                m = min(S, n_batches - j)
                theta, carry, j = run(theta, carry, m, step), carry[m * batch:], j + m
            score = float(C._mean_log_lik(theta, val_j, layout=layout)) if val is not None else float("nan")
            history.append(score)
            if val is None or score > best_score:
                best, best_score = theta, score
            if bar is not None:
                bar.update(epoch + 1, hp["epochs"], score)
    finally:
        if bar is not None:
            bar.close()
    return best, history
