"""Small shared helpers for Kubernetes objects: timestamps, copies, keys, owner references, quantities."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, TypeVar

Obj = dict[str, Any]
T = TypeVar("T")


def rfc3339(moment: datetime) -> str:
    """metav1.Time: whole seconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro(moment: datetime) -> str:
    """metav1.MicroTime (lease renewTime, event eventTime): microseconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def clone(value: T) -> T:
    """Deep copy for JSON-shaped data, several times faster than copy.deepcopy."""
    return _clone(value)  # type: ignore[no-any-return]


def _clone(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {k: _clone(v) for k, v in value.items()}
    if kind is list:
        return [_clone(v) for v in value]
    return value


def name_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def namespace_of(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("namespace") or "")


def labels_of(obj: Obj) -> dict[str, str]:
    labels = obj.get("metadata", {}).get("labels")
    return labels if isinstance(labels, dict) else {}


def controller_of(obj: Obj) -> Obj | None:
    for reference in obj.get("metadata", {}).get("ownerReferences") or []:
        if reference.get("controller"):
            return reference  # type: ignore[no-any-return]
    return None


def owner_reference(owner: Obj, *, controller: bool = True) -> Obj:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")
_SUFFIX = {
    "": 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
}


def quantity(value: Any) -> float:
    """A resource.Quantity ("250m", "1Gi", 2) as a float in base units; unparsable counts as 0."""
    if isinstance(value, (int, float)):
        return float(value)
    match = _QUANTITY.match(str(value).strip())
    if not match or match.group(2) not in _SUFFIX:
        return 0.0
    return float(match.group(1)) * _SUFFIX[match.group(2)]


def condition(obj: Obj, kind: str) -> Obj | None:
    for entry in obj.get("status", {}).get("conditions") or []:
        if entry.get("type") == kind:
            return entry  # type: ignore[no-any-return]
    return None


def set_condition(
    obj: Obj, kind: str, status: str, reason: str, message: str, *, now: str, heartbeat: bool = False
) -> bool:
    """Set a condition in place; lastTransitionTime moves only when the status changes. True if anything changed."""
    conditions = obj.setdefault("status", {}).setdefault("conditions", [])
    for entry in conditions:
        if entry.get("type") == kind:
            before = dict(entry)
            if entry.get("status") != status:
                entry["lastTransitionTime"] = now
            entry.update(status=status, reason=reason, message=message)
            if heartbeat:
                entry["lastHeartbeatTime"] = now
            return bool(entry != before)
    fresh = {"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": now}
    if heartbeat:
        fresh["lastHeartbeatTime"] = now
    conditions.append(fresh)
    return True
