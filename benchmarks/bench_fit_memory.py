"""Fit time and peak memory of one generator on kddcup_10_percent (494,021 rows x 42 columns).

    /usr/bin/time -v python benchmarks/bench_fit_memory.py circuit:epochs=4
    /usr/bin/time -v python benchmarks/bench_fit_memory.py gaussian

One model per process, so that the peak resident set size (``ru_maxrss``, and ``Maximum resident
set size`` of ``/usr/bin/time -v``) is that of reading the table, fitting and sampling 10,000
rows, and nothing else.  The result is written to benchmarks/results/fit_memory_kddcup.json
(one entry per model, kept across runs).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import RESULTS, machine_info, write_result  # noqa: E402
from bench_fidelity import load, parse_model  # noqa: E402


def main() -> None:
    import synthgen

    spec = sys.argv[1] if len(sys.argv) > 1 else "circuit"
    name, params = parse_model(spec)
    t = time.perf_counter()
    frame, _ = load("kddcup")
    read_s = time.perf_counter() - t
    t = time.perf_counter()
    gen = synthgen.make(name, **params).fit(frame, seed=0)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    rows = gen.sample(10_000, seed=1)
    sample_s = time.perf_counter() - t
    logp = gen.score_samples(frame.iloc[:10_000])
    entry = {"model": spec, "rows": len(frame), "columns": frame.shape[1],
             "features": int(gen.n_features_in_), "read_s": read_s, "fit_s": fit_s,
             "sample_10000_s": sample_s, "mean_log_lik_first_10000": float(logp.mean()),
             "sampled_columns": list(rows.columns) == list(frame.columns),
             "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
             "load_average_after": list(machine_info()["load_average"])}
    print(json.dumps(entry), flush=True)
    path = RESULTS / "fit_memory_kddcup.json"
    entries = json.loads(path.read_text())["entries"] if path.exists() else []
    entries = [e for e in entries if e["model"] != spec] + [entry]
    write_result("fit_memory_kddcup", {"entries": entries})


if __name__ == "__main__":
    main()
