"""The rich console commands print to: the terminal's width, or a wide one in logs and pipes.

Every console here is a `SafeConsole` (`render/terminal_text.py`): text from the cluster reaches the
terminal with its control characters replaced, whichever command prints it.
"""

from __future__ import annotations

import os

from nodewarden.render import terminal_text

WIDE = 140  # columns when not on a terminal, where rich would assume 80 and wrap every table


def width(*, stderr: bool = False) -> int | None:
    """The columns to draw at: None (rich's own choice) on a terminal or when COLUMNS says, else `WIDE`."""
    if "COLUMNS" in os.environ or terminal_text.SafeConsole(stderr=stderr).is_terminal:
        return None
    return WIDE


def help_width() -> int | None:
    """The columns `--help` is drawn at: typer's TERMINAL_WIDTH when set, else as `width()` for stdout."""
    given = os.environ.get("TERMINAL_WIDTH", "")
    return int(given) if given.isdigit() else width()


def console(*, stderr: bool = False) -> terminal_text.SafeConsole:
    return terminal_text.SafeConsole(stderr=stderr, width=width(stderr=stderr))
