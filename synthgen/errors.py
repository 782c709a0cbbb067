"""Exceptions raised by synthgen.

Every exception derives from :class:`SynthgenError` and also from the built-in
exception a Python user would expect (``ValueError``, ``TypeError``, ``OSError``),
so ``except ValueError`` keeps working in code that does not know synthgen.
"""

from __future__ import annotations

__all__ = [
    "SynthgenError",
    "InvalidDataError",
    "InvalidParameterError",
    "NotFittedError",
    "ModelFileError",
    "SamplingError",
    "OutputFileError",
]


class SynthgenError(Exception):
    """Base class of every error synthgen raises on purpose."""


class InvalidDataError(SynthgenError, ValueError):
    """The data is unusable: NaN where not allowed, wrong columns, empty input, unseen categories."""


class InvalidParameterError(SynthgenError, ValueError):
    """A hyperparameter or argument has the wrong type or value, or is unknown."""


class NotFittedError(SynthgenError, ValueError, AttributeError):
    """A method that needs a fitted object was called before ``fit``."""


class ModelFileError(SynthgenError, OSError):
    """A model file is missing, damaged, truncated, foreign or of a newer format."""


class SamplingError(SynthgenError, ValueError):
    """Sampling could not produce what was asked (e.g. a rejection sampler below its quota)."""


class OutputFileError(SynthgenError, OSError):
    """An output file cannot be written: its folder is read-only or virtual, the disk is full.

    ``errno`` and ``filename`` are those of the failure (``filename`` the output, not its
    temporary file); the message is one line naming the output.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

