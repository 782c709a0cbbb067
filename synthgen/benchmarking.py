"""Benchmark generators on data sets: speed, memory, fidelity, detection, utility, privacy.

>>> from synthgen.benchmarking import run_benchmark
>>> result = run_benchmark(["gaussian", "kde"], ["creditcard"], quick=True)
>>> result.write("synthgen-benchmark")       # benchmark.json and benchmark.md
>>> result.show()                            # the table, in the terminal

Each (model, data set) case runs in a process of its own (``synthgen._bench.worker``):
the data set is shuffled, capped and split 70/30 into training rows and a real holdout;
the model is fitted, samples as many rows as it was trained on (twice, to time a warm
call), and ``synthgen.evaluate`` compares the sample with the training rows, the holdout
serving as the utility test set and the privacy baseline.  A case that fails, crashes or
runs past its time limit becomes a row with its error; the others go on.

``synthgen benchmark`` is the command-line face of :func:`run_benchmark`;
``benchmarks/bench_compare.py`` adds peers (SDV, SMOTE) through :class:`Case` factories.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ._bench import output
from ._bench.cases import (
    HOLDOUT_FRACTION,
    Case,
    DatasetSpec,
    check_param_models,
    json_params,
    model_params,
    resolve_datasets,
    resolve_models,
)
from ._bench.worker import empty_row, json_safe
from .errors import InvalidParameterError

__all__ = ["run_benchmark", "plan", "run_cases", "run_case", "BenchmarkResult", "Case", "DatasetSpec",
           "resolve_datasets", "DEFAULT_OUTPUT", "DEFAULT_TIMEOUT"]

#: Where the command writes when ``-o`` is not given.
DEFAULT_OUTPUT = Path("synthgen-benchmark")
#: Seconds one case may run before it is stopped (quick mode, full mode).
DEFAULT_TIMEOUT = {True: 300.0, False: 3600.0}

#: ``progress(index, total, case, row)``: row is None when the case starts.
Progress = Callable[[int, int, Case, "dict | None"], None]


@dataclass
class BenchmarkResult:
    """The rows of a benchmark (one per case, in order), its settings and the machine."""

    rows: list[dict[str, Any]]
    settings: dict[str, Any]
    machine: dict[str, Any] = field(default_factory=output.machine_info)

    @property
    def failed(self) -> list[dict[str, Any]]:
        """The rows of the cases that did not complete."""
        return [r for r in self.rows if r["status"] != "ok"]

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"machine": self.machine, "settings": self.settings, "rows": self.rows})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_markdown(self) -> str:
        return output.markdown(self)

    def table(self):
        """The results as a ``rich`` table."""
        return output.rich_table(self)

    def show(self, console=None) -> None:
        """Print the table (on ``console``, else stdout: 200 columns wide when not a terminal)."""
        from rich.console import Console

        if console is None:
            console = Console()
            if not console.is_terminal:
                console = Console(width=200)
        console.print(self.table())

    def write(self, folder=DEFAULT_OUTPUT, *, stem: str = "benchmark", plot: bool = False) -> dict[str, Path]:
        """Write ``STEM.json``, ``STEM.md`` (and ``STEM.png`` with ``plot``) into ``folder``.

        The folder is created when its parent exists; each file is written atomically.
        """
        from .io import atomic_path

        folder = Path(folder)
        if not folder.is_dir():
            folder.mkdir()
        paths = {"json": folder / f"{stem}.json", "markdown": folder / f"{stem}.md"}
        for kind, text in (("json", self.to_json() + "\n"), ("markdown", self.to_markdown())):
            with atomic_path(paths[kind]) as tmp:
                Path(tmp).write_text(text, encoding="utf-8")
        if plot:
            paths["plot"] = output.plot(self, folder / f"{stem}.png")
        return paths


def plan(models=None, datasets=None, *, quick: bool = False, params: dict | None = None,
         target: str | None = None) -> list[Case]:
    """The cases of a benchmark: every chosen generator on every chosen data set.

    ``models``: registry names (all when None); ``datasets``: embedded names or file paths
    (all embedded when None); ``params``: ``{model: {name: value}}`` replacing defaults;
    ``target``: the utility column of data files.  Unknown names raise at once.
    """
    names = resolve_models(models)
    check_param_models(params, names)
    specs = resolve_datasets(datasets, target=target)
    per_model = {n: model_params(n, quick=quick, given=(params or {}).get(n)) for n in names}
    return [Case(model=n, generator=n, dataset=d, params=per_model[n]) for d in specs for n in names]


def run_benchmark(models=None, datasets=None, *, quick: bool = False, seed: int = 0,
                  params: dict | None = None, target: str | None = None, max_rows: int | None = None,
                  timeout: float | None = None, progress: Progress | None = None,
                  command: str | None = None) -> BenchmarkResult:
    """Plan the cases (see :func:`plan`) and run them (see :func:`run_cases`)."""
    cases = plan(models, datasets, quick=quick, params=params, target=target)
    return run_cases(cases, quick=quick, seed=seed, max_rows=max_rows, timeout=timeout,
                     progress=progress, command=command)


def run_cases(cases: Iterable[Case], *, quick: bool = False, seed: int = 0, max_rows: int | None = None,
              timeout: float | None = None, progress: Progress | None = None,
              command: str | None = None) -> BenchmarkResult:
    """Run each case in its own process, one after another; a failure stays in its row."""
    from .random import check_seed

    cases = list(cases)
    seed = check_seed(seed)
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int)
                                 or max_rows < 20):
        raise InvalidParameterError(f"max_rows must be an int of at least 20 or None; got {max_rows!r}")
    timeout = DEFAULT_TIMEOUT[bool(quick)] if timeout is None else float(timeout)
    if not timeout > 0:
        raise InvalidParameterError(f"timeout must be a positive number of seconds; got {timeout!r}")
    rows = []
    for i, case in enumerate(cases):
        if progress is not None:
            progress(i, len(cases), case, None)
        row = run_case(case, quick=quick, seed=seed, max_rows=max_rows, timeout=case.timeout or timeout)
        rows.append(row)
        if progress is not None:
            progress(i, len(cases), case, row)
    return BenchmarkResult(rows, _settings(cases, quick, seed, max_rows, timeout, command))


def run_case(case: Case, *, quick: bool, seed: int, max_rows: int | None, timeout: float) -> dict[str, Any]:
    """One case in a child process; its row (an error row when it fails, crashes or times out)."""
    spec = case.to_dict(quick=quick, seed=seed, max_rows=max_rows)
    with tempfile.TemporaryDirectory(prefix="synthgen-bench-") as tmp:
        spec_path, out_path, err_path = (Path(tmp) / n for n in ("case.json", "row.json", "stderr.txt"))
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        cmd = [case.python or sys.executable, "-m", "synthgen._bench.worker", str(spec_path), str(out_path)]
        start = time.perf_counter()
        code = _run_child(cmd, err_path, timeout)
        wall = time.perf_counter() - start
        if out_path.is_file():
            row = json.loads(out_path.read_text(encoding="utf-8"))
        else:
            row = empty_row(spec)
            row["error"] = _crash_message(code, timeout, err_path)
    row["wall_s"] = wall
    return row


def _run_child(cmd: list[str], err_path: Path, timeout: float) -> int | None:
    """The child's exit status, or None when it ran past ``timeout`` (it is then killed)."""
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            return None
        except BaseException:
            _kill(proc)
            raise


def _kill(proc: subprocess.Popen) -> None:
    """Stop the child and whatever it started (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def _crash_message(code: int | None, timeout: float, err_path: Path) -> str:
    if code is None:
        return f"timed out after {timeout:g} s and was stopped"
    lines = [ln.strip() for ln in err_path.read_text(encoding="utf-8", errors="replace").splitlines()]
    last = next((ln for ln in reversed(lines) if ln), "")
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        how = f"was killed by {name}" + (" (out of memory?)" if -code == signal.SIGKILL else "")
    else:
        how = f"exited with status {code}"
    return f"the case's process {how} without a result" + (f": {last}" if last else "")


def _settings(cases: list[Case], quick: bool, seed: int, max_rows, timeout: float, command) -> dict:
    datasets = list({c.dataset.name: c.dataset.to_dict() for c in cases}.values())
    models = {}
    for c in cases:
        runs_as = c.factory or f"synthgen.make({c.generator!r})"
        models.setdefault(c.model, {"runs_as": runs_as, "params": json_params(c.params)})
    return {"quick": bool(quick), "seed": seed, "max_rows": max_rows, "timeout_s": timeout,
            "holdout_fraction": HOLDOUT_FRACTION, "command": command, "datasets": datasets,
            "models": models, "memory": output.MEMORY_NOTE, "timing": output.TIME_NOTE,
            "metrics": output.METRICS_NOTE}
