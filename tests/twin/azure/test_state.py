"""The Azure side's physics on the manual clock: lifecycles, hooks, faults, scaling and the Activity Log."""

from __future__ import annotations

import pytest

from nodewarden.twin.azure import Action, AzureState, Guest, Origin, Timings, documents
from nodewarden.twin.azure.activity import ActivityFilter
from nodewarden.twin.azure.wire import ArmError
from nodewarden.twin.clock import Clock
from nodewarden.twin.machines import MachineSpec

from .conftest import IMAGE, NODE_RG, SUB, Heard, build_state


def _node(state: AzureState, pool: str, index: int = 0) -> str:
    return state.instances(pool)[index].computer_name


def _statuses(state: AzureState, name: str) -> list[str]:
    return [status["code"] for status in documents.instance_view(state.instance(name))["statuses"]]


def test_each_pool_is_one_uniform_scale_set_with_aks_names_and_instances_round_robin_over_zones(
    state: AzureState,
) -> None:
    system = state.instances("system")
    vmss = state.pool("system").vmss_name
    assert vmss.startswith("aks-system-")
    assert vmss.endswith("-vmss")
    assert len(vmss.split("-")[2]) == 8
    assert state.pool("user").vmss_name.split("-")[2] == vmss.split("-")[2]  # one suffix per cluster
    assert [inst.zone for inst in state.instances("user")] == ["1", "2", "3", "1", "2", "3"]
    assert [inst.computer_name for inst in system] == [f"{vmss}00000{i}" for i in range(3)]
    assert state.provider_id(system[1]) == (
        f"azure:///subscriptions/{SUB}/resourceGroups/{NODE_RG.lower()}"
        f"/providers/Microsoft.Compute/virtualMachineScaleSets/{vmss}/virtualMachines/1"
    )
    assert _statuses(state, system[0].computer_name) == ["ProvisioningState/succeeded", "PowerState/running"]


def test_instance_ids_past_nine_give_base36_computer_names(clock: Clock) -> None:
    state = build_state(clock, system=1, user=12)
    names = [inst.computer_name for inst in state.instances("user")]
    assert names[10].endswith("vmss00000a")
    assert names[11].endswith("vmss00000b")
    assert state.instance(names[10]).instance_id == 10


def test_a_booted_machine_spec_carries_what_the_kubelet_registers(state: AzureState) -> None:
    specs = {spec.node_name: (spec, healthy) for spec, healthy in state.machines()}
    spec, healthy = specs[_node(state, "user", 4)]
    assert healthy
    assert spec == MachineSpec(
        node_name=_node(state, "user", 4),
        provider_id=state.provider_id(state.instances("user")[4]),
        pool="user",
        mode="user",
        region="eastus",
        zone="eastus-2",
        vm_size="Standard_E8s_v5",
        image_version=IMAGE,
        os_sku="Ubuntu",
        cpu_millis=8000,
        memory_mib=64 * 1024,
        max_pods=110,
        kubelet_version="v1.33.7",
        taints=(),
        labels={"workload": "web"},
    )
    assert specs[_node(state, "system")][0].taints == ("CriticalAddonsOnly=true:NoSchedule",)


def test_a_hook_registered_late_hears_about_the_machines_already_up(state: AzureState, clock: Clock) -> None:
    heard = Heard(clock)
    state.on_boot(heard.boot)
    assert len(heard.events) == 9
    assert all(heard.health.values())


def test_a_restart_takes_ninety_seconds_and_fires_down_then_boot(state: AzureState, clock: Clock, heard: Heard) -> None:
    node = _node(state, "user")
    op = state.act(Action.RESTART, node)
    assert heard.about(node) == [("down", 0.0)]
    assert _statuses(state, node) == ["ProvisioningState/updating", "PowerState/starting"]
    clock.advance(seconds=59)
    assert op.status == "InProgress"
    clock.advance(seconds=1)  # ARM reports the VM running; the guest still boots
    assert op.status == "Succeeded"
    assert state.instance(node).guest is Guest.BOOTING
    assert _statuses(state, node) == ["ProvisioningState/succeeded", "PowerState/running"]
    clock.advance(seconds=30)
    assert heard.about(node) == [("down", 0.0), ("boot", 90.0)]
    assert heard.health[node] is True


@pytest.mark.parametrize(("action", "seconds"), [(Action.REIMAGE, 240.0), (Action.REDEPLOY, 360.0)])
def test_reimage_and_redeploy_take_their_own_realistic_times(
    state: AzureState, clock: Clock, heard: Heard, action: Action, seconds: float
) -> None:
    node = _node(state, "user")
    state.act(action, node)
    clock.advance(minutes=10)
    assert heard.about(node) == [("down", 0.0), ("boot", seconds)]


def test_timings_are_configurable(clock: Clock) -> None:
    state = AzureState(
        clock,
        subscription_id=SUB,
        resource_group="rg",
        cluster_name="c",
        location="eastus",
        timings=Timings(restart=20, boot=5),
    )
    state.add_pool("p", mode="User", vm_size="Standard_D2s_v3", zones=[], count=1, node_image_version=IMAGE)
    heard = Heard(clock)
    state.on_boot(heard.boot, replay=False)
    op = state.act("restart", _node(state, "p"))
    clock.advance(seconds=15)
    assert op.status == "Succeeded"
    assert heard.events == []
    clock.advance(seconds=5)
    assert heard.events[-1][0::2] == ("boot", 20.0)
    assert state.machines()[0][0].zone == "0"  # a non-zonal pool shows its fault domain


def test_a_crashed_instance_stays_down_until_someone_restarts_it(state: AzureState, clock: Clock, heard: Heard) -> None:
    node = _node(state, "user", 2)
    state.crash(node)
    assert heard.about(node) == [("down", 0.0)]
    view = documents.instance_view(state.instance(node))
    assert _statuses(state, node)[-1] == "PowerState/running"  # the host still thinks the VM runs
    assert view["vmAgent"]["statuses"][0]["code"] == "ProvisioningState/Unavailable"
    clock.advance(minutes=60)
    assert heard.about(node) == [("down", 0.0)]
    state.act(Action.RESTART, node)
    clock.advance(seconds=90)
    assert heard.about(node) == [("down", 0.0), ("boot", 3690.0)]


def test_service_healing_reboots_a_crashed_instance_when_asked_to(
    state: AzureState, clock: Clock, heard: Heard
) -> None:
    node = _node(state, "user", 2)
    state.crash(node, recover_after=300)
    clock.advance(seconds=300 + 90)
    assert heard.about(node) == [("down", 0.0), ("boot", 390.0)]
    assert state.activity_log() == []  # the platform acting on its own writes no Administrative entry


def test_a_zone_outage_touches_only_that_zone_and_fails_operations_there(
    state: AzureState, clock: Clock, heard: Heard
) -> None:
    zone2 = {inst.computer_name for inst in state.instances() if inst.zone == "2"}
    state.zone_outage("eastus-2")
    assert {node for kind, node, _ in heard.events if kind == "down"} == zone2
    in_zone = next(inst for inst in state.instances("user") if inst.zone == "2")
    elsewhere = next(inst for inst in state.instances("user") if inst.zone == "1")
    failing = state.act(Action.RESTART, in_zone)
    working = state.act(Action.RESTART, elsewhere)
    clock.advance(seconds=90)
    assert failing.status == "Failed"
    assert failing.error is not None
    assert failing.error["code"] == "ZonalAllocationFailed"
    assert working.status == "Succeeded"
    assert state.zones_down() == {"2"}

    state.zone_restore(2)
    clock.advance(seconds=90)
    booted = {node for kind, node, at in heard.events if kind == "boot" and at > 90}
    assert booted == zone2


def test_an_outage_fails_the_operations_already_running_in_that_zone(state: AzureState, clock: Clock) -> None:
    inst = next(inst for inst in state.instances("user") if inst.zone == "3")
    op = state.act(Action.REIMAGE, inst)
    clock.advance(seconds=30)
    state.zone_outage("3")
    assert op.status == "Failed"
    assert _statuses(state, inst.computer_name)[0] == "ProvisioningState/failed/ZonalAllocationFailed"


def test_scale_up_during_an_outage_places_new_instances_in_the_zones_still_up(state: AzureState, clock: Clock) -> None:
    state.zone_outage("1")
    op = state.scale_pool("user", 9)
    clock.advance(seconds=180)
    assert op.status == "Succeeded"
    assert [inst.zone for inst in state.instances("user")[6:]] == ["2", "3", "2"]


def test_a_bad_image_keeps_reimaged_instances_not_ready_but_restarted_ones_fine(
    state: AzureState, clock: Clock, heard: Heard
) -> None:
    reimaged, restarted = _node(state, "user", 0), _node(state, "user", 1)
    state.bad_image("user")
    state.act(Action.REIMAGE, reimaged)
    state.act(Action.RESTART, restarted)
    clock.advance(minutes=5)
    assert heard.health == {reimaged: False, restarted: True}
    state.bad_image("user", on=False)
    state.act(Action.REIMAGE, reimaged)
    clock.advance(minutes=5)
    assert heard.health[reimaged] is True


def test_a_bad_image_rollout_moves_the_pool_image_and_the_model_drifts_until_reimage(
    state: AzureState, clock: Clock, heard: Heard
) -> None:
    bad = "AKSUbuntu-2204gen2containerd-202612.01.0"
    state.bad_image("user", image_version=bad)
    node = _node(state, "user")
    assert state.pool("user").node_image_version == bad
    assert not state.instance(node).latest_model_applied
    state.scale_pool("user", 7)
    clock.advance(minutes=4)
    new = _node(state, "user", 6)
    assert heard.health[new] is False
    assert state.machines()[-1][0].image_version == bad
    state.bad_image("user", on=False)
    assert state.pool("user").node_image_version == IMAGE


def test_scaling_up_adds_instances_that_register_after_three_minutes(
    state: AzureState, clock: Clock, heard: Heard
) -> None:
    op = state.scale_pool("user", 8)
    assert state.pool("user").provisioning == "Scaling"
    new = [inst.computer_name for inst in state.instances("user")[6:]]
    assert _statuses(state, new[0]) == ["ProvisioningState/creating", "PowerState/starting"]
    clock.advance(seconds=150)
    assert op.status == "Succeeded"
    assert state.pool("user").provisioning == "Succeeded"
    clock.advance(seconds=30)
    assert [heard.about(node) for node in new] == [[("boot", 180.0)], [("boot", 180.0)]]


def test_scaling_down_keeps_zones_balanced_and_removes_the_highest_ids(
    state: AzureState, clock: Clock, heard: Heard
) -> None:
    state.scale_pool("user", 4)
    clock.advance(seconds=60)
    assert [inst.instance_id for inst in state.instances("user")] == [0, 1, 2, 3]
    assert [kind for kind, node, _ in heard.events] == ["down", "down", "removed", "removed"]
    assert state.pool("user").count == 4


def test_delete_machines_removes_the_named_nodes_and_lowers_the_count(
    state: AzureState, clock: Clock, heard: Heard
) -> None:
    node = _node(state, "user", 1)
    op = state.delete_machines("user", [node], origin=Origin(caller="nodewarden"))
    assert state.pool("user").count == 5
    clock.advance(seconds=60)
    assert op.status == "Succeeded"
    assert heard.about(node) == [("down", 0.0), ("removed", 60.0)]
    with pytest.raises(KeyError):
        state.instance(node)
    with pytest.raises(ArmError) as refused:
        state.delete_machines("user", ["aks-user-nope-vmss000000"], origin=Origin(caller="nodewarden"))
    assert refused.value.status == 400


def test_a_newer_action_preempts_the_one_in_flight(state: AzureState, clock: Clock, heard: Heard) -> None:
    node = _node(state, "user")
    first = state.act(Action.REDEPLOY, node)
    clock.advance(seconds=10)
    second = state.act(Action.RESTART, node)
    assert first.status == "Failed"
    assert first.error is not None
    assert first.error["code"] == "OperationPreempted"
    clock.advance(seconds=90)
    assert second.status == "Succeeded"
    assert heard.about(node) == [("down", 0.0), ("boot", 100.0)]


def test_power_actions_follow_azure_rules(state: AzureState, clock: Clock, heard: Heard) -> None:
    node = _node(state, "user")
    state.act(Action.DEALLOCATE, node)
    clock.advance(seconds=60)
    assert _statuses(state, node) == ["ProvisioningState/succeeded", "PowerState/deallocated"]
    with pytest.raises(ArmError) as refused:
        state.act(Action.RESTART, node)
    assert (refused.value.status, refused.value.code) == (409, "OperationNotAllowed")
    state.act(Action.START, node)
    clock.advance(seconds=120)
    assert heard.about(node) == [("down", 0.0), ("boot", 180.0)]
    noop = state.act(Action.START, node)
    clock.advance(seconds=1)
    assert noop.status == "Succeeded"
    assert heard.about(node)[-1] == ("boot", 180.0)


def test_injected_operation_failures_end_failed_without_touching_the_instance(
    state: AzureState, clock: Clock, heard: Heard
) -> None:
    state.fail_operations(1.0)
    op = state.act(Action.RESTART, _node(state, "user"))
    clock.advance(seconds=30)
    assert op.status == "Failed"
    assert op.error is not None
    assert op.error["code"] == "InternalExecutionError"
    assert heard.events == []


def test_every_operation_logs_started_and_its_outcome_under_one_correlation_id(state: AzureState, clock: Clock) -> None:
    node = _node(state, "user")
    op = state.act(Action.RESTART, node)
    clock.advance(seconds=60)
    entries = state.activity_log()
    assert [entry["status"]["value"] for entry in entries] == ["Succeeded", "Started"]  # newest first
    assert {entry["correlationId"] for entry in entries} == {op.correlation_id}
    started = entries[1]
    assert started["operationName"] == {
        "value": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action",
        "localizedValue": "Restart Virtual Machine Scale Set VM",
    }
    assert started["category"] == {"value": "Administrative", "localizedValue": "Administrative"}
    assert started["caller"] == "twin-operator"
    assert started["resourceId"].endswith(f"/virtualMachineScaleSets/{state.pool('user').vmss_name}/virtualMachines/0")
    assert started["eventTimestamp"] == "2026-11-26T08:00:00.000000Z"
    assert started["submissionTimestamp"] > started["eventTimestamp"]
    assert started["level"] == "Informational"
    assert started["resourceGroupName"] == NODE_RG
    state.zone_outage("1")
    state.act(Action.RESTART, node)
    clock.advance(seconds=30)
    assert state.activity_log()[0]["level"] == "Error"
    assert state.activity_log(ActivityFilter(correlation_id=op.correlation_id)) == entries


def test_planned_maintenance_posts_a_scheduled_event_then_reboots_at_not_before(
    state: AzureState, clock: Clock, heard: Heard
) -> None:
    inst = state.instances("user")[3]
    event = state.planned_maintenance(inst.computer_name)
    assert event["EventType"] == "Reboot"
    assert event["EventStatus"] == "Scheduled"
    assert event["Resources"] == [inst.vm_name]
    assert event["ResourceType"] == "VirtualMachine"
    assert event["NotBefore"] == "Thu, 26 Nov 2026 08:15:00 GMT"
    assert event["EventSource"] == "Platform"
    assert event["DurationInSeconds"] == 90
    seen_by_neighbour = state.scheduled_events(state.instances("user")[0])
    assert [e["EventId"] for e in seen_by_neighbour["Events"]] == [event["EventId"]]
    assert state.scheduled_events(state.instances("system")[0])["Events"] == []
    clock.advance(seconds=899)
    assert heard.events == []
    clock.advance(seconds=1)
    assert heard.about(inst.computer_name) == [("down", 900.0)]
    assert state.scheduled_events()["Events"][0]["EventStatus"] == "Started"
    clock.advance(seconds=90)
    assert heard.about(inst.computer_name)[-1] == ("boot", 990.0)
    document = state.scheduled_events()
    assert document["Events"] == []
    assert document["DocumentIncarnation"] == 4


def test_a_preempt_event_evicts_the_spot_instance(clock: Clock) -> None:
    state = build_state(clock, system=1, user=1)
    state.add_pool(
        "spot", mode="User", vm_size="Standard_D4s_v5", zones=["1"], count=2, node_image_version=IMAGE, spot=True
    )
    victim = _node(state, "spot")
    assert "kubernetes.azure.com/scalesetpriority=spot:NoSchedule" in state.machines()[-1][0].taints
    state.planned_maintenance(victim, event_type="Preempt", not_before_seconds=30)
    clock.advance(seconds=30 + 60)
    assert len(state.instances("spot")) == 1
    assert victim not in {inst.computer_name for inst in state.instances("spot")}
    assert state.pool("spot").count == 1
