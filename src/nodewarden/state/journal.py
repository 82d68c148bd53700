"""The journal: one object over the state file for the controller, the demo host, plan and readers.

It sits at the end of the flow (`heal (plan) ──► act ──► journal`) and feeds the next plan through
`history()`. It holds the file's one connection behind one lock, so it is safe to share between threads,
and hands each call to the module that owns that record family: `state/steps.py` (episodes, intents and
outcomes, holds), `state/evidence.py` (the signal log, Activity Log changes) and `state/node_health.py`.
Opening is `state/database.py`'s: a writer with `Journal.open`, a reader with `Journal.open_readonly`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType

from nodewarden.model.health import NodeHealth, Signal
from nodewarden.model.incident import ChangeRecord, SignalRecord
from nodewarden.model.remediation import Episode, EpisodeState, History, Hold, JournalEntry, Outcome
from nodewarden.state import database, evidence, node_health, steps

HISTORY_LOOKBACK = timedelta(hours=24)  # closed episodes the planner still sees (rate budgets, quarantine)


class Journal:
    """One SQLite file; safe to share between threads (one connection behind a lock).

    Open a writer with `open()` and a reader with `open_readonly()`."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        self._lock = threading.Lock()
        self._saved_health: dict[str, NodeHealth] | None = None  # what node_health holds, once read or written

    @classmethod
    def open(cls, state_dir: Path) -> Journal:
        """The writer: `state_dir/journal.sqlite3`, created and migrated as needed (`database.open_writer`)."""
        return cls(*database.open_writer(state_dir))

    @classmethod
    def open_readonly(cls, state_dir: Path) -> Journal:
        """A reader: the journal in `state_dir` as it is, never created or migrated (`database.open_reader`)."""
        return cls(*database.open_reader(state_dir))

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """The connection, held under the journal's lock: for the incident store, whose table is in this file."""
        with self._lock:
            yield self._conn

    # -- steps ----------------------------------------------------------------------------------------

    def open_episode(self, episode: Episode) -> None:
        """Journal a new episode; opening one that exists changes nothing."""
        with self._lock:
            steps.open_episode(self._conn, episode)

    def close_episode(self, episode_id: str, state: EpisodeState, at: datetime, note: str) -> None:
        with self._lock:
            if not steps.close_episode(self._conn, episode_id, state, at, note):
                raise LookupError(f"journal {self.path}: no episode {episode_id!r}")

    def expire(self, now: datetime, retention: timedelta) -> int:
        """Forget episodes closed more than `retention` before `now`, with their entries; how many went."""
        with self._lock:
            return steps.expire(self._conn, now - retention)

    def refresh(self) -> None:
        """Read again what another replica may have written: a local file is always read as it is now."""

    def intend(self, entry: JournalEntry) -> JournalEntry:
        """Journal a step before it is sent; a key already journaled returns its row (`steps.intend`)."""
        with self._lock:
            return steps.intend(self._conn, entry)

    def record(self, key: str, outcome: Outcome, at: datetime, detail: str = "") -> None:
        """Journal a step's outcome after the call. The intent's detail is kept; `detail` is added to it."""
        with self._lock:
            if not steps.record(self._conn, key, outcome, at, detail):
                raise LookupError(f"journal {self.path}: no intent with key {key!r}")

    def pending(self) -> tuple[JournalEntry, ...]:
        """Intents without an outcome, oldest first: in progress, or the controller died during the call."""
        with self._lock:
            return steps.pending(self._conn)

    def backlog(self) -> int:
        """How many intents have no outcome (a metric)."""
        with self._lock:
            return steps.backlog(self._conn)

    def entries(self, since: datetime | None = None) -> list[JournalEntry]:
        """Every entry (intended at or after `since`), in journal order."""
        with self._lock:
            return steps.entries(self._conn, since)

    def history(self, now: datetime, lookback: timedelta = HISTORY_LOOKBACK) -> History:
        """What the planner needs (`steps.history`)."""
        with self._lock:
            return steps.history(self._conn, now, lookback)

    def hold(self, hold: Hold, at: datetime) -> bool:
        """Journal a hold; True when it is new, not a repeat within `steps.HOLD_REPEAT`."""
        with self._lock:
            return steps.hold(self._conn, hold, at)

    def holds(self, since: datetime | None = None) -> list[tuple[datetime, Hold]]:
        """Journaled holds (first seen at or after `since`), oldest first, each with the time it was first seen."""
        with self._lock:
            return steps.holds(self._conn, since)

    # -- evidence -------------------------------------------------------------------------------------

    def record_signals(self, signals: Sequence[Signal], now: datetime, *, source: str = "detection") -> None:
        """Log this cycle's signals, one row per fact (`evidence.record_signals`)."""
        with self._lock:
            evidence.record_signals(self._conn, signals, now, source=source)

    def record_signal_records(self, records: Sequence[SignalRecord]) -> None:
        """Log signals that arrive whole (alerts taken in on the listener), with their own first and last seen."""
        with self._lock:
            evidence.record_signal_records(self._conn, records)

    def signal_records(self, since: datetime | None = None) -> list[SignalRecord]:
        """Logged signals (last seen at or after `since`), in the order they began."""
        with self._lock:
            return evidence.signal_records(self._conn, since)

    def record_changes(self, changes: Sequence[ChangeRecord]) -> None:
        """Keep Activity Log changes, each once (`evidence.record_changes`)."""
        with self._lock:
            evidence.record_changes(self._conn, changes)

    def changes(self, since: datetime | None = None) -> list[ChangeRecord]:
        """Kept changes (made at or after `since`), oldest first."""
        with self._lock:
            return evidence.changes(self._conn, since)

    # -- node health ----------------------------------------------------------------------------------

    def save_health(self, health: Mapping[str, NodeHealth], *, now: datetime, reread: bool = False) -> None:
        """Keep this cycle's node health (the leader's, each cycle), writing only what changed. One writer at a
        time saves health (the leader), so what this process saved last is what the file holds, except just
        after it became the writer: `reread` then compares with the file, which another replica may have written
        meanwhile."""
        with self._lock:
            cached = None if reread else self._saved_health
            saved = cached if cached is not None else node_health.stored(self._conn)
            node_health.save(self._conn, health, saved=saved, now=now)
            self._saved_health = dict(health)

    def node_health(self, *, now: datetime) -> dict[str, NodeHealth]:
        """Each node's health as last saved, if saved recently enough (`node_health.fresh`)."""
        with self._lock:
            return node_health.fresh(self._conn, now=now)

    # -- lifetime -------------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
