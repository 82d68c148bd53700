"""Azure node actions against the twin: tracked operations, ARM errors, busy instances, replace."""

from __future__ import annotations

import pytest
from lightkube import Client
from lightkube.models.core_v1 import NodeSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Event, Node

from nodewarden.act import azure_actions, kube_actions
from nodewarden.act.events import EventRecorder
from nodewarden.act.results import NodeAction
from nodewarden.connection import AzureClients, Connection
from nodewarden.errors import ActionRefusedError, ArmOperationError, MappingError
from nodewarden.twin.service import Twin

NODE = "aks-apps-84805669-vmss000003"


def _clients(connection: Connection) -> tuple[Client, AzureClients]:
    assert connection.kube is not None
    assert connection.azure is not None
    return connection.kube, connection.azure


def _reasons(kube: Client, node: str) -> list[str]:
    return [
        e.reason or ""
        for e in kube.list(Event, namespace="default")
        if e.involvedObject.name == node and e.reportingComponent == "nodewarden"
    ]


def test_a_node_maps_to_its_instance_through_its_provider_id(connection: Connection) -> None:
    kube, _ = _clients(connection)
    ref = azure_actions.instance_of(kube_actions.read_node(kube, NODE))
    assert (ref.vmss, ref.instance_id, ref.pool) == ("aks-apps-84805669-vmss", "3", "apps")
    assert ref.resource_group == "mc_rg-twin_aks-small_westeurope"  # cloud-provider lower-cases it


@pytest.mark.parametrize(
    "provider_id",
    [
        "",
        "aws:///eu-west-1a/i-0abc",
        "azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
    ],
)
def test_a_node_without_a_vmss_provider_id_is_refused(provider_id: str) -> None:
    node = kube_actions.as_model_node(
        Node(metadata=ObjectMeta(name="n1"), spec=NodeSpec(providerID=provider_id or None))
    )
    with pytest.raises(MappingError, match="node n1"):
        azure_actions.instance_of(node)


def test_restart_completes_and_shows_in_the_instance_view_and_activity_log(twin: Twin, connection: Connection) -> None:
    kube, azure = _clients(connection)
    ref = azure_actions.instance_of(kube_actions.read_node(kube, NODE))
    lines: list[str] = []
    result = azure_actions.run_instance_action(
        azure, ref, NodeAction.RESTART, timeout=60, recorder=EventRecorder(kube), progress=lines.append
    )
    assert result.succeeded
    [operation_id] = result.operation_ids
    assert operation_id
    assert result.request_ids[0]
    view = azure.compute.virtual_machine_scale_set_vms.get_instance_view(ref.resource_group, ref.vmss, ref.instance_id)
    codes = {status.code for status in view.statuses or []}
    assert {"ProvisioningState/succeeded", "PowerState/running"} <= codes
    entries = [e for e in twin.azure.activity_log() if e["correlationId"] == result.correlation_id]
    assert {e["status"]["value"] for e in entries} == {"Started", "Succeeded"}
    assert all(e["operationName"]["value"].endswith("virtualMachines/restart/action") for e in entries)
    assert twin.azure.operation(operation_id) is not None
    assert _reasons(kube, NODE) == ["OperationStarted", "OperationSucceeded"]
    assert any(operation_id in line for line in lines)


def test_a_reimage_in_a_zone_that_is_down_surfaces_the_arm_error(twin: Twin, connection: Connection) -> None:
    kube, azure = _clients(connection)
    node = kube_actions.read_node(kube, NODE)
    zone = node.metadata.label_map["topology.kubernetes.io/zone"]
    twin.inject("zone-outage", target=zone)
    ref = azure_actions.instance_of(node)
    with pytest.raises(ArmOperationError, match="ZonalAllocationFailed") as failed:
        azure_actions.run_instance_action(azure, ref, NodeAction.REIMAGE, timeout=60, recorder=EventRecorder(kube))
    assert failed.value.code == "ZonalAllocationFailed"
    assert failed.value.operation_id
    assert _reasons(kube, NODE) == ["OperationStarted", "OperationFailed"]


def test_a_second_action_on_a_busy_instance_is_refused(twin: Twin, connection: Connection) -> None:
    kube, azure = _clients(connection)
    twin.azure.act("restart", NODE)  # someone else's restart, still in flight
    ref = azure_actions.instance_of(kube_actions.read_node(kube, NODE))
    with pytest.raises(ActionRefusedError, match=r"busy \(ProvisioningState/updating\)"):
        azure_actions.run_instance_action(azure, ref, NodeAction.REIMAGE, timeout=60, recorder=EventRecorder(kube))
    assert _reasons(kube, NODE) == ["RefusedBusy"]
    assert [e["operationName"]["value"].rsplit("/", 2)[-2] for e in twin.azure.activity_log()] == ["restart"]


def test_replace_deletes_the_machine_and_restores_the_pool_count(twin: Twin, connection: Connection) -> None:
    kube, azure = _clients(connection)
    name = "aks-system-84805669-vmss000002"  # the system pool has a fixed count of 3
    ref = azure_actions.instance_of(kube_actions.read_node(kube, name))
    result = azure_actions.replace(azure, ref, timeout=60, recorder=EventRecorder(kube))
    assert result.succeeded
    assert len(result.operation_ids) == 2
    target = azure.target
    pool = azure.aks.agent_pools.get(target.resource_group, target.cluster_name, "system")
    assert pool.count == 3
    machines = {inst.computer_name for inst in twin.azure.instances("system")}
    assert name not in machines
    assert len(machines) == 3
    names = {e["operationName"]["value"] for e in twin.azure.activity_log() if e["status"]["value"] == "Succeeded"}
    assert names == {
        "Microsoft.ContainerService/managedClusters/agentPools/deleteMachines/action",
        "Microsoft.ContainerService/managedClusters/agentPools/write",
    }
    assert _reasons(kube, name) == ["OperationStarted", "OperationSucceeded"]  # reported though the node is gone


def test_replace_leaves_an_autoscaled_pool_to_the_autoscaler(twin: Twin, connection: Connection) -> None:
    kube, azure = _clients(connection)
    ref = azure_actions.instance_of(kube_actions.read_node(kube, NODE))
    result = azure_actions.replace(azure, ref, timeout=60)
    assert len(result.operation_ids) == 1
    assert "autoscaler" in result.steps[-1]
    assert NODE not in {inst.computer_name for inst in twin.azure.instances("apps")}
