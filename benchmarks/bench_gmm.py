"""Gaussian mixtures: synthgen against scikit-learn's GaussianMixture, in the same run.

scikit-learn is timed with its BLAS at default threads and at one thread; the faster counts.
"cold" is a first call (it includes XLA compilation); "warm" and scikit-learn are best of a
few calls.

1. BIC sweep on digits (1797 x 64), full covariance, 2..19 components, n_init=1,
   tol=1e-3, max_iter=100, reg_covar=1e-6 on both sides: wall time, and BIC per count.
   synthgen is timed cold (first call: includes XLA compilation) and warm (same shapes,
   another key), with refine_rounds=0 (k-means starts only, as scikit-learn), 1 (the
   generator's default) and 2; then, for robustness, the share of counts within 1% of
   scikit-learn over 4 synthgen keys x 6 scikit-learn seeds.
2. 200,000 x 10 Gaussian blobs, 10 components: fit; then sampling 1,000,000 rows.
3. PCA+GMM on digits: fit + 10,000 samples, against sklearn PCA + GaussianMixture.

Run: python benchmarks/bench_gmm.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from _machine import write_result


def timed(fn, repeat=1):
    """Best wall time of ``repeat`` calls, and the last call's output."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def timed_sklearn(fn, repeat=3):
    """scikit-learn with its BLAS at default threads and limited to one thread (much faster
    on a shared machine), best of ``repeat`` each.  Returns the faster time, an output, and
    both times."""
    from threadpoolctl import threadpool_limits

    t_default, _ = timed(fn, repeat)
    with threadpool_limits(limits=1):
        t_one, out = timed(fn, repeat)
    return min(t_default, t_one), out, {"default_threads_s": t_default, "one_thread_s": t_one}


def digits_sweep(counts, seed=0):
    import jax
    from sklearn.datasets import load_digits
    from sklearn.mixture import GaussianMixture

    from synthgen.generators.gmm import fit_gmm_counts

    X = load_digits().data
    settings = dict(covariance_type="full", tol=1e-3, max_iter=100, reg_covar=1e-6, n_init=1)
    load = os.getloadavg()[0]

    def ours(key, **extra):
        return fit_gmm_counts(jax.random.PRNGKey(key), X, counts=counts, **{**settings, **extra})

    cold, fits = timed(lambda: ours(seed))
    warm, fits_warm = timed(lambda: ours(seed + 1), repeat=3)
    ours(seed + 2, n_init=3)  # compile the larger pool once
    warm3, fits3 = timed(lambda: ours(seed + 3, n_init=3), repeat=2)
    refined = {}
    for rounds in (1, 2):
        first, fits_r = timed(lambda: ours(seed, refine_rounds=rounds))
        warm_r, _ = timed(lambda: ours(seed + 1, refine_rounds=rounds), repeat=2)
        refined[rounds] = {"first_call_s": first, "warm_s": warm_r, "fits": fits_r}

    def theirs():
        out = {}
        for k in counts:
            gm = GaussianMixture(k, random_state=seed, **settings).fit(X)
            out[k] = (gm.bic(X), gm.n_iter_, gm.converged_)
        return out

    sk_time, sk, sk_both = timed_sklearn(theirs, repeat=2)
    rows = []
    for k in counts:
        ours_bic = fits[k][1]["bic"]
        row = {"n_components": k, "synthgen_bic": ours_bic, "synthgen_bic_second_key": fits_warm[k][1]["bic"],
               "synthgen_n_init3_bic": fits3[k][1]["bic"],
               "sklearn_bic": sk[k][0], "relative": ours_bic / sk[k][0] - 1.0,
               "relative_n_init3": fits3[k][1]["bic"] / sk[k][0] - 1.0,
               "synthgen_n_iter": fits[k][1]["n_iter"], "sklearn_n_iter": sk[k][1]}
        for rounds, r in refined.items():
            row[f"synthgen_refine{rounds}_bic"] = r["fits"][k][1]["bic"]
            row[f"relative_refine{rounds}"] = r["fits"][k][1]["bic"] / sk[k][0] - 1.0
        rows.append(row)
    out = {"load_before": load, "sklearn_s": sk_time, "sklearn_runs": sk_both,
           "synthgen_cold_s": cold, "synthgen_warm_s": warm,
           "speedup_cold": sk_time / cold, "speedup_warm": sk_time / warm,
           "synthgen_n_init3_warm_s": warm3, "speedup_n_init3_warm": sk_time / warm3,
           "within_1pct": sum(r["relative"] <= 0.01 for r in rows),
           "within_1pct_n_init3": sum(r["relative_n_init3"] <= 0.01 for r in rows)}
    for rounds, r in refined.items():
        out[f"refine{rounds}"] = {"first_call_s": r["first_call_s"], "warm_s": r["warm_s"],
                                  "speedup_warm": sk_time / r["warm_s"],
                                  "within_1pct": sum(row[f"relative_refine{rounds}"] <= 0.01 for row in rows)}
    out["per_count"] = rows
    return out


def digits_robustness(counts, keys=range(4), sk_seeds=range(6), rounds=(0, 1, 2)):
    """Counts within 1% of scikit-learn's BIC, for every pair of synthgen key and scikit-learn seed."""
    import jax
    from sklearn.datasets import load_digits
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    from synthgen.generators.gmm import fit_gmm_counts

    X = load_digits().data
    settings = dict(covariance_type="full", tol=1e-3, max_iter=100, reg_covar=1e-6, n_init=1)
    with threadpool_limits(limits=1):
        sk = {s: {k: GaussianMixture(k, random_state=s, **settings).fit(X).bic(X) for k in counts}
              for s in sk_seeds}
    out = {}
    for r in rounds:
        within = []
        for key in keys:
            fits = fit_gmm_counts(jax.random.PRNGKey(key), X, counts=counts, refine_rounds=r, **settings)
            within.append([sum(fits[k][1]["bic"] <= sk[s][k] + 0.01 * abs(sk[s][k]) for k in counts)
                           for s in sk_seeds])
        flat = [w for row in within for w in row]
        out[f"refine{r}"] = {"within_1pct_per_key_and_seed": within, "pairs_all_counts_within": sum(
            w == len(counts) for w in flat), "pairs": len(flat), "min_counts_within": min(flat)}
    return out


def blobs_fit_and_sample(n_rows, n_sample, seed=0):
    from sklearn.datasets import make_blobs
    from sklearn.mixture import GaussianMixture

    import synthgen

    X, _ = make_blobs(n_rows, 10, centers=10, cluster_std=1.5, random_state=seed)
    load = os.getloadavg()[0]
    gen = synthgen.make("gmm", n_components=10)
    cold_fit, _ = timed(lambda: gen.fit(X, seed=seed))
    warm_fit, _ = timed(lambda: gen.fit(X, seed=seed + 1), repeat=3)
    cold_sample, _ = timed(lambda: gen.sample(n_sample, seed=1))
    warm_sample, S = timed(lambda: gen.sample(n_sample, seed=2), repeat=5)
    sk = GaussianMixture(10, random_state=seed)
    sk_fit, _, sk_fit_both = timed_sklearn(lambda: sk.fit(X))
    sk_sample, _, sk_sample_both = timed_sklearn(lambda: sk.sample(n_sample), repeat=5)
    return {"load_before": load, "n_rows": n_rows, "n_sample": n_sample,
            "fit": {"sklearn_s": sk_fit, "sklearn_runs": sk_fit_both,
                    "synthgen_cold_s": cold_fit, "synthgen_warm_s": warm_fit,
                    "speedup_cold": sk_fit / cold_fit, "speedup_warm": sk_fit / warm_fit,
                    "synthgen_score": gen.score(X), "sklearn_score": sk.score(X)},
            "sample": {"sklearn_s": sk_sample, "sklearn_runs": sk_sample_both,
                       "synthgen_cold_s": cold_sample, "synthgen_warm_s": warm_sample,
                       "speedup_cold": sk_sample / cold_sample, "speedup_warm": sk_sample / warm_sample,
                       "synthgen_sample_score": gen.score(S[:20000])}}


def pca_gmm_digits(n_components=10, n_sample=10_000, seed=0):
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.mixture import GaussianMixture

    import synthgen

    X = load_digits().data
    X = X[:, np.ptp(X, axis=0) > 0]  # three pixels are constant over the whole set
    load = os.getloadavg()[0]

    def ours(s):
        gen = synthgen.make("pca_gmm", pca_components=0.9, n_components=n_components).fit(X, seed=s)
        return gen, gen.sample(n_sample, seed=s)

    def theirs():
        pca = PCA(0.9, svd_solver="full").fit(X)
        gm = GaussianMixture(n_components, random_state=seed).fit(pca.transform(X))
        return pca, gm, pca.inverse_transform(gm.sample(n_sample)[0])

    cold, (gen, _) = timed(lambda: ours(seed))
    warm, _ = timed(lambda: ours(seed + 1), repeat=3)
    sk_time, (pca, gm, _), sk_both = timed_sklearn(theirs)
    return {"load_before": load, "pca_components": gen.pca_components_, "sklearn_pca_components": pca.n_components_,
            "sklearn_s": sk_time, "sklearn_runs": sk_both, "synthgen_cold_s": cold, "synthgen_warm_s": warm,
            "speedup_cold": sk_time / cold, "speedup_warm": sk_time / warm,
            "synthgen_bic_reduced": gen.bic_curve_[n_components],
            "sklearn_bic_reduced": gm.bic(pca.transform(X))}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    args = parser.parse_args()
    counts = tuple(range(2, 8)) if args.quick else tuple(range(2, 20))
    n_rows, n_sample = (20_000, 100_000) if args.quick else (200_000, 1_000_000)

    sweep = digits_sweep(counts)
    print(f"digits BIC sweep, full, {counts[0]}..{counts[-1]} components (load {sweep['load_before']:.1f})")
    print(f"  scikit-learn {sweep['sklearn_s']:7.2f} s | synthgen cold {sweep['synthgen_cold_s']:6.2f} s "
          f"({sweep['speedup_cold']:.1f}x) | warm {sweep['synthgen_warm_s']:6.2f} s ({sweep['speedup_warm']:.1f}x) "
          f"| n_init=3 warm {sweep['synthgen_n_init3_warm_s']:6.2f} s ({sweep['speedup_n_init3_warm']:.1f}x)")
    print("   k   synthgen BIC  2nd key BIC  n_init=3 BIC   sklearn BIC   rel.  rel.(3)  iters (ours/sk)")
    for r in sweep["per_count"]:
        print(f"  {r['n_components']:2d} {r['synthgen_bic']:13.0f} {r['synthgen_bic_second_key']:12.0f} "
              f"{r['synthgen_n_init3_bic']:13.0f} {r['sklearn_bic']:13.0f} {100 * r['relative']:+6.1f}% "
              f"{100 * r['relative_n_init3']:+6.1f}%   {r['synthgen_n_iter']}/{r['sklearn_n_iter']}")
    print(f"  counts no worse than scikit-learn by more than 1%: {sweep['within_1pct']}/{len(counts)} "
          f"(n_init=3: {sweep['within_1pct_n_init3']}/{len(counts)})")
    for rounds in (1, 2):
        r = sweep[f"refine{rounds}"]
        print(f"  refine_rounds={rounds}: warm {r['warm_s']:.2f} s ({r['speedup_warm']:.1f}x), first call "
              f"{r['first_call_s']:.2f} s; within 1%: {r['within_1pct']}/{len(counts)}; relative BIC per count: "
              + " ".join(f"{100 * row[f'relative_refine{rounds}']:+.1f}" for row in sweep["per_count"]))
    robust = digits_robustness(counts)
    for name, r in robust.items():
        print(f"  {name}: all counts within 1% for {r['pairs_all_counts_within']}/{r['pairs']} (key, seed) pairs; "
              f"fewest counts within: {r['min_counts_within']}/{len(counts)}")

    blobs = blobs_fit_and_sample(n_rows, n_sample)
    for part in ("fit", "sample"):
        b = blobs[part]
        print(f"blobs {n_rows} x 10, 10 components, {part}: scikit-learn {b['sklearn_s']:.2f} s | synthgen cold "
              f"{b['synthgen_cold_s']:.2f} s ({b['speedup_cold']:.1f}x) | warm {b['synthgen_warm_s']:.2f} s "
              f"({b['speedup_warm']:.1f}x)")

    pg = pca_gmm_digits()
    print(f"PCA+GMM digits fit + 10k samples (q={pg['pca_components']}): scikit-learn {pg['sklearn_s']:.2f} s | "
          f"synthgen cold {pg['synthgen_cold_s']:.2f} s ({pg['speedup_cold']:.1f}x) | warm "
          f"{pg['synthgen_warm_s']:.2f} s ({pg['speedup_warm']:.1f}x)")

    name = "gmm_quick" if args.quick else "gmm"
    path = write_result(name, {"digits_bic_sweep": sweep, "digits_robustness": robust, "blobs": blobs,
                               "pca_gmm_digits": pg,
                               "command": "python benchmarks/bench_gmm.py" + (" --quick" if args.quick else "")})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
