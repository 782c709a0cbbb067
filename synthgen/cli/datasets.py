"""``synthgen datasets``: the embedded data sets, their size and provenance."""

from __future__ import annotations

import typer


def datasets() -> None:
    """List the embedded data sets (usable as --data NAME) with size, origin and licence."""
    from ..datasets import DEFAULT, list_datasets

    for name, info in list_datasets().items():
        if info["rows"] is None:
            size = "generated on demand"
        else:
            size = f"{info['rows']:,} rows x {info['columns']} columns"
        default = "  [default]" if name == DEFAULT else ""
        typer.echo(f"{name}: {size}, {info['kind']}{default}")
        typer.echo(f"    {info['description']}")
        typer.echo(f"    source: {info['provenance']}")
        typer.echo(f"    licence: {info['licence']}")
