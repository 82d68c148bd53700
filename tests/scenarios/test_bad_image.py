"""Scenario 3: a bad node image. Restart, reimage and redeploy do not help, nor does replacing the node:
the replacement fails the same way, so nodewarden quarantines it and hands it to a human — no loop."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from nodewarden.model.remediation import EpisodeState, HoldReason, Step
from tests.scenarios.harness import Harness, enforce, harness, manual_count

SHORT = {"restart": "3m", "reimage": "3m", "redeploy": "3m", "replace": "5m"}
REPLACE = "Microsoft.ContainerService/managedClusters/agentPools/deleteMachines/action"


def test_a_bad_image_is_quarantined_and_escalated_not_looped(tmp_path: Path) -> None:
    with ExitStack() as stack:
        h = harness(stack, "small", enforce(stepTimeouts=SHORT), state_dir=tmp_path, in_process=True)
        manual_count(h, "apps")
        h.step(0)
        node = h.nodes("apps")[4]
        h.twin.inject("bad-image", target="apps")
        azure = h.connection.azure
        assert azure is not None
        vmss, instance = _instance(h, node)
        node_rg = azure.target.node_resource_group
        assert node_rg is not None
        # a node image upgrade reimages the node onto the bad image
        azure.compute.virtual_machine_scale_set_vms.begin_reimage(node_rg, vmss, instance).result()

        h.run_until(lambda r: h.closed(node, EpisodeState.FAILED) or h.closed(node, EpisodeState.RECOVERED),
                    within=3600, step=15)  # fmt: skip
        tried = [step for step, _ in h.steps(node) if step.is_rung]
        assert tried == [Step.RESTART, Step.REIMAGE, Step.REDEPLOY, Step.REPLACE]

        reports = [h.step(60) for _ in range(60)]  # another hour: no loop
        assert len(h.arm_operations(REPLACE)) == 1, "replaced once, never again"
        replacements = [n for n in h.nodes("apps") if n != node and not h.ready(n)]
        assert replacements, "the replacement is on the same bad image and never became Ready"
        escalated = [e for r in h.reports for e in r.executed if e.step is Step.ESCALATE]
        assert escalated, "handed to a human"
        assert {e.node for e in escalated} & set(replacements)
        quarantined = [hold for r in reports for hold in r.holds if hold.reason is HoldReason.QUARANTINED]
        assert quarantined or all(h.closed(n, EpisodeState.FAILED) for n in replacements)
        later_rungs = [e for r in reports for e in r.executed if e.step.is_rung]
        assert later_rungs == [], "nothing more is tried on the bad image"


def _instance(h: Harness, node: str) -> tuple[str, str]:
    provider = h.node(node)["spec"]["providerID"]
    parts = provider.split("/")
    return parts[-3], parts[-1]
