"""Conditional sampling: ``gen.sample(n, given=...)``.

The vectoriser turns ``given`` into :class:`~synthgen.vectorisers._evidence.Evidence` in matrix
space; a generator that can condition exactly does so in its ``_condition_fn(key, evidence, n)``
hook (gaussian, gmm, pca_gmm and kde in closed form, the circuit by an upward pass, the vae by
importance resampling in latent space).  What it
cannot do exactly is done by rejection on top: the remaining range conditions of an exact model,
or every condition for a model without the hook (drawn rows decoded, rows without the given
values dropped).  Either way every returned row carries the condition, and when the quota
cannot be reached a :class:`~synthgen.errors.SamplingError` says so: never fewer rows silently.

Rows for a seed are reproducible: batch ``i`` of a call uses ``fold_in(key, i)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .errors import InvalidParameterError, SamplingError

#: rows drawn per batch at most (bounds memory); batches before giving up
MAX_BATCH = 1 << 17
MAX_TRIES = 40


class ConditionalInfo(dict):
    """What a conditional call did (``gen.conditional_summary_``): method, rows asked and
    returned, candidates drawn, acceptance rate, and (mixtures) the posterior weights."""


#: rows per window: window ``w`` of a call is drawn with ``fold_in(key, w)``, so the rows for a
#: seed are the same from ``sample`` and from ``iter_sample`` in any chunk size
WINDOW = 1 << 16


def sample_given(gen, n: int, given, seed: int | None):
    """``n`` decoded rows of ``gen`` carrying ``given`` (see :meth:`Generator.sample`)."""
    parts = list(iter_sample_given(gen, n, given, seed, n))
    return parts[0]


def iter_sample_given(gen, n: int, given, seed: int | None, chunk_rows: int):
    """:func:`sample_given` in decoded chunks of at most ``chunk_rows`` rows."""
    from .vectorisers._evidence import apply_to_rows, evidence_for

    gen._check_fitted()
    evidence = evidence_for(gen.vectoriser_, given, n)
    key = gen._next_key(seed)
    pending, have, done = [], 0, 0
    for matrix in _windows(gen, key, evidence, n):
        pending.append(matrix)
        have += len(matrix)
        while have >= chunk_rows or (have and done + have == n):
            block = np.concatenate(pending) if len(pending) > 1 else pending[0]
            take = min(chunk_rows, have)
            rows = gen.vectoriser_.inverse_transform(block[:take])
            yield apply_to_rows(rows, evidence.rows(done, done + take))
            pending, have, done = [block[take:]], have - take, done + take


def _windows(gen, key, evidence, n: int):
    import jax

    infos = []
    for w, start in enumerate(range(0, n, WINDOW)):
        stop = min(n, start + WINDOW)
        matrix, info = conditional_matrix(gen, jax.random.fold_in(key, w),
                                          evidence.rows(start, stop), stop - start)
        infos.append(info)
        gen.conditional_summary_ = _merge(infos)
        yield matrix


def _merge(infos: list) -> ConditionalInfo:
    out = ConditionalInfo(infos[0])
    out["requested"] = sum(i["requested"] for i in infos)
    out["returned"] = sum(i["returned"] for i in infos)
    if "candidates" in infos[0]:
        out["candidates"] = sum(i["candidates"] for i in infos)
        out["acceptance_rate"] = out["returned"] / max(out["candidates"], 1)
    return out


def conditional_matrix(gen, key, evidence, n: int) -> tuple[np.ndarray, ConditionalInfo]:
    """Matrix rows carrying ``evidence``: exact where the generator can, rejection otherwise."""
    import jax

    if evidence.sets:
        return _then_reject_sets(gen, key, evidence, n)
    exact = gen._condition_fn
    if exact is not None and evidence.ranged.size <= getattr(gen, "_condition_ranges", 1):
        out = exact(jax.random.fold_in(key, 0), evidence, n)
        if out is not None:
            rows, info = out
            return rows, ConditionalInfo(info, requested=n, returned=n)
    elif exact is not None and exact(key, _one_row(evidence), 1) is not None:
        return _exact_then_reject(gen, key, evidence, n)
    try:
        return _reject(gen, key, evidence, n)
    except SamplingError as exc:
        note = getattr(gen, "_condition_note_", None)
        if note is None:
            raise
        raise SamplingError(f"{exc}; {note}") from None


def _one_row(evidence):
    from .vectorisers._evidence import Evidence

    return Evidence(evidence.n_features, evidence.fixed, evidence.values[:1], evidence.ranged[:1],
                    evidence.lower[:1, :1], evidence.upper[:1, :1], evidence.exact.iloc[:1], {})


def _inside(rows: np.ndarray, evidence, cols) -> np.ndarray:
    ok = np.ones(len(rows), dtype=bool)
    for c in cols:
        j = evidence.ranged[c]
        ok &= (rows[:, j] >= evidence.lower[0, c]) & (rows[:, j] <= evidence.upper[0, c])
    return ok


def _exact_then_reject(gen, key, evidence, n: int):
    """Exact on the fixed features and the first range; the other ranges by rejection."""
    import jax

    from .vectorisers._evidence import Evidence

    first = Evidence(evidence.n_features, evidence.fixed, evidence.values, evidence.ranged[:1],
                     evidence.lower[:, :1], evidence.upper[:, :1], evidence.exact, {})
    others = range(1, evidence.ranged.size)
    parts, found, drawn, batch = [], 0, 0, 0
    rate, info = None, {}
    while found < n:
        if batch >= MAX_TRIES:
            raise _shortfall(n, found, drawn, "exact on the first range, rejection on the others")
        want = _batch_size(n - found, rate)
        rows, info = gen._condition_fn(jax.random.fold_in(key, batch), first, want)
        ok = _inside(rows, evidence, others)
        drawn += want
        parts.append(rows[ok][: n - found])
        found += len(parts[-1])
        rate = max(found, 0) / drawn
        batch += 1
    info = ConditionalInfo(info, method=f"{info.get('method', 'exact')} + rejection on "
                           f"{evidence.ranged.size - 1} range(s)", requested=n, returned=n,
                           candidates=drawn, acceptance_rate=n / drawn)
    return np.concatenate(parts)[:n], info


def _then_reject_sets(gen, key, evidence, n: int):
    """Ranges over numbers modelled as categories (several one-hot slots): every other
    condition as usual, then rejection on the decoded values."""
    import dataclasses

    import jax

    inner = dataclasses.replace(evidence, sets={})
    parts, found, drawn, batch, rate, info = [], 0, 0, 0, None, {}
    while found < n:
        if batch >= MAX_TRIES:
            raise _shortfall(n, found, drawn, "rejection on the ranges of categorical numbers")
        want = _batch_size(n - found, rate)
        rows, info = conditional_matrix(gen, jax.random.fold_in(key, (1 << 22) + batch), inner, want)
        decoded = gen.vectoriser_.inverse_transform(rows)
        ok = np.ones(len(rows), dtype=bool)
        for col in evidence.sets:
            lo, hi = evidence.ranges[col]
            x = np.asarray(decoded[col], dtype=np.float64)
            ok &= (x >= lo) & (x <= hi)
        drawn += want
        parts.append(rows[ok][: n - found])
        found += len(parts[-1])
        rate = found / drawn
        batch += 1
    info = ConditionalInfo(info, method=f"{info.get('method', 'exact')} + rejection on "
                           f"{len(evidence.sets)} range(s) of categorical numbers",
                           requested=n, returned=n, candidates=drawn, acceptance_rate=n / drawn)
    return np.concatenate(parts)[:n], info


def _batch_size(missing: int, rate: float | None) -> int:
    want = missing * 2 if not rate else missing / max(rate, 1e-5) * 1.2
    return int(min(MAX_BATCH, max(256, math.ceil(want))))


def _shortfall(n, found, drawn, how) -> SamplingError:
    return SamplingError(
        f"found {found} of {n} rows carrying the condition after {drawn} candidates "
        f"({how}; acceptance {found / max(drawn, 1):.4%}); the condition is too rare for "
        "rejection under this model: relax it, or use a model that conditions exactly "
        "(gaussian, gmm, pca_gmm, kde, circuit)"
    )


def _reject(gen, key, evidence, n: int):
    """Every condition by rejection: decode candidates, keep those carrying the given values."""
    _check_rejectable(gen, evidence)
    if evidence.n_rows == 1:
        rows, drawn = _reject_group(gen, key, evidence, n, 0)
        matrix = rows
    else:
        groups = evidence.exact.astype(object).apply(tuple, axis=1)
        matrix = np.empty((n, evidence.n_features), np.float32)
        drawn = 0
        for g, (_, index) in enumerate(groups.groupby(groups, sort=False).groups.items()):
            index = np.asarray(index)
            sub = evidence.rows(int(index[0]), int(index[0]) + 1)
            rows, d = _reject_group(gen, key, sub, len(index), g)
            matrix[index] = rows
            drawn += d
    info = ConditionalInfo(method="rejection", requested=n, returned=n, candidates=drawn,
                           acceptance_rate=n / max(drawn, 1))
    return matrix, info


def _check_rejectable(gen, evidence) -> None:
    vec = gen.vectoriser_
    kinds = getattr(vec, "kinds_", None)
    for col in evidence.exact.columns:
        if str(col).startswith("__pos"):
            continue  # a character of a registration
        if kinds is not None:
            kind = kinds.get(col)
        else:
            names = list(getattr(vec, "columns_", []))
            dtypes = list(getattr(vec, "dtypes_", []))
            dtype = dtypes[names.index(str(col))] if str(col) in names else "float64"
            kind = "continuous" if dtype.startswith("float") else "integer"
        if kind in ("continuous", "datetime"):
            raise InvalidParameterError(
                f"given[{col!r}]: {gen.name} cannot condition exactly, and rejection cannot "
                f"reach an exact value of the continuous column {col!r}; give a range "
                f"(lo, hi) instead"
            )


def _reject_group(gen, key, evidence, n: int, group: int):
    import jax

    gkey = jax.random.fold_in(jax.random.fold_in(key, 1 << 20), group)
    parts, found, drawn, batch, rate = [], 0, 0, 0, None
    while found < n:
        if batch >= MAX_TRIES:
            raise _shortfall(n, found, drawn, f"rejection, {gen.name} cannot condition exactly")
        want = _batch_size(n - found, rate)
        start = batch * MAX_BATCH
        rows = gen._rows(gkey, start, start + want)
        ok = _carries(gen.vectoriser_.inverse_transform(rows), evidence)
        drawn += want
        parts.append(rows[ok][: n - found])
        found += len(parts[-1])
        rate = found / drawn
        batch += 1
    return np.concatenate(parts)[:n], drawn


def _carries(decoded, evidence) -> np.ndarray:
    """Which decoded rows carry the (one-row) evidence's values and ranges."""
    ok = np.ones(len(decoded), dtype=bool)
    if any(str(c).startswith("__pos") for c in evidence.exact.columns):
        for col in evidence.exact.columns:
            p = int(col[5:])
            ok &= np.array([m[p + 1 if p >= 4 and len(m) == 8 else p] == evidence.exact[col].iloc[0]
                            for m in map(str, decoded)])
        return ok
    for col in evidence.exact.columns:
        value = evidence.exact[col].iloc[0]
        column = decoded[col] if isinstance(decoded, pd.DataFrame) else decoded[:, int(col[1:])]
        column = pd.Series(np.asarray(column, dtype=object))
        ok &= column.isna().to_numpy() if _is_gap(value) else (column == value).to_numpy()
    for col, (lo, hi) in evidence.ranges.items():
        column = decoded[col] if isinstance(decoded, pd.DataFrame) else decoded[:, int(col[1:])]
        x = np.asarray(column, dtype=np.float64)
        ok &= (x >= lo) & (x <= hi)
    return ok


def _is_gap(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
