"""The VAE on UK registrations (reconstruction, validity, novelty) and on the default card data.

Registrations: ``datasets.load("ukreg", n=12000, seed=0)``, the first 10,000 for training
and the next 1,000 held out.  For each latent size the table gives the held-out
reconstruction accuracy (per character and per whole mark), the share of 10,000 prior
samples that are valid marks (``ukreg_rules.valid_mask``) as sampled and after strict
decoding, and the share not in the training set.  The registration recipe is
``beta=0.1, hidden=[512], epochs=40``: the characters are independent and uniform, so with
the plain ELBO a code that rebuilds them costs exactly as much KL as it saves in
reconstruction, and the optimum is free to ignore the latent space; a smaller KL weight
makes the code pay.  One wide hidden layer generalises to unseen marks sooner than two.

Card data: the default VAE fitted on the embedded credit card table (1,722 x 30 after its
vectoriser) and 10,000 rows sampled, as ``synthgen sample --model vae --n 10000`` does,
timed in a fresh process (compilation included), beside the Gaussian generator.

Run: python benchmarks/bench_vae.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

from _machine import write_result

REG_PARAMS = {"beta": 0.1, "epochs": 40, "hidden": [512]}


def registrations(latent_dim: int, seed: int) -> dict:
    import synthgen
    from synthgen.vectorisers import ukreg_rules as rules

    plates = synthgen.datasets.load("ukreg", n=12000, seed=0)
    train, test = plates[:10000], plates[10000:11000]
    gen = synthgen.make("vae", latent_dim=latent_dim, verbose=False, **REG_PARAMS)
    t = time.perf_counter()
    gen.fit(train, seed=seed)
    fit_s = time.perf_counter() - t
    back = gen.reconstruct(test)
    chars = np.array([list(a) == list(b) for a, b in zip(back, test)])
    per_char = np.mean([x == y for a, b in zip(back, test) for x, y in zip(a, b)])
    t = time.perf_counter()
    M = gen.sample_matrix(10000, seed=seed + 1)
    sample_s = time.perf_counter() - t
    loose = gen.vectoriser_.inverse_transform(M, strict=False)
    strict = gen.vectoriser_.inverse_transform(M, strict=True)
    seen = set(train)
    return {
        "latent_dim": latent_dim, **REG_PARAMS, "seed": seed, "fit_s": fit_s, "sample_s": sample_s,
        "epochs_run": gen.n_epochs_, "char_accuracy": float(per_char),
        "plate_accuracy": float(chars.mean()),
        "valid": float(rules.valid_mask(loose).mean()),
        "valid_strict": float(rules.valid_mask(strict).mean()),
        "novel": float(np.mean([p not in seen for p in loose])),
    }


def cli_like(model: str) -> dict:
    """Fit on the embedded card data and sample 10,000 rows, in a fresh process."""
    code = f"""
import time, json
t0 = time.perf_counter()
import synthgen
data = synthgen.datasets.load("creditcard")
params = {{"verbose": False}} if "{model}" == "vae" else {{}}
gen = synthgen.make("{model}", **params)
t = time.perf_counter(); gen.fit(data, seed=0); fit = time.perf_counter() - t
t = time.perf_counter(); rows = gen.sample(10000, seed=1); sample = time.perf_counter() - t
print(json.dumps({{"fit_s": fit, "sample_s": sample, "total_s": time.perf_counter() - t0,
                  "rows": len(rows), "epochs_run": getattr(gen, "n_epochs_", None)}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {"model": model, **json.loads(out.stdout.strip().splitlines()[-1])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="latent size 16 only")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    regs = []
    print("registrations (10,000 train, 1,000 held out, 10,000 prior samples)")
    print(f"{'latent':>6} {'fit s':>7} {'epochs':>6} {'char acc':>9} {'plate acc':>9} "
          f"{'valid':>7} {'strict':>7} {'novel':>7}")
    for latent in (16,) if args.quick else (16, 8, 2):
        r = registrations(latent, args.seed)
        regs.append(r)
        print(f"{latent:>6} {r['fit_s']:>7.1f} {r['epochs_run']:>6} {r['char_accuracy']:>9.4f} "
              f"{r['plate_accuracy']:>9.4f} {r['valid']:>7.4f} {r['valid_strict']:>7.4f} "
              f"{r['novel']:>7.4f}", flush=True)
    print("\ncredit card default data: fit + sample 10,000 rows in a fresh process")
    cards = [cli_like("vae"), cli_like("gaussian")]
    for c in cards:
        print(f"  {c['model']:9s} fit {c['fit_s']:6.1f}s  sample {c['sample_s']:5.2f}s  "
              f"process total {c['total_s']:6.1f}s", flush=True)
    path = write_result("vae", {
        "benchmark": "VAE: UK registrations and the default credit card data",
        "command": "python benchmarks/bench_vae.py" + (" --quick" if args.quick else ""),
        "registrations": regs,
        "creditcard_cli_like": cards,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
