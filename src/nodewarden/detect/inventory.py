"""Who is who: each node with its place in the fleet and what only detection asks about it.

The place (pool, zone, image, scale-set instance) is the Snapshot's `NodePlace` (model/node_place.py),
the same object the planner reads; detection adds last cycle's health and the node's conditions.
Detectors read these facts instead of re-parsing the objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from nodewarden.model.health import NodeHealth, Scope, Signal, SignalKind
from nodewarden.model.kube import Node, NodeCondition
from nodewarden.model.node_place import NodePlace
from nodewarden.model.snapshot import Snapshot
from nodewarden.model.timestamps import parse_time


@dataclass(frozen=True, slots=True)
class NodeFacts:
    """One node as detection sees it, with last cycle's health for continuity."""

    node: Node
    place: NodePlace  # the Snapshot's, shared with the planner
    previous: NodeHealth | None
    conditions: tuple[NodeCondition, ...]
    ready_condition: NodeCondition | None  # the first Ready condition

    @property
    def name(self) -> str:
        return self.place.name

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
        for signal in (*self.previous.signals, *self.previous.evidence) if self.previous else ():
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
        place = self.place
        return Signal(
            kind=kind,
            scope=Scope.NODE,
            subject=place.name,
            since=since,
            message=message,
            evidence=tuple(evidence),
            node=place.name,
            pool=place.pool,
            zone=place.zone,
            instance=place.instance,
            image=place.image,
            condition=condition,
            value=value,
        )


def node_facts(snapshot: Snapshot, previous: Mapping[str, NodeHealth]) -> dict[str, NodeFacts]:
    """Facts for every named node, by name, each on its place in `snapshot.node_places`."""
    places = snapshot.node_places
    facts: dict[str, NodeFacts] = {}
    for node in snapshot.nodes:
        place = places.get(node.metadata.name)
        if place is None:
            continue  # an unnamed node: nothing can refer to it
        facts[place.name] = NodeFacts(
            node=node,
            place=place,
            previous=previous.get(place.name),
            conditions=tuple((node.status.conditions if node.status else None) or ()),
            ready_condition=node.ready_condition,
        )
    return facts
