"""`nodewarden node …` in-process through the real entry point, against the twin."""

from __future__ import annotations

from lightkube.resources.core_v1 import Node

from nodewarden.connection import Connection
from nodewarden.twin.service import Twin
from tests.conftest import Invoke

NODE = "aks-apps-84805669-vmss000003"


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
    outcome = invoke("node", "reimage", NODE, "--dry-run", "--twin", str(twin.state_dir))
    assert outcome.code == 0, outcome.err
    assert "would reimage instance 3 of aks-apps-84805669-vmss" in outcome.out
    assert twin.azure.activity_log() == []


def test_node_restart_reports_the_operation(twin: Twin, invoke: Invoke) -> None:
    outcome = invoke("node", "restart", NODE, "--timeout", "60", "--twin", str(twin.state_dir))
    assert outcome.code == 0, outcome.err
    assert "restart of aks-apps-84805669-vmss/virtualMachines/3 started: operation" in outcome.out
    assert f"restart of {NODE} succeeded" in outcome.out


def test_a_busy_instance_exits_1_and_an_unknown_node_exits_2(twin: Twin, invoke: Invoke) -> None:
    twin.azure.act("restart", NODE)
    outcome = invoke("node", "redeploy", NODE, "--twin", str(twin.state_dir))
    assert outcome.code == 1
    assert "busy (ProvisioningState/updating)" in outcome.err
    outcome = invoke("node", "cordon", "no-such-node", "--twin", str(twin.state_dir))
    assert outcome.code == 2
    assert outcome.err.strip() == "nodewarden: node no-such-node: not found in the cluster"


def test_a_failed_operation_exits_1_with_the_arm_code(twin: Twin, invoke: Invoke) -> None:
    twin.inject("zone-outage", target="1")  # vmss000003 is in zone 1
    outcome = invoke("node", "reimage", NODE, "--timeout", "60", "--twin", str(twin.state_dir))
    assert outcome.code == 1
    assert "ZonalAllocationFailed" in outcome.err
    assert "Traceback" not in outcome.err
