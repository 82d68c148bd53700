"""Who is who: each node with its pool, zone, image and scale-set instance, and each instance's key.

AKS names the pieces (design.md, "How a node maps to Azure"): the node's `spec.providerID` names its
scale set and instance id, its labels name the pool, zone and node image; an instance's view names the
computer (= node) name. Detectors read these facts instead of re-parsing the objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from nodewarden.detect.timestamps import parse_time
from nodewarden.model.azure import ScaleSetInstance
from nodewarden.model.health import NodeHealth, Scope, Signal, SignalKind
from nodewarden.model.kube import Node, NodeCondition

POOL_LABEL = "kubernetes.azure.com/agentpool"
ZONE_LABEL = "topology.kubernetes.io/zone"
IMAGE_LABEL = "kubernetes.azure.com/node-image-version"
NON_ZONAL = "0"  # the zone label of a node in a pool without availability zones

_VM = re.compile(r"/virtualMachineScaleSets/([^/]+)/virtualMachines/([^/]+)", re.IGNORECASE)


def instance_key(vmss: str, instance_id: str) -> str:
    """The "<vmss>/<instanceId>" key signals and plans use for an instance (scale-set names are lower-cased)."""
    return f"{vmss.lower()}/{instance_id}"


def key_from_resource_id(resource_id: str | None) -> str | None:
    """The instance key named by a providerID or an instance's ARM resource id."""
    match = _VM.search(resource_id or "")
    return instance_key(match.group(1), match.group(2)) if match else None


def key_of_instance(instance: ScaleSetInstance) -> str | None:
    """An instance's key, from its resource id, else from its name "<vmss>_<instanceId>"."""
    key = key_from_resource_id(instance.id)
    if key is not None:
        return key
    if instance.name and "_" in instance.name:
        vmss, _, number = instance.name.rpartition("_")
        return instance_key(vmss, instance.instance_id or number)
    return None


def vm_name(key: str) -> str:
    """The VM name Scheduled Events list for a scale-set instance: "<vmss>_<instanceId>"."""
    vmss, _, number = key.partition("/")
    return f"{vmss}_{number}"


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
        zone = labels.get(ZONE_LABEL)
        conditions = tuple((node.status.conditions if node.status else None) or ())
        facts[name] = NodeFacts(
            node=node,
            name=name,
            pool=labels.get(POOL_LABEL),
            zone=None if not zone or zone == NON_ZONAL else zone,
            image=labels.get(IMAGE_LABEL),
            instance=key_from_resource_id(node.spec.provider_id),
            previous=previous.get(name),
            conditions=conditions,
            ready_condition=node.ready_condition,
        )
    return facts
