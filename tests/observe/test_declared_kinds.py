"""A document whose reader knew its kind (a live cache, an ARM read) is taken as that kind, not recognised.

The live observer names each document's origin ("the cluster's nodes"), not a file, so nothing in the
name could hint at an empty list's kind, and its items need not carry what content recognition looks for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nodewarden.errors import NoInputError, SchemaError
from nodewarden.model.inputs import Input
from nodewarden.observe.files import Document
from nodewarden.observe.load import load_documents

FIXTURES = Path(__file__).parent / "fixtures"
NO_HINT = "watch cache 7"  # a source whose name says nothing of a kind


def _node(name: str, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "resourceVersion": "1"}, **extra}


@pytest.mark.parametrize(
    "data", [[], {"apiVersion": "v1", "kind": "List", "items": []}, {"value": []}], ids=["list", "kubectl", "arm"]
)
@pytest.mark.parametrize("kind", [Input.PDBS, Input.EVENTS, Input.SCALE_SETS, Input.ACTIVITY_LOG])
def test_an_empty_document_of_a_declared_kind_marks_that_kind_present(kind: Input, data: Any) -> None:
    recognised = load_documents([Document(NO_HINT, data)]).snapshot
    assert recognised.inputs == frozenset()  # by content, and a name that hints at nothing, of no kind at all
    snapshot = load_documents([Document(NO_HINT, data, kind=kind)]).snapshot
    assert snapshot.inputs == {kind}


def test_an_empty_document_of_a_declared_kind_is_not_taken_for_what_its_name_suggests() -> None:
    snapshot = load_documents([Document("the cluster's pods", [], kind=Input.PDBS)]).snapshot
    assert snapshot.inputs == {Input.PDBS}


def test_scheduled_events_of_a_declared_kind_are_read_through_the_imds_envelope() -> None:
    events = {"DocumentIncarnation": 2, "Events": [{"EventId": "e-1", "EventType": "Freeze", "NotBefore": ""}]}
    snapshot = load_documents([Document("IMDS Scheduled Events", events, kind=Input.SCHEDULED_EVENTS)]).snapshot
    assert snapshot.inputs == {Input.SCHEDULED_EVENTS}
    assert [event.event_id for event in snapshot.scheduled_events] == ["e-1"]


def test_a_kubernetes_object_of_a_declared_kind_needs_no_apiversion_or_kind() -> None:
    nodes = [_node("aks-apps-1"), _node("aks-apps-2", spec={"unschedulable": True})]
    with pytest.raises(NoInputError):  # by content, objects without apiVersion and kind are not recognised
        load_documents([Document(NO_HINT, nodes)])
    snapshot = load_documents([Document("the cluster's nodes", nodes, kind=Input.NODES)]).snapshot
    assert [node.metadata.name for node in snapshot.nodes] == ["aks-apps-1", "aks-apps-2"]
    assert snapshot.nodes[1].cordoned
    assert snapshot.origins["Node/aks-apps-1"] == "the cluster's nodes"


def test_an_azure_resource_of_a_declared_kind_needs_none_of_the_keys_its_az_command_prints() -> None:
    scale_set = {"name": "aks-apps-vmss", "sku": {"name": "Standard_D4s_v5", "capacity": 3}, "zones": ["1", "2"]}
    with pytest.raises(NoInputError):  # no ARM type, no virtualMachineProfile and upgradePolicy: not recognised
        load_documents([Document(NO_HINT, [scale_set])])
    snapshot = load_documents([Document(NO_HINT, [scale_set], kind=Input.SCALE_SETS)]).snapshot
    assert [s.name for s in snapshot.scale_sets] == ["aks-apps-vmss"]


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [
        ("aks-show-cli.json", Input.CLUSTER),
        ("aks-arm.json", Input.CLUSTER),
        ("nodepool-list.json", Input.NODEPOOLS),
        ("vmss-list.json", Input.SCALE_SETS),
        ("vmss-instances.json", Input.INSTANCES),
    ],
)
def test_declaring_the_kind_of_an_export_gives_the_snapshot_recognising_it_gives(fixture: str, kind: Input) -> None:
    def load(declared: Input | None) -> Any:
        data = json.loads((FIXTURES / fixture).read_text())
        return load_documents([Document(fixture, data, kind=declared)]).snapshot

    assert load(kind) == load(None)


def test_an_item_that_says_it_is_another_kind_is_skipped_with_a_note() -> None:
    nodes = [
        {"apiVersion": "v1", "kind": "Node", **_node("aks-apps-1")},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop"}},
    ]
    loaded = load_documents([Document("the cluster's nodes", nodes, kind=Input.NODES)])
    assert [node.metadata.name for node in loaded.snapshot.nodes] == ["aks-apps-1"]
    assert loaded.snapshot.pods == ()
    assert loaded.snapshot.inputs == {Input.NODES}
    assert loaded.notes == ("the cluster's nodes: skipped 1 ConfigMap, 1 Pod: expected only kubectl get nodes output",)


def test_an_azure_item_whose_arm_type_is_another_input_is_skipped_with_a_note() -> None:
    scale_sets = json.loads((FIXTURES / "vmss-list.json").read_text())
    loaded = load_documents([Document("instances of scale set aks-apps-vmss", scale_sets, kind=Input.INSTANCES)])
    assert loaded.snapshot.instances == ()
    assert loaded.snapshot.scale_sets == ()
    assert loaded.notes == (
        "instances of scale set aks-apps-vmss: skipped 1 Microsoft.Compute/virtualMachineScaleSets: "
        "expected only az vmss list-instances --expand instanceView output",
    )


def test_a_workload_without_a_kind_is_skipped_since_it_could_be_a_deployment_or_a_statefulset() -> None:
    workloads = [{"metadata": {"name": "web", "namespace": "shop"}}]
    loaded = load_documents([Document("the cluster's deployments", workloads, kind=Input.WORKLOADS)])
    assert loaded.snapshot.workloads == ()
    assert loaded.snapshot.inputs == {Input.WORKLOADS}
    assert loaded.notes == (
        "the cluster's deployments: skipped 1 object without a kind: "
        "expected only kubectl get deployments,statefulsets output",
    )


def test_a_wrong_type_in_a_declared_object_names_its_origin_and_the_object() -> None:
    nodes = [_node("aks-apps-1", spec={"unschedulable": "maybe"})]
    with pytest.raises(SchemaError) as caught:
        load_documents([Document("the cluster's nodes", nodes, kind=Input.NODES)])
    assert str(caught.value).startswith("the cluster's nodes: Node aks-apps-1: field spec.unschedulable: ")


def test_a_wrong_type_in_a_declared_azure_resource_names_the_field_as_arm_spelt_it() -> None:
    cluster = json.loads((FIXTURES / "aks-arm.json").read_text())
    cluster["properties"]["enableRBAC"] = "maybe"
    source = "managed cluster aks-prod in resource group rg-prod"
    with pytest.raises(SchemaError) as caught:
        load_documents([Document(source, cluster, kind=Input.CLUSTER)])
    assert str(caught.value).startswith(f"{source}: az aks show entry ")
    assert "field properties.enableRBAC" in str(caught.value)
