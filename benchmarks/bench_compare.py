"""synthgen's generators side by side with peers, on the same rows and the same metrics.

Every case runs as ``synthgen benchmark`` runs it (a process of its own, the same 70/30
split of each data set, ``synthgen.evaluate`` on the sample), so the peers' rows read like
synthgen's:

* SDV ``GaussianCopulaSynthesizer`` and ``TVAESynthesizer`` (defaults; metadata detected
  from the training rows, no keys), when sdv is installed;
* imbalanced-learn's SMOTE as a generator, on the data sets with a class column: it
  interpolates between neighbours of the same class, and draws for each class a share of
  the synthetic rows equal to the class's share of the training rows (SMOTENC when the
  table has categorical columns; a categorical gap is a category of its own).

Speed claims are ratios against a peer in the same run (``ratios`` in the JSON).

SDV and torch stay out of synthgen's own environment; run this with the benchmark venv:

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -e ".[bench]"
    .venv-bench/bin/python benchmarks/bench_compare.py --datasets creditcard
    .venv-bench/bin/python benchmarks/bench_compare.py --datasets adult --max-rows 7000

Results go to benchmarks/results/STEM.json and STEM.md (``--stem``, default ``compare`` plus
the data sets' names).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shlex
import sys
from pathlib import Path

HERE = Path(__file__).resolve()
RESULTS = HERE.parent / "results"
#: peer label -> (factory in this file, module it needs, needs a class column)
PEERS = {
    "sdv_gaussian_copula": ("gaussian_copula", "sdv", False),
    "sdv_tvae": ("tvae", "sdv", False),
    "imblearn_smote": ("smote", "imblearn", True),
}
#: peers whose fit only stores the rows
LAZY_FIT = {"imblearn_smote"}
#: TVAE epochs in quick mode (its default is 300), matching synthgen's vae in quick mode.
QUICK_TVAE_EPOCHS = 30


# ---------------------------------------------------------------------------------------------
# Peers (built inside each case's process by the benchmark worker)
# ---------------------------------------------------------------------------------------------


class SDVModel:
    """An SDV single-table synthesizer behind the benchmark's fit / sample interface."""

    def __init__(self, kind: str, params: dict):
        self.kind, self.params = kind, dict(params)

    def prepare(self) -> None:
        import sdv.single_table  # noqa: F401 - imported before the memory baseline
        import torch

        torch.zeros(1)

    def fit(self, data, seed: int) -> None:
        import numpy as np
        import torch
        from sdv.metadata import Metadata
        from sdv import single_table

        torch.manual_seed(seed)
        np.random.seed(seed)
        metadata = Metadata.detect_from_dataframes({"table": data}, infer_keys=None)
        cls = getattr(single_table, self.kind)
        extra = {"enable_gpu": False} if self.kind == "TVAESynthesizer" else {}
        self.model = cls(metadata, **extra, **self.params)
        self.model.fit({"table": data})

    def sample(self, n: int, seed: int):
        import numpy as np
        import torch

        torch.manual_seed(seed)
        np.random.seed(seed)
        out = self.model.sample(n)
        return out["table"] if isinstance(out, dict) else out

    def describe(self) -> dict:
        return {"synthesizer": self.kind, **self.params}


class SmoteModel:
    """SMOTE (or SMOTENC) from imbalanced-learn, drawing synthetic rows of every class."""

    MISSING = "__missing__"

    def __init__(self, params: dict, target: str | None):
        if target is None:
            raise ValueError("SMOTE needs a class column; this data set has no target")
        self.params, self.target = dict(params), target

    def prepare(self) -> None:
        import imblearn.over_sampling  # noqa: F401 - imported before the memory baseline

    def fit(self, data, seed: int) -> None:
        self.data = data

    def sample(self, n: int, seed: int):
        import pandas as pd
        from imblearn.over_sampling import SMOTE, SMOTENC

        X, y = self.data.drop(columns=self.target), self.data[self.target]
        categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
        X = X.astype({c: object for c in categorical}).fillna({c: self.MISSING for c in categorical})
        counts = y.value_counts()
        strategy = {c: int(counts[c] + k) for c, k in proportional(counts, n).items()}
        cls = SMOTENC if categorical else SMOTE
        extra = {"categorical_features": categorical} if categorical else {}
        sampler = cls(sampling_strategy=strategy, random_state=seed, **extra, **self.params)
        X_res, y_res = sampler.fit_resample(X, y)
        new = X_res.iloc[len(X):].copy()
        new[self.target] = y_res.iloc[len(X):].to_numpy()
        for c in categorical:
            new[c] = new[c].mask(new[c] == self.MISSING)
        new = new[list(self.data.columns)].sample(frac=1.0, random_state=seed)
        return new.reset_index(drop=True)

    def describe(self) -> dict:
        return {"sampler": "SMOTENC or SMOTE", **self.params}


def proportional(counts, n: int) -> dict:
    """``n`` split over the classes in proportion to ``counts`` (largest remainders), summing to n."""
    total = int(counts.sum())
    exact = {c: n * int(k) / total for c, k in counts.items()}
    out = {c: int(v) for c, v in exact.items()}
    for c in sorted(exact, key=lambda c: exact[c] - out[c], reverse=True)[: n - sum(out.values())]:
        out[c] += 1
    return out


def gaussian_copula(params: dict, context: dict) -> SDVModel:
    return SDVModel("GaussianCopulaSynthesizer", params)


def tvae(params: dict, context: dict) -> SDVModel:
    return SDVModel("TVAESynthesizer", params)


def smote(params: dict, context: dict) -> SmoteModel:
    return SmoteModel(params, context["target"])


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def peer_cases(names: list[str], datasets: list, quick: bool, tvae_epochs: int | None = None) -> list:
    """Cases for the installed peers among ``names`` (SMOTE only where there is a target)."""
    from synthgen.benchmarking import Case

    cases = []
    for spec in datasets:
        for label in names:
            factory, module, needs_target = PEERS[label]
            if importlib.util.find_spec(module) is None:
                print(f"skipping {label}: {module} is not installed", file=sys.stderr)
                continue
            if needs_target and spec.target is None:
                continue
            params = {}
            if label == "sdv_tvae" and (quick or tvae_epochs):
                params = {"epochs": tvae_epochs or QUICK_TVAE_EPOCHS}
            cases.append(Case(model=label, dataset=spec, factory=f"{HERE}:{factory}", params=params))
    return cases


def ratios(rows: list[dict], peers: list[str]) -> list[dict]:
    """For each data set, each synthgen model against each peer: fit-time and sampling-speed ratios.

    SMOTE fits nothing (its work is all in sampling), so it has no fit ratio.
    """
    out = []
    ok = [r for r in rows if r["status"] == "ok"]
    for peer in (r for r in ok if r["model"] in peers):
        for r in ok:
            if r["dataset"] != peer["dataset"] or r["model"] in PEERS:
                continue
            fit = None if peer["model"] in LAZY_FIT else peer["fit_s"] / r["fit_s"]
            out.append({"dataset": r["dataset"], "model": r["model"], "peer": peer["model"],
                        "fit_speedup": fit, "sampling_speedup": r["rows_per_s"] / peer["rows_per_s"],
                        "process_cpu_ratio": peer["cpu_s"] / r["cpu_s"],
                        "fidelity_difference": _diff(r["fidelity"], peer["fidelity"])})
    return out


def _times(x) -> str:
    return "-" if x is None else f"{x:.2f}x"


def _diff(a, b):
    return None if a is None or b is None else a - b


def print_ratios(table: list[dict]) -> None:
    print("\nratios in this run (> 1: synthgen faster; fidelity difference > 0: synthgen closer)")
    print(f"{'data':12} {'model':10} {'peer':22} {'fit':>8} {'sampling':>9} {'CPU':>8} {'fidelity':>9}")
    for t in table:
        fid = "-" if t["fidelity_difference"] is None else f"{t['fidelity_difference']:+.3f}"
        print(f"{t['dataset']:12} {t['model']:10} {t['peer']:22} {_times(t['fit_speedup']):>8} "
              f"{_times(t['sampling_speedup']):>9} {_times(t['process_cpu_ratio']):>8} {fid:>9}")


def ratios_markdown(table: list[dict]) -> str:
    lines = ["", "## Ratios against the peers", "",
             "Each case ran in a process of its own, one after another on this machine "
             "(merged results: see the parts below for when, and under what load).", "",
             "Fit: peer fit time / synthgen fit time (wall); sampling: synthgen rows/s / peer rows/s; "
             "CPU: peer process CPU seconds / synthgen process CPU seconds (the whole case: "
             "imports, fit, sampling, evaluation; less sensitive to the load of other work than "
             "wall times); fidelity: synthgen minus peer.", "",
             "| data | model | peer | fit | sampling | CPU | fidelity |", "|---|---|---|---|---|---|---|"]
    for t in table:
        fid = "-" if t["fidelity_difference"] is None else f"{t['fidelity_difference']:+.3f}"
        lines.append(f"| {t['dataset']} | {t['model']} | {t['peer']} | {_times(t['fit_speedup'])} | "
                     f"{_times(t['sampling_speedup'])} | {_times(t['process_cpu_ratio'])} | {fid} |")
    return "\n".join(lines) + "\n"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="adult,creditcard")
    parser.add_argument("--models", default=None, help="synthgen generators (default: all; none: only peers)")
    parser.add_argument("--peers", default=",".join(PEERS), help=f"any of {', '.join(PEERS)}, or none")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--max-rows", type=int, default=None, help="rows per data set at most")
    parser.add_argument("--tvae-epochs", type=int, default=None,
                        help=f"TVAE epochs (default: its own 300; {QUICK_TVAE_EPOCHS} with --quick)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=None, help="seconds per case")
    parser.add_argument("--stem", default=None, help="result file name (default compare_DATASETS)")
    parser.add_argument("--merge", nargs="+", metavar="STEM",
                        help="combine earlier results/STEM.json files (same seed and mode) into one")
    args = parser.parse_args()
    args.peers = [] if args.peers == "none" else [p for p in args.peers.split(",") if p]
    unknown = sorted(set(args.peers) - set(PEERS))
    if unknown:
        parser.error(f"unknown peers {', '.join(unknown)}; known: {', '.join(PEERS)}")
    return args


def run(args):
    """Plan synthgen's cases and the peers', run them grouped by data set."""
    from synthgen.benchmarking import plan, resolve_datasets, run_cases

    specs = resolve_datasets(args.datasets)
    cases = [] if args.models == "none" else plan(args.models, args.datasets, quick=args.quick)
    cases += peer_cases(args.peers, specs, args.quick, args.tvae_epochs)
    cases.sort(key=lambda c: [s.name for s in specs].index(c.dataset.name))
    command = shlex.join(["python", "benchmarks/bench_compare.py", *sys.argv[1:]])
    return run_cases(cases, quick=args.quick, seed=args.seed, max_rows=args.max_rows,
                     timeout=args.timeout, progress=_progress, command=command)


def merge(stems: list[str]):
    """One result from several result files of the same seed and mode.

    A later file's row for the same model and data set replaces an earlier one (a rerun);
    ``settings.parts`` keeps each file's command, date and load average.
    """
    from synthgen.benchmarking import BenchmarkResult

    parts = [json.loads((RESULTS / f"{stem}.json").read_text(encoding="utf-8")) for stem in stems]
    first = parts[0]["settings"]
    for stem, part in zip(stems, parts):
        s = part["settings"]
        if (s["quick"], s["seed"]) != (first["quick"], first["seed"]):
            raise SystemExit(f"{stem}.json has another seed or mode than {stems[0]}.json")
    settings = {**first, "max_rows": None, "command": " ; ".join(p["settings"]["command"] for p in parts)}
    settings["datasets"] = list({d["name"]: d for p in parts for d in p["settings"]["datasets"]}.values())
    settings["models"] = {k: v for p in parts for k, v in p["settings"]["models"].items()}
    settings["parts"] = [{"file": f"{stem}.json", "command": p["settings"]["command"],
                          "max_rows": p["settings"]["max_rows"], "date": p["machine"]["date"],
                          "load_average": p["machine"]["load_average"]} for stem, p in zip(stems, parts)]
    rows = {(r["model"], r["dataset"]): r for p in parts for r in p["rows"]}
    order = [d["name"] for d in settings["datasets"]]
    ranked = sorted(rows.values(), key=lambda r: (order.index(r["dataset"]), r["model"] in PEERS))
    return BenchmarkResult(ranked, settings, machine=parts[0]["machine"])


def parts_markdown(settings: dict) -> str:
    """When and under what load each merged part ran."""
    if not settings.get("parts"):
        return ""
    lines = ["", "## Parts (merged; each ran on this machine, one case after another)", "",
             "| file | date | load average (1, 5, 15 min) | command |", "|---|---|---|---|"]
    for p in settings["parts"]:
        load = ", ".join(f"{x:.1f}" for x in p["load_average"] or [])
        lines.append(f"| {p['file']} | {p['date']} | {load} | `{p['command']}` |")
    return "\n".join(lines) + "\n"


def main() -> None:
    from synthgen.io import atomic_path

    args = parse_args()
    result = merge(args.merge) if args.merge else run(args)
    result.show()
    table = ratios(result.rows, list(PEERS) if args.merge else args.peers)
    print_ratios(table)
    result.settings["ratios"] = table
    stem = args.stem or "compare_" + "_".join(d["name"] for d in result.settings["datasets"])
    paths = result.write(RESULTS, stem=stem)
    with atomic_path(paths["markdown"]) as tmp:
        text = result.to_markdown() + ratios_markdown(table) + parts_markdown(result.settings)
        Path(tmp).write_text(text, encoding="utf-8")
    print(f"\nwrote {paths['json']} and {paths['markdown']}")


def _progress(i: int, n: int, case, row) -> None:
    if row is None:
        print(f"[{i + 1}/{n}] {case.model} on {case.dataset.name} ...", file=sys.stderr, flush=True)
    else:
        state = "ok" if row["status"] == "ok" else f"failed: {row['error']}"
        print(f"[{i + 1}/{n}]   {state} in {row['wall_s']:.1f} s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
