"""The typer application, its global options, and how errors reach the user.

Every command lives in its own module and is registered in :data:`COMMANDS`.  Any
``SynthgenError`` and any bad option ends the program with one line on stderr
(``error: ...``) and exit status 2; other exceptions are bugs and show a traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from typer.core import TyperGroup

from .._version import __version__
from ..errors import SynthgenError
from . import augment, benchmark, datasets, evaluate, fit, models, sample, score
from ._common import EXIT_ERROR, one_line

try:  # typer >= 0.20 vendors click
    from typer._click import exceptions as _click_exceptions
except ImportError:  # pragma: no cover - older typer with click as a dependency
    from click import exceptions as _click_exceptions


class SynthgenGroup(TyperGroup):
    """A typer group whose errors are one line on stderr."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _click_exceptions.NoArgsIsHelpError as exc:
            if self.rich_markup_mode is None:
                exc.show()
            sys.exit(exc.exit_code)
        except _click_exceptions.ClickException as exc:
            _error_exit(exc.format_message(), exc.exit_code)
        except SynthgenError as exc:
            _error_exit(str(exc), EXIT_ERROR)
        except typer.Abort:
            _error_exit("aborted", 1)
        sys.exit(code if isinstance(code, int) else 0)


def _error_exit(message: str, code: int) -> None:
    typer.echo(f"error: {one_line(message)}", err=True)
    sys.exit(code)


app = typer.Typer(
    name="synthgen",
    cls=SynthgenGroup,
    help="Learn the distribution of a table or of structured strings, and sample new rows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: name -> command function; one module per command.
COMMANDS = {
    "sample": sample.sample,
    "fit": fit.fit,
    "score": score.score,
    "models": models.models,
    "datasets": datasets.datasets,
    "augment": augment.augment,
    "benchmark": benchmark.benchmark,
    "evaluate": evaluate.evaluate,
}

for _name, _fn in COMMANDS.items():
    app.command(_name)(_fn)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"synthgen {__version__}")
        raise typer.Exit(0)


@app.callback()
def _global_options(
    version: Annotated[bool, typer.Option(
        "--version", callback=_show_version, is_eager=True,
        help="Print the version and exit.")] = False,
) -> None:
    """Learn the distribution of a table or of structured strings, and sample new rows."""
