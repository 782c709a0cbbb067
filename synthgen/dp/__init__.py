"""Differential privacy for table generators (optional extra ``synthgen[dp]``).

``epsilon=`` and ``delta=`` on ``gaussian`` and ``gmm`` make the whole fit
(epsilon, delta)-differentially private under add/remove-one-row neighbours: the
vectoriser's metadata comes from ``public_metadata`` or is estimated with part of the
budget, and every statistic the model reads is released through the Gaussian mechanism,
accounted by Google's ``dp-accounting`` (RDP).  Importing this package does not import
``dp-accounting``; a private fit does.
"""

from .params import PRIVACY_PARAMS

__all__ = ["PRIVACY_PARAMS"]
