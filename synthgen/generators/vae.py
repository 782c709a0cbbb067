"""The variational autoencoder generator (flax + optax), with one likelihood per data block.

An encoder MLP maps a vectorised row to a diagonal Gaussian posterior over ``latent_dim``
variables; a decoder MLP maps a latent point back to the parameters of every block the
vectoriser describes: a Gaussian (mean and log-variance) per continuous feature, a softmax
per categorical block, a Bernoulli per binary flag.  Training maximises the ELBO (its KL
term weighted by ``beta``) with Adam on mini-batches, each epoch one jitted ``lax.scan``;
a validation split drives early stopping and the best weights are kept.  New rows decode
draws from the prior: by default a Gaussian mixture fitted to the training rows' latent codes
after training (``prior="learned"``, see ``_vae_prior``), or N(0, I) (``prior="standard"``).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._params import AnyOf, Bool, Check, Choice, Float, Int, Optional, Param
from ..base import Generator
from ..dp.params import PRIVACY_PARAMS, check_privacy
from ..errors import InvalidDataError, ModelFileError
from ..random import BLOCK_ROWS, block_keys
from . import _vae_nets as nets
from . import _vae_prior as latent_prior
from ._vae_train import train

#: Posterior draws behind each row's ELBO.  Draws are seeded by the row's own values, so a
#: row's score never depends on the rows scored with it.
ELBO_DRAWS = 16
_SCORE_SEED = 20240611
_PRIOR_STREAM = 0x7072  # the fit key's stream for the learned prior's codes and EM
DECODE_CHUNK = 8192
_HIDDEN_MIN, _HIDDEN_MAX = 64, 256


def _check_hidden(v):
    if isinstance(v, str):
        if v == "auto":
            return v
        raise ValueError
    if not isinstance(v, (list, tuple)) or not v:
        raise TypeError
    return tuple(Int(1).check(w) for w in v)


def auto_hidden(n_features: int) -> tuple[int, int]:
    """Two hidden layers of a power-of-two width near twice the input, within [64, 256]."""
    width = 1 << max(0, (2 * n_features - 1).bit_length())
    width = int(min(_HIDDEN_MAX, max(_HIDDEN_MIN, width)))
    return (width, width)


def standardisation(X: np.ndarray, layout: nets.Layout) -> tuple[np.ndarray, np.ndarray]:
    """Shift and scale that standardise each continuous column (identity elsewhere)."""
    shift = np.zeros(layout.n_features, np.float32)
    scale = np.ones(layout.n_features, np.float32)
    cont = list(layout.continuous)
    if cont:
        Xc = np.asarray(X, np.float64)[:, cont]
        sd = Xc.std(axis=0)
        shift[cont] = Xc.mean(axis=0)
        scale[cont] = np.where(sd > 0, sd, 1.0)
    return shift, scale


_elbo = jax.jit(nets.elbo_rows, static_argnames=("arch", "draws"))
_iw = jax.jit(nets.iw_log_prob_rows, static_argnames=("arch", "k"))
_recon = jax.jit(nets.reconstruction_nll_rows, static_argnames=("arch",))
_encode = jax.jit(nets.encode_rows, static_argnames=("arch",))
_decode = jax.jit(nets.decode_rows, static_argnames=("arch", "mode"))


_elbo_prior = jax.jit(latent_prior.elbo_rows, static_argnames=("arch", "draws"))
_iw_prior = jax.jit(latent_prior.iw_log_prob_rows, static_argnames=("arch", "k"))


@partial(jax.jit, static_argnames=("n_blocks", "arch", "mode"))
def _sample_block_range(key, first_block, params, prior=None, *, n_blocks: int, arch: nets.Arch,
                        mode: str):
    """Rows of blocks ``first_block ..`` at once, block ``b`` drawn with ``fold_in(key, b)``."""
    keys = block_keys(key, first_block, n_blocks)
    return jax.vmap(lambda k: latent_prior.sample_rows(k, params, prior, BLOCK_ROWS, arch=arch,
                                                       mode=mode))(keys)


def _is_number(series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype)


def discrete_columns(frame, levels: int) -> dict:
    """Column -> ``"categorical"`` for the numeric columns of ``frame`` with at most ``levels``
    distinct values (ages, counts, hours, amounts that are mostly zero).

    A decoder's Gaussian cannot put mass on exact values, so a column with a spike (capital gain
    is 0 in 92% of Adult's rows) or with integer values comes back smeared; as categories of
    their values the rows carry only values that occur, at their frequencies.
    """
    out = {}
    for col in frame.columns:
        if _is_number(frame[col]) and frame[col].nunique(dropna=True) <= levels:
            out[col] = "categorical"
    return out


def numbers_as_categories(vec) -> bool:
    """Whether a table vectoriser holds a numeric column as categories of its values."""
    from ..vectorisers._evidence import _category_numbers

    return any(_category_numbers(c) is not None for c in getattr(vec, "codecs_", ()))


def auto_beta(blocks, numbers_as_categories: bool = False) -> float:
    """The KL weight ``beta="auto"`` picks.

    Tables get 1.5: the codes of the training rows then cover the prior without holes, so prior
    draws decode to realistic rows (chosen on SDMetrics' quality score).  Data made only of
    categorical blocks (a string per row, such as a registration) gets 0.5: its characters are
    largely independent, and a heavier KL term lets the model ignore the latent space, which
    leaves nothing for the rejection sampler's ``require`` to work with (at ``latent_dim=2`` on
    registrations: 99.8% of samples with the required age identifier at 0.5, 64% at 1.5).
    A table whose numbers are held as categories of their values (``discrete_levels``) is still
    a table: 1.5.
    """
    if numbers_as_categories:
        return 1.5
    return 0.5 if blocks and all(b.kind == "categorical" for b in blocks) else 1.5


class VAEGenerator(Generator):
    """Variational autoencoder with block-wise likelihoods; see ``docs/generators/vae.md``."""

    name = "vae"
    hyperparameters = {
        "latent_dim": Param(16, Int(1), "size of the latent space (2 for plots)"),
        "hidden": Param("auto", Check(_check_hidden, "'auto' or a non-empty list of positive ints"),
                        "hidden layer widths of the encoder (the decoder mirrors them)"),
        "epochs": Param(300, Int(1), "most passes over the training rows"),
        "batch_size": Param("auto", AnyOf(Choice("auto"), Int(1), desc="'auto' or a positive int"),
                            "rows per gradient step; 'auto': n_train / 16 within [16, 256]"),
        "learning_rate": Param(2e-3, Float(0, low_open=True), "Adam's initial step size (cosine decay)"),
        "beta": Param("auto", AnyOf(Choice("auto"), Float(0, low_open=True), desc="'auto' or a positive number"),
                      "weight of the KL term (1: the plain ELBO); 'auto': 0.5 when every block is "
                      "categorical (strings such as registrations), else 1.5"),
        "kl_warmup": Param(10, Int(0), "epochs over which the KL weight rises from 0 to beta"),
        "validation_fraction": Param(0.1, Float(0, 0.5, high_open=True),
                                     "share of rows held out for early stopping (0: none)"),
        "patience": Param(25, Optional(Int(1)), "epochs without a better validation loss before stopping"),
        "sample_mode": Param("sample", Choice("sample", "mode"),
                             "draw each block from its distribution, or take its most likely value"),
        "n_importance": Param(0, Int(0), "score_samples: 0 for the ELBO, k > 0 for an "
                              "importance-weighted log p(x) with k draws"),
        "verbose": Param(True, Bool(), "show a progress bar on stderr while fitting"),
        "prior": Param("learned", Choice("learned", "standard"),
                       "latent draws for new rows: 'learned', a Gaussian mixture fitted to the "
                       "training rows' codes after training; 'standard', N(0, I)"),
        "prior_components": Param(32, Int(1), "components of the learned prior's mixture "
                                  "(at most one per 10 training rows)"),
        "discrete_levels": Param(128, Int(0), "a mixed-type table's numeric columns with at most "
                                 "this many distinct values are modelled as categories of their "
                                 "values, and its other numbers are quantile-scaled (0: the table "
                                 "vectoriser's defaults); only when the vectoriser is chosen "
                                 "automatically"),
        **PRIVACY_PARAMS,
        "clip_norm": Param(1.0, Float(0, low_open=True),
                           "private fits (DP-SGD): L2 bound of each row's gradient"),
        "private_epochs": Param(20, Int(1), "private fits (DP-SGD): passes over the rows, in "
                                "Poisson-sampled steps of batch_size rows on average"),
    }

    def _make_vectoriser(self, spec, data):
        vec = super()._make_vectoriser(spec, data)
        levels = self.discrete_levels
        from ..vectorisers.table import TableVectoriser

        if spec is not None or not levels or type(vec) is not TableVectoriser:
            return vec
        from ..vectorisers._columns import DEFAULT_MAX_CATEGORIES

        # Categories of numbers are never pooled: with text columns that the default cap would
        # pool, keep that cap and turn only columns under it into categories.
        kinds = discrete_columns(data, levels)
        texts = [c for c in data.columns if c not in kinds and not _is_number(data[c])]
        widest = max((data[c].nunique(dropna=True) for c in texts), default=0)
        if widest <= DEFAULT_MAX_CATEGORIES:
            return TableVectoriser(kinds=kinds, continuous="quantile", max_categories=None)
        kinds = discrete_columns(data, min(levels, DEFAULT_MAX_CATEGORIES - 1))
        return TableVectoriser(kinds=kinds, continuous="quantile")

    # -- fitting --------------------------------------------------------------------------------
    def _plan_private(self, ledger, share, hp, n_rows=None, n_columns=None):
        from ._vae_dp import plan_vae

        check_privacy(hp)
        plan_vae(ledger, share, hp, n_rows)
        ledger.notes["vae_prior"] = ("N(0, I), fixed in advance: the learned prior would read the "
                                     "training rows' codes outside the budget")
        ledger.notes["vae_training"] = ("DP-SGD for private_epochs epochs; no validation split, "
                                        "early stopping or recorded loss")

    def _fit(self, key, X, hp: dict[str, Any]):
        check_privacy(hp)
        private = hp["epsilon"] is not None
        layout = nets.layout_from_blocks(self.vectoriser_.blocks_)
        hidden = auto_hidden(layout.n_features) if hp["hidden"] == "auto" else hp["hidden"]
        self.arch_ = nets.Arch(layout, tuple(hidden), hp["latent_dim"])
        if private:
            from ._vae_dp import RELEASE, private_standardisation, train_private

            shift, scale = private_standardisation(self._private_fit_, layout)
        else:
            shift, scale = standardisation(np.asarray(X), layout)
        xs = (np.asarray(X, np.float32) - shift) / scale  # numpy: no program per row count
        self.beta_ = (auto_beta(self.vectoriser_.blocks_, numbers_as_categories(self.vectoriser_))
                      if hp["beta"] == "auto" else float(hp["beta"]))
        if private:
            result = train_private(key, xs, self.arch_, {**hp, "beta": self.beta_},
                                   self._private_fit_.ledger.get(RELEASE))
        else:
            result = train(key, xs, self.arch_, {**hp, "beta": self.beta_})
        self.history_ = {"train_loss": result.train_loss, "val_loss": result.val_loss}
        self.best_epoch_ = int(result.best_epoch)
        self.n_epochs_ = int(result.n_epochs)
        params = nets.VAEParams(result.net, jnp.asarray(shift), jnp.asarray(scale))
        self.prior_ = None
        if hp["prior"] == "learned" and not private:
            self.prior_ = latent_prior.fit_prior(jax.random.fold_in(key, _PRIOR_STREAM), params, np.asarray(X),
                                                 self.arch_, n_components=hp["prior_components"])
        return params

    def training_summary(self) -> dict[str, Any]:
        out = super().training_summary()
        val = self.history_["val_loss"]
        out.update(
            epochs_run=self.n_epochs_,
            best_epoch=self.best_epoch_ + 1,
            final_train_loss=(None if np.isnan(self.history_["train_loss"][-1])
                              else float(self.history_["train_loss"][-1])),
            best_val_loss=None if np.isnan(val).all() else float(val[self.best_epoch_]),
            hidden=list(self.arch_.hidden),
            latent_dim=self.arch_.latent_dim,
            prior="standard" if self.prior_ is None else "learned",
            prior_components=0 if self.prior_ is None else int(self.prior_.means.shape[0]),
        )
        return out

    # -- sampling -------------------------------------------------------------------------------
    def _mode(self) -> str:
        return self.param_table()["sample_mode"].rule("sample_mode", self.sample_mode)

    def _sampler(self):
        if self.prior_ is None:
            return partial(nets.sample_rows, arch=self.arch_, mode=self._mode())
        prior = latent_prior.as_jax(self.prior_)
        return lambda key, params, n: latent_prior.sample_rows(key, params, prior, n, arch=self.arch_,
                                                               mode=self._mode())

    def _sample_block_range(self, key, first_block: int, n_blocks: int):
        return _sample_block_range(key, first_block, self.params_, self.prior_, n_blocks=n_blocks,
                                   arch=self.arch_, mode=self._mode())

    #: ranges conditioned on by importance weights: any number
    _condition_ranges = math.inf

    def _condition_fn(self, key, evidence, n):
        """Self-normalised importance resampling in latent space (``_vae_conditional.py``)."""
        from ._vae_conditional import condition_vae

        return condition_vae(key, self, evidence, n)

    # -- scoring --------------------------------------------------------------------------------
    def score_samples(self, data, *, n_importance: int | None = None) -> np.ndarray:
        """Log density of each row (higher is more typical), in the data's units.

        The density is that of the model ``sample`` draws from: ``p(x) = int p(z) p(x | z) dz``
        with the fitted prior ``p(z)`` (the learned mixture, or N(0, I)).  With
        ``n_importance`` 0 (the default unless the hyperparameter says otherwise) the score is
        the ELBO, a lower bound on log p(x); with ``k > 0`` it is the importance-weighted
        estimate ``log mean_k p(x, z_k) / q(z_k | x)``, tighter as k grows.
        """
        k = self._n_importance(n_importance)
        X = self._transform_for_scoring(data)
        key = jax.random.PRNGKey(_SCORE_SEED)
        if self.prior_ is not None:
            if k == 0:
                return self._apply_rows("elbo_prior", _elbo_prior, X, draws=ELBO_DRAWS, key=key,
                                        prior=latent_prior.as_jax(self.prior_))
            return self._apply_rows(f"iw{k}_prior", _iw_prior, X, k=k, key=key,
                                    prior=latent_prior.as_jax(self.prior_))
        if k == 0:
            return self._apply_rows("elbo", _elbo, X, draws=ELBO_DRAWS, key=key)
        return self._apply_rows(f"iw{k}", _iw, X, k=k, key=key)

    def reconstruction_error(self, data) -> np.ndarray:
        """Per row, -log p(x | z) at the encoder's mean z: high for rows the model cannot rebuild."""
        X = self._transform_for_scoring(data)
        return self._apply_rows("recon", _recon, X)

    def _apply_rows(self, name: str, fn, X: np.ndarray, **bound) -> np.ndarray:
        """Row-wise ``fn`` in padded chunks; compiled once per architecture and chunk size."""
        cache = self.__dict__.setdefault("_jit_cache", {})
        cache.setdefault(name, partial(fn, arch=self.arch_, **bound))
        return self._chunked(name, cache[name], X)

    def _n_importance(self, n_importance) -> int:
        value = self.n_importance if n_importance is None else n_importance
        return self.param_table()["n_importance"].rule("n_importance", value)

    # -- latent space ---------------------------------------------------------------------------
    def encode(self, data) -> tuple[np.ndarray, np.ndarray]:
        """Posterior ``(mean, log_var)`` of each row, each ``(n, latent_dim)``."""
        X = self._transform_for_scoring(data)
        out = self._apply_rows("encode", _encode, X)
        return out[:, : self.arch_.latent_dim], out[:, self.arch_.latent_dim:]

    @property
    def latent_dim_(self) -> int:
        """Size of the fitted latent space."""
        self._check_fitted()
        return self.arch_.latent_dim

    def decode_matrix(self, z, *, mode: str | None = None, key=None, seed: int | None = None) -> np.ndarray:
        """Latent points -> vectorised rows (one-hot rows for categorical blocks).

        ``mode`` ``"sample"`` draws every block from its distribution (with the JAX ``key``,
        else ``seed``, else the generator's own sequence); ``"mode"`` takes each block's most
        likely value; ``"probs"`` gives each block's parameters (the Gaussian mean, the softmax
        probabilities, the Bernoulli probability).  ``None`` follows ``sample_mode``.
        """
        mode = Choice("probs", "mode", "sample")("mode", self._mode() if mode is None else mode)
        Z = self._check_latent(z)
        fn = partial(_decode, arch=self.arch_, mode=mode)
        if mode != "sample":
            key = jax.random.PRNGKey(0)
        elif key is None:
            key = self._next_key(seed)
        out = []
        for i, start in enumerate(range(0, len(Z), DECODE_CHUNK)):
            part = jnp.asarray(Z[start:start + DECODE_CHUNK])
            out.append(np.asarray(fn(jax.random.fold_in(jnp.asarray(key), i), self.params_, part)))
        return np.concatenate(out)

    def decode(self, z, *, mode: str = "mode", key=None, seed: int | None = None):
        """Latent points -> rows in the form ``fit`` was given (each block's most likely value by default)."""
        mode = Choice("mode", "sample")("mode", mode)
        return self.vectoriser_.inverse_transform(self.decode_matrix(z, mode=mode, key=key, seed=seed))

    def reconstruct(self, data):
        """Encode each row to its posterior mean and decode its most likely value."""
        mean, _ = self.encode(data)
        return self.decode(mean, mode="mode")

    def _check_latent(self, z) -> np.ndarray:
        self._check_fitted()
        Z = np.asarray(z, dtype=np.float32)
        if Z.ndim != 2 or Z.shape[1] != self.arch_.latent_dim or len(Z) == 0:
            raise InvalidDataError(
                f"z must be a non-empty (n, {self.arch_.latent_dim}) array of latent points; "
                f"got shape {Z.shape}"
            )
        if not np.isfinite(Z).all():
            raise InvalidDataError("z has NaN or infinite values")
        return Z

    # -- persistence ----------------------------------------------------------------------------
    def _extra_state(self) -> dict[str, Any]:
        lay = self.arch_.layout
        return {
            "layout": {
                "n_features": lay.n_features,
                "continuous": list(lay.continuous),
                "binary": list(lay.binary),
                "categorical": [list(ab) for ab in lay.categorical],
            },
            "hidden": list(self.arch_.hidden),
            "latent_dim": self.arch_.latent_dim,
            "history": {k: np.asarray(v) for k, v in self.history_.items()},
            "best_epoch": self.best_epoch_,
            "n_epochs": self.n_epochs_,
            "beta": self.beta_,
            **({} if self.prior_ is None else {"prior": self.prior_}),
        }

    def _set_extra_state(self, extra: dict[str, Any]) -> None:
        lay = extra["layout"]
        layout = nets.Layout(
            int(lay["n_features"]), tuple(int(i) for i in lay["continuous"]),
            tuple(int(i) for i in lay["binary"]),
            tuple((int(a), int(b)) for a, b in lay["categorical"]),
        )
        self.arch_ = nets.Arch(layout, tuple(int(h) for h in extra["hidden"]), int(extra["latent_dim"]))
        self.history_ = {k: np.asarray(v) for k, v in extra["history"].items()}
        self.best_epoch_ = int(extra["best_epoch"])
        self.n_epochs_ = int(extra["n_epochs"])
        self.beta_ = float(extra.get("beta", 1.5))
        # files written before the learned prior have none: N(0, I); synthgen.loading checks it
        self.prior_ = extra.get("prior")

    @classmethod
    def _from_file(cls, config: dict, trees: dict) -> "VAEGenerator":
        obj = super()._from_file(config, trees)
        if nets.layout_from_blocks(obj.vectoriser_.blocks_) != obj.arch_.layout:
            raise ModelFileError("the model file's network layout does not match its vectoriser")
        return obj
