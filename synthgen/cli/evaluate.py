"""``synthgen evaluate``: compare synthetic rows with the real rows they imitate.

Prints the report of ``synthgen.evaluate`` (fidelity, detection, utility, privacy) as a
table on stdout, and writes it as JSON and as a self-contained HTML page when asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import InvalidDataError, InvalidParameterError
from . import _common as common
from ._common import QuietOpt

RealArg = Annotated[str, typer.Argument(
    metavar="REAL",
    help="The real rows the generator learnt from: a .csv, .parquet or .jsonl file (or .txt "
         "strings, or an embedded data set).")]
SyntheticArg = Annotated[str, typer.Argument(
    metavar="SYNTHETIC", help="The synthetic rows, with the same columns as REAL.")]
HoldoutOpt = Annotated[Optional[str], typer.Option(
    "--holdout", metavar="HOLDOUT",
    help="Real rows the generator never saw: the test set of the utility models and the "
         "baseline of the privacy distances. Same columns as REAL.")]
TargetOpt = Annotated[Optional[str], typer.Option(
    "--target", "-t", metavar="COL",
    help="The column the utility models predict (TSTR against TRTR). Without it, no utility.")]
JsonOpt = Annotated[Optional[Path], typer.Option(
    "--json", metavar="F", help="Write every number of the report to this JSON file.")]
HtmlOpt = Annotated[Optional[Path], typer.Option(
    "--html", metavar="F",
    help="Write the report as one self-contained HTML page (figure embedded when matplotlib "
         "is installed).")]
EvalSeedOpt = Annotated[int, typer.Option(
    "--seed", "-s",
    help="Seeds the cross-validation folds, splits and subsamples: same seed, same report.")]
EveryPairOpt = Annotated[bool, typer.Option(
    "--every-pair",
    help="Count every column pair in the column pair trends (both thresholds 0, the published "
         "papers' convention) instead of SDMetrics QualityReport's 0.5 and 0.3.")]


FromOpt = Annotated[Optional[Path], typer.Option(
    "--from", metavar="MODEL.sgm",
    help="The model that made SYNTHETIC: its differential-privacy record is shown.")]


def evaluate(
    real: RealArg,
    synthetic: SyntheticArg,
    holdout: HoldoutOpt = None,
    target: TargetOpt = None,
    json_: JsonOpt = None,
    html: HtmlOpt = None,
    seed: EvalSeedOpt = 0,
    every_pair: EveryPairOpt = False,
    quiet: QuietOpt = False,
    model_file: FromOpt = None,
) -> None:
    """Compare SYNTHETIC rows with the REAL rows: fidelity, detection, utility and privacy.

    Prints the report as a table; --json and --html write it to files as well.
    """
    seed = common.check_seed_option(seed)
    common.check_output(json_, kind="json")
    common.check_output(html, kind="html")
    tables = {"REAL": (real, common.load_data(real, option="REAL")),
              "SYNTHETIC": (synthetic, common.load_data(synthetic, option="SYNTHETIC"))}
    if holdout is not None:
        tables["--holdout"] = (holdout, common.load_data(holdout, option="--holdout"))
    check_columns(tables)
    check_target(target, *tables["REAL"])
    model = None if model_file is None else common.load_generator(model_file, quiet=quiet)
    report = run(tables, target, seed, every_pair, quiet, model=model)
    show(report)
    for path, write in ((json_, report.to_json), (html, report.to_html)):
        if path is not None:
            write(path)
            if not quiet:
                common.stderr_console().print(f"wrote {path}", highlight=False)


def check_columns(tables: dict) -> None:
    """The tables' columns are the real table's (any order); else one error naming them."""
    name, real = tables["REAL"]
    columns = getattr(real, "columns", None)
    for role, (spec, data) in list(tables.items())[1:]:
        other = getattr(data, "columns", None)
        if (columns is None) != (other is None):
            kinds = ("a table", "a list of strings") if columns is None else (
                "a list of strings", "a table")
            raise InvalidDataError(f"{role} {spec} is {kinds[0]} but REAL {name} is {kinds[1]}; "
                                   f"give tables, or lists of strings, to both")
        if columns is None:
            continue
        missing = [str(c) for c in columns if c not in other]
        extra = [str(c) for c in other if c not in columns]
        if missing or extra:
            parts = ([f"missing from {spec}: {', '.join(missing)}"] if missing else []) + (
                [f"not in {name}: {', '.join(extra)}"] if extra else [])
            raise InvalidDataError(f"the columns of {role} {spec} do not match REAL {name}: "
                                   + "; ".join(parts))


def check_target(target: str | None, name: str, real) -> None:
    columns = [str(c) for c in getattr(real, "columns", [])]
    if target is not None and target not in columns:
        raise InvalidParameterError(
            f"--target {target!r} is not a column of {name}"
            + (f" (columns: {', '.join(columns)})" if columns else " (a list of strings)"))


def run(tables: dict, target: str | None, seed: int, every_pair: bool, quiet: bool, model=None):
    """``synthgen.evaluate`` on the loaded tables, with a status line."""
    from ..evaluation import EVERY_PAIR
    from ..evaluation import evaluate as evaluate_tables

    data = {key: value for key, (_, value) in tables.items()}
    message = f"evaluating {len(data['SYNTHETIC']):,} synthetic rows against {len(data['REAL']):,} real"
    if "--holdout" in data:
        message += f" and {len(data['--holdout']):,} holdout"
    thresholds = dict(EVERY_PAIR) if every_pair else {}
    with common.status(message, quiet=quiet):
        return evaluate_tables(data["REAL"], data["SYNTHETIC"], holdout=data.get("--holdout"),
                               target=target, seed=seed, model=model, **thresholds)


def show(report) -> None:
    """The report's tables on stdout."""
    from rich.console import Console

    Console(highlight=False).print(report)
