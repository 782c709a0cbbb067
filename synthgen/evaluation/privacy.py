"""Privacy: are synthetic rows copies of, or suspiciously close to, the real training rows?

Three measures, each compared with a baseline of fresh real rows:

* **Exact copies**: the share of synthetic rows equal to some training row in every column.
  Rows are compared through 64-bit hashes of their values (numbers exactly, as float64;
  text as text; a gap equals a gap), never through a distance threshold.
* **DCR**, distance to the closest record: for each synthetic row, the Euclidean distance
  to the nearest training row.  Synthetic rows should be no closer to the training rows
  than real rows the generator never saw.
* **NNDR**, nearest-neighbour distance ratio: distance to the nearest training row over
  distance to the second nearest (0 when both are 0).  A ratio near 0 singles one record out.

Distances are taken between encoded rows: continuous and datetime columns standardised with
the training rows' mean and standard deviation (a gap is 0 plus a 0/1 "missing" feature),
categorical columns one-hot, so two rows that differ in one category are ``sqrt(2)`` apart.

The baseline is the ``holdout`` table when given (its rows against the training rows).
Without one, it is leave-one-out on the training rows themselves: each row's distances to
the *other* training rows.  At most ``baseline_rows`` baseline rows are drawn (seeded).

The search runs in bounded memory: :class:`synthgen.sampling.nearest.RecordIndex` prepares
the training rows in chunks, and a jitted ``lax.scan`` carries the k best candidates per
query across record chunks (memory ``query_chunk x record_chunk``, whatever the numbers of
rows).  Float32 products pick the candidates (one more than asked for, so that float32
near-ties rarely matter); their distances are then recomputed exactly in float64, so an exact
copy reads as 0.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..errors import InvalidDataError
from ..sampling.nearest import RecordIndex
from ._tables import Encoder, row_hashes

QUERY_CHUNK = 1024
RECORD_CHUNK = 4096
BASELINE_ROWS = 20_000


class Neighbours(NamedTuple):
    """The ``k`` nearest records of each query: exact distances (ascending) and indices."""

    distance: np.ndarray  # (m, k) float64
    index: np.ndarray  # (m, k) int64


def _scan_topk(q_aug, q_const, rec_aug, *, k: int):
    """The ``k`` smallest of ``q_aug @ rec.T + q_const`` over record chunks, and their indices."""
    import jax
    import jax.numpy as jnp

    chunk = rec_aug.shape[1]

    def body(carry, xs):
        best, arg = carry
        r, c = xs
        neg, j = jax.lax.top_k(-(q_aug @ r.T), k)
        cand = jnp.concatenate([best, -neg], axis=1)
        cidx = jnp.concatenate([arg, j + c * chunk], axis=1)
        neg2, pos = jax.lax.top_k(-cand, k)
        return (-neg2, jnp.take_along_axis(cidx, pos, axis=1)), None

    m = q_aug.shape[0]
    init = (jnp.full((m, k), jnp.inf, q_aug.dtype), jnp.zeros((m, k), jnp.int32))
    (best, arg), _ = jax.lax.scan(body, init, (rec_aug, jnp.arange(rec_aug.shape[0])))
    return jnp.maximum(best + q_const[:, None], 0.0), arg


_JIT: dict[int, object] = {}


def _topk_fn(k: int):
    import jax

    from .._compile_cache import enable

    if k not in _JIT:
        enable()
        _JIT[k] = jax.jit(partial(_scan_topk, k=k))
    return _JIT[k]


def nearest_k(records: np.ndarray, queries: np.ndarray, k: int = 2, *, index: RecordIndex | None = None,
              query_chunk: int = QUERY_CHUNK, record_chunk: int = RECORD_CHUNK) -> Neighbours:
    """The ``k`` nearest ``records`` (Euclidean) of each query row, in bounded memory.

    ``index``: a :class:`RecordIndex` already built on ``records`` (plain Euclidean).
    """
    import jax.numpy as jnp

    records = np.asarray(records, dtype=np.float64)
    queries = np.asarray(queries, dtype=np.float64)
    if index is None:
        index = RecordIndex(records, record_chunk=record_chunk)
    if index.n_records < k:
        raise InvalidDataError(f"{k} nearest records were asked for; there are only {index.n_records}")
    if queries.ndim != 2 or queries.shape[1] != records.shape[1]:
        raise InvalidDataError(
            f"queries must be 2-D with {records.shape[1]} columns; got shape {queries.shape}"
        )
    kk = min(k + 1, index.n_records)  # one spare candidate absorbs float32 near-ties
    fn = _topk_fn(kk)
    size = int(min(query_chunk, max(8, 1 << max(0, len(queries) - 1).bit_length())))
    dist = np.empty((len(queries), k))
    idx = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), size):
        part = queries[start:start + size] - index.centre
        n = len(part)
        q_aug = np.zeros((size, part.shape[1] + 1))
        q_aug[:n, :-1], q_aug[:n, -1] = -2.0 * part, 1.0
        q_const = np.zeros(size)
        q_const[:n] = np.sum(part * part, axis=1)
        _, arg = fn(jnp.asarray(q_aug, jnp.float32), jnp.asarray(q_const, jnp.float32), index._rec)
        arg = np.minimum(np.asarray(arg, dtype=np.int64)[:n], index.n_records - 1)
        exact = np.stack([np.linalg.norm(queries[start:start + n] - records[arg[:, j]], axis=1)
                          for j in range(kk)], axis=1)
        order = np.argsort(exact, axis=1, kind="stable")[:, :k]
        dist[start:start + n] = np.take_along_axis(exact, order, axis=1)
        idx[start:start + n] = np.take_along_axis(arg, order, axis=1)
    return Neighbours(dist, idx)


def nndr(distance: np.ndarray) -> np.ndarray:
    """Nearest over second-nearest distance per row (0 where both are 0)."""
    d1, d2 = distance[:, 0], distance[:, 1]
    return np.divide(d1, d2, out=np.zeros_like(d1), where=d2 > 0)


def _leave_one_out(nb: Neighbours, rows: np.ndarray) -> np.ndarray:
    """Distances to the two nearest *other* records, from three neighbours that may include self."""
    m = len(rows)
    is_self = nb.index == rows[:, None]
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), nb.index.shape[1] - 1)
    keep = np.ones(nb.index.shape, dtype=bool)
    keep[np.arange(m), drop] = False
    return nb.distance[keep].reshape(m, -1)


def _summary(x: np.ndarray) -> dict:
    if x.size == 0:
        return {"mean": float("nan"), "median": float("nan"), "p05": float("nan")}
    return {"mean": float(np.mean(x)), "median": float(np.median(x)), "p05": float(np.percentile(x, 5))}


def _baseline(train, holdout, X_train, enc, index, h_train, rng, baseline_rows, chunks):
    """Distances (m, 2) and exact-copy flags of the baseline rows, and the baseline's name."""
    if holdout is not None:
        pick = np.sort(rng.choice(len(holdout), min(len(holdout), baseline_rows), replace=False))
        rows = holdout.iloc[pick].reset_index(drop=True)
        nb = nearest_k(X_train, enc.transform(rows), 2, index=index, **chunks)
        return nb.distance, np.isin(row_hashes(rows, enc.kinds), h_train), "holdout"
    pick = np.sort(rng.choice(len(train), min(len(train), baseline_rows), replace=False))
    if len(train) < 3:
        return np.empty((0, 2)), np.empty(0, dtype=bool), "real (leave-one-out)"
    nb = nearest_k(X_train, X_train[pick], 3, index=index, **chunks)
    _, inverse, counts = np.unique(h_train, return_inverse=True, return_counts=True)
    duplicated = counts[inverse] > 1
    return _leave_one_out(nb, pick), duplicated[pick], "real (leave-one-out)"


def privacy(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame | None,
            kinds: dict[str, str], *, seed: int = 0, baseline_rows: int = BASELINE_ROWS,
            query_chunk: int = QUERY_CHUNK, record_chunk: int = RECORD_CHUNK) -> tuple[dict, dict]:
    """Exact copies, DCR and NNDR of the synthetic rows against the training rows (canonical
    tables), with the baseline; returns the summary and the per-row distances (for plots)."""
    if len(train) < 2:
        raise InvalidDataError(f"the privacy metrics need at least 2 real rows; got {len(train)}")
    rng = np.random.default_rng(seed)
    chunks = {"query_chunk": query_chunk, "record_chunk": record_chunk}
    enc = Encoder(kinds).fit(train, [synthetic, holdout])
    X_train = enc.transform(train)
    index = RecordIndex(X_train, record_chunk=record_chunk)
    syn = nearest_k(X_train, enc.transform(synthetic), 2, index=index, **chunks)
    h_train = row_hashes(train, kinds)
    copies = np.isin(row_hashes(synthetic, kinds), h_train)
    base_dist, base_copies, name = _baseline(train, holdout, X_train, enc, index, h_train, rng,
                                             baseline_rows, chunks)
    dcr_s, dcr_b = syn.distance[:, 0], base_dist[:, 0]
    p05 = np.percentile(dcr_b, 5) if dcr_b.size else float("nan")
    summary = {
        "distance": "Euclidean on standardised numbers and one-hot categories",
        "baseline": name,
        "n_rows": {"train": int(len(train)), "synthetic": int(len(synthetic)),
                   "baseline": int(len(base_dist))},
        "exact_copies": {"synthetic": float(copies.mean()), "n_synthetic": int(copies.sum()),
                         "baseline": float(base_copies.mean()) if base_copies.size else float("nan")},
        "dcr": {"synthetic": _summary(dcr_s), "baseline": _summary(dcr_b),
                "synthetic_below_baseline_p05": float(np.mean(dcr_s < p05)) if dcr_b.size else float("nan")},
        "nndr": {"synthetic": _summary(nndr(syn.distance)), "baseline": _summary(nndr(base_dist))},
    }
    return summary, {"dcr_synthetic": dcr_s, "dcr_baseline": dcr_b}
