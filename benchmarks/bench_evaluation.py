"""Evaluation: speed and memory of the privacy search, and of the fidelity report, against peers.

* privacy: DCR and NNDR (two nearest training rows per synthetic row) on encoded KDD Cup 99
  rows (real data; 3 categorical and 38 numeric columns, 120 features after one-hot encoding),
  N training x N synthetic rows for growing N; synthgen's chunked JAX top-2
  (``synthgen.evaluation.privacy.nearest_k``) against scikit-learn's
  ``NearestNeighbors(n_neighbors=2, algorithm="brute")`` (chunked, same Euclidean distances),
  and, where it finishes in reasonable time, SDMetrics' ``calculate_dcr`` (its own
  range-normalised distance, one nearest record only: the same job, not the same numbers).
  Each measurement runs in its own process on data prepared beforehand; "memory" is the peak
  resident memory of the search above the resident memory before it; synthgen's time excludes building the index and
  compiling (reported apart), which a second evaluation with the same shapes does not repeat.
* fidelity: ``synthgen.evaluation.fidelity.fidelity`` against SDMetrics' single-table
  ``QualityReport.generate`` (same scores, see tests/test_eval_sdmetrics.py) on Adult halves,
  both counting every column pair (thresholds 0 and 0, the published papers' convention).
* the whole ``synthgen.evaluate`` (fidelity, detection, utility, privacy) on Adult halves,
  with the same thresholds.

Every measurement runs in a process of its own.

Run: python benchmarks/bench_evaluation.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from _machine import write_result

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "income",
]


PRIVACY_METHODS = ("synthgen", "sklearn", "sdmetrics")


def kdd_frame() -> pd.DataFrame:
    df = pd.read_csv(DATA / "kddcup_10_percent.gz", header=None)
    return df.drop(columns=[41]).rename(columns=str)


def prepare(df: pd.DataFrame, n: int, folder: Path) -> int:
    """Two disjoint sets of ``n`` KDD rows (training, synthetic stand-in), saved encoded and raw."""
    from synthgen.evaluation._tables import Encoder, align

    pick = np.random.default_rng(0).permutation(len(df))
    t = align(df.iloc[pick[:n]], df.iloc[pick[n:2 * n]])
    enc = Encoder(t.kinds).fit(t.real, [t.synthetic])
    np.save(folder / "train.npy", enc.transform(t.real))
    np.save(folder / "synthetic.npy", enc.transform(t.synthetic))
    t.real.to_parquet(folder / "train.parquet")
    t.synthetic.to_parquet(folder / "synthetic.parquet")
    (folder / "kinds.json").write_text(json.dumps(t.kinds))
    return len(enc.feature_names())


def adult() -> pd.DataFrame:
    return pd.read_csv(DATA / "adult.data", header=None, names=ADULT_COLUMNS,
                       skipinitialspace=True, na_values="?")


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise OSError(field)


def _measure(fn) -> tuple[float, float, np.ndarray]:
    """Seconds, and peak resident memory above the resident memory at the start (MB).

    On Linux the peak is reset first (``/proc/self/clear_refs``), so it is the peak of ``fn``
    alone; elsewhere it is the process's peak above its earlier peak.
    """
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        base, peak = _status_mb("VmRSS"), lambda: _status_mb("VmHWM")
    except OSError:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # noqa: E731
    start = time.perf_counter()
    d = fn()
    return time.perf_counter() - start, peak() - base, d


def child(method: str, folder: Path) -> dict:
    """One privacy measurement (run in a fresh process, on the prepared data)."""
    X_train, X_syn = np.load(folder / "train.npy"), np.load(folder / "synthetic.npy")
    extra = {}
    if method == "synthgen":
        from synthgen.evaluation.privacy import QUERY_CHUNK, nearest_k
        from synthgen.sampling.nearest import RecordIndex

        start = time.perf_counter()
        index = RecordIndex(X_train, record_chunk=4096)
        nearest_k(X_train, X_syn[:QUERY_CHUNK], 2, index=index)
        extra["prepare_and_compile_s"] = time.perf_counter() - start
        seconds, mem, d = _measure(lambda: nearest_k(X_train, X_syn, 2, index=index).distance)
    elif method == "sklearn":
        from sklearn.neighbors import NearestNeighbors

        seconds, mem, d = _measure(lambda: NearestNeighbors(n_neighbors=2, algorithm="brute")
                                   .fit(X_train).kneighbors(X_syn)[0])
    else:
        from sdmetrics.single_table.privacy.dcr_utils import calculate_dcr

        train, syn = pd.read_parquet(folder / "train.parquet"), pd.read_parquet(folder / "synthetic.parquet")
        kinds = json.loads((folder / "kinds.json").read_text())
        meta = {"columns": {c: {"sdtype": "numerical" if k == "continuous" else "categorical"}
                            for c, k in kinds.items()}}

        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dcr = calculate_dcr(syn, train, meta).to_numpy()
            return np.column_stack([dcr, dcr])

        seconds, mem, d = _measure(run)
    return {"method": method, "n": len(X_train), "features": int(X_train.shape[1]), "seconds": seconds,
            "memory_mb": mem, "dcr_median": float(np.median(d[:, 0])),
            "dcr_sum": float(np.sum(d[:, 0])), **extra}


def run_child(method: str, n: int, folder: Path, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--child", method, str(folder)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"method": method, "n": n, "seconds": None, "timed_out_after": timeout}
    return json.loads(out.stdout.strip().splitlines()[-1])


def privacy_rows(sizes, sdmetrics_max: int, timeout: float) -> list[dict]:
    rows = []
    df = kdd_frame()
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            prepare(df, n, Path(tmp))
            for method in PRIVACY_METHODS:
                if method == "sdmetrics" and n > sdmetrics_max:
                    continue
                res = run_child(method, n, Path(tmp), timeout)
                rows.append(res)
                print(json.dumps(res), flush=True)
    return rows


def adult_halves(n_rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = adult().sample(2 * n_rows, random_state=0).reset_index(drop=True)
    return df.iloc[:n_rows].reset_index(drop=True), df.iloc[n_rows:].reset_index(drop=True)


def fidelity_child(method: str, n_rows: int) -> dict:
    """One Adult measurement, in a fresh process: SDMetrics' imports slow numpy's BLAS down in
    the same process (scikit-learn's OpenMP next to OpenBLAS), so nothing shares a process."""
    real, synth = adult_halves(n_rows)
    if method == "fidelity-synthgen":
        from synthgen.evaluation._tables import align
        from synthgen.evaluation.fidelity import EVERY_PAIR, fidelity

        start = time.perf_counter()
        t = align(real, synth)
        score = fidelity(t.real, t.synthetic, t.kinds, **EVERY_PAIR)["score"]
    elif method == "fidelity-sdmetrics":
        from sdmetrics.reports.single_table import QualityReport

        meta = {"columns": {c: {"sdtype": "numerical" if real[c].dtype.kind in "if" else "categorical"}
                            for c in real.columns}}
        report = QualityReport()
        report.real_correlation_threshold = report.real_association_threshold = 0
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report.generate(real, synth, meta, verbose=False)
        score = float(report.get_score())
    else:
        import synthgen
        from synthgen.evaluation import EVERY_PAIR

        start = time.perf_counter()
        score = synthgen.evaluate(real, synth, target="income", **EVERY_PAIR).score
    return {"method": method, "rows_each": n_rows, "seconds": time.perf_counter() - start, "score": score}


def fidelity_rows(n_rows: int) -> dict:
    out = {}
    for method in ("fidelity-synthgen", "fidelity-sdmetrics", "evaluate"):
        cmd = [sys.executable, __file__, "--child", method, str(n_rows)]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, check=True)
        out[method] = json.loads(res.stdout.strip().splitlines()[-1])
        print(json.dumps(out[method]), flush=True)
    ours, theirs = out["fidelity-synthgen"], out["fidelity-sdmetrics"]
    return {"rows_each": n_rows, "synthgen_fidelity_s": ours["seconds"],
            "sdmetrics_quality_report_s": theirs["seconds"],
            "speedup_vs_sdmetrics": theirs["seconds"] / ours["seconds"], "score": ours["score"],
            "sdmetrics_score": theirs["score"], "synthgen_evaluate_s": out["evaluate"]["seconds"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--child", nargs=2)
    args = ap.parse_args()
    if args.child:
        method, arg = args.child
        res = child(method, Path(arg)) if method in PRIVACY_METHODS else fidelity_child(method, int(arg))
        print(json.dumps(res))
        return
    sizes = [2_000, 5_000] if args.quick else [2_000, 10_000, 30_000, 100_000]
    privacy = privacy_rows(sizes, sdmetrics_max=2_000 if args.quick else 5_000,
                           timeout=120 if args.quick else 1200)
    fid = fidelity_rows(3_000 if args.quick else 16_000)
    print(f"\n{'N x N':>10} {'method':>10} {'seconds':>9} {'memory MB':>10} {'vs synthgen':>12}")
    ours = {r["n"]: r["seconds"] for r in privacy if r["method"] == "synthgen"}
    for r in privacy:
        ratio = (r["seconds"] / ours[r["n"]]) if r.get("seconds") and ours.get(r["n"]) else None
        sec = f"{r['seconds']:.2f}" if r.get("seconds") is not None else "timeout"
        mem = f"{r['memory_mb']:.0f}" if "memory_mb" in r else "-"
        print(f"{r['n']:>10} {r['method']:>10} {sec:>9} {mem:>10} "
              f"{(f'{ratio:.1f}x' if ratio else '-'):>12}")
    print(f"\nfidelity on Adult {fid['rows_each']} vs {fid['rows_each']}: synthgen "
          f"{fid['synthgen_fidelity_s']:.2f}s, SDMetrics QualityReport {fid['sdmetrics_quality_report_s']:.2f}s "
          f"({fid['speedup_vs_sdmetrics']:.1f}x); whole evaluate {fid['synthgen_evaluate_s']:.2f}s "
          f"(every column pair counts: thresholds 0 and 0 on both sides)")
    path = write_result("evaluation_quick" if args.quick else "evaluation",
                        {"privacy": privacy, "fidelity": fid})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
