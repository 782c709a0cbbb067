"""KDE: synthgen against scikit-learn's KernelDensity (scores, samples), and scoring in bounded memory.

Each measurement runs in its own process so that its peak resident memory is its own.

Run: python benchmarks/bench_kde.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

from _machine import best_of as _best_of, write_result


def best_of(fn, repeat=7):
    return _best_of(fn, repeat)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def import_jax() -> None:
    """Import JAX up front, so that "RSS after imports" includes the runtime itself."""
    import jax.numpy as jnp

    jnp.zeros(1).block_until_ready()


def digits():
    """Digits without its 3 columns that are constant over the whole set (no density there)."""
    from sklearn.datasets import load_digits

    X = load_digits().data
    return X[:, np.ptp(X, axis=0) > 0]


# -- parts, each run in a fresh process ----------------------------------------------------------


def part_sklearn_score(h: float) -> dict:
    from sklearn.neighbors import KernelDensity

    X = digits()
    base = peak_rss_mb()
    kd = KernelDensity(bandwidth=h).fit(X)
    seconds, scores = best_of(lambda: kd.score_samples(X))
    np.save(f"/tmp/bench_kde_sklearn_{h}.npy", scores)
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "rss_after_imports_mb": base}


def part_synthgen_score(h: float) -> dict:
    import synthgen

    import_jax()
    X = digits()
    base = peak_rss_mb()
    gen = synthgen.make("kde", bandwidth=h).fit(X)
    t0 = time.perf_counter()
    gen.score_samples(X)
    first = time.perf_counter() - t0
    seconds, scores = best_of(lambda: gen.score_samples(X))
    ref = np.load(f"/tmp/bench_kde_sklearn_{h}.npy")
    return {"seconds": seconds, "first_call_s": first, "peak_rss_mb": peak_rss_mb(),
            "rss_after_imports_mb": base,
            "max_rel_diff_vs_sklearn": float(np.max(np.abs(scores - ref) / np.abs(ref)))}


def part_sklearn_sample(n: int) -> dict:
    from sklearn.neighbors import KernelDensity

    X = digits()
    base = peak_rss_mb()
    kd = KernelDensity(bandwidth=2.0).fit(X)
    seconds, _ = best_of(lambda: kd.sample(int(n), random_state=0))
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "rss_after_imports_mb": base}


def part_synthgen_sample(n: int) -> dict:
    import synthgen

    import_jax()
    X = digits()
    base = peak_rss_mb()
    gen = synthgen.make("kde", bandwidth=2.0).fit(X)
    n = int(n)
    t0 = time.perf_counter()
    gen.sample(n, seed=0)
    first = time.perf_counter() - t0
    seeds = iter(range(1, 100))
    seconds, _ = best_of(lambda: gen.sample(n, seed=next(seeds)))
    matrix_s, _ = best_of(lambda: gen.sample_matrix(n, seed=next(seeds)))
    return {"seconds": seconds, "sample_matrix_s": matrix_s, "first_call_s": first,
            "peak_rss_mb": peak_rss_mb(), "rss_after_imports_mb": base}


def part_synthgen_cv(_) -> dict:
    import synthgen

    X = digits()
    t0 = time.perf_counter()
    gen = synthgen.make("kde", bandwidth="cv").fit(X)
    return {"seconds": time.perf_counter() - t0, "bandwidth": gen.bandwidth_,
            "grid_points": len(gen.cv_scores_), "peak_rss_mb": peak_rss_mb()}


def part_synthgen_big(n: int) -> dict:
    import synthgen

    import_jax()
    n, d = int(n), 8
    r = np.random.default_rng(0)
    X = r.normal(size=(n, d)).astype(np.float32)
    base = peak_rss_mb()
    gen = synthgen.make("kde", bandwidth=0.3).fit(X)
    gen.score_samples(X[:5000])  # compiles the scoring function for full chunks
    t0 = time.perf_counter()
    scores = gen.score_samples(X)
    seconds = time.perf_counter() - t0
    return {"n_train": n, "n_query": n, "d": d, "seconds": seconds, "pairs_per_s": n * n / seconds,
            "finite": bool(np.isfinite(scores).all()), "peak_rss_mb": peak_rss_mb(),
            "rss_after_imports_mb": base, "dense_matrix_would_need_mb": n * n * 4 / 2**20}


PARTS = {f.__name__[5:]: f for f in (part_sklearn_score, part_synthgen_score, part_sklearn_sample,
                                      part_synthgen_sample, part_synthgen_cv, part_synthgen_big)}


def run_part(name: str, arg) -> dict:
    out = subprocess.run([sys.executable, __file__, "--part", name, "--arg", str(arg)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller big-data run (30,000 rows)")
    parser.add_argument("--part", choices=sorted(PARTS), help=argparse.SUPPRESS)
    parser.add_argument("--arg", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        print(json.dumps(PARTS[args.part](args.arg)))
        return

    score_rows = []
    for h in (2.0, 10.0):
        sk = run_part("sklearn_score", h)
        sg = run_part("synthgen_score", h)
        score_rows.append({"bandwidth": h, "sklearn": sk, "synthgen": sg, "speedup": sk["seconds"] / sg["seconds"]})
        print(f"digits score_samples (1797 x 1797, d=61, h={h:g}): sklearn {sk['seconds']:.4f} s, "
              f"synthgen {sg['seconds']:.4f} s -> {sk['seconds'] / sg['seconds']:.1f}x; "
              f"max rel diff {sg['max_rel_diff_vs_sklearn']:.1e}; peak RSS sklearn {sk['peak_rss_mb']:.0f} MB, "
              f"synthgen {sg['peak_rss_mb']:.0f} MB")
    n = 100_000
    sk = run_part("sklearn_sample", n)
    sg = run_part("synthgen_sample", n)
    sample_row = {"n": n, "sklearn": sk, "synthgen": sg, "speedup": sk["seconds"] / sg["seconds"]}
    sample_row["speedup_sample_matrix"] = sk["seconds"] / sg["sample_matrix_s"]
    print(f"digits sample({n:,}): sklearn {sk['seconds']:.4f} s, synthgen {sg['seconds']:.4f} s -> "
          f"{sk['seconds'] / sg['seconds']:.1f}x (sample_matrix, without the vectoriser: "
          f"{sg['sample_matrix_s']:.4f} s -> {sample_row['speedup_sample_matrix']:.1f}x); "
          f"peak RSS sklearn {sk['peak_rss_mb']:.0f} MB, synthgen {sg['peak_rss_mb']:.0f} MB")
    cv = run_part("synthgen_cv", 0)
    print(f"digits fit with bandwidth='cv' ({cv['grid_points']} grid points, 5 folds): "
          f"{cv['seconds']:.2f} s (incl. compilation) -> h = {cv['bandwidth']:.3f}")
    big = []
    for n in ((3_000, 30_000) if args.quick else (10_000, 100_000)):
        res = run_part("synthgen_big", n)
        big.append(res)
        print(f"score_samples {n:,} x {n:,} rows (d=8): {res['seconds']:.1f} s, "
              f"{res['pairs_per_s'] / 1e6:.0f} M pairs/s, peak RSS {res['peak_rss_mb']:.0f} MB "
              f"(after imports {res['rss_after_imports_mb']:.0f} MB; a dense n x n float32 matrix: "
              f"{res['dense_matrix_would_need_mb']:,.0f} MB)")
    path = write_result("kde_quick" if args.quick else "kde",
                        {"score_digits": score_rows, "sample_digits": sample_row, "cv_digits": cv,
                         "score_big": big})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
