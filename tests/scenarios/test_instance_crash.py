"""Scenario 1: one instance crashes. Detected from the lease before Kubernetes marks the node Unknown;
cordon, drain, restart; the node comes back and is uncordoned; the journal and Events tell the story."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from nodewarden.model.health import HealthState
from nodewarden.model.incident import CauseKind
from nodewarden.model.remediation import EpisodeState, Outcome, Step
from nodewarden.state import IncidentStore
from tests.scenarios.harness import harness


def test_a_crashed_instance_is_restarted_and_uncordoned(tmp_path: Path) -> None:
    with ExitStack() as stack:
        h = harness(stack, "small", state_dir=tmp_path)
        h.step(0)
        node = h.nodes("apps")[0]
        crashed_at = h.twin.clock.now()
        h.twin.inject("instance-crash", target=node)

        detected = h.run_until(lambda r: r.detection.health[node].state is HealthState.UNHEALTHY, within=60, step=5)
        detected_after = (detected.now - crashed_at).total_seconds()
        assert detected_after < 40, "detected from the lease, ahead of the node controller's 40 s grace period"
        assert h.ready_status(node) == "True", "Kubernetes still thinks the node is Ready"

        h.run_until(lambda r: h.closed(node, EpisodeState.RECOVERED), within=900)

        assert [step for step, outcome in h.steps(node) if outcome is Outcome.SUCCEEDED] == [
            Step.CORDON, Step.DRAIN, Step.RESTART, Step.UNCORDON,
        ]  # fmt: skip
        assert h.ready(node)
        assert not h.cordoned(node)
        assert len(h.arm_operations("Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action")) == 1
        assert h.metric("nodewarden_actions_total", step="Restart", outcome="succeeded") == 1
        assert h.metric("nodewarden_detection_seconds_count") >= 1
        assert 0 < h.metric("nodewarden_detection_seconds_sum") < 40 * h.metric("nodewarden_detection_seconds_count")
        assert h.metric("nodewarden_recovery_seconds_count") == 1
        h.step(5)
        assert h.metric("nodewarden_node_health_state", node=node, state="Recovered") == 1
        reasons = [reason for _, reason in h.events(node)]
        for expected in ("Cordon", "Drain", "OperationStarted", "OperationSucceeded", "Uncordon"):
            assert expected in reasons, f"no {expected} Event on the node: {reasons}"

        with IncidentStore.open(tmp_path) as store:
            [incident] = store.list()
        assert incident.nodes == (node,)
        assert "StatefulSet/shop/db" in incident.workloads, "the workloads that ran on the node"
        assert "shop/db-0" in incident.pods
        assert incident.impact_start <= crashed_at + timedelta(seconds=10), "impact starts at the last heartbeat"
        assert incident.detected_at <= detected.now
        assert incident.mttd is not None
        assert incident.mttd < 40
        assert incident.mitigation_started_at is not None
        assert incident.mttr is not None
        assert [e.step for e in incident.actions][:3] == [Step.CORDON, Step.DRAIN, Step.RESTART]
        assert incident.hypotheses[0].cause is CauseKind.HOST_FAILURE, incident.hypotheses
