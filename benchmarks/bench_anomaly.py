"""Anomaly scoring on ADBench data: ROC AUC of each model's score, with IsolationForest alongside.

Each data set is split 70/30 (stratified, per seed); every model is fitted on the training
part without its labels (anomalies included, as in ADBench's unsupervised setting) and
ranks the test rows.  A row is called anomalous when its log density (``score_samples``) is
low, or its VAE reconstruction error high, or IsolationForest's ``score_samples`` low.
Features are standardised on the training part; columns constant there are dropped.

ECOD (pyod, the benchmark extra) is scored beside IsolationForest.

Run: python benchmarks/bench_anomaly.py [--seeds 0,1,2] [--datasets cardio,thyroid]
     [--models iforest,ecod,circuit] [--out anomaly_circuit]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

from _machine import write_result

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "anomaly"
DATASETS = {"cardio": "6_cardio.npz", "thyroid": "38_thyroid.npz", "mammography": "23_mammography.npz",
            "satellite": "30_satellite.npz", "shuttle": "32_shuttle.npz"}
GENERATORS = ("gaussian", "gmm", "pca_gmm", "kde", "circuit")


def load(name: str):
    with np.load(DATA / DATASETS[name]) as f:
        return np.asarray(f["X"], dtype=np.float64), np.asarray(f["y"]).astype(int)


def split(X, y, seed: int):
    from sklearn.model_selection import train_test_split

    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    keep = np.ptp(Xtr, axis=0) > 0
    Xtr, Xte = Xtr[:, keep], Xte[:, keep]
    mu, sd = Xtr.mean(0), Xtr.std(0)
    return (Xtr - mu) / sd, (Xte - mu) / sd, yte


def models(seed: int, vae_params: dict, only_vae: bool = False, only=None, circuit_params=None):
    """Name -> fn(X_train, X_test) -> {label: anomaly score of each test row (higher = odder)}."""
    import synthgen
    from sklearn.ensemble import IsolationForest

    def iforest(Xtr, Xte):
        return {"IsolationForest (sklearn)":
                -IsolationForest(random_state=seed).fit(Xtr).score_samples(Xte)}

    def ecod(Xtr, Xte):
        from pyod.models.ecod import ECOD

        return {"ECOD (pyod)": ECOD().fit(Xtr).decision_function(Xte)}

    def generator(name):
        params = (circuit_params or {}) if name == "circuit" else {}
        label = f"synthgen {name}" + (f" {json.dumps(params, sort_keys=True)}" if params else "")

        def fn(Xtr, Xte):
            return {label: -synthgen.make(name, **params).fit(Xtr, seed=seed).score_samples(Xte)}
        return fn

    def vae(Xtr, Xte):
        gen = synthgen.make("vae", **{"verbose": False, **vae_params}).fit(Xtr, seed=seed)
        return {"synthgen vae (ELBO)": -gen.score_samples(Xte),
                "synthgen vae (IW, k=64)": -gen.score_samples(Xte, n_importance=64),
                "synthgen vae (reconstruction error)": gen.reconstruction_error(Xte)}

    out = {} if only_vae else {"iforest": iforest, "ecod": ecod}
    for name in () if only_vae else GENERATORS:
        if name in synthgen.list_generators():
            out[name] = generator(name)
    out["vae"] = vae
    return out if only is None else {k: v for k, v in out.items() if k in only}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--vae-params", default="{}", help="VAE hyperparameters as JSON")
    ap.add_argument("--only-vae", action="store_true", help="skip the other models (for tuning)")
    ap.add_argument("--models", default=None,
                    help="comma-separated subset: iforest,ecod,gaussian,gmm,pca_gmm,kde,circuit,vae")
    ap.add_argument("--out", default="anomaly")
    ap.add_argument("--circuit-params", default="{}", help="circuit hyperparameters as JSON")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    from sklearn.metrics import roc_auc_score

    seeds = [int(s) for s in args.seeds.split(",")]
    vae_params = json.loads(args.vae_params)
    rows = []
    for name in args.datasets.split(","):
        X, y = load(name)
        print(f"{name}: {X.shape[0]} rows x {X.shape[1]}, {y.mean():.1%} anomalies", flush=True)
        per_model: dict[str, list] = {}
        for seed in seeds:
            Xtr, Xte, yte = split(X, y, seed)
            only = None if args.models is None else args.models.split(",")
            for model, fn in models(seed, vae_params, args.only_vae, only,
                                    json.loads(args.circuit_params)).items():
                t = time.perf_counter()
                try:
                    scores = fn(Xtr, Xte)
                except Exception as exc:  # noqa: BLE001 - a model that fails is reported, not fatal
                    print(f"  {model}: failed ({type(exc).__name__}: {exc})", flush=True)
                    scores = {f"synthgen {model}": np.full(len(yte), np.nan)}
                secs = time.perf_counter() - t
                for label, score in scores.items():
                    auc = float(roc_auc_score(yte, score)) if np.isfinite(score).all() else float("nan")
                    per_model.setdefault(label, []).append((auc, secs))
        for label, runs in per_model.items():
            aucs, secs = np.array([a for a, _ in runs]), np.array([s for _, s in runs])
            rows.append({"dataset": name, "model": label, "roc_auc_mean": float(np.mean(aucs)),
                         "roc_auc_std": float(np.std(aucs)), "roc_auc": aucs.tolist(),
                         "seconds_mean": float(secs.mean())})
            print(f"  {label:38s} ROC AUC {np.mean(aucs):.3f} +- {np.std(aucs):.3f}   "
                  f"fit+score {secs.mean():6.1f}s", flush=True)
        save(args, vae_params, rows)
    print(f"wrote {save(args, vae_params, rows)}")


def save(args, vae_params: dict, rows: list[dict]):
    return write_result(args.out, {
        "benchmark": "ROC AUC of anomaly scores on ADBench data (70/30 split, unsupervised fit)",
        "command": f"python benchmarks/bench_anomaly.py --datasets {args.datasets} --seeds {args.seeds}"
                   + (f" --models {args.models}" if args.models else "")
                   + (f" --vae-params '{args.vae_params}'" if vae_params else "")
                   + (f" --circuit-params '{args.circuit_params}'" if args.circuit_params != "{}" else ""),
        "vae_params": vae_params,
        "results": rows,
    })


if __name__ == "__main__":
    main()
