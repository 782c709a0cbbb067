"""``synthgen fit``: fit a generator on data and save it as a ``.sgm`` model file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from . import _common as common
from . import _filter
from ._common import DataArg, ModelOpt, ParamOpt, QuietOpt, SeedOpt
from ._filter import AlphaOpt, AvoidOpt, CheckOpt, RequireOpt, ThresholdOpt

EpsilonOpt = Annotated[Optional[float], typer.Option(
    "--epsilon", help="Fit with (epsilon, delta)-differential privacy (gaussian, gmm, vae, "
                      "circuit; needs synthgen[dp] and --delta). See docs/privacy.md.")]
DeltaOpt = Annotated[Optional[float], typer.Option("--delta", help="The delta of a private fit.")]
MetadataOpt = Annotated[Optional[Path], typer.Option(
    "--public-metadata", metavar="SCHEMA.json",
    help="Column bounds and categories known without the data (private fits).")]

ModelOutOpt = Annotated[Path, typer.Option(
    "--output", "-o", metavar="MODEL.sgm", help="Where to write the fitted model.")]


def fit(
    data: DataArg,
    output: ModelOutOpt,
    model: ModelOpt = None,
    param: ParamOpt = None,
    seed: SeedOpt = None,
    quiet: QuietOpt = False,
    avoid_training: AvoidOpt = False,
    require: RequireOpt = None,
    alpha: AlphaOpt = None,
    threshold: ThresholdOpt = None,
    check_output: CheckOpt = False,
    epsilon: EpsilonOpt = None,
    delta: DeltaOpt = None,
    public_metadata: MetadataOpt = None,
) -> None:
    """Fit a generator on DATA and save it to a model file.

    `synthgen sample --from MODEL.sgm --seed S` then writes the same rows as
    `synthgen sample --data DATA --model NAME --seed S`.  With --avoid-training or --require
    the saved model is a rejection sampler around the generator.
    """
    common.check_output(output, kind="model")
    seed = common.check_seed_option(seed)
    settings = _filter.filter_settings(avoid_training, require, alpha, threshold, check_output)
    params = common.parse_params(param)
    privacy = {"epsilon": epsilon, "delta": delta,
               "public_metadata": None if public_metadata is None else str(public_metadata)}
    params.update({k: v for k, v in privacy.items() if v is not None})
    gen = common.make_generator(model, params, quiet=quiet)
    gen = _filter.wrap(gen, settings)
    frame = common.load_data(data, option="DATA")
    common.fit_generator(gen, frame, seed=seed, quiet=quiet)
    gen.save(output)
    if not quiet:
        common.stderr_console().print(f"saved {gen.name} model to {output}", highlight=False)
        record = getattr(gen, "privacy_", None)
        if record is not None:
            from ..dp.report import privacy_line

            common.stderr_console().print(privacy_line(record), highlight=False)
