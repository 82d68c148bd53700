"""What every incident store offers, whichever backend keeps it: the SQLite table in a state dir
(`state/incidents.py`) or Incident objects in the cluster (`state/cluster/incidents.py`). Both pass
tests/state/test_incidents_contract.py; the steps' record shares the Journal class and
tests/state/test_steps_contract.py."""

from __future__ import annotations

import builtins
from typing import Protocol

from nodewarden.model.incident import Incident


class IncidentRecord(Protocol):
    def save(self, incident: Incident) -> None: ...

    def delete(self, incident_id: str) -> None: ...

    def get(self, incident_id: str) -> Incident | None: ...

    def list(self) -> builtins.list[Incident]: ...

    def close(self) -> None: ...
