"""Context: AKS auto-repair, busy pools and clusters, the cluster autoscaler."""

from __future__ import annotations

from nodewarden.detect import DetectSettings, detect
from nodewarden.model.health import Scope, SignalKind
from nodewarden.model.snapshot import Snapshot
from tests.detect.builders import T0, activity, agent_pool, at, cluster, event, node, node_name, vm_id

SETTINGS = DetectSettings()
NAME = node_name("user", 0)


def test_an_auto_repair_event_on_the_node_is_auto_repair() -> None:
    sign = event(NAME, reason="NodeRebootStart", component="aks-auto-repair", when=at(-120))
    [signal] = detect(Snapshot(nodes=(node(),), events=(sign,)), {}, T0, SETTINGS).of_kind(SignalKind.AUTO_REPAIR)
    assert (signal.node, signal.since) == (NAME, at(-120))
    assert not signal.is_problem


def test_the_remediator_in_the_activity_log_on_the_instance_is_auto_repair() -> None:
    entry = activity(
        vm_id("aks-user-12345678-vmss", 0),
        caller="aks-remediator",
        when=at(-60),
        operation="Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action",
    )
    snapshot = Snapshot(nodes=(node(),), activity_log=(entry,))
    assert detect(snapshot, {}, T0, SETTINGS).of_kind(SignalKind.AUTO_REPAIR)


def test_old_auto_repair_signs_and_other_callers_do_not_count() -> None:
    old = event(NAME, reason="NodeRebootStart", component="aks-auto-repair", when=at(-3601))
    ours = activity(vm_id("aks-user-12345678-vmss", 0), caller="someone@example.com", when=at(-5), operation="x")
    snapshot = Snapshot(nodes=(node(),), events=(old,), activity_log=(ours,))
    assert not detect(snapshot, {}, T0, SETTINGS).of_kind(SignalKind.AUTO_REPAIR)


def test_an_upgrading_pool_is_busy_and_a_succeeded_one_is_not() -> None:
    snapshot = Snapshot(pools=(agent_pool("user", "Upgrading"), agent_pool("system", "Succeeded")))
    [signal] = detect(snapshot, {}, T0, SETTINGS).of_kind(SignalKind.POOL_BUSY)
    assert (signal.scope, signal.subject, signal.pool) == (Scope.POOL, "user", "user")


def test_a_cluster_that_is_updating_is_busy() -> None:
    assert detect(Snapshot(cluster=cluster("Updating")), {}, T0, SETTINGS).of_kind(SignalKind.CLUSTER_BUSY)
    assert not detect(Snapshot(cluster=cluster("Failed")), {}, T0, SETTINGS).of_kind(SignalKind.CLUSTER_BUSY)


def test_the_autoscaler_taint_means_the_node_is_being_deleted() -> None:
    taint = {"key": "ToBeDeletedByClusterAutoscaler", "value": str(int(at(-30).timestamp())), "effect": "NoSchedule"}
    [signal] = detect(Snapshot(nodes=(node(taints=[taint]),)), {}, T0, SETTINGS).of_kind(SignalKind.AUTOSCALER_DELETING)
    assert signal.since == at(-30)


def test_an_autoscaler_scale_down_event_means_the_node_is_being_deleted() -> None:
    sign = event(NAME, reason="ScaleDown", component="cluster-autoscaler", when=at(-10))
    snapshot = Snapshot(nodes=(node(),), events=(sign,))
    assert detect(snapshot, {}, T0, SETTINGS).of_kind(SignalKind.AUTOSCALER_DELETING)


def test_a_healthy_node_has_no_context() -> None:
    other = event(NAME, reason="NodeReady", component="kubelet", when=at(-10))
    assert not detect(Snapshot(nodes=(node(),), events=(other,)), {}, T0, SETTINGS).signals
