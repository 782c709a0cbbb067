"""The report's summary as rows of text, shared by the rich table and the HTML page."""

from __future__ import annotations

import math


def _fmt(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}f}"


def _pct(x) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.2f}%"


def summary_title(r: dict) -> str:
    """``"Evaluation (500 real, 400 synthetic, 200 holdout)"``."""
    n = r["n_rows"]
    rows = f"{n['real']} real, {n['synthetic']} synthetic" + (
        f", {n['holdout']} holdout" if n["holdout"] is not None else "")
    return f"Evaluation ({rows})"


def summary_rows(r: dict) -> list[tuple[str, str, str]]:
    """The summary's ``(measure, value, reading)`` rows; a nested measure is indented."""
    rows = [("fidelity score", _fmt(r["score"]), "1 = identical"),
            ("  column shapes", _fmt(r["column_shapes"]), "KS / TV complement"),
            ("  column pair trends", _fmt(r["column_pair_trends"]), "correlation / contingency"),
            ("    pairs counted", _counted(r["thresholds"]), _threshold_reading(r["thresholds"]))]
    d = r["detection"]
    rows += [("detection ROC AUC", _fmt(d["auc"]), "0.5 = indistinguishable"),
             ("detection score", _fmt(d["score"]), "1 = indistinguishable")]
    u = r["utility"]
    if u is not None:
        rows += [(f"utility {name} ({u['target']})", f"{_fmt(v['tstr'])} / {_fmt(v['trtr'])}",
                  "TSTR / TRTR") for name, v in u["metrics"].items()]
    p = r["privacy"]
    rows += [
        ("exact copies", f"{_pct(p['exact_copies']['synthetic'])} / "
         f"{_pct(p['exact_copies']['baseline'])}", f"synthetic / {p['baseline']}"),
        ("DCR median", f"{_fmt(p['dcr']['synthetic']['median'])} / "
         f"{_fmt(p['dcr']['baseline']['median'])}", f"synthetic / {p['baseline']}"),
        ("DCR below baseline's 5th pct", _pct(p["dcr"]["synthetic_below_baseline_p05"]),
         "about 5% expected"),
        ("NNDR median", f"{_fmt(p['nndr']['synthetic']['median'])} / "
         f"{_fmt(p['nndr']['baseline']['median'])}", f"synthetic / {p['baseline']}"),
    ]
    mia = r.get("membership_inference")
    if mia is not None:
        rows += [("membership attack AUC", f"{_fmt(mia['dcr_auc'])} / {_fmt(mia['density_auc'])}",
                  "DCR / density; 0.5 = chance")]
    dp = r.get("differential_privacy")
    if dp is not None:
        rows += [("differential privacy", f"eps {dp['epsilon']:g}, delta {dp['delta']:g}",
                  f"spent {dp['epsilon_spent']:.4g} ({dp['accountant']})")]
    return rows


def _counted(th: dict) -> str:
    return f"{th['pairs_counted']} of {th['pairs']}"


def _threshold_reading(th: dict) -> str:
    """Which pairs count, in words: the real data's thresholds and whose convention they are."""
    if th["convention"] == "every_pair":
        return "thresholds 0: every pair"
    rule = f"real |r| > {th['real_correlation']:g}, V > {th['real_association']:g}"
    return rule + (" (SDMetrics)" if th["convention"] == "sdmetrics" else "")
