"""``synthgen sample``: fit (or load) a generator and stream new rows to a file or stdout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import InvalidParameterError
from . import _common as common
from . import _dask
from . import _filter, _given
from ._common import ModelOpt, OutOpt, ParamOpt, QuietOpt, SeedOpt
from ._filter import AlphaOpt, AvoidOpt, CheckOpt, RequireOpt, ThresholdOpt

FromOpt = Annotated[Optional[Path], typer.Option(
    "--from", metavar="MODEL.sgm", help="Sample from a model file written by `synthgen fit`.")]
DataOpt = Annotated[Optional[str], typer.Option(
    "--data", "-d", metavar="FILE|NAME",
    help="Training data: a .csv, .parquet, .jsonl or .txt file, or an embedded data set "
         "(creditcard, adult, ukreg). Default: creditcard.")]
NOpt = Annotated[int, typer.Option("--n", "-n", help="Number of rows to write.")]
ChunkOpt = Annotated[int, typer.Option(
    "--chunk-rows", help="Rows generated and written per chunk (bounds memory).")]


def sample(
    model: ModelOpt = None,
    from_: FromOpt = None,
    data: DataOpt = None,
    n: NOpt = 1000,
    seed: SeedOpt = None,
    output: OutOpt = None,
    param: ParamOpt = None,
    chunk_rows: ChunkOpt = common.DEFAULT_CHUNK_ROWS,
    quiet: QuietOpt = False,
    avoid_training: AvoidOpt = False,
    require: RequireOpt = None,
    alpha: AlphaOpt = None,
    threshold: ThresholdOpt = None,
    check_output: CheckOpt = False,
    given: _given.GivenOpt = None,
    workers: _dask.WorkersOpt = None,
    scheduler: _dask.SchedulerOpt = None,
) -> None:
    """Sample N new rows from a generator fitted on DATA, or from a saved model.

    With neither --data nor --from, fits the default model (circuit) on the embedded credit card data.
    --avoid-training and --require wrap the generator in the rejection sampler; --given
    conditions every row (docs/conditional.md).
    --workers or --scheduler draw the rows on Dask workers into a Parquet dataset folder
    (--chunk-rows rows per part).
    """
    n = common.check_positive(n, "--n")
    chunk_rows = common.check_positive(chunk_rows, "--chunk-rows")
    seed = common.check_seed_option(seed)
    distributed = _dask.wanted(workers, scheduler)
    if distributed:
        if given is not None:
            raise InvalidParameterError("--given cannot be combined with --workers/--scheduler")
        _dask.check_options(workers, scheduler, output)
    else:
        common.check_output(output, kind="rows")
    conditions, require = _given.fallback(given, require, quiet=quiet)
    settings = _filter.filter_settings(avoid_training, require, alpha, threshold, check_output)
    gen = obtain_generator(model, from_, data, param, seed, quiet, settings,
                           output=None if distributed else output)
    if distributed:
        _dask.sample_dataset(gen, n, seed, output, workers=workers, scheduler=scheduler,
                             rows_per_partition=chunk_rows, quiet=quiet)
        _filter.report(gen, quiet=quiet)
        return
    extra = {} if conditions is None else {"given": conditions}
    chunks = gen.iter_sample(n, seed=seed, chunk_rows=chunk_rows, **extra)
    common.write_chunks(chunks, n, output, quiet=quiet, count_option="--n")
    _filter.report(gen, quiet=quiet)
    _given.report(gen, quiet=quiet)


def obtain_generator(model: str | None, from_: Path | None, data: str | None,
                     param: list[str] | None, seed: int | None, quiet: bool,
                     settings: dict | None = None, *, output: Path | None = None):
    """The generator to sample from: loaded from ``--from`` or fitted on ``--data``.

    ``output`` is checked against the kind of rows (table or strings) before any fitting
    or sampling.
    """
    params = common.parse_params(param)
    if from_ is not None:
        given = [opt for opt, value in (("--model", model), ("--data", data), ("--param", params))
                 if value]
        if settings is not None:
            given.append("--avoid-training/--require (they need the training data: pass them "
                         "to `synthgen fit` instead)")
        if given:
            raise InvalidParameterError(
                f"--from samples a fitted model; {', '.join(given)} cannot be combined with it"
            )
        gen = common.load_generator(from_, quiet=quiet)
        common.check_output_kind(output, gen)
        return gen
    gen = common.make_generator(model, params, quiet=quiet)
    frame = common.load_data(data)
    common.check_output_kind(output, frame)
    return common.fit_generator(_filter.wrap(gen, settings), frame, seed=seed, quiet=quiet)
