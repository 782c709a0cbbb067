"""Rebuild ``vae_ukreg_latent2.sgm``: the documented September-plates recipe, fitted once.

    python tests/data/make_september_vae.py

10,000 registrations from ``synthgen.datasets.load("ukreg", n=10_000, seed=0)``, a VAE with
``latent_dim=2`` and otherwise default training, fitted with seed 0.  The test suite loads
the file instead of spending minutes on the fit; the slow test refits it from scratch.
"""

from __future__ import annotations

from pathlib import Path

import synthgen

HERE = Path(__file__).resolve().parent
RECIPE = {"latent_dim": 2}
N_PLATES, DATA_SEED, FIT_SEED = 10_000, 0, 0


def fit_recipe():
    plates = synthgen.datasets.load("ukreg", n=N_PLATES, seed=DATA_SEED)
    return synthgen.make("vae", verbose=False, **RECIPE).fit(plates, seed=FIT_SEED), plates


if __name__ == "__main__":
    vae, _ = fit_recipe()
    vae.save(HERE / "vae_ukreg_latent2.sgm")
    print(vae.training_summary())
