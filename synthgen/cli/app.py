"""The typer application and its global options."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="synthgen",
    help="Learn the distribution of a table or of structured strings, and sample new rows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
