"""Each node as a remediation target: what the planner and the guards know of it, read once per cycle.

Pool, zone, image and instance are what detection recorded in the node's NodeHealth (detect/inventory.py
read them from the labels and the providerID, or matched the instance by computer name); the target adds
what only heal asks about (the labels for exclusion, the pause annotation) and every signal about the node.
"""

from __future__ import annotations

from dataclasses import dataclass

from nodewarden.model import aks
from nodewarden.model.azure import ScaleSetInstance
from nodewarden.model.health import Detection, HealthState, NodeHealth, Signal
from nodewarden.model.kube import Node
from nodewarden.model.snapshot import Snapshot

PAUSE_ANNOTATION = "nodewarden.io/pause"
TRUE = "true"
BUSY_HEALTH = frozenset({HealthState.SUSPECT, HealthState.UNHEALTHY})


@dataclass(frozen=True)
class NodeTarget:
    """One node the planner may act on this cycle, with its health and every signal about it."""

    name: str
    pool: str | None
    zone: str | None
    image: str | None
    instance: str | None  # "<vmss>/<instanceId>", None when the node maps to no scale-set instance
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


def read_targets(snapshot: Snapshot, detection: Detection) -> dict[str, NodeTarget]:
    """A target for every node in the snapshot or in the detection, by name."""
    names = sorted(set(snapshot.nodes_by_name) | set(detection.health))
    signals: dict[str, list[Signal]] = {}
    for signal in detection.signals:
        if signal.node is not None:
            signals.setdefault(signal.node, []).append(signal)
    return {name: _target(name, snapshot.nodes_by_name.get(name), detection, signals.get(name, [])) for name in names}


def _target(name: str, node: Node | None, detection: Detection, signals: list[Signal]) -> NodeTarget:
    health = detection.health.get(name)
    labels = node.metadata.label_map if node else {}
    annotations = node.metadata.annotation_map if node else {}
    own = list(health.signals) if health else []
    merged = tuple(own + [s for s in signals if s not in own])
    if health is not None:
        pool, zone, image, instance = health.pool, health.zone, health.image, health.instance
    else:  # detection sees every node of its snapshot; this one it did not (a detection of another snapshot)
        pool, zone, image = aks.pool_of(labels), aks.zone_of(labels), labels.get(aks.IMAGE_LABEL)
        instance = aks.key_from_resource_id(node.spec.provider_id if node else None)
    return NodeTarget(
        name=name,
        pool=pool,
        zone=zone,
        image=image,
        instance=instance,
        labels=labels,
        paused=annotations.get(PAUSE_ANNOTATION, "").lower() == TRUE,
        health=health,
        signals=merged,
    )


def busy_instances(snapshot: Snapshot) -> frozenset[str]:
    """Instances with an operation running, from the instance view's ProvisioningState (or the model's)."""
    busy: set[str] = set()
    for instance in snapshot.instances:
        key = aks.key_from_resource_id(instance.id)
        if key is not None and _is_busy(instance):
            busy.add(key)
    return frozenset(busy)


def _is_busy(instance: ScaleSetInstance) -> bool:
    state = instance.status("ProvisioningState") or instance.provisioning_state
    return aks.is_in_progress(state)


def is_paused_namespace(snapshot: Snapshot) -> bool:
    """nodewarden.io/pause=true on the kube-system Namespace: the cluster-wide pause switch."""
    return any(
        ns.metadata.name == "kube-system" and ns.metadata.annotation_map.get(PAUSE_ANNOTATION, "").lower() == TRUE
        for ns in snapshot.namespaces
    )
