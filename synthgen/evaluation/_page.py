"""A report as one self-contained HTML page: its tables, its figure as a base64 PNG, its JSON.

Nothing on the page points outside it (no scripts, style sheets, fonts or images from
elsewhere), so the file can be mailed, archived or opened offline.  Without matplotlib the
page says that the figure is left out and how to get it.
"""

from __future__ import annotations

import base64
import html
import math

from .._version import __version__
from .plots import MissingDependencyError, report_png
from ._summary import _fmt, _threshold_reading, summary_rows, summary_title

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.8em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f4f4; }
tr.left-out td { color: #999; }
img { max-width: 100%; }
pre { background: #f8f8f8; padding: 1em; overflow-x: auto; font-size: 85%; }
.note { color: #555; }
"""

NO_MATPLOTLIB = ("The figure is left out: matplotlib is not installed. "
                 "Install it with <code>pip install synthgen[plot]</code> to embed it here.")


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def _table(header: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _summary(r: dict) -> str:
    rows = [[("\u00a0" * (len(m) - len(m.lstrip()))) + m.strip(), v, reading]
            for m, v, reading in summary_rows(r)]
    return _table(["measure", "value", "reading"], rows)


def _shapes(r: dict) -> str:
    rows = [[row["column"], row["kind"], row["metric"], _fmt(row["score"])]
            for row in r["details"]["column_shapes"]]
    return _table(["column", "kind", "metric", "score"], rows)


def _pair_key(p: dict):
    counted = p["meets_threshold"] and not math.isnan(p["score"])
    return (not counted, p["score"] if counted else 0.0)


def _pairs(r: dict) -> str:
    pairs = sorted(r["details"]["column_pair_trends"], key=_pair_key)
    rows, classes = [], []
    for p in pairs:
        correlation = p["metric"] == "CorrelationSimilarity"
        real = p["real_correlation"] if correlation else p["real_association"]
        counted = p["meets_threshold"] and not math.isnan(p["score"])
        rows.append([f"{p['column_1']} / {p['column_2']}", p["metric"],
                     ("r " if correlation else "V ") + _fmt(real),
                     _fmt(p["synthetic_correlation"]) if correlation else "-",
                     _fmt(p["score"]), "yes" if counted else "no"])
        classes.append("" if counted else "left-out")
    return _table(["pair", "metric", "real", "synthetic r", "score", "counted"], rows, classes)


def _figure(report) -> str:
    try:
        png = report_png(report)
    except MissingDependencyError:
        return f'<p class="note">{NO_MATPLOTLIB}</p>'
    data = base64.b64encode(png).decode("ascii")
    return (f'<img alt="marginals of the lowest-scoring columns, column pair differences and '
            f'DCR histograms" src="data:image/png;base64,{data}">')


def _thresholds(r: dict) -> str:
    th = r["thresholds"]
    if th["convention"] == "every_pair":
        which = "Every column pair counts (both thresholds 0, the published papers' convention)."
    else:
        which = (f"A pair counts when the real data's relationship passes the thresholds: "
                 f"|r| &gt; {th['real_correlation']:g} for two numeric columns, Cramér's V "
                 f"&gt; {th['real_association']:g} otherwise"
                 + (" (SDMetrics QualityReport's defaults)." if th["convention"] == "sdmetrics"
                    else "."))
    return (f'<p>{which} {th["pairs_counted"]} of {th["pairs"]} pairs are counted in the column '
            f"pair trends score.</p>")


def _details(r: dict) -> str:
    parts = []
    u = r["utility"]
    if u is not None:
        rows = [[name, _fmt(v["tstr"]), _fmt(v["trtr"])] for name, v in u["metrics"].items()]
        parts.append(f"<h3>Utility: {_esc(u['task'])} of {_esc(u['target'])}</h3>"
                     f"<p>Models: {_esc(u['model'])}; test rows: {_esc(u['test_set'])}.</p>"
                     + _table(["metric", "train synthetic (TSTR)", "train real (TRTR)"], rows))
    p = r["privacy"]
    parts.append(f"<h3>Privacy</h3><p>Baseline: {_esc(p['baseline'])}; distances: "
                 f"{_esc(p['distance'])}.</p>")
    return "".join(parts)


def report_html(report) -> str:
    """The whole page of a :class:`~synthgen.evaluation.Report`, as text."""
    r = report.to_dict()
    title = summary_title(r)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>synthgen: {_esc(title)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>synthgen: {_esc(title)}</h1>",
        f'<p class="note">synthgen {_esc(__version__)}. Fidelity follows SDMetrics\' '
        f"QualityReport; detection, utility and privacy are synthgen's.</p>",
        _summary(r),
        "<h2>Figure</h2>", _figure(report),
        "<h2>Column shapes</h2>", _shapes(r),
        f"<h2>Column pair trends ({_esc(_threshold_reading(r['thresholds']))})</h2>",
        _thresholds(r), _pairs(r),
        "<h2>Details</h2>", _details(r),
        "<details><summary>Every number (the report's JSON)</summary>",
        f"<pre>{_esc(report.to_json())}</pre></details>",
        "</body></html>",
    ]) + "\n"
