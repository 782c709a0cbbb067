"""Sampling speed of the fitted circuit on Adult, stratified and independent, beside SDV.

    python benchmarks/bench_circuit_sampling.py

The circuit (defaults) and SDV's GaussianCopulaSynthesizer are fitted once on all 32,561 rows
of the embedded Adult table; then each samples 32,561 rows as a DataFrame, best of 3 after a
warm-up call of the same size (the circuit's first call compiles its sampler).  Writes
``benchmarks/results/circuit_sampling.json``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import best_of, write_result  # noqa: E402


def main() -> None:
    import synthgen

    frame = synthgen.datasets.load("adult")
    n = len(frame)
    t = time.perf_counter()
    gen = synthgen.make("circuit").fit(frame, seed=0)
    fit_s = time.perf_counter() - t
    rows = []
    for mode in ("stratified", "independent"):
        gen.set_params(sampling=mode)
        gen.sample(n, seed=0)
        best, _ = best_of(lambda: gen.sample(n, seed=1))
        rows.append({"model": f"synthgen circuit, sampling={mode!r}", "sample_s": best})
        print(f"circuit {mode:12s} {best:.3f} s", flush=True)

    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    meta = Metadata.detect_from_dataframes({"table": frame}, infer_keys=None)
    sdv = GaussianCopulaSynthesizer(meta)
    sdv.fit({"table": frame})
    sdv.sample(n)
    best, _ = best_of(lambda: sdv.sample(n))
    rows.append({"model": "SDV GaussianCopulaSynthesizer", "sample_s": best})
    print(f"SDV GaussianCopula      {best:.3f} s", flush=True)
    for r in rows:
        r["speedup_vs_sdv_gaussian_copula"] = best / r["sample_s"]
    path = write_result("circuit_sampling", {
        "benchmark": "bench_circuit_sampling", "command": "python benchmarks/bench_circuit_sampling.py",
        "n_rows": n, "circuit_fit_s": fit_s, "results": rows})
    print(path)


if __name__ == "__main__":
    main()
