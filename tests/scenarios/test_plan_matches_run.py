"""Issue 12, item 6: `plan --state-dir S` shows what the next `run` cycle does.

The story: during a zone outage `plan --twin … --state-dir S` proposed Cordon on 7 nodes `run` had already
cordoned and showed none of `run`'s ZoneBreaker holds. It read the journal through a file the running
controller had lost (item 1), and it detected with no memory: `detect(snapshot, {}, …)` made every problem
brand new (nothing had lasted long enough to act on, nothing was being remediated), whereas the controller
carries each node's health from cycle to cycle. The controller now saves that health in the journal and
`plan` starts from it, as the controller's next cycle does.

Here the controller runs in this process on the twin's manual clock; at several moments of a zone outage
`plan -o json` runs at the twin time of the controller's next cycle and is compared with that cycle's plan
(the planner's actions, holds and closures: an acting cycle turns none of them into DryRun holds, so like is
compared with like).
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

from nodewarden.model.remediation import HoldReason, Step
from nodewarden.runtime.controller import CycleReport
from tests.conftest import Invoke
from tests.scenarios.harness import Harness, harness, manual_count
from tests.support import twin_transport

ZONE = "westeurope-1"


def planned_by_run(report: CycleReport) -> dict[str, list[tuple[Any, ...]]]:
    plan, health = report.plan, report.detection.health.values()
    return {
        "actions": sorted((a.step.value, a.subject, a.key) for a in plan.actions),
        "holds": sorted((h.reason.value, h.subject, h.step.value if h.step else None, h.message) for h in plan.holds),
        "closures": sorted((c.episode, c.state.value, c.note) for c in plan.closures),
        "health": sorted((h.node, h.state.value, _z(h.since), _z(h.problem_since)) for h in health),
    }


def planned_by_plan(document: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "actions": sorted((a["step"], a["subject"], a["key"]) for a in document["actions"]),
        "holds": sorted((h["reason"], h["subject"], h["step"], h["message"]) for h in document["holds"]),
        "closures": sorted((c["episode"], c["state"], c["note"]) for c in document["closures"]),
        "health": sorted((h["node"], h["state"], h["since"], h["problemSince"]) for h in document["health"]),
    }


def _z(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def plan_now(h: Harness, invoke: Invoke, state_dir: Path) -> dict[str, Any]:
    shown = invoke("plan", "--twin", str(h.twin.state_dir), "--state-dir", str(state_dir), "-o", "json")
    assert shown.code == 0, shown.err
    document: dict[str, Any] = json.loads(shown.out)
    return document


def test_plan_shows_the_actions_and_holds_of_the_next_run_cycle_during_a_zone_outage(
    tmp_path: Path, invoke: Invoke
) -> None:
    with ExitStack() as stack:
        h = harness(stack, "small", state_dir=tmp_path, in_process=True)
        manual_count(h, "apps")
        # From here only this test moves the clock: the pool scale-out is not waited for, and its poller, left
        # polling in the background, must not move twin time between `plan` and the cycle it is compared with.
        h.twin.arm_api.advance_on_poll = 0
        h.step(0)
        h.twin.inject("zone-outage", target=ZONE)
        compared = []
        for cycle in range(40):
            h.twin.advance(5)
            h.settle()
            if cycle % 3:  # every third cycle is compared: each `plan` lists the whole cluster afresh
                h.step(0)
                continue
            shown = plan_now(h, invoke, tmp_path)  # at the time of the controller's next cycle
            # `plan` reads Azure now; the controller reads it at most every 30 s (ARM's read budget) and plans on
            # that view meanwhile: have this cycle read it afresh, so both plan from the same observation.
            h.controller.observer.refresh_azure()
            report = h.step(0)
            assert shown["now"] == _z(report.now)
            assert planned_by_plan(shown) == planned_by_run(report)
            compared.append(report.plan)
        assert any(p.actions for p in compared), "some moment had actions to compare"
        assert any(hold.reason is HoldReason.ZONE_BREAKER for p in compared for hold in p.holds)
        table = invoke("plan", "--twin", str(h.twin.state_dir), "--state-dir", str(tmp_path))
        assert table.code == 0, table.err
        titles = ("node health at", "wider signals", "holds (decided not to act)")
        assert [table.out.count(title) for title in titles] == [1, 1, 1], table.out
        cordoned = {n for n in h.nodes("apps") if h.cordoned(n)}
        assert cordoned, "the controller cordoned nodes in the zone"
        assert not [a for a in compared[-1].actions if a.step is Step.CORDON and a.subject in cordoned]


def test_a_restarted_controller_carries_each_nodes_health_on_from_the_journal(tmp_path: Path) -> None:
    """Before, a new process started every node afresh: each state's clock restarted, a Recovered node was
    Healthy at once (and `run --once` never saw a repaired node stable for `stableFor`)."""
    with ExitStack() as outer:
        twin = outer.enter_context(twin_transport.twin_in_process("small", advance_on_poll=30))
        with ExitStack() as stack:
            first = harness(stack, "small", state_dir=tmp_path, twin=twin)
            last = [first.step(5) for _ in range(3)][-1]
        with ExitStack() as stack:
            again = harness(stack, "small", state_dir=tmp_path, twin=twin)
            carried = again.step(0)  # the same moment, the same world: the same health
    assert carried.now == last.now
    assert carried.detection.health == last.detection.health
