"""Figures: a report's marginals, pair differences and DCR histograms; a GMM's BIC curve; a VAE's
latent space.

Matplotlib comes with the optional ``plot`` extra (``pip install synthgen[plot]``).  Figures
are drawn with matplotlib's object interface (no pyplot state, no backend switch) and
written atomically; the format follows the file's extension (PNG by default).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InvalidDataError, InvalidParameterError, NotFittedError, SynthgenError
from ._tables import NUMERIC_KINDS, discrete_values, numeric_values

#: Marginals drawn in a report figure (the lowest-scoring columns).
MAX_MARGINALS = 8
TOP_CATEGORIES = 10
REAL, SYNTH, OTHER = "#1f77b4", "#ff7f0e", "#7f7f7f"


class MissingDependencyError(SynthgenError, ImportError):
    """An optional dependency a feature needs is not installed."""


def _figure(width: float, height: float):
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise MissingDependencyError(
            "plotting needs matplotlib, which is not installed: pip install synthgen[plot]"
        ) from exc
    return Figure(figsize=(width, height), layout="constrained")


def _save(fig, path) -> Path:
    from ..io import atomic_path

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=100)
    return path


# -- report ---------------------------------------------------------------------------------------
def plot_report(report, path) -> Path:
    """Real-vs-synthetic marginals, the column-pair difference heatmap and DCR histograms."""
    return _save(report_figure(report), path)


def report_png(report) -> bytes:
    """The figure of :func:`plot_report` as PNG bytes (for a page that embeds it)."""
    import io

    buf = io.BytesIO()
    report_figure(report).savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def report_figure(report):
    """The matplotlib ``Figure`` that :func:`plot_report` writes."""
    data = report._plot_data
    if data is None:
        raise InvalidDataError("this report holds no data to plot (it was not made by evaluate)")
    results = report.to_dict()
    shapes = sorted(results["details"]["column_shapes"],
                    key=lambda r: (math.isnan(r["score"]), r["score"]))[:MAX_MARGINALS]
    n_cols = 4
    n_rows = max(1, -(-len(shapes) // n_cols))
    fig = _figure(4.0 * n_cols, 3.2 * (n_rows + 1.6))
    grid = fig.add_gridspec(n_rows + 2, n_cols, height_ratios=[1] * n_rows + [0.8, 0.8])
    for i, row in enumerate(shapes):
        ax = fig.add_subplot(grid[i // n_cols, i % n_cols])
        _marginal(ax, data["real"][row["column"]], data["synthetic"][row["column"]], row)
    _pair_heatmap(fig.add_subplot(grid[n_rows:, : n_cols // 2]), results)
    _dcr_histogram(fig.add_subplot(grid[n_rows:, n_cols // 2:]), data, results["privacy"]["baseline"])
    fig.suptitle(f"synthgen evaluation: fidelity {results['score']:.3f}, "
                 f"detection AUC {results['detection']['auc']:.3f}")
    return fig


def _marginal(ax, real: pd.Series, synthetic: pd.Series, row: dict) -> None:
    title = f"{row['column']} ({row['metric'][:2]} {row['score']:.3f})"
    if row["kind"] in NUMERIC_KINDS:
        r, s = numeric_values(real), numeric_values(synthetic)
        r, s = r[~np.isnan(r)], s[~np.isnan(s)]
        both = np.concatenate([r, s])
        if both.size:
            edges = np.histogram_bin_edges(both, bins=30)
            ax.hist(r, bins=edges, density=True, alpha=0.5, color=REAL, label="real")
            ax.hist(s, bins=edges, density=True, alpha=0.5, color=SYNTH, label="synthetic")
    else:
        r = pd.Series(discrete_values(real), dtype=object).fillna("<missing>").astype(str)
        s = pd.Series(discrete_values(synthetic), dtype=object).fillna("<missing>").astype(str)
        pr, ps = r.value_counts(normalize=True), s.value_counts(normalize=True)
        cats = list(pr.index[:TOP_CATEGORIES])
        x = np.arange(len(cats))
        ax.bar(x - 0.2, [pr.get(c, 0.0) for c in cats], 0.4, color=REAL, label="real")
        ax.bar(x + 0.2, [ps.get(c, 0.0) for c in cats], 0.4, color=SYNTH, label="synthetic")
        ax.set_xticks(x, [c[:12] for c in cats], rotation=60, fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)


def _pair_heatmap(ax, results: dict) -> None:
    columns = list(results["columns"])
    pos = {c: i for i, c in enumerate(columns)}
    M = np.full((len(columns), len(columns)), np.nan)
    np.fill_diagonal(M, 0.0)
    for p in results["details"]["column_pair_trends"]:
        i, j = pos[p["column_1"]], pos[p["column_2"]]
        M[i, j] = M[j, i] = 1.0 - p["score"]
    vmax = max(0.1, float(np.nanmax(M))) if np.isfinite(M).any() else 1.0
    im = ax.imshow(np.ma.masked_invalid(M), cmap="Reds", vmin=0.0, vmax=vmax)
    ax.figure.colorbar(im, ax=ax, shrink=0.8)
    if len(columns) <= 40:
        ax.set_xticks(range(len(columns)), columns, rotation=90, fontsize=7)
        ax.set_yticks(range(len(columns)), columns, fontsize=7)
    ax.set_title("column pair difference: |r_real - r_synth| / 2, or contingency TV", fontsize=9)


def _dcr_histogram(ax, data: dict, baseline: str) -> None:
    s, b = data["dcr_synthetic"], data["dcr_baseline"]
    both = np.concatenate([s, b])
    hi = float(np.percentile(both, 99)) if both.size else 1.0
    edges = np.linspace(0.0, hi if hi > 0 else 1.0, 41)
    ax.hist(np.minimum(s, edges[-1]), bins=edges, density=True, alpha=0.5, color=SYNTH, label="synthetic")
    if b.size:
        ax.hist(np.minimum(b, edges[-1]), bins=edges, density=True, alpha=0.5, color=REAL, label=baseline)
    ax.set_xlabel("distance to the closest training row (last bin: 99th percentile and beyond)")
    ax.set_title("DCR: synthetic vs fresh real rows", fontsize=9)
    ax.legend(fontsize=8)


# -- GMM ------------------------------------------------------------------------------------------
def bic_points(curve) -> tuple[np.ndarray, np.ndarray]:
    """``(counts, bic)`` from a BIC curve: a mapping count -> BIC (or BICs of restarts), or a
    mapping with ``"n_components"`` and ``"bic"``; ``bic`` is ``(n,)`` or ``(n, restarts)``."""
    if isinstance(curve, dict) and "n_components" in curve and "bic" in curve:
        counts, bic = np.asarray(curve["n_components"]), np.asarray(curve["bic"], dtype=np.float64)
    elif isinstance(curve, dict):
        counts = np.asarray([int(k) for k in curve])
        bic = np.asarray([np.asarray(v, dtype=np.float64) for v in curve.values()])
    else:
        arr = np.asarray(curve, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] < 2:
            raise InvalidDataError(f"a BIC curve must map component counts to BIC; got shape {arr.shape}")
        counts, bic = arr[:, 0].astype(int), arr[:, 1:]
    if bic.ndim == 1:
        bic = bic[:, None]
    order = np.argsort(counts)
    return counts[order], bic[order]


def plot_bic_curve(gmm, path) -> Path:
    """BIC against the number of components of a GMM fitted with ``n_components="bic"``."""
    if not hasattr(gmm, "params_"):
        raise NotFittedError("plot_bic_curve needs a fitted GMM; call fit first")
    curve = getattr(gmm, "bic_curve_", None)
    if curve is None:
        raise InvalidParameterError(
            "plot_bic_curve needs a GMM fitted with n_components='bic' (it has no bic_curve_)"
        )
    counts, bic = bic_points(curve)
    fig = _figure(6.0, 4.0)
    ax = fig.add_subplot()
    best = np.nanmin(bic, axis=1)
    if bic.shape[1] > 1:
        for j in range(bic.shape[1]):
            ax.scatter(counts, bic[:, j], s=10, color=OTHER, alpha=0.6,
                       label="restarts" if j == 0 else None)
    ax.plot(counts, best, marker="o", color=REAL, label="BIC (best restart)")
    k = int(np.nanargmin(best))
    ax.scatter([counts[k]], [best[k]], s=120, facecolors="none", edgecolors="red", zorder=3,
               label=f"chosen: {counts[k]} components")
    ax.set_xlabel("number of components")
    ax.set_ylabel("BIC (lower is better)")
    ax.legend()
    return _save(fig, path)


# -- VAE ------------------------------------------------------------------------------------------
def _latent_2d(mean: np.ndarray, log_var: np.ndarray) -> tuple[np.ndarray, tuple[str, str]]:
    if mean.shape[1] == 1:
        return np.column_stack([mean[:, 0], log_var[:, 0]]), ("z1 (posterior mean)", "log variance of z1")
    if mean.shape[1] == 2:
        return mean, ("z1", "z2")
    centred = mean - mean.mean(axis=0)
    _, sv, vt = np.linalg.svd(centred, full_matrices=False)
    share = sv**2 / max(np.sum(sv**2), 1e-300)
    return centred @ vt[:2].T, (f"PC1 ({100 * share[0]:.0f}% of variance)",
                                f"PC2 ({100 * share[1]:.0f}% of variance)")


def plot_latent(vae, data, path, *, color_by=None) -> Path:
    """Posterior means of ``data`` in a VAE's latent space (the first two principal components
    when it has more than two dimensions), coloured by a column name or by values given."""
    mean, log_var = (np.asarray(a, dtype=np.float64) for a in vae.encode(data))
    xy, labels = _latent_2d(mean, log_var)
    colours = _colour_values(data, color_by, len(xy))
    fig = _figure(6.5, 5.0)
    ax = fig.add_subplot()
    if colours is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=6, alpha=0.6, color=REAL)
    elif _is_numeric(colours):
        sc = ax.scatter(xy[:, 0], xy[:, 1], s=6, alpha=0.7, c=colours.astype(np.float64), cmap="viridis")
        fig.colorbar(sc, ax=ax, label=str(color_by) if isinstance(color_by, str) else None)
    else:
        _scatter_groups(ax, xy, colours)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title("latent space (posterior means)")
    return _save(fig, path)


def _colour_values(data, color_by, n: int):
    if color_by is None:
        return None
    if isinstance(color_by, str):
        if not isinstance(data, pd.DataFrame) or color_by not in data.columns:
            raise InvalidParameterError(
                f"color_by must be a column of the data (a DataFrame) or values per row; got {color_by!r}"
            )
        values = data[color_by].to_numpy()
    else:
        values = np.asarray(color_by)
    if values.shape != (n,):
        raise InvalidParameterError(f"color_by must give one value per row ({n}); got shape {values.shape}")
    return values


def _is_numeric(values: np.ndarray) -> bool:
    return values.dtype.kind in "iuf" and np.unique(values[~pd.isna(values)]).size > TOP_CATEGORIES


def _scatter_groups(ax, xy: np.ndarray, values: np.ndarray) -> None:
    labels = pd.Series(values, dtype=object).fillna("<missing>").astype(str)
    top = list(labels.value_counts().index[:TOP_CATEGORIES])
    rest = ~labels.isin(top).to_numpy()
    if rest.any():
        ax.scatter(xy[rest, 0], xy[rest, 1], s=5, alpha=0.4, color=OTHER, label="other")
    for label in top:
        mask = (labels == label).to_numpy()
        ax.scatter(xy[mask, 0], xy[mask, 1], s=6, alpha=0.7, label=label[:20])
    ax.legend(fontsize=7, markerscale=2)
