"""Options that wrap a generator in the rejection sampler: ``--avoid-training``, ``--require`` ..."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from ..errors import InvalidParameterError

AvoidOpt = Annotated[bool, typer.Option(
    "--avoid-training",
    help="Reject samples that fall in the neighbourhood of a training record (privacy); "
         "see docs/sampling.md.")]
RequireOpt = Annotated[Optional[str], typer.Option(
    "--require", metavar="EXPR",
    help="Keep only samples from the region of records with this attribute, e.g. "
         "\"age >= 50\" or \"Amount > 100 and Class == 1\" (the require language in "
         "docs/sampling.md; for registrations: tag, region, office, age, year, release, letters).")]
AlphaOpt = Annotated[Optional[float], typer.Option(
    "--alpha", metavar="A",
    help="Significance level of the rejection threshold (default 0.05): the threshold is the "
         "chi distribution's 1-A quantile.")]
ThresholdOpt = Annotated[Optional[float], typer.Option(
    "--threshold", metavar="D", help="Rejection distance given directly (instead of --alpha).")]
CheckOpt = Annotated[bool, typer.Option(
    "--check-output", help="With --require, also check every decoded sample and drop those that fail.")]


def filter_settings(avoid_training: bool, require: str | None, alpha: float | None,
                    threshold: float | None, check_output: bool) -> dict[str, Any] | None:
    """The rejection sampler's settings, or None when no filtering option was given."""
    if not avoid_training and require is None:
        stray = [name for name, value in (("--alpha", alpha), ("--threshold", threshold),
                                          ("--check-output", check_output)) if value]
        if stray:
            raise InvalidParameterError(
                f"{', '.join(stray)} only apply with --avoid-training or --require"
            )
        return None
    if alpha is not None and threshold is not None:
        raise InvalidParameterError("give --alpha or --threshold, not both")
    if check_output and require is None:
        raise InvalidParameterError("--check-output needs --require")
    settings: dict[str, Any] = {"avoid": "training" if avoid_training else None,
                                "check_output": check_output}
    if require is not None:
        from ..sampling.require import Condition

        Condition(require)  # parse now: a bad expression fails before any fitting
        settings["require"] = require
    if alpha is not None:
        settings["alpha"] = alpha
    if threshold is not None:
        settings["threshold"] = threshold
    return settings


def wrap(gen, settings: dict[str, Any] | None):
    """``gen`` itself, or a rejection sampler around it."""
    if settings is None:
        return gen
    from ..sampling.rejection import RejectionSampler

    return RejectionSampler(gen, **settings)


def report(gen, *, quiet: bool) -> None:
    """One line on stderr with what a rejection sampler saw."""
    summary = getattr(gen, "summary_", None)
    if quiet or not summary:
        return
    from ._common import stderr_console

    stderr_console().print(
        f"rejection sampler ({summary['space']} space): {summary['passed']:,} of "
        f"{summary['candidates']:,} candidates passed ({summary['acceptance_rate']:.1%}), "
        f"{summary['accepted']:,} rows kept; threshold "
        f"{summary['threshold']:.3f}, nearest distance seen {summary['nearest_distance_seen']:.3f}, "
        f"{summary['records_avoided']:,} records avoided",
        highlight=False,
    )
