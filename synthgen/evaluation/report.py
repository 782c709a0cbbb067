"""``evaluate(real, synthetic)`` and the :class:`Report` it returns.

A report gathers fidelity (column shapes, column pair trends), detection, utility (when a
``target`` is named) and privacy.  It prints as a rich table, converts to a dict, to JSON
and to a self-contained HTML page, and draws its figures with :meth:`Report.plot`.
"""

from __future__ import annotations

import copy
import io
import json
import math
from pathlib import Path

import numpy as np

from .._params import Choice, Float, Optional
from ..errors import InvalidParameterError
from ..random import check_seed
from ._tables import Encoder, align
from .detection import detection
from .fidelity import SDMETRICS_THRESHOLDS, fidelity
from .membership import membership_inference
from .privacy import privacy
from .utility import split_real, utility
from ._summary import _fmt, _threshold_reading, summary_rows, summary_title

#: Rows of the worst column pairs shown when a report prints.
SHOWN_PAIRS = 10


def evaluate(real, synthetic, *, holdout=None, target: str | None = None, task: str | None = None,
             seed: int = 0, model=None,
             real_correlation_threshold: float = SDMETRICS_THRESHOLDS["real_correlation_threshold"],
             real_association_threshold: float = SDMETRICS_THRESHOLDS["real_association_threshold"],
             given: dict | None = None,
             ) -> "Report":
    """Compare ``synthetic`` rows with the ``real`` rows they imitate; returns a :class:`Report`.

    ``real``, ``synthetic`` and ``holdout`` are DataFrames (mixed types, gaps allowed), 2-D
    arrays, or lists of strings (one categorical column per character position); columns are
    matched by name.  ``holdout``: real rows the generator never saw, the test set of the
    utility models and the baseline of the privacy distances.  ``target``: the column the
    utility models predict (``task`` ``"classification"`` or ``"regression"``, inferred when
    None).  ``seed`` fixes the cross-validation folds, splits and subsamples.  The two
    thresholds select the column pairs that count in the column pair trends, as in SDMetrics'
    QualityReport, whose defaults (0.5, 0.3) they are; ``**synthgen.evaluation.EVERY_PAIR``
    sets both to 0, so that every pair counts (the published papers' convention).
    ``given``: the condition the synthetic rows were sampled with (``sample(n, given=...)``);
    the report then also compares them with the real rows meeting it (``"conditional"``, see
    :func:`synthgen.evaluation.conditional.conditional_fidelity`).
    With a ``holdout``, membership-inference attacks are run (:mod:`.membership`); with the
    fitted ``model``, its differential-privacy record (if it was fitted privately) is shown.
    """
    seed = check_seed(seed)
    corr_t = Float(0, 1)("real_correlation_threshold", real_correlation_threshold)
    assoc_t = Float(0, 1)("real_association_threshold", real_association_threshold)
    task = Optional(Choice("classification", "regression"))("task", task)
    tables = align(real, synthetic, holdout)
    target = None if target is None else str(target)
    if target is not None and target not in tables.kinds:
        raise InvalidParameterError(
            f"target must be a column of the data; got {target!r} (columns: {', '.join(tables.kinds)})"
        )
    fid = fidelity(tables.real, tables.synthetic, tables.kinds,
                   real_correlation_threshold=corr_t, real_association_threshold=assoc_t)
    enc = Encoder(tables.kinds).fit(tables.real, [tables.synthetic])
    det = detection(enc.transform(tables.real), enc.transform(tables.synthetic), seed=seed)
    util = None
    if target is not None:
        if tables.holdout is not None:
            train, test, test_set = tables.real, tables.holdout, "holdout"
        else:
            train, test = split_real(tables.real, np.random.default_rng([seed, 1]))
            test_set = "random 30% of the real rows"
        util = utility(train, tables.synthetic, test, target, tables.kinds, task=task, test_set=test_set)
    priv, distances = privacy(tables.real, tables.synthetic, tables.holdout, tables.kinds, seed=seed)
    results = {
        "score": fid["score"],
        "column_shapes": fid["column_shapes"],
        "column_pair_trends": fid["column_pair_trends"],
        "details": {"column_shapes": fid["shapes"], "column_pair_trends": fid["pairs"]},
        "thresholds": fid["thresholds"],
        "detection": det,
        "utility": util,
        "privacy": priv,
        "n_rows": {"real": len(tables.real), "synthetic": len(tables.synthetic),
                   "holdout": None if tables.holdout is None else len(tables.holdout)},
        "columns": dict(tables.kinds),
        "membership_inference": None if tables.holdout is None else membership_inference(
            tables.real, tables.synthetic, tables.holdout, tables.kinds, seed=seed),
        "differential_privacy": getattr(model, "privacy_", None),
    }
    if given is not None:
        from .conditional import conditional_fidelity

        results["conditional"] = conditional_fidelity(
            real, synthetic, given, real_correlation_threshold=corr_t,
            real_association_threshold=assoc_t)
    plot_data = {"real": tables.real, "synthetic": tables.synthetic, "kinds": tables.kinds, **distances}
    return Report(results, plot_data=plot_data)


class Report:
    """The result of :func:`evaluate`: scores, details, and ways to show them."""

    def __init__(self, results: dict, *, plot_data: dict | None = None):
        self._results = results
        self._plot_data = plot_data

    # -- values ---------------------------------------------------------------------------------
    @property
    def score(self) -> float:
        """Overall fidelity: the mean of the column-shapes and column-pair-trends scores."""
        return self._results["score"]

    @property
    def column_shapes(self) -> float:
        return self._results["column_shapes"]

    @property
    def column_pair_trends(self) -> float:
        return self._results["column_pair_trends"]

    def to_dict(self) -> dict:
        """Every score and detail as plain Python values (a missing score is ``nan``)."""
        return copy.deepcopy(self._results)

    def to_json(self, path=None, *, indent: int | None = 2) -> str:
        """The dict as JSON (a missing score is ``null``); written atomically to ``path`` if given."""
        text = json.dumps(_json_safe(self._results), indent=indent)
        if path is not None:
            from ..io import atomic_path

            with atomic_path(path) as tmp:
                Path(tmp).write_text(text + "\n", encoding="utf-8")
        return text

    def to_html(self, path=None) -> str:
        """One self-contained HTML page: the tables, the figure of :meth:`plot` as an embedded
        PNG (or a note when matplotlib is missing), and the JSON; written atomically to
        ``path`` if given."""
        from ._page import report_html

        text = report_html(self)
        if path is not None:
            from ..io import atomic_path

            with atomic_path(path) as tmp:
                Path(tmp).write_text(text, encoding="utf-8")
        return text

    # -- display --------------------------------------------------------------------------------
    def __rich__(self):
        from rich.console import Group

        parts = [_summary_table(self._results), _shapes_table(self._results)]
        if self._results["details"]["column_pair_trends"]:
            parts.append(_pairs_table(self._results))
        return Group(*parts)

    def __str__(self) -> str:
        from rich.console import Console

        buf = io.StringIO()
        Console(file=buf, width=100, color_system=None, force_terminal=False).print(self)
        return buf.getvalue().rstrip("\n")

    def __repr__(self) -> str:
        r = self._results
        return (f"Report(score={_fmt(r['score'])}, column_shapes={_fmt(r['column_shapes'])}, "
                f"column_pair_trends={_fmt(r['column_pair_trends'])}, "
                f"detection_auc={_fmt(r['detection']['auc'])})")

    def show(self) -> None:
        """Print the report to the terminal (with colour where the terminal has it)."""
        from rich.console import Console

        Console().print(self)

    def plot(self, path) -> Path:
        """Draw marginals, the column-pair difference heatmap and DCR histograms into one PNG."""
        from .plots import plot_report

        return plot_report(self, path)


def _json_safe(obj):
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _table(title: str, *columns: str):
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right")
    return table


def _summary_table(r: dict):
    t = _table(summary_title(r), "measure", "value", "reading")
    for row in summary_rows(r):
        t.add_row(*row)
    return t


def _shapes_table(r: dict):
    t = _table("Column shapes", "column", "kind", "metric", "score")
    for row in r["details"]["column_shapes"]:
        t.add_row(row["column"], row["kind"], row["metric"], _fmt(row["score"]))
    return t


def _pairs_table(r: dict):
    pairs = [p for p in r["details"]["column_pair_trends"] if not math.isnan(p["score"])]
    pairs.sort(key=lambda p: p["score"])
    t = _table(f"Column pair trends: the {min(SHOWN_PAIRS, len(pairs))} lowest of {len(pairs)} "
               f"counted, of {len(r['details']['column_pair_trends'])} pairs "
               f"({_threshold_reading(r['thresholds'])})", "pair", "metric", "real", "score")
    for p in pairs[:SHOWN_PAIRS]:
        real = p["real_correlation"] if p["metric"] == "CorrelationSimilarity" else p["real_association"]
        t.add_row(f"{p['column_1']} / {p['column_2']}", p["metric"], _fmt(real), _fmt(p["score"]))
    return t
