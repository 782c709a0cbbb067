"""DP-SGD for the VAE: per-example clipped gradients, Gaussian noise, Poisson-sampled batches.

A private fit of the VAE (``epsilon`` set) trains its networks with DP-SGD (Abadi et al.
2016).  Each step keeps every training row independently with probability ``q`` (Poisson
sampling; ``q`` is the expected batch size over the row count), computes each kept row's
gradient of its own negative ELBO with ``jax.vmap(jax.grad(...))``, scales every per-example
gradient down to L2 norm at most ``clip_norm``, sums them, adds Gaussian noise of standard
deviation ``noise_multiplier * clip_norm`` to every coordinate, and divides by the expected
batch size.  Adding or removing one row changes the sum by at most ``clip_norm``, so a step is
a Poisson-sampled Gaussian mechanism of noise multiplier ``noise_multiplier``; the fit composes
``private_epochs * steps_per_epoch`` of them, accounted by ``dp-accounting`` (RDP) and
calibrated to the target epsilon by ``dp_accounting.calibrate_dp_mechanism`` (see
:mod:`synthgen.dp.accounting`).  Adam's update is post-processing.

Nothing else reads the data: there is no validation split, no early stopping and no recorded
loss (each would be a release of its own); the standardisation comes from the public bounds;
new rows decode draws from N(0, I).
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from .._compile_cache import bucket
from ..errors import InvalidParameterError
from ._vae_nets import Arch, neg_elbo_terms
from ._vae_train import TrainResult, _beta_at, init_state, make_optimizer, pad_rows

#: the ledger's name for the gradient releases
RELEASE = "vae_sgd:gradient"
#: rows whose per-example gradients are computed at once (bounds memory to chunk x parameters)
GRAD_CHUNK = 128
#: the expected batch size ``batch_size="auto"`` gives a private fit: n / 16 within these bounds
_AUTO_BATCH = (64, 1024)


def expected_batch_size(n_rows: int, batch_size) -> int:
    """Rows a private step keeps on average: ``batch_size``, or n / 16 within [64, 1024]."""
    if batch_size == "auto":
        batch_size = min(_AUTO_BATCH[1], max(_AUTO_BATCH[0], n_rows // 16))
    return int(min(batch_size, n_rows))


def schedule(n_rows: int, hp: dict) -> tuple[float, int, int]:
    """``(sampling rate, steps per epoch, total steps)`` of a private fit on ``n_rows`` rows."""
    batch = expected_batch_size(n_rows, hp["batch_size"])
    steps = max(1, round(n_rows / batch))
    return batch / n_rows, int(steps), int(steps * hp["private_epochs"])


def plan_vae(ledger, share: float, hp: dict, n_rows: int) -> None:
    """The gradient releases of :func:`train_private` (one per step) in ``ledger``."""
    if n_rows < 2:
        raise InvalidParameterError(f"a private VAE fit needs at least 2 rows; got {n_rows}")
    q, _, total = schedule(n_rows, hp)
    ledger.add(RELEASE, float(hp["clip_norm"]), share, count=total, sampling_rate=q)


def private_standardisation(fit, layout) -> tuple[np.ndarray, np.ndarray]:
    """Shift and scale of the continuous columns from the public bounds (centre, half range)."""
    shift = np.zeros(layout.n_features, np.float32)
    scale = np.ones(layout.n_features, np.float32)
    cont = list(layout.continuous)
    if cont:
        shift[cont] = fit.centre[cont]
        half = np.asarray(fit.half_width, np.float32)[cont]
        scale[cont] = np.where(half > 0, half, 1.0)
    return shift, scale


# ---------------------------------------------------------------------------------------------
# The mechanism: per-example gradients, clipping, noise
# ---------------------------------------------------------------------------------------------


def per_example_grads(net, arch: Arch, xs, eps, beta):
    """The gradient of each row's own loss ``nll + beta * kl`` (a tree with a leading row axis)."""
    def row_loss(p, x, e):
        nll, kl = neg_elbo_terms(p, arch, x[None], e[None])
        return nll[0] + beta * kl[0]

    return jax.vmap(jax.grad(row_loss), in_axes=(None, 0, 0))(net, xs, eps)


def clip_per_example(grads, clip):
    """Per-example gradients scaled to global L2 norm at most ``clip``; and their norms before."""
    leaves = jax.tree_util.tree_leaves(grads)
    norms = jnp.sqrt(sum(jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=1) for g in leaves))
    factor = jnp.minimum(1.0, clip / jnp.maximum(norms, 1e-12))
    clipped = jax.tree_util.tree_map(lambda g: g * factor.reshape((-1,) + (1,) * (g.ndim - 1)), grads)
    return clipped, norms


def clipped_sum(net, arch: Arch, xs, eps, valid, beta, clip):
    """Sum over the ``valid`` rows of their clipped per-example gradients."""
    clipped, _ = clip_per_example(per_example_grads(net, arch, xs, eps, beta), clip)
    w = valid.astype(xs.dtype)
    return jax.tree_util.tree_map(lambda g: jnp.tensordot(w, g, axes=1), clipped)


def add_noise(key, tree, sigma):
    """``tree`` plus independent N(0, sigma^2) noise on every coordinate."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    keys = jax.random.split(key, len(leaves))
    return treedef.unflatten([g + sigma * jax.random.normal(k, g.shape, g.dtype)
                              for g, k in zip(leaves, keys)])


def poisson_sample(key, n_rows, q, size: int, chunk: int):
    """Indices of the rows a Poisson sample at rate ``q`` keeps (padded), and how many it kept."""
    kept = (jax.random.uniform(key, (size,)) < q) & (jnp.arange(size) < n_rows)
    return jnp.nonzero(kept, size=size + chunk, fill_value=0)[0], jnp.sum(kept)


def noisy_gradient(net, key, rows, n_rows, q, beta, clip, sigma, *, arch: Arch, chunk: int):
    """One DP-SGD gradient: the noisy sum of a Poisson sample's clipped gradients over ``q n``."""
    k_sel, k_eps, k_noise = jax.random.split(key, 3)
    idx, m = poisson_sample(k_sel, n_rows, q, rows.shape[0], chunk)

    def body(carry):
        i, acc = carry
        ids = lax.dynamic_slice(idx, (i * chunk,), (chunk,))
        valid = i * chunk + jnp.arange(chunk) < m
        eps = jax.random.normal(jax.random.fold_in(k_eps, i), (chunk, arch.latent_dim), rows.dtype)
        g = clipped_sum(net, arch, rows[ids], eps, valid, beta, clip)
        return i + 1, jax.tree_util.tree_map(jnp.add, acc, g)

    zero = jax.tree_util.tree_map(jnp.zeros_like, net)
    _, total = lax.while_loop(lambda c: c[0] * chunk < m, body, (jnp.int32(0), zero))
    noisy = add_noise(k_noise, total, sigma)
    return jax.tree_util.tree_map(lambda g: g / (q * n_rows), noisy)


@partial(jax.jit, static_argnames=("arch", "chunk"))
def dp_epoch(net, opt_state, key, rows, n_rows, q, n_steps, beta, clip, sigma, learning_rate,
             total_steps, *, arch: Arch, chunk: int):
    """``n_steps`` DP-SGD steps of Adam on the first ``n_rows`` rows of ``rows``."""
    tx = make_optimizer(learning_rate, total_steps)

    def step(j, carry):
        p, s = carry
        g = noisy_gradient(p, jax.random.fold_in(key, j), rows, n_rows, q, beta, clip, sigma,
                           arch=arch, chunk=chunk)
        updates, s = tx.update(g, s, p)
        return optax.apply_updates(p, updates), s

    return lax.fori_loop(0, n_steps, step, (net, opt_state))


def train_private(key, xs, arch: Arch, hp: dict, release) -> TrainResult:
    """Train on standardised rows ``xs`` by DP-SGD with the noise of ``release`` (calibrated)."""
    n = int(xs.shape[0])
    q, steps, total = schedule(n, hp)
    if release.count != total or not math.isclose(release.sampling_rate, min(q, 1.0)):
        raise InvalidParameterError("the private VAE fit's plan does not match its data")
    k_init, k_epochs = jax.random.split(jax.random.fold_in(key, 0))
    rows = jax.device_put(pad_rows(np.asarray(xs, np.float32), bucket(n, 64)))
    net, opt_state = init_state(k_init, arch=arch)
    f32 = jnp.float32
    with _progress(hp["verbose"], hp["private_epochs"]) as bar:
        for epoch in range(hp["private_epochs"]):
            beta = _beta_at(epoch, hp["beta"], hp["kl_warmup"])
            net, opt_state = dp_epoch(
                net, opt_state, jax.random.fold_in(k_epochs, epoch), rows, n, f32(q), steps,
                f32(beta), f32(release.sensitivity), f32(release.sigma), f32(hp["learning_rate"]),
                f32(total), arch=arch, chunk=GRAD_CHUNK)
            bar(epoch + 1)
    epochs = hp["private_epochs"]
    nan = np.full(epochs, np.nan)
    return TrainResult(net, nan, nan.copy(), epochs - 1, epochs)


class _Bar:
    def __init__(self, total: int):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("[bold]vae[/] DP-SGD epoch"), MofNCompleteColumn(),
                                 BarColumn(), TimeElapsedColumn(), console=Console(stderr=True))
        self.task = self.progress.add_task("fit", total=total)

    def __enter__(self):
        self.progress.start()
        return lambda done: self.progress.update(self.task, completed=done)

    def __exit__(self, *exc):
        self.progress.stop()


class _Quiet:
    def __enter__(self):
        return lambda done: None

    def __exit__(self, *exc):
        return None


def _progress(verbose: bool, total: int):
    return _Bar(total) if verbose else _Quiet()
