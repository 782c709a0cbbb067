"""The Gaussian mixture generator: EM in JAX, k-means++ starts, size chosen by BIC.

Pure functions (usable without the class)::

    params, info = fit_gmm(key, X, n_components=5, covariance_type="full")
    X_new = sample_gmm(key, params, 1000)
    logp = log_prob_gmm(params, X)

``GMMParams`` describes itself: the shape of ``prec_chol`` says the covariance type
(``(K, d, d)`` full, ``(1, d, d)`` tied, ``(K, d)`` diag, ``(K, 1)`` spherical), so
``sample_gmm`` and ``log_prob_gmm`` need nothing else.
"""

from __future__ import annotations

import math
import warnings
from functools import partial
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.scipy.special import logsumexp

from .._compile_cache import bucket
from .._params import AnyOf, Check, Choice, Float, Int, Param
from ..base import Generator
from ..dp.params import PRIVACY_PARAMS, check_privacy
from ..errors import InvalidDataError, InvalidParameterError
from ._draws import standard_normal_rows, uniform
from ._em import COVARIANCE_TYPES, chunk_rows, component_log_prob, em_pool, group_size, log_det_prec, pad_rows
from ._kmeans import kmeans_labels
from ._linalg import mvn_log_prob_chol, mvn_log_prob_diag

#: ``sample_gmm`` computes rows in pieces holding at most this many floats per piece.
_SAMPLE_FLOATS = 1 << 17
#: up to this many columns, full-covariance rows are made column by column (1.5x faster than the
#: matrix products at 10 columns, 1.3x at 32; at 64 the products are 1.5x faster)
_BY_COLUMN_MAX_D = 32
#: up to this many components, a row's component is found by comparing with the whole CDF
_COMPARE_ALL_MAX_K = 64


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before the log-likelihood settled within ``tol``."""


class GMMParams(NamedTuple):
    """A fitted Gaussian mixture with K components in d dimensions.

    ``prec_chol``: upper Cholesky factor ``P`` of each precision (``x @ P`` whitens),
    ``(K, d, d)`` full or ``(1, d, d)`` tied; or the inverse standard deviations,
    ``(K, d)`` diag or ``(K, 1)`` spherical.  ``cov_chol``: the matching lower Cholesky
    factor of each covariance (standard deviations for diag and spherical).
    """

    log_weights: jax.Array  # (K,)
    means: jax.Array  # (K, d)
    prec_chol: jax.Array
    cov_chol: jax.Array


# ---------------------------------------------------------------------------------------------
# Pure functions
# ---------------------------------------------------------------------------------------------


def log_prob_gmm(params: GMMParams, X):
    """log density of each row of ``X`` under the mixture: shape ``(n,)``."""
    d = X.shape[1]
    log_det = log_det_prec(params.prec_chol, d)
    logp, _ = component_log_prob(X, params.means, params.prec_chol, log_det, params.log_weights)
    return logsumexp(logp, axis=1)


def sample_gmm(key, params: GMMParams, n: int):
    """``n`` rows drawn from the mixture (``n`` static under ``jit``)."""
    k_comp, k_norm = jax.random.split(key)
    K, d = params.means.shape
    comp = pick_components(k_comp, params.log_weights, n)
    z = standard_normal_rows(k_norm, n, d, params.means.dtype, params.log_weights[0])
    L = params.cov_chol
    if L.ndim == 2:
        return params.means[comp] + z * L[comp]
    if L.shape[0] == 1:
        return params.means[comp] + z @ L[0].T
    return _sample_full(z, comp, params.means, L)


def pick_components(key, log_weights, n: int):
    """``n`` component indices drawn with probabilities ``exp(log_weights)`` (inverse CDF)."""
    cdf = jnp.cumsum(jnp.exp(log_weights - jnp.max(log_weights)))
    u = uniform(key, (n,), cdf.dtype) * cdf[-1]
    K = log_weights.shape[0]
    if K <= _COMPARE_ALL_MAX_K:
        # the number of CDF values at or below u, by comparing with all of them: one fused loop
        index = jnp.sum(u[:, None] >= cdf[None, :], axis=1)
    else:
        index = jnp.searchsorted(cdf, u, side="right")
    return jnp.minimum(index, K - 1)


def _sample_full(z, comp, means, L):
    """``mu_k + L_k z`` per row.

    Up to ``_BY_COLUMN_MAX_D`` columns, column by column: ``mu_k + sum_i z_i L_k[:, i]``
    with each row's columns of ``L`` gathered, which XLA fuses into one loop.  Wider, by
    matrix products in pieces of bounded size: every component's product is formed and
    each row keeps its own.
    """
    n, d = z.shape
    K = means.shape[0]
    if d <= _BY_COLUMN_MAX_D:
        y = means[comp]
        for i in range(d):
            y = y + z[:, i:i + 1] * L[comp, :, i]
        return y
    flat = jnp.transpose(L, (2, 0, 1)).reshape(d, K * d)  # z @ flat -> (n, K, d): z @ L_k^T

    def piece(args):
        zc, cc = args
        all_k = (zc @ flat).reshape(zc.shape[0], K, d)
        picked = jnp.take_along_axis(all_k, cc[:, None, None], axis=1)[:, 0]
        return picked + means[cc]

    rows = max(1, min(n, _SAMPLE_FLOATS // (K * d)))
    if rows >= n:
        return piece((z, comp))
    pieces = -(-n // rows)
    pad = pieces * rows - n
    zp = jnp.concatenate([z, jnp.zeros((pad, d), z.dtype)]).reshape(pieces, rows, d)
    cp = jnp.concatenate([comp, jnp.zeros(pad, comp.dtype)]).reshape(pieces, rows)
    return lax.map(piece, (zp, cp)).reshape(pieces * rows, d)[:n]


def n_parameters(covariance_type: str, n_components: int, n_features: int) -> int:
    """Free parameters of a mixture (as scikit-learn's ``GaussianMixture._n_parameters``)."""
    K, d = n_components, n_features
    cov = {"full": K * d * (d + 1) // 2, "tied": d * (d + 1) // 2, "diag": K * d, "spherical": K}
    return cov[covariance_type] + K * d + K - 1


def params_covariance_type(params: GMMParams) -> str:
    """The covariance type a ``GMMParams`` stores (``diag`` and ``spherical`` agree when d = 1)."""
    P = params.prec_chol
    if P.ndim == 3:
        return "tied" if P.shape[0] == 1 and params.means.shape[0] > 1 else "full"
    return "spherical" if P.shape[1] == 1 and params.means.shape[1] > 1 else "diag"


def information_criteria(mean_log_lik: float, n_rows: int, n_params: int) -> tuple[float, float]:
    """``(bic, aic)`` from the mean log-likelihood per row (scikit-learn's definitions)."""
    total = -2.0 * mean_log_lik * n_rows
    return total + n_params * math.log(n_rows), total + 2.0 * n_params


def fit_gmm(key, X, *, n_components: int, covariance_type: str = "full", reg_covar: float = 1e-6,
            tol: float = 1e-3, max_iter: int = 100, n_init: int = 1) -> tuple[GMMParams, dict]:
    """Fit one mixture by EM from ``n_init`` k-means++ starts; keep the best lower bound.

    Returns ``(params, info)`` with ``info`` holding ``converged``, ``n_iter``,
    ``lower_bound``, ``score`` (mean log-likelihood per row), ``bic`` and ``aic``.
    Warns with :class:`ConvergenceWarning` when no start converged.
    """
    fits = fit_gmm_counts(key, X, counts=(n_components,), covariance_type=covariance_type,
                          reg_covar=reg_covar, tol=tol, max_iter=max_iter, n_init=n_init)
    return fits[n_components]


def fit_gmm_counts(key, X, *, counts: Sequence[int], covariance_type: str = "full",
                   reg_covar: float = 1e-6, tol: float = 1e-3, max_iter: int = 100,
                   n_init: int = 1, refine_rounds: int = 0) -> dict[int, tuple[GMMParams, dict]]:
    """Fit a mixture for every component count in ``counts`` together (one jitted EM).

    Each count starts from the same k-means as :func:`fit_gmm` with the same key, so the
    results agree up to float32 rounding.  Each of ``refine_rounds`` rounds restarts every
    count ``k`` from its neighbours' fits: the fit with ``k - 1`` components plus a new
    component made of the rows it explains worst (a split), then the fit with ``k + 1``
    components less its lightest one (a merge); a restart is kept where its lower bound
    is higher.  A search over counts finds much better mixtures so (k-means starts alone
    are a lottery on data with many local optima).  Returns ``{count: (params, info)}``.
    """
    X = _host_rows(X)
    counts = tuple(int(k) for k in counts)
    _check_fit_args(X, counts, covariance_type, n_init)
    if int(refine_rounds) < 0:
        raise InvalidParameterError(f"refine_rounds must be a non-negative int; got {refine_rounds}")
    shift = X.mean(axis=0, dtype=np.float64)
    if X.dtype == np.float32:  # centred in float32: no float64 copy of the rows
        shift = shift.astype(np.float32)
        Xc = X - shift
    else:
        Xc = (X - shift).astype(np.float32)
    pool = tuple(k for k in counts for _ in range(n_init))
    keys = jnp.stack([jax.random.fold_in(jax.random.fold_in(key, k), i)
                      for k in counts for i in range(n_init)])
    # rows padded (weight 0) to a size bucket: every row count of the bucket shares the programs
    size = bucket(len(Xc))
    c = chunk_rows(size, group_size(pool), Xc.shape[1])
    Xs, ws = pad_rows(Xc, c, size)
    labels, _ = kmeans_labels(keys, jnp.asarray(Xs.reshape(-1, Xc.shape[1])), jnp.asarray(pool, jnp.int32),
                              jnp.asarray(ws.reshape(-1)), k_max=max(pool))
    labels = np.asarray(labels)
    Xs, ws = jnp.asarray(Xs), jnp.asarray(ws)
    em = partial(em_pool, Xs, ws, counts=pool, kind=covariance_type, reg=float(reg_covar),
                 tol=float(tol), max_iter=int(max_iter))
    res = jax.device_get(em(jnp.asarray(labels), jnp.ones(len(pool), bool)))
    for _ in range(int(refine_rounds)):
        changed = False
        for step in (-1, 1):
            nb = _neighbour_labels(res, Xc, Xs, pool, n_init, covariance_type, float(reg_covar), step)
            if nb is not None:
                start = jnp.asarray(np.where(nb[0][:, None], nb[1], labels))
                better, res = _keep_better(res, jax.device_get(em(start, jnp.asarray(nb[0]))), nb[0], pool)
                changed |= bool(better.any())
        if not changed:
            break
    out = {}
    offsets = np.concatenate([[0], np.cumsum(pool)])
    for j, k in enumerate(counts):
        starts = range(j * n_init, (j + 1) * n_init)
        best = max(starts, key=lambda i: _finite_or_neg_inf(res.lower_bound[i]))
        params = _public_params(res.params, offsets[best], k, covariance_type, shift)
        out[k] = (params, _info(res, best, covariance_type, k, X.shape))
    _warn_unconverged(out, covariance_type, max_iter)
    return out


def _neighbour_labels(res, Xc, Xs, pool, n_init, kind, reg, step):
    """Starting labels for each candidate from its neighbour's fit, one component apart.

    ``step = -1`` (split): candidate ``(k, r)`` (count ``k``, restart ``r``) takes the fit
    ``(k - 1, r)`` (for ``k = 2`` without it, one Gaussian of the data), labels each row
    with its most likely component, and gives the ``n // k`` rows of lowest
    log-likelihood to a new component.  ``step = +1`` (merge): it takes the fit
    ``(k + 1, r)`` without its lightest component, whose rows go to their next most
    likely one.  Returns ``(has, labels)``: which candidates have a neighbour, and labels
    ``(C, B*c)``; or ``None`` when none has.
    """
    n = len(Xc)
    index = {(k, i % n_init): i for i, k in enumerate(pool)}
    nb = [index.get((k + step, i % n_init)) for i, k in enumerate(pool)]
    from_fit = [i for i, j in enumerate(nb) if j is not None]
    single = [i for i, j in enumerate(nb) if j is None and step < 0 and pool[i] == 2]
    has = np.zeros(len(pool), bool)
    has[from_fit + single] = True
    if not has.any():
        return None
    total = Xs.shape[0] * Xs.shape[1]
    labels = np.zeros((len(pool), total), np.int32)
    if from_fit:
        offsets = np.concatenate([[0], np.cumsum(pool)])
        sizes = np.array([pool[nb[i]] for i in from_fit])
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        slots = np.concatenate([np.arange(offsets[nb[i]], offsets[nb[i] + 1]) for i in from_fit])
        seg = np.repeat(np.arange(len(from_fit)), sizes)
        params = jax.tree_util.tree_map(lambda a: np.array(a[slots]), res.params)
        if step > 0:  # each neighbour's lightest component, by its slot in ``params``
            drop = np.array([starts[j] + np.argmin(params.log_weights[starts[j]:starts[j] + sizes[j]])
                             for j in range(len(from_fit))])
            params.log_weights[drop] = -1e30
        ll, arg = jax.device_get(_assign_rows(Xs, jax.tree_util.tree_map(jnp.asarray, params),
                                              jnp.asarray(seg, jnp.int32),
                                              jnp.asarray(starts[seg], jnp.int32), len(from_fit)))
        ll, arg = ll.reshape(total, -1), arg.reshape(total, -1)
        for j, i in enumerate(from_fit):
            if step < 0:
                labels[i] = arg[:, j]
                labels[i, np.argsort(ll[:n, j], kind="stable")[: n // pool[i]]] = pool[i] - 1
            else:
                labels[i] = arg[:, j] - (arg[:, j] > drop[j] - starts[j])
    if single:
        rows = jnp.asarray(Xs).reshape(total, -1)
        ll = np.asarray(_one_gaussian_log_lik(rows, jnp.arange(total) < n, kind=kind, reg=reg))
        worst = np.argsort(ll[:n], kind="stable")[: n // 2]
        for i in single:
            labels[i, worst] = 1
    return has, labels


@partial(jax.jit, static_argnames=("n_cand",))
def _assign_rows(Xs, params, seg, start, n_cand):
    """Per row chunk and candidate: the mixture log-likelihood and the most likely component."""
    M = params.means.shape[0]

    def chunk(Xc):
        logp, _ = component_log_prob(Xc, *params)  # (c, M)
        mx = jax.ops.segment_max(logp.T, seg, num_segments=n_cand, indices_are_sorted=True).T
        s = jax.ops.segment_sum(jnp.exp(logp - mx[:, seg]).T, seg, num_segments=n_cand,
                                indices_are_sorted=True).T
        local = jnp.where(logp >= mx[:, seg], jnp.arange(M) - start, M)
        arg = jax.ops.segment_min(local.T, seg, num_segments=n_cand, indices_are_sorted=True).T
        return mx + jnp.log(s), arg

    return lax.map(chunk, Xs)


@partial(jax.jit, static_argnames=("kind",))
def _one_gaussian_log_lik(X, real, *, kind, reg):
    """Log-likelihood of each row under one Gaussian of the rows where ``real``, of the
    covariance ``kind`` (maximum likelihood, as :func:`~.gaussian.fit_gaussian`)."""
    w = real.astype(X.dtype)
    total = jnp.sum(w)
    mean = (w @ X) / total
    Xc = X - mean
    if kind in ("full", "tied"):
        cov = (Xc * w[:, None]).T @ Xc / total + reg * jnp.eye(X.shape[1], dtype=X.dtype)
        return mvn_log_prob_chol(X, mean, jnp.linalg.cholesky(cov))
    var = (w @ (Xc * Xc)) / total + reg
    if kind == "spherical":
        var = jnp.full(X.shape[1], jnp.mean(var))
    return mvn_log_prob_diag(X, mean, var)


def _keep_better(res, new, tried, pool):
    """``res`` with the candidates of ``new`` whose lower bound is higher; and which those are."""
    better = tried & (np.nan_to_num(new.lower_bound, nan=-np.inf)
                      > np.nan_to_num(res.lower_bound, nan=-np.inf))
    slots = np.repeat(better, pool)
    pick_slots = lambda a, b: np.where(slots.reshape((-1,) + (1,) * (a.ndim - 1)), b, a)  # noqa: E731
    params = type(res.params)(*(pick_slots(a, b) for a, b in zip(res.params, new.params)))
    rest = [np.where(better, a, b) for a, b in zip(new[1:], res[1:])]
    return better, type(res)(params, *rest)


def _check_fit_args(X, counts, covariance_type, n_init):
    if covariance_type not in COVARIANCE_TYPES:
        raise InvalidParameterError(
            f"covariance_type must be one of {', '.join(map(repr, COVARIANCE_TYPES))}; "
            f"got {covariance_type!r}")
    if X.ndim != 2 or X.shape[0] < 1:
        raise InvalidDataError(f"X must be a non-empty 2-D array; got shape {X.shape}")
    if not np.isfinite(X).all():
        raise InvalidDataError("X has NaN or infinite values")
    _supported_types((covariance_type,), X.shape)
    for k in counts:
        if k < 1:
            raise InvalidParameterError(f"n_components must be a positive int; got {k}")
        if k > X.shape[0]:
            raise InvalidParameterError(
                f"n_components must be at most the number of rows ({X.shape[0]}); got {k}")
    if int(n_init) < 1:
        raise InvalidParameterError(f"n_init must be a positive int; got {n_init}")


def _finite_or_neg_inf(v) -> float:
    v = float(v)
    return v if math.isfinite(v) else -math.inf


def _public_params(pool, start, k, kind, shift) -> GMMParams:
    sl = slice(int(start), int(start) + k)
    means = jnp.asarray(pool.means[sl] + shift.astype(np.float32))
    prec = pool.prec[sl]
    if kind == "tied":
        prec = prec[:1]
    if prec.ndim == 3:
        cov_chol = np.swapaxes(np.linalg.inv(prec.astype(np.float64)), -1, -2)
    else:
        cov_chol = 1.0 / prec.astype(np.float64)
    return GMMParams(jnp.asarray(pool.log_weights[sl]), means, jnp.asarray(prec),
                     jnp.asarray(cov_chol, jnp.float32))


def _info(res, i, kind, k, shape) -> dict:
    score = float(res.score[i])
    bic, aic = information_criteria(score, shape[0], n_parameters(kind, k, shape[1]))
    return {"converged": bool(res.converged[i]), "n_iter": int(res.n_iter[i]),
            "lower_bound": float(res.lower_bound[i]), "score": score, "bic": bic, "aic": aic}


def _warn_unconverged(fits: dict, kind: str, max_iter: int) -> None:
    bad = [k for k, (_, info) in fits.items() if not info["converged"]]
    if bad:
        which = ", ".join(map(str, bad))
        warnings.warn(
            f"EM did not converge within max_iter={max_iter} for n_components={which} "
            f"(covariance_type={kind!r}); raise max_iter or tol, or check the data's scale",
            ConvergenceWarning, stacklevel=3)


# ---------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------


def select_gmm(key, X, *, n_components="bic", n_components_range=(1, 20), covariance_type="full",
               reg_covar=1e-6, tol=1e-3, max_iter=100, n_init=1, refine_rounds=0) -> tuple[GMMParams, dict]:
    """Fit every candidate (counts x covariance types) and keep the lowest BIC.

    ``n_components`` is an int or ``"bic"`` (then every count in ``n_components_range``,
    inclusive, up to what the rows support: ``n // (d + 1)`` full components, ``n - d``
    tied ones, ``n`` diag or spherical ones); ``covariance_type`` is a type, a sequence
    of types or ``"bic"`` (all four; full and tied are left out of a search when the rows
    are no more than the dimensions, and refused when asked for alone).  Returns
    ``(params, summary)``; the summary holds ``covariance_type``, ``n_components``,
    ``converged``, ``n_iter``, ``lower_bound``, ``bic``, ``bic_curve`` ({count: bic}, or
    {type: {count: bic}} when several types were searched) and ``search_notes`` (what
    the rows left out of the search).  ``refine_rounds`` applies to searches over counts
    (see :func:`fit_gmm_counts`).
    """
    X = _host_rows(X)
    types, notes = _supported_types(_search_types(covariance_type), X.shape)
    curve: dict[str, dict[int, float]] = {}
    best = None
    for i, kind in enumerate(types):
        counts = _search_counts(n_components, n_components_range, X.shape, kind, notes)
        fits = fit_gmm_counts(jax.random.fold_in(key, i), X, counts=counts, covariance_type=kind,
                              reg_covar=reg_covar, tol=tol, max_iter=max_iter, n_init=n_init,
                              refine_rounds=refine_rounds if len(counts) > 1 else 0)
        curve[kind] = {k: info["bic"] for k, (_, info) in fits.items()}
        for k, (params, info) in fits.items():
            if best is None or _finite_or_inf(info["bic"]) < _finite_or_inf(best[3]["bic"]):
                best = (kind, k, params, info)
    kind, k, params, info = best
    summary = {"covariance_type": kind, "n_components": k, "converged": info["converged"],
               "n_iter": info["n_iter"], "lower_bound": info["lower_bound"], "bic": info["bic"],
               "bic_curve": curve[kind] if len(types) == 1 else curve, "search_notes": notes}
    return params, summary


def _host_rows(X) -> np.ndarray:
    """``X`` as a host array without a copy where it is float32 or float64 already (the
    generator hands its float32 training matrix over; a float64 copy of it would be the fit's
    largest allocation), else as float64."""
    X = np.asarray(X)
    return X if X.dtype in (np.float32, np.float64) else X.astype(np.float64)


def _search_types(spec) -> tuple[str, ...]:
    if spec == "bic":
        return COVARIANCE_TYPES
    return (spec,) if isinstance(spec, str) else tuple(spec)


def _supported_types(types, shape) -> tuple[tuple[str, ...], list[str]]:
    """The covariance types the rows can estimate (full and tied need more rows than
    dimensions), and a note on those left out; an error when none is left."""
    n, d = shape
    ok = tuple(t for t in types if t not in ("full", "tied") or n > d)
    if not ok:
        which = " or ".join(repr(t) for t in types)
        raise InvalidParameterError(
            f"covariance_type={which} needs more training rows than dimensions (a covariance "
            f"matrix in d dimensions is singular below d + 1 rows); got {n} rows in {d} "
            "dimensions. Use covariance_type='diag' or 'spherical', or the pca_gmm generator "
            "(PCA to fewer dimensions first)")
    skipped = [t for t in types if t not in ok]
    notes = [f"covariance_type {', '.join(skipped)} not searched: {n} rows in {d} dimensions "
             "cannot estimate them (that needs more rows than dimensions)"] if skipped else []
    return ok, notes


def _count_cap(kind: str, n: int, d: int) -> int:
    """Most components the rows support: d + 1 rows each for full covariances; for a tied one,
    d rows beyond one per component; one row each for diag and spherical."""
    return {"full": n // (d + 1), "tied": n - d}.get(kind, n)


def _search_counts(n_components, n_range, shape, kind: str, notes: list) -> tuple[int, ...]:
    """The component counts to fit; a note in ``notes`` where the rows narrow the range."""
    n_rows, d = shape
    if n_components != "bic":
        if n_components > n_rows:
            raise InvalidParameterError(
                f"n_components must be at most the number of training rows ({n_rows}); "
                f"got {n_components}")
        return (n_components,)
    low, high = n_range
    if low > n_rows:
        raise InvalidParameterError(
            f"n_components_range must start at most at the number of training rows "
            f"({n_rows}); got {tuple(n_range)}")
    top = min(high, _count_cap(kind, n_rows, d))
    if low > top:
        raise InvalidParameterError(
            f"n_components_range must start at most at {top}: with covariance_type={kind!r}, "
            f"{n_rows} rows in {d} dimensions support no more components; got {tuple(n_range)}. "
            "Use covariance_type='diag' or the pca_gmm generator")
    if top < high:
        notes.append(f"n_components searched up to {top}, not {high}: that is as many as "
                     f"{n_rows} rows in {d} dimensions support with covariance_type={kind!r}")
    return tuple(range(low, top + 1))


#: the hyperparameters that :func:`select_gmm` takes
GMM_SETTINGS = ("n_components", "n_components_range", "covariance_type", "reg_covar", "tol",
                "max_iter", "n_init", "refine_rounds")


def _gmm_settings(hp: dict) -> dict:
    return {k: hp[k] for k in GMM_SETTINGS}


def _check_range(v):
    if isinstance(v, (str, bytes)) or not isinstance(v, Sequence) or len(v) != 2:
        raise ValueError
    low, high = (Int(1).check(x) for x in v)
    if low > high:
        raise ValueError
    return (low, high)


def _check_covariance_type(v):
    if isinstance(v, str):
        if v in COVARIANCE_TYPES or v == "bic":
            return v
        raise ValueError
    if not isinstance(v, Sequence) or not v:
        raise ValueError
    out = []
    for t in v:
        if not isinstance(t, str) or t not in COVARIANCE_TYPES:
            raise ValueError
        if t not in out:
            out.append(t)
    return tuple(out)


_TYPES_DESC = ", ".join(map(repr, COVARIANCE_TYPES))


class GMMGenerator(Generator):
    """Gaussian mixture fitted by EM; ``n_components="bic"`` picks the size by BIC.

    With ``n_components="bic"`` every count in ``n_components_range`` (inclusive, up to
    as many components as the rows support, see :func:`select_gmm`) is fitted and the
    lowest BIC kept; ``covariance_type`` may also be a list of types, or ``"bic"`` for all
    four, to search over types as well.  Full and tied covariances need more rows than
    columns.  Fitted attributes follow scikit-learn: ``weights_``, ``means_``,
    ``covariances_``, ``n_components_``, ``covariance_type_``, ``converged_``, ``n_iter_``,
    ``lower_bound_``, plus ``bic_curve_`` (the whole search) and ``search_notes_`` (what
    the rows left out of it).
    """

    name = "gmm"
    hyperparameters = {
        "n_components": Param("bic", AnyOf(Int(1), Choice("bic"), desc="a positive int or 'bic'"),
                              "mixture components, or 'bic' to choose the count by BIC"),
        "n_components_range": Param((1, 20), Check(_check_range, "a pair (low, high) of positive "
                                                   "ints with low <= high"),
                                    "counts tried when n_components='bic' (inclusive)"),
        "covariance_type": Param("full", Check(_check_covariance_type,
                                               f"one of {_TYPES_DESC}, 'bic', or a list of those"),
                                 "covariance shape, or several to choose among by BIC"),
        "reg_covar": Param(1e-6, Float(0), "added to every covariance's diagonal"),
        "tol": Param(1e-3, Float(0), "EM stops when the mean log-likelihood changes less"),
        "max_iter": Param(100, Int(1), "EM iterations at most"),
        "n_init": Param(1, Int(1), "k-means++ starts per fit; the best lower bound is kept"),
        "refine_rounds": Param(1, Int(0), "with n_components='bic': rounds that restart each "
                               "count from the neighbouring counts' fits (split the worst-explained "
                               "rows off, merge the lightest component away); the better fit is kept"),
        **PRIVACY_PARAMS,
        "private_iter": Param(10, Int(1), "EM iterations of a private fit (each one is a release)"),
    }

    # -- fitting --------------------------------------------------------------------------------
    def _plan_private(self, ledger, share, hp, n_rows=None, n_columns=None):
        from ..dp.models import plan_gmm

        check_privacy(hp)
        plan_gmm(ledger, share, hp)

    def _fit(self, key, X, hp):
        check_privacy(hp)
        if hp["epsilon"] is not None:
            from ..dp.models import fit_gmm_private, private_gmm_summary

            params = GMMParams(*fit_gmm_private(
                key, X, self._private_fit_, n_components=hp["n_components"],
                n_iter=hp["private_iter"], reg_covar=hp["reg_covar"]))
            self._set_selection(private_gmm_summary(hp))
            return params
        params, summary = select_gmm(key, X, **_gmm_settings(hp))
        self._set_selection(summary)
        return params

    def _set_selection(self, summary: dict) -> None:
        self.covariance_type_ = summary["covariance_type"]
        self.n_components_ = summary["n_components"]
        self.converged_ = summary["converged"]
        self.n_iter_ = summary["n_iter"]
        self.lower_bound_ = summary["lower_bound"]
        self.bic_curve_ = summary["bic_curve"]
        self.search_notes_ = list(summary.get("search_notes", []))

    def _mixture(self) -> GMMParams:
        """The fitted mixture's parameters (in the space the mixture models)."""
        self._check_fitted()
        return self.params_

    _sample_fn = staticmethod(sample_gmm)
    _log_prob_fn = staticmethod(log_prob_gmm)

    def _condition_fn(self, key, evidence, n):
        """Exact: components re-weighted by their likelihood of the evidence, each conditioned
        by its Schur complement (see ``_conditional.py``)."""
        from ._conditional import condition_mixture, gmm_mixture

        return condition_mixture(key, gmm_mixture(self.params_), evidence, n,
                                 "exact conditional mixture")

    # -- fitted attributes ----------------------------------------------------------------------
    @property
    def weights_(self) -> np.ndarray:
        return np.exp(np.asarray(self._mixture().log_weights, dtype=np.float64))

    @property
    def means_(self) -> np.ndarray:
        return np.asarray(self._mixture().means, dtype=np.float64)

    @property
    def covariances_(self) -> np.ndarray:
        """Covariances in scikit-learn's shapes: (K, d, d) full, (d, d) tied, (K, d) diag, (K,) spherical."""
        L = np.asarray(self._mixture().cov_chol, dtype=np.float64)
        if L.ndim == 3:
            cov = L @ np.swapaxes(L, -1, -2)
            return cov[0] if self.covariance_type_ == "tied" else cov
        var = L * L
        return var[:, 0] if self.covariance_type_ == "spherical" else var

    @property
    def precisions_cholesky_(self) -> np.ndarray:
        P = np.asarray(self._mixture().prec_chol, dtype=np.float64)
        if self.covariance_type_ == "tied":
            return P[0]
        return P[:, 0] if self.covariance_type_ == "spherical" else P

    # -- model selection ------------------------------------------------------------------------
    def bic(self, data) -> float:
        """Bayesian information criterion on ``data`` (lower is better), as scikit-learn."""
        return self._criteria(data)[0]

    def aic(self, data) -> float:
        """Akaike information criterion on ``data`` (lower is better), as scikit-learn."""
        return self._criteria(data)[1]

    def _criteria(self, data) -> tuple[float, float]:
        logp = self.score_samples(data)
        return information_criteria(float(np.mean(logp)), len(logp), self._n_parameters())

    def _n_parameters(self) -> int:
        """Free parameters of the model (those of the mixture, in its own space)."""
        d = int(self._mixture().means.shape[1])
        return n_parameters(self.covariance_type_, self.n_components_, d)

    # -- persistence ----------------------------------------------------------------------------
    def training_summary(self) -> dict[str, Any]:
        out = super().training_summary()
        out.update(self._extra_state())
        return out

    def _extra_state(self) -> dict[str, Any]:
        curve = self.bic_curve_
        if curve and isinstance(next(iter(curve.values())), dict):
            curve_json = {t: _str_keys(c) for t, c in curve.items()}
        else:
            curve_json = _str_keys(curve)
        return {"n_components": int(self.n_components_), "covariance_type": self.covariance_type_,
                "converged": bool(self.converged_), "n_iter": int(self.n_iter_),
                "lower_bound": float(self.lower_bound_), "bic_curve": curve_json,
                "search_notes": list(self.search_notes_)}

    def _set_extra_state(self, extra: dict[str, Any]) -> None:
        self.n_components_ = int(extra["n_components"])
        self.covariance_type_ = str(extra["covariance_type"])
        self.converged_ = bool(extra["converged"])
        self.n_iter_ = int(extra["n_iter"])
        self.lower_bound_ = float(extra["lower_bound"])
        self.search_notes_ = [str(v) for v in extra.get("search_notes", [])]
        curve = extra["bic_curve"]
        if curve and isinstance(next(iter(curve.values())), dict):
            self.bic_curve_ = {t: _int_keys(c) for t, c in curve.items()}
        else:
            self.bic_curve_ = _int_keys(curve)


def _finite_or_inf(v: float) -> float:
    return v if math.isfinite(v) else math.inf


def _str_keys(curve: dict) -> dict[str, float]:
    return {str(k): float(v) for k, v in curve.items()}


def _int_keys(curve: dict) -> dict[int, float]:
    return {int(k): float(v) for k, v in curve.items()}
