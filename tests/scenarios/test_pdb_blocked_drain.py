"""Scenario 6: a drain blocked by a PodDisruptionBudget: the blocker is named, the node is held (not
restarted under its pods), the drain is retried, and once the budget allows it the ladder goes on."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from lightkube.resources.policy_v1 import PodDisruptionBudget

from nodewarden.model.remediation import EpisodeState, HoldReason, Outcome, Step
from tests.scenarios.harness import enforce, harness


def test_a_drain_blocked_by_a_budget_names_it_and_holds(tmp_path: Path) -> None:
    policy = enforce(drain={"timeout": "1m", "onTimeout": "hold"})
    with ExitStack() as stack:
        h = harness(stack, "small", policy, state_dir=tmp_path)
        h.step(0)
        kube = h.connection.kube
        assert kube is not None
        kube.patch(PodDisruptionBudget, "web", {"spec": {"maxUnavailable": 0}}, namespace="shop")
        node = next(n for n in h.nodes("apps") if any(p.startswith("web-") for p in h.pods_on(n)))
        h.twin.inject("kernel-deadlock", target=node)

        h.run_until(lambda r: any(e.step is Step.DRAIN for e in r.executed), within=600)
        reports = [h.step(10) for _ in range(24)]  # four more minutes, the budget still refusing

        drains = [e for e in h.episodes(node)[0].entries if e.step is Step.DRAIN]
        assert len(drains) >= 2, "the blocked drain is retried"
        assert all(e.outcome is Outcome.TIMED_OUT for e in drains)
        assert "PodDisruptionBudget shop/web" in drains[0].detail
        assert "Deployment/shop/web" in drains[0].detail
        pdb_holds = [hold for r in reports for hold in r.holds if hold.reason is HoldReason.PDB and hold.node == node]
        assert pdb_holds, "the hold names the budget"
        assert not [s for s, _ in h.steps(node) if s.is_rung], "never restarted under a budget that says no"
        assert "DrainBlocked" in [reason for _, reason in h.events(node)]

        kube.patch(PodDisruptionBudget, "web", {"spec": {"maxUnavailable": 1}}, namespace="shop")
        h.run_until(lambda r: h.closed(node, EpisodeState.RECOVERED), within=1200, step=10)
        steps = h.steps(node)
        assert (Step.DRAIN, Outcome.SUCCEEDED) in steps
        assert (Step.RESTART, Outcome.SUCCEEDED) in steps
        assert h.ready(node)
