"""The journal of a controller whose state lives in the cluster (`nodewarden run --state cluster`).

Episodes, intents and outcomes go to NodeRemediation objects (`remediations.py`), so the replica that takes
the Lease resumes what the last leader left. What a new leader can rebuild, or does not need, stays in the
local state dir as before: the signal log and Activity Log changes (read again from the cluster and ARM),
node health (the state machine starts again; it only delays a Suspect node), and holds (published as Events
on their node, and kept in the incidents they belong to).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from lightkube import Client

from nodewarden.model.remediation import Episode, EpisodeState, History, JournalEntry, Outcome
from nodewarden.state import database
from nodewarden.state.cluster.remediations import ClusterSteps
from nodewarden.state.journal import HISTORY_LOOKBACK, Journal


class ClusterJournal(Journal):
    """A Journal whose steps are kept in the cluster and the rest in `state_dir`."""

    def __init__(self, path: Path, conn: sqlite3.Connection, remediations: ClusterSteps) -> None:
        super().__init__(path, conn)
        self.remediations = remediations

    @classmethod
    def open_in(cls, state_dir: Path, kube: Client) -> ClusterJournal:
        """The local file as a writer (`database.open_writer`), the steps read from the cluster now."""
        steps = ClusterSteps(kube)
        steps.resync()
        return cls(*database.open_writer(state_dir), remediations=steps)

    def refresh(self) -> None:
        """Read the NodeRemediation objects again (on becoming the leader: the last one wrote them)."""
        self.remediations.resync()

    def expire(self, now: datetime, retention: timedelta) -> int:
        return self.remediations.expire(now, retention)

    def open_episode(self, episode: Episode) -> None:
        self.remediations.open_episode(episode)

    def close_episode(self, episode_id: str, state: EpisodeState, at: datetime, note: str) -> None:
        if not self.remediations.close_episode(episode_id, state, at, note):
            raise LookupError(f"the cluster's record holds no episode {episode_id!r}")

    def intend(self, entry: JournalEntry) -> JournalEntry:
        return self.remediations.intend(entry)

    def record(self, key: str, outcome: Outcome, at: datetime, detail: str = "") -> None:
        if not self.remediations.record(key, outcome, at, detail):
            raise LookupError(f"the cluster's record holds no intent with key {key!r}")

    def pending(self) -> tuple[JournalEntry, ...]:
        return self.remediations.pending()

    def backlog(self) -> int:
        return self.remediations.backlog()

    def entries(self, since: datetime | None = None) -> list[JournalEntry]:
        return self.remediations.entries(since)

    def history(self, now: datetime, lookback: timedelta = HISTORY_LOOKBACK) -> History:
        return self.remediations.history(now, lookback)
