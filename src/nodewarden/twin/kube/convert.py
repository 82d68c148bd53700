"""Serving one stored object in several API versions, as the apiserver's conversion does.

Events are stored as core/v1 and served as events.k8s.io/v1 with their fields renamed; other
aliases (policy/v1beta1 PodDisruptionBudgets, autoscaling/v1 HPAs) only change `apiVersion`.
Objects from the store are read-only: these functions build new dicts and never change their input.
"""

from __future__ import annotations

from nodewarden.twin.kube.meta import Obj
from nodewarden.twin.kube.resources import ResourceType

# core/v1 Event field → events.k8s.io/v1 Event field (k8s.io/kubernetes pkg/apis/events/v1/conversion.go).
_EVENT_FIELDS = {
    "involvedObject": "regarding",
    "message": "note",
    "source": "deprecatedSource",
    "firstTimestamp": "deprecatedFirstTimestamp",
    "lastTimestamp": "deprecatedLastTimestamp",
    "count": "deprecatedCount",
    "reportingComponent": "reportingController",
}
_EVENT_FIELDS_BACK = {v: k for k, v in _EVENT_FIELDS.items()}


def to_wire(rtype: ResourceType, obj: Obj) -> Obj:
    """`obj` as the requested version shows it."""
    if rtype.group == "events.k8s.io":
        out = {_EVENT_FIELDS.get(k, k): v for k, v in obj.items()}
    elif obj.get("apiVersion") != rtype.api_version:
        out = dict(obj)
    else:
        return obj
    out["apiVersion"], out["kind"] = rtype.api_version, rtype.kind
    return out


def from_wire(rtype: ResourceType, obj: Obj, storage: ResourceType) -> Obj:
    """A request body in the requested version, as the store keeps it (`storage`: the row the store keeps it as)."""
    renames = _EVENT_FIELDS_BACK if rtype.group == "events.k8s.io" else {}
    out = {renames.get(k, k): v for k, v in obj.items()}
    out["apiVersion"], out["kind"] = storage.api_version, storage.kind
    return out
