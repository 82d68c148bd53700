"""Injecting drill faults into a twin over HTTPS with the real clients, and undoing them.

API faults go through ARM and the Kubernetes API as on a real cluster; twin faults through the twin's
admin endpoint. SDK polls of a long-running operation move the twin's manual clock 30 s each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import Node as KubeNode
from lightkube.resources.core_v1 import Pod
from pydantic import TypeAdapter

from nodewarden.act import azure_actions, kube_actions
from nodewarden.connection import AzureClients, Connection, connect
from nodewarden.drill import faults, inject
from nodewarden.drill.spec import DrillSpec
from nodewarden.errors import ArmOperationError, InputError
from nodewarden.model.kube import Node
from nodewarden.model.snapshot import Snapshot
from nodewarden.twin.scenario import PoolSpec
from nodewarden.twin.service import ADMIN_FILE, Twin
from tests.support.os_disks import with_managed_os_disks

SCOPE = ["apps", "spot"]
NOWHERE = Connection(kube=None, azure=None)  # for undos that call nothing


@pytest.fixture
def twin() -> Iterator[Twin]:
    small = with_managed_os_disks("small", "apps")  # instance-deallocate needs managed OS disks
    spot = PoolSpec(name="spot", count=2, zones=["1"], spot=True)
    with Twin(small.model_copy(update={"pools": [*small.pools, spot]}), advance_on_poll=30) as running:
        yield running


@pytest.fixture
def connection(twin: Twin) -> Connection:
    return connect(twin=twin.state_dir)


@pytest.fixture
def injector(twin: Twin, connection: Connection) -> inject.Injector:
    return inject.injector_for(connection, twin_dir=twin.state_dir)


def _kube(connection: Connection) -> Client:
    assert connection.kube is not None
    return connection.kube


def _azure(connection: Connection) -> AzureClients:
    assert connection.azure is not None
    return connection.azure


def snapshot(connection: Connection) -> Snapshot:
    """The nodes as the product's model reads them (what the drill's runner hands to `undo`)."""
    nodes = _kube(connection).list(KubeNode)
    return Snapshot(nodes=tuple(TypeAdapter(Node).validate_python(node.to_dict()) for node in nodes))


def resolve(connection: Connection, fault: str, target: dict[str, str] | None, **options: Any) -> faults.Resolved:
    body: dict[str, Any] = {"type": fault, "options": options} | ({"target": target} if target else {})
    spec = DrillSpec.model_validate({"scope": {"pools": SCOPE, "zones": ["1"]}, "fault": body})
    return faults.resolve(spec, snapshot(connection))


def power(connection: Connection, node: str) -> str:
    ref = azure_actions.instance_of(kube_actions.read_node(_kube(connection), node))
    view = _azure(connection).compute.virtual_machine_scale_set_vms.get_instance_view(
        ref.resource_group, ref.vmss, ref.instance_id
    )
    return next(s.code or "" for s in view.statuses or [] if (s.code or "").startswith("PowerState/"))


def drill_entries(twin: Twin, node: str, injector: inject.Injector) -> list[dict[str, Any]]:
    """Activity Log entries of the node's instance that carry one of the drill's correlation ids."""
    assert isinstance(injector, inject.ClusterInjector)
    vm = twin.azure.instance(node)
    resource = twin.azure.scope.vm_id(vm.pool.vmss_name, vm.instance_id).lower()
    return [
        e for e in twin.azure.activity_log()
        if e["resourceId"].lower() == resource and e["correlationId"] in injector.correlation_ids
    ]  # fmt: skip


def instance(twin: Twin, node: str) -> str:
    """How undo names a node's instance: `<vmss>/virtualMachines/<id>`."""
    vm = twin.azure.instance(node)
    return f"{vm.pool.vmss_name}/virtualMachines/{vm.instance_id}"


def renewed(connection: Connection, node: str) -> datetime:
    lease = _kube(connection).get(Lease, node, namespace="kube-node-lease")
    assert lease.spec is not None
    assert lease.spec.renewTime is not None
    return lease.spec.renewTime


# -- API faults ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "operation", "off"),
    [
        ("instance-stop", "powerOff", "PowerState/stopped"),
        ("instance-deallocate", "deallocate", "PowerState/deallocated"),
    ],
)
def test_a_power_fault_turns_the_instance_off_through_arm_and_its_undo_starts_it(
    twin: Twin, connection: Connection, injector: inject.Injector, fault: str, operation: str, off: str
) -> None:
    resolved = resolve(connection, fault, {"pool": "apps"})
    [node] = resolved.nodes
    injector.inject(resolved, {})
    assert power(connection, node) == off
    entries = drill_entries(twin, node, injector)
    assert {e["operationName"]["value"] for e in entries} == {
        f"Microsoft.Compute/virtualMachineScaleSets/virtualMachines/{operation}/action"
    }
    assert {e["status"]["value"] for e in entries} == {"Started", "Succeeded"}
    undone = injector.undo(resolved, {}, snapshot(connection))
    assert (
        undone == f"started instance {instance(twin, node)} of node {node} (it was {off.removeprefix('PowerState/')})"
    )
    assert power(connection, node) == "PowerState/running"
    assert injector.undo(resolved, {}, snapshot(connection)) == f"nothing to undo: already rolled back ({undone})"


def test_an_instance_that_runs_has_nothing_to_undo(
    twin: Twin, connection: Connection, injector: inject.Injector
) -> None:
    resolved = resolve(connection, "instance-deallocate", {"pool": "apps"})
    [node] = resolved.nodes
    expected = f"nothing to undo: instance {instance(twin, node)} of node {node} runs and it is running"
    assert injector.undo(resolved, {}, snapshot(connection)) == expected
    assert injector.undo(resolved, {}, snapshot(connection)) == expected  # nothing was undone, nothing remembered


def test_node_drain_cordons_and_evicts_through_the_eviction_api_and_its_undo_uncordons(
    twin: Twin, connection: Connection, injector: inject.Injector
) -> None:
    kube = _kube(connection)
    resolved = resolve(connection, "node-drain", {"pool": "apps"})
    [node] = resolved.nodes
    evictable = {
        p.metadata.name
        for p in kube_actions.pods_on_node(kube, node)
        if p.metadata and not kube_actions.as_model_pod(p).belongs_to_node
    }
    assert evictable
    twin.record_requests = True
    injector.inject(resolved, {})
    assert kube_actions.read_node(kube, node).cordoned
    evictions = {path.rsplit("/", 2)[-2] for method, path, _ in twin.requests if path.endswith("/eviction")}
    assert evictions == evictable
    assert not [path for method, path, _ in twin.requests if method == "DELETE"]
    twin.advance(60)
    assert not [
        p
        for p in kube.list(Pod, namespace="*", fields={"spec.nodeName": node})
        if p.metadata and p.metadata.name in evictable
    ]
    assert injector.undo(resolved, {}, snapshot(connection)) == f"uncordoned {node}"
    assert not kube_actions.read_node(kube, node).cordoned
    fresh = inject.injector_for(connection, twin_dir=twin.state_dir)
    assert fresh.undo(resolved, {}, snapshot(connection)) == f"nothing to undo: {node} is schedulable"


def test_spot_eviction_posts_a_preempt_event_then_the_instance_and_node_go(
    twin: Twin, connection: Connection, injector: inject.Injector
) -> None:
    resolved = resolve(connection, "spot-eviction", {"pool": "spot"})
    [node] = resolved.nodes
    vm, where = twin.azure.instance(node).vm_name, instance(twin, node)
    injector.inject(resolved, {})
    [event] = twin.azure.scheduled_events()["Events"]
    assert (event["EventType"], event["Resources"]) == ("Preempt", [vm])
    [entry] = [e for e in drill_entries(twin, node, injector) if e["status"]["value"] == "Succeeded"]
    assert entry["operationName"]["value"].endswith("/virtualMachines/simulateEviction/action")
    twin.advance(30 + 60)
    assert node not in {n.metadata.name for n in _kube(connection).list(KubeNode) if n.metadata}
    undone = injector.undo(resolved, {}, snapshot(connection))
    assert undone == f"nothing to undo: instance {where} of node {node} no longer exists"


def test_spot_eviction_of_a_regular_instance_is_refused_by_arm(
    connection: Connection, injector: inject.Injector
) -> None:
    regular = resolve(connection, "instance-stop", {"pool": "apps"})
    forced = faults.Resolved(faults.fault_kind("spot-eviction"), regular.nodes, "apps", None, regular.target, "forced")
    with pytest.raises(ArmOperationError, match="since it is not a Spot VM") as raised:
        injector.inject(forced, {})
    assert raised.value.code == "OperationNotAllowed"


# -- twin faults ----------------------------------------------------------------------------------------------


def test_instance_crash_goes_through_the_admin_endpoint_and_its_undo_restarts_the_instance(
    twin: Twin, connection: Connection, injector: inject.Injector
) -> None:
    resolved = resolve(connection, "instance-crash", {"pool": "apps"})
    [node] = resolved.nodes
    last = renewed(connection, node)
    injector.inject(resolved, {})
    twin.advance(60)
    assert renewed(connection, node) == last  # the kubelet went silent
    expected = f"restarted instance {instance(twin, node)} of node {node} (the node was not Ready)"
    assert injector.undo(resolved, {}, snapshot(connection)) == expected
    twin.advance(90)
    assert renewed(connection, node) > last


def test_a_crash_whose_node_is_ready_again_has_nothing_to_undo(
    twin: Twin, connection: Connection, injector: inject.Injector
) -> None:
    resolved = resolve(connection, "instance-crash", {"pool": "apps"})
    [node] = resolved.nodes
    expected = f"nothing to undo: instance {instance(twin, node)} of node {node} runs and its node is Ready"
    assert injector.undo(resolved, {}, snapshot(connection)) == expected


def test_a_condition_fault_is_undone_by_reporting_it_false(
    twin: Twin, connection: Connection, injector: inject.Injector
) -> None:
    resolved = resolve(connection, "disk-pressure", {"pool": "apps"})
    [node] = resolved.nodes

    def status() -> str | None:
        found = _kube(connection).get(KubeNode, node)
        conditions = found.status.conditions if found.status else None
        return next((c.status for c in conditions or [] if c.type == "DiskPressure"), None)

    injector.inject(resolved, {})
    assert status() == "True"
    assert injector.undo(resolved, {}, snapshot(connection)) == f"DiskPressure cleared on {node}"
    assert status() == "False"
    fresh = inject.injector_for(connection, twin_dir=twin.state_dir)
    assert fresh.undo(resolved, {}, snapshot(connection)) == f"nothing to undo: {node} does not report DiskPressure"


@pytest.mark.parametrize(
    ("fault", "target", "on", "undone"),
    [
        ("zone-outage", {"zone": "1"}, lambda twin: twin.azure.zones_down() == {"1"}, "zone-restore 1"),
        ("bad-image", {"pool": "apps"}, lambda twin: twin.azure.pool("apps").bad_image, "bad-image off for pool apps"),
        ("arm-throttle", None, lambda twin: twin.azure.draw_throttle(), "arm-throttle off (rate 0)"),
        ("arm-errors", None, lambda twin: twin.azure.draw_error(), "arm-errors off (rate 0)"),
        ("kube-errors", None, lambda twin: twin.world.store.faults.error_rate == 1.0, "kube-errors off (rate 0)"),
    ],
)
def test_a_twin_fault_is_switched_off_by_its_undo(
    twin: Twin, injector: inject.Injector, fault: str, target: dict[str, str] | None, on: Callable[[Twin], bool],
    undone: str,
) -> None:  # fmt: skip
    scope = {"pools": ["apps", "spot", "system"], "zones": ["1"]} if fault == "zone-outage" else {"pools": SCOPE}
    options = {"rate": 1.0} if fault.endswith(("-throttle", "-errors")) else {}
    body: dict[str, Any] = {"type": fault, "options": options} | ({"target": target} if target else {})
    kube = connect(twin=twin.state_dir)  # read before the fault: kube-errors would fail these reads
    resolved = faults.resolve(DrillSpec.model_validate({"scope": scope, "fault": body}), snapshot(kube))
    injector.inject(resolved, options)
    assert on(twin)
    assert injector.undo(resolved, options, Snapshot()) == undone
    assert not on(twin)


def test_a_twin_fault_without_a_twin_is_refused_with_the_api_faults_named(connection: Connection) -> None:
    resolved = resolve(connection, "kernel-deadlock", {"pool": "apps"})
    with pytest.raises(InputError, match=(
        r"^fault kernel-deadlock needs the digital twin \(--twin DIR\); on a real cluster use one of "
        r"instance-stop, instance-deallocate, node-drain, spot-eviction$"
    )):  # fmt: skip
        inject.injector_for(connection, twin_dir=None).inject(resolved, {})


def test_a_rollback_that_cannot_reach_the_twin_reports_the_failure(tmp_path: Path) -> None:
    resolved = faults.Resolved(faults.fault_kind("zone-outage"), (), None, "1", "1", "zone-outage in zone 1")
    undone = inject.injector_for(NOWHERE, twin_dir=tmp_path).undo(resolved, {}, Snapshot())
    assert undone == (
        f"rollback failed: {tmp_path / ADMIN_FILE}: no running twin here (start one with nodewarden twin serve); "
        "undo it by hand: zone-restore"
    )


def test_the_admin_file_is_the_one_the_twin_writes() -> None:
    assert inject.ADMIN_FILE == ADMIN_FILE


@pytest.mark.parametrize("fault", ["planned-maintenance", "watch-drop", "zone-restore"])
def test_faults_that_end_on_their_own_have_nothing_to_undo(fault: str) -> None:
    resolved = faults.Resolved(faults.fault_kind(fault), (), None, None, None, fault)
    undone = inject.injector_for(NOWHERE, twin_dir=None).undo(resolved, {}, Snapshot())
    assert undone == f"nothing to undo: {faults.fault_kind(fault).undo.removeprefix('nothing: ')}"


def test_every_fault_can_be_injected_and_undone() -> None:
    for kind in faults.CATALOGUE:
        assert kind.name in inject.UNDOERS
        assert kind.where is faults.Where.TWIN or kind.name in inject.INJECTORS
