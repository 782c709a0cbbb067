"""Scoring and nearest-record distances over Dask DataFrames, in bounded memory per task."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..base import Generator
from ..errors import InvalidDataError, InvalidParameterError
from ._common import check_partition, current_client, ship, shippable


def score_samples(gen: Generator, ddf, *, client=None):
    """``gen.score_samples`` of every row of ``ddf``: a Dask Series ``log_prob`` with ``ddf``'s
    index.  A partition whose columns or dtypes differ from ``ddf``'s metadata is refused with
    an error naming the partition and the column."""
    if not isinstance(gen, Generator):
        raise InvalidParameterError(f"gen must be a fitted synthgen Generator; got {type(gen).__name__}")
    gen._check_fitted()
    model = ship(shippable(gen), client if client is not None else current_client())
    meta = ddf._meta
    columns = [str(c) for c in meta.columns]
    dtypes = [str(meta[c].dtype) for c in meta.columns]
    return ddf.map_partitions(_score_part, model, columns, dtypes,
                              meta=pd.Series([], dtype="float64", name="log_prob"),
                              enforce_metadata=False)


def _score_part(part, model, columns, dtypes, partition_info=None):
    index = partition_info["number"] if partition_info else 0
    part = check_partition(part, index, columns, dtypes)
    if len(part) == 0:
        return pd.Series([], dtype="float64", name="log_prob")
    return pd.Series(model.score_samples(part), index=part.index, name="log_prob")


def nearest_distances(queries, records, *, whiten=None, client=None) -> np.ndarray:
    """For each query row, the Euclidean distance to the nearest row of ``records`` (the DCR
    when ``records`` is the training set and ``queries`` the synthetic rows).

    ``records`` is a Dask DataFrame of numeric columns, split over partitions: each task
    indexes one partition (:class:`synthgen.sampling.nearest.RecordIndex`, chunked) and
    answers every query; the distance is the minimum over the partitions.  ``queries`` is an
    array or DataFrame with the same columns (sent to the workers once) or a Dask DataFrame
    (then every pair of partitions is one task, and the result is computed per query
    partition).  ``whiten``: a ``(d, d)`` matrix applied to both before the distance.
    Returns the distances in the queries' row order (float64).
    """
    import dask

    meta = records._meta
    columns = [str(c) for c in meta.columns]
    dtypes = [str(meta[c].dtype) for c in meta.columns]
    client = client if client is not None else current_client()
    rec_parts = records.to_delayed()
    if hasattr(queries, "to_delayed") and hasattr(queries, "npartitions"):
        q_parts = queries.to_delayed()
        q_meta = queries._meta
        q_cols = [str(c) for c in q_meta.columns]
        _check_query_columns(q_cols, columns)
        tasks = [_min_over_records(dask.delayed(_query_matrix)(q, i, q_cols, columns), rec_parts,
                                   columns, dtypes, whiten) for i, q in enumerate(q_parts)]
    else:
        Q = _as_query_matrix(queries, columns)
        q = ship(Q, client)
        tasks = [_min_over_records(q, rec_parts, columns, dtypes, whiten)]
    out = client.gather(client.compute(tasks)) if client is not None else dask.compute(*tasks)
    return np.concatenate(out)


def _min_over_records(q, rec_parts, columns, dtypes, whiten):
    import dask

    parts = [dask.delayed(_part_nearest)(q, r, j, columns, dtypes, whiten)
             for j, r in enumerate(rec_parts)]
    while len(parts) > 1:  # a tree of minima: no task holds more than two distance vectors
        parts = [dask.delayed(np.minimum)(*parts[i:i + 2]) if i + 1 < len(parts) else parts[i]
                 for i in range(0, len(parts), 2)]
    return parts[0]


def _part_nearest(Q, part, index, columns, dtypes, whiten):
    from ..base import check_matrix
    from ..sampling.nearest import RecordIndex

    part = check_partition(part, index, columns, dtypes)
    if len(part) == 0:
        return np.full(len(Q), np.inf)
    R = part[columns].to_numpy(dtype=np.float64)
    check_matrix(R, columns, what=f"partition {index} of the records")
    return RecordIndex(R, whiten=whiten).query(Q).distance


def _check_query_columns(have, columns):
    missing = [c for c in columns if c not in have]
    if missing:
        raise InvalidDataError(f"the queries have no column {missing[0]!r} (the records have "
                               f"{', '.join(columns)})")


def _query_matrix(part, index, q_cols, columns):
    if list(map(str, part.columns)) != q_cols:
        check_partition(part, index, q_cols)
    return part.rename(columns=str)[columns].to_numpy(dtype=np.float64)


def _as_query_matrix(queries, columns) -> np.ndarray:
    if isinstance(queries, pd.DataFrame):
        _check_query_columns([str(c) for c in queries.columns], columns)
        return queries.rename(columns=str)[columns].to_numpy(dtype=np.float64)
    Q = np.asarray(queries, dtype=np.float64)
    if Q.ndim != 2 or Q.shape[1] != len(columns):
        raise InvalidDataError(f"queries must be 2-D with {len(columns)} columns; got shape {Q.shape}")
    return Q
