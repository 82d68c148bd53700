"""The Snapshot: everything observed about one cluster at one moment, as plain typed data."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from nodewarden.model.azure import (
    ActivityLogEntry,
    AgentPool,
    AvailabilityStatus,
    Cluster,
    ClusterExtension,
    DiagnosticSetting,
    KubernetesVersions,
    MaintenanceConfiguration,
    ScaleSet,
    ScaleSetInstance,
    ScheduledEvent,
    Subnet,
    Usage,
)
from nodewarden.model.findings import Target
from nodewarden.model.inputs import Input
from nodewarden.model.kube import (
    EndpointSlice,
    HorizontalPodAutoscaler,
    KubeEvent,
    Lease,
    LimitRange,
    Namespace,
    Node,
    PersistentVolume,
    PersistentVolumeClaim,
    Pod,
    PodDisruptionBudget,
    PriorityClass,
    ResourceQuota,
    Service,
    StorageClass,
    VeleroSchedule,
    VolumeAttachment,
    Workload,
)
from nodewarden.model.kube import NetworkPolicy as KubeNetworkPolicy
from nodewarden.model.node_place import NodePlace, place_nodes


@dataclass(frozen=True)
class Snapshot:
    """One cluster's configuration and workloads; `inputs` says which kinds were observed at all.

    A kind missing from `inputs` was not observed, which is different from observed-and-empty: rules
    that need it are reported as not evaluated, never as passing.
    """

    inputs: frozenset[Input] = frozenset()
    cluster: Cluster | None = None
    pools: tuple[AgentPool, ...] = ()
    scale_sets: tuple[ScaleSet, ...] = ()
    instances: tuple[ScaleSetInstance, ...] = ()
    maintenance_configs: tuple[MaintenanceConfiguration, ...] = ()
    diagnostic_settings: tuple[DiagnosticSetting, ...] = ()
    extensions: tuple[ClusterExtension, ...] = ()
    versions: KubernetesVersions | None = None
    subnets: tuple[Subnet, ...] = ()
    usages: tuple[Usage, ...] = ()
    activity_log: tuple[ActivityLogEntry, ...] = ()
    workloads: tuple[Workload, ...] = ()
    daemonsets: tuple[Workload, ...] = ()
    pods: tuple[Pod, ...] = ()
    pdbs: tuple[PodDisruptionBudget, ...] = ()
    hpas: tuple[HorizontalPodAutoscaler, ...] = ()
    namespaces: tuple[Namespace, ...] = ()
    resource_quotas: tuple[ResourceQuota, ...] = ()
    limit_ranges: tuple[LimitRange, ...] = ()
    priority_classes: tuple[PriorityClass, ...] = ()
    network_policies: tuple[KubeNetworkPolicy, ...] = ()
    storage_classes: tuple[StorageClass, ...] = ()
    pvcs: tuple[PersistentVolumeClaim, ...] = ()
    persistent_volumes: tuple[PersistentVolume, ...] = ()
    volume_attachments: tuple[VolumeAttachment, ...] = ()
    services: tuple[Service, ...] = ()
    endpoint_slices: tuple[EndpointSlice, ...] = ()
    nodes: tuple[Node, ...] = ()
    velero_schedules: tuple[VeleroSchedule, ...] = ()
    leases: tuple[Lease, ...] = ()  # node heartbeats, from kube-node-lease
    events: tuple[KubeEvent, ...] = ()
    scheduled_events: tuple[ScheduledEvent, ...] = ()
    availability: tuple[AvailabilityStatus, ...] = ()  # Resource Health, for the instances read (observe/)
    sources: tuple[str, ...] = field(default=())
    # Which input file held each object (by target key), and failing that the first file of each kind.
    origins: Mapping[str, str] = field(default_factory=dict)

    # Lookups derived once per snapshot, so that relating objects (which HPA scales a workload, which
    # PDBs or pods live in a namespace) costs a dict read instead of a scan of every object.

    @cached_property
    def hpas_by_target(self) -> dict[tuple[str, str, str], HorizontalPodAutoscaler]:
        """HPAs by (namespace, scaleTargetRef.kind, scaleTargetRef.name)."""
        index: dict[tuple[str, str, str], HorizontalPodAutoscaler] = {}
        for hpa in self.hpas:
            ref = hpa.spec.scale_target_ref
            index.setdefault((hpa.namespace, ref.kind, ref.name), hpa)
        return index

    @cached_property
    def pdbs_by_namespace(self) -> dict[str, list[PodDisruptionBudget]]:
        return _by_namespace(self.pdbs)

    @cached_property
    def pods_by_namespace(self) -> dict[str, list[Pod]]:
        return _by_namespace(self.pods)

    @cached_property
    def services_by_namespace(self) -> dict[str, list[Service]]:
        return _by_namespace(self.services)

    @cached_property
    def pods_by_node(self) -> dict[str, list[Pod]]:
        index: dict[str, list[Pod]] = {}
        for pod in self.pods:
            if pod.spec.node_name:
                index.setdefault(pod.spec.node_name, []).append(pod)
        return index

    @cached_property
    def pvcs_by_key(self) -> dict[tuple[str, str], PersistentVolumeClaim]:
        """PersistentVolumeClaims by (namespace, name)."""
        return {(pvc.metadata.namespace or "default", pvc.metadata.name): pvc for pvc in self.pvcs}

    @cached_property
    def volumes_by_name(self) -> dict[str, PersistentVolume]:
        return {pv.metadata.name: pv for pv in self.persistent_volumes}

    @cached_property
    def attachments_by_volume(self) -> dict[str, list[VolumeAttachment]]:
        """VolumeAttachments by the PersistentVolume they attach (more than one while a volume moves)."""
        index: dict[str, list[VolumeAttachment]] = {}
        for attachment in self.volume_attachments:
            name = attachment.spec.source.persistent_volume_name
            if name:
                index.setdefault(name, []).append(attachment)
        return index

    @cached_property
    def storage_classes_by_name(self) -> dict[str, StorageClass]:
        return {sc.metadata.name: sc for sc in self.storage_classes}

    @cached_property
    def nodes_by_name(self) -> dict[str, Node]:
        return {node.metadata.name: node for node in self.nodes}

    @cached_property
    def node_places(self) -> Mapping[str, NodePlace]:
        """Every named node's place (pool, zone, image, instance, pause), by name: built once and shared by
        detection, the planner and the drill (model/node_place.py)."""
        return place_nodes(self.nodes, self.instances)

    @cached_property
    def lease_by_node(self) -> dict[str, Lease]:
        """Node heartbeat leases (namespace kube-node-lease), by node name."""
        return {lease.metadata.name: lease for lease in self.leases if lease.metadata.namespace == "kube-node-lease"}

    def has(self, *needed: Input) -> bool:
        return all(kind in self.inputs for kind in needed)

    def missing(self, *needed: Input) -> tuple[Input, ...]:
        return tuple(kind for kind in needed if kind not in self.inputs)

    def origin_of(self, target: Target) -> str | None:
        """The input file a finding about `target` should point at."""
        return self.origins.get(target.key) or self.origins.get(target.kind)

    def pool(self, name: str) -> AgentPool | None:
        """A pool by name, case-insensitively (AKS pool names are lower case)."""
        for pool in self.pools:
            if pool.name.lower() == name.lower():
                return pool
        return None

    def namespace_names(self) -> Iterator[str]:
        """Namespaces named by Namespace objects, or failing that by any namespaced object seen."""
        if self.namespaces:
            yield from (ns.metadata.name for ns in self.namespaces)
            return
        seen: set[str] = set()
        metas = [o.metadata for o in self.workloads] + [o.metadata for o in self.pods]
        metas += [o.metadata for o in self.pvcs] + [o.metadata for o in self.services]
        for meta in metas:
            if meta.namespace and meta.namespace not in seen:
                seen.add(meta.namespace)
                yield meta.namespace


_Namespaced = TypeVar("_Namespaced", Pod, PodDisruptionBudget, Service)


def _by_namespace(objects: Iterable[_Namespaced]) -> dict[str, list[_Namespaced]]:
    index: dict[str, list[_Namespaced]] = {}
    for obj in objects:
        index.setdefault(obj.metadata.namespace or "default", []).append(obj)
    return index


def cluster_target(cluster: Cluster) -> Target:
    return Target(kind="managedCluster", name=cluster.name, resource_id=cluster.id or f"managedCluster/{cluster.name}")


def cluster_level_target(snap: Snapshot) -> Target:
    """The cluster as a finding target even without `az aks show`: named from a pool's resource id if
    one was exported, else a placeholder."""
    if snap.cluster is not None:
        return cluster_target(snap.cluster)
    for pool in snap.pools:
        if pool.id and "/agentpools/" in pool.id.lower():
            cluster_id = pool.id[: pool.id.lower().rindex("/agentpools/")]
            return azure_target("managedCluster", cluster_id.rsplit("/", 1)[-1], cluster_id)
    return azure_target("managedCluster", "cluster", None)


def pool_target(pool: AgentPool, cluster: Cluster | None = None) -> Target:
    resource_id = pool.id
    if resource_id is None and cluster is not None and cluster.id:
        resource_id = f"{cluster.id}/agentPools/{pool.name}"
    return Target(kind="agentPool", name=pool.name, resource_id=resource_id or f"agentPool/{pool.name}")


def scale_set_target(scale_set: ScaleSet) -> Target:
    return Target(
        kind="virtualMachineScaleSet",
        name=scale_set.name,
        resource_id=scale_set.id or f"virtualMachineScaleSet/{scale_set.name}",
    )


def azure_target(kind: str, name: str, resource_id: str | None) -> Target:
    """A target for any other Azure resource (subnet, maintenance configuration, quota)."""
    return Target(kind=kind, name=name, resource_id=resource_id or f"{kind}/{name}")
