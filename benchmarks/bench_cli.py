"""The command line: start-up time, and streamed sampling's speed and peak memory.

* start-up: ``python -c "import synthgen.cli"`` and ``synthgen --help`` against a bare
  ``python -c pass`` (best of 5 wall-clock times each);
* streaming: ``synthgen sample --n N -o OUT`` for growing N, peak resident memory of the
  process (``wait4`` rusage) and rows/s, against the peer "sample everything in memory, then
  write it" (``gen.sample(N)`` then ``DataFrame.to_csv`` / ``to_parquet``) in the same run.
  The memory above the model is the peak for N minus the peak for 1,000 rows.

Run: python benchmarks/bench_cli.py [--quick] [--model gaussian] [--formats csv parquet]
(results: results/cli.json for the Gaussian, results/cli_<model>.json for another model)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import write_result

SCRIPT = Path(sys.executable).with_name("synthgen")

IN_MEMORY = """
import sys, synthgen
n, model, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
gen = synthgen.make(model).fit(synthgen.datasets.load("creditcard"), seed=0)
rows = gen.sample(n, seed=0)
if out.endswith(".parquet"):
    rows.to_parquet(out, index=False)
else:
    rows.to_csv(out, index=False)
"""


def run_measured(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err}")
    return seconds, usage.ru_maxrss / 1024


def best_wall(cmd: list[str], repeat: int = 5) -> float:
    return min(run_measured(cmd)[0] for _ in range(repeat))


def startup() -> dict:
    bare = best_wall([sys.executable, "-c", "pass"])
    imp = best_wall([sys.executable, "-c", "import synthgen.cli"])
    helps = best_wall([str(SCRIPT), "--help"])
    models = best_wall([str(SCRIPT), "models"])
    return {"python_bare_s": bare, "import_synthgen_cli_s": imp, "synthgen_help_s": helps,
            "synthgen_models_s": models}


def streaming(ns: list[int], fmt: str, model: str, peer_max: int, folder: Path) -> list[dict]:
    rows = []
    out = folder / f"rows.{fmt}"
    for n in ns:
        cmd = [str(SCRIPT), "sample", "--model", model, "--n", str(n), "--seed", "0", "-q",
               "-o", str(out)]
        seconds, rss = run_measured(cmd)
        size = out.stat().st_size / 2**20
        row = {"format": fmt, "n": n, "cli_s": seconds, "cli_rows_per_s": n / seconds,
               "cli_peak_rss_mib": rss, "file_mib": size}
        if n <= peer_max:
            peer_s, peer_rss = run_measured([sys.executable, "-c", IN_MEMORY, str(n), model, str(out)])
            row.update(peer_s=peer_s, peer_rows_per_s=n / peer_s, peer_peak_rss_mib=peer_rss,
                       speed_ratio_cli_over_peer=peer_s / seconds)
        out.unlink()
        rows.append(row)
        print_row(row)
    base = rows[0]["cli_peak_rss_mib"]
    for row in rows:
        row["cli_rss_above_model_mib"] = row["cli_peak_rss_mib"] - base
    return rows


def print_row(row: dict) -> None:
    peer = (f"{row['peer_s']:8.1f} {row['peer_peak_rss_mib']:9.0f} "
            f"{row['speed_ratio_cli_over_peer']:6.2f}x") if "peer_s" in row else f"{'-':>8} {'-':>9} {'-':>7}"
    print(f"{row['format']:8} {row['n']:>11,} {row['cli_s']:8.1f} {row['cli_rows_per_s']:>10,.0f} "
          f"{row['cli_peak_rss_mib']:9.0f} {row['file_mib']:9.0f}   {peer}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="stop at 1,000,000 rows")
    parser.add_argument("--model", default="gaussian")
    parser.add_argument("--formats", nargs="+", default=["csv", "parquet"])
    parser.add_argument("--peer-max", type=int, default=1_000_000,
                        help="largest N also run in memory by the peer")
    args = parser.parse_args()
    ns = [1_000, 100_000, 1_000_000] + ([] if args.quick else [10_000_000])

    times = startup()
    print("start-up (best of 5, wall):")
    for key, value in times.items():
        print(f"  {key:24} {value * 1000:7.0f} ms")
    print(f"\nsynthgen sample --model {args.model} (creditcard), peer = gen.sample(N) then write")
    print(f"{'format':8} {'N':>11} {'cli s':>8} {'rows/s':>10} {'peak MiB':>9} {'file MiB':>9}   "
          f"{'peer s':>8} {'peer MiB':>9} {'speed':>7}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats:
            results += streaming(ns, fmt, args.model, args.peer_max, Path(tmp))
    for fmt in args.formats:
        worst = max(r["cli_rss_above_model_mib"] for r in results if r["format"] == fmt)
        print(f"{fmt}: largest peak above the 1,000-row run: {worst:.0f} MiB")
    name = "cli" if args.model == "gaussian" else f"cli_{args.model}"
    path = write_result(name, {"model": args.model, "startup": times, "streaming": results,
                                "command": " ".join(["python", "benchmarks/bench_cli.py"] + sys.argv[1:])})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
