"""Differentially private fits on Adult beside smartnoise-synth's MST and AIM, in the same run.

    python benchmarks/bench_dp.py                      # epsilon 1 and 10, delta 1e-6
    python benchmarks/bench_dp.py --peers-python .venv-dp/bin/python --peer-timeout 300 --aim-rounds 24 --vae-epochs 30

A fixed 80/20 split (seed 0).  Every model gets the same public metadata (bounds of the
numeric columns from Adult's documentation, the category lists of adult.names, which
columns have gaps); no model spends budget on it.  synthgen's gaussian, gmm, vae (DP-SGD) and
circuit (noisy EM) are fitted with ``public_metadata``; MST and AIM (which take categorical data) get each numeric column
cut into ``BINS`` equal-width bins of its public range (a public transform), their samples
mapped back to bin midpoints.

* 2-way TVD: the mean over every pair of columns of the total-variation distance between the
  real training rows' and the synthetic rows' joint distribution of the pair, numeric
  columns cut into the same ``BINS`` bins (0: identical marginals, 1: disjoint).
* XGBoost C2ST score and TSTR AUC: benchmarks/bench_fidelity.py's measures (the C2ST on
  ``C2ST_ROWS`` real and as many synthetic rows).
* membership attack AUC: synthgen.evaluation.membership (DCR and density attacks), members
  = a sample of the training rows as large as the holdout, non-members = holdout rows.
* fit time in wall seconds (MST and AIM timed inside their own process, the fit call only).
AIM is capped: ``--aim-rounds`` rounds (its default is 16 per column) and ``--peer-timeout``
seconds; both are recorded in the JSON, and a run that times out is recorded as such (its fit
time is then at least the timeout).  Non-private gaussian, gmm, vae and circuit rows give the
attacks' baseline.  The machine's load average
is recorded beside the results (other work shares its 2 cores).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_result  # noqa: E402
from bench_fidelity import c2st, tstr  # noqa: E402

BINS = 16
NUMERIC = {"age": (17, 90), "fnlwgt": (10_000, 1_500_000), "education-num": (1, 16),
           "capital-gain": (0, 99_999), "capital-loss": (0, 4_356), "hours-per-week": (1, 99)}
NULLABLE = ("workclass", "occupation", "native-country")
#: settings of the private vae and circuit (fixed in advance, as a private fit must)
VAE_PRIVATE = {"private_epochs": 20, "learning_rate": 1e-2, "hidden": [128, 128], "latent_dim": 8,
               "verbose": False}
CIRCUIT_PRIVATE = {"n_hidden": 16, "n_trees": 1, "max_bins": 16, "private_iter": 2, "pseudocount": 0.1}
#: the non-private circuit's settings of the recorded run (its defaults then)
CIRCUIT_BASELINE = {"pseudocount": 0.1, "validation_fraction": 0.1}


def public_metadata(frame: pd.DataFrame) -> dict:
    """Adult's documented domain: numeric ranges, category lists (adult.names), gaps."""
    cols = {}
    for c in frame.columns:
        if c in NUMERIC:
            lo, hi = NUMERIC[c]
            cols[c] = {"kind": "integer", "lower": lo, "upper": hi}
        else:
            cols[c] = {"kind": "categorical", "categories": sorted(frame[c].dropna().unique().tolist()),
                       "nullable": c in NULLABLE}
    return {"columns": cols}


def discretise(frame: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for c in frame.columns:
        if c in NUMERIC:
            lo, hi = NUMERIC[c]
            b = np.floor((np.clip(frame[c].to_numpy(float), lo, hi) - lo) / (hi - lo) * BINS)
            out[c] = np.minimum(b, BINS - 1).astype(int).astype(str)
        else:
            out[c] = frame[c].astype(object).where(frame[c].notna(), "<gap>").astype(str)
    return pd.DataFrame(out)


def undiscretise(binned: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for c in like.columns:
        if c in NUMERIC:
            lo, hi = NUMERIC[c]
            b = pd.to_numeric(binned[c], errors="coerce").fillna(0).to_numpy(float)
            out[c] = np.round(lo + (b + 0.5) * (hi - lo) / BINS).astype(int)
        else:
            v = binned[c].astype(str)
            out[c] = v.where(v != "<gap>", None)
    return pd.DataFrame(out)


def tvd_2way(real: pd.DataFrame, synth: pd.DataFrame) -> float:
    R, S = discretise(real), discretise(synth)
    out = []
    for a, b in itertools.combinations(R.columns, 2):
        p = (R[a] + "\x1f" + R[b]).value_counts(normalize=True)
        q = (S[a] + "\x1f" + S[b]).value_counts(normalize=True)
        out.append(0.5 * float(p.subtract(q, fill_value=0.0).abs().sum()))
    return float(np.mean(out))


#: rows per side of the C2ST, and members of the membership attacks (a sample of the training
#: rows as large as the holdout), so that one row of the table scores in well under a minute
C2ST_ROWS = 10_000


def score(name, epsilon, synth, fit_s, train, holdout, target):
    from synthgen.evaluation._tables import align
    from synthgen.evaluation.membership import membership_inference

    synth = synth[list(train.columns)].reset_index(drop=True)
    for c in NUMERIC:
        synth[c] = pd.to_numeric(synth[c], errors="coerce").round().astype("Int64").astype(float)
    members = train.sample(min(len(train), len(holdout)), random_state=0)
    tables = align(members, synth, holdout)
    mia = membership_inference(tables.real, tables.synthetic, tables.holdout, tables.kinds, seed=0)
    cs = c2st(train.sample(C2ST_ROWS, random_state=0),
              synth.astype({c: float for c in NUMERIC}).sample(C2ST_ROWS, random_state=0), 0)
    row = {"model": name, "epsilon": epsilon, "tvd_2way": tvd_2way(train, synth),
           "c2st_xgboost": cs["c2st_xgboost"], "c2st_xgboost_auc": cs["c2st_xgboost_auc"],
           "tstr_auc": tstr(train, synth, holdout, target, 0),
           "mia_dcr_auc": mia["dcr_auc"], "mia_density_auc": mia["density_auc"], "fit_s": fit_s}
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}),
          flush=True)
    return row


def synthgen_row(name, params, epsilon, train, holdout, target):
    import synthgen

    t = time.perf_counter()
    gen = synthgen.make(name, **params).fit(train, seed=0)
    fit_s = time.perf_counter() - t
    label = name if epsilon is None else f"synthgen {name}"
    return score(label, epsilon, gen.sample(len(train), seed=1), fit_s, train, holdout, target)


def peer_row(kind, epsilon, delta, python, timeout, train, holdout, target, tmp: Path, options=None):
    src, out, res = tmp / "train_binned.csv", tmp / f"{kind}_{epsilon}.csv", tmp / f"{kind}_{epsilon}.json"
    if not src.exists():
        discretise(train).to_csv(src, index=False)
    cmd = [python, str(Path(__file__).with_name("_snsynth_fit.py")), kind, str(epsilon),
           str(delta), str(src), str(out), str(res), json.dumps(options or {})]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"{kind} epsilon={epsilon}: no result within {timeout} s", flush=True)
        return {"model": f"smartnoise {kind}", "epsilon": epsilon, "error": f"timeout {timeout} s",
                "fit_s_at_least": timeout, "options": options or {}}
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        print(f"{kind} epsilon={epsilon} failed: {tail}", flush=True)
        return {"model": f"smartnoise {kind}", "epsilon": epsilon, "error": " | ".join(tail)}
    timing = json.loads(res.read_text())
    synth = undiscretise(pd.read_csv(out, dtype=str, keep_default_na=False), train)
    row = score(f"smartnoise {kind}", epsilon, synth, timing["fit_s"], train, holdout, target)
    row["sample_s"] = timing["sample_s"]
    row["options"] = options or {}
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epsilons", nargs="*", type=float, default=[1.0, 10.0])
    ap.add_argument("--delta", type=float, default=1e-6)
    ap.add_argument("--peers", nargs="*", default=["mst", "aim"])
    ap.add_argument("--peers-python", default=".venv-dp/bin/python",
                    help="a Python with smartnoise-synth installed (it has dependencies of its own)")
    ap.add_argument("--peer-timeout", type=int, default=300)
    ap.add_argument("--aim-rounds", type=int, default=24)
    ap.add_argument("--gmm-components", type=int, default=10)
    ap.add_argument("--vae-epochs", type=int, default=30, help="epochs of the non-private vae")
    args = ap.parse_args()
    if args.peers and shutil.which(args.peers_python) is None:
        raise SystemExit(f"--peers-python {args.peers_python}: no such Python; make one with "
                         "`python3 -m venv .venv-dp && .venv-dp/bin/pip install smartnoise-synth`, "
                         "or run without peers (--peers)")
    import synthgen

    frame = synthgen.datasets.load("adult")
    order = np.random.default_rng(0).permutation(len(frame))
    cut = int(0.8 * len(frame))
    train = frame.iloc[order[:cut]].reset_index(drop=True)
    holdout = frame.iloc[order[cut:]].reset_index(drop=True)
    target = "income"
    meta = public_metadata(frame)
    load_before = os.getloadavg()
    rows = []
    K = args.gmm_components
    rows.append(synthgen_row("gaussian", {}, None, train, holdout, target))
    rows.append(synthgen_row("gmm", {"n_components": K}, None, train, holdout, target))
    rows.append(synthgen_row("vae", {"epochs": args.vae_epochs, "verbose": False}, None, train,
                             holdout, target))
    rows.append(synthgen_row("circuit", CIRCUIT_BASELINE, None, train, holdout, target))
    with tempfile.TemporaryDirectory() as tmp:
        for eps in args.epsilons:
            private = {"epsilon": eps, "delta": args.delta, "public_metadata": meta}
            rows.append(synthgen_row("gaussian", private, eps, train, holdout, target))
            rows.append(synthgen_row("gmm", dict(private, n_components=K), eps, train, holdout, target))
            rows.append(synthgen_row("vae", dict(private, **VAE_PRIVATE), eps, train, holdout, target))
            rows.append(synthgen_row("circuit", dict(private, **CIRCUIT_PRIVATE), eps, train, holdout,
                                     target))
            for kind in args.peers:
                options = {"rounds": args.aim_rounds} if kind == "aim" else {}
                rows.append(peer_row(kind, eps, args.delta, args.peers_python, args.peer_timeout,
                                     train, holdout, target, Path(tmp), options))
    peer_version = subprocess.run(
        [args.peers_python, "-c", "from importlib.metadata import version; print(version('smartnoise-synth'))"],
        capture_output=True, text=True).stdout.strip()
    path = write_result("dp_adult", {"rows": rows, "smartnoise_synth": peer_version, "delta": args.delta, "bins": BINS,
                                     "gmm_components": K, "vae_private": VAE_PRIVATE,
                                     "circuit_private": CIRCUIT_PRIVATE,
                                     "vae_epochs_non_private": args.vae_epochs,
                                     "peer_timeout_s": args.peer_timeout, "aim_rounds": args.aim_rounds,
                                     "c2st_rows": C2ST_ROWS, "mia_members": len(holdout),
                                     "load_average_before": load_before,
                                     "load_average_after": os.getloadavg()})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
