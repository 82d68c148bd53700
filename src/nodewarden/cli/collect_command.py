"""`nodewarden collect --out DIR`: export a live cluster as the files az and kubectl would write."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nodewarden.cli.exit_codes import ExitCode
from nodewarden.cli.live_flags import (
    ConnectionFlags,
    with_connection_flags,
)
from nodewarden.observe import collect as collecting


@with_connection_flags
def collect_command(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the export files into (created if needed).")],
    *,
    flags: ConnectionFlags,
) -> None:
    """Export a live cluster as the az/kubectl JSON files `nodewarden audit DIR` reads."""
    summary = collecting.collect(flags.connect(), out)
    for note in summary.notes:
        print(f"nodewarden: {note}", file=sys.stderr)
    width = max((len(name) for name in summary.counts), default=0)
    for name, count in sorted(summary.counts.items()):
        typer.echo(f"{name:<{width}}  {count:>6}")
    typer.echo(f"wrote {len(summary.counts)} files to {out}")
    raise typer.Exit(ExitCode.OK)
