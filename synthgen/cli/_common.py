"""What the commands share: option parsing, data and model loading, progress, error lines.

Nothing here imports JAX at module level; the functions that need a generator import it
when they run, so ``synthgen --help`` and the listing commands stay fast.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Iterable, Iterator, Optional

import typer

from ..errors import InvalidDataError, InvalidParameterError

#: The generator used when ``--model`` is not given.
DEFAULT_MODEL = "circuit"
#: Rows written per chunk when streaming samples to a file.
DEFAULT_CHUNK_ROWS = 65536
EXIT_ERROR = 2

# ---------------------------------------------------------------------------------------------
# Options that several commands share
# ---------------------------------------------------------------------------------------------

ModelOpt = Annotated[Optional[str], typer.Option(
    "--model", "-m", metavar="NAME",
    help=f"Generator to fit (see `synthgen models`). Default: {DEFAULT_MODEL}.")]
SeedOpt = Annotated[Optional[int], typer.Option(
    "--seed", "-s",
    help="Seeds the fit and the sampling. Without it the fit uses seed 0 and the rows come "
         "from the model's own stream; either way a run is reproducible.")]
OutOpt = Annotated[Optional[Path], typer.Option(
    "--output", "-o", metavar="OUT",
    help="Output file; the format follows the extension (.csv, .parquet, .jsonl, .txt for "
         "strings). Default: CSV on stdout.")]
ParamOpt = Annotated[Optional[list[str]], typer.Option(
    "--param", "-p", metavar="KEY=VALUE",
    help="A hyperparameter; VALUE is read as JSON where it can be (3, 0.5, true, null, [64,32]), "
         "else as a string. Repeatable.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary on stderr.")]
DataArg = Annotated[str, typer.Argument(
    metavar="DATA",
    help="A .csv, .parquet, .jsonl or .txt file, or an embedded data set "
         "(creditcard, adult, ukreg).")]


def one_line(message: str) -> str:
    """Collapse a message onto one line (an error is one line on stderr)."""
    return " ".join(str(message).split())


# ---------------------------------------------------------------------------------------------
# --param key=value
# ---------------------------------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """A JSON literal where the text is one (int, float, true/false, null, list), else the text.

    Lists become tuples, as hyperparameters read back from a model file do.
    """
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return _lists_to_tuples(value)


def _lists_to_tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_lists_to_tuples(v) for v in value)
    return value


def parse_params(items: Iterable[str] | None) -> dict[str, Any]:
    """``["k=v", ...]`` -> ``{k: parse_value(v)}``; a malformed or repeated key is an error."""
    params: dict[str, Any] = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise InvalidParameterError(
                f"--param must be KEY=VALUE with KEY a parameter name; got {item!r}"
            )
        if key in params:
            raise InvalidParameterError(f"--param {key} is given more than once")
        params[key] = parse_value(text)
    return params


# ---------------------------------------------------------------------------------------------
# Data in, files out
# ---------------------------------------------------------------------------------------------


def describe_data_spec() -> str:
    from ..datasets import list_datasets
    from ..io import TABLE_SUFFIXES

    return (f"a file ({', '.join(sorted(TABLE_SUFFIXES))}) or an embedded data set "
            f"({', '.join(list_datasets())})")


def load_data(spec: str | None, *, option: str = "--data"):
    """Read ``spec``: an existing file, else an embedded data set name (the default when None)."""
    from .. import datasets
    from ..io import TABLE_SUFFIXES, read_data

    if spec is None:
        return datasets.load(datasets.DEFAULT)
    path = Path(spec)
    if path.is_file():
        return read_data(path)
    if spec in datasets.list_datasets():
        return datasets.load(spec)
    if path.is_dir():
        raise InvalidDataError(f"{option} {spec} is a folder; expected {describe_data_spec()}")
    if path.suffix.lower() in TABLE_SUFFIXES:
        raise InvalidDataError(f"{option}: data file {spec} does not exist")
    raise InvalidDataError(f"{option} must be {describe_data_spec()}; got {spec!r}")


def data_shape(data) -> str:
    """``"1,722 rows x 31 columns"`` or ``"10,000 strings"``."""
    if isinstance(data, list):
        return f"{len(data):,} strings"
    shape = getattr(data, "shape", (len(data),))
    cols = f" x {shape[1]:,} columns" if len(shape) > 1 else ""
    return f"{shape[0]:,} rows{cols}"


def check_output(path: Path | None, *, kind: str = "table") -> Path | None:
    """Fail early (before any fitting) on an output path that cannot take the output.

    The folder must exist and take new files.  ``kind`` says what will be written:
    ``"table"`` (a data format other than ``.txt``), ``"rows"`` (any data format: rows
    whose kind the data or model decides, checked again by :func:`check_output_kind`), or
    another kind of file (``"model"``, ``"json"``, ...), whose name is not checked.
    """
    if path is None:
        return None
    from ..io import check_writable, data_format

    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidDataError(f"cannot write {path}: folder {folder} does not exist")
    if path.is_dir():
        raise InvalidDataError(f"cannot write {path}: it is a folder")
    if kind in ("table", "rows"):
        fmt = data_format(path)
        if kind == "table" and fmt == "text":
            _refuse_text(path)
    check_writable(path)
    return path


def check_output_kind(path: Path | None, rows) -> None:
    """Refuse a ``.txt`` output for rows that are a table (``rows``: data, or a fitted model)."""
    if path is None or path.suffix.lower() != ".txt":
        return
    if hasattr(rows, "vectoriser_"):
        import numpy as np

        rows = rows.vectoriser_.inverse_transform(np.zeros((0, rows.n_features_in_), np.float32))
    if not isinstance(rows, list):
        _refuse_text(path)


def _refuse_text(path: Path) -> None:
    raise InvalidDataError(
        f"cannot write a table to {path}: a text output file takes strings only; "
        "use .csv, .parquet or .jsonl"
    )


def check_positive(value: int, option: str) -> int:
    from ..base import check_n

    return check_n(value, option)


def check_seed_option(seed: int | None) -> int | None:
    """``--seed``: None, or an int in [0, 2**32 - 1]."""
    from ..random import check_seed

    return None if seed is None else check_seed(seed, "--seed")


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


def make_generator(model: str | None, params: dict[str, Any], *, quiet: bool = False):
    """An unfitted generator by registry name with ``params`` as hyperparameters.

    A generator with a ``verbose`` hyperparameter (its own progress display) is made
    silent by ``--quiet`` unless ``verbose`` was given explicitly.
    """
    from ..registry import make

    gen = make(model or DEFAULT_MODEL, **params)
    if quiet and "verbose" in gen.param_table() and "verbose" not in params:
        gen.set_params(verbose=False)
    return gen


def fit_generator(gen, data, *, seed: int | None, quiet: bool):
    """Fit ``gen`` on ``data`` with ``seed`` (0 when None), showing a status line."""
    fit_seed = 0 if seed is None else check_seed_option(seed)
    inner = getattr(gen, "generator", None)
    own_display = getattr(inner if inner is not None else gen, "verbose", False) is True
    with status(f"fitting {gen.name} on {data_shape(data)}", quiet=quiet, spinner=not own_display):
        gen.fit(data, seed=fit_seed)
    return gen


def load_generator(path: Path, *, quiet: bool):
    """A fitted generator from a ``.sgm`` model file."""
    from ..loading import load

    with status(f"loading {path}", quiet=quiet):
        return load(path)


# ---------------------------------------------------------------------------------------------
# Progress on stderr
# ---------------------------------------------------------------------------------------------


def stderr_console():
    from rich.console import Console

    return Console(stderr=True)


@contextlib.contextmanager
def status(message: str, *, quiet: bool, spinner: bool = True) -> Iterator[None]:
    """A spinner with ``message`` on an interactive stderr, then a summary line.

    ``spinner=False`` leaves the terminal to a display of the work's own (a training bar).
    """
    if quiet:
        yield
        return
    console = stderr_console()
    start = time.perf_counter()
    if spinner and console.is_interactive:
        with console.status(message):
            yield
    else:
        yield
    console.print(f"{message}: done in {time.perf_counter() - start:.2f} s", highlight=False)


def _rows_per_second_column():
    """A rich progress column showing rows per second, with thousands separators."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RowsPerSecond(ProgressColumn):
        def render(self, task):
            elapsed = task.elapsed
            if not elapsed or not task.completed:
                return Text("-- rows/s", style="progress.data.speed")
            text = f"{task.completed / elapsed:,.0f} rows/s"
            return Text(text, style="progress.data.speed")

    return RowsPerSecond()


def _row_progress(console):
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} rows"),
        _rows_per_second_column(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        redirect_stdout=False,
        redirect_stderr=False,
    )


def write_chunks(chunks: Iterable[Any], total: int, out: Path | None, *, quiet: bool,
                 what: str = "sampling", count_option: str | None = None) -> int:
    """Write row chunks through ``TableWriter`` (atomic; CSV on stdout without ``out``).

    Before a file is opened, the first chunk's encoded size per row gives an estimate of
    the whole output; more than the folder's free space is refused (the error suggests
    lowering ``count_option``, the option that set ``total``, when there is one).  A progress bar (rows,
    rows/s, ETA) runs on an interactive stderr; otherwise one summary line follows.
    Returns the number of rows written.
    """
    import itertools

    from ..io import TableWriter

    chunks = iter(chunks)
    first = next(chunks, None)
    if first is None:
        return 0
    if out is not None:
        check_free_space(first, total, out, count_option)
    chunks = itertools.chain([first], chunks)
    console = None if quiet else stderr_console()
    live = console is not None and console.is_interactive
    progress = _row_progress(console) if live else None
    start = time.perf_counter()
    written = 0
    with contextlib.ExitStack() as stack:
        if progress is not None:
            stack.enter_context(progress)
            task = progress.add_task(what, total=total)
        writer = stack.enter_context(TableWriter(out, stream=None if out else sys.stdout))
        for chunk in chunks:
            writer.write(chunk)
            written += len(chunk)
            if progress is not None:
                progress.update(task, completed=written)
    if console is not None:
        seconds = time.perf_counter() - start
        where = out if out is not None else "stdout"
        console.print(f"wrote {written:,} rows to {where} in {seconds:.2f} s "
                      f"({written / max(seconds, 1e-9):,.0f} rows/s)", highlight=False)
    return written


def check_free_space(sample_rows, total: int, out: Path, count_option: str | None = None) -> None:
    """Refuse to start writing ``total`` rows like ``sample_rows`` when they cannot fit on the disk."""
    import errno
    import shutil

    from ..io import OutputFileError, data_format, encoded_bytes_per_row

    fmt = data_format(out)
    folder = out.parent if str(out.parent) else Path(".")
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    per_row = encoded_bytes_per_row(sample_rows, fmt)
    need = int(per_row * total)
    if need > free:
        err = OutputFileError(
            f"cannot write {out}: {total:,} rows need about {need:,} bytes ({_bytes(need)}, "
            f"{per_row:,.1f} bytes a row as {fmt}) but {folder.resolve()} has {free:,} bytes free "
            f"({_bytes(free)}); {f'lower {count_option}' if count_option else 'write fewer rows'} "
            "or write elsewhere"
        )
        err.errno, err.filename = errno.ENOSPC, str(out)
        raise err


def _bytes(n: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} PB"
