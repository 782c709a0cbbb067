"""Over-sampling rare frauds: synthgen generators against SMOTE, random over-sampling and nothing.

Data: the credit-card subset (../shared/data/creditcard_subset.csv), Time dropped.  For each seed
and each K, the training set is 60% of the genuine rows plus K real frauds; the test set is the
other genuine rows and every fraud not used for training.  Each method grows the frauds to
``--ratio`` times the genuine count; a logistic regression on standardised features is fitted on
the result (an imbalanced-learn Pipeline: sampler, StandardScaler, LogisticRegression).  Scores:
recall at a 1% false-positive rate (the largest true-positive rate on the ROC curve whose
false-positive rate is at most 1%) and ROC AUC, mean and standard deviation over the seeds; "fit s"
is the median time to fit the whole pipeline (the first fit of each shape includes JAX compilation).

"synthgen gaussian" uses the oversampler's small-class default (a diagonal covariance);
"synthgen gaussian full-cov" asks for a full covariance (with the default reg_covar=1e-3).

Run: python benchmarks/bench_augment.py [--quick] [--seeds 5] [--ratio 1.0] [--vae-epochs 100]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from _machine import write_result

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
GENERATORS = ("gaussian", "gmm", "pca_gmm", "kde", "vae")


def load_creditcard() -> tuple[pd.DataFrame, np.ndarray]:
    df = pd.read_csv(SHARED / "creditcard_subset.csv", index_col=0)
    y = df.pop("Class").to_numpy().astype(int)
    return df.drop(columns=["Time"]), y


def split(y: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train: 60% of genuine rows + k frauds; test: the other genuine rows + every other fraud."""
    rs = np.random.RandomState(seed)
    genuine = rs.permutation(np.flatnonzero(y == 0))
    fraud = rs.permutation(np.flatnonzero(y == 1))
    n_gen = int(round(0.6 * len(genuine)))
    train = np.concatenate([genuine[:n_gen], fraud[:k]])
    test = np.concatenate([genuine[n_gen:], fraud[k:]])
    return train, test


def recall_at_fpr(y_true, scores, fpr_max: float = 0.01) -> float:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y_true, scores)
    return float(tpr[fpr <= fpr_max].max())


def available_generators() -> list[str]:
    """The generators of GENERATORS that this installation can build."""
    from synthgen.registry import get_generator_class, list_generators

    out = []
    for name in GENERATORS:
        try:
            if name in list_generators() and get_generator_class(name):
                out.append(name)
        except (ImportError, AttributeError):
            pass
    return out


def methods(k: int, ratio: float, seed: int, vae_epochs: int, generators: list[str]) -> dict:
    """Name -> a sampler (None for no augmentation), each growing frauds to the same count."""
    from imblearn.over_sampling import SMOTE, RandomOverSampler
    from synthgen.augment import GeneratorOversampler

    out = {
        "none": None,
        "SMOTE": SMOTE(sampling_strategy=ratio, k_neighbors=min(5, k - 1), random_state=seed),
        "RandomOverSampler": RandomOverSampler(sampling_strategy=ratio, random_state=seed),
    }
    for name in generators:
        params = {"epochs": vae_epochs} if name == "vae" else None
        for avoid in (False, True):
            label = f"synthgen {name}" + (" +avoid" if avoid else "")
            out[label] = GeneratorOversampler(sampling_strategy=ratio, random_state=seed, generator=name,
                                              generator_params=params, avoid=avoid)
        if name == "gaussian":
            out["synthgen gaussian full-cov"] = GeneratorOversampler(
                sampling_strategy=ratio, random_state=seed, generator_params={"covariance_type": "full"})
    return out


def run_one(sampler, X, y, train, test) -> dict:
    from imblearn.pipeline import Pipeline
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    steps = [("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=1000))]
    if sampler is not None:
        steps.insert(0, ("over", sampler))
    model = Pipeline(steps)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X.iloc[train], y[train])
    seconds = time.perf_counter() - t0
    scores = model.decision_function(X.iloc[test])
    accept = float("nan")
    if sampler is not None and getattr(sampler, "avoid", False):
        accept = model.named_steps["over"].generators_[1].summary_["acceptance_rate"]
    return {"recall_at_1pct_fpr": recall_at_fpr(y[test], scores),
            "roc_auc": float(roc_auc_score(y[test], scores)), "fit_seconds": seconds,
            "acceptance_rate": accept}


def summarise(runs: list[dict]) -> list[dict]:
    frame = pd.DataFrame(runs)
    rows = []
    for (k, method), part in frame.groupby(["K", "method"], sort=False):
        rows.append({
            "K": int(k), "method": method, "n_seeds": len(part),
            "recall_mean": part["recall_at_1pct_fpr"].mean(), "recall_std": part["recall_at_1pct_fpr"].std(ddof=1),
            "auc_mean": part["roc_auc"].mean(), "auc_std": part["roc_auc"].std(ddof=1),
            "fit_seconds_median": part["fit_seconds"].median(),
            "acceptance_rate_mean": part["acceptance_rate"].mean(),
        })
    return rows


def print_table(rows: list[dict]) -> None:
    print(f"{'K':>3}  {'method':<28} {'recall@1%FPR':>15} {'ROC AUC':>17} {'fit s':>7} {'accepted':>9}")
    for r in rows:
        print(f"{r['K']:>3}  {r['method']:<28} {r['recall_mean']:.3f} ± {r['recall_std']:.3f}   "
              f"{r['auc_mean']:.4f} ± {r['auc_std']:.4f} {r['fit_seconds_median']:7.2f} "
              + ("" if np.isnan(r["acceptance_rate_mean"]) else f"{r['acceptance_rate_mean']:9.1%}"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="2 seeds, K = 10 and 50")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--ks", type=int, nargs="+", default=[10, 20, 50])
    parser.add_argument("--ratio", type=float, default=1.0, help="frauds grown to ratio x genuine")
    parser.add_argument("--vae-epochs", type=int, default=100)
    parser.add_argument("--only", nargs="*", help="method names to run (default: all)")
    args = parser.parse_args()
    seeds = range(2 if args.quick else args.seeds)
    ks = [10, 50] if args.quick else args.ks
    X, y = load_creditcard()
    generators = available_generators()
    print("synthgen generators:", ", ".join(generators), flush=True)
    runs = []
    t_start = time.perf_counter()
    for k in ks:
        for seed in seeds:
            train, test = split(y, k, seed)
            for name, sampler in methods(k, args.ratio, seed, args.vae_epochs, generators).items():
                if args.only and name not in args.only:
                    continue
                runs.append({"K": k, "seed": seed, "method": name, **run_one(sampler, X, y, train, test)})
        print(f"K={k} done ({time.perf_counter() - t_start:.0f} s)", flush=True)
    rows = summarise(runs)
    print_table(rows)
    command = "python benchmarks/bench_augment.py" + (" --quick" if args.quick else "")
    if not args.quick and (args.seeds != 5 or args.ratio != 1.0 or args.vae_epochs != 100 or args.ks != [10, 20, 50]):
        command += f" --seeds {args.seeds} --ratio {args.ratio} --vae-epochs {args.vae_epochs} --ks " + " ".join(map(str, ks))
    payload = {
        "command": command,
        "setup": {"data": "creditcard_subset.csv without Time (29 features)", "train": "60% genuine + K frauds",
                  "test": "other genuine + all unused frauds", "ratio": args.ratio, "seeds": list(seeds),
                  "classifier": "StandardScaler + LogisticRegression(max_iter=1000)",
                  "vae_epochs": args.vae_epochs, "smote_k_neighbors": "min(5, K - 1)"},
        "generators": generators,
        "generators_missing": [g for g in GENERATORS if g not in generators],
        "summary": rows,
        "runs": runs,
        "total_seconds": time.perf_counter() - t_start,
    }
    name = "augment_quick" if args.quick else "augment"
    if args.only:
        name += "_partial"
    print(f"wrote {write_result(name, payload)}")


if __name__ == "__main__":
    main()
