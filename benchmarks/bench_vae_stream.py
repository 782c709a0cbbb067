"""The VAE trained from a Parquet dataset streamed in batches (``synthgen.dask.fit``) against
in-memory training (``VAEGenerator.fit`` on the whole table), on the same 10-column data.

Both runs are separate processes, so that each one's peak memory (VmHWM) is its own: the
streamed one reads row groups of ``--group-rows`` rows and should hold a window of them, the
in-memory one holds the table.  Each is run with the standard-normal prior (the fit is then
the passes and the epochs) and with the learned prior (fitted on every training row's code in
memory, on at most 65,536 evenly spread rows in the stream).  Reported: the fit's wall time,
the final training loss, the best validation loss, and the mean ELBO of a held-out sample.

Run: python benchmarks/bench_vae_stream.py [--rows 1000000] [--epochs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _machine import write_result

ROOT = Path(__file__).resolve().parents[1]


def _rows(n, seed, d=10, k=5):
    r = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(scale=4.0, size=(k, d))
    return centres[r.integers(0, k, n)] + r.normal(size=(n, d))


def _write(folder: Path, rows: int, group: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir()
    per_file = 8 * group
    for i, start in enumerate(range(0, rows, per_file)):
        X = _rows(min(per_file, rows - start), 1000 + i)
        pq.write_table(pa.table({f"c{j}": X[:, j] for j in range(10)}),
                       folder / f"part.{i:05d}.parquet", row_group_size=group)


CHILD = r"""
import json, sys, time
import numpy as np, pandas as pd
import synthgen, synthgen.dask as sdask
from synthgen.vectorisers.base import NumericVectoriser
mode, folder, epochs, prior = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[5]
hp = dict(epochs=epochs, batch_size=256, patience=None, kl_warmup=1, verbose=False,
          vectoriser=NumericVectoriser(), prior=prior)
gen = synthgen.make("vae", **hp)
t = time.perf_counter()
if mode == "stream":
    sdask.fit(gen, folder, seed=0)
else:
    gen.fit(pd.read_parquet(folder), seed=0)
seconds = time.perf_counter() - t
test = pd.read_parquet(sys.argv[4])
with open("/proc/self/status") as fh:
    hwm = [int(l.split()[1]) / 1024 for l in fh if l.startswith("VmHWM:")][0]
print(json.dumps({"seconds": seconds, "epochs": gen.n_epochs_, "final_train_loss": float(gen.history_["train_loss"][-1]),
                  "best_val_loss": float(np.nanmin(gen.history_["val_loss"])),
                  "heldout_mean_elbo": float(gen.score_samples(test).mean()),
                  "peak_rss_mb": hwm}))
"""


def main() -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--group-rows", type=int, default=65_536)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--out", default="vae_stream")
    args = ap.parse_args()
    out = {"command": " ".join(sys.argv), "rows": args.rows, "columns": 10,
           "group_rows": args.group_rows, "epochs": args.epochs, "batch_size": 256,
           "load_average_before": os.getloadavg()}
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        folder, test = Path(tmp) / "data", Path(tmp) / "test.parquet"
        _write(folder, args.rows, args.group_rows)
        X = _rows(20000, 7)
        pq.write_table(pa.table({f"c{j}": X[:, j] for j in range(10)}), test)
        for prior in ("standard", "learned"):
            for mode in ("stream", "in_memory"):
                t = time.perf_counter()
                res = subprocess.run([sys.executable, "-c", CHILD, mode, str(folder),
                                      str(args.epochs), str(test), prior],
                                     env=env, capture_output=True, text=True)
                if res.returncode != 0:
                    raise RuntimeError(f"{mode} failed: {res.stderr[-2000:]}")
                run = json.loads(res.stdout.strip().splitlines()[-1])
                run["process_seconds"] = time.perf_counter() - t
                out[f"{mode}_{prior}_prior"] = run
                print(mode, prior, run, flush=True)
            out[f"fit_time_ratio_stream_vs_in_memory_{prior}_prior"] = (
                out[f"stream_{prior}_prior"]["seconds"] / out[f"in_memory_{prior}_prior"]["seconds"])
    out["load_average_after"] = os.getloadavg()
    print(write_result(args.out, out))


if __name__ == "__main__":
    main()
