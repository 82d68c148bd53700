"""`nodewarden demo`: the whole loop — audit, detect, remediate, drill, report — on the twin, in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nodewarden.cli import terminal
from nodewarden.cli.exit_codes import ExitCode
from nodewarden.demo.run import run_demo


def demo_command(
    output: Annotated[
        Path, typer.Option("--output", help="Where the audit, incident and drill reports and the journal go.")
    ] = Path("nodewarden-demo"),
    speed: Annotated[
        float, typer.Option("--speed", min=0, help="Twin seconds per real second (0: as fast as the machine goes).")
    ] = 60.0,
) -> None:
    """Audit a simulated AKS cluster, then crash an instance and lose a zone, and watch nodewarden recover."""
    result = run_demo(output, speed=speed or None, console=terminal.console())
    raise typer.Exit(ExitCode.OK if result.passed else ExitCode.DRILL_FAILED)
