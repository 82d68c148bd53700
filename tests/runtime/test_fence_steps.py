"""The executor carries out FENCE and UNFENCE: the out-of-service taint on the node, added and removed through the
API server, each journaled with its outcome."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest
from lightkube.resources.core_v1 import Node

from nodewarden.act import kube_actions
from nodewarden.heal.fencing import TAINT as FENCE_TAINT
from nodewarden.model.kube import OUT_OF_SERVICE_TAINT
from nodewarden.model.remediation import Outcome, PlannedAction, Step
from nodewarden.runtime.executor import taint_parts
from tests.scenarios.harness import Harness, harness


def _taints(h: Harness, node: str) -> list[tuple[str, str | None, str]]:
    kube = h.connection.kube
    assert kube is not None
    found = kube.get(Node, node)
    assert found.spec is not None
    return [(t.key, t.value, t.effect) for t in found.spec.taints or ()]


def _run(h: Harness, step: Step, node: str, attempt: int = 1) -> tuple[Outcome | None, str]:
    action = PlannedAction(step=step, subject=node, node=node, pool="apps", reason="test",
                           key=f"{node}/{step}/{attempt}", episode=f"{node}@test", taint=FENCE_TAINT)  # fmt: skip
    entry = h.controller.executor.execute(action, h.twin.clock.now())
    return entry.outcome, entry.detail


def test_fence_adds_the_out_of_service_taint_and_unfence_removes_it(tmp_path: Path) -> None:
    with ExitStack() as stack:
        h = harness(stack, "small", state_dir=tmp_path / "state")
        h.step(0)
        node = h.nodes("apps")[0]
        assert _run(h, Step.FENCE, node) == (Outcome.SUCCEEDED, f"fenced: {FENCE_TAINT}")
        assert (OUT_OF_SERVICE_TAINT, "nodeshutdown", "NoExecute") in _taints(h, node)
        assert _run(h, Step.FENCE, node, 2) == (Outcome.SUCCEEDED, "already fenced")  # a step redone does no harm
        assert _run(h, Step.UNFENCE, node)[0] is Outcome.SUCCEEDED
        assert all(key != OUT_OF_SERVICE_TAINT for key, _, _ in _taints(h, node))
        assert _run(h, Step.UNFENCE, node, 2) == (Outcome.SUCCEEDED, "was not fenced")


def test_a_taint_already_there_with_its_time_added_is_not_added_again(tmp_path: Path) -> None:
    """kubectl and the node controller stamp NoExecute taints with timeAdded: still the same taint."""
    with ExitStack() as stack:
        h = harness(stack, "small", state_dir=tmp_path / "state")
        node = h.nodes("apps")[0]
        kube = h.connection.kube
        assert kube is not None
        stamped = {"key": OUT_OF_SERVICE_TAINT, "value": "nodeshutdown", "effect": "NoExecute",
                   "timeAdded": "2026-11-26T08:00:00Z"}  # fmt: skip
        kube.patch(Node, node, {"spec": {"taints": [stamped]}})
        assert not kube_actions.taint(kube, node, key=OUT_OF_SERVICE_TAINT, value="nodeshutdown", effect="NoExecute")


@pytest.mark.parametrize(
    ("taint", "parts"),
    [
        ("node.kubernetes.io/out-of-service=nodeshutdown:NoExecute", ("node.kubernetes.io/out-of-service",
                                                                      "nodeshutdown", "NoExecute")),
        ("example.com/quarantine:NoSchedule", ("example.com/quarantine", None, "NoSchedule")),
        ("k=:NoSchedule", ("k", "", "NoSchedule")),
    ],
)  # fmt: skip
def test_taint_parts_reads_key_value_and_effect(taint: str, parts: tuple[str, str | None, str]) -> None:
    assert taint_parts(taint) == parts


@pytest.mark.parametrize("taint", ["", "no-effect", ":NoSchedule", "k=v:"])
def test_a_taint_without_key_or_effect_is_refused(taint: str) -> None:
    with pytest.raises(ValueError, match="key\\[=value\\]:effect"):
        taint_parts(taint)
