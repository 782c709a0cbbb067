"""Cold starts: a fresh process with an empty compilation cache, then fresh processes that find it.

Every case runs in new processes with ``SYNTHGEN_CACHE_DIR`` pointing at a folder of this run,
emptied before the first process; the later processes find what the first compiled.

1. ``synthgen sample --model gmm --n 1000 -o out.csv`` (the embedded credit-card data);
2. the README's quick start, ``synthgen sample --model vae --n 10000 -o synthetic.csv``;
3. a GMM fit on 200,000 x 10 Gaussian blobs, 10 full-covariance components, in a fresh process
   (the import of synthgen and the fit are timed, making the data is not), against the peer
   scikit-learn's ``GaussianMixture(10)`` in a fresh process (its import and its fit), with
   default BLAS threads and with one (the faster counts).

Each warm case runs ``--warm`` times (default 3); the ratio uses their median.  Wall and CPU
seconds (user + system) of each child are recorded, with the load average before it: the
machine is shared, so compare the ratios, measured under the same load, more than the times.
One more warm process per case runs the same command in-process under JAX's monitoring, to say
where its time goes: importing JAX, tracing and lowering the programs (which every process
does again; the cache keeps only XLA's compiled code), loading them from the cache, the rest.

Run: python benchmarks/bench_cold.py [--warm 3] [--cases gmm_cli vae_cli gmm_fit]
(results: results/cold.json)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import write_result

SCRIPT = Path(sys.executable).with_name("synthgen")

#: the ``synthgen`` command in-process under JAX's monitoring; the breakdown goes to PROFILE_OUT
PROFILED = """
import collections, json, os, sys, time
t0 = time.perf_counter()
import jax
from jax import monitoring
t_jax = time.perf_counter()
dur = collections.Counter()
monitoring.register_event_duration_secs_listener(lambda ev, secs, **kw: dur.update({ev: secs}))
sys.argv = ["synthgen", *sys.argv[1:]]
from synthgen.cli import main
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
total = time.perf_counter() - t0
c = "/jax/core/compile/"
out = {"total_s": total, "import_jax_s": t_jax - t0, "trace_s": dur[c + "jaxpr_trace_duration"],
       "lower_s": dur[c + "jaxpr_to_mlir_module_duration"],
       "compile_or_load_s": dur[c + "backend_compile_duration"],
       "compile_time_saved_s": dur["/jax/compilation_cache/compile_time_saved_sec"]}
out["rest_s"] = total - out["import_jax_s"] - out["trace_s"] - out["lower_s"] - out["compile_or_load_s"]
with open(os.environ["PROFILE_OUT"], "w") as f:
    json.dump(out, f)
"""

#: a fresh process fitting 200,000 x 10 blobs; prints its timings as JSON on the last line
FIT = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np
which = sys.argv[1]
import collections
dur = collections.Counter()
r = np.random.default_rng(0)
centres = r.uniform(-10, 10, size=(10, 10))
X = centres[r.integers(0, 10, 200_000)] + 1.5 * r.normal(size=(200_000, 10))
t_data = time.perf_counter()
if which == "synthgen":
    import jax
    from jax import monitoring
    t_jax = time.perf_counter()
    monitoring.register_event_duration_secs_listener(lambda ev, secs, **kw: dur.update({ev: secs}))
    import synthgen
    gen = synthgen.make("gmm", n_components=10)
    t_import = time.perf_counter()
    gen.fit(X, seed=0)
else:
    from sklearn.mixture import GaussianMixture
    gen = GaussianMixture(10, random_state=0)
    t_import = time.perf_counter()
    gen.fit(X)
t_fit = time.perf_counter()
score = float(gen.score(X[:20_000]))
c = "/jax/core/compile/"
out = {"import_s": t_import - t_data, "fit_s": t_fit - t_import,
       "import_and_fit_s": (t_import - t_data) + (t_fit - t_import),
       "numpy_and_data_s": t_data - t0, "score": score}
if which == "synthgen":
    out.update(import_jax_s=t_jax - t_data, trace_s=dur[c + "jaxpr_trace_duration"],
               lower_s=dur[c + "jaxpr_to_mlir_module_duration"],
               compile_or_load_s=dur[c + "backend_compile_duration"])
print(json.dumps(out))
"""


def run_child(cmd: list[str], env: dict) -> dict:
    """Wall and CPU seconds of one child process, its last stdout line, and the load before it."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    proc.stdout.close()
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({code}): {err}")
    lines = out.strip().splitlines()
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "load_before": load,
            "stdout_last": lines[-1] if lines else ""}


def cache_entries(folder: Path) -> tuple[int, float]:
    files = [p for p in folder.rglob("*-cache") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files) / 2**20


def cold_then_warm(name: str, cmd: list[str], cache: Path, warm: int, env: dict) -> dict:
    shutil.rmtree(cache, ignore_errors=True)
    first = run_child(cmd, env)
    entries, mib = cache_entries(cache)
    later = [run_child(cmd, env) for _ in range(warm)]
    median = statistics.median(r["wall_s"] for r in later)
    row = {"case": name, "command": " ".join(Path(c).name if c == str(SCRIPT) else c for c in cmd),
           "first": first, "warm": later, "warm_median_s": median,
           "warm_over_first": median / first["wall_s"], "cache_entries": entries, "cache_mib": mib}
    warm_s = ", ".join(f"{r['wall_s']:.1f}" for r in later)
    print(f"{name:10} first {first['wall_s']:7.1f} s (cpu {first['cpu_s']:6.1f}, load "
          f"{first['load_before']:.1f})   warm {warm_s} s   median/first {row['warm_over_first']:.2f}   "
          f"cache {entries} entries, {mib:.1f} MiB", flush=True)
    return row


def cli_case(name: str, args: list[str], cache: Path, warm: int, env: dict) -> dict:
    cmd = [str(SCRIPT), *args]
    row = cold_then_warm(name, cmd, cache, warm, env)
    row["target"] = "warm at most 1/3 of first"
    row["target_met"] = row["warm_over_first"] <= 1 / 3
    profile = cache.parent / "profile.json"
    run_child([sys.executable, "-c", PROFILED, *args], {**env, "PROFILE_OUT": str(profile)})
    row["warm_profile"] = json.loads(profile.read_text())
    print_profile(row["warm_profile"])
    return row


def print_profile(p: dict) -> None:
    print(f"{'':10} warm, in-process: {p['total_s']:.1f} s = import jax {p['import_jax_s']:.1f} + trace "
          f"{p['trace_s']:.1f} + lower {p['lower_s']:.1f} + load from cache {p['compile_or_load_s']:.1f} + "
          f"the rest {p['rest_s']:.1f}", flush=True)


def fit_case(cache: Path, warm: int, env: dict) -> dict:
    ours = cold_then_warm("gmm_fit", [sys.executable, "-c", FIT, "synthgen"], cache, warm, env)
    for r in [ours["first"], *ours["warm"]]:
        r.update(json.loads(r.pop("stdout_last")))
    peers = {}
    for threads, extra in (("default", {}), ("one", {k: "1" for k in (
            "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})):
        runs = [run_child([sys.executable, "-c", FIT, "sklearn"], {**env, **extra}) for _ in range(warm)]
        for r in runs:
            r.update(json.loads(r.pop("stdout_last")))
        peers[threads] = runs
    sk_wall = min(statistics.median(r["wall_s"] for r in runs) for runs in peers.values())
    sk_inner = min(statistics.median(r["import_and_fit_s"] for r in runs) for runs in peers.values())
    ours_inner = statistics.median(r["import_and_fit_s"] for r in ours["warm"])
    last = ours["warm"][-1]
    print(f"{'':10} last warm process: import+fit {last['import_and_fit_s']:.2f} s = import jax "
          f"{last['import_jax_s']:.2f} + trace {last['trace_s']:.2f} + lower {last['lower_s']:.2f} + load "
          f"from cache {last['compile_or_load_s']:.2f} + the rest", flush=True)
    ours.update(sklearn=peers, sklearn_wall_median_s=sk_wall, sklearn_import_and_fit_median_s=sk_inner,
                synthgen_import_and_fit_median_s=ours_inner,
                speedup_wall=sk_wall / ours["warm_median_s"], speedup_import_and_fit=sk_inner / ours_inner,
                target="fresh process with a warm cache at least 2x faster than fresh scikit-learn")
    ours["target_met"] = ours["speedup_wall"] >= 2
    print(f"{'':10} import+fit: synthgen warm {ours_inner:.2f} s (first "
          f"{ours['first']['import_and_fit_s']:.2f} s), scikit-learn {sk_inner:.2f} s; whole process: "
          f"synthgen {ours['warm_median_s']:.2f} s, scikit-learn {sk_wall:.2f} s -> "
          f"{ours['speedup_wall']:.2f}x", flush=True)
    return ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=3, help="warm processes per case")
    parser.add_argument("--cases", nargs="+", default=["gmm_cli", "vae_cli", "gmm_fit"],
                        choices=["gmm_cli", "vae_cli", "gmm_fit"])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cache = folder / "cache"
        env = {**os.environ, "SYNTHGEN_CACHE_DIR": str(cache)}
        env.pop("JAX_COMPILATION_CACHE_DIR", None)
        if "gmm_cli" in args.cases:
            rows.append(cli_case("gmm_cli", ["sample", "--model", "gmm", "--n", "1000", "-o",
                                             str(folder / "out.csv")], cache, args.warm, env))
        if "vae_cli" in args.cases:
            rows.append(cli_case("vae_cli", ["sample", "--model", "vae", "--n", "10000", "-o",
                                             str(folder / "synthetic.csv")], cache, args.warm, env))
        if "gmm_fit" in args.cases:
            rows.append(fit_case(cache, args.warm, env))
    path = write_result("cold", {"cases": rows, "load_after": os.getloadavg(),
                                 "command": " ".join(["python", "benchmarks/bench_cold.py"] + sys.argv[1:])})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
