"""Fidelity on the measures of the probabilistic-circuit comparison (arXiv 2603.23016).

    python benchmarks/bench_fidelity.py                       # Adult, every synthgen generator
    python benchmarks/bench_fidelity.py --models circuit gaussian --sdv
    python benchmarks/bench_fidelity.py --data creditcard --target Class
    python benchmarks/bench_fidelity.py --data kddcup --models circuit
    python benchmarks/bench_fidelity.py --models vae vae:prior=standard --tag vae

A model is a generator name, optionally with hyperparameters: ``circuit:n_components=32``.
``vae`` and ``vae:prior=standard`` with otherwise equal settings share one trained network
(the standard prior's row reuses the learned one's fit; only the latent draws differ).

A fixed 80/20 split (seed 0).  Each model is fitted on the 80% and samples as many rows.

* Shape and Trend: SDMetrics QualityReport's properties with both pair thresholds at 0
  (``synthgen.evaluate(..., **EVERY_PAIR)``, equal to SDMetrics to 1e-6; tests/test_eval_sdmetrics.py).
* logistic and XGBoost C2ST: a classifier tells real training rows from as many synthetic rows,
  3-fold cross-validated ROC AUC; the score is ``1 - (2 max(AUC, 0.5) - 1)`` (1: cannot tell).
* TSTR AUC: XGBoost trained on the synthetic rows, ROC AUC on the real holdout, beside the same
  trained on the real training rows (TRTR).
* DCR share: the share of synthetic rows whose closest record (standardised numbers, one-hot
  categories, Euclidean) is a training row rather than a holdout row, with the training rows cut
  to the holdout's size (0.5 is ideal); the share of exact copies of a training row.
* fit and sample time (wall seconds; sampling after a warm-up call of the same size).
* for synthgen's models, the model's own conditional: ROC AUC on the holdout of
  ``p(target | other columns)`` from ``score_samples`` (exact for the circuit, an ELBO for the
  VAE), roughly what TSTR approaches with many synthetic rows.

The published rows are quoted from the paper's result tables (april-tools/tabpc), not measured here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_result  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

PUBLISHED = [  # Adult; arXiv 2603.23016, result tables in april-tools/tabpc (published, not measured)
    {"model": "TabPC (published)", "shape": 0.9942, "trend": 0.9856, "c2st_logistic": 0.9959,
     "c2st_xgboost": 0.8554, "tstr_auc": 0.9162, "dcr_share": 0.543, "fit_s": 272},
    {"model": "TabDiff (published)", "shape": 0.9932, "trend": 0.9846, "c2st_logistic": 0.9899,
     "c2st_xgboost": 0.8409, "tstr_auc": 0.9130, "dcr_share": 0.549, "fit_s": 11605},
    {"model": "TabSyn (published)", "shape": 0.9921, "trend": 0.9795, "c2st_logistic": 0.9866,
     "c2st_xgboost": 0.7942, "tstr_auc": 0.9104, "dcr_share": 0.507, "fit_s": 3083},
    {"model": "shallow mixture (published)", "shape": 0.9924, "trend": 0.9814,
     "c2st_logistic": 0.9879, "c2st_xgboost": 0.7727, "tstr_auc": 0.9022, "dcr_share": 0.550,
     "fit_s": 60},
    {"model": "TVAE (published)", "shape": 0.7619, "trend": 0.6664, "c2st_logistic": 0.2286,
     "c2st_xgboost": 0.0, "tstr_auc": 0.8710, "dcr_share": 0.503, "fit_s": 1310},
]

KDD_COLUMNS = [f"c{i}" for i in range(41)] + ["label"]


def load(name: str):
    import synthgen

    if name == "adult":
        return synthgen.datasets.load("adult"), "income"
    if name == "creditcard":
        # without Time (seconds since the first transaction): the creditcard vectoriser that
        # every generator picks for this table leaves it out, as a row's own property it is not
        return synthgen.datasets.load("creditcard").drop(columns="Time"), "Class"
    if name == "kddcup":
        frame = pd.read_csv(SHARED / "kddcup_10_percent.gz", header=None, names=KDD_COLUMNS)
        frame["label"] = np.where(frame["label"] == "normal.", "normal", "attack")
        return frame, "label"
    raise SystemExit(f"unknown data set {name!r}")


def encode(frames, reference: pd.DataFrame) -> list[np.ndarray]:
    """Standardised numbers (gaps: 0 plus an indicator) and one-hot categories, fitted on
    ``reference``."""
    numeric = [c for c in reference.columns if pd.api.types.is_numeric_dtype(reference[c])]
    cats = [c for c in reference.columns if c not in numeric]
    mean = reference[numeric].mean()
    std = reference[numeric].std().replace(0, 1.0)
    levels = {c: np.asarray(reference[c].astype(object).where(reference[c].notna(), "<gap>")
                            .astype(str).unique()) for c in cats}
    out = []
    for f in frames:
        parts = [((f[numeric] - mean) / std).fillna(0.0).to_numpy(float)]
        parts += [f[numeric].isna().to_numpy(float)]
        for c in cats:
            v = np.asarray(f[c].astype(object).where(f[c].notna(), "<gap>").astype(str))
            parts.append((v[:, None] == levels[c][None, :]).astype(float))
        out.append(np.hstack(parts))
    return out


def c2st(real: pd.DataFrame, synth: pd.DataFrame, seed: int = 0) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from xgboost import XGBClassifier

    n = min(len(real), len(synth))
    real = real.sample(n, random_state=seed)
    synth = synth.sample(n, random_state=seed)
    Xr, Xs = encode([real, synth], real)
    X = np.vstack([Xr, Xs])
    y = np.r_[np.zeros(n), np.ones(n)]
    folds = StratifiedKFold(3, shuffle=True, random_state=seed)
    out = {}
    for name, model in (("logistic", LogisticRegression(max_iter=1000)),
                        ("xgboost", XGBClassifier(n_estimators=200, max_depth=6, n_jobs=2,
                                                  random_state=seed, verbosity=0))):
        auc = float(np.mean(cross_val_score(model, X, y, cv=folds, scoring="roc_auc")))
        out[f"c2st_{name}"] = 1.0 - (2.0 * max(auc, 0.5) - 1.0)
        out[f"c2st_{name}_auc"] = auc
    return out


def tstr(train: pd.DataFrame, synth: pd.DataFrame, holdout: pd.DataFrame, target: str,
         seed: int = 0) -> float:
    from sklearn.metrics import roc_auc_score
    from xgboost import XGBClassifier

    positive = train[target].value_counts().index[-1]
    feats = [c for c in train.columns if c != target]
    Xs, Xh = encode([synth[feats], holdout[feats]], train[feats])
    ys = (synth[target] == positive).to_numpy(int)
    if ys.min() == ys.max():
        return float("nan")
    model = XGBClassifier(n_estimators=200, max_depth=6, n_jobs=2, random_state=seed, verbosity=0)
    model.fit(Xs, ys)
    return float(roc_auc_score((holdout[target] == positive).to_numpy(int),
                               model.predict_proba(Xh)[:, 1]))


def dcr_share(train: pd.DataFrame, synth: pd.DataFrame, holdout: pd.DataFrame, seed: int = 0):
    from sklearn.neighbors import NearestNeighbors

    train = train.sample(min(len(train), len(holdout)), random_state=seed)
    synth = synth.sample(min(len(synth), 20_000), random_state=seed)
    Xt, Xh, Xs = encode([train, holdout, synth], train)
    dt = NearestNeighbors(n_neighbors=1).fit(Xt).kneighbors(Xs)[0][:, 0]
    dh = NearestNeighbors(n_neighbors=1).fit(Xh).kneighbors(Xs)[0][:, 0]
    return float(np.mean(dt < dh))


def measure(name: str, make_and_fit, train, holdout, target, seed: int = 0,
            eval_rows: int | None = None) -> dict:
    import synthgen
    from synthgen.evaluation import EVERY_PAIR

    t = time.perf_counter()
    sampler = make_and_fit(train)
    fit_s = time.perf_counter() - t
    sampler(len(train))  # the warm-up compiles the program for this many rows
    t = time.perf_counter()
    synth = sampler(len(train))
    sample_s = time.perf_counter() - t
    synth = synth[list(train.columns)].astype(train.dtypes.to_dict(), errors="ignore")
    if eval_rows and len(train) > eval_rows:  # fitted on every row, measured on a subset
        train = train.sample(eval_rows, random_state=seed).reset_index(drop=True)
        synth = synth.sample(eval_rows, random_state=seed).reset_index(drop=True)
        holdout = holdout.sample(min(len(holdout), eval_rows // 4), random_state=seed)
    report = synthgen.evaluate(train, synth, **EVERY_PAIR).to_dict()
    row = {"model": name, "shape": report["column_shapes"], "trend": report["column_pair_trends"],
           **c2st(train, synth, seed), "tstr_auc": tstr(train, synth, holdout, target, seed),
           "dcr_share": dcr_share(train, synth, holdout, seed),
           "exact_copies": report["privacy"]["exact_copies"]["synthetic"],
           "fit_s": fit_s, "sample_s": sample_s}
    gen = getattr(sampler, "generator", None)
    if gen is not None and holdout[target].nunique() == 2:
        positive = train[target].value_counts().index[-1]
        try:
            row["model_conditional_auc"] = model_conditional_auc(gen, holdout, target, positive)
        except synthgen.errors.InvalidDataError as exc:  # a holdout value the model cannot score
            row["model_conditional_auc"] = None
            row["model_conditional_auc_error"] = str(exc)
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}),
          flush=True)
    return row


def parse_model(spec: str) -> tuple[str, dict]:
    """``"name:key=value,key=value"`` -> ``(name, {key: value})`` (values as JSON where they parse)."""
    name, _, rest = spec.partition(":")
    params = dict(DEFAULT_PARAMS.get(name, {}))
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return name, params


_FITTED: dict = {}  # (name, settings without the VAE's prior) -> (generator, fit seconds)
_EPOCHS_RUN: dict = {}  # "vae" -> epochs the last fitted vae ran (early stopping)


def synthgen_model(name: str, params: dict):
    import copy

    import synthgen

    def fit(train):
        shared = json.dumps({k: v for k, v in params.items() if k != "prior"}, sort_keys=True)
        cached = _FITTED.get((name, shared)) if name == "vae" else None
        if cached is not None and params.get("prior", "learned") == "standard":
            gen = copy.copy(cached)  # the same trained network, decoding N(0, I) draws
            gen.__dict__.pop("_jit_cache", None)
            gen.prior_ = None
            gen.prior = "standard"
        else:
            gen = synthgen.make(name, **params).fit(train, seed=0)
            if name == "vae":
                _EPOCHS_RUN["vae"] = int(gen.n_epochs_)
            if name == "vae" and gen.prior_ is not None:
                _FITTED[(name, shared)] = gen
        def sample(n):
            return gen.sample(n, seed=1)

        sample.generator = gen
        return sample

    return fit


def model_conditional_auc(gen, holdout: pd.DataFrame, target: str, positive) -> float:
    """ROC AUC on the holdout of the model's own ``p(target = positive | other columns)``,
    from ``score_samples`` of each row with the target set to each of its values."""
    from sklearn.metrics import roc_auc_score

    levels = list(pd.unique(holdout[target]))
    scores = {lev: np.asarray(gen.score_samples(holdout.assign(**{target: lev})), float)
              for lev in levels}
    log_p = scores[positive] - np.logaddexp.reduce([scores[lev] for lev in levels], axis=0)
    return float(roc_auc_score((holdout[target] == positive).to_numpy(int), log_p))


def sdv_model(kind: str, epochs: int):
    def fit(train):
        from sdv.metadata import Metadata
        from sdv.single_table import GaussianCopulaSynthesizer, TVAESynthesizer

        meta = Metadata.detect_from_dataframes({"table": train}, infer_keys=None)
        model = (GaussianCopulaSynthesizer(meta) if kind == "gaussian_copula"
                 else TVAESynthesizer(meta, epochs=epochs, enable_gpu=False))
        model.fit({"table": train})

        def sample(n):
            out = model.sample(n)
            return out["table"] if isinstance(out, dict) else out

        return sample

    return fit


DEFAULT_PARAMS = {"vae": {"verbose": False}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="adult", choices=["adult", "creditcard", "kddcup"])
    ap.add_argument("--models", nargs="*",
                    default=["circuit", "gaussian", "gmm", "pca_gmm", "kde", "vae"])
    ap.add_argument("--sdv", action="store_true", help="also SDV GaussianCopula and TVAE")
    ap.add_argument("--tvae-epochs", type=int, default=None,
                    help="TVAE epochs; default: as many as synthgen's vae ran in this run "
                         "(it stops early), 300 (SDV's default) without a vae row")
    ap.add_argument("--max-rows", type=int, default=None, help="use a random subset of the rows")
    ap.add_argument("--sdv-only", action="store_true", help="only the SDV peers (with --sdv)")
    ap.add_argument("--tag", default="", help="suffix of the results file name")
    ap.add_argument("--eval-rows", type=int, default=None,
                    help="fit on every training row, measure on this many (and a quarter as many "
                         "holdout rows)")
    args = ap.parse_args()
    frame, target = load(args.data)
    if args.max_rows and len(frame) > args.max_rows:
        frame = frame.sample(args.max_rows, random_state=0)
    frame = frame.reset_index(drop=True)
    holdout = frame.sample(frac=0.2, random_state=0)
    train = frame.drop(holdout.index).reset_index(drop=True)
    holdout = holdout.reset_index(drop=True)
    if args.eval_rows and len(train) > args.eval_rows:  # the subsets that measure() scores on
        sub = train.sample(args.eval_rows, random_state=0)
        trtr = tstr(sub, sub, holdout.sample(min(len(holdout), args.eval_rows // 4), random_state=0),
                    target)
    else:
        trtr = tstr(train, train, holdout, target)
    print(f"{args.data}: {len(train)} training rows, {len(holdout)} holdout rows; "
          f"train-on-real AUC {trtr:.4f}", flush=True)
    rows = []
    result = f"fidelity_{args.data}" + (f"_{args.tag}" if args.tag else "")
    extra = {"n_train": len(train), "n_holdout": len(holdout), "tvae_epochs": args.tvae_epochs,
             "eval_rows": args.eval_rows,
             "published": PUBLISHED if args.data == "adult" else []}
    for spec in ([] if args.sdv_only else args.models):
        name, params = parse_model(spec)
        fitted = synthgen_model(name, params)
        n_fitted = len(_FITTED)
        rows.append(measure(spec, fitted, train, holdout, target, eval_rows=args.eval_rows))
        if name == "vae":
            rows[-1]["epochs_run"] = _EPOCHS_RUN.get("vae")
        if name == "vae" and params.get("prior") == "standard" and _FITTED and n_fitted:
            learned = next(r for r in rows if r["model"].startswith("vae") and r is not rows[-1])
            rows[-1]["fit_s"] = learned["fit_s"]
            rows[-1]["note"] = f"the network trained for the {learned['model']!r} row, N(0, I) draws"
        write_result(result, {"trtr_auc": trtr, "rows": rows, **extra})
    if args.sdv:
        epochs = args.tvae_epochs or _EPOCHS_RUN.get("vae", 300)
        extra["tvae_epochs"] = epochs
        for kind in ("gaussian_copula", "tvae"):
            rows.append(measure(f"sdv_{kind}", sdv_model(kind, epochs), train, holdout,
                                target, eval_rows=args.eval_rows))
            write_result(result, {"trtr_auc": trtr, "rows": rows, **extra})
    cols = ["model", "shape", "trend", "c2st_logistic", "c2st_xgboost", "tstr_auc", "dcr_share",
            "exact_copies", "fit_s", "sample_s"]
    table = pd.DataFrame(rows + (PUBLISHED if args.data == "adult" else []))[cols]
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
