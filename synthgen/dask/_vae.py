"""Training the VAE on data larger than memory: mini-batches streamed from a Parquet dataset
(or a Dask DataFrame's partitions) in one process.

* Pass 1 (shared with the Gaussian and the mixture): per piece its row count, means, scatter
  matrix, minimum and maximum; the vectoriser's bounds and the standardisation (mean and
  standard deviation of each column) come from their merge.
* Pass 2: the validation rows, at most ``validation_rows`` of them (a share of every piece,
  drawn by the fit's key), and the bounded sample the learned prior is fitted on (the rows
  whose number is a multiple of ``ceil(n / prior_rows)``: all rows when there are no more).
* One pass per epoch: the pieces in a random order, ``window`` pieces at a time; the training
  rows of a window are shuffled together and cut into batches (a batch may span two windows).
  In memory are a window and one call's batches.

Given this order (:meth:`Plan.order`) and split, ``_vae_train.train`` in memory computes the
same steps: the same batches, the same noise keys, the same schedule, the same early stopping.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import InvalidDataError, InvalidParameterError
from ..generators import _vae_nets as nets
from ..generators import _vae_train as vt
from ..random import check_seed, fit_keys
from ._common import install_fit
from ._units import progress, stream_moments, unit_matrix

#: pieces whose training rows are shuffled together
DEFAULT_WINDOW = 8
#: most validation rows (held in memory for the validation loss after every epoch)
DEFAULT_VALIDATION_ROWS = 1 << 16
#: most rows the learned prior is fitted on
DEFAULT_PRIOR_ROWS = 1 << 16
#: gradient steps per compiled call
STEPS_PER_CALL = 32


class Plan:
    """Which rows validate, and the order of the training rows in every epoch."""

    def __init__(self, key, sizes, fraction: float, latent_dim: int, window: int,
                 validation_rows: int):
        k_split, k_val = jax.random.split(jax.random.fold_in(key, 1))
        self.sizes, self.window = [int(s) for s in sizes], int(window)
        n = sum(self.sizes)
        share = fraction * min(1.0, validation_rows / (fraction * n)) if fraction > 0 else 0.0
        counts = [int(round(share * s)) for s in self.sizes]
        if sum(counts) < 1 or n - sum(counts) < 2:
            counts = [0] * len(self.sizes)
        self.val_rows = [np.sort(vt.permutation(jax.random.fold_in(k_split, u), s)[:c])
                         if c else np.zeros(0, np.int64) for u, (s, c) in enumerate(zip(self.sizes, counts))]
        self.eps_val = [vt.normal_rows(jax.random.fold_in(k_val, u), c, latent_dim)
                        for u, c in enumerate(counts) if c]
        self.train_sizes = np.asarray([s - c for s, c in zip(self.sizes, counts)], np.int64)
        self.train_offsets = np.concatenate([[0], np.cumsum(self.train_sizes)[:-1]])
        self.n_train = int(self.train_sizes.sum())
        self.n_val = int(sum(counts))

    def train_mask(self, u: int) -> np.ndarray:
        mask = np.ones(self.sizes[u], bool)
        mask[self.val_rows[u]] = False
        return mask

    def windows(self, k_epoch):
        """``(pieces, shuffle)`` per window of the epoch with key ``k_epoch``: the window's
        training rows, its pieces' in that order, are taken in the order ``shuffle``."""
        k_perm = jax.random.split(k_epoch)[0]
        pieces = vt.permutation(jax.random.fold_in(k_perm, 0), len(self.sizes))
        for w, start in enumerate(range(0, len(pieces), self.window)):
            units = [int(u) for u in pieces[start:start + self.window]]
            rows = int(self.train_sizes[units].sum())
            if rows:
                yield units, vt.permutation(jax.random.fold_in(k_perm, w + 1), rows)

    def order(self, epoch: int, k_epoch) -> np.ndarray:
        """The epoch's order of the training rows (numbered piece by piece, in each piece's row
        order without its validation rows), as the stream takes them."""
        out = []
        for units, shuffle in self.windows(k_epoch):
            ids = np.concatenate([self.train_offsets[u] + np.arange(self.train_sizes[u]) for u in units])
            out.append(ids[shuffle])
        return np.concatenate(out)

    def split_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Row numbers (in the whole table) of the training and of the validation rows."""
        firsts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])
        train = [f + np.flatnonzero(self.train_mask(u)) for u, f in enumerate(firsts)]
        val = [f + r for f, r in zip(firsts, self.val_rows)]
        return np.concatenate(train), np.concatenate(val)

    def validation_draws(self):
        return np.concatenate(self.eps_val) if self.eps_val else None


@partial(jax.jit, static_argnames=("arch", "n_slots"))
def _stream_steps(net, opt_state, xb, keys, steps, batch_size, n_batches, beta, lr, total, *,
                  arch, n_slots):
    return vt.run_steps(net, opt_state, lambda i: xb[i], keys, steps, batch_size, n_batches, beta,
                        lr, total, arch=arch, n_slots=n_slots)


def fit_vae(gen, units, vec, columns, dtypes, *, seed, window=DEFAULT_WINDOW,
            validation_rows=DEFAULT_VALIDATION_ROWS, prior_rows=DEFAULT_PRIOR_ROWS):
    """Fit the VAE ``gen`` on ``units`` (:mod:`._units`) streamed; returns it."""
    from ..generators import _vae_prior as latent_prior
    from ..generators.vae import _PRIOR_STREAM, auto_beta, auto_hidden

    check_counts(window=window, validation_rows=validation_rows, prior_rows=prior_rows)
    seed = check_seed(0 if seed is None else seed)
    hp = gen._validated_params()
    moments = stream_moments(units, vec, columns, dtypes, verbose=hp["verbose"])
    vec.min_, vec.max_ = moments["min"], moments["max"]
    n = int(moments["n"])
    if n < gen.min_rows:
        raise InvalidDataError(f"the training data has {n} row(s); at least {gen.min_rows} are needed")
    fit_key, stream_key = fit_keys(seed)
    new = gen._unfitted_copy()
    layout = nets.layout_from_blocks(vec.blocks_)
    hidden = auto_hidden(layout.n_features) if hp["hidden"] == "auto" else hp["hidden"]
    new.arch_ = arch = nets.Arch(layout, tuple(hidden), hp["latent_dim"])
    shift, scale = standardisation(moments, layout)
    new.beta_ = auto_beta(vec.blocks_) if hp["beta"] == "auto" else float(hp["beta"])
    hp = {**hp, "beta": new.beta_}
    plan = Plan(fit_key, units.sizes, hp["validation_fraction"], arch.latent_dim, window,
                validation_rows)
    step = max(1, -(-n // int(prior_rows)))
    x_val, sample = _holdout_pass(units, plan, vec, columns, dtypes, shift, scale, step, hp["verbose"])
    reader = partial(_training_rows, units, plan, vec, columns, dtypes, shift, scale)
    result = stream_train(fit_key, plan, reader, x_val, arch, hp)
    new.history_ = {"train_loss": result.train_loss, "val_loss": result.val_loss}
    new.best_epoch_, new.n_epochs_ = int(result.best_epoch), int(result.n_epochs)
    params = nets.VAEParams(result.net, jnp.asarray(shift), jnp.asarray(scale))
    new.prior_ = None
    if hp["prior"] == "learned":
        new.prior_ = latent_prior.fit_prior(jax.random.fold_in(fit_key, _PRIOR_STREAM), params, sample,
                                            arch, n_components=hp["prior_components"])
    return install_fit(gen, new, vec=vec, n_features=len(columns), n_rows=n, seed=seed,
                       params=params, stream_key=stream_key)


def check_counts(**counts) -> None:
    """Refuse a count that is not a positive int, naming it."""
    for name, v in counts.items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise InvalidParameterError(f"{name} must be a positive int; got {v!r}")


def standardisation(moments: dict, layout) -> tuple[np.ndarray, np.ndarray]:
    """``vae.standardisation`` from the merged moments instead of the rows."""
    shift = np.zeros(layout.n_features, np.float32)
    scale = np.ones(layout.n_features, np.float32)
    cont = list(layout.continuous)
    if cont:
        sd = np.sqrt(np.diagonal(moments["m2"])[cont] / moments["n"])
        shift[cont] = moments["mean"][cont]
        scale[cont] = np.where(sd > 0, sd, 1.0)
    return shift, scale


def _holdout_pass(units, plan, vec, columns, dtypes, shift, scale, step, verbose):
    """The standardised validation rows and the prior's sample (data units), in one pass."""
    val, sample, first = [], [], 0
    with progress(verbose, "vae holdout", len(units)) as bar:
        for u in range(len(units)):
            _, X = unit_matrix(units, u, vec, columns, dtypes)
            if len(X) != plan.sizes[u]:
                raise InvalidDataError(f"partition {u} changed size between passes")
            val.append((X[plan.val_rows[u]] - shift) / scale)
            sample.append(X[(-first) % step::step])
            first += len(X)
            bar.advance()
    return (np.concatenate(val) if plan.n_val else None), np.concatenate(sample)


def _training_rows(units, plan, vec, columns, dtypes, shift, scale, u):
    _, X = unit_matrix(units, u, vec, columns, dtypes)
    if len(X) != plan.sizes[u]:
        raise InvalidDataError(f"partition {u} changed size between passes")
    return (X[plan.train_mask(u)] - shift) / scale


def stream_train(key, plan: Plan, reader, x_val, arch, hp) -> vt.TrainResult:
    """``_vae_train.train`` with the batches of every epoch streamed in ``plan``'s order;
    ``reader(u)``: the standardised training rows of piece ``u``."""
    k_init, k_epochs = jax.random.split(jax.random.fold_in(key, 0))
    cfg = vt.train_config(plan.n_train, hp)
    shapes = vt.shapes_for(plan.n_train, cfg)
    B, S = cfg.batch_size, STEPS_PER_CALL
    total = jnp.float32(cfg.n_batches * hp["epochs"])
    d = arch.layout.n_features

    def run(net, opt_state, chunk, keys, j, m, beta, lr):
        xb = np.zeros((S, shapes.batch, d), np.float32)
        xb[:m, :B] = chunk.reshape(m, B, d)
        ks = np.zeros((S,) + keys.shape[1:], keys.dtype)
        ks[:m] = keys[j:j + m]
        steps = np.where(np.arange(S) < m, j + np.arange(S), cfg.n_batches).astype(np.int32)
        return _stream_steps(net, opt_state, xb, ks, steps, B, cfg.n_batches, beta, lr, total,
                             arch=arch, n_slots=shapes.batch)

    def epoch_fn(net, opt_state, epoch, k_epoch, beta, lr):
        keys = np.asarray(vt.step_keys(k_epoch, shapes))
        carry, j, loss = np.zeros((0, d), np.float32), 0, 0.0
        for units, shuffle in plan.windows(k_epoch):
            carry = np.concatenate([carry, np.concatenate([reader(u) for u in units])[shuffle]])
            while len(carry) >= S * B and j < cfg.n_batches:
                m = min(S, cfg.n_batches - j)
                net, opt_state, part = run(net, opt_state, carry[:m * B], keys, j, m, beta, lr)
                carry, j, loss = carry[m * B:], j + m, loss + part
            if j >= cfg.n_batches:
                break
        while j < cfg.n_batches:
            m = min(S, cfg.n_batches - j)
            net, opt_state, part = run(net, opt_state, carry[:m * B], keys, j, m, beta, lr)
            carry, j, loss = carry[m * B:], j + m, loss + part
        return net, opt_state, loss

    val = None if x_val is None else vt._pad_objective_rows(x_val, plan.validation_draws())

    def val_fn(net, beta):
        return float(vt._mean_objective(net, val.xs, val.eps, val.n, beta, arch=arch))

    return vt.train_loop(k_init, k_epochs, arch, hp, epoch_fn, None if val is None else val_fn)
