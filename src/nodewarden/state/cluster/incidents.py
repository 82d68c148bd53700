"""Incidents as Incident objects (deploy/crds/incidents.yaml): the same contract as the SQLite store
(`state/incidents.py`), kept in the API server so they outlive the replica that grouped them.

`spec.record` holds the incident as `incidents/codec.py` writes it; `spec` also carries the few fields
`kubectl get incidents` shows. An object stays well under etcd's 1.5 MiB request limit: a record over
`RECORD_BUDGET` loses its signals' evidence lines first, then the middle of its longest lists (signals, holds,
changes, actions), and says so in `spec.truncated`. An object that cannot be read is reported once and
skipped by `list()`.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import TracebackType
from typing import Any

from lightkube import Client

from nodewarden.errors import SchemaError
from nodewarden.incidents import codec
from nodewarden.model.incident import Incident
from nodewarden.state.cluster import resources
from nodewarden.state.cluster.resources import ConflictError, IncidentResource
from nodewarden.state.record import RecordWriteError

KIND = "Incident"
PLURAL = "incidents"
RECORD_BUDGET = 512 * 1024  # bytes of JSON: a third of etcd's limit, room for metadata and managedFields
EVIDENCE_KEPT = 3  # evidence lines per signal once a record is over budget
LIST_FLOOR = 20  # a list is never cut below this many items
TRIMMED_LISTS = ("signals", "holds", "changes", "actions")
WRITE_ATTEMPTS = 5


class ClusterIncidents:
    """Incidents by id, one Incident object each."""

    def __init__(self, kube: Client, *, warn: Callable[[str], None] | None = None) -> None:
        self._objects = resources.Objects(kube, IncidentResource, PLURAL)
        self._unreadable = resources.UnreadableReport(warn)

    def save(self, incident: Incident) -> None:
        """Create or replace the incident. A save without a verdict keeps the stored one (a drill's, written
        from another process), as the SQLite store does; a 409 reads the object again and merges again."""
        name = resources.object_name(incident.id)
        for _ in range(WRITE_ATTEMPTS):
            current = self._objects.find(name)
            stored = None if current is None else _readable(current)
            merged = incident
            if incident.verdict is None and stored is not None and stored.verdict is not None:
                merged = replace(incident, drill=stored.drill, verdict=stored.verdict)
            version = str(current["metadata"].get("resourceVersion", "")) if current is not None else ""
            body = to_object(merged, name, version)
            try:
                if current is None:
                    self._objects.create(body)
                else:
                    self._objects.replace(body)
            except ConflictError:
                continue
            return
        raise RecordWriteError(f"{KIND} {name}: still changing after {WRITE_ATTEMPTS} attempts; next cycle saves again")

    def delete(self, incident_id: str) -> None:
        """Forget an incident (merged into another); an unknown id changes nothing."""
        name = resources.object_name(incident_id)
        self._objects.delete(name)

    def get(self, incident_id: str) -> Incident | None:
        current = self._objects.find(resources.object_name(incident_id))
        return None if current is None else _incident(current)

    def list(self) -> builtins.list[Incident]:
        """Every incident that can be read, the newest impact first; one that cannot is reported once."""
        found: builtins.list[Incident] = []
        for obj in self._objects.list():
            try:
                found.append(_incident(obj))
            except SchemaError as exc:
                self._unreadable(obj, str(exc))
        return sorted(found, key=lambda i: (i.impact_start, i.id), reverse=True)

    def close(self) -> None:
        """Nothing to close: the client belongs to the connection."""

    def __enter__(self) -> ClusterIncidents:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def to_object(incident: Incident, name: str, resource_version: str = "") -> dict[str, Any]:
    record, truncated = fit(codec.incident_to_dict(incident))
    metadata: dict[str, Any] = {"name": name, "labels": dict(resources.MANAGED_BY)}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    top = incident.hypotheses[0].cause.value if incident.hypotheses else None
    spec = {
        "id": incident.id,
        "state": incident.state.value,
        "scope": _scope(incident),
        "cause": top,
        "startedAt": codec.time_text(incident.impact_start),
        "resolvedAt": codec.maybe_time_text(incident.resolved_at),
        "truncated": truncated,
        "record": record,
    }
    return {
        "apiVersion": resources.API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": {key: value for key, value in spec.items() if value is not None},
    }


def fit(record: dict[str, Any], budget: int = RECORD_BUDGET) -> tuple[dict[str, Any], bool]:
    """The record within `budget` bytes of JSON, and whether anything was cut."""
    if _size(record) <= budget:
        return record, False
    record = json.loads(json.dumps(record))  # a copy to cut
    for signal in record.get("signals", []):
        if len(signal.get("evidence", [])) > EVIDENCE_KEPT:
            signal["evidence"] = [*signal["evidence"][:EVIDENCE_KEPT], "… (cut to keep the Incident object small)"]
    while _size(record) > budget:
        longest = max(TRIMMED_LISTS, key=lambda key: len(record.get(key, [])))
        items = record.get(longest, [])
        if len(items) <= LIST_FLOOR:
            break
        half = max(LIST_FLOOR, len(items) // 2) // 2
        record[longest] = items[:half] + items[-half:]
    return record, True


def _incident(obj: Mapping[str, Any]) -> Incident:
    name = str((obj.get("metadata") or {}).get("name", "?"))
    spec = obj.get("spec")
    if not isinstance(spec, Mapping) or not isinstance(spec.get("record"), Mapping):
        raise SchemaError(f"{KIND} {name}: spec.record: missing or not an object")
    try:
        return codec.incident_from_dict(spec["record"])
    except SchemaError as exc:
        raise SchemaError(f"{KIND} {name}: spec.record: {exc}") from exc


def _readable(obj: Mapping[str, Any]) -> Incident | None:
    """The stored incident, or None when it cannot be read (this save replaces it with one that can)."""
    try:
        return _incident(obj)
    except SchemaError:
        return None


def _scope(incident: Incident) -> str:
    parts = [f"pool {incident.pool}" if incident.pool else "", f"zone {incident.zone}" if incident.zone else ""]
    return ", ".join(part for part in parts if part) or "cluster"


def _size(record: Mapping[str, Any]) -> int:
    return len(json.dumps(record, separators=(",", ":")).encode())
