"""``synthgen benchmark``: every chosen generator on every chosen data set, in one table."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import InvalidDataError, InvalidParameterError
from . import _common as common

#: Fewest rows ``--max-rows`` may keep (the split needs a few on each side).
MIN_ROWS = 20

ModelsOpt = Annotated[Optional[list[str]], typer.Option(
    "--models", "-m", metavar="NAMES",
    help="Generators to run, comma-separated or repeated (see `synthgen models`). Default: all.")]
DatasetsOpt = Annotated[Optional[list[str]], typer.Option(
    "--datasets", "-d", metavar="NAMES|FILES",
    help="Embedded data sets (creditcard, adult, ukreg) or data files, comma-separated or "
         "repeated. Default: every embedded data set.")]
QuickOpt = Annotated[bool, typer.Option(
    "--quick", help="Fewer rows (adult 4,000, ukreg 2,500, files 5,000), fewer epochs (vae 30) and a "
                    "smaller BIC search (gmm, pca_gmm: 1-6 components): a few minutes on two cores.")]
OutOpt = Annotated[Optional[Path], typer.Option(
    "--output", "-o", metavar="DIR",
    help="Folder for benchmark.json, benchmark.md (and benchmark.png). Default: ./synthgen-benchmark.")]
PlotOpt = Annotated[bool, typer.Option("--plot", help="Also draw benchmark.png (needs matplotlib).")]
ParamOpt = Annotated[Optional[list[str]], typer.Option(
    "--param", "-p", metavar="MODEL.KEY=VALUE",
    help="A hyperparameter of one model, e.g. vae.epochs=50; VALUE is read as JSON where it can "
         "be. Repeatable. A bad value fails that model's rows only.")]
TargetOpt = Annotated[Optional[str], typer.Option(
    "--target", "-t", metavar="COLUMN",
    help="Utility target column of the data files (the embedded sets have their own).")]
MaxRowsOpt = Annotated[Optional[int], typer.Option(
    "--max-rows", metavar="N", help="Use at most N rows of each data set (a seeded random subset).")]
SeedOpt = Annotated[int, typer.Option("--seed", "-s", help="Seeds the splits, fits, samples and evaluation.")]
TimeoutOpt = Annotated[Optional[float], typer.Option(
    "--timeout", metavar="SECONDS",
    help="Stop a case that runs longer and report it as failed. Default: 300 with --quick, else 3600.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")]


def parse_model_params(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``["vae.epochs=50"]`` -> ``{"vae": {"epochs": 50}}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items or ():
        lhs, sep, text = item.partition("=")
        model, dot, key = lhs.strip().partition(".")
        if not sep or not dot or not model or not key.isidentifier():
            raise InvalidParameterError(
                f"--param must be MODEL.KEY=VALUE (e.g. vae.epochs=50); got {item!r}")
        if key in out.setdefault(model, {}):
            raise InvalidParameterError(f"--param {model}.{key} is given more than once")
        out[model][key] = common.parse_value(text)
    return out


def check_folder(path: Path) -> Path:
    """The output folder must exist or be creatable (its parent exists)."""
    if path.exists() and not path.is_dir():
        raise InvalidDataError(f"--output {path} is a file; expected a folder")
    parent = path.parent if str(path.parent) else Path(".")
    if not path.exists() and not parent.is_dir():
        raise InvalidDataError(f"--output {path}: folder {parent} does not exist")
    return path


def benchmark(
    models: ModelsOpt = None,
    datasets: DatasetsOpt = None,
    quick: QuickOpt = False,
    output: OutOpt = None,
    plot: PlotOpt = False,
    param: ParamOpt = None,
    target: TargetOpt = None,
    max_rows: MaxRowsOpt = None,
    seed: SeedOpt = 0,
    timeout: TimeoutOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Run generators on data sets and compare speed, memory, fidelity, utility and privacy.

    Prints one table and writes it as JSON and Markdown; exit status 1 when a case failed.

    Example: synthgen benchmark --quick --models gaussian,kde --datasets creditcard --plot
    """
    from .. import benchmarking
    from .._bench import output as bench_output

    folder = check_folder(output or benchmarking.DEFAULT_OUTPUT)
    if max_rows is not None and max_rows < MIN_ROWS:
        raise InvalidParameterError(f"--max-rows must be an int of at least {MIN_ROWS}; got {max_rows}")
    if timeout is not None and not timeout > 0:
        raise InvalidParameterError(f"--timeout must be a positive number of seconds; got {timeout:g}")
    if plot:
        bench_output.check_plotting()
    cases = benchmarking.plan(models, datasets, quick=quick, params=parse_model_params(param), target=target)
    command = _command(models, datasets, quick, param, target, max_rows, seed, timeout)
    console = None if quiet else common.stderr_console()
    result = benchmarking.run_cases(cases, quick=quick, seed=common.check_seed_option(seed),
                                    max_rows=max_rows, timeout=timeout,
                                    progress=None if quiet else _Progress(console), command=command)
    paths = result.write(folder, plot=plot)
    result.show()
    if console is not None:
        written = ", ".join(str(p) for p in paths.values())
        console.print(f"wrote {written}", highlight=False)
    if result.failed:
        raise typer.Exit(1)


class _Progress:
    """One line per case on stderr (a spinner while it runs on an interactive terminal)."""

    def __init__(self, console):
        self.console = console
        self._status = None

    def __call__(self, i: int, n: int, case, row) -> None:
        label = f"[{i + 1}/{n}] {case.model} on {case.dataset.name}"
        if row is None:
            if self.console.is_interactive:
                self._status = self.console.status(f"{label} ...")
                self._status.start()
            return
        if self._status is not None:
            self._status.stop()
            self._status = None
        if row["status"] == "ok":
            fidelity = "-" if row["fidelity"] is None else f"{row['fidelity']:.3f}"
            detail = f"fit {row['fit_s']:.1f} s, fidelity {fidelity}"
            self.console.print(f"{label}: done in {row['wall_s']:.1f} s ({detail})", highlight=False)
        else:
            self.console.print(f"{label}: failed after {row['wall_s']:.1f} s: {row['error']}",
                               highlight=False, style="red")


def _command(models, datasets, quick, param, target, max_rows, seed, timeout) -> str:
    """The command line that reproduces this run (options in a fixed order)."""
    parts = ["synthgen", "benchmark"]
    if quick:
        parts.append("--quick")
    for flag, values in (("--models", models), ("--datasets", datasets)):
        if values:
            parts += [flag, ",".join(values)]
    for item in param or ():
        parts += ["--param", item]
    for flag, value in (("--target", target), ("--max-rows", max_rows), ("--timeout", timeout)):
        if value is not None:
            parts += [flag, str(value)]
    if seed:
        parts += ["--seed", str(seed)]
    return shlex.join(parts)
