"""Where the time goes when a 10-column model samples to Parquet, stage by stage, for the
gaussian and the gmm (5 components) on numeric columns, in one process.

Stages of a chunk: the model's rows (JAX, to a host array), the vectoriser's inverse (the
DataFrame), the Arrow table, the Parquet write.  The peer is the way the same chunk was
written before, measured in the same run: the inverse built a dict of per-column arrays that
pandas stacks into one block, and Parquet tried dictionary encoding on every column and wrote
floats plainly.  The
same rows either way (checked).  Best of ``--repeat`` passes over ``--rows`` rows in chunks
of ``--chunk-rows``.

Run: python benchmarks/bench_sample_parquet.py [--rows 4000000] [--chunk-rows 1048576]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _machine import write_result


def _model(name: str):
    import pandas as pd

    import synthgen

    X = np.random.default_rng(0).normal(size=(20000, 10))
    df = pd.DataFrame(X, columns=[f"c{i}" for i in range(10)])
    return synthgen.make(name, **({"n_components": 5} if name == "gmm" else {})).fit(df, seed=0)


def _old_inverse(vec, X):
    import pandas as pd

    from synthgen.vectorisers.base import _restore_column

    cols = {name: _restore_column(X[:, j], dtype, vec.min_[j], vec.max_[j])
            for j, (name, dtype) in enumerate(zip(vec.columns_, vec.dtypes_))}
    frame = pd.DataFrame(cols)
    frame.columns = vec.column_labels_
    return frame


def _run(gen, rows: int, chunk: int, path: Path, *, old: bool) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from synthgen.io import parquet_options

    key = gen._next_key(1)
    stages = dict.fromkeys(("model_rows", "inverse", "arrow", "parquet"), 0.0)
    writer = None
    t_all = time.perf_counter()
    for start in range(0, rows, chunk):
        stop = min(rows, start + chunk)
        t = time.perf_counter()
        X = gen._rows(key, start, stop)
        stages["model_rows"] += time.perf_counter() - t
        t = time.perf_counter()
        frame = _old_inverse(gen.vectoriser_, X) if old else gen.vectoriser_.inverse_transform(X)
        stages["inverse"] += time.perf_counter() - t
        t = time.perf_counter()
        table = pa.Table.from_pandas(frame, preserve_index=False)
        stages["arrow"] += time.perf_counter() - t
        t = time.perf_counter()
        if writer is None:
            opts = {"use_dictionary": True} if old else parquet_options(table.schema)
            writer = pq.ParquetWriter(path, table.schema, **opts)
        writer.write_table(table)
        stages["parquet"] += time.perf_counter() - t
    t = time.perf_counter()
    writer.close()
    stages["parquet"] += time.perf_counter() - t
    seconds = time.perf_counter() - t_all
    return {"seconds": seconds, "rows_per_s": rows / seconds, "stages_s": stages,
            "parquet_mb": path.stat().st_size / 2**20}


def main() -> None:
    import pyarrow.parquet as pq

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=4_000_000)
    ap.add_argument("--chunk-rows", type=int, default=1 << 20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="sample_parquet")
    args = ap.parse_args()
    out = {"command": " ".join(sys.argv), "rows": args.rows, "chunk_rows": args.chunk_rows,
           "load_average_before": os.getloadavg(), "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("gaussian", "gmm"):
            gen = _model(name)
            _run(gen, min(args.rows, args.chunk_rows), args.chunk_rows, Path(tmp) / "warm.parquet",
                 old=False)  # compile once
            res = {}
            for label, old in (("before", True), ("now", False)):
                runs = [_run(gen, args.rows, args.chunk_rows, Path(tmp) / f"{label}.parquet", old=old)
                        for _ in range(args.repeat)]
                res[label] = min(runs, key=lambda r: r["seconds"])
            a = pq.read_table(Path(tmp) / "before.parquet").to_pandas()
            b = pq.read_table(Path(tmp) / "now.parquet").to_pandas()
            res["same_rows"] = bool(a.equals(b))
            res["speedup"] = res["before"]["seconds"] / res["now"]["seconds"]
            out["models"][name] = res
            print(name, {k: (round(v["rows_per_s"]) if isinstance(v, dict) else v)
                         for k, v in res.items()}, flush=True)
    out["load_average_after"] = os.getloadavg()
    print(write_result(args.out, out))


if __name__ == "__main__":
    main()
