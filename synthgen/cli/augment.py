"""``synthgen augment``: add synthetic rows of the rare classes of a labelled table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import InvalidDataError, InvalidParameterError
from . import _common as common
from ._common import ParamOpt, QuietOpt, SeedOpt

DataArg = Annotated[str, typer.Argument(
    metavar="DATA",
    help="A .csv, .parquet or .jsonl file, or an embedded data set (creditcard, adult).")]
TargetOpt = Annotated[str, typer.Option("--target", "-t", metavar="COLUMN", help="The class column.")]
ModelOpt = Annotated[str, typer.Option(
    "--model", "-m", metavar="NAME", help="Generator fitted to each class that grows (see `synthgen models`).")]
RatioOpt = Annotated[str, typer.Option(
    "--ratio", "-r", metavar="R",
    help="imbalanced-learn's sampling_strategy: a number (each rare class grows to R times the "
         "majority), or auto, minority, 'not majority', all.")]
AvoidOpt = Annotated[bool, typer.Option(
    "--avoid", help="Keep the synthetic rows out of the neighbourhoods of the real rows of their class.")]
OutOpt = Annotated[Optional[Path], typer.Option(
    "--output", "-o", metavar="OUT",
    help="Output file (.csv, .parquet, .jsonl); CSV on stdout when omitted.")]

_NAMED = ("auto", "minority", "not majority", "not minority", "all")


def parse_ratio(text: str):
    """A float, or one of imbalanced-learn's named strategies."""
    if text in _NAMED:
        return text
    try:
        value = float(text)
    except ValueError:
        raise InvalidParameterError(
            f"--ratio must be a number in (0, 1] or one of {', '.join(_NAMED)}; got {text!r}"
        ) from None
    if not 0 < value <= 1:
        raise InvalidParameterError(f"--ratio must be a number in (0, 1]; got {text}")
    return value


def augment(
    data: DataArg,
    target: TargetOpt,
    model: ModelOpt = "gaussian",
    ratio: RatioOpt = "auto",
    output: OutOpt = None,
    param: ParamOpt = None,
    seed: SeedOpt = None,
    avoid: AvoidOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write DATA followed by synthetic rows of its rare classes (an imbalanced-learn style oversampler).

    Example: synthgen augment creditcard --target Class --model gmm --ratio 0.5 -o out.csv
    """
    import pandas as pd

    from ..augment import augment_frame

    strategy = parse_ratio(ratio)
    seed = common.check_seed_option(seed)
    common.check_output(output)
    params = common.parse_params(param)
    frame = common.load_data(data, option="DATA")
    if not isinstance(frame, pd.DataFrame):
        raise InvalidDataError("augment needs a table with a class column; got a list of strings")
    if target not in frame.columns:
        raise InvalidDataError(
            f"--target {target!r} is not a column of {data}; columns: {', '.join(map(str, frame.columns))}"
        )
    with common.status(f"fitting {model} to the rare classes of {common.data_shape(frame)}", quiet=quiet):
        out = augment_frame(frame, target, model=model, ratio=strategy, seed=0 if seed is None else seed,
                            params=params, avoid=avoid)
    added = len(out) - len(frame)
    common.write_chunks([out], len(out), output, quiet=quiet, what="writing")
    if not quiet:
        counts = out[target].iloc[len(frame):].value_counts().to_dict()
        detail = ", ".join(f"{k!s}: {v:,}" for k, v in counts.items()) or "none"
        common.stderr_console().print(f"added {added:,} synthetic rows ({detail})", highlight=False)
