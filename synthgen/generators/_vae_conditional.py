"""Conditional sampling of a VAE by self-normalised importance resampling in latent space.

Latent points are drawn from the model's prior (the learned one, or N(0, I)), each weighted
by the decoder's likelihood of the evidence (a Gaussian density for a fixed number, its probability of the interval for a range,
Bernoulli and softmax probabilities for flags and one-hot groups); ``n`` of them are resampled
in proportion to the weights and decoded, the evidence written into the fixed features and the
ranged ones drawn from the decoder's Gaussian truncated to their interval.  The effective sample
size ``(sum w)^2 / sum w^2`` says how many distinct prior points carry the result; below
:data:`MIN_ESS` the resampled rows would repeat too few points, and conditional sampling falls
back to rejection (which raises ``SamplingError`` if it cannot reach the quota).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from . import _vae_nets as nets
from . import _vae_prior as latent_prior
from ._conditional import _pick, truncated_standard_normal

#: smallest effective sample size accepted
MIN_ESS = 50.0
#: prior draws per requested row (at least MIN_PROPOSALS, at most MAX_PROPOSALS)
PROPOSALS_PER_ROW = 8
MIN_PROPOSALS = 1 << 14
MAX_PROPOSALS = 1 << 18


@partial(jax.jit, static_argnames=("arch",))
def _evidence_log_lik(net, arch: nets.Arch, z, xs, fixed_mask, cont_lo, cont_hi):
    """log p(evidence | z) per latent row: ``xs`` (d,) standardised evidence values,
    ``fixed_mask`` (d,) which features are fixed, ``cont_lo/hi`` (n_cont,) standardised intervals
    of the continuous features (-inf/inf where free or fixed)."""
    layout = arch.layout
    raw = nets.decode_raw(net, arch, z)
    total = jnp.zeros(z.shape[0], raw.dtype)
    if layout.continuous:
        cont = jnp.asarray(layout.continuous, jnp.int32)
        mean, log_var = nets.gaussian_params(raw, layout)
        dens = nets.gaussian_log_lik(xs[cont], mean, log_var)
        total += jnp.sum(jnp.where(fixed_mask[cont], dens, 0.0), axis=-1)
        sd = jnp.exp(0.5 * log_var)
        a, b = (cont_lo - mean) / sd, (cont_hi - mean) / sd
        ranged = jnp.isfinite(cont_lo) | jnp.isfinite(cont_hi)
        mass = jax.scipy.special.ndtr(b) - jax.scipy.special.ndtr(a)
        total += jnp.sum(jnp.where(ranged, jnp.log(jnp.maximum(mass, 1e-30)), 0.0), axis=-1)
    if layout.binary:
        bi = jnp.asarray(layout.binary, jnp.int32)
        ll = nets.bernoulli_log_lik(xs[bi], raw[:, bi])
        total += jnp.sum(jnp.where(fixed_mask[bi], ll, 0.0), axis=-1)
    if layout.categorical:
        idx, mask = nets._cat_index(layout)
        onehot = jnp.where(mask, xs[idx], 0.0)
        ll = nets.categorical_log_lik(onehot[None], nets.cat_logits(raw, layout))
        observed = fixed_mask[idx[:, 0]]
        total += jnp.sum(jnp.where(observed, ll, 0.0), axis=-1)
    return total


@partial(jax.jit, static_argnames=("arch",))
def _decoder_gaussians(net, arch: nets.Arch, z):
    return nets.gaussian_params(nets.decode_raw(net, arch, z), arch.layout)


def condition_vae(key, gen, evidence, n: int):
    """Rows (float32) and a summary, or None when the effective sample size is below MIN_ESS
    (or the evidence differs per row)."""
    if evidence.n_rows != 1:
        return None
    params, arch = gen.params_, gen.arch_
    layout = arch.layout
    shift = np.asarray(params.shift, np.float64)
    scale = np.asarray(params.scale, np.float64)
    d = layout.n_features
    xs = np.zeros(d)
    fixed_mask = np.zeros(d, bool)
    xs[evidence.fixed] = (evidence.values[0] - shift[evidence.fixed]) / scale[evidence.fixed]
    fixed_mask[evidence.fixed] = True
    cont = np.asarray(layout.continuous, np.int64)
    lo, hi = np.full(d, -np.inf), np.full(d, np.inf)
    lo[evidence.ranged] = (evidence.lower[0] - shift[evidence.ranged]) / scale[evidence.ranged]
    hi[evidence.ranged] = (evidence.upper[0] - shift[evidence.ranged]) / scale[evidence.ranged]
    m = int(min(MAX_PROPOSALS, max(MIN_PROPOSALS, PROPOSALS_PER_ROW * n)))
    k_z, k_pick, k_dec, k_tn = jax.random.split(key, 4)
    prior = getattr(gen, "prior_", None)
    z = latent_prior.latent_draws(k_z, None if prior is None else latent_prior.as_jax(prior),
                                  m, arch.latent_dim)
    log_w = np.asarray(_evidence_log_lik(params.net, arch, z, jnp.asarray(xs, jnp.float32),
                                         jnp.asarray(fixed_mask), jnp.asarray(lo[cont], jnp.float32),
                                         jnp.asarray(hi[cont], jnp.float32)), np.float64)
    w = np.exp(log_w - log_w.max())
    ess = float(w.sum() ** 2 / np.sum(w * w))
    gen._condition_note_ = (f"importance resampling in latent space had an effective sample "
                            f"size of {ess:.1f} from {m} prior draws (at least {MIN_ESS:g} needed)")
    if not np.isfinite(ess) or ess < MIN_ESS:
        return None
    u = np.asarray(jax.random.uniform(k_pick, (n,)), np.float64)
    chosen = z[jnp.asarray(_pick(log_w[None], u))]
    rows = np.array(nets.decode_rows(k_dec, params, chosen, arch=arch, mode=gen._mode()),
                    np.float64)
    rows[:, evidence.fixed] = evidence.values[0]
    if evidence.ranged.size:
        mean, log_var = (np.asarray(a, np.float64) for a in _decoder_gaussians(params.net, arch, chosen))
        pos = {int(j): i for i, j in enumerate(cont)}
        ut = np.asarray(jax.random.uniform(k_tn, (n, evidence.ranged.size)), np.float64)
        for c, j in enumerate(evidence.ranged):
            mu, sd = mean[:, pos[int(j)]], np.exp(0.5 * log_var[:, pos[int(j)]])
            t = truncated_standard_normal(ut[:, c], (lo[j] - mu) / sd, (hi[j] - mu) / sd)
            x = (mu + sd * t) * scale[j] + shift[j]
            rows[:, j] = np.clip(x, evidence.lower[0, c], evidence.upper[0, c])
    info = {"method": "importance resampling in latent space", "effective_sample_size": ess,
            "proposals": m}
    return rows.astype(np.float32), info
