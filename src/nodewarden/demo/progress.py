"""The live progress of drills: a table redrawn in place on a terminal, one line per change elsewhere."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from nodewarden.drill.runner import Progress


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}s"


class ProgressView:
    """Feed it `update(progress)` after each tick; it shows the latest state of every drill seen."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.latest: dict[str, Progress] = {}
        self._live: Live | None = None
        self._last_line: dict[str, tuple[str, str]] = {}

    def __enter__(self) -> ProgressView:
        if self.console.is_terminal:
            self._live = Live(self.view(), console=self.console, refresh_per_second=8, transient=False)
            self._live.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(kind, error, trace)

    def update(self, progress: Progress) -> None:
        self.latest[progress.drill] = progress
        if self._live is not None:
            self._live.update(self.view())
            return
        key = (progress.phase, progress.note)
        if self._last_line.get(progress.drill) != key:
            self._last_line[progress.drill] = key
            self.console.print(self._line(progress), highlight=False)

    def _line(self, p: Progress) -> str:
        since = f" +{p.since_fault:.0f}s" if p.since_fault is not None else ""
        note = f": {p.note}" if p.note else ""
        return (
            f"[{p.now:%H:%M:%S}]{since} {p.drill} {p.phase}{note} (nodes Ready {p.nodes_ready}/{p.nodes}, "
            f"detected {_seconds(p.detected_after)}, restored {_seconds(p.restored_after)})"
        )

    def view(self) -> Group:
        """The table the terminal shows, sized for 80 columns without breaking a word: the clock in the title,
        two-line headers, names, times and counts never wrapped (only the phase may wrap between its words), and
        each drill's note below the table, where it wraps as prose."""
        latest = list(self.latest.values())
        clock = f" at {max(p.now for p in latest):%H:%M:%S}" if latest else ""
        table = Table(title=f"drills{clock}", title_justify="left")
        table.add_column("DRILL", no_wrap=True)
        table.add_column("PHASE")
        for column in ("SINCE\nFAULT", "DETECTED", "RESTORED", "NODES\nREADY"):
            table.add_column(column, no_wrap=True)
        for p in latest:
            table.add_row(
                p.drill, p.phase, _seconds(p.since_fault), _seconds(p.detected_after), _seconds(p.restored_after),
                f"{p.nodes_ready}/{p.nodes}",
            )  # fmt: skip
        notes = [Text(f"{p.drill}: {p.note}", overflow="fold") for p in latest if p.note]
        return Group(table, *notes)
