"""``synthgen sample --workers N | --scheduler ADDRESS``: rows drawn on Dask workers, written as a
Parquet dataset (a folder of part files; complete under its final name, or absent).

Nothing here imports Dask until the options are used.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import InvalidDataError, InvalidParameterError

WorkersOpt = Annotated[Optional[int], typer.Option(
    "--workers", metavar="N",
    help="Draw the rows on N local Dask worker processes and write a Parquet dataset "
         "(a folder) to --output. Needs synthgen[dask].")]
SchedulerOpt = Annotated[Optional[str], typer.Option(
    "--scheduler", metavar="tcp://HOST:PORT",
    help="Draw the rows on the workers of a running Dask scheduler and write a Parquet dataset "
         "(a folder, on a file system the workers share) to --output. Needs synthgen[dask].")]


def wanted(workers: int | None, scheduler: str | None) -> bool:
    return workers is not None or scheduler is not None


def check_options(workers: int | None, scheduler: str | None, output: Path | None) -> None:
    """Refuse, before any fitting, what a distributed run cannot do."""
    if workers is not None and scheduler is not None:
        raise InvalidParameterError("give --workers or --scheduler, not both")
    if workers is not None and workers < 1:
        raise InvalidParameterError(f"--workers must be a positive int; got {workers}")
    if output is None:
        raise InvalidParameterError(
            "--workers/--scheduler write a Parquet dataset folder: give it with --output DIR")
    if output.suffix and output.suffix.lower() != ".parquet":
        raise InvalidParameterError(
            f"--workers/--scheduler write a Parquet dataset; --output {output} must be a folder "
            "name without an extension or ending in .parquet")
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidDataError(f"cannot write {output}: folder {folder} does not exist")
    if output.exists() and not output.is_dir():
        raise InvalidDataError(f"cannot write the dataset {output}: a file of that name exists")
    _import_dask()


def _import_dask():
    try:
        import distributed  # noqa: F401

        from .. import dask as sdask
    except ImportError as exc:
        raise InvalidParameterError(
            f"--workers/--scheduler need Dask ({exc}); install it with: pip install synthgen[dask]"
        ) from exc
    return sdask


def sample_dataset(gen, n: int, seed: int | None, output: Path, *, workers: int | None,
                   scheduler: str | None, rows_per_partition: int, quiet: bool) -> int:
    """Sample ``n`` rows on the cluster into the dataset folder ``output``; the rows written."""
    from distributed import Client, LocalCluster

    from . import _common as common

    sdask = _import_dask()
    console = None if quiet else common.stderr_console()
    start = time.perf_counter()
    with _cluster(LocalCluster, workers, scheduler) as cluster, Client(cluster) as client:
        ddf = sdask.sample(gen, n, seed=seed, rows_per_partition=rows_per_partition, client=client)
        live = console is not None and console.is_interactive
        progress = common._row_progress(console) if live else None
        if progress is None:
            written = sdask.write_parquet(ddf, output, client=client)
        else:
            with progress:
                task = progress.add_task("sampling", total=n)
                written = sdask.write_parquet(
                    ddf, output, client=client,
                    progress=lambda rows: progress.advance(task, rows))
    if console is not None:
        seconds = time.perf_counter() - start
        where = f"{workers} local workers" if workers else scheduler
        console.print(f"wrote {written:,} rows to {output}/ ({ddf.npartitions} parts) on {where} "
                      f"in {seconds:.2f} s ({written / max(seconds, 1e-9):,.0f} rows/s)",
                      highlight=False)
    return written


class _cluster:
    """A LocalCluster of ``workers`` processes, or the address of a running scheduler."""

    def __init__(self, local_cls, workers, scheduler):
        self.local_cls, self.workers, self.scheduler, self.cluster = local_cls, workers, scheduler, None

    def __enter__(self):
        if self.scheduler is not None:
            return self.scheduler
        self.cluster = self.local_cls(n_workers=self.workers, threads_per_worker=1, processes=True,
                                      dashboard_address=":0", silence_logs=logging.ERROR)
        return self.cluster

    def __exit__(self, *exc):
        if self.cluster is not None:
            self.cluster.close()
        return False
