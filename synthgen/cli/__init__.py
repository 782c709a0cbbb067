"""The ``synthgen`` command line.  JAX is imported only inside commands that need it."""

from __future__ import annotations

import warnings

from .app import app


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """A warning as the command line shows it: ``warning: ...`` on one line."""
    return "warning: " + " ".join(str(message).split()) + "\n"


def main() -> None:
    warnings.formatwarning = _one_line_warning
    app()
