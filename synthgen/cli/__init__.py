"""The ``synthgen`` command line.  JAX is imported only inside commands that need it."""

from __future__ import annotations

from .app import app


def main() -> None:
    app()
