"""Rejection sampler: nearest-record search speed, attribute enforcement, distance to real records.

Run: python benchmarks/bench_rejection.py [--quick]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from _machine import best_of, write_result

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def bench_search(quick: bool) -> dict:
    from synthgen.sampling.nearest import RecordIndex, min_distances_numpy

    r = np.random.default_rng(0)
    N, M, d = 12_000, 10_000, 16
    mu = r.normal(size=(N, d))
    sigma = np.exp(0.3 * r.normal(size=(N, d)))
    z = r.normal(size=(M, d))
    index = RecordIndex(mu, scales=sigma)
    index.query(z[:10])
    t_jax, got = best_of(lambda: index.query(z).distance)
    m_np = 1000 if quick else M
    t0 = time.perf_counter()
    ref = min_distances_numpy(z[:m_np], mu, sigma)
    t_np = (time.perf_counter() - t0) * M / m_np
    assert np.allclose(got[:m_np], ref, rtol=1e-4, atol=1e-4)
    rows = [{"N": N, "M": M, "d": d, "numpy_loop_s": t_np, "synthgen_s": t_jax, "speedup": t_np / t_jax,
             "numpy_loop_extrapolated_from": m_np}]
    print(f"nearest search N={N} M={M} d={d}: numpy loop {t_np:.2f} s, synthgen {t_jax:.4f} s, "
          f"{t_np / t_jax:.0f}x")
    scaling = []
    for n_rec in ([10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]):
        mu = r.normal(size=(n_rec, d))
        sigma = np.exp(0.3 * r.normal(size=(n_rec, d)))
        index = RecordIndex(mu, scales=sigma)
        q = r.normal(size=(20_000, d))
        index.query(q[:10])
        t, _ = best_of(lambda: index.query(q), repeat=2)
        scaling.append({"N": n_rec, "candidates": len(q), "seconds": t, "candidates_per_s": len(q) / t})
        print(f"  N={n_rec:>9,}: {len(q) / t:,.0f} candidates/s")
    return {"search": rows, "scaling": scaling}


def september_share(plates) -> float:
    from synthgen.vectorisers.ukreg_rules import is_valid, parse

    return float(np.mean([is_valid(p) and parse(p).age >= 50 for p in plates]))


def bench_require_ukreg(quick: bool) -> list[dict]:
    """latent_dim=2 and 16 VAEs on 10,000 plates; require age >= 50; share with the attribute."""
    import synthgen
    from synthgen.sampling import RejectionSampler
    from synthgen.vectorisers.ukreg_rules import is_valid

    plates = synthgen.datasets.load("ukreg", n=10_000, seed=0)
    n = 2000 if quick else 10_000
    rows = []
    for latent, beta in ((2, 0.5), (2, None), (16, 0.5)):
        t = time.perf_counter()
        extra = {} if beta is None else {"beta": beta}
        vae = synthgen.make("vae", latent_dim=latent, verbose=False, **extra).fit(plates, seed=0)
        fit_s = time.perf_counter() - t
        base = vae.sample(n, seed=1)
        for check in (False, True):
            rs = RejectionSampler(vae, require="age >= 50", check_output=check).fit(plates)
            t = time.perf_counter()
            out = rs.sample(n, seed=1)
            rows.append({
                "latent_dim": latent, "beta": vae.beta_, "check_output": check, "vae_fit_s": fit_s,
                "share_unfiltered": september_share(base), "share_filtered": september_share(out),
                "valid_filtered": float(np.mean([is_valid(p) for p in out])),
                "acceptance_rate": rs.acceptance_rate_, "sample_s": time.perf_counter() - t,
                "threshold": rs.threshold_,
            })
            r = rows[-1]
            print(f"ukreg latent_dim={latent} beta={vae.beta_} check_output={check}: age>=50 {r['share_unfiltered']:.1%} -> "
                  f"{r['share_filtered']:.2%}, acceptance {r['acceptance_rate']:.1%}, valid {r['valid_filtered']:.1%}")
    return rows


def load_adult_frame(n: int | None):
    import synthgen

    adult = synthgen.datasets.load("adult")
    return adult.sample(n, random_state=0).reset_index(drop=True) if n else adult


def bench_avoid(quick: bool) -> list[dict]:
    """Distance to closest record of samples, unfiltered vs avoid, against a real holdout."""
    import synthgen
    from synthgen.sampling import RejectionSampler
    from synthgen.sampling.nearest import nearest_records

    frames = {"creditcard": synthgen.datasets.load("creditcard").drop(columns=["Time"]),
              "adult": load_adult_frame(3000 if quick else 8000)}
    models = {"gaussian": {}, "gmm": {"n_components": 10}, "kde": {}, "vae": {"verbose": False}}
    rows = []
    for name, df in frames.items():
        cut = int(0.8 * len(df))
        train, holdout = df.iloc[:cut].reset_index(drop=True), df.iloc[cut:].reset_index(drop=True)
        n = min(2000, len(holdout) * 4)
        for model, params in models.items():
            gen = synthgen.make(model, **params).fit(train, seed=0)
            plain = gen.sample(n, seed=1)
            rs = RejectionSampler(gen, alpha=0.05).fit(train)
            t = time.perf_counter()
            kept = rs.sample(n, seed=1)
            seconds = time.perf_counter() - t
            space = rs.space_
            own = None
            if space.kind == "data":  # by brute force in the sampler's own metric
                M = gen.vectoriser_.transform(kept)
                own = nearest_records(M @ space.whiten, space.records @ space.whiten, scales=space.scales).distance
            entry = {"dataset": name, "model": model, "space": space.kind, "acceptance_rate": rs.acceptance_rate_,
                     "sample_s": seconds, "threshold": rs.threshold_}
            for label, rows_ in (("unfiltered", plain), ("avoid", kept)):
                priv = synthgen.evaluate(train, rows_, holdout=holdout).to_dict()["privacy"]
                entry[f"dcr_{label}"] = priv["dcr"]["synthetic"]
                entry[f"copies_{label}"] = priv["exact_copies"]["synthetic"]
                entry["dcr_holdout"] = priv["dcr"]["baseline"]
            entry["min_own_distance_over_threshold"] = None if own is None else float(own.min() / rs.threshold_)
            rows.append(entry)
            print(f"{name:>10} {model:>8}: DCR median {entry['dcr_unfiltered']['median']:.3f} -> "
                  f"{entry['dcr_avoid']['median']:.3f} (p05 {entry['dcr_unfiltered']['p05']:.3f} -> "
                  f"{entry['dcr_avoid']['p05']:.3f}; holdout median {entry['dcr_holdout']['median']:.3f}, "
                  f"p05 {entry['dcr_holdout']['p05']:.3f}); acceptance {entry['acceptance_rate']:.1%}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    out = {"command": "python benchmarks/bench_rejection.py" + (" --quick" if args.quick else "")}
    out.update(bench_search(args.quick))
    out["require_ukreg"] = bench_require_ukreg(args.quick)
    out["avoid"] = bench_avoid(args.quick)
    path = write_result("rejection", out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
