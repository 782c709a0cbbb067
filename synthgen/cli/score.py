"""``synthgen score``: the log density of each row of DATA under a saved model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import _common as common
from ._common import DataArg, OutOpt, QuietOpt

COLUMN = "log_density"

FromReqOpt = Annotated[Path, typer.Option(
    "--from", metavar="MODEL.sgm", help="The model file to score with.")]
WithDataOpt = Annotated[bool, typer.Option(
    "--with-data", help=f"Write the input columns too, with {COLUMN} last.")]


def score(
    data: DataArg,
    from_: FromReqOpt,
    output: OutOpt = None,
    with_data: WithDataOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Score each row of DATA: writes a column `log_density` (higher = more typical).

    Rows keep the input's order. CSV goes to stdout unless --output names a file.
    """
    import pandas as pd

    common.check_output(output)
    gen = common.load_generator(from_, quiet=quiet)
    frame = common.load_data(data, option="DATA")
    with common.status(f"scoring {common.data_shape(frame)}", quiet=quiet):
        logp = gen.score_samples(frame)
    table = pd.DataFrame({COLUMN: logp})
    if with_data:
        inputs = pd.DataFrame({"value": frame}) if isinstance(frame, list) else frame
        table = pd.concat([inputs.reset_index(drop=True), table], axis=1)
    common.write_chunks([table], len(table), output, quiet=quiet, what="writing")
