"""The conditional check: conditioned synthetic rows against the real rows meeting the condition.

``conditional_fidelity(real, synthetic, given)`` keeps the real rows that meet ``given`` (the
dict of column -> value or ``(lo, hi)`` that the synthetic rows were sampled with), and scores
the synthetic rows against that subset with the usual column shapes and column pair trends.
Columns fixed to one value by the condition are left out of the scores (they are constant on
both sides), as are real columns the synthetic rows do not have (a vectoriser may drop one, as the
credit card vectoriser drops ``Time``); ranged columns stay in.  It also reports the share of synthetic rows that carry
the condition (1.0 for conditional sampling).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InvalidDataError, InvalidParameterError
from ._tables import align
from .fidelity import SDMETRICS_THRESHOLDS, fidelity


def meets(frame: pd.DataFrame, given: dict) -> np.ndarray:
    """Which rows of ``frame`` meet ``given`` (values compared as the frame holds them)."""
    if not isinstance(given, dict) or not given:
        raise InvalidParameterError(f"given must be a non-empty dict; got {given!r:.60}")
    ok = np.ones(len(frame), dtype=bool)
    for col, value in given.items():
        if col not in frame.columns:
            raise InvalidDataError(f"given names column {col!r}, which is not in the data")
        column = frame[col]
        if isinstance(value, tuple):
            lo, hi = value
            x = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
            ok &= (x >= (-np.inf if lo is None else lo)) & (x <= (np.inf if hi is None else hi))
        elif value is None:
            ok &= column.isna().to_numpy()
        else:
            ok &= (column.astype(object) == value).to_numpy()
    return ok


def conditional_fidelity(real, synthetic, given: dict, *,
                         real_correlation_threshold: float = SDMETRICS_THRESHOLDS[
                             "real_correlation_threshold"],
                         real_association_threshold: float = SDMETRICS_THRESHOLDS[
                             "real_association_threshold"]) -> dict:
    """Scores of the conditioned ``synthetic`` rows on the real rows meeting ``given``."""
    real, synthetic = pd.DataFrame(real), pd.DataFrame(synthetic)
    subset = real[meets(real, given)]
    carries = float(meets(synthetic, given).mean())
    out = {"given": {k: list(v) if isinstance(v, tuple) else v for k, v in given.items()},
           "n_real_rows": int(len(subset)), "n_synthetic_rows": int(len(synthetic)),
           "share_carrying": carries}
    keep = [c for c in real.columns if (c not in given or isinstance(given[c], tuple))
            and c in synthetic.columns]
    if len(subset) < 2:
        out.update(score=float("nan"), column_shapes=float("nan"),
                   column_pair_trends=float("nan"),
                   note=f"{len(subset)} real row(s) meet the condition: too few to compare with")
        return out
    tables = align(subset[keep].reset_index(drop=True), synthetic[keep].reset_index(drop=True))
    fid = fidelity(tables.real, tables.synthetic, tables.kinds,
                   real_correlation_threshold=real_correlation_threshold,
                   real_association_threshold=real_association_threshold)
    out.update(score=fid["score"], column_shapes=fid["column_shapes"],
               column_pair_trends=fid["column_pair_trends"])
    return out
