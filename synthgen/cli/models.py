"""``synthgen models``: the generators this installation knows, one line each."""

from __future__ import annotations

import typer


def models() -> None:
    """List the generators (built-in and plug-ins) with a one-line description."""
    from ..registry import describe_generators

    table = describe_generators()
    width = max(map(len, table), default=0)
    for name, description in table.items():
        typer.echo(f"{name:<{width}}  {description}")
