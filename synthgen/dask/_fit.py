"""Fitting out of core: the Gaussian and the Gaussian mixture from a Dask DataFrame.

Every pass over the data runs on the workers, one task per partition, and sends back a few
small arrays; the client merges them (sums, and the pairwise update of Chan, Golub and LeVeque
for scatter matrices) and runs the M-step.  Only the partitions being read are in memory.

* Pass 1: per partition its row count, column means, scatter matrix, minimum and maximum:
  the vectoriser's bounds, the Gaussian's mean and covariance, and the mixture's frame.
* The mixture's k-means start runs on the client on an evenly spread subsample of at most
  ``init_rows`` rows (all rows when the data has no more: then the start is exactly the
  in-memory fit's), or starts from centres given by the caller.
* One pass per EM iteration: the E-step's sufficient statistics of every candidate mixture
  (one per component count and restart) at once, by :mod:`synthgen.generators._em`'s own
  functions, so from the same start the parameters equal the in-memory fit's up to float
  rounding.
"""

from __future__ import annotations

from functools import partial

import jax
import numpy as np

from ..base import Generator, check_matrix
from ..errors import InvalidDataError, InvalidParameterError
from ..random import check_seed, fit_keys
from ._common import check_partition, current_client, install_fit, merge_moments
from ._common import moments as partition_moments  # a local name `moments` holds their sum

#: rows of the subsample that the mixture's k-means start is computed on
DEFAULT_INIT_ROWS = 1 << 17


def fit(gen: Generator, data, *, seed: int | None = None, init_rows: int = DEFAULT_INIT_ROWS,
        init_centres=None, client=None, window: int | None = None,
        validation_rows: int | None = None, prior_rows: int | None = None) -> Generator:
    """Fit ``gen`` on ``data`` (a Dask DataFrame, or the path of a Parquet file or dataset
    folder) without holding it in memory; returns ``gen``.

    The columns must be numeric (the numeric vectoriser: its bounds come from per-partition
    minima and maxima).  A partition with a column missing, an extra column, a dtype other
    than the first partition's, or a NaN is refused with an error naming the partition and
    the column.

    * ``gaussian`` and ``gmm``: one task per partition and pass, on the Dask workers (a path
      is read with ``dask.dataframe.read_parquet``).  For the mixture, ``init_centres``
      (``{n_components: (k, d) array}``, in the data's columns) replaces the k-means start
      computed on ``init_rows`` rows; ``refine_rounds`` is not applied (each restart of a
      search would cost one more pass per EM iteration).
    * ``vae``: mini-batches streamed in this process from the Parquet row groups (or the
      partitions), ``window`` of them shuffled together per epoch; at most
      ``validation_rows`` rows validate and the learned prior is fitted on at most
      ``prior_rows`` rows (see ``synthgen.dask._vae``).
    * ``circuit``: mini-batch EM on batches streamed the same way; the structure and the EM
      start come from an evenly spread sample of ``init_rows`` rows (see
      ``synthgen.dask._circuit`` for what differs from an in-memory fit).
    """
    from ..generators.gaussian import GaussianGenerator
    from ..generators.gmm import GMMGenerator
    from ..generators.vae import VAEGenerator

    from ..generators.circuit import CircuitGenerator

    if isinstance(gen, VAEGenerator):
        return _fit_streamed(gen, data, seed=seed, window=window, validation_rows=validation_rows,
                             prior_rows=prior_rows)
    if isinstance(gen, CircuitGenerator):
        return _fit_streamed(gen, data, seed=seed, window=window, validation_rows=validation_rows,
                             init_rows=init_rows)
    if not isinstance(gen, (GaussianGenerator, GMMGenerator)):
        raise InvalidParameterError(
            "synthgen.dask.fit fits the gaussian, gmm, vae and circuit generators; "
            f"got {type(gen).__name__}")
    ddf = _as_dask(data)
    seed = check_seed(0 if seed is None else seed)
    hp = gen._validated_params()
    client = client if client is not None else current_client()
    vec, columns, dtypes = _vectoriser(hp["vectoriser"], ddf._meta)
    parts = ddf.to_delayed()
    source = _Source(parts, vec, columns, dtypes, client)
    moments = source.moments()
    vec.min_, vec.max_ = moments["min"], moments["max"]
    n, d = int(moments["n"]), len(columns)
    if n < gen.min_rows:
        raise InvalidDataError(f"the training data has {n} row(s); at least {gen.min_rows} are needed")
    fit_key, stream_key = fit_keys(seed)
    new = gen._unfitted_copy()
    if isinstance(gen, GMMGenerator):
        params = _fit_gmm(new, fit_key, source, moments, hp, init_rows, init_centres)
    else:
        params = _fit_gaussian(new, moments, hp)
    return install_fit(gen, new, vec=vec, n_features=d, n_rows=n, seed=seed,
                       params=params, stream_key=stream_key)


def _as_dask(data):
    from pathlib import Path

    if isinstance(data, (str, Path)):
        import dask.dataframe as dd

        from ._units import ParquetUnits

        ParquetUnits(data)  # a clear error for a missing or damaged dataset
        return dd.read_parquet(str(data))
    if not (hasattr(data, "to_delayed") and hasattr(data, "_meta")):
        raise InvalidDataError(
            "the training data must be a Dask DataFrame or the path of a Parquet file or folder; "
            f"got a {type(data).__name__}")
    return data


def _fit_streamed(gen, data, *, seed, **opts):
    from ..generators.vae import VAEGenerator
    from . import _circuit, _vae
    from ._units import units_of

    units = units_of(data)
    hp = gen._validated_params()
    vec, columns, dtypes = _vectoriser(hp["vectoriser"], units.meta)
    opts = {k: v for k, v in opts.items() if v is not None}
    fit_fn = _vae.fit_vae if isinstance(gen, VAEGenerator) else _circuit.fit_circuit
    return fit_fn(gen, units, vec, columns, dtypes, seed=seed, **opts)


def _vectoriser(spec, meta):
    from ..vectorisers.base import NumericVectoriser

    if spec not in (None, "numeric") and not isinstance(spec, NumericVectoriser):
        raise InvalidParameterError(
            "synthgen.dask.fit supports the numeric vectoriser (numeric columns); "
            f"got vectoriser={spec!r}")
    columns = [str(c) for c in meta.columns]
    dtypes = [str(meta[c].dtype) for c in meta.columns]
    vec = NumericVectoriser()
    try:
        vec.fit(meta)
    except InvalidDataError as exc:
        raise InvalidDataError(f"synthgen.dask.fit needs numeric columns: {exc}") from exc
    return vec, columns, dtypes


class _Source:
    """The partitions of a Dask DataFrame and the passes over them."""

    def __init__(self, parts, vec, columns, dtypes, client):
        self.parts, self.vec, self.columns, self.dtypes = parts, vec, columns, dtypes
        self.client = client

    def map(self, fn, *args, per=None):
        """``fn(matrix, *args)`` (``fn(matrix, per[i], *args)`` for partition ``i`` when ``per``
        is given) for every partition's matrix, on the workers; the results in order."""
        import dask

        tasks = [dask.delayed(_on_partition)(p, i, self.vec, self.columns, self.dtypes, fn,
                                             args if per is None else (per[i], *args))
                 for i, p in enumerate(self.parts)]
        if self.client is None:
            return list(dask.compute(*tasks))
        return self.client.gather(self.client.compute(tasks))

    def moments(self) -> dict:
        every = self.map(partition_moments)
        self.sizes = [int(m["n"]) for m in every]
        out = [m for m in every if m["n"] > 0]
        if not out:
            raise InvalidDataError("the training data is empty (0 rows in every partition)")
        total = out[0]
        for m in out[1:]:
            total = merge_moments(total, m)
        return total


def _on_partition(part, index, vec, columns, dtypes, fn, args):
    part = check_partition(part, index, columns, dtypes)
    if fn is partition_moments:
        # the first pass checks the raw values and takes their bounds; the models see the
        # float32 matrix, as in memory
        raw = np.asarray(vec._transform(part), np.float64)
        if len(raw):
            check_matrix(raw, columns, what=f"partition {index}")
        return fn(vec.transform(part).astype(np.float64), raw)
    # the other passes keep one float32 copy of the rows (what a worker's memory limit allows)
    X = np.asarray(vec.transform(part), np.float32)
    del part
    if len(X):
        check_matrix(X, columns, what=f"partition {index}")
    return fn(X, *args)


# ---------------------------------------------------------------------------------------------
# The Gaussian
# ---------------------------------------------------------------------------------------------


def _fit_gaussian(new, moments, hp):
    import jax.numpy as jnp

    from ..generators.gaussian import GaussianParams

    new.covariance_type_ = hp["covariance_type"]
    cov = moments["m2"] / moments["n"]
    mean = jnp.asarray(moments["mean"], jnp.float32)
    reg = hp["reg_covar"]
    if hp["covariance_type"] == "diag":
        var = np.diagonal(cov) + reg
        return GaussianParams(mean, jnp.asarray(np.diag(np.sqrt(var)), jnp.float32))
    chol = np.linalg.cholesky(cov + reg * np.eye(len(cov)))
    return GaussianParams(mean, jnp.asarray(chol, jnp.float32))


# ---------------------------------------------------------------------------------------------
# The Gaussian mixture
# ---------------------------------------------------------------------------------------------


def _fit_gmm(new, key, source, moments, hp, init_rows, init_centres):
    import jax

    from ..generators.gmm import (_search_counts, _search_types, _supported_types,
                                  _warn_unconverged)

    n, d = int(moments["n"]), len(source.columns)
    types, notes = _supported_types(_search_types(hp["covariance_type"]), (n, d))
    curve, best = {}, None
    for i, kind in enumerate(types):
        counts = _search_counts(hp["n_components"], hp["n_components_range"], (n, d), kind, notes)
        fits = _fit_counts(jax.random.fold_in(key, i), source, moments, counts, kind, hp,
                           init_rows, init_centres)
        _warn_unconverged(fits, kind, hp["max_iter"])
        curve[kind] = {k: info["bic"] for k, (_, info) in fits.items()}
        for k, (params, info) in fits.items():
            if best is None or _finite(info["bic"]) < _finite(best[3]["bic"]):
                best = (kind, k, params, info)
    kind, k, params, info = best
    new._set_selection({"covariance_type": kind, "n_components": k, "converged": info["converged"],
                        "n_iter": info["n_iter"], "lower_bound": info["lower_bound"],
                        "bic": info["bic"], "bic_curve": curve[kind] if len(types) == 1 else curve,
                        "search_notes": notes})
    return params


def _finite(v) -> float:
    v = float(v)
    return v if np.isfinite(v) else np.inf


def _fit_counts(key, source, moments, counts, kind, hp, init_rows, init_centres):
    """EM for every candidate (count x restart) at once, one pass over the data per iteration."""
    import jax

    from ..generators.gmm import _info, _public_params

    n_init = hp["n_init"]
    pool = tuple(k for k in counts for _ in range(n_init))
    shift = moments["mean"]
    centres = _start_centres(key, source, moments, counts, pool, n_init, init_rows, init_centres)
    C, M, d = len(pool), sum(pool), len(shift)
    seg = np.repeat(np.arange(C), pool).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(pool)[:-1]]).astype(np.int32)
    frame = _frame(moments, M, kind, hp["reg_covar"])
    settings = (seg, offsets, np.asarray(centres, np.float32), C, kind, float(hp["reg_covar"]))
    params = frame
    n = float(moments["n"])
    prev = np.full(C, -np.inf)
    lb = np.full(C, -np.inf)
    n_iter = np.zeros(C, np.int64)
    done = np.zeros(C, bool)
    it = 0
    while it <= hp["max_iter"] and not done.all():
        stats = _pass(source, shift, params, settings, first=(it == 0))
        new = _m_step_host(stats, params, settings)
        if it == 0:
            params = new
        else:
            ll = stats[0] / n
            params = _keep(done, seg, params, new)
            lb = np.where(done, lb, ll)
            n_iter = np.where(done, n_iter, it)
            done = done | (np.abs(ll - prev) < hp["tol"])
            prev = ll
        it += 1
    score = _pass(source, shift, params, settings, first=False, need_stats=False)[0] / n
    res = _Result(jax.device_get(params), lb, n_iter, done, score)
    out = {}
    start = np.concatenate([[0], np.cumsum(pool)])
    for j, k in enumerate(counts):
        tries = range(j * n_init, (j + 1) * n_init)
        i = max(tries, key=lambda t: lb[t] if np.isfinite(lb[t]) else -np.inf)
        out[k] = (_public_params(res.params, start[i], k, kind, shift),
                  _info(res, i, kind, k, (int(n), d)))
    return out


class _Result:
    def __init__(self, params, lower_bound, n_iter, converged, score):
        self.params, self.lower_bound, self.n_iter = params, lower_bound, n_iter
        self.converged, self.score = converged, score


def _frame(moments, M, kind, reg):
    """``_em._start_params`` from the moments: the centred rows' mean and standard deviations."""
    import jax.numpy as jnp

    from ..generators._em import PoolParams, log_det_prec

    d = len(moments["mean"])
    var = np.diagonal(moments["m2"]) / moments["n"]
    inv_sd = (1.0 / np.sqrt(var + reg)).astype(np.float32)
    if kind in ("full", "tied"):
        prec = np.broadcast_to(np.diag(inv_sd), (M, d, d))
    elif kind == "diag":
        prec = np.broadcast_to(inv_sd, (M, d))
    else:
        prec = np.broadcast_to(np.float32(np.sqrt(1.0 / np.mean(1.0 / inv_sd.astype(np.float64) ** 2))),
                               (M, 1))
    prec = jnp.asarray(prec, jnp.float32)
    means = jnp.zeros((M, d), jnp.float32)
    return PoolParams(means, prec, log_det_prec(prec, d), jnp.zeros(M, jnp.float32))


def _start_centres(key, source, moments, counts, pool, n_init, init_rows, init_centres):
    """k-means centres (C, k_max, d) of each candidate in the centred coordinates."""
    import jax
    import jax.numpy as jnp

    from .._compile_cache import bucket
    from ..generators._em import chunk_rows, group_size, pad_rows
    from ..generators._kmeans import kmeans_labels

    shift, k_max, d = moments["mean"], max(pool), len(moments["mean"])
    if init_centres is not None:
        out = np.zeros((len(pool), k_max, d), np.float32)
        for i, k in enumerate(pool):
            c = np.asarray(init_centres.get(k) if isinstance(init_centres, dict) else init_centres,
                           np.float64)
            if c.shape != (k, d):
                raise InvalidParameterError(
                    f"init_centres for n_components={k} must have shape ({k}, {d}); got {c.shape}")
            out[i, :k] = c - shift
        return out
    n = int(moments["n"])
    step = max(1, -(-n // int(init_rows)))
    firsts = np.concatenate([[0], np.cumsum(source.sizes)[:-1]]).astype(int).tolist()
    X = np.concatenate(source.map(_subsample, step, per=firsts))
    Xc = (X - shift).astype(np.float32)
    size = bucket(len(Xc))
    c = chunk_rows(size, group_size(pool), d)
    Xs, ws = pad_rows(Xc, c, size)
    keys = jnp.stack([jax.random.fold_in(jax.random.fold_in(key, k), i)
                      for k in counts for i in range(n_init)])
    _, centres = kmeans_labels(keys, jnp.asarray(Xs.reshape(-1, d)), jnp.asarray(pool, jnp.int32),
                               jnp.asarray(ws.reshape(-1)), k_max=k_max)
    return np.asarray(centres)


def _subsample(X, first, step):
    """The rows of this partition (its first row is row ``first`` of the table) whose row
    number is a multiple of ``step``."""
    return X[(-first) % step::step]


def _pass(source, shift, params, settings, *, first, need_stats=True):
    """The summed E-step statistics of every partition (client side, float64)."""
    import jax

    host = jax.device_get(params)
    results = source.map(_partition_stats, shift, host, settings, first, need_stats)
    total = None
    for r in results:
        if r is None:
            continue
        total = r if total is None else _merge_stats(total, r)
    return total


def _partition_stats(X, shift, params, settings, first, need_stats):
    """One partition's E-step statistics under ``params`` (hard k-means labels when ``first``)."""
    import jax.numpy as jnp

    from .._compile_cache import bucket
    from ..generators._em import chunk_rows, pad_rows

    if len(X) == 0:
        return None
    seg, offsets, centres, C, kind, reg = settings
    Xc = (X - shift).astype(np.float32)
    M, d = params.means.shape
    size = bucket(len(Xc))
    c = chunk_rows(size, M, d)
    Xs, ws = pad_rows(Xc, c, size)
    out = _stats_jit(jnp.asarray(Xs), jnp.asarray(ws), type(params)(*map(jnp.asarray, params)),
                     jnp.asarray(seg), jnp.asarray(offsets), jnp.asarray(centres), first, C=C,
                     need_stats=need_stats)
    return tuple(np.asarray(a, np.float64) for a in out)


@partial(jax.jit, static_argnames=("C", "need_stats"))
def _stats_jit(Xs, ws, params, seg, offsets, centres, first, *, C, need_stats):
    import jax
    import jax.numpy as jnp

    from ..generators._em import _scan_stats
    from ..generators._kmeans import _assign

    M = params.means.shape[0]
    k_max = centres.shape[1]
    onehot = jax.nn.one_hot(seg, C, dtype=Xs.dtype)
    counts = jnp.bincount(seg, length=C)

    def hard_resp(i):
        Xc = Xs[i]
        x_sq = jnp.sum(Xc * Xc, axis=1)
        masks = jnp.arange(k_max)[None, :] < counts[:, None]
        labels = jax.vmap(lambda cen, m: _assign(Xc, x_sq, cen, m))(centres, masks)  # (C, c)
        slots = labels + offsets[:, None]
        rows = jnp.broadcast_to(jnp.arange(Xc.shape[0])[None], slots.shape)
        return jnp.zeros((Xc.shape[0], M), Xs.dtype).at[rows, slots].set(1.0)

    stats = _scan_stats(Xs, ws, params, seg, onehot, resp_fn=hard_resp, use_given=first,
                        need_stats=need_stats)
    return tuple(stats)


def _merge_stats(a, b):
    """Two partitions' ``_em._Stats`` as one (Chan, Golub and LeVeque for the scatter)."""
    ll_a, n_a, sx_a, ym_a, m2_a = a
    ll_b, n_b, sx_b, ym_b, m2_b = b
    n = n_a + n_b
    frac = n_b / np.where(n > 0, n, 1.0)
    delta = ym_b - ym_a
    w = n_a * frac
    if m2_a.ndim == 3:
        m2 = m2_a + m2_b + w[:, None, None] * delta[:, :, None] * delta[:, None, :]
    else:
        m2 = m2_a + m2_b + w[:, None] * delta * delta
    return (ll_a + ll_b, n, sx_a + sx_b, ym_a + delta * frac[:, None], m2)


def _m_step_host(stats, params, settings):
    import jax.numpy as jnp

    from ..generators._em import _Stats

    seg, _, _, C, kind, reg = settings
    st = _Stats(*(jnp.asarray(a, jnp.float32) for a in stats))
    return _m_step_jit(st, params, jnp.asarray(seg), C=C, kind=kind, reg=reg)


@partial(jax.jit, static_argnames=("C", "kind", "reg"))
def _m_step_jit(stats, params, seg, *, C, kind, reg):
    import jax

    from ..generators._em import _m_step

    onehot = jax.nn.one_hot(seg, C, dtype=stats.n.dtype)
    return _m_step(stats, params, seg, onehot, kind, reg)


def _keep(done, seg, old, new):
    """``new`` parameters except for the components of candidates that had converged."""
    import jax
    import jax.numpy as jnp

    keep = jnp.asarray(done[seg])

    def pick(a, b):
        return jnp.where(keep.reshape(keep.shape + (1,) * (a.ndim - 1)), a, b)

    return jax.tree_util.tree_map(pick, old, new)
