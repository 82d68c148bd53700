"""`Accept: application/json;as=Table`: the server-side columns `kubectl get` prints.

Without it kubectl shows only NAME and AGE (Kubernetes docs, "API concepts", "Receiving resources as
Tables"). Nodes, pods, PodDisruptionBudgets, Deployments, StatefulSets and ReplicaSets get the columns the
real API server serves (`-o wide` adds the priority 1 ones), and so do the storage kinds (StorageClasses,
PersistentVolumes, claims, VolumeAttachments); custom resources get Name, then their CRD's
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


# The columns the API server's table convertor serves for each built-in kind (Kubernetes
# pkg/printers/internalversion/printers.go): priority 1 columns are printed only by `kubectl get -o wide`.
Cell = Callable[[Obj, datetime], Any]
Column = tuple[str, int, str, Cell]  # name, priority, type, cell
NONE = "<none>"


def _age_cell(obj: Obj, now: datetime) -> str:
    return _age(obj, now)


def _node_status(obj: Obj, now: datetime) -> str:
    ready = condition(obj, "Ready")
    status = {"True": "Ready", "False": "NotReady"}.get((ready or {}).get("status", ""), "Unknown")
    if obj.get("spec", {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    return status


def _node_roles(obj: Obj, now: datetime) -> str:
    """kubectl's rule: `node-role.kubernetes.io/<role>` labels, and the value of `kubernetes.io/role`."""
    labels = obj.get("metadata", {}).get("labels") or {}
    roles = {key.split("/", 1)[1] for key in labels if key.startswith("node-role.kubernetes.io/")}
    if labels.get("kubernetes.io/role"):
        roles.add(labels["kubernetes.io/role"])
    return ",".join(sorted(r for r in roles if r)) or NONE


def _node_address(kind: str) -> Cell:
    def cell(obj: Obj, now: datetime) -> str:
        addresses = obj.get("status", {}).get("addresses") or []
        return next((a.get("address", "") for a in addresses if a.get("type") == kind), NONE)

    return cell


def _field(*path: str, default: Any = NONE) -> Cell:
    def cell(obj: Obj, now: datetime) -> Any:
        value: Any = obj
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        return default if value is None else value

    return cell


def _pod_ready(obj: Obj, now: datetime) -> str:
    statuses = obj.get("status", {}).get("containerStatuses") or []
    total = len(obj.get("spec", {}).get("containers") or [])
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _pod_status(obj: Obj, now: datetime) -> str:
    if obj["metadata"].get("deletionTimestamp"):
        return "Terminating"
    status = obj.get("status", {})
    waiting = next(
        (
            s["state"]["waiting"]["reason"]
            for s in status.get("containerStatuses") or []
            if (s.get("state", {}).get("waiting") or {}).get("reason")
        ),
        None,
    )
    return str(waiting or status.get("reason") or status.get("phase") or "Unknown")


_ACCESS_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}


def _access_modes(*path: str) -> Cell:
    def cell(obj: Obj, now: datetime) -> str:
        value: Any = obj
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        return ",".join(_ACCESS_MODES.get(mode, mode) for mode in value or []) or ""

    return cell


def _claim(obj: Obj, now: datetime) -> str:
    ref = obj.get("spec", {}).get("claimRef") or {}
    return f"{ref.get('namespace')}/{ref.get('name')}" if ref.get("name") else ""


def _pod_restarts(obj: Obj, now: datetime) -> int:
    return sum(int(s.get("restartCount") or 0) for s in obj.get("status", {}).get("containerStatuses") or [])


def _replicas_ready(obj: Obj, now: datetime) -> str:
    status = obj.get("status") or {}
    return f"{status.get('readyReplicas') or 0}/{obj.get('spec', {}).get('replicas', 1)}"


def _containers(what: str) -> Cell:
    def cell(obj: Obj, now: datetime) -> str:
        containers = obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []
        return ",".join(str(c.get(what, "")) for c in containers) or NONE

    return cell


def _selector(obj: Obj, now: datetime) -> str:
    selector = obj.get("spec", {}).get("selector") or {}
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        values = ",".join(expression.get("values") or [])
        terms.append(f"{expression.get('key')} {expression.get('operator', '').lower()} ({values})")
    return ",".join(terms) or NONE


def _int_or_percent(key: str) -> Cell:
    def cell(obj: Obj, now: datetime) -> str:
        value = obj.get("spec", {}).get(key)
        return "N/A" if value is None else str(value)

    return cell


_AGE: Column = ("Age", 0, "string", _age_cell)
_COLUMNS: dict[str, list[Column]] = {
    "nodes": [
        ("Status", 0, "string", _node_status),
        ("Roles", 0, "string", _node_roles),
        _AGE,
        ("Version", 0, "string", _field("status", "nodeInfo", "kubeletVersion", default="")),
        ("Internal-IP", 1, "string", _node_address("InternalIP")),
        ("External-IP", 1, "string", _node_address("ExternalIP")),
        ("OS-Image", 1, "string", _field("status", "nodeInfo", "osImage", default="<unknown>")),
        ("Kernel-Version", 1, "string", _field("status", "nodeInfo", "kernelVersion", default="<unknown>")),
        (
            "Container-Runtime",
            1,
            "string",
            _field("status", "nodeInfo", "containerRuntimeVersion", default="<unknown>"),
        ),
    ],
    "pods": [
        ("Ready", 0, "string", _pod_ready),
        ("Status", 0, "string", _pod_status),
        ("Restarts", 0, "integer", _pod_restarts),
        _AGE,
        ("IP", 1, "string", _field("status", "podIP")),
        ("Node", 1, "string", _field("spec", "nodeName")),
        ("Nominated Node", 1, "string", _field("status", "nominatedNodeName")),
        ("Readiness Gates", 1, "string", lambda obj, now: NONE),
    ],
    "storageclasses": [
        ("Provisioner", 0, "string", _field("provisioner", default="")),
        ("ReclaimPolicy", 0, "string", _field("reclaimPolicy", default="Delete")),
        ("VolumeBindingMode", 0, "string", _field("volumeBindingMode", default="Immediate")),
        ("AllowVolumeExpansion", 0, "string", lambda obj, now: str(bool(obj.get("allowVolumeExpansion"))).lower()),
        _AGE,
    ],
    "persistentvolumes": [
        ("Capacity", 0, "string", _field("spec", "capacity", "storage", default="")),
        ("Access Modes", 0, "string", _access_modes("spec", "accessModes")),
        ("Reclaim Policy", 0, "string", _field("spec", "persistentVolumeReclaimPolicy", default="")),
        ("Status", 0, "string", _field("status", "phase", default="")),
        ("Claim", 0, "string", _claim),
        ("StorageClass", 0, "string", _field("spec", "storageClassName", default="")),
        ("VolumeAttributesClass", 0, "string", _field("spec", "volumeAttributesClassName", default="<unset>")),
        ("Reason", 0, "string", _field("status", "reason", default="")),
        _AGE,
        ("VolumeMode", 1, "string", _field("spec", "volumeMode", default="<unset>")),
    ],
    "persistentvolumeclaims": [
        ("Status", 0, "string", _field("status", "phase", default="")),
        ("Volume", 0, "string", _field("spec", "volumeName", default="")),
        ("Capacity", 0, "string", _field("status", "capacity", "storage", default="")),
        ("Access Modes", 0, "string", _access_modes("status", "accessModes")),
        ("StorageClass", 0, "string", _field("spec", "storageClassName", default="")),
        ("VolumeAttributesClass", 0, "string", _field("spec", "volumeAttributesClassName", default="<unset>")),
        _AGE,
        ("VolumeMode", 1, "string", _field("spec", "volumeMode", default="<unset>")),
    ],
    "volumeattachments": [
        ("Attacher", 0, "string", _field("spec", "attacher", default="")),
        ("PV", 0, "string", _field("spec", "source", "persistentVolumeName", default="")),
        ("Node", 0, "string", _field("spec", "nodeName", default="")),
        ("Attached", 0, "boolean", lambda obj, now: bool(obj.get("status", {}).get("attached"))),
        _AGE,
    ],
    "poddisruptionbudgets": [
        ("Min Available", 0, "string", _int_or_percent("minAvailable")),
        ("Max Unavailable", 0, "string", _int_or_percent("maxUnavailable")),
        ("Allowed Disruptions", 0, "integer", _field("status", "disruptionsAllowed", default=0)),
        _AGE,
    ],
    "deployments": [
        ("Ready", 0, "string", _replicas_ready),
        ("Up-to-date", 0, "integer", _field("status", "updatedReplicas", default=0)),
        ("Available", 0, "integer", _field("status", "availableReplicas", default=0)),
        _AGE,
        ("Containers", 1, "string", _containers("name")),
        ("Images", 1, "string", _containers("image")),
        ("Selector", 1, "string", _selector),
    ],
    "statefulsets": [
        ("Ready", 0, "string", _replicas_ready),
        _AGE,
        ("Containers", 1, "string", _containers("name")),
        ("Images", 1, "string", _containers("image")),
    ],
    "replicasets": [
        ("Desired", 0, "integer", _field("spec", "replicas", default=0)),
        ("Current", 0, "integer", _field("status", "replicas", default=0)),
        ("Ready", 0, "integer", _field("status", "readyReplicas", default=0)),
        _AGE,
        ("Containers", 1, "string", _containers("name")),
        ("Images", 1, "string", _containers("image")),
        ("Selector", 1, "string", _selector),
    ],
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
        builtin = _COLUMNS.get(rtype.key, [_AGE])
        columns += [
            {"name": name, "type": kind, "format": "", "description": name, "priority": priority}
            for name, priority, kind, _ in builtin
        ]

        def cells(obj: Obj) -> list[Any]:
            return [cell(obj, now) for _, _, _, cell in builtin]

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
