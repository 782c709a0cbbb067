"""One benchmark case in a process of its own: ``python -m synthgen._bench.worker SPEC OUT``.

``SPEC`` is a JSON file (see ``cases.Case.to_dict``); the result row is written to ``OUT``
as JSON, also when the model fails (``status: "error"`` and the message).  A process per
case means that one model's memory, threads and compiled code never affect the next, and
that the peak memory read at the end belongs to this case alone.

What is measured:

* ``fit_s``: wall time of ``fit`` (JIT compilation included: a first fit pays it too);
* ``sample_s``: wall time of ``sample(n)``, ``n`` the number of training rows: the rows that
  are evaluated (a first call: it includes compiling the sampler);
  ``rows_per_s``: ``m`` over the wall time of ``sample(m)``, ``m = max(n, 10,000)``, once
  a first call of that size has run (the warm speed; ``speed_rows`` is ``m``);
* ``peak_rss_mib``: the process's peak resident memory (``ru_maxrss``) once fitting and
  sampling are done: interpreter, libraries, data, model, compiled code and buffers;
  ``added_rss_mib``: that peak minus the peak before ``fit`` (libraries imported, the
  array backend started, the data loaded): the memory that fitting and sampling added;
* ``cpu_s``: CPU seconds of the whole process (all threads), start to end;
* everything else comes from ``synthgen.evaluate(train, synthetic, holdout=..., target=...,
  **EVERY_PAIR)``: every column pair counts in the column pair trends (the published papers'
  convention, in which the committed benchmark tables are written), not only the pairs that
  SDMetrics' QualityReport counts by default.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

#: Rows drawn to measure the sampling speed (or as many as the training rows, if more).
SPEED_ROWS = 10_000
#: Order of preference of the utility metric shown in the table.
UTILITY_METRICS = ("roc_auc", "r2", "accuracy")

ROW_KEYS = (
    "model", "dataset", "status", "error", "stage", "n_available", "n_train", "n_holdout", "n_synthetic",
    "params", "fit_s", "sample_s", "rows_per_s", "speed_rows", "peak_rss_mib", "added_rss_mib",
    "baseline_rss_mib", "fidelity", "column_shapes", "column_pair_trends", "detection_auc",
    "utility_target", "utility_metric", "utility_tstr", "utility_trtr", "dcr_median",
    "dcr_holdout_median", "dcr_below_holdout_p05", "exact_copies", "exact_copies_holdout",
    "left_out_columns", "evaluate_s", "cpu_s", "training",
)


def empty_row(spec: dict[str, Any]) -> dict[str, Any]:
    """A result row with every key, nothing measured yet."""
    row = dict.fromkeys(ROW_KEYS)
    row.update(model=spec["model"], dataset=spec["dataset"]["name"], status="error",
               params=spec.get("params") or {})
    return row


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


class SynthgenModel:
    """A registered synthgen generator behind the interface every benchmarked model has."""

    def __init__(self, name: str, params: dict[str, Any]):
        from ..registry import make

        self.gen = make(name, **params)

    def prepare(self) -> None:
        """Start the array backend, so that its memory counts in the baseline."""
        import jax

        jax.numpy.zeros(1).block_until_ready()

    def fit(self, data, seed: int) -> None:
        self.gen.fit(data, seed=seed)

    def sample(self, n: int, seed: int):
        return self.gen.sample(n, seed=seed)

    def describe(self) -> dict[str, Any]:
        return self.gen.training_summary()


def load_factory(spec: str):
    """``"module:function"`` or ``"path/to/file.py:function"`` -> the function."""
    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr:
        raise ValueError(f"a model factory must be 'module:function' or 'file.py:function'; got {spec!r}")
    if where.endswith(".py"):
        path = Path(where)
        mod_spec = importlib.util.spec_from_file_location(f"_bench_factory_{path.stem}", path)
        if mod_spec is None or mod_spec.loader is None:
            raise ValueError(f"cannot import the model factory file {where}")
        module = importlib.util.module_from_spec(mod_spec)
        mod_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    return getattr(module, attr)


def build_model(spec: dict[str, Any]):
    """The model object for a case: a synthgen generator, or what the case's factory makes."""
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in (spec.get("params") or {}).items()}
    if spec.get("factory"):
        context = {"target": spec["dataset"].get("target"), "dataset": spec["dataset"]["name"],
                   "quick": spec["quick"], "seed": spec["seed"]}
        return load_factory(spec["factory"])(params, context)
    return SynthgenModel(spec["generator"], params)


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Load, fit, sample twice, evaluate; a failure ends the row with its stage and message."""
    row = empty_row(spec)
    stage = "load"
    try:
        from .cases import DatasetSpec, load_split

        dataset = DatasetSpec.from_dict(spec["dataset"])
        seed = int(spec["seed"])
        train, holdout, info = load_split(dataset, quick=spec["quick"], max_rows=spec["max_rows"], seed=seed)
        row.update(n_available=info["rows_available"], n_train=info["n_train"], n_holdout=info["n_holdout"],
                   n_synthetic=info["n_train"])
        stage = "build"
        model = build_model(spec)
        if hasattr(model, "prepare"):
            model.prepare()
        row["baseline_rss_mib"] = base = peak_rss_mib()
        stage = "fit"
        start = time.perf_counter()
        model.fit(train, seed)
        row["fit_s"] = time.perf_counter() - start
        stage = "sample"
        synthetic = _timed_samples(model, len(train), seed, row)
        row["peak_rss_mib"] = peak_rss_mib()
        row["added_rss_mib"] = row["peak_rss_mib"] - base
        if hasattr(model, "describe"):
            row["training"] = model.describe()
        stage = "evaluate"
        start = time.perf_counter()
        row.update(evaluate_row(train, synthetic, holdout, dataset.target, seed))
        row["evaluate_s"] = time.perf_counter() - start
        row["status"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a failing model is reported in its row
        row.update(stage=stage, error=f"{type(exc).__name__}: {' '.join(str(exc).split())}",
                   traceback=traceback.format_exc())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    row["cpu_s"] = usage.ru_utime + usage.ru_stime
    return row


def _timed_samples(model, n: int, seed: int, row: dict[str, Any]):
    """The ``n`` rows to evaluate (timed: ``sample_s``), then the sampling speed, warm."""
    start = time.perf_counter()
    synthetic = model.sample(n, seed + 1)
    row["sample_s"] = time.perf_counter() - start
    if len(synthetic) != n:
        raise ValueError(f"the model returned {len(synthetic)} rows; {n} were asked for")
    m = max(n, SPEED_ROWS)
    if m != n:
        model.sample(m, seed + 2)  # a first call of this size compiles what it needs
    start = time.perf_counter()
    model.sample(m, seed + 3)
    row["rows_per_s"] = m / max(time.perf_counter() - start, 1e-9)
    row["speed_rows"] = m
    return synthetic


def evaluate_row(train, synthetic, holdout, target: str | None, seed: int) -> dict[str, Any]:
    """The table's numbers from ``synthgen.evaluate``.

    Columns of the real data that the synthetic rows lack (a generator may leave some out)
    are left out of the comparison and listed in ``left_out_columns``.
    """
    from ..evaluation import EVERY_PAIR, evaluate

    out: dict[str, Any] = {"left_out_columns": []}
    columns = getattr(train, "columns", None)
    if columns is not None and hasattr(synthetic, "columns"):
        missing = [c for c in columns if c not in synthetic.columns]
        if missing:
            train, holdout = train.drop(columns=missing), holdout.drop(columns=missing)
            out["left_out_columns"] = [str(c) for c in missing]
            target = None if target in missing else target
    d = evaluate(train, synthetic, holdout=holdout, target=target, seed=seed, **EVERY_PAIR).to_dict()
    priv = d["privacy"]
    out.update(
        fidelity=d["score"], column_shapes=d["column_shapes"],
        column_pair_trends=d["column_pair_trends"], detection_auc=d["detection"]["auc"],
        dcr_median=priv["dcr"]["synthetic"]["median"], dcr_holdout_median=priv["dcr"]["baseline"]["median"],
        dcr_below_holdout_p05=priv["dcr"]["synthetic_below_baseline_p05"],
        exact_copies=priv["exact_copies"]["synthetic"], exact_copies_holdout=priv["exact_copies"]["baseline"],
    )
    out.update(_utility(d["utility"]))
    return out


def _utility(util: dict[str, Any] | None) -> dict[str, Any]:
    if not util:
        return {}
    metrics = util["metrics"]
    usable = [m for m in UTILITY_METRICS if m in metrics and _finite(metrics[m]["tstr"])]
    name = usable[0] if usable else next(iter(metrics))
    return {"utility_target": util["target"], "utility_metric": name,
            "utility_tstr": metrics[name]["tstr"], "utility_trtr": metrics[name]["trtr"]}


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def json_safe(obj):
    """Plain JSON values: NaN and infinities become None, numpy scalars Python ones."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def main(argv: list[str] | None = None) -> int:
    """Read the case from ``argv[0]``, write its row to ``argv[1]``."""
    spec_path, out_path = argv if argv is not None else sys.argv[1:3]
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    row = run(spec)
    tmp = Path(out_path).with_suffix(".part")
    tmp.write_text(json.dumps(json_safe(row)), encoding="utf-8")
    tmp.replace(out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
