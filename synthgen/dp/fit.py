"""A private fit from start to end: plan, calibrate, then read the data once per release.

:func:`prepare` is called by ``Generator.fit`` when ``epsilon`` is set.  In order:

1. the ledger is planned from the hyperparameters, the column names and dtypes, and the
   public metadata (no value of the data is read);
2. the noise of every release is calibrated with ``dp-accounting``; a budget too small is
   an ``InvalidParameterError`` here, before the data is touched;
3. metadata the user did not give is estimated with its share of the budget;
4. the vectoriser is fitted on the public (or privately estimated) metadata alone, and the
   data are clipped to it; the generator's releases then see rows of L2 norm at most
   ``clip`` about ``centre`` (see :mod:`synthgen.dp.mechanisms`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidDataError, InvalidParameterError
from .accounting import Ledger, calibrate
from .params import check_privacy
from .schema import conform, estimate_schema, load_schema, plan_schema, private_vectoriser

#: share of the budget spent on metadata when some must be estimated from the data
METADATA_SHARE = 0.2


@dataclass
class PrivateFit:
    """What a generator's private hook needs: the ledger and the rows' geometry."""

    ledger: Ledger
    centre: np.ndarray
    clip: float
    schema: dict
    half_width: np.ndarray | None = None  # per feature: half the range the public skeleton spans

    def sigma(self, name: str) -> float:
        return self.ledger.get(name).sigma


def prepare(gen, data, hp: dict[str, Any], seed: int):
    """``(vectoriser, matrix, PrivateFit)`` for a private fit of ``gen`` on ``data``."""
    if not isinstance(data, pd.DataFrame):
        raise InvalidDataError(
            f"a private fit (epsilon set) takes a pandas DataFrame; got {type(data).__name__}")
    if hp.get("vectoriser") is not None:
        raise InvalidParameterError(
            "vectoriser must be None when epsilon is set: a private fit builds its vectoriser "
            "from public_metadata (or private estimates)")
    if data.shape[1] == 0:
        raise InvalidDataError("the data has no columns")
    check_privacy(hp)
    schema = load_schema(hp.get("public_metadata"))
    unknown = sorted(set(schema) - {str(c) for c in data.columns})
    if unknown:
        raise InvalidParameterError(
            f"public_metadata names column(s) not in the data: {', '.join(map(repr, unknown))}")
    ledger = Ledger(float(hp["epsilon"]), float(hp["delta"]))
    estimated = plan_schema(data, schema, ledger, METADATA_SHARE)
    model_share = 1.0 - METADATA_SHARE if estimated else 1.0
    # the row count is taken as public (it sets DP-SGD's sampling rate), as DP-SGD's
    # accounting in Opacus and TensorFlow Privacy does
    gen._plan_private(ledger, model_share, hp, n_rows=len(data), n_columns=data.shape[1])
    calibrate(ledger)
    # only now is the data read
    rng = np.random.default_rng([seed, 0x5eed])
    schema = dict(schema, **estimate_schema(rng, data, estimated, ledger))
    vec = private_vectoriser(data, schema)
    matrix = vec.transform(conform(data, schema))
    centre, clip, half = geometry(vec, schema, data)
    for rel in ledger.releases:
        if rel.name.endswith(":sum"):
            rel.sensitivity = clip
        elif rel.name.endswith(":scatter"):
            rel.sensitivity = clip * clip
    return vec, matrix, PrivateFit(ledger, centre, clip, schema, half)


def geometry(vec, schema: dict, data: pd.DataFrame) -> tuple[np.ndarray, float, np.ndarray]:
    """Centre, L2 radius and per-feature half range of every row the vectoriser can produce
    from conforming data.

    Numeric and flag features lie between the values the public skeleton table maps to
    (centre: the midpoint); a one-hot group is centred at 0 and has norm at most 1.
    """
    from .schema import skeleton

    S = vec.transform(skeleton(data, schema))
    lo, hi = S.min(axis=0), S.max(axis=0)
    centre = 0.5 * (lo + hi)
    radius2 = 0.0
    for block in vec.blocks_:
        sl = slice(block.start, block.stop)
        if block.kind == "categorical":
            centre[sl] = 0.0
            radius2 += 1.0
        else:
            radius2 += float(np.sum((0.5 * (hi[sl] - lo[sl])) ** 2))
    half = (0.5 * (hi - lo)).astype(np.float32)
    return centre.astype(np.float32), float(np.sqrt(max(radius2, 1e-12))), half
