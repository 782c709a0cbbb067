"""Nearest-record search in bounded memory: the cost centre of privacy filtering and DCR.

Distances are computed as matrix products (the squared distance expanded as
``|a|^2 + |b|^2 - 2 a.b``), in chunks of queries and of records, with a running minimum
carried across record chunks inside ``lax.scan``.  Memory is ``query_chunk x record_chunk``
whatever the number of queries and records.

Expanding the square costs some precision in float32: a distance ``d`` comes back with an
absolute error of about ``sqrt(1e-7 * |r|^2)`` (records centred and scaled), so an exact copy
reads as a distance of a few thousandths, not 0.  Thresholds of the order of one are unaffected.

Two metrics:

* whitened Euclidean: ``||x - r||`` after both are multiplied by a whitening matrix
  (e.g. the inverse Cholesky factor of the training covariance);
* per-record Mahalanobis: ``||(z - mu_i) / sigma_i||`` with a scale vector per record, as for
  a VAE posterior ``N(mu_i, diag(sigma_i^2))``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

QUERY_CHUNK = 2048
RECORD_CHUNK = 8192


class Nearest(NamedTuple):
    """Distance to, and index of, the nearest record for each query."""

    distance: np.ndarray  # (M,) float64
    index: np.ndarray | None  # (M,) int64, when asked for


def _scan_min(q_aug, q_const, rec_aug):
    """Min over record chunks of ``q_aug @ rec_aug.T + q_const``; rec_aug is (n_chunks, chunk, k).

    XLA fuses the product with the min reduction, so no chunk matrix is materialised.
    """
    import jax
    import jax.numpy as jnp

    def body(best, r):
        return jnp.minimum(best, jnp.min(q_aug @ r.T, axis=1)), None

    init = jnp.full(q_aug.shape[0], jnp.inf, q_aug.dtype)
    best, _ = jax.lax.scan(body, init, rec_aug)
    return jnp.maximum(best + q_const, 0.0)


def _scan_min_other(q_aug, q_const, q_ids, rec_aug):
    """As :func:`_scan_min`, skipping the record whose index equals the query's id."""
    import jax
    import jax.numpy as jnp

    chunk = rec_aug.shape[1]

    def body(best, xs):
        r, c = xs
        d2 = q_aug @ r.T
        ids = c * chunk + jnp.arange(chunk)
        d2 = jnp.where(ids[None, :] == q_ids[:, None], jnp.inf, d2)
        return jnp.minimum(best, jnp.min(d2, axis=1)), None

    init = jnp.full(q_aug.shape[0], jnp.inf, q_aug.dtype)
    best, _ = jax.lax.scan(body, init, (rec_aug, jnp.arange(rec_aug.shape[0])))
    return jnp.maximum(best + q_const, 0.0)


def _scan_argmin(q_aug, q_const, rec_aug):
    """As :func:`_scan_min`, also returning the index of the nearest record (slower)."""
    import jax
    import jax.numpy as jnp

    chunk = rec_aug.shape[1]

    def body(carry, xs):
        best, arg = carry
        r, c = xs
        d2 = q_aug @ r.T
        j = jnp.argmin(d2, axis=1)
        m = jnp.take_along_axis(d2, j[:, None], axis=1)[:, 0]
        better = m < best
        return (jnp.where(better, m, best), jnp.where(better, j + c * chunk, arg)), None

    init = (jnp.full(q_aug.shape[0], jnp.inf, q_aug.dtype), jnp.zeros(q_aug.shape[0], jnp.int32))
    (best, arg), _ = jax.lax.scan(body, init, (rec_aug, jnp.arange(rec_aug.shape[0])))
    return jnp.maximum(best + q_const, 0.0), arg


_JIT: dict = {}


def _augment_records(R: np.ndarray, inv_var: np.ndarray | None) -> np.ndarray:
    """Rows whose dot product with an augmented query is the squared distance (up to a constant).

    Euclidean: ``[r, |r|^2] . [-2q, 1] = |r|^2 - 2 q.r`` (``|q|^2`` is added after the min).
    Per-record diagonal: ``[w, -2 r w, sum(r^2 w)] . [q^2, q, 1]``.
    """
    if inv_var is None:
        return np.concatenate([R, np.sum(R * R, axis=1, keepdims=True)], axis=1)
    return np.concatenate([inv_var, -2.0 * R * inv_var, np.sum(R * R * inv_var, axis=1, keepdims=True)], axis=1)


def _augment_queries(Q: np.ndarray, weighted: bool) -> tuple[np.ndarray, np.ndarray]:
    ones = np.ones((len(Q), 1))
    if not weighted:
        return np.concatenate([-2.0 * Q, ones], axis=1), np.sum(Q * Q, axis=1)
    return np.concatenate([Q * Q, Q, ones], axis=1), np.zeros(len(Q))


def _chunk_records(rec_aug: np.ndarray, chunk: int) -> np.ndarray:
    """Pad to whole chunks with rows that can never be the nearest."""
    n, k = rec_aug.shape
    n_chunks = max(1, -(-n // chunk))
    pad = n_chunks * chunk - n
    if pad:
        filler = np.zeros((pad, k))
        filler[:, -1] = np.finfo(np.float32).max / 4
        rec_aug = np.concatenate([rec_aug, filler])
    return rec_aug.reshape(n_chunks, chunk, k).astype(np.float32)


class RecordIndex:
    """Records prepared once (whitened, augmented, chunked, on device) for many queries.

    ``scales``: optional ``(N, d)`` per-record scales (Mahalanobis with a diagonal per record).
    ``whiten``: optional ``(d, d)`` matrix ``W``; distances are between ``x @ W`` and ``r @ W``.
    """

    def __init__(self, records, *, scales=None, whiten=None, record_chunk: int = RECORD_CHUNK):
        import jax.numpy as jnp

        from ..errors import InvalidDataError

        R = np.asarray(records, dtype=np.float64)
        if R.ndim != 2 or len(R) == 0:
            raise InvalidDataError(f"records must be a non-empty 2-D array; got shape {R.shape}")
        self.whiten = None if whiten is None else np.asarray(whiten, dtype=np.float64)
        if self.whiten is not None:
            R = R @ self.whiten
        # Distances do not change under a shift; centring keeps the expanded form accurate.
        self.centre = R.mean(axis=0)
        R = R - self.centre
        inv_var = None
        if scales is not None:
            inv_var = 1.0 / np.square(np.asarray(scales, dtype=np.float64))
            if inv_var.shape != R.shape:
                raise InvalidDataError(
                    f"scales must have the records' shape {R.shape}; got {inv_var.shape}"
                )
        self.weighted = inv_var is not None
        self.n_records, self.n_features = R.shape
        n_chunks = -(-len(R) // record_chunk)
        chunk = -(-len(R) // n_chunks)
        chunk = -(-chunk // 64) * 64
        self._rec = jnp.asarray(_chunk_records(_augment_records(R, inv_var), chunk))

    def query(self, queries, *, query_chunk: int = QUERY_CHUNK, return_index: bool = False) -> Nearest:
        """Distance to (and, if asked, index of) the nearest record for each query row.

        ``return_index`` costs about ten times more time than the distances alone.
        """
        import jax.numpy as jnp

        from ..errors import InvalidDataError

        fn = _jitted("argmin" if return_index else "min")
        Q = np.asarray(queries, dtype=np.float64)
        if Q.ndim != 2 or Q.shape[1] != self.n_features:
            raise InvalidDataError(
                f"queries must be 2-D with {self.n_features} columns; got shape {Q.shape}"
            )
        Q = self._prepare_queries(Q)
        q_aug, q_const = _augment_queries(Q, self.weighted)
        size = int(min(query_chunk, max(8, 1 << max(0, (len(Q) - 1)).bit_length())))
        dist = np.empty(len(Q))
        index = np.empty(len(Q), dtype=np.int64) if return_index else None
        for start in range(0, len(Q), size):
            part, const = q_aug[start:start + size], q_const[start:start + size]
            pad = size - len(part)
            if pad:
                part = np.concatenate([part, np.zeros((pad, part.shape[1]))])
                const = np.concatenate([const, np.zeros(pad)])
            out = fn(jnp.asarray(part, jnp.float32), jnp.asarray(const, jnp.float32), self._rec)
            best = out[0] if return_index else out
            stop = start + size - pad
            dist[start:stop] = np.sqrt(np.asarray(best, dtype=np.float64)[: size - pad])
            if return_index:
                index[start:stop] = np.asarray(out[1])[: size - pad]
        return Nearest(dist, index)


    def _prepare_queries(self, Q: np.ndarray) -> np.ndarray:
        if self.whiten is not None:
            Q = Q @ self.whiten
        return Q - self.centre

    def distances_to_others(self, records, *, query_chunk: int = QUERY_CHUNK) -> np.ndarray:
        """For record ``i`` (the same rows the index was built from), the distance to the nearest
        *other* record: the leave-one-out nearest-neighbour distance."""
        import jax.numpy as jnp

        fn = _jitted("other")
        Q = self._prepare_queries(np.asarray(records, dtype=np.float64))
        if len(Q) != self.n_records:
            from ..errors import InvalidDataError

            raise InvalidDataError(f"expected the {self.n_records} indexed records; got {len(Q)} rows")
        q_aug, q_const = _augment_queries(Q, self.weighted)
        size = int(min(query_chunk, max(8, 1 << max(0, (len(Q) - 1)).bit_length())))
        out = np.empty(len(Q))
        for start in range(0, len(Q), size):
            part, const = q_aug[start:start + size], q_const[start:start + size]
            ids = np.arange(start, start + size)
            pad = size - len(part)
            if pad:
                part = np.concatenate([part, np.zeros((pad, part.shape[1]))])
                const = np.concatenate([const, np.zeros(pad)])
            best = fn(jnp.asarray(part, jnp.float32), jnp.asarray(const, jnp.float32),
                      jnp.asarray(ids, jnp.int32), self._rec)
            out[start:start + size - pad] = np.sqrt(np.asarray(best, dtype=np.float64)[: size - pad])
        return out


def _jitted(name: str):
    if not _JIT:
        import jax

        from .._compile_cache import enable

        enable()
        _JIT.update(min=jax.jit(_scan_min), argmin=jax.jit(_scan_argmin), other=jax.jit(_scan_min_other))
    return _JIT[name]


def nearest_records(queries, records, *, scales=None, whiten=None, query_chunk: int = QUERY_CHUNK,
                    record_chunk: int = RECORD_CHUNK, return_index: bool = False) -> Nearest:
    """For each query row, the distance to (and optionally index of) the nearest record.

    See :class:`RecordIndex` for ``scales`` and ``whiten``.  Memory is bounded by the chunk
    sizes whatever the numbers of queries and records.
    """
    index = RecordIndex(records, scales=scales, whiten=whiten, record_chunk=record_chunk)
    return index.query(queries, query_chunk=query_chunk, return_index=return_index)


def min_distances_numpy(queries, means, sigmas) -> np.ndarray:
    """The straightforward loop, one query at a time (the reference and the benchmark's peer)."""
    out = np.empty(len(queries))
    for i, z in enumerate(queries):
        out[i] = np.min(np.linalg.norm((z - means) / sigmas, axis=1))
    return out
