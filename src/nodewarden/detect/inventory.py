"""Who is who: each node with its pool, zone, image and scale-set instance, read once per cycle.

The node's `spec.providerID` names its scale set and instance id, its labels name the pool, zone and
node image (model/aks.py holds that vocabulary). Detectors read these facts instead of re-parsing the
objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from nodewarden.model import aks
from nodewarden.model.health import NodeHealth, Scope, Signal, SignalKind
from nodewarden.model.kube import Node, NodeCondition
from nodewarden.model.timestamps import parse_time


@dataclass(frozen=True, slots=True)
class NodeFacts:
    """One node as detection sees it, with last cycle's health for continuity."""

    node: Node
    name: str
    pool: str | None
    zone: str | None  # None for a node in a non-zonal pool
    image: str | None
    instance: str | None  # "<vmss>/<instanceId>" from the providerID
    previous: NodeHealth | None
    conditions: tuple[NodeCondition, ...]
    ready_condition: NodeCondition | None  # the first Ready condition

    @property
    def ready(self) -> bool | None:
        """Ready=True now; None when the node reports no Ready condition."""
        return None if self.ready_condition is None else self.ready_condition.status == "True"

    @property
    def ready_since(self) -> datetime | None:
        """When Ready last turned True (its lastTransitionTime), if it is True and the time parses."""
        ready = self.ready_condition
        if ready is None or ready.status != "True":
            return None
        return parse_time(ready.last_transition_time)

    def seen_since(self, kind: SignalKind, condition: str | None, *, now: datetime) -> datetime:
        """When a signal without a time in its evidence began: when we first saw it (last cycle), or now."""
        for signal in self.previous.signals if self.previous else ():
            if signal.kind is kind and signal.condition == condition:
                return signal.since
        return now

    def signal(
        self,
        kind: SignalKind,
        *,
        since: datetime,
        message: str,
        evidence: Iterable[str] = (),
        condition: str | None = None,
        value: float | None = None,
    ) -> Signal:
        """A node-scoped signal with the node's pool, zone, instance and image filled in."""
        return Signal(
            kind=kind,
            scope=Scope.NODE,
            subject=self.name,
            since=since,
            message=message,
            evidence=tuple(evidence),
            node=self.name,
            pool=self.pool,
            zone=self.zone,
            instance=self.instance,
            image=self.image,
            condition=condition,
            value=value,
        )


def node_facts(nodes: Iterable[Node], previous: Mapping[str, NodeHealth]) -> dict[str, NodeFacts]:
    """Facts for every named node, by name."""
    facts: dict[str, NodeFacts] = {}
    for node in nodes:
        name = node.metadata.name
        if not name:
            continue
        labels = node.metadata.label_map
        conditions = tuple((node.status.conditions if node.status else None) or ())
        facts[name] = NodeFacts(
            node=node,
            name=name,
            pool=aks.pool_of(labels),
            zone=aks.zone_of(labels),
            image=labels.get(aks.IMAGE_LABEL),
            instance=aks.key_from_resource_id(node.spec.provider_id),
            previous=previous.get(name),
            conditions=conditions,
            ready_condition=node.ready_condition,
        )
    return facts
