"""Where incidents are kept: a table in the state file (`journal.sqlite3`, WAL) under the state dir.

`nodewarden run` saves the incidents each cycle builds; `nodewarden incidents list|show|report` reads them
while it runs, read-only (WAL lets one writer and many readers share the file). `state/database.py` owns the
file's schema and migrations; an incident is one row holding its JSON document (`incidents/codec.py`), keyed
by id.
"""

from __future__ import annotations

import builtins
import json
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from nodewarden.incidents import codec
from nodewarden.model.incident import Incident
from nodewarden.state import columns, database
from nodewarden.state.journal import Journal


class IncidentStore:
    """Incidents by id, on a journal's connection (its table lives in the journal's file).

    `open()` for a writer and `open_readonly()` for a reader each open the file; a process that already has
    the journal open (the controller, the demo host) builds the store on it (`IncidentStore(journal)`), so
    one connection and one lock serve both and the process's own writes never wait on each other."""

    def __init__(self, journal: Journal, *, owns_journal: bool = False) -> None:
        self.journal = journal
        self.path = journal.path
        self._owns_journal = owns_journal

    @classmethod
    def open(cls, state_dir: Path) -> IncidentStore:
        """A writer on `state_dir/journal.sqlite3`, creating or migrating the file as the journal does."""
        return cls(Journal.open(state_dir), owns_journal=True)

    @classmethod
    def open_readonly(cls, state_dir: Path) -> IncidentStore:
        """A reader: never creates or migrates the file (see `Journal.open_readonly`)."""
        return cls(Journal.open_readonly(state_dir), owns_journal=True)

    def save(self, incident: Incident) -> None:
        """Insert the incident, or replace the one with its id.

        A drill's verdict is written by the drill, often from another process, between the controller's read
        of the incidents and its save of what it regrouped; so a save without a verdict keeps the one already
        stored (and the drill's name), read and written in one IMMEDIATE transaction. Only another verdict
        replaces a verdict."""
        with self.journal.connection() as conn, database.immediate(conn):
            if incident.verdict is None:
                row = conn.execute("SELECT document FROM incidents WHERE id = ?", (incident.id,)).fetchone()
                stored = None if row is None else _incident(row[0])
                if stored is not None and stored.verdict is not None:
                    incident = replace(incident, drill=stored.drill, verdict=stored.verdict)
            document = json.dumps(codec.incident_to_dict(incident), sort_keys=True)
            conn.execute(
                "INSERT INTO incidents (id, impact_start, state, document) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET impact_start = excluded.impact_start, state = excluded.state, "
                "document = excluded.document",
                (incident.id, columns.text(incident.impact_start), incident.state.value, document),
            )

    def delete(self, incident_id: str) -> None:
        """Forget an incident (one that grouping merged into another); an unknown id changes nothing."""
        with self.journal.connection() as conn, conn:
            conn.execute("DELETE FROM incidents WHERE id = ?", (incident_id,))

    def get(self, incident_id: str) -> Incident | None:
        with self.journal.connection() as conn:
            row = conn.execute("SELECT document FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        return None if row is None else _incident(row[0])

    def list(self) -> builtins.list[Incident]:
        """Every incident, the newest impact first."""
        with self.journal.connection() as conn:
            rows = conn.execute("SELECT document FROM incidents ORDER BY impact_start DESC, id DESC").fetchall()
        return [_incident(row[0]) for row in rows]

    def close(self) -> None:
        """Close the journal if the store opened it; one it was given stays open for its owner."""
        if self._owns_journal:
            self.journal.close()

    def __enter__(self) -> IncidentStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def _incident(document: str) -> Incident:
    return codec.incident_from_dict(json.loads(document))
