"""Capacity classes: where the pods of dead nodes can go, and how much of each class is back (issue 15).

When nodes go down (NotReady, Unknown, or gone from the cluster), each workload pod on them (not a
DaemonSet or mirror pod: those are part of the node) falls in exactly one class:

- **zone-pinned**: one of its volumes is an Azure Disk that is not zone-redundant (its PersistentVolume's
  node affinity names zones, and its SKU does not end in `_ZRS`) and every zone it may attach in is down. It
  cannot start anywhere until its zone returns; fencing does not help.
- **unknown**: one of its claims cannot be followed to a PersistentVolume in the snapshot (the claim or the
  volume was not observed, or the claim is unbound). Reported as such, never guessed.
- **held**: it could run elsewhere, but not before its node is fenced (the out-of-service taint,
  `OUT_OF_SERVICE_TAINT`) or comes back, because either
  - it mounts an Azure Disk (single-attach: ReadWriteOnce) that stays attached to the dead node until the
    attach-detach controller's 6-minute force-detach or the taint, and the disk is zone-portable or its zone
    is up; or
  - it is a StatefulSet pod: the StatefulSet controller creates no replacement for an ordinal until the old
    pod is deleted, and a dead kubelet never confirms it (its pod stays Terminating).
- **movable**: anything else, and every pod of a fenced node that is not zone-pinned: no volume, or volumes
  that are zone-portable and not single-attach (Azure Files `file.csi.azure.com`, a volume without zone node
  affinity), on a Deployment (its ReplicaSet replaces a pod as soon as it is evicted).

Precedence when a pod has several volumes: zone-pinned, then unknown, then held, then movable.

Restored capacity, per class (`restored`): each workload (Deployment or StatefulSet) whose pods were
classified is counted in the class of its most stuck pod (zone-pinned > unknown > held > movable). The
class's restored share is Σ min(ready, replicas) / Σ replicas over its workloads, with ready and replicas
counted as the drill counts them (drill/steady.py `workload_replicas`, keyed "Kind/namespace/name"); 1.0
for a class with no workload. "Movable restored at t" is the first t at which the share of the movable
class, classified when the fault began, is 1.0. Bare pods (no workload) are listed but not in the share.

Pure: a Snapshot and the down nodes and zones in, a report out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from nodewarden.model import selectors
from nodewarden.model.kube import PersistentVolume, Pod, Workload
from nodewarden.model.snapshot import Snapshot

DISK_DRIVER = "disk.csi.azure.com"
FILE_DRIVER = "file.csi.azure.com"
ZRS_SUFFIX = "_zrs"  # Premium_ZRS, StandardSSD_ZRS: zone-redundant, attachable in every zone of the region
# Node-affinity keys a PersistentVolume is pinned to a zone with (the CSI driver's own, and the well-known ones).
ZONE_KEYS = frozenset(
    {"topology.disk.csi.azure.com/zone", "topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"}
)
SHARED_MODES = frozenset({"ReadWriteMany", "ReadOnlyMany"})  # a shared disk (maxShares) attaches to several nodes
_FINISHED = frozenset({"Succeeded", "Failed"})  # a completed pod holds no capacity


class CapacityClass(StrEnum):
    MOVABLE = "movable"
    HELD = "held"
    ZONE_PINNED = "zone-pinned"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        """How stuck: a workload is counted in the class of its most stuck pod."""
        return _RANK[self]


_RANK = {CapacityClass.MOVABLE: 0, CapacityClass.HELD: 1, CapacityClass.UNKNOWN: 2, CapacityClass.ZONE_PINNED: 3}


@dataclass(frozen=True)
class ClassifiedPod:
    """One pod of a down node, its class and why (one line)."""

    namespace: str
    name: str
    node: str
    capacity: CapacityClass
    why: str
    workload: str | None = None  # "Kind/namespace/name", as drill/steady.py keys workloads

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class CapacityReport:
    """Every workload pod of the down nodes, classified."""

    pods: tuple[ClassifiedPod, ...] = ()

    def of(self, capacity: CapacityClass) -> tuple[ClassifiedPod, ...]:
        return tuple(pod for pod in self.pods if pod.capacity is capacity)

    def on(self, node: str) -> tuple[ClassifiedPod, ...]:
        return tuple(pod for pod in self.pods if pod.node == node)

    def replicas(self, capacity: CapacityClass) -> int:
        """Pods (replicas) in the class."""
        return len(self.of(capacity))

    def workloads(self, capacity: CapacityClass) -> frozenset[str]:
        """The workloads counted in the class: those whose most stuck classified pod is in it."""
        worst: dict[str, CapacityClass] = {}
        for pod in self.pods:
            if pod.workload is not None:
                known = worst.get(pod.workload)
                if known is None or pod.capacity.rank > known.rank:
                    worst[pod.workload] = pod.capacity
        return frozenset(key for key, found in worst.items() if found is capacity)

    def restored(self, capacity: CapacityClass, replicas: Mapping[str, tuple[int, int]]) -> float:
        """The class's restored share: Σ min(ready, replicas) / Σ replicas over its workloads (see the module
        docstring); `replicas` is drill/steady.py `workload_replicas` of a later snapshot. A workload missing
        from it (deleted since) is not counted."""
        counts = [replicas[key] for key in self.workloads(capacity) if key in replicas]
        wanted = sum(total for _, total in counts)
        if wanted == 0:
            return 1.0
        return sum(min(ready, total) for ready, total in counts) / wanted


def down_nodes(snapshot: Snapshot) -> frozenset[str]:
    """Nodes that are not Ready (NotReady, Unknown, no Ready condition), and nodes pods are bound to that are
    gone from the snapshot (only when the node list was observed at all)."""
    down = {node.metadata.name for node in snapshot.nodes if not node.ready}
    if snapshot.nodes:
        present = snapshot.nodes_by_name
        down |= {name for name in snapshot.pods_by_node if name not in present}
    return frozenset(down)


def classify(
    snapshot: Snapshot, *, down: Collection[str], zones_down: Collection[str] = (), fenced: Collection[str] = ()
) -> CapacityReport:
    """Each workload pod on a `down` node, classified (see the module docstring). `zones_down`: availability zones
    that are out ("eastus-1"); `fenced`: down nodes that carry the out-of-service taint (`Node.fenced`)."""
    pods: list[ClassifiedPod] = []
    for node in sorted(down):
        for pod in snapshot.pods_by_node.get(node, ()):
            if pod.belongs_to_node or pod.phase in _FINISHED:
                continue
            capacity, why = _classify(snapshot, pod, zones_down=zones_down, fenced=node in fenced)
            pods.append(
                ClassifiedPod(
                    pod.namespace, pod.metadata.name, node, capacity, why, workload=_workload_of(snapshot, pod)
                )
            )
    return CapacityReport(tuple(pods))


@dataclass(frozen=True)
class _Volume:
    """What the classes need to know of one claim's volume."""

    claim: str
    pv: PersistentVolume | None  # None: not observed (`missing` says what)
    missing: str = ""

    @property
    def driver(self) -> str:
        spec = self.pv.spec if self.pv else None
        if spec is None:
            return ""
        if spec.csi is not None:
            return spec.csi.driver
        if spec.azure_disk is not None:
            return DISK_DRIVER  # in-tree azureDisk, migrated to the CSI driver
        if spec.azure_file is not None:
            return FILE_DRIVER
        return ""

    def sku(self, snapshot: Snapshot) -> str:
        """The disk SKU (`skuName`, any case) from the volume's attributes, else from its StorageClass."""
        spec = self.pv.spec if self.pv else None
        attributes = (spec.csi.volume_attributes if spec and spec.csi else None) or {}
        found = _folded(attributes).get("skuname") or _folded(attributes).get("storageaccounttype")
        if found is None and spec is not None and spec.azure_disk is not None:
            found = _folded(spec.azure_disk).get("storageaccounttype")
        if found is None and spec is not None and spec.storage_class_name:
            storage_class = snapshot.storage_classes_by_name.get(spec.storage_class_name)
            params = (storage_class.parameters if storage_class else None) or {}
            found = _folded(params).get("skuname") or _folded(params).get("storageaccounttype")
        return (found or "").lower()

    @property
    def zones(self) -> frozenset[str]:
        """The zones the volume's node affinity allows; empty: not pinned to a zone."""
        affinity = self.pv.spec.node_affinity if self.pv else None
        terms = (affinity.required.node_selector_terms if affinity and affinity.required else None) or ()
        zones: set[str] = set()
        for term in terms:
            for requirement in term.match_expressions or ():
                if requirement.key in ZONE_KEYS and requirement.operator == "In":
                    zones |= set(requirement.values or ())
        return frozenset(zones)

    @property
    def shared(self) -> bool:
        modes = set((self.pv.spec.access_modes if self.pv else None) or ())
        return bool(modes & SHARED_MODES)


def _classify(snapshot: Snapshot, pod: Pod, *, zones_down: Collection[str], fenced: bool) -> tuple[CapacityClass, str]:
    volumes = list(_volumes(snapshot, pod))
    for volume in volumes:
        if volume.pv is None:
            continue
        zones = volume.zones
        portable = volume.driver != DISK_DRIVER or volume.sku(snapshot).endswith(ZRS_SUFFIX) or not zones
        if not portable and zones <= set(zones_down):
            name = volume.pv.metadata.name
            return CapacityClass.ZONE_PINNED, f"LRS Azure Disk {name} (claim {volume.claim}) lives in zone " + (
                f"{', '.join(sorted(zones))}, which is down"
            )
    unknown = next((volume for volume in volumes if volume.pv is None), None)
    if unknown is not None:
        return CapacityClass.UNKNOWN, unknown.missing
    if fenced:
        return CapacityClass.MOVABLE, "its node is fenced: the pod is released and its volumes detach"
    disk = next((v for v in volumes if v.driver == DISK_DRIVER and not v.shared), None)
    if disk is not None and disk.pv is not None:
        attached = _attached_to(snapshot, disk.pv.metadata.name, pod.spec.node_name or "")
        return CapacityClass.HELD, (
            f"Azure Disk {disk.pv.metadata.name} (claim {disk.claim}) stays {attached} the dead node until it is "
            "fenced or the 6-minute force-detach"
        )
    if _is_stateful(pod):
        return CapacityClass.HELD, "StatefulSet pod: no replacement until the dead node is fenced or returns"
    if not volumes:
        return CapacityClass.MOVABLE, "no persistent volume"
    return CapacityClass.MOVABLE, "its volumes are zone-portable and attach to any node"


def _volumes(snapshot: Snapshot, pod: Pod) -> Iterator[_Volume]:
    """Each claim the pod mounts, followed to its PersistentVolume, or saying what could not be observed."""
    for volume in pod.spec.volumes or ():
        if volume.persistent_volume_claim is not None:
            claim = volume.persistent_volume_claim.claim_name
        elif volume.ephemeral is not None:
            claim = f"{pod.metadata.name}-{volume.name}"
        else:
            continue
        yield _follow(snapshot, pod.namespace, claim)


def _follow(snapshot: Snapshot, namespace: str, claim: str) -> _Volume:
    ref = f"{namespace}/{claim}"
    pvc = snapshot.pvcs_by_key.get((namespace, claim))
    if pvc is None:
        return _Volume(ref, None, f"claim {ref} was not observed: its storage is unknown")
    name = pvc.spec.volume_name
    if not name:
        return _Volume(ref, None, f"claim {ref} is not bound to a volume: its storage is unknown")
    pv = snapshot.volumes_by_name.get(name)
    if pv is None:
        return _Volume(ref, None, f"volume {name} of claim {ref} was not observed: its storage is unknown")
    return _Volume(ref, pv)


def _attached_to(snapshot: Snapshot, volume: str, node: str) -> str:
    attachments = snapshot.attachments_by_volume.get(volume, [])
    if any(a.spec.node_name == node and (a.status is None or a.status.attached is not False) for a in attachments):
        return "attached to"
    return "bound to"


def _is_stateful(pod: Pod) -> bool:
    return any(owner.kind == "StatefulSet" and owner.controller for owner in pod.metadata.owner_references or ())


def _workload_of(snapshot: Snapshot, pod: Pod) -> str | None:
    """The Deployment or StatefulSet that runs the pod: its controller owner (a StatefulSet, or a ReplicaSet named
    "<deployment>-<hash>") among the workloads whose selector matches the pod."""
    owner = next((o for o in pod.metadata.owner_references or () if o.controller), None)
    if owner is None:
        return None
    for workload in _candidates(snapshot, pod):
        name = workload.metadata.name
        if (workload.kind == "StatefulSet" and owner.kind == "StatefulSet" and owner.name == name) or (
            workload.kind == "Deployment" and owner.kind == "ReplicaSet" and owner.name.startswith(f"{name}-")
        ):
            return f"{workload.kind}/{workload.namespace}/{name}"
    return None


def _candidates(snapshot: Snapshot, pod: Pod) -> Iterator[Workload]:
    labels = pod.metadata.label_map
    for workload in snapshot.workloads:
        if workload.namespace == pod.namespace and selectors.matches(workload.spec.selector, labels):
            yield workload


def _folded(mapping: Mapping[str, object]) -> dict[str, str]:
    return {key.lower(): str(value) for key, value in mapping.items()}
