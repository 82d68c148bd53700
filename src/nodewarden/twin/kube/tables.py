"""`Accept: application/json;as=Table`: the server-side columns `kubectl get` prints.

Without it kubectl shows only NAME and AGE (Kubernetes docs, "API concepts", "Receiving resources as
Tables"). A few kinds get their familiar columns; custom resources get Name, then their CRD's
`additionalPrinterColumns` (apiextensions-apiserver's table convertor: a simple `.a.b.c` jsonPath, a
`date` cell rendered as an age like "5m", a missing value as null, which kubectl prints as <none>);
the rest get NAME and AGE.
"""

from __future__ import annotations

import json
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
    return _since(created, now)


def _since(timestamp: str, now: datetime) -> str:
    seconds = int((now - parse_time(timestamp)).total_seconds())
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


def _json_path(obj: Obj, path: str) -> Any:
    value: Any = obj
    for step in path.strip().lstrip(".").split("."):
        if not isinstance(value, dict) or step not in value:
            return None
        value = value[step]
    return value


def _custom_cell(column: Obj, value: Any, now: datetime) -> Any:
    if value is None:
        return None
    kind = column.get("type", "string")
    if kind == "date":
        try:
            return _since(value, now) if isinstance(value, str) else None
        except ValueError:
            return "<invalid>"
    if kind == "string":
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return value


def _custom_columns(rtype: ResourceType, now: datetime) -> tuple[list[Obj], Callable[[Obj], list[Any]]]:
    assert rtype.custom is not None
    printer = rtype.custom.printer_columns
    columns = [
        {
            "name": column["name"],
            "type": column.get("type", "string"),
            "format": column.get("format", ""),
            "description": column.get("description", ""),
            "priority": column.get("priority", 0),
        }
        for column in printer
    ]

    def cells(obj: Obj) -> list[Any]:
        return [_custom_cell(column, _json_path(obj, column["jsonPath"]), now) for column in printer]

    return columns, cells


def table(rtype: ResourceType, items: list[Obj], metadata: dict[str, Any], *, now: datetime) -> Obj:
    columns = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    if rtype.custom is not None:
        extra, cells = _custom_columns(rtype, now)
        columns += extra
    else:
        names, builtin = _COLUMNS.get(rtype.key, ([], lambda obj: []))
        columns += [{"name": n, "type": "string", "format": "", "description": n, "priority": 0} for n in names]
        columns.append({"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0})

        def cells(obj: Obj) -> list[Any]:
            return [*builtin(obj), _age(obj, now)]

    rows = [
        {
            "cells": [obj["metadata"]["name"], *cells(obj)],
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
