"""What the planner needs to know about each node, read once from the Snapshot and the Detection.

Pool, zone and image come from the node's AKS labels (falling back to what detection recorded); the
instance is `<vmss>/<instanceId>` from `spec.providerID`, matched to the scale-set instance view so
the guards can see an operation already running on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from nodewarden.detect.inventory import key_from_resource_id
from nodewarden.model.azure import ScaleSetInstance
from nodewarden.model.health import Detection, HealthState, NodeHealth, Signal
from nodewarden.model.kube import Node
from nodewarden.model.snapshot import Snapshot

POOL_LABEL = "kubernetes.azure.com/agentpool"
ZONE_LABEL = "topology.kubernetes.io/zone"
IMAGE_LABEL = "kubernetes.azure.com/node-image-version"
PAUSE_ANNOTATION = "nodewarden.io/pause"
TRUE = "true"
# An instance whose provisioning state is one of these has no operation running on it.
SETTLED_STATES = frozenset({"succeeded", "failed", "canceled"})
BUSY_HEALTH = frozenset({HealthState.SUSPECT, HealthState.UNHEALTHY})


@dataclass(frozen=True)
class NodeFacts:
    name: str
    pool: str | None
    zone: str | None
    image: str | None
    instance: str | None  # "<vmss>/<instanceId>", None when the providerID does not map
    labels: dict[str, str]
    paused: bool  # nodewarden.io/pause=true on the node
    health: NodeHealth | None
    signals: tuple[Signal, ...]  # every signal about this node (problems and context)

    @property
    def state(self) -> HealthState | None:
        return self.health.state if self.health else None

    @property
    def problems(self) -> tuple[Signal, ...]:
        return tuple(s for s in self.signals if s.is_problem)

    @property
    def is_healthy(self) -> bool:
        """Ready at the last observation and no problem signal: safe to uncordon."""
        return self.health is not None and self.health.ready is True and not self.problems

    @property
    def is_failing(self) -> bool:
        return self.state in BUSY_HEALTH


def read_nodes(snapshot: Snapshot, detection: Detection) -> dict[str, NodeFacts]:
    """Facts for every node in the snapshot or in the detection, by name."""
    names = sorted(set(snapshot.nodes_by_name) | set(detection.health))
    signals: dict[str, list[Signal]] = {}
    for signal in detection.signals:
        if signal.node is not None:
            signals.setdefault(signal.node, []).append(signal)
    return {name: _facts(name, snapshot.nodes_by_name.get(name), detection, signals.get(name, [])) for name in names}


def _facts(name: str, node: Node | None, detection: Detection, signals: list[Signal]) -> NodeFacts:
    health = detection.health.get(name)
    labels = node.metadata.label_map if node else {}
    annotations = node.metadata.annotation_map if node else {}
    own = list(health.signals) if health else []
    merged = tuple(own + [s for s in signals if s not in own])
    return NodeFacts(
        name=name,
        pool=labels.get(POOL_LABEL) or (health.pool if health else None),
        zone=labels.get(ZONE_LABEL) or (health.zone if health else None),
        image=labels.get(IMAGE_LABEL) or (health.image if health else None),
        # detection already mapped each node to its instance; the providerID is the fallback
        instance=(health.instance if health else None) or key_from_resource_id(node.spec.provider_id if node else None),
        labels=labels,
        paused=annotations.get(PAUSE_ANNOTATION, "").lower() == TRUE,
        health=health,
        signals=merged,
    )


def busy_instances(snapshot: Snapshot) -> frozenset[str]:
    """Instances with an operation running, from the instance view's ProvisioningState (or the model's)."""
    busy: set[str] = set()
    for instance in snapshot.instances:
        key = key_from_resource_id(instance.id)
        if key is not None and _is_busy(instance):
            busy.add(key)
    return frozenset(busy)


def _is_busy(instance: ScaleSetInstance) -> bool:
    state = instance.status("ProvisioningState") or instance.provisioning_state
    return state is not None and state.lower() not in SETTLED_STATES


def is_paused_namespace(snapshot: Snapshot) -> bool:
    """nodewarden.io/pause=true on the kube-system Namespace: the cluster-wide pause switch."""
    return any(
        ns.metadata.name == "kube-system" and ns.metadata.annotation_map.get(PAUSE_ANNOTATION, "").lower() == TRUE
        for ns in snapshot.namespaces
    )
