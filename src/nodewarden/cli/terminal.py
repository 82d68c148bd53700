"""The rich console commands print to: the terminal's width, or a wide one in logs and pipes."""

from __future__ import annotations

from rich.console import Console

WIDE = 140  # columns when not on a terminal, where rich would assume 80 and wrap every table


def console(*, stderr: bool = False) -> Console:
    probe = Console(stderr=stderr)
    return probe if probe.is_terminal else Console(stderr=stderr, width=WIDE)
