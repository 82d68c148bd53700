"""Kubernetes objects as nodewarden sees them: the fields the audit reads, nothing more.

The loader validates `kubectl get … -o json` items into these classes; wire names are camelCase and
extra fields are ignored. Label and annotation keys are kept exactly as written (they are case-sensitive).
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic.dataclasses import dataclass

from nodewarden.model.findings import AnnotationWaiver, Target

KUBE = ConfigDict(alias_generator=to_camel, extra="ignore", populate_by_name=True)

WAIVE_ANNOTATION = "nodewarden.io/waive"
WAIVE_REASON_ANNOTATION = "nodewarden.io/waive-reason"
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
# Kubernetes non-graceful node shutdown (GA in 1.28): on a node that is off, this taint lets the pod garbage
# collector force-delete its terminating pods and the attach-detach controller detach their volumes at once.
OUT_OF_SERVICE_TAINT = "node.kubernetes.io/out-of-service"
OUT_OF_SERVICE_VALUE = "nodeshutdown"
OUT_OF_SERVICE_EFFECT = "NoExecute"


@dataclass(frozen=True, slots=True, config=KUBE)
class OwnerReference:
    kind: str = ""
    name: str = ""
    controller: bool | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class ObjectMeta:
    name: str = ""
    namespace: str | None = None
    uid: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    owner_references: list[OwnerReference] | None = None
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None

    @property
    def label_map(self) -> dict[str, str]:
        return self.labels or {}

    @property
    def annotation_map(self) -> dict[str, str]:
        return self.annotations or {}

    def annotation_waiver(self) -> AnnotationWaiver | None:
        """The `nodewarden.io/waive` annotation, if the object carries one."""
        annotations = self.annotation_map
        listed = annotations.get(WAIVE_ANNOTATION)
        if not listed:
            return None
        rules = frozenset(part.strip().upper() for part in listed.split(",") if part.strip())
        reason = (annotations.get(WAIVE_REASON_ANNOTATION) or "").strip() or None
        return AnnotationWaiver(rules=rules, reason=reason)


@dataclass(frozen=True, slots=True, config=KUBE)
class LabelSelectorRequirement:
    key: str
    operator: str
    values: list[str] | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class LabelSelector:
    match_labels: dict[str, str] | None = None
    match_expressions: list[LabelSelectorRequirement] | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class Resources:
    requests: dict[str, Any] | None = None
    limits: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class Container:
    name: str = ""
    image: str | None = None
    resources: Resources | None = None
    readiness_probe: dict[str, Any] | None = None
    liveness_probe: dict[str, Any] | None = None
    startup_probe: dict[str, Any] | None = None
    lifecycle: dict[str, Any] | None = None
    ports: list[dict[str, Any]] | None = None
    # `Always` on an init container makes it a native sidecar (Kubernetes ≥ 1.29): it runs for the pod's life.
    restart_policy: str | None = None

    def request(self, resource: str) -> Any:
        return ((self.resources.requests if self.resources else None) or {}).get(resource)

    def limit(self, resource: str) -> Any:
        return ((self.resources.limits if self.resources else None) or {}).get(resource)

    @property
    def has_pre_stop(self) -> bool:
        return bool((self.lifecycle or {}).get("preStop"))


@dataclass(frozen=True, slots=True, config=KUBE)
class Toleration:
    key: str | None = None
    operator: str | None = None
    value: str | None = None
    effect: str | None = None
    toleration_seconds: int | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class TopologySpreadConstraint:
    topology_key: str = ""
    max_skew: int | None = None
    when_unsatisfiable: str | None = None
    label_selector: LabelSelector | None = None
    min_domains: int | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class PodAffinityTerm:
    topology_key: str = ""
    label_selector: LabelSelector | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class WeightedPodAffinityTerm:
    pod_affinity_term: PodAffinityTerm
    weight: int | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class PodAntiAffinity:
    required_during_scheduling_ignored_during_execution: list[PodAffinityTerm] | None = None
    preferred_during_scheduling_ignored_during_execution: list[WeightedPodAffinityTerm] | None = None

    def terms(self) -> tuple[PodAffinityTerm, ...]:
        """Required and preferred terms alike."""
        required = self.required_during_scheduling_ignored_during_execution or []
        preferred = self.preferred_during_scheduling_ignored_during_execution or []
        return (*required, *(w.pod_affinity_term for w in preferred))


@dataclass(frozen=True, slots=True, config=KUBE)
class Affinity:
    pod_anti_affinity: PodAntiAffinity | None = None
    node_affinity: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class PvcSource:
    claim_name: str = ""


@dataclass(frozen=True, slots=True, config=KUBE)
class Volume:
    name: str = ""
    persistent_volume_claim: PvcSource | None = None
    # a generic ephemeral volume: its PVC is named "<pod>-<volume>" (kubernetes.io/docs, ephemeral volumes)
    ephemeral: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class PodSpec:
    containers: list[Container] = Field(default_factory=list)
    init_containers: list[Container] | None = None
    node_name: str | None = None
    node_selector: dict[str, str] | None = None
    affinity: Affinity | None = None
    topology_spread_constraints: list[TopologySpreadConstraint] | None = None
    tolerations: list[Toleration] | None = None
    priority_class_name: str | None = None
    termination_grace_period_seconds: int | None = None
    volumes: list[Volume] | None = None

    @property
    def spread_constraints(self) -> tuple[TopologySpreadConstraint, ...]:
        return tuple(self.topology_spread_constraints or ())

    @property
    def anti_affinity_terms(self) -> tuple[PodAffinityTerm, ...]:
        if self.affinity and self.affinity.pod_anti_affinity:
            return self.affinity.pod_anti_affinity.terms()
        return ()

    @property
    def toleration_list(self) -> tuple[Toleration, ...]:
        return tuple(self.tolerations or ())


@dataclass(frozen=True, slots=True, config=KUBE)
class PodTemplate:
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: PodSpec = Field(default_factory=PodSpec)


@dataclass(frozen=True, slots=True, config=KUBE)
class PersistentVolumeClaimTemplate:
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class WorkloadSpec:
    replicas: int | None = None
    selector: LabelSelector | None = None
    template: PodTemplate = Field(default_factory=PodTemplate)
    strategy: dict[str, Any] | None = None
    update_strategy: dict[str, Any] | None = None
    volume_claim_templates: list[PersistentVolumeClaimTemplate] | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class Workload:
    """A Deployment, StatefulSet or DaemonSet (`kind` says which)."""

    kind: str
    metadata: ObjectMeta
    spec: WorkloadSpec = Field(default_factory=WorkloadSpec)

    @property
    def namespace(self) -> str:
        return self.metadata.namespace or "default"

    @property
    def pod_spec(self) -> PodSpec:
        return self.spec.template.spec

    @property
    def pod_labels(self) -> dict[str, str]:
        return self.spec.template.metadata.label_map

    @property
    def replicas(self) -> int:
        """Declared replicas; unset means 1, as the API server defaults it."""
        return 1 if self.spec.replicas is None else self.spec.replicas


@dataclass(frozen=True, slots=True, config=KUBE)
class PodCondition:
    type: str = ""
    status: str | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class PodStatus:
    phase: str | None = None
    conditions: list[PodCondition] | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class Pod:
    metadata: ObjectMeta
    spec: PodSpec = Field(default_factory=PodSpec)
    status: PodStatus | None = None

    @property
    def namespace(self) -> str:
        return self.metadata.namespace or "default"

    @property
    def is_mirror(self) -> bool:
        """Static pods appear as mirror pods; the kubelet owns them, not a controller."""
        return MIRROR_POD_ANNOTATION in self.metadata.annotation_map

    @property
    def is_daemonset_pod(self) -> bool:
        """Controlled by a DaemonSet (its controller owner reference), as kubectl drain tells them apart.

        kubectl's drain filter reads `metav1.GetControllerOf(pod)`: an owner reference without
        `controller: true` does not make a pod the DaemonSet's (the DaemonSet would not replace it), so
        such a pod is evicted like any other (kubernetes staging/src/k8s.io/kubectl/pkg/drain/filters.go).
        """
        return any(owner.kind == "DaemonSet" and owner.controller for owner in self.metadata.owner_references or ())

    @property
    def belongs_to_node(self) -> bool:
        """A DaemonSet or mirror pod: part of the node, not of a service it carries. A drain leaves it
        (its DaemonSet would put it straight back; the kubelet owns the static pod behind a mirror)."""
        return self.is_daemonset_pod or self.is_mirror

    @property
    def phase(self) -> str | None:
        return self.status.phase if self.status else None

    @property
    def ready(self) -> bool:
        """Running with condition Ready=True and not being deleted."""
        if self.metadata.deletion_timestamp or self.phase != "Running" or self.status is None:
            return False
        return any(c.type == "Ready" and c.status == "True" for c in self.status.conditions or ())


@dataclass(frozen=True, slots=True, config=KUBE)
class PdbSpec:
    selector: LabelSelector | None = None
    min_available: int | str | None = None
    max_unavailable: int | str | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class PdbStatus:
    disruptions_allowed: int | None = None
    current_healthy: int | None = None
    desired_healthy: int | None = None
    expected_pods: int | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class PodDisruptionBudget:
    metadata: ObjectMeta
    spec: PdbSpec = Field(default_factory=PdbSpec)
    status: PdbStatus | None = None

    @property
    def namespace(self) -> str:
        return self.metadata.namespace or "default"


@dataclass(frozen=True, slots=True, config=KUBE)
class ScaleTargetRef:
    kind: str = ""
    name: str = ""
    api_version: str | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class HpaSpec:
    scale_target_ref: ScaleTargetRef = Field(default_factory=ScaleTargetRef)
    min_replicas: int | None = None
    max_replicas: int | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class HorizontalPodAutoscaler:
    metadata: ObjectMeta
    spec: HpaSpec = Field(default_factory=HpaSpec)

    @property
    def namespace(self) -> str:
        return self.metadata.namespace or "default"

    @property
    def floor(self) -> int:
        """`minReplicas`, which defaults to 1."""
        return 1 if self.spec.min_replicas is None else self.spec.min_replicas


@dataclass(frozen=True, slots=True, config=KUBE)
class Namespace:
    metadata: ObjectMeta


@dataclass(frozen=True, slots=True, config=KUBE)
class ResourceQuota:
    metadata: ObjectMeta
    spec: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class LimitRangeItem:
    type: str = ""
    default: dict[str, Any] | None = None
    default_request: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class LimitRangeSpec:
    limits: list[LimitRangeItem] = Field(default_factory=list)


@dataclass(frozen=True, slots=True, config=KUBE)
class LimitRange:
    metadata: ObjectMeta
    spec: LimitRangeSpec = Field(default_factory=LimitRangeSpec)


@dataclass(frozen=True, slots=True, config=KUBE)
class PriorityClass:
    metadata: ObjectMeta
    value: int = 0
    global_default: bool | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class NetworkPolicySpec:
    pod_selector: LabelSelector | None = None
    policy_types: list[str] | None = None
    ingress: list[dict[str, Any]] | None = None
    egress: list[dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class NetworkPolicy:
    metadata: ObjectMeta
    spec: NetworkPolicySpec = Field(default_factory=NetworkPolicySpec)


@dataclass(frozen=True, slots=True, config=KUBE)
class StorageClass:
    metadata: ObjectMeta
    provisioner: str = ""
    parameters: dict[str, str] | None = None
    volume_binding_mode: str | None = None
    allowed_topologies: list[dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class PvcSpec:
    storage_class_name: str | None = None
    volume_name: str | None = None  # the PersistentVolume it is bound to
    access_modes: list[str] | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class PersistentVolumeClaim:
    metadata: ObjectMeta
    spec: PvcSpec = Field(default_factory=PvcSpec)


@dataclass(frozen=True, slots=True, config=KUBE)
class NodeSelectorRequirement:
    key: str = ""
    operator: str = ""
    values: list[str] | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class NodeSelectorTerm:
    match_expressions: list[NodeSelectorRequirement] | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class NodeSelector:
    node_selector_terms: list[NodeSelectorTerm] | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class VolumeNodeAffinity:
    required: NodeSelector | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class CsiVolumeSource:
    driver: str = ""
    volume_handle: str | None = None
    volume_attributes: dict[str, str] | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class PersistentVolumeSpec:
    access_modes: list[str] | None = None
    storage_class_name: str | None = None
    csi: CsiVolumeSource | None = None
    azure_disk: dict[str, Any] | None = None  # in-tree, before CSI migration
    azure_file: dict[str, Any] | None = None  # in-tree, before CSI migration
    node_affinity: VolumeNodeAffinity | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class PersistentVolume:
    metadata: ObjectMeta
    spec: PersistentVolumeSpec = Field(default_factory=PersistentVolumeSpec)


@dataclass(frozen=True, slots=True, config=KUBE)
class VolumeAttachmentSource:
    persistent_volume_name: str | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class VolumeAttachmentSpec:
    attacher: str = ""
    node_name: str = ""
    source: VolumeAttachmentSource = Field(default_factory=VolumeAttachmentSource)


@dataclass(frozen=True, slots=True, config=KUBE)
class VolumeAttachmentStatus:
    attached: bool | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class VolumeAttachment:
    """A storage.k8s.io/v1 VolumeAttachment: one volume attached (or being attached) to one node."""

    metadata: ObjectMeta
    spec: VolumeAttachmentSpec = Field(default_factory=VolumeAttachmentSpec)
    status: VolumeAttachmentStatus | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class ServiceSpec:
    selector: dict[str, str] | None = None
    type: str | None = None
    cluster_ip: str | None = Field(default=None, alias="clusterIP")  # not the camel-case default, clusterIp


@dataclass(frozen=True, slots=True, config=KUBE)
class Service:
    metadata: ObjectMeta
    spec: ServiceSpec = Field(default_factory=ServiceSpec)


@dataclass(frozen=True, slots=True, config=KUBE)
class EndpointConditions:
    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class Endpoint:
    addresses: list[str] = Field(default_factory=list)
    conditions: EndpointConditions | None = None
    node_name: str | None = None
    zone: str | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class EndpointSlice:
    metadata: ObjectMeta
    endpoints: list[Endpoint] | None = None
    # IPv4 / IPv6 / FQDN: a dual-stack Service has one slice per family listing the same pods.
    address_type: str | None = None

    @property
    def service_name(self) -> str | None:
        return self.metadata.label_map.get("kubernetes.io/service-name")


@dataclass(frozen=True, slots=True, config=KUBE)
class Taint:
    key: str = ""
    value: str | None = None
    effect: str | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class NodeSpec:
    provider_id: str | None = Field(default=None, alias="providerID")
    taints: list[Taint] | None = None
    unschedulable: bool | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class NodeCondition:
    type: str = ""
    status: str | None = None
    reason: str | None = None
    message: str | None = None
    last_heartbeat_time: str | None = None
    last_transition_time: str | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class NodeStatus:
    # Only what nodewarden reads: a node's image list and addresses are most of its size.
    conditions: list[NodeCondition] | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class Node:
    metadata: ObjectMeta
    spec: NodeSpec = Field(default_factory=NodeSpec)
    status: NodeStatus | None = None

    @property
    def ready_condition(self) -> NodeCondition | None:
        """The first Ready condition, as the node controller and detection read it."""
        for condition in (self.status.conditions if self.status else None) or ():
            if condition.type == "Ready":
                return condition
        return None

    @property
    def ready(self) -> bool:
        """Ready=True now (no Ready condition: not Ready)."""
        condition = self.ready_condition
        return condition is not None and condition.status == "True"

    @property
    def cordoned(self) -> bool:
        """spec.unschedulable: cordoned, by nodewarden, a person or AKS."""
        return bool(self.spec.unschedulable)

    @property
    def fenced(self) -> bool:
        """Carries the out-of-service taint (any value or effect: the pod garbage collector reads the key)."""
        return any(taint.key == OUT_OF_SERVICE_TAINT for taint in self.spec.taints or ())


@dataclass(frozen=True, slots=True, config=KUBE)
class VeleroScheduleTemplate:
    included_namespaces: list[str] | None = None
    excluded_namespaces: list[str] | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class VeleroScheduleSpec:
    schedule: str | None = None
    template: VeleroScheduleTemplate = Field(default_factory=VeleroScheduleTemplate)
    paused: bool | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class VeleroSchedule:
    metadata: ObjectMeta
    spec: VeleroScheduleSpec = Field(default_factory=VeleroScheduleSpec)


@dataclass(frozen=True, slots=True, config=KUBE)
class LeaseSpec:
    holder_identity: str | None = None
    lease_duration_seconds: int | None = None
    renew_time: str | None = None
    acquire_time: str | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class Lease:
    """A coordination.k8s.io/v1 Lease: the kubelet's heartbeat in `kube-node-lease`, or a leader lock."""

    metadata: ObjectMeta
    spec: LeaseSpec = Field(default_factory=LeaseSpec)


@dataclass(frozen=True, slots=True, config=KUBE)
class ObjectReference:
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class EventSource:
    component: str | None = None
    host: str | None = None


@dataclass(frozen=True, slots=True, config=KUBE)
class KubeEvent:
    """An Event, from events.k8s.io/v1 or core/v1 (`regarding`/`involvedObject`, `note`/`message`)."""

    metadata: ObjectMeta
    type: str | None = None
    reason: str | None = None
    note: str | None = None
    message: str | None = None
    action: str | None = None
    regarding: ObjectReference | None = None
    involved_object: ObjectReference | None = None
    reporting_controller: str | None = None
    reporting_component: str | None = None
    source: EventSource | None = None
    deprecated_source: EventSource | None = None
    event_time: str | None = None
    last_timestamp: str | None = None
    deprecated_last_timestamp: str | None = None
    first_timestamp: str | None = None

    @property
    def subject(self) -> ObjectReference | None:
        return self.regarding or self.involved_object

    @property
    def text(self) -> str:
        return self.note or self.message or ""

    @property
    def reporter(self) -> str:
        """Who reported it: reportingController, else the (deprecated) source component."""
        source = self.deprecated_source or self.source
        return self.reporting_controller or self.reporting_component or (source.component if source else None) or ""

    @property
    def time(self) -> str | None:
        return (
            self.event_time
            or self.deprecated_last_timestamp
            or self.last_timestamp
            or self.first_timestamp
            or self.metadata.creation_timestamp
        )


def target_of(kind: str, meta: ObjectMeta) -> Target:
    """The finding target for a Kubernetes object, carrying its waiver annotation."""
    return Target(
        kind=kind,
        name=meta.name,
        namespace=meta.namespace,
        annotation_waiver=meta.annotation_waiver(),
    )
