"""Recognises what each exported document is from its content, not its file name.

Kubernetes objects carry `apiVersion` and `kind`; Azure resources carry an ARM `type`, or failing that
the keys their az command prints. Top-level lists (az's usual output, ARM's `{"value": [...]}` pages,
kubectl's `List`) are opened and each item recognised on its own. A document whose reader already knew
its kind (a live watch cache or ARM read, `Document.kind`) is not guessed at: every item is that kind.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nodewarden.model.inputs import Input
from nodewarden.observe.files import LazyItems
from nodewarden.observe.fold import fold

KUBE_KINDS: dict[str, Input] = {
    "Deployment": Input.WORKLOADS,
    "StatefulSet": Input.WORKLOADS,
    "DaemonSet": Input.DAEMONSETS,
    "Pod": Input.PODS,
    "PodDisruptionBudget": Input.PDBS,
    "HorizontalPodAutoscaler": Input.HPAS,
    "Namespace": Input.NAMESPACES,
    "ResourceQuota": Input.RESOURCE_QUOTAS,
    "LimitRange": Input.LIMIT_RANGES,
    "PriorityClass": Input.PRIORITY_CLASSES,
    "NetworkPolicy": Input.NETWORK_POLICIES,
    "StorageClass": Input.STORAGE_CLASSES,
    "PersistentVolumeClaim": Input.PVCS,
    "PersistentVolume": Input.PERSISTENT_VOLUMES,
    "VolumeAttachment": Input.VOLUME_ATTACHMENTS,
    "Service": Input.SERVICES,
    "EndpointSlice": Input.ENDPOINT_SLICES,
    "Node": Input.NODES,
    "Schedule": Input.VELERO_SCHEDULES,
    "Lease": Input.LEASES,
    "Event": Input.EVENTS,
}

ARM_TYPES: dict[str, Input] = {
    "microsoft.containerservice/managedclusters": Input.CLUSTER,
    "microsoft.containerservice/managedclusters/agentpools": Input.NODEPOOLS,
    "microsoft.containerservice/managedclusters/maintenanceconfigurations": Input.MAINTENANCE,
    "microsoft.compute/virtualmachinescalesets": Input.SCALE_SETS,
    "microsoft.compute/virtualmachinescalesets/virtualmachines": Input.INSTANCES,
    "microsoft.insights/diagnosticsettings": Input.DIAGNOSTICS,
    "microsoft.kubernetesconfiguration/extensions": Input.EXTENSIONS,
    "microsoft.network/virtualnetworks/subnets": Input.SUBNETS,
    "microsoft.resourcehealth/availabilitystatuses": Input.RESOURCE_HEALTH,
}

# Names a file may carry when it holds an empty list (`az … list` printing `[]`, kubectl printing an
# untyped `List`): the one place a file name is used, because the content says nothing. Listed most
# specific first, so `vmss-instances.json` means instances, not scale sets.
_EMPTY_LIST_HINTS: tuple[tuple[str, Input], ...] = (
    ("instance", Input.INSTANCES),
    ("vmss", Input.SCALE_SETS),
    ("scaleset", Input.SCALE_SETS),
    ("nodepool", Input.NODEPOOLS),
    ("agentpool", Input.NODEPOOLS),
    ("maintenance", Input.MAINTENANCE),
    ("maintenanceconfiguration", Input.MAINTENANCE),
    ("diagnostic", Input.DIAGNOSTICS),
    ("diag", Input.DIAGNOSTICS),
    ("diagnosticsetting", Input.DIAGNOSTICS),
    ("extension", Input.EXTENSIONS),
    ("subnet", Input.SUBNETS),
    ("usage", Input.USAGE),
    ("activity", Input.ACTIVITY_LOG),
    ("activitylog", Input.ACTIVITY_LOG),
    ("deployment", Input.WORKLOADS),
    ("deploy", Input.WORKLOADS),
    ("statefulset", Input.WORKLOADS),
    ("sts", Input.WORKLOADS),
    ("workload", Input.WORKLOADS),
    ("daemonset", Input.DAEMONSETS),
    ("ds", Input.DAEMONSETS),
    ("pod", Input.PODS),
    ("pdb", Input.PDBS),
    ("poddisruptionbudget", Input.PDBS),
    ("hpa", Input.HPAS),
    ("horizontalpodautoscaler", Input.HPAS),
    ("namespace", Input.NAMESPACES),
    ("ns", Input.NAMESPACES),
    ("resourcequota", Input.RESOURCE_QUOTAS),
    ("quota", Input.RESOURCE_QUOTAS),
    ("limitrange", Input.LIMIT_RANGES),
    ("priorityclass", Input.PRIORITY_CLASSES),
    ("pc", Input.PRIORITY_CLASSES),
    ("networkpolicy", Input.NETWORK_POLICIES),
    ("networkpolicie", Input.NETWORK_POLICIES),
    ("netpol", Input.NETWORK_POLICIES),
    ("storageclass", Input.STORAGE_CLASSES),
    ("storageclasse", Input.STORAGE_CLASSES),
    ("sc", Input.STORAGE_CLASSES),
    ("pvc", Input.PVCS),
    ("persistentvolumeclaim", Input.PVCS),
    ("volumeattachment", Input.VOLUME_ATTACHMENTS),
    ("persistentvolume", Input.PERSISTENT_VOLUMES),
    ("pv", Input.PERSISTENT_VOLUMES),
    ("service", Input.SERVICES),
    ("svc", Input.SERVICES),
    ("endpointslice", Input.ENDPOINT_SLICES),
    ("node", Input.NODES),
    ("schedule", Input.VELERO_SCHEDULES),
    ("lease", Input.LEASES),
    ("event", Input.EVENTS),
)


KUBE_INPUTS: frozenset[Input] = frozenset(KUBE_KINDS.values())

# The kind name an item of a declared Kubernetes input is given when it carries none; workloads have two
# (Deployment, StatefulSet), so theirs must say which.
_ONLY_KIND_NAME: dict[Input, str] = {
    kind: name for name, kind in KUBE_KINDS.items() if list(KUBE_KINDS.values()).count(kind) == 1
}
WITHOUT_KIND = "object without a kind"


@dataclass(frozen=True, slots=True)
class Item:
    """One recognised object: its kind of input, the data (folded if Azure) and the original."""

    kind: Input
    data: Any
    original: Any
    source: str


class Recognition:
    """Recognises one parsed document item by item, so a large list is never held twice.

    With a declared `kind` every item is taken as that kind, and the kind is present even when the document
    is empty; an item that says it is something else (its own Kubernetes `kind`, or an ARM `type` of another
    input) is skipped and counted in `mismatched` rather than validated as what it is not. Without one, each
    item is recognised by its content. Iterate `items()`; afterwards `present`, `ignored_kinds`,
    `mismatched` and `unrecognised` describe the document.
    """

    def __init__(self, data: Any, *, source: str, kind: Input | None = None) -> None:
        self.data = data
        self.source = source
        self.kind = kind
        self.present: set[Input] = set()
        self.ignored_kinds: dict[str, int] = {}
        self.mismatched: dict[str, int] = {}
        self._known = False

    @property
    def unrecognised(self) -> bool:
        return not (self._known or self.present)

    def items(self) -> Iterator[Item]:
        if self.kind is not None:
            yield from self._declared(self.kind)
            return
        for entry in _entries(self.data, source=self.source, present=self.present):
            if entry is _EMPTY:
                self._known = True
                continue
            if not isinstance(entry, dict):
                continue
            kind_name = entry.get("kind")
            if isinstance(kind_name, str) and "apiVersion" in entry:
                self._known = True
                kind = _kube_kind(entry)
                if kind is None:
                    self.ignored_kinds[kind_name] = self.ignored_kinds.get(kind_name, 0) + 1
                    continue
                self.present.add(kind)
                yield Item(kind, entry, entry, self.source)
                continue
            folded = fold(entry)
            azure_kind = _azure_kind(folded)
            if azure_kind is not None:
                self._known = True
                self.present.add(azure_kind)
                yield Item(azure_kind, folded, entry, self.source)

    def _declared(self, kind: Input) -> Iterator[Item]:
        self.present.add(kind)
        # The envelopes (lists, kubectl's List, ARM pages, IMDS) are opened as usual; what they would tell of
        # the kind is dropped, since the reader said it (a name like "the cluster's pods" is no hint either).
        for entry in _entries(self.data, source=self.source, present=set()):
            if not isinstance(entry, dict):
                continue
            if kind in KUBE_INPUTS:
                item = _declared_kube(entry, kind)
                if isinstance(item, str):
                    self.mismatched[item] = self.mismatched.get(item, 0) + 1
                    continue
                yield Item(kind, item, item, self.source)
                continue
            folded = fold(entry)
            other = _other_azure_kind(entry, folded, kind)
            if other is not None:
                self.mismatched[other] = self.mismatched.get(other, 0) + 1
                continue
            yield Item(kind, folded, entry, self.source)


def _declared_kube(entry: dict[str, Any], kind: Input) -> dict[str, Any] | str:
    """The entry as an object of `kind` (given the kind name if it has none), or what it says it is instead."""
    stated = entry.get("kind")
    if isinstance(stated, str) and stated:
        return entry if KUBE_KINDS.get(stated) is kind else stated
    name = _ONLY_KIND_NAME.get(kind)
    return {**entry, "kind": name} if name is not None else WITHOUT_KIND


def _other_azure_kind(entry: dict[str, Any], folded: dict[str, Any], kind: Input) -> str | None:
    """What an item of a declared Azure input says it is instead: a Kubernetes kind, or the ARM type of
    another input; None when it says nothing against `kind` (ARM_TYPES does not list every type)."""
    stated = entry.get("kind")
    if isinstance(stated, str) and "apiVersion" in entry:
        return stated
    arm_type = folded.get("type")
    if isinstance(arm_type, str) and ARM_TYPES.get(arm_type.lower(), kind) is not kind:
        return arm_type
    return None


_EMPTY: Any = object()


def _entries(data: Any, *, source: str, present: set[Input]) -> Iterator[Any]:
    if isinstance(data, (list, LazyItems)):
        if not data:
            hinted = _hint_from_name(source)  # `az … list` with no results says nothing of its kind
            if hinted is not None:
                present.add(hinted)
            yield _EMPTY
        for item in data:
            yield from _entries(item, source=source, present=present)
        return
    if not isinstance(data, dict):
        return
    kind = data.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(data.get("items"), (list, LazyItems)):
        listed = kind[: -len("List")]
        if listed in KUBE_KINDS:
            present.add(KUBE_KINDS[listed])
        elif not data["items"]:
            hinted = _hint_from_name(source)
            if hinted is not None:
                present.add(hinted)
            yield _EMPTY
        default_kind = listed if listed else None
        api_version = data.get("apiVersion")
        for item in data["items"]:
            if isinstance(item, dict) and default_kind and "kind" not in item:
                item = {**item, "kind": default_kind, "apiVersion": api_version or "v1"}
            yield item
        return
    events = data.get("Events")
    if "DocumentIncarnation" in data and isinstance(events, (list, LazyItems)):  # IMDS Scheduled Events
        present.add(Input.SCHEDULED_EVENTS)
        yield _EMPTY
        yield from events
        return
    value = data.get("value")
    if isinstance(value, (list, LazyItems)) and set(data) <= {"value", "nextLink", "@odata.nextLink"}:
        yield from _entries(value, source=source, present=present)
        return
    yield data


def _kube_kind(entry: dict[str, Any]) -> Input | None:
    kind = entry["kind"]
    if kind == "Schedule" and not str(entry.get("apiVersion", "")).startswith("velero.io/"):
        return None
    return KUBE_KINDS.get(kind)


def _azure_kind(doc: dict[str, Any]) -> Input | None:
    arm_type = doc.get("type")
    if isinstance(arm_type, str) and arm_type.lower() in ARM_TYPES:
        return ARM_TYPES[arm_type.lower()]
    keys = doc.keys()
    if "agentpoolprofiles" in keys or {"kubernetesversion", "noderesourcegroup"} <= keys:
        return Input.CLUSTER
    if "vmsize" in keys and ("mode" in keys or "orchestratorversion" in keys):
        return Input.NODEPOOLS
    if "extensiontype" in keys:
        return Input.EXTENSIONS
    if "maintenancewindow" in keys or "timeinweek" in keys:
        return Input.MAINTENANCE
    if isinstance(doc.get("logs"), list) and "metrics" in keys:
        return Input.DIAGNOSTICS
    if isinstance(doc.get("values"), list) and all(isinstance(v, dict) and "version" in v for v in doc["values"]):
        return Input.VERSIONS
    if {"currentvalue", "limit"} <= keys and isinstance(doc.get("name"), dict):
        return Input.USAGE
    if {"eventid", "eventtype", "notbefore"} <= keys:
        return Input.SCHEDULED_EVENTS
    if "eventtimestamp" in keys and "operationname" in keys:
        return Input.ACTIVITY_LOG
    if "statuses" in keys and keys & {"computername", "platformfaultdomain", "vmagent"}:
        return Input.INSTANCES
    if "virtualmachineprofile" in keys and "upgradepolicy" in keys:
        return Input.SCALE_SETS
    if "addressprefix" in keys or "addressprefixes" in keys:
        return Input.SUBNETS
    return None


def _hint_from_name(source: str) -> Input | None:
    stem = re.split(r"[\\/]", source.split("#", 1)[0])[-1].rsplit(".", 1)[0].lower()
    tokens = {token.rstrip("s") for token in re.split(r"[^a-z0-9]+", stem)} | set(re.split(r"[^a-z0-9]+", stem))
    return next((kind for hint, kind in _EMPTY_LIST_HINTS if hint in tokens), None)
