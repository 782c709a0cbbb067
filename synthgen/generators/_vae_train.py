"""Training of the VAE: a jitted epoch in ``lax.scan``, Adam with a cosine schedule,
a KL warm-up, a validation split and early stopping that keeps the best weights.

Every jitted function takes the architecture and the padded shapes as static arguments
(hashable tuples) and everything else as traced values, so two fits share one
compilation whatever their seed, epochs, learning rate or KL weight.  The training rows,
the batches, the number of batches and the validation rows are padded to size buckets
(``synthgen._compile_cache.bucket``), so fits on 1,000 and 1,001 rows share one program
too: padding rows are never drawn into a batch, padding slots of a batch and padding
steps of an epoch add nothing, and the shuffles and draws of the real rows are those of
the unpadded arrays (``jax.random`` draws element ``i`` the same whatever the size).
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from .._compile_cache import bucket
from ..errors import InvalidParameterError
from ._vae_nets import Arch, init_net, neg_elbo_terms


#: The learning rate decays along a half cosine to this share of its initial value.
FINAL_LR_FRACTION = 0.1
CLIP_NORM = 10.0
#: smallest size buckets of the training rows, of a batch and of the batches per epoch
_MIN_ROWS, _MIN_BATCH, _MIN_STEPS = 64, 16, 16


class TrainConfig(NamedTuple):
    """The batch layout of one fit: rows per batch, batches per epoch."""

    batch_size: int
    n_batches: int


class Shapes(NamedTuple):
    """Static padded sizes of one fit (hashable: part of the jit cache key)."""

    rows: int  # training rows, padded
    batch: int  # rows per batch, padded
    steps: int  # batches per epoch, padded
    rounds: int  # sorting rounds of the shuffle (as jax.random.permutation's for the real rows)


def shapes_for(n_train: int, cfg: TrainConfig) -> Shapes:
    return Shapes(bucket(n_train, _MIN_ROWS), bucket(cfg.batch_size, _MIN_BATCH),
                  bucket(cfg.n_batches, _MIN_STEPS), shuffle_rounds(n_train))


def shuffle_rounds(n: int) -> int:
    """Sorting rounds ``jax.random.permutation`` uses for ``n`` elements."""
    return int(np.ceil(3 * np.log(max(1, n)) / np.log(np.iinfo(np.uint32).max)))


def padded_shuffle(key, n, size: int, rounds: int):
    """``jax.random.permutation(key, n)`` followed by ``n .. size - 1`` in some order (``n`` traced).

    The same sorts by the same random keys, with the padding elements sorted last: the
    first ``n`` elements are exactly the permutation of ``n``.
    """
    x = jnp.arange(size, dtype=jnp.int32)
    for _ in range(rounds):
        key, subkey = jax.random.split(key)
        sort_keys = jax.random.bits(subkey, (size,), jnp.uint32)
        _, _, x = lax.sort(((x >= n).astype(jnp.uint32), sort_keys, x), num_keys=2, is_stable=True)
    return x


@partial(jax.jit, static_argnames=("size", "rounds"))
def _permutation(key, n, *, size: int, rounds: int):
    return padded_shuffle(key, n, size, rounds)


def permutation(key, n: int) -> np.ndarray:
    """``jax.random.permutation(key, n)`` from a program shared by the size bucket of ``n``."""
    return np.asarray(_permutation(key, n, size=bucket(n, _MIN_ROWS), rounds=shuffle_rounds(n)))[:n]


@partial(jax.jit, static_argnames=("shape",))
def _normal(key, *, shape):
    return jax.random.normal(key, shape, jnp.float32)


def normal_rows(key, n: int, d: int) -> np.ndarray:
    """``jax.random.normal(key, (n, d))`` from a program shared by the size bucket of ``n``."""
    return np.asarray(_normal(key, shape=(bucket(n, _MIN_ROWS), d)))[:n]


def pad_rows(x: np.ndarray, size: int) -> np.ndarray:
    """``x`` with zero rows appended up to ``size`` rows."""
    out = np.zeros((size,) + x.shape[1:], x.dtype)
    out[: len(x)] = x
    return out


class TrainResult(NamedTuple):
    net: dict
    train_loss: np.ndarray  # (epochs run,)
    val_loss: np.ndarray  # (epochs run,), NaN without a validation split
    best_epoch: int  # 0-based epoch whose weights were kept
    n_epochs: int


def cosine_schedule(learning_rate, total_steps):
    """``step -> rate``: a half cosine from ``learning_rate`` to FINAL_LR_FRACTION of it.

    Both arguments may be traced values, so a new rate or epoch count needs no new compilation.
    """
    def rate(count):
        frac = jnp.minimum(count / jnp.maximum(total_steps, 1.0), 1.0)
        return learning_rate * (FINAL_LR_FRACTION + (1.0 - FINAL_LR_FRACTION) * 0.5 * (1.0 + jnp.cos(jnp.pi * frac)))

    return rate


def make_optimizer(learning_rate=1e-3, total_steps=1.0) -> optax.GradientTransformation:
    """Adam on a cosine-decayed learning rate, after clipping the global gradient norm."""
    return optax.chain(optax.clip_by_global_norm(CLIP_NORM),
                       optax.adam(cosine_schedule(learning_rate, total_steps)))


def _loss(net, arch: Arch, xs, key, beta, real, n):
    """Mean loss of the batch's ``n`` real rows (``real``: which slots hold one)."""
    eps = jax.random.normal(key, (xs.shape[0], arch.latent_dim), xs.dtype)
    nll, kl = neg_elbo_terms(net, arch, xs, eps)
    return jnp.sum(jnp.where(real, nll + beta * kl, 0.0)) / n


@partial(jax.jit, static_argnames=("arch",))
def init_state(key, *, arch: Arch):
    """Initial network parameters and optimiser state."""
    net = init_net(key, arch)
    return net, make_optimizer().init(net)


@partial(jax.jit, static_argnames=("arch", "shapes"))
def run_epoch(net, opt_state, key, xs, n_rows, batch_size, n_batches, beta, learning_rate, total_steps,
              *, arch: Arch, shapes: Shapes):
    """One pass over a shuffle of the first ``n_rows`` rows of ``xs`` (padded to ``shapes.rows``)
    in ``n_batches`` batches of ``batch_size`` (the remainder is dropped)."""
    k_perm, k_noise = jax.random.split(key)
    order = padded_shuffle(k_perm, n_rows, shapes.rows, shapes.rounds)
    return _epoch(net, opt_state, k_noise, xs, order, batch_size, n_batches, beta, learning_rate,
                  total_steps, arch=arch, shapes=shapes)


@partial(jax.jit, static_argnames=("arch", "shapes"))
def run_ordered_epoch(net, opt_state, key, xs, order, batch_size, n_batches, beta, learning_rate,
                      total_steps, *, arch: Arch, shapes: Shapes):
    """:func:`run_epoch` with the rows taken in the given ``order`` (``shapes.rows`` indices into
    ``xs``; batch ``j`` is ``order[j * batch_size:(j + 1) * batch_size]``) instead of a shuffle."""
    _, k_noise = jax.random.split(key)
    return _epoch(net, opt_state, k_noise, xs, order, batch_size, n_batches, beta, learning_rate,
                  total_steps, arch=arch, shapes=shapes)


def step_keys(key, shapes: Shapes):
    """The per-batch noise keys of the epoch with ``key`` (those :func:`run_epoch` uses)."""
    return jax.random.split(jax.random.split(key)[1], shapes.steps)


def _epoch(net, opt_state, k_noise, xs, order, batch_size, n_batches, beta, learning_rate,
           total_steps, *, arch: Arch, shapes: Shapes):
    keys = jax.random.split(k_noise, shapes.steps)
    slots = jnp.arange(shapes.batch)

    def batch(j):
        return xs[order[jnp.minimum(j * batch_size + slots, shapes.rows - 1)]]

    return run_steps(net, opt_state, batch, keys, jnp.arange(shapes.steps), batch_size, n_batches,
                     beta, learning_rate, total_steps, arch=arch, n_slots=shapes.batch)


def run_steps(net, opt_state, batch, keys, steps, batch_size, n_batches, beta, learning_rate,
              total_steps, *, arch: Arch, n_slots: int):
    """Adam steps ``steps`` (those below ``n_batches``; the others change nothing) on the
    batches ``batch(i)`` with noise ``keys[i]``; returns the weights, the optimiser state and
    the summed loss over ``n_batches``.  Traced: called inside a jitted function."""
    tx = make_optimizer(learning_rate, total_steps)
    real = jnp.arange(n_slots) < batch_size

    def step(carry, i):
        def run(carry):
            p, s = carry
            xb = batch(i)
            loss, grads = jax.value_and_grad(_loss)(p, arch, xb, keys[i], beta, real, batch_size)
            updates, s = tx.update(grads, s, p)
            return (optax.apply_updates(p, updates), s), loss

        return lax.cond(steps[i] < n_batches, run, lambda c: (c, jnp.zeros((), jnp.float32)), carry)

    (net, opt_state), losses = lax.scan(step, (net, opt_state), jnp.arange(len(steps)))
    return net, opt_state, jnp.sum(losses) / n_batches


@partial(jax.jit, static_argnames=("arch",))
def _mean_objective(net, xs, eps, n, beta, *, arch: Arch):
    nll, kl = neg_elbo_terms(net, arch, xs, eps)
    return jnp.sum(jnp.where(jnp.arange(xs.shape[0]) < n, nll + beta * kl, 0.0)) / n


class _Padded(NamedTuple):
    xs: jax.Array
    eps: jax.Array
    n: int


def _pad_objective_rows(xs, eps) -> _Padded:
    size = bucket(len(xs), _MIN_ROWS)
    return _Padded(jax.device_put(pad_rows(np.asarray(xs, np.float32), size)),
                   jax.device_put(pad_rows(np.asarray(eps, np.float32), size)), len(xs))


def mean_objective(net, xs, eps, beta, *, arch: Arch):
    """Mean negative (beta-weighted) ELBO of ``xs`` with fixed draws ``eps`` (n, latent)."""
    part = _pad_objective_rows(xs, eps)
    return _mean_objective(net, part.xs, part.eps, part.n, beta, arch=arch)


def split_validation(key, n: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the training and validation parts (validation empty when too small)."""
    perm = permutation(key, n)
    n_val = int(round(fraction * n))
    if n_val < 1 or n - n_val < 2:
        return np.sort(perm), perm[:0]
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


class Holdout(NamedTuple):
    x_train: np.ndarray
    x_val: np.ndarray | None
    eps_val: np.ndarray | None  # fixed latent draws that make the validation loss deterministic


def holdout(key, xs, fraction: float, latent_dim: int) -> Holdout:
    """The split of ``xs`` that :func:`train` uses for ``key``, with the validation draws."""
    xs = np.asarray(xs, np.float32)
    k_split, k_val = jax.random.split(jax.random.fold_in(key, 1))
    tr, va = split_validation(k_split, xs.shape[0], fraction)
    if not len(va):
        return Holdout(xs[tr], None, None)
    return Holdout(xs[tr], xs[va], normal_rows(k_val, len(va), latent_dim))


def auto_batch_size(n_train: int) -> int:
    """About 16 gradient steps per epoch, in batches of 16 to 256 rows."""
    return int(min(256, max(16, n_train // 16)))


def train_config(n_train: int, hp: dict) -> TrainConfig:
    batch = auto_batch_size(n_train) if hp["batch_size"] == "auto" else hp["batch_size"]
    batch = min(batch, n_train)
    return TrainConfig(batch, n_train // batch)


def train(key, xs, arch: Arch, hp: dict, *, split: Holdout | None = None,
          epoch_order=None) -> TrainResult:
    """Fit the network to standardised rows ``xs``; returns the kept weights and the history.

    ``split`` gives the training and validation rows (and validation draws) instead of the
    split :func:`holdout` makes from ``xs``; ``epoch_order(epoch, key)`` gives the order of the
    training rows in an epoch (``key``: the epoch's key) instead of a shuffle.  Out-of-core
    training (``synthgen.dask``) streams its batches in such an order, and these two reproduce
    it in memory.
    """
    k_init, k_epochs = jax.random.split(jax.random.fold_in(key, 0))
    x_train, x_val, eps_val = split if split is not None else holdout(
        key, xs, hp["validation_fraction"], arch.latent_dim)
    n_train = x_train.shape[0]
    cfg = train_config(n_train, hp)
    shapes = shapes_for(n_train, cfg)
    rows = jax.device_put(pad_rows(x_train, shapes.rows))
    val = None if x_val is None else _pad_objective_rows(x_val, eps_val)
    total = jnp.float32(cfg.n_batches * hp["epochs"])

    def epoch_fn(net, opt_state, epoch, k_epoch, beta, lr):
        if epoch_order is None:
            return run_epoch(net, opt_state, k_epoch, rows, n_train, cfg.batch_size, cfg.n_batches,
                             beta, lr, total, arch=arch, shapes=shapes)
        order = pad_rows(np.asarray(epoch_order(epoch, k_epoch), np.int32), shapes.rows)
        return run_ordered_epoch(net, opt_state, k_epoch, rows, order, cfg.batch_size,
                                 cfg.n_batches, beta, lr, total, arch=arch, shapes=shapes)

    def val_fn(net, beta):
        return float(_mean_objective(net, val.xs, val.eps, val.n, beta, arch=arch))

    return train_loop(k_init, k_epochs, arch, hp, epoch_fn, None if val is None else val_fn)


def train_loop(k_init, k_epochs, arch: Arch, hp: dict, epoch_fn, val_fn) -> TrainResult:
    """The epochs of a fit: ``epoch_fn(net, opt_state, epoch, key, beta, lr)`` runs one (returns
    the weights, the optimiser state and the mean loss), ``val_fn(net, beta)`` gives the
    validation loss (None: no validation); KL warm-up, early stopping, progress."""
    net, opt_state = init_state(k_init, arch=arch)
    lr = jnp.float32(hp["learning_rate"])
    stopper = _EarlyStopping(hp["patience"], hp["kl_warmup"])
    train_hist: list[float] = []
    val_hist: list[float] = []
    with _progress(hp["verbose"], hp["epochs"]) as bar:
        for epoch in range(hp["epochs"]):
            beta = _beta_at(epoch, hp["beta"], hp["kl_warmup"])
            net, opt_state, loss = epoch_fn(net, opt_state, epoch,
                                            jax.random.fold_in(k_epochs, epoch), jnp.float32(beta), lr)
            train_hist.append(float(loss))
            val_loss = math.nan
            if val_fn is not None:
                val_loss = val_fn(net, jnp.float32(hp["beta"]))
            val_hist.append(val_loss)
            if _diverged(train_hist[-1], 0.0 if val_fn is None else val_loss, epoch, stopper):
                break
            stop = stopper.update(epoch, val_loss, net) if val_fn is not None else False
            bar.advance(epoch, train_hist[-1], val_loss, stop)
            if stop:
                break
    kept = stopper.best_net if stopper.best_net is not None else net
    best = stopper.best_epoch if stopper.best_net is not None else len(train_hist) - 1
    return TrainResult(kept, np.asarray(train_hist), np.asarray(val_hist), best, len(train_hist))


def _beta_at(epoch: int, beta: float, warmup: int) -> float:
    """KL weight in ``epoch`` (0-based): a linear ramp over ``warmup`` epochs, then ``beta``."""
    if warmup <= 0:
        return beta
    return beta * min(1.0, (epoch + 1) / warmup)


def _diverged(loss: float, val: float, epoch: int, stopper: "_EarlyStopping") -> bool:
    """True when the loss stopped being finite but earlier weights can be kept; raise if none can."""
    if math.isfinite(loss) and math.isfinite(val):
        return False
    if stopper.best_net is None:
        raise InvalidParameterError(
            f"training diverged (the loss is not finite at epoch {epoch + 1}); "
            "lower learning_rate or raise batch_size"
        )
    return True


class _EarlyStopping:
    """Track the best validation loss after the KL warm-up; say when patience runs out."""

    def __init__(self, patience: int | None, warmup: int):
        self.patience, self.warmup = patience, warmup
        self.best_loss = math.inf
        self.best_net = None
        self.best_epoch = -1
        self.wait = 0

    def update(self, epoch: int, val: float, net) -> bool:
        if epoch + 1 < self.warmup:
            return False
        if val < self.best_loss:
            self.best_loss, self.best_net, self.best_epoch, self.wait = val, net, epoch, 0
            return False
        self.wait += 1
        return self.patience is not None and self.wait >= self.patience


class _Bar:
    """A rich progress bar on stderr showing the running losses."""

    def __init__(self, total: int):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("[bold]vae[/] epoch"), MofNCompleteColumn(), BarColumn(),
            TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
            console=Console(stderr=True), transient=False,
        )
        self.task = self.progress.add_task("fit", total=total, info="")

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def advance(self, epoch: int, loss: float, val: float, stopped: bool) -> None:
        info = f"loss {loss:.4g}" + ("" if math.isnan(val) else f"  val {val:.4g}")
        total = epoch + 1 if stopped else None
        self.progress.update(self.task, completed=epoch + 1, total=total, info=info)


class _Quiet:
    def advance(self, epoch: int, loss: float, val: float, stopped: bool) -> None:
        pass


def _progress(verbose: bool, total: int):
    return _Bar(total) if verbose else nullcontext(_Quiet())
