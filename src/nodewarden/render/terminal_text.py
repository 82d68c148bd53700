"""Text from the cluster made safe for a terminal: control characters shown as U+FFFD, never sent.

Names, messages and annotations (`nodewarden.io/waive-reason`) are written by whoever can edit the
cluster; an escape sequence in one would recolour, clear or retitle the reader's terminal. rich drops only
BEL, BS, VT, FF and CR from text, so ESC, NUL, C1 controls (0x9b is CSI on many terminals) and the
bidirectional overrides that reorder what a line appears to say are replaced here. U+FFFD is what the HTML
reports show for the same characters (`render/page.py`). Newline and tab are kept: rich lays them out.

`printable` is for plain strings (`typer.echo`, stderr lines); `SafeConsole` applies it to every piece of
text a rich console writes, so a table cell cannot carry a control sequence whichever renderer built it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.console import Console
from rich.segment import Segment

REPLACEMENT = "\ufffd"
# C0 except tab and newline, DEL, C1, and the bidi embeddings, overrides and isolates (Unicode TR9).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every control character a terminal would act on replaced by U+FFFD."""
    return _CONTROL.sub(REPLACEMENT, text)


def is_printable(text: str) -> bool:
    """Whether `text` holds no control character a terminal would act on."""
    return _CONTROL.search(text) is None


class SafeConsole(Console):
    """A rich Console whose written text never holds a control character; its own styles still apply."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        # rich's own control segments (cursor moves of `Live`) are kept; text segments are cleaned.
        return super()._render_buffer(
            segment if segment.control else Segment(printable(segment.text), segment.style, segment.control)
            for segment in buffer
        )
