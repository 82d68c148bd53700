"""What every incident store offers, whichever backend keeps it: the SQLite table in a state dir
(`state/incidents.py`) or Incident objects in the cluster (`state/cluster/incidents.py`). Both pass
tests/state/test_incidents_contract.py; the steps' record shares the Journal class and
tests/state/test_steps_contract.py."""

from __future__ import annotations

import builtins
from datetime import datetime, timedelta
from typing import Protocol

from nodewarden.errors import NodewardenError
from nodewarden.model.incident import Incident

RETENTION = timedelta(days=30)  # closed episodes and resolved incidents are kept this long (run --retention-days)
EXPIRE_EVERY = timedelta(hours=1)  # how often the controller looks for what to forget


class RecordWriteError(NodewardenError):
    """The record could not be written this cycle: its object kept changing under us, or a person edited it into
    something nodewarden cannot read. Nothing was sent for the step; the next cycle decides again."""


class IncidentRecord(Protocol):
    def save(self, incident: Incident) -> None: ...

    def delete(self, incident_id: str) -> None: ...

    def get(self, incident_id: str) -> Incident | None: ...

    def list(self) -> builtins.list[Incident]: ...

    def close(self) -> None: ...


def expire_incidents(store: IncidentRecord, before: datetime) -> int:
    """Forget incidents resolved before `before` (the retention's start); how many went."""
    gone = [incident for incident in store.list() if incident.resolved_at is not None and incident.resolved_at < before]
    for incident in gone:
        store.delete(incident.id)
    return len(gone)
