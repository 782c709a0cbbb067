"""Dask scale-out: sampling to a Parquet dataset with 1 and 2 workers against the single-process
CLI, and an out-of-core GMM fit against the in-memory fit on the same data.

Sampling: a 10-column GMM (5 components) is saved; ``synthgen sample --from MODEL -o FILE``
(one process, timed as a subprocess, its peak RSS polled from ``/proc``) is the peer; the same rows
go to a dataset folder through ``synthgen.dask.sample`` + ``write_parquet`` on a LocalCluster
of 1 and 2 worker processes (what ``synthgen sample --workers N`` runs).  Peak memory per
worker is each worker process's ``VmHWM`` (not ``ru_maxrss``: a process started by fork and
exec inherits its parent's), for two row counts (bounded: independent of n).
The first part of the dataset is compared with the first rows of the single-process file.

Fit: a 10-column Parquet dataset drawn from a 5-component mixture; ``synthgen.dask.fit`` on it
(read back from disk every EM iteration by workers with a memory limit) against
``GMMGenerator.fit`` on the whole table in memory, both with ``n_components=5``,
``tol=0`` and ``max_iter`` iterations (the same number of E-steps), same seed.  Time per
EM iteration and the final mean log-likelihood of each.

Run: python benchmarks/bench_dask.py [--rows 100000000] [--fit-rows 20000000]
     [--worker-memory 512MB] [--out dask]
Generated data is written under --scratch (default: a temporary folder) and deleted.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _machine import write_result

ROOT = Path(__file__).resolve().parents[1]


def _mixture_rows(n, seed, d=10, k=5):
    r = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(scale=4.0, size=(k, d))
    comp = r.integers(0, k, n)
    return centres[comp] + r.normal(size=(n, d))


def _model(scratch: Path) -> Path:
    import pandas as pd

    import synthgen

    X = _mixture_rows(20000, 0)
    df = pd.DataFrame(X, columns=[f"c{i}" for i in range(10)])
    path = scratch / "model.sgm"
    synthgen.make("gmm", n_components=5).fit(df, seed=0).save(path)
    return path


def _cli_single(model: Path, n: int, out: Path, chunk: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-c", "from synthgen.cli import main; main()", "sample", "--from",
           str(model), "-n", str(n), "--seed", "1", "-o", str(out), "-q", "--chunk-rows", str(chunk)]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _hwm_mb(proc.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"single-process CLI failed with status {proc.returncode}")
    return {"seconds": seconds, "rows_per_s": n / seconds, "peak_rss_mb": peak}


def _hwm_mb(pid="self") -> float:
    """The peak resident memory (VmHWM) of a process, in MiB (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _peak_rss_mb():
    return _hwm_mb("self")


def _dask_sample(model: Path, n: int, out: Path, workers: int, chunk: int) -> dict:
    from distributed import Client, LocalCluster

    import synthgen
    import synthgen.dask as sdask

    gen = synthgen.load(model)
    t0 = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(workers)
        t1 = time.perf_counter()
        ddf = sdask.sample(gen, n, seed=1, rows_per_partition=chunk, client=client)
        written = sdask.write_parquet(ddf, out, client=client)
        t2 = time.perf_counter()
        peaks = sorted(client.run(_peak_rss_mb).values())
    assert written == n
    return {"workers": workers, "seconds": t2 - t1, "startup_s": t1 - t0,
            "rows_per_s": n / (t2 - t1), "rows_per_s_with_startup": n / (t2 - t0),
            "peak_rss_mb_per_worker": peaks, "partitions": ddf.npartitions}


def _first_rows(path: Path, n: int):
    """The first ``n`` rows of a Parquet file, without reading the rest."""
    import pyarrow.parquet as pq

    batch = next(pq.ParquetFile(path).iter_batches(batch_size=n))
    return batch.to_pandas().reset_index(drop=True)


def bench_sampling(scratch: Path, rows: int, chunk: int) -> dict:
    import pandas as pd

    model = _model(scratch)
    out = {"rows": rows, "rows_per_partition": chunk}
    single = scratch / "single.parquet"
    out["single_process_cli"] = _cli_single(model, rows, single, chunk)
    print("single-process CLI", out["single_process_cli"], flush=True)
    head = _first_rows(single, chunk)
    out["single_process_cli"]["parquet_mb"] = single.stat().st_size / 2**20
    single.unlink()
    runs = []
    for workers in (1, 2):
        for n in (rows // 4, rows):
            folder = scratch / f"ds{workers}_{n}"
            res = _dask_sample(model, n, folder, workers, chunk)
            first = sorted(folder.iterdir())[0]
            res["first_part_equals_single_process"] = bool(
                pd.read_parquet(first).reset_index(drop=True).equals(head.iloc[:len(pd.read_parquet(first))]))
            res["parquet_mb"] = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
            shutil.rmtree(folder)
            res["rows"] = n
            runs.append(res)
            print("dask", res, flush=True)
    out["dask"] = runs
    full = [r for r in runs if r["rows"] == rows]
    out["ratio_rows_per_s_vs_single"] = {f"{r['workers']}_workers": r["rows_per_s"] /
                                         out["single_process_cli"]["rows_per_s"] for r in full}
    return out


def _write_fit_data(folder: Path, rows: int, part_rows: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir()
    for i, start in enumerate(range(0, rows, part_rows)):
        X = _mixture_rows(min(part_rows, rows - start), 1000 + i)
        table = pa.table({f"c{j}": X[:, j] for j in range(10)})
        pq.write_table(table, folder / f"part.{i:05d}.parquet")


#: A worker holding JAX, pandas and pyarrow starts near 400 MB; under a 512 MB limit Dask's
#: default pause (at 80%) would stop it before its first task.  Nothing is spilled (a task's
#: result is a few small arrays); a worker above 95% of the limit is still terminated.
WORKER_MEMORY = {"distributed.worker.memory.target": False,
                 "distributed.worker.memory.spill": False,
                 "distributed.worker.memory.pause": False,
                 "distributed.worker.memory.terminate": 0.95}


def _rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _dask_fit(folder: Path, settings: dict, memory: str) -> dict:
    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    import synthgen
    import synthgen.dask as sdask

    with dask.config.set(WORKER_MEMORY), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=memory,
                         dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        start_rss = sorted(client.run(_rss_mb).values())
        ddf = dd.read_parquet(str(folder))
        t = time.perf_counter()
        got = sdask.fit(synthgen.make("gmm", **settings), ddf, seed=0, client=client)
        seconds = time.perf_counter() - t
        peaks = sorted(client.run(_peak_rss_mb).values())
    return {"memory_limit": memory, "seconds": seconds, "n_iter": got.n_iter_,
            "lower_bound": got.lower_bound_, "passes": got.n_iter_ + 3,
            "seconds_per_iteration": seconds / (got.n_iter_ + 2),
            "worker_rss_mb_at_start": start_rss, "peak_rss_mb_per_worker": peaks, "model": got}


def bench_fit(scratch: Path, rows: int, part_rows: int, memory: str, iters: int) -> dict:
    import pandas as pd

    import synthgen

    folder = scratch / "fit.parquet"
    _write_fit_data(folder, rows, part_rows)
    size_mb = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
    settings = dict(n_components=5, tol=0.0, max_iter=iters)
    out = {"rows": rows, "columns": 10, "float64_mb": rows * 10 * 8 / 2**20,
           "parquet_mb": size_mb, "worker_memory_limit": memory, "max_iter": iters}
    out["worker_memory_settings"] = WORKER_MEMORY
    try:
        out["dask"] = _dask_fit(folder, settings, memory)
    except Exception as exc:  # a worker killed at the limit: say so, and measure under a larger one
        out["dask_at_limit"] = {"failed": f"{type(exc).__name__}: {exc}"[:300]}
        print("dask fit at", memory, "failed:", out["dask_at_limit"]["failed"], flush=True)
        out["worker_memory_limit_used"] = "1GiB"
        out["dask"] = _dask_fit(folder, settings, "1GiB")
    got = out["dask"].pop("model")
    print("dask fit", out["dask"], flush=True)
    t = time.perf_counter()
    df = pd.read_parquet(folder)
    read_s = time.perf_counter() - t
    t = time.perf_counter()
    ref = synthgen.make("gmm", **settings).fit(df, seed=0)
    seconds = time.perf_counter() - t
    out["in_memory"] = {"seconds": seconds, "read_seconds": read_s, "n_iter": ref.n_iter_,
                        "lower_bound": ref.lower_bound_,
                        "seconds_per_iteration": seconds / (ref.n_iter_ + 2),
                        "peak_rss_mb": _peak_rss_mb()}
    print("in-memory fit", out["in_memory"], flush=True)
    out["lower_bound_difference"] = abs(got.lower_bound_ - ref.lower_bound_)
    shutil.rmtree(folder)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000_000)
    ap.add_argument("--chunk-rows", type=int, default=1 << 20)
    ap.add_argument("--fit-rows", type=int, default=20_000_000)
    ap.add_argument("--fit-part-rows", type=int, default=100_000)
    ap.add_argument("--fit-iter", type=int, default=10)
    ap.add_argument("--worker-memory", default="512MiB")
    ap.add_argument("--scratch", default=None)
    ap.add_argument("--out", default="dask")
    ap.add_argument("--skip-sampling", action="store_true",
                    help="keep the sampling results already in the --out file; run the fit only")
    ap.add_argument("--note", default=None, help="a remark recorded in the JSON")
    args = ap.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench_dask_", dir=args.scratch))
    load_before = os.getloadavg()
    try:
        result = {"command": " ".join(sys.argv), "load_average_before": load_before}
        if args.note:
            result["note"] = args.note
        if args.skip_sampling:
            import json

            from _machine import RESULTS

            earlier = json.loads((RESULTS / f"{args.out}.json").read_text())
            result["sampling"] = earlier["sampling"]
            result["sampling_run"] = {"command": earlier["command"], "machine": earlier["machine"],
                                      "load_average_before": earlier["load_average_before"]}
        else:
            result["sampling"] = bench_sampling(scratch, args.rows, args.chunk_rows)
            result["load_average_after_sampling"] = os.getloadavg()
            # the sampling part is kept even if the fit does not finish
            print(write_result(args.out, {**result, "fit": "not run (yet)"}), flush=True)
        result["fit"] = bench_fit(scratch, args.fit_rows, args.fit_part_rows, args.worker_memory,
                                  args.fit_iter)
        result["load_average_after"] = os.getloadavg()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(write_result(args.out, result))


if __name__ == "__main__":
    main()
