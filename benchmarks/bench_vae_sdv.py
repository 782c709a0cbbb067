"""The VAE against SDV's TVAESynthesizer: SDMetrics quality and fit time at equal epochs.

Both models are fitted on the same rows for the same number of epochs (TVAE's default, 300),
the VAE without early stopping so the epoch counts match; each then samples as many rows as
it was given, and SDMetrics' QualityReport (column shapes, column pair trends) compares the
samples with the training rows.  A second VAE row reports the default fit with early stopping.

Needs sdv and sdmetrics (and a CPU build of torch), kept out of synthgen's own environment:

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -e ".[bench]"
    .venv-bench/bin/python benchmarks/bench_vae_sdv.py [--adult-rows 5000] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from _machine import RESULTS, write_result

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


def vae_vectoriser(name: str, args):
    """Adult: the TableVectoriser; card data: the CreditCardVectoriser, keeping Time."""
    from synthgen.vectorisers import make_vectoriser

    if name == "adult":
        return make_vectoriser("table", continuous=args.adult_scaling)
    return make_vectoriser("creditcard", scaling=args.card_scaling, time="keep")


def runs_for(name: str, df: pd.DataFrame, metadata, args, seed: int):
    base = json.loads(args.vae_params)
    vae = {**base, "epochs": args.epochs}
    out = []
    if not args.skip_tvae:
        out.append(("TVAE (SDV, defaults)", lambda: run_tvae(df, metadata, args.epochs, seed)))
    out.append(("synthgen vae, same epochs", lambda: run_vae(
        df, {**vae, "patience": None, "vectoriser": vae_vectoriser(name, args)}, seed)))
    out.append(("synthgen vae, early stopping", lambda: run_vae(
        df, {**vae, "vectoriser": vae_vectoriser(name, args)}, seed)))
    return out


def bench_dataset(name: str, df: pd.DataFrame, args, save) -> tuple[list[dict], list[dict]]:
    metadata = sdv_metadata(df)
    rows: list[dict] = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for label, run in runs_for(name, df, metadata, args, seed):
            out = run()
            synth = out.pop("synth")
            out.update(quality(df, synth, metadata), dataset=name, model=label, rows=len(df), seed=seed)
            rows.append(out)
            save(rows)
            print(f"  seed {seed} {label:30s} fit {out['fit_s']:7.1f}s  epochs {out['epochs']:4d}  "
                  f"quality {out['overall']:.3f} (shapes {out['column_shapes']:.3f}, "
                  f"pairs {out['column_pair_trends']:.3f})", flush=True)
    return rows, summarise(name, rows, args.epochs)


def summarise(name: str, rows: list[dict], epochs: int) -> list[dict]:
    table = []
    for label in dict.fromkeys(r["model"] for r in rows):
        sel = [r for r in rows if r["model"] == label]
        entry = {"dataset": name, "model": label, "runs": len(sel)}
        for key in ("overall", "column_shapes", "column_pair_trends", "fit_s", "epochs"):
            vals = np.array([r[key] for r in sel], dtype=float)
            entry[key] = float(vals.mean())
            entry[key + "_std"] = float(vals.std())
        table.append(entry)
    tvae = next((t for t in table if t["model"].startswith("TVAE")), None)
    same = next(t for t in table if t["model"] == "synthgen vae, same epochs")
    print(f"  {name} means over {same['runs']} seed(s):")
    for t in table:
        print(f"    {t['model']:30s} quality {t['overall']:.3f} +- {t['overall_std']:.3f}  "
              f"shapes {t['column_shapes']:.3f}  pairs {t['column_pair_trends']:.3f}  "
              f"fit {t['fit_s']:6.1f}s  epochs {t['epochs']:.0f}")
    if tvae is not None:
        same["fit_speedup_vs_tvae"] = tvae["fit_s"] / same["fit_s"]
        print(f"    fit at {epochs} epochs: synthgen vae {same['fit_speedup_vs_tvae']:.1f}x faster than TVAE")
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="adult,creditcard")
    ap.add_argument("--adult-rows", type=int, default=5000, help="subsample of Adult (0: all 32,561)")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--adult-scaling", default="quantile", help="TableVectoriser numeric scaling")
    ap.add_argument("--card-scaling", default="minmax", help="CreditCardVectoriser scaling")
    ap.add_argument("--vae-params", default="{}", help="extra VAE hyperparameters as JSON")
    ap.add_argument("--skip-tvae", action="store_true", help="only the VAE (for tuning)")
    ap.add_argument("--out", default="vae_sdv")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    rows, summary = [], []

    def save(partial_rows=()):
        write_result(args.out, {
            "benchmark": "VAE vs SDV TVAESynthesizer: SDMetrics QualityReport and fit time",
            "command": "python benchmarks/bench_vae_sdv.py " + " ".join(
                f"--{k.replace('_', '-')} '{v}'" for k, v in vars(args).items()
                if k not in ("out", "skip_tvae")),
            "notes": (f"Adult: a random {args.adult_rows} of the 32,561 rows (fixed, seed 0)"
                      if args.adult_rows else "Adult: all rows") + "; quality is measured against "
                     "the training rows, with as many synthetic rows as real ones",
            "summary": summary,
            "runs": rows + list(partial_rows),
        })

    for name in args.datasets.split(","):
        df = load_adult(args.adult_rows, 0) if name == "adult" else load_creditcard()
        print(f"{name}: {df.shape[0]} rows x {df.shape[1]} columns", flush=True)
        r, t = bench_dataset(name, df, args, save)
        rows += r
        summary += t
    save()
    print(f"wrote {RESULTS / (args.out + '.json')}")


if __name__ == "__main__":
    main()
