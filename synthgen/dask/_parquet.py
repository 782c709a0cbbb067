"""A Dask DataFrame written as a Parquet dataset: complete under its final name, or absent.

The parts are written by the workers into a temporary sibling folder, each part to a temporary
name and renamed when complete; the folder is renamed to its final name once every part is
there.  An exception or a Ctrl-C on the client removes the temporary folder, over again while a
worker that is still writing a part lands it there; once the folder is gone, a write into it
fails and the part is dropped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Callable

from ..errors import InvalidDataError
from ..io import output_error, parquet_options
from ._common import current_client


def write_parquet(ddf, path, *, client=None, progress: Callable[[int], None] | None = None) -> int:
    """Write ``ddf`` to the folder ``path`` (``part.00000.parquet``, ...); returns the row count.

    ``progress(rows)`` is called as each part is done.  An existing folder ``path`` is
    replaced only once the new one is complete.  The workers must see ``path``'s file system
    (a shared one on a cluster).
    """
    final = Path(path)
    parent = final.parent if str(final.parent) else Path(".")
    if not parent.is_dir():
        raise InvalidDataError(f"cannot write {final}: folder {parent} does not exist")
    if final.exists() and not final.is_dir():
        raise InvalidDataError(f"cannot write the dataset {final}: a file of that name exists")
    tmp = parent / f".{final.name}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        tmp.mkdir()
    except OSError as exc:
        raise output_error(final, exc) from exc
    try:
        total = _write_parts(ddf, str(tmp.resolve()), client, progress)
        _swap_in(tmp, final)
    except BaseException:
        _remove_folder(tmp)
        raise
    return total


def _remove_folder(folder: Path, *, patience_s: float = 30.0) -> None:
    """Remove ``folder``, again while a worker still finishing a part writes into it.

    A part being written when the client gives up can land in the folder while it is being
    removed; once the folder is gone no write can recreate it, so removing until it is gone
    (for at most ``patience_s``) leaves nothing behind.
    """
    deadline = time.monotonic() + patience_s
    while True:
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists() or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def _write_parts(ddf, folder: str, client, progress) -> int:
    import dask

    parts = ddf.to_delayed()
    width = max(5, len(str(len(parts) - 1)))
    tasks = [dask.delayed(write_part)(p, folder, f"part.{i:0{width}d}.parquet")
             for i, p in enumerate(parts)]
    client = client if client is not None else current_client()
    if client is None:
        counts = dask.compute(*tasks)
        if progress:
            progress(sum(counts))
        return int(sum(counts))
    from distributed import as_completed

    futures = client.compute(tasks)
    total = 0
    try:
        for fut in as_completed(futures):
            rows = fut.result()
            total += rows
            if progress:
                progress(rows)
    except BaseException:
        client.cancel(futures)
        raise
    return total


def write_part(frame, folder: str, name: str) -> int:
    """Write one partition to ``folder/name`` atomically (a temporary name, then a rename)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not os.path.isdir(folder):  # the client gave up and removed the folder
        return 0
    tmp = os.path.join(folder, f".{name}.{uuid.uuid4().hex[:8]}.part")
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, tmp, **parquet_options(table.schema))
        os.replace(tmp, os.path.join(folder, name))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return len(frame)


def _swap_in(tmp: Path, final: Path) -> None:
    """Rename ``tmp`` to ``final``; an existing ``final`` is moved aside first, removed after."""
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.{uuid.uuid4().hex[:12]}.old"
        os.replace(final, old)
    try:
        os.replace(tmp, final)
    except BaseException:
        if old is not None:
            os.replace(old, final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
