"""`nodewarden node …` in-process through the real entry point, against the twin."""

from __future__ import annotations

from lightkube.resources.core_v1 import Node

from nodewarden.connection import Connection
from nodewarden.model import operator_mark
from nodewarden.twin.service import Twin
from tests.conftest import Invoke

NODE = "aks-apps-84805669-vmss000003"  # runs one pod of Deployment shop/web
SYSTEM = "aks-system-84805669-vmss000001"  # runs no pod a drain would evict


def _cordoned(connection: Connection, name: str) -> bool:
    assert connection.kube is not None
    node = connection.kube.get(Node, name)
    return bool(node.spec and node.spec.unschedulable)


def test_node_cordon_cordons_the_node(twin: Twin, connection: Connection, invoke: Invoke) -> None:
    outcome = invoke("node", "cordon", NODE, "--twin", str(twin.state_dir))
    assert outcome.code == 0, outcome.err
    assert f"{NODE} cordoned" in outcome.out
    assert _cordoned(connection, NODE)
    outcome = invoke("node", "uncordon", NODE, "--twin", str(twin.state_dir))
    assert outcome.code == 0, outcome.err
    assert not _cordoned(connection, NODE)


def test_dry_run_says_what_would_happen_and_changes_nothing(twin: Twin, connection: Connection, invoke: Invoke) -> None:
    outcome = invoke("node", "cordon", NODE, "--dry-run", "--twin", str(twin.state_dir))
    assert outcome.code == 0, outcome.err
    assert f"would cordon {NODE}" in outcome.out
    assert not _cordoned(connection, NODE)
    outcome = invoke("node", "drain", "aks-apps-84805669-vmss000000", "--dry-run", "--twin", str(twin.state_dir))
    assert outcome.code == 0, outcome.err
    assert "would evict 3 pod(s)" in outcome.out
    assert not _cordoned(connection, "aks-apps-84805669-vmss000000")
    outcome = invoke("node", "reimage", NODE, "--dry-run", "--force", "--twin", str(twin.state_dir))
    assert outcome.code == 0, outcome.err
    assert "would reimage instance 3 of aks-apps-84805669-vmss" in outcome.out
    assert twin.azure.activity_log() == []


def test_node_restart_reports_the_operation(twin: Twin, invoke: Invoke) -> None:
    outcome = invoke("node", "restart", NODE, "--force", "--timeout", "60", "--twin", str(twin.state_dir))
    assert outcome.code == 0, outcome.err
    assert "restart of aks-apps-84805669-vmss/virtualMachines/3 started: operation" in outcome.out
    assert f"restart of {NODE} succeeded" in outcome.out


def test_a_busy_instance_exits_1_and_an_unknown_node_exits_2(twin: Twin, invoke: Invoke) -> None:
    twin.azure.act("restart", NODE)
    outcome = invoke("node", "redeploy", NODE, "--force", "--twin", str(twin.state_dir))
    assert outcome.code == 1
    assert "busy (ProvisioningState/updating)" in outcome.err
    outcome = invoke("node", "cordon", "no-such-node", "--twin", str(twin.state_dir))
    assert outcome.code == 2
    assert outcome.err.strip() == "nodewarden: node no-such-node: not found in the cluster"


def test_a_failed_operation_exits_1_with_the_arm_code(twin: Twin, invoke: Invoke) -> None:
    twin.inject("zone-outage", target="1")  # vmss000003 is in zone 1
    outcome = invoke("node", "reimage", NODE, "--force", "--timeout", "60", "--twin", str(twin.state_dir))
    assert outcome.code == 1
    assert "ZonalAllocationFailed" in outcome.err
    assert "Traceback" not in outcome.err


# -- issue 25: instance actions refuse while pods run on the node, as kubectl drain does ------------------------


def test_restart_refuses_a_node_with_pods_naming_them_and_changes_nothing(
    twin: Twin, connection: Connection, invoke: Invoke
) -> None:
    """Before, `node restart` restarted a node with running pods: no drain, no warning, no budget check."""
    outcome = invoke("node", "restart", NODE, "--twin", str(twin.state_dir))
    assert outcome.code == 2
    assert outcome.err == (
        f"nodewarden: refusing to restart {NODE}: 1 pod(s) that a drain would evict still run on {NODE}: "
        "Deployment/shop/web; no PodDisruptionBudget would be violated; "
        f"drain it first (nodewarden node drain {NODE}) or pass --force\n"
    )
    assert twin.azure.activity_log() == []
    assert connection.kube is not None
    node = connection.kube.get(Node, NODE)
    assert operator_mark.ANNOTATION not in ((node.metadata.annotations if node.metadata else None) or {})
    forced = invoke("node", "restart", NODE, "--force", "--timeout", "60", "--twin", str(twin.state_dir))
    assert forced.code == 0, forced.err
    assert "--force: restart disrupts 1 pod(s) that a drain would evict" in forced.out
    assert f"restart of {NODE} succeeded" in forced.out


def test_a_dry_run_names_the_budgets_stopping_the_vm_would_violate(twin: Twin, invoke: Invoke) -> None:
    busy = "aks-apps-84805669-vmss000000"  # runs db-0, an api pod and a worker pod
    twin.inject("kubelet-hang", target="aks-apps-84805669-vmss000001")  # db-1 and an api pod go unready
    twin.advance(120)
    for action in ("reimage", "redeploy", "deallocate"):
        outcome = invoke("node", action, busy, "--dry-run", "--twin", str(twin.state_dir))
        assert outcome.code == 2
        assert outcome.err.startswith(
            f"nodewarden: would refuse to {action} {busy}: 3 pod(s) that a drain would evict still run on {busy}: "
        )
        for workload in ("StatefulSet/shop/db", "Deployment/shop/api", "Deployment/jobs/worker"):
            assert workload in outcome.err
        assert "; it would violate PodDisruptionBudget shop/api (allows 0 disruption(s), 1 of its pod(s)" in outcome.err
        assert "PodDisruptionBudget shop/db (allows 0 disruption(s), 1 of its pod(s) on the node)" in outcome.err
    outcome = invoke("node", "reimage", busy, "--dry-run", "--force", "--twin", str(twin.state_dir))
    assert outcome.code == 0, outcome.err
    assert f"would disrupt 3 pod(s) that a drain would evict still run on {busy}" in outcome.out
    assert "would reimage instance 0 of aks-apps-84805669-vmss" in outcome.out
    assert twin.azure.activity_log() == []


def test_start_and_a_node_without_pods_need_no_force(twin: Twin, invoke: Invoke) -> None:
    outcome = invoke("node", "restart", SYSTEM, "--timeout", "60", "--twin", str(twin.state_dir))
    assert outcome.code == 0, outcome.err
    assert "--force" not in outcome.out


# -- issue 25: `node replace --dry-run` says what the real run does ------------------------------------------


def _replace(invoke: Invoke, twin: Twin, node: str, *flags: str) -> list[str]:
    outcome = invoke("node", "replace", node, *flags, "--twin", str(twin.state_dir))
    assert outcome.code == 0, outcome.err
    return outcome.out.splitlines()


def test_replace_in_a_fixed_pool_restores_the_count_as_its_dry_run_says(twin: Twin, invoke: Invoke) -> None:
    dry = _replace(invoke, twin, SYSTEM, "--dry-run")
    assert dry[1:] == [
        f"would deleteMachines {SYSTEM} in pool system (count 3 → 2)",
        "then: restore pool system to 3 nodes",
        "dry run: nothing changed",
    ]
    real = _replace(invoke, twin, SYSTEM, "--timeout", "900")
    assert any(line.startswith("pool system restored to 3 nodes") for line in real)
    assert twin.azure.pool("system").count == 3


def test_replace_in_an_autoscaled_pool_leaves_the_count_to_the_autoscaler_as_its_dry_run_says(
    twin: Twin, invoke: Invoke
) -> None:
    """Before, the dry run said "then restore the pool's count" and the real run left the pool one node short."""
    said = (
        "pool apps autoscales (3–12 nodes): AKS takes no manual count, so it is left at 8; "
        "the cluster autoscaler adds a node back only when pods cannot be scheduled"
    )
    dry = _replace(invoke, twin, NODE, "--dry-run", "--force")
    assert dry[-3:] == [
        f"would deleteMachines {NODE} in pool apps (count 9 → 8)",
        f"then: {said}",
        "dry run: nothing changed",
    ]
    real = _replace(invoke, twin, NODE, "--force", "--timeout", "900")
    assert said in real
    assert twin.azure.pool("apps").count == 8


def test_replace_says_when_an_autoscaled_pool_falls_below_its_minimum(twin: Twin, invoke: Invoke) -> None:
    twin.azure.pool("apps").min_count = 9
    dry = _replace(invoke, twin, NODE, "--dry-run", "--force")
    assert dry[-2] == (
        "then: pool apps autoscales (9–12 nodes): AKS takes no manual count, so it is left at 8; the cluster "
        "autoscaler adds a node back only when pods cannot be scheduled. 8 is below the pool's minimum of 9, and "
        "the autoscaler does not scale up to its minimum by itself"
    )


def test_deallocate_on_a_pool_with_ephemeral_os_disks_is_refused_before_any_call(twin: Twin, invoke: Invoke) -> None:
    """Azure cannot deallocate an instance whose OS disk lives on its host (AKS's default): say so, send nothing."""
    for extra in (("--dry-run",), ()):
        outcome = invoke("node", "deallocate", SYSTEM, *extra, "--twin", str(twin.state_dir))
        assert outcome.code == 1
        verb = "would refuse" if extra else "refusing"
        assert f"{verb} to deallocate {SYSTEM}: pool system has ephemeral OS disks" in outcome.err
    assert twin.azure.activity_log() == []
