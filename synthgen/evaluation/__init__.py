"""Evaluation of synthetic data: fidelity, detection, utility and privacy, in one :class:`Report`.

``synthgen.evaluate(real, synthetic, holdout=..., target=...)`` runs everything; the
modules hold the single measures (``fidelity``, ``detection``, ``utility``, ``privacy``) and
the figures (``plots``).  Column pair trends count the pairs that SDMetrics' QualityReport
counts by default (:data:`SDMETRICS_THRESHOLDS`); ``evaluate(real, synthetic, **EVERY_PAIR)``
counts every pair, as the published papers do.
"""

from __future__ import annotations

from .fidelity import EVERY_PAIR, SDMETRICS_THRESHOLDS
from .plots import MissingDependencyError, plot_bic_curve, plot_latent
from .report import Report, evaluate

__all__ = ["evaluate", "Report", "EVERY_PAIR", "SDMETRICS_THRESHOLDS", "plot_bic_curve",
           "plot_latent", "MissingDependencyError"]
