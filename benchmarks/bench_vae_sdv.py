"""The VAE against SDV's TVAESynthesizer: SDMetrics quality and fit time at equal epochs.

Both models are fitted on the same rows for the same number of epochs (TVAE's default, 300),
the VAE without early stopping so the epoch counts match; each then samples as many rows as
it was given, and SDMetrics' QualityReport (column shapes, column pair trends) compares the
samples with the training rows.  A second VAE row reports the default fit with early stopping.

Needs sdv and sdmetrics (and a CPU build of torch), kept out of synthgen's own environment:

    python3 -m venv /work/venv-bench
    /work/venv-bench/bin/pip install torch==2.13.0
    /work/venv-bench/bin/pip install -e . sdv sdmetrics
    /work/venv-bench/bin/python benchmarks/bench_vae_sdv.py [--adult-rows 5000] [--epochs 300]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from _machine import write_result

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
    "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
    "hours-per-week", "native-country", "income",
]


def load_adult(rows: int | None, seed: int) -> pd.DataFrame:
    df = pd.read_csv(DATA / "adult.data", header=None, names=ADULT_COLUMNS,
                     skipinitialspace=True, na_values="?")
    if rows and rows < len(df):
        df = df.sample(rows, random_state=seed).reset_index(drop=True)
    return df


def load_creditcard() -> pd.DataFrame:
    return pd.read_csv(DATA / "creditcard_subset.csv", index_col=0).reset_index(drop=True)


def sdv_metadata(df: pd.DataFrame):
    from sdv.metadata import Metadata

    return Metadata.detect_from_dataframes({"table": df}, infer_keys=None)


def quality(real: pd.DataFrame, synth: pd.DataFrame, metadata) -> dict:
    from sdmetrics.reports.single_table import QualityReport

    report = QualityReport()
    report.generate(real, synth, metadata.to_dict()["tables"]["table"], verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return {"overall": float(report.get_score()),
            "column_shapes": float(props["Column Shapes"]),
            "column_pair_trends": float(props["Column Pair Trends"])}


def run_tvae(df: pd.DataFrame, metadata, epochs: int, seed: int) -> dict:
    import torch
    from sdv.single_table import TVAESynthesizer

    torch.manual_seed(seed)
    np.random.seed(seed)
    model = TVAESynthesizer(metadata, epochs=epochs, enable_gpu=False)
    t = time.perf_counter()
    model.fit({"table": df})
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    synth = model.sample(len(df))
    synth = synth["table"] if isinstance(synth, dict) else synth
    return {"fit_s": fit_s, "sample_s": time.perf_counter() - t, "epochs": epochs, "synth": synth}


def run_vae(df: pd.DataFrame, params: dict, seed: int) -> dict:
    import synthgen

    model = synthgen.make("vae", verbose=False, **params)
    t = time.perf_counter()
    model.fit(df, seed=seed)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    synth = model.sample(len(df), seed=seed + 1)
    return {"fit_s": fit_s, "sample_s": time.perf_counter() - t, "epochs": model.n_epochs_,
            "synth": synth}


def vae_vectoriser(name: str, scaling: str):
    from synthgen.vectorisers import make_vectoriser

    if name == "adult":
        return make_vectoriser("table", continuous=scaling)
    if scaling.endswith("+log"):
        return make_vectoriser("creditcard", scaling=scaling[:-4], time="keep", log_amount=True)
    return make_vectoriser("creditcard", scaling=scaling, time="keep")


def bench_dataset(name: str, df: pd.DataFrame, args) -> list[dict]:
    metadata = sdv_metadata(df)
    base = json.loads(args.vae_params)
    rows = []
    runs = [
        ("TVAE (SDV, defaults)", lambda: run_tvae(df, metadata, args.epochs, args.seed)),
        ("synthgen vae, same epochs",
         lambda: run_vae(df, {**base, "epochs": args.epochs, "patience": None,
                              "vectoriser": vae_vectoriser(name, args.scaling)}, args.seed)),
        ("synthgen vae, early stopping",
         lambda: run_vae(df, {**base, "epochs": args.epochs,
                              "vectoriser": vae_vectoriser(name, args.scaling)}, args.seed)),
    ]
    for label, run in runs:
        if args.skip_tvae and label.startswith("TVAE"):
            continue
        out = run()
        synth = out.pop("synth")
        out.update(quality(df, synth, metadata), dataset=name, model=label, rows=len(df))
        rows.append(out)
        print(f"  {label:30s} fit {out['fit_s']:7.1f}s  epochs {out['epochs']:4d}  "
              f"quality {out['overall']:.3f} (shapes {out['column_shapes']:.3f}, "
              f"pairs {out['column_pair_trends']:.3f})", flush=True)
    tvae = next((r for r in rows if r["model"].startswith("TVAE")), None)
    same = next(r for r in rows if r["model"] == "synthgen vae, same epochs")
    if tvae is not None:
        same["speedup_vs_tvae"] = tvae["fit_s"] / same["fit_s"]
        print(f"  fit speed-up at {args.epochs} epochs: {same['speedup_vs_tvae']:.1f}x faster than TVAE")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="adult,creditcard")
    ap.add_argument("--adult-rows", type=int, default=5000, help="subsample of Adult (0: all 32,561)")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scaling", default="quantile", help="the VAE's scaling of numeric columns")
    ap.add_argument("--vae-params", default="{}", help="extra VAE hyperparameters as JSON")
    ap.add_argument("--skip-tvae", action="store_true", help="only the VAE (for tuning)")
    ap.add_argument("--out", default="vae_sdv")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    for name in args.datasets.split(","):
        df = load_adult(args.adult_rows, args.seed) if name == "adult" else load_creditcard()
        print(f"{name}: {df.shape[0]} rows x {df.shape[1]} columns", flush=True)
        rows += bench_dataset(name, df, args)
    path = write_result(args.out, {
        "benchmark": "VAE vs SDV TVAESynthesizer: SDMetrics QualityReport and fit time",
        "command": "python benchmarks/bench_vae_sdv.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k not in ("out", "skip_tvae")),
        "notes": f"Adult subsampled to {args.adult_rows} rows" if args.adult_rows else "full Adult",
        "results": rows,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
