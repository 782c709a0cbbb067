"""Rejection sampler: nearest-record search speed, attribute enforcement, distance to real records.

Run: python benchmarks/bench_rejection.py [--quick]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _machine import write_result

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    out = {"command": "python benchmarks/bench_rejection.py" + (" --quick" if args.quick else "")}
    out.update(bench_search(args.quick))
    path = write_result("rejection", out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
