"""A table read one piece at a time in this process: the row groups of a Parquet dataset, or
the partitions of a Dask DataFrame.  Only the piece being read is in memory."""

from __future__ import annotations

import abc
import re
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd

from ..base import check_matrix
from ..errors import InvalidDataError
from ._common import check_partition, merge_moments, moments


class Units(abc.ABC):
    """The pieces of a table: ``sizes`` (rows per piece, once known), ``meta`` (an empty frame
    with the columns and dtypes) and ``read(i)``, piece ``i`` as a DataFrame."""

    sizes: list[int] | None
    meta: pd.DataFrame

    @abc.abstractmethod
    def __len__(self) -> int:
        """The number of pieces."""

    @abc.abstractmethod
    def read(self, i: int) -> pd.DataFrame:
        """Piece ``i`` as a DataFrame."""


class ParquetUnits(Units):
    """The row groups of a Parquet file, or of every ``*.parquet`` file under a folder (in the
    natural order of their names: ``part.2`` before ``part.10``)."""

    def __init__(self, path):
        import pyarrow.parquet as pq

        root = Path(path)
        if root.is_dir():
            files = sorted((p for p in root.rglob("*.parquet") if not _hidden(p, root)),
                           key=lambda p: _natural(str(p.relative_to(root))))
        elif root.is_file():
            files = [root]
        else:
            raise InvalidDataError(f"cannot read the Parquet dataset {root}: no such file or folder")
        if not files:
            raise InvalidDataError(f"the folder {root} holds no .parquet file")
        self.files, self.groups, self.sizes = files, [], []
        schema = None
        for j, f in enumerate(files):
            try:
                meta = pq.ParquetFile(f).metadata
            except Exception as exc:  # pyarrow raises several kinds for a damaged file
                raise InvalidDataError(f"cannot read the Parquet file {f}: {exc}") from exc
            if schema is None:
                schema = meta.schema.to_arrow_schema()
            for g in range(meta.num_row_groups):
                self.groups.append((j, g))
                self.sizes.append(meta.row_group(g).num_rows)
        self.meta = schema.empty_table().to_pandas()

    def __len__(self) -> int:
        return len(self.groups)

    def read(self, i: int) -> pd.DataFrame:
        import pyarrow.parquet as pq

        j, g = self.groups[i]
        try:
            return pq.ParquetFile(self.files[j]).read_row_group(g).to_pandas()
        except Exception as exc:
            raise InvalidDataError(f"cannot read row group {g} of {self.files[j]}: {exc}") from exc


class DaskUnits(Units):
    """The partitions of a Dask DataFrame, computed one at a time."""

    def __init__(self, ddf):
        self.parts = ddf.to_delayed()
        self.meta = ddf._meta
        self.sizes = None

    def __len__(self) -> int:
        return len(self.parts)

    def read(self, i: int) -> pd.DataFrame:
        return self.parts[i].compute()


def units_of(source) -> Units:
    """``source`` (a Dask DataFrame, or the path of a Parquet file or dataset folder) as units."""
    if isinstance(source, (str, Path)):
        return ParquetUnits(source)
    if hasattr(source, "to_delayed") and hasattr(source, "_meta"):
        return DaskUnits(source)
    if isinstance(source, Units):
        return source
    raise InvalidDataError(
        "the training data must be a Dask DataFrame or the path of a Parquet file or folder; "
        f"got a {type(source).__name__}")


def _hidden(p: Path, root: Path) -> bool:
    return any(part.startswith((".", "_")) for part in p.relative_to(root).parts)


def _natural(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def unit_matrix(units: Units, i: int, vec, columns, dtypes) -> tuple[np.ndarray, np.ndarray]:
    """Piece ``i``'s raw values (float64, for the bounds) and its float32 matrix, after the
    checks of a partition (columns, dtypes, no NaN)."""
    part = check_partition(units.read(i), i, columns, dtypes)
    raw = np.asarray(vec._transform(part), np.float64)
    if len(raw):
        check_matrix(raw, columns, what=f"partition {i}")
    return raw, np.asarray(vec.transform(part), np.float32)


def stream_moments(units: Units, vec, columns, dtypes, *, verbose: bool) -> dict:
    """Row count, means, scatter matrix, minimum and maximum of every piece, merged (one pass);
    records the sizes of the pieces on ``units``."""

    total, sizes = None, []
    with progress(verbose, "statistics", len(units)) as bar:
        for i in range(len(units)):
            raw, X = unit_matrix(units, i, vec, columns, dtypes)
            sizes.append(len(X))
            if len(X):
                m = moments(X.astype(np.float64), raw)
                total = m if total is None else merge_moments(total, m)
            bar.advance()
    if total is None:
        raise InvalidDataError("the training data is empty (0 rows in every partition)")
    units.sizes = sizes
    return total


class _Bar:
    def __init__(self, what: str, total: int):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn(f"[bold]{what}[/] partition"), MofNCompleteColumn(),
                                 BarColumn(), TimeElapsedColumn(), console=Console(stderr=True))
        self.task = self.progress.add_task(what, total=total)

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def advance(self) -> None:
        self.progress.advance(self.task)


class _Quiet:
    def advance(self) -> None:
        pass


def progress(verbose: bool, what: str, total: int):
    """A rich bar over the pieces read in one pass (nothing when not ``verbose``)."""
    return _Bar(what, total) if verbose else nullcontext(_Quiet())
