"""Each node as a remediation target: its place in the fleet, its health and every signal about it.

The place (pool, zone, image, instance, labels, pause, an operator's mark) is the Snapshot's `NodePlace`
(model/node_place.py): the same object detection read (detect/inventory.py), built once per snapshot, so
the planner and the guards never derive it again. The target adds what detection concluded about the node.
"""

from __future__ import annotations

from dataclasses import dataclass

from nodewarden.model import aks
from nodewarden.model.azure import ScaleSetInstance
from nodewarden.model.health import Detection, HealthState, NodeHealth, Signal
from nodewarden.model.node_place import PAUSE_ANNOTATION, NodePlace, is_true
from nodewarden.model.remediation import Hold, HoldReason, Step
from nodewarden.model.snapshot import Snapshot

BUSY_HEALTH = frozenset({HealthState.SUSPECT, HealthState.UNHEALTHY})


@dataclass(frozen=True)
class NodeTarget:
    """One node the planner may act on this cycle, with its health and every signal about it."""

    place: NodePlace  # the Snapshot's, shared with detection
    health: NodeHealth | None  # None when the detection did not see the node (a detection of another snapshot)
    signals: tuple[Signal, ...]  # every signal about this node (problems and context)

    @property
    def name(self) -> str:
        return self.place.name

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

    def hold(self, reason: HoldReason, message: str, step: Step | None) -> Hold:
        """A decision not to act on this node, placed in its pool and zone."""
        return Hold(reason, self.name, message, node=self.name, pool=self.place.pool, zone=self.place.zone, step=step)


def read_targets(snapshot: Snapshot, detection: Detection) -> dict[str, NodeTarget]:
    """A target for every node of the snapshot, by name, on its place in `snapshot.node_places`.

    A node only the detection knows (a detection of another snapshot) is gone from this one: it gets no
    target, as it gets none when detection and planning read the same snapshot; the lifecycle
    (heal/lifecycle.py) settles its episode.
    """
    signals: dict[str, list[Signal]] = {}
    for signal in detection.signals:
        if signal.node is not None:
            signals.setdefault(signal.node, []).append(signal)
    return {
        name: _target(place, detection.health.get(name), signals.get(name, []))
        for name, place in sorted(snapshot.node_places.items())
    }


def _target(place: NodePlace, health: NodeHealth | None, signals: list[Signal]) -> NodeTarget:
    own = list(health.signals) if health else []
    return NodeTarget(place=place, health=health, signals=tuple(own + [s for s in signals if s not in own]))


def busy_instances(snapshot: Snapshot) -> frozenset[str]:
    """Instances with an operation running, from the instance view's ProvisioningState (or the model's)."""
    busy: set[str] = set()
    for instance in snapshot.instances:
        key = aks.key_of_instance(instance)
        if key is not None and _is_busy(instance):
            busy.add(key)
    return frozenset(busy)


def _is_busy(instance: ScaleSetInstance) -> bool:
    state = instance.status("ProvisioningState") or instance.provisioning_state
    return aks.is_in_progress(state)


def is_paused_namespace(snapshot: Snapshot) -> bool:
    """nodewarden.io/pause=true on the kube-system Namespace: the cluster-wide pause switch."""
    return any(
        ns.metadata.name == "kube-system" and is_true(ns.metadata.annotation_map.get(PAUSE_ANNOTATION))
        for ns in snapshot.namespaces
    )
