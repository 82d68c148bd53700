"""A node's place in the fleet (model/node_place.py): built once per Snapshot, shared by detection and the planner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nodewarden.detect import inventory
from nodewarden.detect.engine import detect
from nodewarden.detect.settings import DetectSettings
from nodewarden.heal import nodes, planner
from nodewarden.heal.policy import default_policy
from nodewarden.model import node_place, operator_mark
from nodewarden.model import snapshot as snapshot_module
from nodewarden.model.azure import InstanceView, ScaleSetInstance
from nodewarden.model.kube import Node, NodeSpec, ObjectMeta
from nodewarden.model.node_place import NodePlace
from nodewarden.model.remediation import History
from nodewarden.model.snapshot import Snapshot

NOW = datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC)
VMSS = "aks-apps-84805669-vmss"
PROVIDER_ID = (
    "azure:///subscriptions/sub-1/resourceGroups/MC_rg_aks_eastus/providers/Microsoft.Compute"
    f"/virtualMachineScaleSets/{VMSS.upper()}/virtualMachines/3"
)
AVAILABILITY_SET_ID = (
    "azure:///subscriptions/sub-1/resourceGroups/MC_rg_aks_eastus/providers/Microsoft.Compute"
    "/virtualMachines/aks-apps-84805669-0"
)
LABELS = {
    "kubernetes.azure.com/agentpool": "apps",
    "topology.kubernetes.io/zone": "eastus-2",
    "kubernetes.azure.com/node-image-version": "AKSUbuntu-2204gen2containerd-202611.01.0",
}


def node(
    name: str = f"{VMSS}000003",
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    provider_id: str | None = PROVIDER_ID,
) -> Node:
    return Node(
        metadata=ObjectMeta(name=name, labels=LABELS if labels is None else labels, annotations=annotations),
        spec=NodeSpec(providerID=provider_id),
    )


def vm(instance_id: int, *, computer: str | None) -> ScaleSetInstance:
    """A scale-set VM known by its name only (no resource id), as some exports list them."""
    return ScaleSetInstance(
        instance_id=str(instance_id),
        name=f"{VMSS}_{instance_id}",
        instance_view=InstanceView(computer_name=computer),
    )


def place(n: Node, *instances: ScaleSetInstance) -> NodePlace:
    return Snapshot(nodes=(n,), instances=instances).node_places[n.metadata.name]


def test_a_zonal_node_is_placed_from_its_labels_and_provider_id() -> None:
    found = place(node())
    assert (found.name, found.pool, found.zone, found.image, found.instance) == (
        f"{VMSS}000003",
        "apps",
        "eastus-2",
        "AKSUbuntu-2204gen2containerd-202611.01.0",
        f"{VMSS}/3",  # scale-set names are lower-cased in instance keys
    )
    assert dict(found.labels) == LABELS
    assert (found.paused, found.mark) == (False, None)


@pytest.mark.parametrize(
    ("desc", "labels", "pool", "zone"),
    [
        ("a pool without zones labels its nodes zone 0", {**LABELS, "topology.kubernetes.io/zone": "0"}, "apps", None),
        ("no zone label", {"kubernetes.azure.com/agentpool": "apps"}, "apps", None),
        ("an older cluster has only the legacy pool label", {"agentpool": "sys"}, "sys", None),
        ("no labels at all", {}, None, None),
    ],
)
def test_a_node_outside_any_zone_is_placed_in_none(
    desc: str, labels: dict[str, str], pool: str | None, zone: str | None
) -> None:
    found = place(node(labels=labels))
    assert (found.pool, found.zone) == (pool, zone), desc


@pytest.mark.parametrize(
    ("desc", "provider_id", "instances", "instance"),
    [
        ("no providerID and no VM named after the node", None, (vm(3, computer="someone-else"),), None),
        ("no providerID: the VM named after the node", None, (vm(3, computer=f"{VMSS}000003"),), f"{VMSS}/3"),
        ("an availability-set VM is no scale-set instance", AVAILABILITY_SET_ID, (), None),
        ("the providerID wins over a computer name", PROVIDER_ID, (vm(7, computer=f"{VMSS}000003"),), f"{VMSS}/3"),
    ],
)  # fmt: skip
def test_the_instance_comes_from_the_provider_id_else_the_vm_named_after_the_node(
    desc: str, provider_id: str | None, instances: tuple[ScaleSetInstance, ...], instance: str | None
) -> None:
    assert place(node(provider_id=provider_id), *instances).instance == instance, desc


@pytest.mark.parametrize(
    ("desc", "value", "paused"),
    [("true", "true", True), ("any case", "True", True), ("false", "false", False), ("anything else", "yes", False)],
)
def test_a_node_is_paused_by_its_annotation_set_to_true(desc: str, value: str, paused: bool) -> None:
    assert place(node(annotations={node_place.PAUSE_ANNOTATION: value})).paused is paused, desc


def test_the_place_carries_the_operators_mark_and_exclusion_labels() -> None:
    mark = operator_mark.OperatorMark("Restart", "alice", "kernel", NOW, NOW + timedelta(minutes=20), "corr-1")
    found = place(
        node(
            labels={**LABELS, "nodewarden.io/exclude": "TRUE"},
            annotations={operator_mark.ANNOTATION: operator_mark.to_annotation(mark)},
        )
    )
    assert found.mark == mark
    assert found.is_labelled("nodewarden.io/exclude")
    assert not found.is_labelled("nodewarden.io/other")


def test_an_unnamed_node_has_no_place() -> None:
    assert dict(Snapshot(nodes=(node(name=""),)).node_places) == {}


def test_places_are_built_once_per_snapshot() -> None:
    snapshot = Snapshot(nodes=(node(),))
    assert snapshot.node_places is snapshot.node_places


def test_detection_and_the_planner_share_one_place_per_node(monkeypatch: pytest.MonkeyPatch) -> None:
    # Detection, the guards and the planner each used to derive pool, zone, image and instance on their own
    # (detect/inventory.py, heal/nodes.py): a cycle now builds one NodePlace per node and every stage reads it.
    calls: list[int] = []

    def counted(*args: object) -> object:
        calls.append(1)
        return node_place.place_nodes(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(snapshot_module, "place_nodes", counted)
    other = node(f"{VMSS}000004", provider_id=PROVIDER_ID.replace("/3", "/4"))
    snapshot = Snapshot(nodes=(node(), other))
    detection = detect(snapshot, {}, NOW, DetectSettings())
    planner.plan(snapshot, detection, History(), default_policy(), NOW)
    assert len(calls) == 1
    places = snapshot.node_places
    facts = inventory.node_facts(snapshot, detection.health)
    targets = nodes.read_targets(snapshot, detection)
    for name in (f"{VMSS}000003", f"{VMSS}000004"):
        assert facts[name].place is places[name]
        assert targets[name].place is places[name]
        assert (detection.health[name].pool, detection.health[name].instance) == (
            places[name].pool,
            places[name].instance,
        )
