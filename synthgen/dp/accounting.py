"""Privacy accounting through Google's ``dp-accounting`` (RDP), and the ledger of a fit.

A private fit is planned before any data is read: a list of :class:`Release` steps, each
a Gaussian mechanism applied ``count`` times to a statistic of known L2 sensitivity under
the add/remove-one-row neighbour relation.  The plan gives every step a share of the
budget; one scale is then calibrated with ``dp_accounting.calibrate_dp_mechanism`` so
that the composition of all steps, accounted by ``dp_accounting``'s RDP accountant,
spends exactly the target ``(epsilon, delta)`` (up to the calibration's tolerance,
always on the safe side).

Shares split the Gaussian parts: a step with share ``w`` (shares normalised to sum 1) and
``count`` releases has noise multiplier ``z = s * sqrt(count / w)`` for one common scale
``s`` (noise standard deviation ``z * sensitivity``), so each step's part of the total
Renyi divergence, ``count / (2 z^2)`` per order, is ``w`` of the whole.  A Poisson-sampled
step (DP-SGD) gets its multiplier by the same rule; subsampling makes its part smaller than
``w``, and the calibration of the common scale on the whole composition still spends exactly
the target.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidParameterError

#: the largest noise multiplier a plan may need; beyond it the budget is called too small
MAX_NOISE_MULTIPLIER = 1e4

INSTALL_HINT = "differential privacy needs the dp-accounting package: pip install synthgen[dp]"


def dp_accounting():
    """The ``dp_accounting`` module, or a clear error naming the extra to install."""
    try:
        import dp_accounting as module
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(INSTALL_HINT) from exc
    return module


@dataclass
class Release:
    """A step of a private fit: ``count`` Gaussian releases of a statistic.

    ``sensitivity`` is the statistic's L2 sensitivity when one row is added or removed;
    ``share`` the step's part of the budget.  ``noise_multiplier`` (noise standard
    deviation / sensitivity) is set by :func:`calibrate`.  A ``sampling_rate`` below 1
    makes each release see a Poisson sample of the rows (every row kept independently with
    that probability), as in DP-SGD; it is accounted as a Poisson-sampled Gaussian.
    """

    name: str
    sensitivity: float
    share: float
    count: int = 1
    noise_multiplier: float = math.nan
    sampling_rate: float = 1.0

    @property
    def sigma(self) -> float:
        """Standard deviation of the Gaussian noise added to each release."""
        return self.noise_multiplier * self.sensitivity

    def event(self):
        dpa = dp_accounting()
        gauss = dpa.GaussianDpEvent(self.noise_multiplier)
        if self.sampling_rate < 1.0:
            gauss = dpa.PoissonSampledDpEvent(self.sampling_rate, gauss)
        return gauss if self.count == 1 else dpa.SelfComposedDpEvent(gauss, self.count)

    def to_json(self) -> dict[str, Any]:
        out = {"name": self.name, "mechanism": "gaussian", "sensitivity": float(self.sensitivity),
               "noise_multiplier": float(self.noise_multiplier), "sigma": float(self.sigma),
               "count": int(self.count), "share": float(self.share)}
        if self.sampling_rate < 1.0:
            out.update(mechanism="poisson-sampled gaussian", sampling_rate=float(self.sampling_rate))
        return out


@dataclass
class Ledger:
    """The plan of a private fit and, once calibrated, what each step spends.

    ``delta_selection`` is the part of ``delta`` set aside for thresholded category
    selection (the probability that a category held by one row is released); the
    Gaussian releases are accounted at ``delta - delta_selection``.
    """

    epsilon: float
    delta: float
    releases: list[Release] = field(default_factory=list)
    delta_selection: float = 0.0
    #: what the model fixed in advance instead of reading it from the data (e.g. a prior)
    notes: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, sensitivity: float, share: float, count: int = 1,
            sampling_rate: float = 1.0) -> Release:
        if sensitivity <= 0 or share <= 0 or count < 1 or not 0 < sampling_rate <= 1:
            raise InvalidParameterError(
                f"release {name!r} needs a positive sensitivity, share and count and a sampling "
                f"rate in (0, 1]; got {sensitivity}, {share}, {count}, {sampling_rate}")
        rel = Release(name, float(sensitivity), float(share), int(count), math.nan,
                      float(sampling_rate))
        self.releases.append(rel)
        return rel

    def get(self, name: str) -> Release:
        for rel in self.releases:
            if rel.name == name:
                return rel
        raise KeyError(name)

    @property
    def delta_gaussian(self) -> float:
        return self.delta - self.delta_selection

    def event(self):
        """The composition of every release, as a ``dp_accounting`` event."""
        return dp_accounting().ComposedDpEvent([rel.event() for rel in self.releases])

    def spent_epsilon(self) -> float:
        """Epsilon of the whole composition at ``delta_gaussian`` by the RDP accountant."""
        return epsilon_of(self.event(), self.delta_gaussian)

    def to_json(self) -> dict[str, Any]:
        return {"epsilon": float(self.epsilon), "delta": float(self.delta),
                "accountant": "dp_accounting RDP", "neighbours": "add/remove one row",
                "epsilon_spent": float(self.spent_epsilon()),
                "delta_gaussian": float(self.delta_gaussian),
                "delta_selection": float(self.delta_selection),
                "releases": [rel.to_json() for rel in self.releases],
                **({"notes": dict(self.notes)} if self.notes else {})}


def epsilon_of(event, delta: float) -> float:
    """Epsilon of ``event`` at ``delta`` by ``dp_accounting``'s RDP accountant."""
    acc = dp_accounting().rdp.RdpAccountant()
    with _quiet_absl():
        acc.compose(event)
        return float(acc.get_epsilon(delta))


def _set_scale(ledger: Ledger, scale: float) -> None:
    """Noise multipliers ``scale * sqrt(count / share)`` (shares normalised to sum 1)."""
    total = sum(rel.share for rel in ledger.releases)
    for rel in ledger.releases:
        rel.noise_multiplier = scale * math.sqrt(rel.count / (rel.share / total))


@contextmanager
def _quiet_absl():
    from absl import logging as absl_logging  # dp-accounting logs through absl

    level = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.ERROR)
    try:
        yield
    finally:
        absl_logging.set_verbosity(level)


def calibrate(ledger: Ledger) -> Ledger:
    """Set every release's noise so the composition spends ``(epsilon, delta)``.

    Raises ``InvalidParameterError`` (before any data is read) when the budget is too small:
    a release would need a noise multiplier above ``MAX_NOISE_MULTIPLIER``.
    """
    if not ledger.releases:
        raise InvalidParameterError("a private fit needs at least one release")
    if not 0 < ledger.delta_gaussian < 1:
        raise InvalidParameterError(
            f"delta must leave room for the Gaussian releases; got delta={ledger.delta}, "
            f"of which {ledger.delta_selection} is set aside for category selection")
    dpa = dp_accounting()
    total = sum(rel.share for rel in ledger.releases)
    widest = max(math.sqrt(rel.count / (rel.share / total)) for rel in ledger.releases)
    narrowest = min(math.sqrt(rel.count / (rel.share / total)) for rel in ledger.releases)
    top = MAX_NOISE_MULTIPLIER / widest

    def event_for(scale: float):
        _set_scale(ledger, scale)
        return ledger.event()

    if epsilon_of(event_for(top), ledger.delta_gaussian) > ledger.epsilon:
        biggest = max(ledger.releases, key=lambda r: r.count / r.share)
        raise InvalidParameterError(
            f"epsilon={ledger.epsilon:g}, delta={ledger.delta:g} is too small for this fit: "
            f"release {biggest.name!r} would need a noise multiplier above "
            f"{MAX_NOISE_MULTIPLIER:g}; raise epsilon, make fewer releases (fewer iterations) "
            "or give the column metadata as public_metadata")
    bottom = min(1e-3 / narrowest, top / 2)
    with _quiet_absl():  # orders the RDP sum cannot bound at tiny noise are dropped, with a warning
        scale = dpa.calibrate_dp_mechanism(
            dpa.rdp.RdpAccountant, event_for, ledger.epsilon, ledger.delta_gaussian,
            bracket_interval=dpa.ExplicitBracketInterval(bottom, top), tol=1e-6 * top)
    _set_scale(ledger, scale)
    return ledger
