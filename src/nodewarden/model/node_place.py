"""Each node's place in the fleet: its pool, zone, image and scale-set instance, read once per Snapshot.

A node's `spec.providerID` names its scale-set instance, its labels its pool, zone and node image
(model/aks.py holds that vocabulary), and its annotations whether nodewarden may touch it. Detection
(detect/inventory.py), the guards and the planner (heal/nodes.py) and the drill (drill/faults.py) all
read the same `NodePlace`: `Snapshot.node_places` builds them once per snapshot, so no stage derives a
node's pool, zone, image or instance a second time, and two stages cannot disagree about them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from nodewarden.model import aks, operator_mark
from nodewarden.model.azure import ScaleSetInstance
from nodewarden.model.kube import Node
from nodewarden.model.operator_mark import OperatorMark

# nodewarden.io/pause=true on a node holds it; on the kube-system Namespace it holds the whole cluster.
PAUSE_ANNOTATION = "nodewarden.io/pause"


@dataclass(frozen=True, slots=True)
class NodePlace:
    """Who a node is and where it sits: what detection, the guards and the planner know of it before any signal."""

    name: str
    pool: str | None
    zone: str | None  # None for a node in a non-zonal pool
    image: str | None  # kubernetes.azure.com/node-image-version
    # "<vmss>/<instanceId>": from the providerID, else the instance whose computer name is the node's name
    # (AKS names the node after it); None when the node maps to no scale-set instance
    instance: str | None
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    paused: bool = False  # nodewarden.io/pause=true on the node
    mark: OperatorMark | None = None  # a person acting on the node through `nodewarden node …`

    def is_labelled(self, label: str) -> bool:
        """The node carries `label` with the value "true" (any case), as an exclusion label is set."""
        return is_true(self.labels.get(label))


def is_true(value: str | None) -> bool:
    """A label or annotation set to "true" (any case)."""
    return (value or "").lower() == "true"


def place_nodes(nodes: Iterable[Node], instances: Iterable[ScaleSetInstance]) -> Mapping[str, NodePlace]:
    """The place of every named node, by name (Snapshot.node_places calls this once per snapshot)."""
    by_computer = instance_keys_by_computer(instances)
    places: dict[str, NodePlace] = {}
    for node in nodes:
        name = node.metadata.name
        if not name:
            continue
        labels = node.metadata.label_map
        instance = aks.key_from_resource_id(node.spec.provider_id) or by_computer.get(name)
        places[name] = NodePlace(
            name=name,
            pool=aks.pool_of(labels),
            zone=aks.zone_of(labels),
            image=labels.get(aks.IMAGE_LABEL),
            instance=instance,
            labels=MappingProxyType(dict(labels)),
            paused=is_true(node.metadata.annotation_map.get(PAUSE_ANNOTATION)),
            mark=operator_mark.mark_of(node),
        )
    return MappingProxyType(places)


def instance_keys_by_computer(instances: Iterable[ScaleSetInstance]) -> dict[str, str]:
    """Instance keys by the computer name in their instance view (the node name AKS gives the VM)."""
    found: dict[str, str] = {}
    for instance in instances:
        key = aks.key_of_instance(instance)
        computer = instance.instance_view.computer_name if instance.instance_view else None
        if key is not None and computer:
            found[computer] = key
    return found
