"""Where incidents are kept: a table in the journal's SQLite file (`journal.sqlite3`, WAL) under the state dir.

`nodewarden run` saves the incidents each cycle builds; `nodewarden incidents list|show|report` reads them
while it runs (WAL lets one writer and many readers share the file). The journal owns the file's schema and
migrations; an incident is one row holding its JSON document (`codec`), keyed by id.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from nodewarden.act.journal import FILE_NAME, Journal, JournalError
from nodewarden.incidents import codec
from nodewarden.model.incident import Incident


class IncidentStore:
    """Incidents by id; safe to share between threads (one connection behind a lock). Open with `open()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(path, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL").fetchone()
            self._conn.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            raise JournalError(f"incident store {path}: cannot open: {exc}") from exc

    @classmethod
    def open(cls, state_dir: Path) -> IncidentStore:
        """The store in `state_dir/journal.sqlite3`, creating or migrating the file as the journal does."""
        with Journal.open(state_dir):
            pass  # creates the file, brings its schema up to date, or refuses it with a JournalError
        return cls(state_dir / FILE_NAME)

    def save(self, incident: Incident) -> None:
        """Insert the incident, or replace the one with its id."""
        document = json.dumps(codec.incident_to_dict(incident), sort_keys=True)
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT INTO incidents (id, impact_start, state, document) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET impact_start = excluded.impact_start, state = excluded.state, "
                "document = excluded.document",
                (incident.id, _sortable(incident.impact_start), incident.state.value, document),
            )

    def delete(self, incident_id: str) -> None:
        """Forget an incident (one that grouping merged into another); an unknown id changes nothing."""
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM incidents WHERE id = ?", (incident_id,))

    def get(self, incident_id: str) -> Incident | None:
        with self._lock:
            row = self._conn.execute("SELECT document FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        return None if row is None else codec.incident_from_dict(json.loads(row[0]))

    def list(self) -> builtins.list[Incident]:
        """Every incident, the newest impact first."""
        with self._lock:
            rows = self._conn.execute("SELECT document FROM incidents ORDER BY impact_start DESC, id DESC").fetchall()
        return [codec.incident_from_dict(json.loads(row[0])) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> IncidentStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def _sortable(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds: one fixed width, so text order is time order in SQL."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
