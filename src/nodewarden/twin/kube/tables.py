"""`Accept: application/json;as=Table`: the server-side columns `kubectl get` prints.

Without it kubectl shows only NAME and AGE (Kubernetes docs, "API concepts", "Receiving resources as
Tables"). A few kinds get their familiar columns; the rest get NAME and AGE.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from nodewarden.twin.kube.meta import Obj, condition, parse_time
from nodewarden.twin.kube.resources import ResourceType


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def _age(obj: Obj, now: datetime) -> str:
    created = obj.get("metadata", {}).get("creationTimestamp")
    if not created:
        return "<unknown>"
    seconds = int((now - parse_time(created)).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * 2 or (unit == "m" and seconds >= 120):
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _node_cells(obj: Obj) -> list[Any]:
    ready = condition(obj, "Ready")
    status = {"True": "Ready", "False": "NotReady"}.get((ready or {}).get("status", ""), "Unknown")
    if obj.get("spec", {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    labels = obj.get("metadata", {}).get("labels") or {}
    mode = labels.get("kubernetes.azure.com/mode", "<none>")
    version = obj.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", "")
    return [status, mode, version]


def _pod_cells(obj: Obj) -> list[Any]:
    statuses = obj.get("status", {}).get("containerStatuses") or []
    ready = sum(1 for s in statuses if s.get("ready"))
    total = len(obj.get("spec", {}).get("containers") or [])
    phase = "Terminating" if obj["metadata"].get("deletionTimestamp") else obj.get("status", {}).get("phase", "")
    return [f"{ready}/{total}", phase, obj.get("spec", {}).get("nodeName", "<none>")]


_COLUMNS: dict[str, tuple[list[str], Callable[[Obj], list[Any]]]] = {
    "nodes": (["Status", "Mode", "Version"], _node_cells),
    "pods": (["Ready", "Status", "Node"], _pod_cells),
}


def table(rtype: ResourceType, items: list[Obj], metadata: dict[str, Any], *, now: datetime) -> Obj:
    names, cells = _COLUMNS.get(rtype.key, ([], lambda obj: []))
    columns = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    columns += [{"name": name, "type": "string", "format": "", "description": name, "priority": 0} for name in names]
    columns.append({"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0})
    rows = [
        {
            "cells": [obj["metadata"]["name"], *cells(obj), _age(obj, now)],
            "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]},
        }
        for obj in items
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns,
        "rows": rows,
    }
