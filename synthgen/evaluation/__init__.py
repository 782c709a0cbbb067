"""Evaluation of synthetic data: fidelity, detection, utility and privacy, in one :class:`Report`.

``synthgen.evaluate(real, synthetic, holdout=..., target=...)`` runs everything; the
modules hold the single measures (``fidelity``, ``detection``, ``utility``, ``privacy``) and
the figures (``plots``).
"""

from __future__ import annotations

from .plots import MissingDependencyError, plot_bic_curve, plot_latent
from .report import Report, evaluate

__all__ = ["evaluate", "Report", "plot_bic_curve", "plot_latent", "MissingDependencyError"]
