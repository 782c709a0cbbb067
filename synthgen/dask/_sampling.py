"""Partitioned sampling: a Dask DataFrame whose partitions are ranges of the model's blocks.

Partition ``p`` holds rows ``[start_p, stop_p)`` of ``gen.sample(n, seed=seed)``; its rows are
drawn on a worker from the block keys ``fold_in(sample_key(seed), b)``, so ``compute()`` equals
the single-process rows whatever the partitioning, the scheduler or the failures on the way.

The rejection sampler accepts an unknown number of rows per block.  A first, cheap pass counts
the accepted rows of each block (in parallel, waves of blocks as the single-process schedule
asks for them, replaying its batches so that it fails exactly when ``sample`` would); the
partitions then hold whole block ranges, the last one cut at ``n`` rows.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..base import Generator, check_n
from ..errors import InvalidParameterError, SamplingError
from ..random import BLOCK_ROWS
from ._common import as_frame, current_client, ship, shippable

#: default rows per partition (about 40 MB for 10 float32 columns; many blocks per task)
DEFAULT_PARTITION_ROWS = 1 << 20


def sample(gen: Generator, n: int, *, seed: int | None = None, npartitions: int | None = None,
           rows_per_partition: int | None = None, client=None):
    """``gen.sample(n, seed=seed)`` as a ``dask.dataframe.DataFrame`` drawn on the workers.

    Give ``npartitions`` or ``rows_per_partition`` (default: about 2**20 rows per partition);
    partition boundaries fall on whole blocks where a partition holds more than one block.
    Without ``seed`` the rows follow the model's own stream, as ``gen.sample`` does (the
    stream advances once on the client).  The fitted model is scattered to the workers once
    when a distributed client is running.  A generator fitted on an array gives columns
    named after its features (``x0``, ``x1``, ...); one fitted on strings a column ``value``.
    The index is the row number, 0 to n - 1.
    """
    import jax

    from ..sampling.rejection import RejectionSampler

    n = check_n(n)
    if not isinstance(gen, Generator):
        raise InvalidParameterError(f"gen must be a fitted synthgen Generator; got {type(gen).__name__}")
    gen._check_fitted()
    rows = _partition_rows(n, npartitions, rows_per_partition)
    key = np.asarray(jax.device_get(gen._next_key(seed)))
    client = client if client is not None else current_client()
    model = ship(shippable(gen), client)
    names = [str(c) for c in gen.vectoriser_.get_feature_names_out()]
    if isinstance(gen, RejectionSampler):
        plan = _rejection_plan(gen, model, key, n, rows, client)
        meta = _meta(gen, key, names, rejection=True)
        return _from_map(_rejection_part, plan, model, key, names, meta)
    ranges = [(s, min(n, s + rows)) for s in range(0, n, rows)]
    meta = _meta(gen, key, names, rejection=False)
    return _from_map(_plain_part, ranges, model, key, names, meta)


def _partition_rows(n: int, npartitions, rows_per_partition) -> int:
    if npartitions is not None and rows_per_partition is not None:
        raise InvalidParameterError("give npartitions or rows_per_partition, not both")
    if rows_per_partition is not None:
        rows = check_n(rows_per_partition, "rows_per_partition")
    elif npartitions is not None:
        rows = -(-n // check_n(npartitions, "npartitions"))
    else:
        rows = min(n, DEFAULT_PARTITION_ROWS)
    if rows > BLOCK_ROWS:  # whole blocks: no block is drawn by two partitions
        rows = -(-rows // BLOCK_ROWS) * BLOCK_ROWS
    return rows


def _from_map(func, items, model, key, names, meta):
    import dask.dataframe as dd

    starts = [_first_row(it) for it in items]
    n = _last_row(items[-1])
    divisions = tuple(starts) + (n - 1,)
    return dd.from_map(func, items, args=(model, key, names), meta=meta, divisions=divisions,
                       label="synthgen-sample", enforce_metadata=False)


def _first_row(item) -> int:
    return int(item[0])


def _last_row(item) -> int:
    return int(item[1]) if len(item) == 2 else int(item[0]) + int(item[3])


def _meta(gen, key, names, *, rejection: bool) -> pd.DataFrame:
    """The partitions' empty frame: the columns and dtypes of one row converted on the client."""
    import jax.numpy as jnp

    if rejection:
        one = gen.generator_._rows(jnp.asarray(key), 0, 1)
    else:
        one = gen._rows(jnp.asarray(key), 0, 1)
    return as_frame(gen.vectoriser_.inverse_transform(one), names).iloc[:0]


def _plain_part(rng, model, key, names) -> pd.DataFrame:
    import jax.numpy as jnp

    start, stop = rng
    X = model._rows(jnp.asarray(key), start, stop)
    frame = as_frame(model.vectoriser_.inverse_transform(X), names)
    frame.index = pd.RangeIndex(start, stop)
    return frame


# ---------------------------------------------------------------------------------------------
# The rejection sampler
# ---------------------------------------------------------------------------------------------


def accepted_block(rs, key, b: int) -> np.ndarray:
    """Rows of block ``b`` that the rejection sampler ``rs`` accepts (vectorised space), as
    ``RejectionSampler._accepted`` computes them; also the number of candidates drawn."""
    import jax

    from ..sampling.rejection import _user_rows

    cand = rs.space_.candidates(key, b)
    dist = rs.space_.distances(cand)
    ok = dist > rs.threshold_
    rows = rs.space_.to_matrix(jax.random.fold_in(key, b), cand, ok)
    if rs.check_output and rs.predicate_ is not None and len(rows):
        good = np.array([bool(rs.predicate_(r)) for r in _user_rows(rs.vectoriser_, rows)])
        rows = rows[good]
    return np.asarray(rows), len(cand)


def _count_blocks(first: int, stop: int, model, key) -> np.ndarray:
    """(accepted, candidates) per block of ``[first, stop)``: shape (stop - first, 2)."""
    import jax.numpy as jnp

    k = jnp.asarray(key)
    out = np.zeros((stop - first, 2), np.int64)
    for i, b in enumerate(range(first, stop)):
        rows, drawn = accepted_block(model, k, b)
        out[i] = len(rows), drawn
    return out


def _rejection_plan(gen, model, key, n: int, rows: int, client) -> list[tuple[int, int, int, int]]:
    """Partitions ``(first_row, first_block, stop_block, take)``: whole block ranges whose
    accepted rows, the last range cut to ``take``, make the first ``n`` accepted rows."""
    blocks_per_task = max(1, rows // BLOCK_ROWS)
    counts = np.zeros((0, 2), np.int64)

    def need(upto: int):
        nonlocal counts
        if upto <= len(counts):
            return
        # count at least one partition's worth of blocks per task, all tasks at once
        lo = len(counts)
        hi = max(upto, lo + blocks_per_task)
        parts = [(a, min(hi, a + blocks_per_task)) for a in range(lo, hi, blocks_per_task)]
        counts = np.concatenate([counts, *_run_counts(parts, model, key, client)])

    # replay RejectionSampler._accepted's batches on the counts (same failure, same blocks)
    found = drawn = passed = tries = block = 0
    rate = None
    stop_block = None
    while found < n:
        if tries >= gen.max_tries:
            gen._record_summary(n, found, drawn, math.nan, passed)
            raise SamplingError(
                f"found {found} of {n} rows after {tries} batches ({drawn} candidates, "
                f"acceptance {passed / max(drawn, 1):.3%}); raise max_tries or alpha, lower the "
                "threshold, or relax require")
        n_blocks = gen._blocks_for(n - found, rate)
        need(block + n_blocks)
        for b in range(block, block + n_blocks):
            acc, cand = counts[b]
            drawn += int(cand)
            passed += int(acc)
            found += min(int(acc), n - found)
            if found >= n:
                stop_block = b + 1
                break
        block += n_blocks
        tries += 1
        rate = passed / drawn if drawn else None
    gen._record_summary(n, found, drawn, math.nan, passed)
    acc = counts[:stop_block, 0]
    plan, row = [], 0
    for a in range(0, stop_block, blocks_per_task):
        z = min(stop_block, a + blocks_per_task)
        take = int(min(acc[a:z].sum(), n - row))
        if take:
            plan.append((row, a, z, take))
        row += take
    return plan


def _run_counts(parts, model, key, client):
    if client is None:
        import dask

        tasks = [dask.delayed(_count_blocks)(a, z, model, key) for a, z in parts]
        return dask.compute(*tasks)
    futures = [client.submit(_count_blocks, a, z, model, key, pure=False) for a, z in parts]
    return client.gather(futures)


def _rejection_part(item, model, key, names) -> pd.DataFrame:
    import jax.numpy as jnp

    row, first, stop, take = item
    k = jnp.asarray(key)
    got = [accepted_block(model, k, b)[0] for b in range(first, stop)]
    X = np.concatenate(got)[:take]
    frame = as_frame(model.vectoriser_.inverse_transform(X), names)
    frame.index = pd.RangeIndex(row, row + take)
    return frame
