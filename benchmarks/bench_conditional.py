"""Conditional sampling against SDV: every row carries the condition, quality on the real subset,
and time per 10,000 conditioned rows, in one process.

For Adult and the credit card subset, a common condition (about 30% of the real rows), a rare
one (about 1%) and a very rare one (one real row):

* synthgen: ``gmm`` (fixed component count, so the fit is short) or ``kde`` (``--model kde``,
  its defaults) with ``sample(n, given=...)``, exact; the sampling time is the best of 3 calls
  after one warm-up call (compilation);
* SDV GaussianCopula: ``sample_from_conditions`` (direct conditioning on equalities; SDV has no
  range conditions, so for a range it samples ``n`` rows on the equality part and the rows
  inside the range are what it returned); one timed call;
* SDV TVAE (few epochs: ``--tvae-epochs``, default 5, to keep the run short; its quality is
  not the point) with ``sample_from_conditions``, SDV's reject sampling, on the rare condition.

Quality: :func:`synthgen.evaluation.conditional.conditional_fidelity`, column shapes and column
pair trends of the conditioned rows against the real rows meeting the condition (NaN where
fewer than two real rows meet it).  Run with the SDV environment::

    python benchmarks/bench_conditional.py [--rows 10000] [--data adult,creditcard]

Results: ``benchmarks/results/conditional_<data>.json``, one file per data set
(``conditional_<data>_kde.json`` with ``--model kde``).
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd

from _machine import write_result
from bench_vae_sdv import load_adult, load_creditcard, sdv_metadata

import synthgen
from synthgen.evaluation.conditional import conditional_fidelity, meets


def conditions(name: str, df: pd.DataFrame) -> dict:
    if name == "adult":
        return {"common": {"sex": "Female"},
                "rare": {"race": "Amer-Indian-Eskimo"},
                "very_rare": {"native-country": "Holand-Netherlands"}}
    fraud = df[df["Class"] == 1]["Amount"].sort_values()
    rare_lo = float(fraud.iloc[-max(1, round(0.01 * len(df)))])
    top = float(fraud.iloc[-1])
    return {"common": {"Class": 1},
            "rare": {"Class": 1, "Amount": (rare_lo, None)},
            "very_rare": {"Class": 1, "Amount": (top, None)}}


def run_synthgen(gen, given: dict, n: int, seed: int) -> dict:
    gen.sample(n, seed=seed, given=given)  # warm-up: compilation
    times = []
    for i in range(3):
        t = time.perf_counter()
        rows = gen.sample(n, seed=seed + i, given=given)
        times.append(time.perf_counter() - t)
    return {"seconds": min(times), "rows": rows, "returned": len(rows),
            "method": gen.conditional_summary_.get("method")}


def run_sdv(model, given: dict, n: int) -> dict:
    from sdv.sampling import Condition

    equal = {k: v for k, v in given.items() if not isinstance(v, tuple)}
    ranges = {k: v for k, v in given.items() if isinstance(v, tuple)}
    t = time.perf_counter()
    error = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if ranges:
                # no range conditions in SDV: its reject sampling on the equalities (n rows),
                # then a filter on the ranges; what is left is what SDV returned
                rows = model.sample_from_conditions([Condition(num_rows=n, column_values=equal)])
                rows = rows["table"] if isinstance(rows, dict) else rows
                rows = rows[meets(rows, ranges)].head(n)
            else:
                rows = model.sample_from_conditions([Condition(num_rows=n, column_values=equal)])
    except Exception as exc:  # noqa: BLE001 - a peer's failure is a result to report
        rows, error = None, f"{type(exc).__name__}: {str(exc)[:300]}"
    seconds = time.perf_counter() - t
    rows = rows["table"] if isinstance(rows, dict) else rows
    return {"seconds": seconds, "rows": rows, "returned": 0 if rows is None else len(rows),
            "error": error}


def score(real, rows, given) -> dict:
    if rows is None or len(rows) == 0:
        return {"share_carrying": float("nan"), "column_shapes": float("nan"),
                "column_pair_trends": float("nan")}
    res = conditional_fidelity(real, rows, given)
    return {k: res[k] for k in ("n_real_rows", "share_carrying", "column_shapes",
                                "column_pair_trends")}


def fit_sdv(kind: str, df: pd.DataFrame, epochs: int):
    from sdv.single_table import GaussianCopulaSynthesizer, TVAESynthesizer

    meta = sdv_metadata(df)
    model = (GaussianCopulaSynthesizer(meta) if kind == "gaussian_copula"
             else TVAESynthesizer(meta, epochs=epochs, enable_gpu=False))
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit({"table": df})
    return model, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000, help="conditioned rows per call")
    ap.add_argument("--tvae-epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default="adult,creditcard", help="comma-separated: adult, creditcard")
    ap.add_argument("--model", default="gmm", choices=("gmm", "kde"),
                    help="synthgen's model: gmm (fixed component count) or kde (its defaults)")
    args = ap.parse_args()
    n = args.rows
    out = {"rows_per_call": n, "tvae_epochs": args.tvae_epochs, "data": {}}
    sets = {"adult": (load_adult, 10), "creditcard": (load_creditcard, 4)}
    for name in args.data.split(","):
        load, k = sets[name]
        df = load(None, 0) if name == "adult" else load()
        t = time.perf_counter()
        spec = {"n_components": k} if args.model == "gmm" else {}
        gen = synthgen.make(args.model, **spec).fit(df, seed=args.seed)
        fit_s = time.perf_counter() - t
        gc, gc_fit = fit_sdv("gaussian_copula", df, 0)
        tvae, tvae_fit = fit_sdv("tvae", df, args.tvae_epochs)
        entry = {"model": args.model, "fit_seconds": {f"synthgen_{args.model}": fit_s, "sdv_gaussian_copula": gc_fit,
                                 "sdv_tvae": tvae_fit}, "gmm_components": k if args.model == "gmm" else None,
                 "conditions": {}}
        for level, given in conditions(name, df).items():
            res = {"given": {c: list(v) if isinstance(v, tuple) else v for c, v in given.items()},
                   "real_rows": int(meets(df, given).sum()), "real_share": float(meets(df, given).mean())}
            sg = run_synthgen(gen, given, n, args.seed)
            sd = run_sdv(gc, given, n)
            res["synthgen"] = {**{k2: sg[k2] for k2 in ("seconds", "returned", "method")},
                               **score(df, sg["rows"], given)}
            res["sdv_gaussian_copula"] = {**{k2: sd[k2] for k2 in ("seconds", "returned", "error")},
                                          **score(df, sd["rows"], given)}
            res["speedup_vs_gaussian_copula"] = (sd["seconds"] / sg["seconds"]
                                                 if sd["returned"] else None)
            if level == "rare":
                tv = run_sdv(tvae, given, n)
                res["sdv_tvae_reject"] = {**{k2: tv[k2] for k2 in ("seconds", "returned", "error")},
                                          **score(df, tv["rows"], given)}
                res["speedup_vs_tvae_reject"] = tv["seconds"] / sg["seconds"]
            entry["conditions"][level] = res
            print(name, level, {k2: (v if not isinstance(v, dict) else
                                     {a: b for a, b in v.items() if a != "rows"})
                                for k2, v in res.items()}, flush=True)
        out["data"][name] = entry
        suffix = "" if args.model == "gmm" else f"_{args.model}"
        print("wrote", write_result(f"conditional_{name}{suffix}", {**out, "data": {name: entry}}))


if __name__ == "__main__":
    main()
