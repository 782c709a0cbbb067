"""``synthgen fit``: fit a generator on data and save it as a ``.sgm`` model file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import _common as common
from .sample import ModelOpt, ParamOpt, QuietOpt, SeedOpt

DataArg = Annotated[str, typer.Argument(
    metavar="DATA",
    help="A .csv, .parquet, .jsonl or .txt file, or an embedded data set "
         "(creditcard, adult, ukreg).")]
ModelOutOpt = Annotated[Path, typer.Option(
    "--output", "-o", metavar="MODEL.sgm", help="Where to write the fitted model.")]


def fit(
    data: DataArg,
    output: ModelOutOpt,
    model: ModelOpt = None,
    param: ParamOpt = None,
    seed: SeedOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Fit a generator on DATA and save it to a model file.

    `synthgen sample --from MODEL.sgm --seed S` then writes the same rows as
    `synthgen sample --data DATA --model NAME --seed S`.
    """
    common.check_output(output, kind="model")
    seed = common.check_seed_option(seed)
    gen = common.make_generator(model, common.parse_params(param), quiet=quiet)
    frame = common.load_data(data, option="DATA")
    common.fit_generator(gen, frame, seed=seed, quiet=quiet)
    gen.save(output)
    if not quiet:
        common.stderr_console().print(f"saved {gen.name} model to {output}", highlight=False)
