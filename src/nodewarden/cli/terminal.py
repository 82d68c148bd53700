"""The rich console commands print to: the terminal's width, or a wide one in logs and pipes.

Every console here is a `SafeConsole` (`render/terminal_text.py`): text from the cluster reaches the
terminal with its control characters replaced, whichever command prints it.
"""

from __future__ import annotations

from nodewarden.render import terminal_text

WIDE = 140  # columns when not on a terminal, where rich would assume 80 and wrap every table


def console(*, stderr: bool = False) -> terminal_text.SafeConsole:
    probe = terminal_text.SafeConsole(stderr=stderr)
    return probe if probe.is_terminal else terminal_text.SafeConsole(stderr=stderr, width=WIDE)
