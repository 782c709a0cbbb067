"""The typer application, its global options, and how errors reach the user.

Every command lives in its own module and is registered in :data:`COMMANDS`.  Any
``SynthgenError`` and any bad option ends the program with one line on stderr
(``error: ...``) and exit status 2; other exceptions are bugs and show a traceback.

Ctrl-C (SIGINT) and SIGTERM end a command at once with one line, ``error: interrupted``
(status 130) or ``error: terminated`` (status 143), after removing the temporary file of
any output being written.  The command runs in a worker thread while the main thread
waits: Python runs signal handlers in the main thread only, so the signal never raises
inside JAX's tracing, compilation or C++ callbacks (where a ``KeyboardInterrupt`` can
crash the process), and the process ends with ``os._exit``, without tearing down JAX
while its threads still run.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
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

        def work():
            return self._main_one_line(args, prog_name, complete_var, **extra)

        if _command_name(args) in OWN_SIGNAL_HANDLING:
            return work()
        return run_with_signal_exit(work)

    def _main_one_line(self, args, prog_name, complete_var, **extra):
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
        if code == 128 + signal.SIGINT:  # typer's answer to a KeyboardInterrupt
            _error_exit("interrupted", code)
        sys.exit(code if isinstance(code, int) else 0)


#: commands that run in the main thread and meet Ctrl-C as a KeyboardInterrupt, because they
#: must clean up after themselves (``benchmark`` stops its case processes); they run no JAX
OWN_SIGNAL_HANDLING = {"benchmark"}


def _command_name(args) -> str | None:
    argv = sys.argv[1:] if args is None else [str(a) for a in args]
    return next((a for a in argv if not a.startswith("-")), None)


def _error_exit(message: str, code: int) -> None:
    typer.echo(f"error: {one_line(message)}", err=True)
    sys.exit(code)


#: the signals that end a command, with the word its error line uses
_ENDING_SIGNALS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}


def run_with_signal_exit(work):
    """``work()`` in a worker thread; SIGINT or SIGTERM meanwhile end the process at once.

    Outside the main thread (where no handler can be set) ``work`` simply runs.  A signal the
    process was started ignoring (a background job's SIGINT) stays ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        return work()
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread as it is
            outcome["error"] = exc

    previous = {sig: signal.getsignal(sig) for sig in _ENDING_SIGNALS}
    worker = threading.Thread(target=target, name="synthgen-command", daemon=True)
    try:
        for sig, handler in previous.items():
            if handler is not signal.SIG_IGN:
                signal.signal(sig, _end_process)
        worker.start()
        while worker.is_alive():
            worker.join(0.2)
    finally:
        for sig, handler in previous.items():
            if handler is not None:  # None: a handler not set from Python, left as it is
                signal.signal(sig, handler)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _end_process(signum, frame) -> None:
    """Remove the output's temporary file, say why in one line, and exit with 128 + signum."""
    from ..io import remove_live_temp_files

    remove_live_temp_files()
    try:
        stream = sys.stderr
        lead = "\n\x1b[?25h" if stream.isatty() else ""  # leave a progress line, show the cursor
        stream.write(f"{lead}error: {_ENDING_SIGNALS.get(signum, 'terminated')}\n")
        stream.flush()
    finally:
        os._exit(128 + signum)


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
