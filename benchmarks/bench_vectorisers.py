"""Vectorisers on UCI Adult: how decoding shapes samples, and how fast the round trip is.

* quality: a generator is fitted on Adult (TableVectoriser), 10,000 rows are drawn once in the
  model's space and decoded twice, with ``decoding="argmax"`` (0.5 thresholds, plain argmax)
  and ``decoding="calibrated"`` (the default).  Reported: the share of gaps in workclass,
  occupation and native-country minus the real share (percentage points), and the mean total
  variation distance between sampled and real frequencies over the 9 categorical columns.
* speed: TableVectoriser ``fit`` + ``transform`` and ``inverse_transform`` of all 32,561 rows,
  against scikit-learn's ``ColumnTransformer`` (``StandardScaler`` on the 6 integer columns,
  ``OneHotEncoder`` on the 9 text columns, gaps as their own category) on the same data
  (best of 3 wall-clock times each; scikit-learn's inverse is the encoders' own
  ``inverse_transform``).

Run: python benchmarks/bench_vectorisers.py [--models gaussian gmm] [--gmm-components 10]
     [--n 10000] [--out vectorisers]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from _machine import write_result

COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "income",
]
GAPS = ["workclass", "occupation", "native-country"]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "adult.data"


def load_adult() -> pd.DataFrame:
    return pd.read_csv(DATA, header=None, names=COLUMNS, skipinitialspace=True, na_values="?")


def quality(df: pd.DataFrame, model: str, hp: dict, n: int) -> list[dict]:
    import synthgen
    from synthgen.vectorisers.table import TableVectoriser

    start = time.perf_counter()
    gen = synthgen.make(model, **hp).fit(df, seed=0)
    fit_s = time.perf_counter() - start
    X = gen.sample_matrix(n, seed=1)
    cats = [c for c in df.columns if df[c].dtype.kind not in "iuf"]
    rows = []
    for decoding in ("argmax", "calibrated"):
        out = TableVectoriser(decoding=decoding).fit(df).inverse_transform(X)
        tv = [0.5 * out[c].value_counts(normalize=True, dropna=False)
              .sub(df[c].value_counts(normalize=True, dropna=False), fill_value=0).abs().sum()
              for c in cats]
        rows.append({
            "model": model, "hyperparameters": hp, "decoding": decoding, "fit_s": fit_s,
            "chosen": getattr(gen, "n_components_", None),
            **{f"gap_pp_{c}": 100 * (out[c].isna().mean() - df[c].isna().mean()) for c in GAPS},
            "mean_tv": float(np.mean(tv)),
        })
    return rows


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def speed(df: pd.DataFrame) -> dict:
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from synthgen.vectorisers.table import TableVectoriser

    nums = [c for c in df.columns if df[c].dtype.kind in "iu"]
    cats = [c for c in df.columns if c not in nums]
    filled = df.astype({c: object for c in cats}).fillna({c: "<missing>" for c in cats})
    vec = TableVectoriser().fit(df)
    X = vec.transform(df)
    ours_fwd = best_of(lambda: TableVectoriser().fit(df).transform(df))
    ours_inv = best_of(lambda: vec.inverse_transform(X))
    ct = ColumnTransformer([("num", StandardScaler(), nums),
                            ("cat", OneHotEncoder(sparse_output=False), cats)])
    Y = ct.fit_transform(filled)
    peer_fwd = best_of(lambda: ColumnTransformer(
        [("num", StandardScaler(), nums), ("cat", OneHotEncoder(sparse_output=False), cats)]
    ).fit_transform(filled))
    k = len(nums)

    def peer_inverse():
        ct.named_transformers_["num"].inverse_transform(Y[:, :k])
        ct.named_transformers_["cat"].inverse_transform(Y[:, k:])

    peer_inv = best_of(peer_inverse)
    return {"rows": len(df), "features": int(X.shape[1]),
            "table_fit_transform_s": ours_fwd, "sklearn_fit_transform_s": peer_fwd,
            "table_inverse_s": ours_inv, "sklearn_inverse_s": peer_inv,
            "fit_transform_ratio_sklearn_over_table": peer_fwd / ours_fwd,
            "inverse_ratio_sklearn_over_table": peer_inv / ours_inv}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["gaussian", "gmm"])
    parser.add_argument("--gmm-components", default="10",
                        help="an int, or 'bic' for the generator's default sweep")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--out", default="vectorisers", help="name of the result file")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    df = load_adult()
    comps = args.gmm_components if args.gmm_components == "bic" else int(args.gmm_components)
    rows = []
    for model in args.models:
        hp = {"n_components": comps} if model == "gmm" else {}
        rows += quality(df, model, hp, args.n)
    print(f"{'model':10} {'decoding':11} {'fit s':>7} " + " ".join(f"{c[:14]:>14}" for c in GAPS)
          + f" {'mean TV':>8}")
    for r in rows:
        print(f"{r['model']:10} {r['decoding']:11} {r['fit_s']:7.1f} "
              + " ".join(f"{r['gap_pp_' + c]:+14.2f}" for c in GAPS) + f" {r['mean_tv']:8.4f}")
    sp = speed(df)
    print(f"\nround trip of {sp['rows']} rows x {sp['features']} features (best of 3):")
    print(f"  fit+transform: table {sp['table_fit_transform_s']:.3f} s, scikit-learn "
          f"{sp['sklearn_fit_transform_s']:.3f} s "
          f"(ratio {sp['fit_transform_ratio_sklearn_over_table']:.2f})")
    print(f"  inverse:       table {sp['table_inverse_s']:.3f} s, scikit-learn "
          f"{sp['sklearn_inverse_s']:.3f} s (ratio {sp['inverse_ratio_sklearn_over_table']:.2f})")
    path = write_result(args.out, {"n_samples": args.n, "quality": rows, "speed": sp,
                                        "command": "python benchmarks/bench_vectorisers.py "
                                        + " ".join(f"--{k.replace('_', '-')} {v}" if not
                                                   isinstance(v, list) else f"--{k} {' '.join(v)}"
                                                   for k, v in vars(args).items())})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
