"""The VAE's networks and likelihoods: pure functions of a static architecture and a params tree.

The decoder emits one vector per row laid out like the vectorised data (a mean for each
continuous column, a logit for each binary column, a logit for each one-hot column), followed
by one log-variance per continuous column.  Each block of the vectoriser then gets its own
likelihood: a Gaussian for continuous features, a softmax over the block for a categorical
one, a Bernoulli for a binary flag.

Continuous columns are standardised inside the model (``VAEParams.shift`` and ``scale``);
log densities are returned in the data's own units (the Jacobian of the standardisation is
included), so they compare with any other generator's ``score_samples``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

LOG_2PI = math.log(2.0 * math.pi)
#: Floor of a continuous feature's decoder log-variance (in standardised units).
DECODER_LOGVAR_MIN = -7.0
#: Bounds of the encoder's log-variance, for numerical safety only.
ENCODER_LOGVAR_RANGE = (-16.0, 8.0)
_MASKED = -1e9


class Layout(NamedTuple):
    """Which columns of the vectorised matrix belong to which likelihood (hashable, static)."""

    n_features: int
    continuous: tuple[int, ...]
    binary: tuple[int, ...]
    categorical: tuple[tuple[int, int], ...]  # (start, stop) of each one-hot block

    @property
    def n_out(self) -> int:
        return self.n_features + len(self.continuous)

    @property
    def cat_width(self) -> int:
        return max((b - a for a, b in self.categorical), default=0)


class Arch(NamedTuple):
    """Everything static that the networks' shapes depend on."""

    layout: Layout
    hidden: tuple[int, ...]
    latent_dim: int


class VAEParams(NamedTuple):
    """Fitted state: the flax params dict and the standardisation of every column."""

    net: dict  # {"encoder": {...}, "decoder": {...}}
    shift: jax.Array  # (d,) subtracted from each column (0 outside continuous columns)
    scale: jax.Array  # (d,) divides each column (1 outside continuous columns)


def layout_from_blocks(blocks) -> Layout:
    """Build the static :class:`Layout` from a vectoriser's ``blocks_``."""
    cont, binary, cat = [], [], []
    for b in blocks:
        if b.kind == "continuous":
            cont.extend(range(b.start, b.stop))
        elif b.kind == "binary":
            binary.extend(range(b.start, b.stop))
        elif b.kind == "categorical":
            cat.append((int(b.start), int(b.stop)))
        else:
            raise ValueError(f"unknown block kind {b.kind!r} in block {b.name!r}")
    d = max((b.stop for b in blocks), default=0)
    return Layout(int(d), tuple(int(i) for i in cont), tuple(int(i) for i in binary), tuple(cat))


class _MLP(nn.Module):
    hidden: tuple[int, ...]
    n_out: int

    @nn.compact
    def __call__(self, x):
        for width in self.hidden:
            x = nn.silu(nn.Dense(width)(x))
        return nn.Dense(self.n_out)(x)


class VAENet(nn.Module):
    """Encoder ``x -> (mean, log_var)`` and decoder ``z -> raw head outputs``."""

    arch: Arch

    def setup(self):
        self.encoder = _MLP(self.arch.hidden, 2 * self.arch.latent_dim)
        self.decoder = _MLP(tuple(reversed(self.arch.hidden)), self.arch.layout.n_out)

    def __call__(self, x, z):
        return self.encode(x), self.decode(z)

    def encode(self, x):
        out = self.encoder(x)
        mean, log_var = jnp.split(out, 2, axis=-1)
        return mean, jnp.clip(log_var, *ENCODER_LOGVAR_RANGE)

    def decode(self, z):
        return self.decoder(z)


def init_net(key, arch: Arch) -> dict:
    """Fresh network parameters for ``arch``."""
    x = jnp.zeros((1, arch.layout.n_features), jnp.float32)
    z = jnp.zeros((1, arch.latent_dim), jnp.float32)
    return VAENet(arch).init(key, x, z)["params"]


def encode(net: dict, arch: Arch, xs):
    """Posterior ``(mean, log_var)`` of standardised rows ``xs``."""
    return VAENet(arch).apply({"params": net}, xs, method=VAENet.encode)


def decode_raw(net: dict, arch: Arch, z):
    """Raw decoder output (..., n_features + n_continuous)."""
    return VAENet(arch).apply({"params": net}, z, method=VAENet.decode)


# ---------------------------------------------------------------------------------------------
# Heads
# ---------------------------------------------------------------------------------------------


def _cat_index(layout: Layout):
    """Padded column indices (n_blocks, width) and their validity mask, as constants."""
    w = layout.cat_width
    idx = [[a + j if a + j < b else a for j in range(w)] for a, b in layout.categorical]
    mask = [[a + j < b for j in range(w)] for a, b in layout.categorical]
    return jnp.asarray(idx, jnp.int32), jnp.asarray(mask, bool)


def _idx(cols) -> jax.Array:
    return jnp.asarray(cols, jnp.int32)


def gaussian_params(raw, layout: Layout):
    """Mean and floored log-variance of each continuous column (standardised units)."""
    d = layout.n_features
    mean = raw[..., _idx(layout.continuous)]
    log_var = DECODER_LOGVAR_MIN + jax.nn.softplus(raw[..., d:] - DECODER_LOGVAR_MIN)
    return mean, log_var


def cat_logits(raw, layout: Layout):
    """Padded logits (..., n_blocks, width) with padding at a large negative value."""
    idx, mask = _cat_index(layout)
    return jnp.where(mask, raw[..., idx], _MASKED)


def gaussian_log_lik(x, mean, log_var):
    """Elementwise log N(x | mean, exp(log_var))."""
    return -0.5 * (LOG_2PI + log_var + (x - mean) ** 2 * jnp.exp(-log_var))


def bernoulli_log_lik(x, logits):
    """Elementwise log Bernoulli(x | sigmoid(logits)), stable for any logit."""
    return x * logits - jax.nn.softplus(logits)


def categorical_log_lik(onehot, logits):
    """Per-block log softmax(logits)[observed class]; ``onehot`` and ``logits`` (..., B, W)."""
    return jnp.sum(onehot * jax.nn.log_softmax(logits, axis=-1), axis=-1)


def log_lik(xs, raw, layout: Layout):
    """log p(x | z) per row, summed over every block, in standardised units."""
    total = jnp.zeros(xs.shape[:-1], raw.dtype)
    if layout.continuous:
        mean, log_var = gaussian_params(raw, layout)
        total += gaussian_log_lik(xs[..., _idx(layout.continuous)], mean, log_var).sum(-1)
    if layout.binary:
        b = _idx(layout.binary)
        total += bernoulli_log_lik(xs[..., b], raw[..., b]).sum(-1)
    if layout.categorical:
        idx, mask = _cat_index(layout)
        onehot = jnp.where(mask, xs[..., idx], 0.0)
        total += categorical_log_lik(onehot, cat_logits(raw, layout)).sum(-1)
    return total


def head_values(key, raw, layout: Layout, mode: str):
    """Decoder outputs as a vectorised matrix (standardised units).

    ``mode``: ``"sample"`` draws every block from its distribution, ``"mode"`` takes the
    mean / the most probable class / ``p > 0.5``, ``"probs"`` gives the mean, the softmax
    probabilities and the Bernoulli probabilities.
    """
    n = raw.shape[0]
    out = jnp.zeros((n, layout.n_features), raw.dtype)
    k_cont, k_bin, k_cat = jax.random.split(key, 3)
    if layout.continuous:
        mean, log_var = gaussian_params(raw, layout)
        if mode == "sample":
            mean = mean + jnp.exp(0.5 * log_var) * jax.random.normal(k_cont, mean.shape, raw.dtype)
        out = out.at[:, _idx(layout.continuous)].set(mean)
    if layout.binary:
        logits = raw[:, _idx(layout.binary)]
        if mode == "sample":
            vals = jax.random.bernoulli(k_bin, jax.nn.sigmoid(logits)).astype(raw.dtype)
        elif mode == "mode":
            vals = (logits > 0).astype(raw.dtype)
        else:
            vals = jax.nn.sigmoid(logits)
        out = out.at[:, _idx(layout.binary)].set(vals)
    if layout.categorical:
        idx, mask = _cat_index(layout)
        logits = cat_logits(raw, layout)
        if mode == "probs":
            vals = jax.nn.softmax(logits, axis=-1)
        else:
            choice = (jax.random.categorical(k_cat, logits, axis=-1) if mode == "sample"
                      else jnp.argmax(logits, axis=-1))
            vals = jax.nn.one_hot(choice, layout.cat_width, dtype=raw.dtype)
        out = out.at[:, idx].add(jnp.where(mask, vals, 0.0))
    return out


# ---------------------------------------------------------------------------------------------
# Objective and scores
# ---------------------------------------------------------------------------------------------


def standardise(params: VAEParams, X):
    return (X - params.shift) / params.scale


def destandardise(params: VAEParams, xs):
    return xs * params.scale + params.shift


def log_jacobian(params: VAEParams):
    """log |d standardised / d x|, summed over the row: what turns densities into data units."""
    return -jnp.sum(jnp.log(params.scale))


def kl_standard_normal(mean, log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)) per row."""
    return 0.5 * jnp.sum(jnp.exp(log_var) + mean**2 - 1.0 - log_var, axis=-1)


def neg_elbo_terms(net, arch: Arch, xs, eps):
    """Reconstruction NLL (n,) and KL (n,) for standardised rows, one draw ``eps`` (n, latent)."""
    mean, log_var = encode(net, arch, xs)
    z = mean + jnp.exp(0.5 * log_var) * eps
    nll = -log_lik(xs, decode_raw(net, arch, z), arch.layout)
    return nll, kl_standard_normal(mean, log_var)


def row_keys(key, X):
    """One key per row, a hash of the row's bits: a row's draws never depend on its neighbours."""
    bits = jax.lax.bitcast_convert_type(X.astype(jnp.float32), jnp.uint32)
    h = jnp.sum(bits * _hash_weights(X.shape[-1]), axis=-1, dtype=jnp.uint32)
    return jax.vmap(lambda i: jax.random.fold_in(key, i))(h)


def _hash_weights(d: int):
    """Powers of an odd constant modulo 2**32 (a polynomial hash of the row's bits)."""
    w = np.ones(d, np.uint64)
    for j in range(1, d):
        w[j] = (w[j - 1] * np.uint64(0x9E3779B1)) % np.uint64(2**32)
    return jnp.asarray(w.astype(np.uint32))


def _posterior_draws(key, X, latent_dim: int):
    """``fn(i) -> (n, latent)``: the i-th standard normal draw of every row (row-seeded)."""
    keys = row_keys(key, X)
    return lambda i: jax.vmap(lambda kr: jax.random.normal(jax.random.fold_in(kr, i), (latent_dim,)))(keys)


def elbo_rows(params: VAEParams, X, *, arch: Arch, draws: int, key):
    """ELBO per row in data units, the reconstruction term averaged over ``draws`` draws."""
    xs = standardise(params, X)
    mean, log_var = encode(params.net, arch, xs)
    std = jnp.exp(0.5 * log_var)
    eps = _posterior_draws(key, X, arch.latent_dim)

    def one(i):
        return log_lik(xs, decode_raw(params.net, arch, mean + std * eps(i)), arch.layout)

    rec = jnp.mean(jax.lax.map(one, jnp.arange(draws)), axis=0)
    return rec - kl_standard_normal(mean, log_var) + log_jacobian(params)


def iw_log_prob_rows(params: VAEParams, X, *, arch: Arch, k: int, key):
    """Importance-weighted estimate of log p(x) per row with ``k`` draws from the posterior."""
    xs = standardise(params, X)
    mean, log_var = encode(params.net, arch, xs)
    std = jnp.exp(0.5 * log_var)
    eps = _posterior_draws(key, X, arch.latent_dim)

    def one(i):
        e = eps(i)
        z = mean + std * e
        log_px = log_lik(xs, decode_raw(params.net, arch, z), arch.layout)
        log_pz = -0.5 * jnp.sum(LOG_2PI + z**2, axis=-1)
        log_qz = -0.5 * jnp.sum(LOG_2PI + log_var + e**2, axis=-1)
        return log_px + log_pz - log_qz

    log_w = jax.lax.map(one, jnp.arange(k))
    return jax.scipy.special.logsumexp(log_w, axis=0) - math.log(k) + log_jacobian(params)


def reconstruction_nll_rows(params: VAEParams, X, *, arch: Arch):
    """-log p(x | z = posterior mean) per row, in data units."""
    xs = standardise(params, X)
    mean, _ = encode(params.net, arch, xs)
    return -(log_lik(xs, decode_raw(params.net, arch, mean), arch.layout) + log_jacobian(params))


def encode_rows(params: VAEParams, X, *, arch: Arch):
    """Posterior mean and log-variance side by side (n, 2 * latent)."""
    mean, log_var = encode(params.net, arch, standardise(params, X))
    return jnp.concatenate([mean, log_var], axis=-1)


def decode_rows(key, params: VAEParams, z, *, arch: Arch, mode: str):
    """Latent rows -> vectorised rows in data units (``mode`` as in :func:`head_values`)."""
    return destandardise(params, head_values(key, decode_raw(params.net, arch, z), arch.layout, mode))


def sample_rows(key, params: VAEParams, n: int, *, arch: Arch, mode: str):
    """``n`` rows from the prior through the decoder, in data units."""
    k_z, k_x = jax.random.split(key)
    z = jax.random.normal(k_z, (n, arch.latent_dim), jnp.float32)
    return decode_rows(k_x, params, z, arch=arch, mode=mode)
