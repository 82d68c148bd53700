"""Scenario 2: a kubelet hangs on a running VM: restart; if that does not help, reimage."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from nodewarden.model.remediation import EpisodeState, Outcome, Step
from tests.scenarios.harness import enforce, harness

RESTART = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action"
REIMAGE = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/reimage/action"


def test_a_hung_kubelet_is_fixed_by_a_restart(tmp_path: Path) -> None:
    with ExitStack() as stack:
        h = harness(stack, "small", state_dir=tmp_path, in_process=True)
        h.step(0)
        node = h.nodes("apps")[1]
        h.twin.inject("kubelet-hang", target=node)
        h.run_until(lambda r: h.closed(node, EpisodeState.RECOVERED), within=900)
        succeeded = [step for step, outcome in h.steps(node) if outcome is Outcome.SUCCEEDED]
        assert succeeded == [Step.CORDON, Step.DRAIN, Step.RESTART, Step.UNCORDON]
        assert len(h.arm_operations(RESTART)) == 1
        assert h.arm_operations(REIMAGE) == []
        assert h.ready(node)


def test_when_the_restart_fails_the_ladder_climbs_to_reimage(tmp_path: Path) -> None:
    with ExitStack() as stack:
        h = harness(stack, "small", state_dir=tmp_path, in_process=True)
        h.step(0)
        node = h.nodes("apps")[1]
        h.twin.inject("kubelet-hang", target=node)
        h.twin.azure.fail_operations(1.0)  # the restart operation ends Failed
        h.run_until(lambda r: any(e.step is Step.RESTART for e in r.executed), within=300)
        h.twin.azure.fail_operations(0.0)
        h.run_until(lambda r: h.closed(node, EpisodeState.RECOVERED), within=1800)
        steps = h.steps(node)
        assert (Step.RESTART, Outcome.FAILED) in steps
        assert (Step.REIMAGE, Outcome.SUCCEEDED) in steps
        assert steps[-1] == (Step.UNCORDON, Outcome.SUCCEEDED)
        assert h.ready(node)


def test_when_the_node_stays_down_after_a_restart_it_is_reimaged(tmp_path: Path) -> None:
    policy = enforce(stepTimeouts={"restart": "3m", "reimage": "15m", "redeploy": "20m", "replace": "30m"})
    with ExitStack() as stack:
        h = harness(stack, "small", policy, state_dir=tmp_path, in_process=True)
        h.step(0)
        node = h.nodes("apps")[1]
        h.twin.inject("kubelet-hang", target=node)
        h.run_until(lambda r: any(e.step is Step.RESTART for e in r.executed), within=300)
        restarted_at = h.twin.clock.now()
        for _ in range(300):  # twin seconds until the kubelet is back, without a controller cycle in between
            if h.renewed_since(node, restarted_at):
                break
            h.twin.advance(1)
        h.twin.inject("kubelet-hang", target=node)  # it hangs again right after the reboot
        report = h.run_until(lambda r: any(e.step is Step.REIMAGE for e in r.executed), within=600)
        restarted = next(e for e in h.episodes(node)[0].entries if e.step is Step.RESTART)
        assert restarted.outcome_at is not None
        waited = (report.now - restarted.outcome_at).total_seconds()
        assert waited >= 180, "the restart was given its verification time before the ladder climbed"
        h.run_until(lambda r: h.closed(node, EpisodeState.RECOVERED), within=1800)
        assert len(h.arm_operations(RESTART)) == 1
        assert len(h.arm_operations(REIMAGE)) == 1
        assert h.ready(node)
