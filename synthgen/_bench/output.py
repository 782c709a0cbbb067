"""A benchmark's results as a rich table, a Markdown page, a figure, and machine facts."""

from __future__ import annotations

import math
import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

#: Packages whose versions a result records (those installed).
VERSIONED = ("synthgen", "jax", "jaxlib", "flax", "optax", "numpy", "scipy", "pandas",
             "scikit-learn", "imbalanced-learn", "sdv", "sdmetrics", "torch")

#: Longest error message shown in the terminal table (the files keep it whole).
TERMINAL_ERROR_CHARS = 120

MEMORY_NOTE = (
    "peak MiB (+fit): peak resident memory (ru_maxrss) of the case's own process once fitting and "
    "sampling are done (interpreter, libraries, data, model, compiled code); in brackets, "
    "what fitting and sampling added to the peak before fit (libraries imported, data loaded)"
)
TIME_NOTE = (
    "fit s: wall time of fit, compilation included; rows/s: sampling speed, warm: 10,000 rows "
    "(or the training set's size, if larger) over the wall time of a second call of that size "
    "(the first call, of as many rows as the training set and with compilation, is sample_s in "
    "the JSON)"
)
METRICS_NOTE = (
    "fidelity: synthgen.evaluate's score (1 = identical marginals and pairs; every column pair "
    "counts, both thresholds 0, the published papers' convention, not SDMetrics' 0.5 and 0.3); "
    "detection AUC: "
    "0.5 = a classifier cannot tell synthetic from real; utility: a model trained on synthetic "
    "(TSTR) and on real rows (TRTR), tested on the holdout; DCR: median distance of synthetic "
    "and holdout rows to the closest training row; < holdout p5: share of synthetic rows closer "
    "than the holdout's 5th percentile (about 5% expected, much more means near copies); "
    "copies: share of synthetic rows equal to a training row"
)


def machine_info() -> dict[str, Any]:
    """Platform, CPU, core count, load and package versions of this machine."""
    versions = {}
    for pkg in VERSIONED:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu": _cpu_name(),
            "cpu_count": os.cpu_count(),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "versions": versions}


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# ---------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------


def _num(x, fmt: str) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return format(x, fmt)


def _pair(a, b, fmt: str) -> str:
    if a is None and b is None:
        return "-"
    return f"{_num(a, fmt)} / {_num(b, fmt)}"


def _memory(row) -> str:
    if row.get("peak_rss_mib") is None:
        return "-"
    return f"{row['peak_rss_mib']:,.0f} (+{row['added_rss_mib']:,.0f})"


def _utility(row) -> str:
    if row.get("utility_metric") is None:
        return "-"
    name = {"roc_auc": "AUC", "r2": "R2", "accuracy": "acc"}.get(row["utility_metric"], row["utility_metric"])
    return f"{_pair(row['utility_tstr'], row['utility_trtr'], '.3f')} {name}"


def _rows(row) -> str:
    if row.get("n_train") is None:
        return "-"
    return f"{row['n_train']:,} / {row['n_holdout']:,}"


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


#: (header, cell) of every column of the table, in order.
COLUMNS: list[tuple[str, Callable[[dict], str]]] = [
    ("model", lambda r: r["model"]),
    ("data", lambda r: r["dataset"]),
    ("train / holdout", _rows),
    ("fit s", lambda r: _num(r.get("fit_s"), ".2f")),
    ("rows/s", lambda r: _num(r.get("rows_per_s"), ",.0f")),
    ("peak MiB (+fit)", _memory),
    ("fidelity", lambda r: _num(r.get("fidelity"), ".3f")),
    ("det. AUC", lambda r: _num(r.get("detection_auc"), ".3f")),
    ("utility TSTR / TRTR", _utility),
    ("DCR syn / holdout", lambda r: _pair(r.get("dcr_median"), r.get("dcr_holdout_median"), ".2f")),
    ("< p5", lambda r: _pct(r.get("dcr_below_holdout_p05"))),
    ("copies", lambda r: _pct(r.get("exact_copies"))),
    ("status", lambda r: "ok" if r["status"] == "ok" else f"{r.get('stage') or 'run'} failed: {r['error']}"),
]


def title(result) -> str:
    """The table's heading: mode, seed and what quick mode changes."""
    s = result.settings
    if s["quick"]:
        mode = "quick mode (--quick: rows subsampled, fewer epochs and a smaller search; see settings)"
    else:
        mode = "full mode (default hyperparameters)"
    if s.get("max_rows"):
        mode += f", at most {s['max_rows']:,} rows per data set"
    return f"synthgen benchmark, {mode}, seed {s['seed']}"


# ---------------------------------------------------------------------------------------------
# Renderings
# ---------------------------------------------------------------------------------------------


def rich_table(result):
    """The results as a ``rich.table.Table``."""
    from rich.table import Table

    table = Table(title=title(result), title_justify="left")
    for i, (header, _) in enumerate(COLUMNS):
        table.add_column(header, justify="left" if i < 2 or i == len(COLUMNS) - 1 else "right",
                         overflow="fold")
    for row in result.rows:
        cells = [cell(row) for _, cell in COLUMNS]
        if len(cells[-1]) > TERMINAL_ERROR_CHARS:
            cells[-1] = cells[-1][: TERMINAL_ERROR_CHARS - 3] + "..."
        style = None if row["status"] == "ok" else "red"
        table.add_row(*cells, style=style)
    return table


def _md_row(cells) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def _md_table(headers, rows) -> list[str]:
    lines = [_md_row(headers), "|" + "|".join("---" for _ in headers) + "|"]
    return lines + [_md_row(r) for r in rows]


def markdown(result) -> str:
    """The results as a Markdown page: the table, how to read it, data sets, hyperparameters."""
    s, m = result.settings, result.machine
    lines = [f"# {title(result)}", ""]
    if s.get("command"):
        lines += [f"Command: `{s['command']}`", ""]
    lines += [f"Machine: {m['cpu']}, {m['cpu_count']} cores, {m['platform']}; "
              + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + f"; {m['date']}.", ""]
    lines += _md_table([h for h, _ in COLUMNS], [[cell(r) for _, cell in COLUMNS] for r in result.rows])
    lines += ["", "## Reading the table", ""] + [f"- {note}." for note in (TIME_NOTE, MEMORY_NOTE, METRICS_NOTE)]
    lines += ["", "## Data sets", ""]
    lines += _md_table(["data set", "source", "rows used", "train / holdout", "utility target", "note"],
                       [_dataset_cells(d, result.rows) for d in s["datasets"]])
    lines += ["", "## Hyperparameters (defaults otherwise)", ""]
    lines += _md_table(["model", "runs as", "hyperparameters"],
                       [[name, info["runs_as"], _params_text(info["params"])]
                        for name, info in s["models"].items()])
    return "\n".join(lines) + "\n"


def _dataset_cells(d: dict, rows: list[dict]) -> list[str]:
    done = [r for r in rows if r["dataset"] == d["name"] and r.get("n_train") is not None]
    split = _rows(done[0]) if done else "-"
    used = "-"
    if done:
        used = f"{done[0]['n_train'] + done[0]['n_holdout']:,}"
        if done[0].get("n_available") is not None:
            used += f" of {done[0]['n_available']:,}"
    return [d["name"], d["source"], used, split, d.get("target") or "none", d.get("note") or ""]


def _params_text(params: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items()) or "defaults"


def plot(result, path) -> Path:
    """Fidelity, detection AUC, utility and fit time per model and data set, in one figure."""
    import numpy as np

    fig = _figure(12.0, 7.5)
    axes = fig.subplots(2, 2)
    datasets = list(dict.fromkeys(r["dataset"] for r in result.rows))
    models = list(dict.fromkeys(r["model"] for r in result.rows))
    panels = [("fidelity (1 = identical)", "fidelity", False),
              ("detection AUC (0.5 = indistinguishable)", "detection_auc", False),
              ("utility TSTR (dashes: TRTR)", "utility_tstr", False),
              ("fit time, s (log scale)", "fit_s", True)]
    width = 0.8 / max(1, len(models))
    x = np.arange(len(datasets))
    for ax, (label, key, log) in zip(axes.ravel(), panels):
        for j, model in enumerate(models):
            values = [_value(result.rows, model, d, key) for d in datasets]
            ax.bar(x + (j - (len(models) - 1) / 2) * width, values, width, label=model)
        if key == "utility_tstr":
            for i, d in enumerate(datasets):
                trtr = [r.get("utility_trtr") for r in result.rows if r["dataset"] == d and r.get("utility_trtr")]
                if trtr:
                    ax.hlines(trtr[0], i - 0.45, i + 0.45, colors="black", linestyles="dashed")
        if key == "detection_auc":
            ax.axhline(0.5, color="black", linewidth=0.8, linestyle="dotted")
        ax.set_xticks(x, datasets)
        ax.set_title(label)
        if log:
            ax.set_yscale("log")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(models), 6), fontsize="small")
    fig.suptitle(title(result), fontsize="medium")
    return _save(fig, path)


def check_plotting() -> None:
    """Fail early (before any case runs) when matplotlib is missing."""
    _figure(1.0, 1.0)


def _figure(width: float, height: float):
    from ..evaluation import MissingDependencyError

    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise MissingDependencyError(
            "--plot needs matplotlib, which is not installed: pip install synthgen[plot]"
        ) from exc
    return Figure(figsize=(width, height), layout="constrained")


def _save(fig, path) -> Path:
    from ..io import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".").lower() or "png", dpi=100)
    return path


def _value(rows: list[dict], model: str, dataset: str, key: str) -> float:
    for r in rows:
        if r["model"] == model and r["dataset"] == dataset and r.get(key) is not None:
            return float(r[key])
    return float("nan")
