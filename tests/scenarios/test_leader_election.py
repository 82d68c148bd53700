"""Scenario 9: two controllers run; only the leader acts; when it dies the other takes over.

Both controllers watch the same twin, each with its own identity, and share one journal (the state
directory): a replica that takes over must see the open episode and any intent the old leader left
without an outcome, or it would start the ladder again from the top, or repeat an ARM call — exact-once
across a failover needs the shared journal (README.md, "The controller"). (Separate journals would each be
complete only for the time their controller led.) Both cycle on every tick, so the follower keeps its
node health current and is ready the moment the Lease is free.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from nodewarden.model.remediation import EpisodeState, HoldReason, Outcome, Step
from nodewarden.runtime import executor
from nodewarden.runtime.controller import CycleReport
from nodewarden.twin.service import Twin
from tests.scenarios.harness import Harness, harness

RESTART = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action"
LEASE_DURATION = 15.0  # LeaderElector's default leaseDurationSeconds
TICK = 5.0  # twin seconds between two rounds of cycles


@dataclass
class Pair:
    twin: Twin
    a: Harness
    b: Harness
    a_stack: ExitStack  # closing it shuts controller a down cleanly (it releases the Lease)

    def round(self, *alive: Harness, seconds: float = TICK) -> list[CycleReport]:
        """Advance the twin once, then one cycle of each live controller, in order."""
        self.twin.advance(seconds)
        return [h.step(0) for h in alive]

    def rounds(self, *alive: Harness, count: int) -> None:
        for _ in range(count):
            self.round(*alive)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    with ExitStack() as stack:
        twin = stack.enter_context(Twin("small", advance_on_poll=30))
        a_stack = stack.enter_context(ExitStack())
        a = harness(a_stack, "small", state_dir=tmp_path, identity="a", twin=twin)
        b = harness(stack, "small", state_dir=tmp_path, identity="b", twin=twin)
        yield Pair(twin, a, b, a_stack)


def lease_holder(twin: Twin) -> str | None:
    lease = twin.world.store.peek("leases", "kube-system", "nodewarden") or {}
    return lease.get("spec", {}).get("holderIdentity") or None


def lease_renewed(twin: Twin) -> datetime:
    return datetime.fromisoformat(twin.world.store.get("leases", "kube-system", "nodewarden")["spec"]["renewTime"])


def test_only_the_leader_acts_and_the_follower_takes_over_when_it_dies(pair: Pair) -> None:
    twin, a, b = pair.twin, pair.a, pair.b
    first_a, first_b = pair.round(a, b, seconds=0)
    assert (first_a.leader, first_b.leader) == (True, False), "a asked first and holds the Lease"
    assert lease_holder(twin) == "a"

    node = a.nodes("apps")[0]
    twin.inject("instance-crash", target=node)

    # Both detect; a cordons and drains; b plans the same steps and holds them as NOT_LEADER.
    while not a.episodes(node) or not a.episodes(node)[0].done(Step.DRAIN):
        ra, rb = pair.round(a, b)
        assert ra.acting
        assert not rb.acting
        assert not rb.leader
        assert rb.executed == ()
        assert rb.resumed == ()
        if rb.plan.actions:
            assert {h.reason for h in rb.holds} >= {HoldReason.NOT_LEADER}
            assert all(h.reason is HoldReason.NOT_LEADER for h in rb.holds if h.step in (Step.CORDON, Step.DRAIN))
        assert (twin.clock.now() - first_a.now).total_seconds() < 120, "a did not drain the node"
    assert any(h.reason is HoldReason.NOT_LEADER for r in b.reports for h in r.holds), "b never held anything"
    [episode] = a.episodes(node)
    assert [(e.step, e.outcome) for e in episode.entries] == [
        (Step.CORDON, Outcome.SUCCEEDED), (Step.DRAIN, Outcome.SUCCEEDED),
    ]  # fmt: skip
    assert a.arm_operations(RESTART) == [], "nobody restarted the instance yet"

    # a dies without releasing the Lease: b waits out the lease duration, then leads and finishes.
    died_renewal = lease_renewed(twin)
    waited: list[CycleReport] = []
    while not (report := pair.round(b)[0]).leader:
        waited.append(report)
        assert not report.acting
        assert report.executed == ()
        assert len(waited) < 10, "b never took over"
    took_over_after = (report.now - died_renewal).total_seconds()
    assert LEASE_DURATION < took_over_after <= LEASE_DURATION + TICK
    assert len(waited) >= 2, "b waited out the Lease instead of grabbing it"
    assert lease_holder(twin) == "b"

    b.run_until(lambda r: b.closed(node, EpisodeState.RECOVERED), within=600)
    [episode] = b.episodes(node)
    assert episode.id == a.episodes(node)[0].id, "b resumed a's episode rather than starting another"
    assert [(e.step, e.outcome) for e in episode.entries] == [
        (Step.CORDON, Outcome.SUCCEEDED), (Step.DRAIN, Outcome.SUCCEEDED), (Step.RESTART, Outcome.SUCCEEDED),
        (Step.UNCORDON, Outcome.SUCCEEDED),
    ]  # fmt: skip
    assert len(b.arm_operations(RESTART)) == 1
    assert b.ready(node)
    assert not b.cordoned(node)
    assert all(e.step not in (Step.CORDON, Step.DRAIN) for r in b.reports for e in r.executed), "b repeated a's steps"


def test_only_the_leader_saves_node_health_for_plan_to_carry_on_from(pair: Pair) -> None:
    """The follower runs detection too, from its own, older memory; were it to save its health into the shared
    journal after the leader, `plan --state-dir` would start from the follower's state machine, not the one the
    next acting cycle carries on from."""
    twin, a, b = pair.twin, pair.a, pair.b
    pair.round(a, b, seconds=0)
    node = a.nodes("apps")[0]
    twin.inject("instance-crash", target=node)
    for _ in range(4):  # b cycles every other round (busy elsewhere): its memory falls behind a's
        pair.round(a)
        ra, rb = pair.round(a, b)
    assert ra.leader
    assert not rb.leader
    assert rb.detection.health[node] != ra.detection.health[node], "the two memories differ"
    assert b.controller.journal.node_health(now=ra.now) == ra.detection.health


def test_a_clean_shutdown_hands_over_at_the_next_cycle(pair: Pair) -> None:
    twin, a, b = pair.twin, pair.a, pair.b
    ra, rb = pair.round(a, b, seconds=0)
    assert ra.leader
    assert not rb.leader

    pair.a_stack.close()  # SIGTERM path: controller_for's exit releases the Lease
    assert lease_holder(twin) is None

    [rb] = pair.round(b, seconds=1)
    assert rb.leader, "b leads at its very next cycle, without waiting out the lease duration"
    assert rb.acting
    assert lease_holder(twin) == "b"
    lease = twin.world.store.get("leases", "kube-system", "nodewarden")["spec"]
    assert lease["leaseTransitions"] == 1


class Died(BaseException):
    """Stands for SIGKILL inside this process: nothing after the failpoint runs, nothing catches it."""


def test_a_new_leader_settles_the_old_leaders_unfinished_intent(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """a journals a restart and dies before sending it: b, once it leads, sends it exactly once."""
    twin, a, b = pair.twin, pair.a, pair.b
    pair.round(a, b, seconds=0)
    node = a.nodes("apps")[0]
    twin.inject("instance-crash", target=node)

    def die_after_intent(name: str, step: Step) -> None:
        if (name, step) == ("after-intent", Step.RESTART):
            raise Died

    monkeypatch.setattr(executor, "failpoint", die_after_intent)  # the failpoint, minus the SIGKILL
    with pytest.raises(Died):
        pair.rounds(a, b, count=24)
    monkeypatch.undo()
    [episode] = a.episodes(node)
    [intent] = [e for e in episode.entries if e.step is Step.RESTART]
    assert intent.outcome is Outcome.PENDING
    assert a.arm_operations(RESTART) == []

    for _ in range(10):
        if (report := pair.round(b)[0]).acting:
            break
        assert report.resumed == ()
    else:
        raise AssertionError("b never took over")
    assert [(e.key, e.outcome) for e in report.resumed] == [(intent.key, Outcome.SUCCEEDED)]
    [started] = b.arm_operations(RESTART)
    assert started["correlationId"] == intent.correlation_id
    b.run_until(lambda r: b.closed(node, EpisodeState.RECOVERED), within=600)
    assert len(b.arm_operations(RESTART)) == 1
    [episode] = b.episodes(node)
    assert [e.step for e in episode.entries] == [Step.CORDON, Step.DRAIN, Step.RESTART, Step.UNCORDON]


def test_a_replica_that_leads_again_settles_what_was_left_meanwhile(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """a led first (and settled what it found then); b took over while a stalled, journaled a restart and died
    before sending it: a, leading again, settles that intent too — resuming is not a once-per-process thing."""
    twin, a, b = pair.twin, pair.a, pair.b
    [first] = pair.round(a, seconds=0)
    assert first.acting
    for _ in range(10):  # a's process stalls; b waits out the Lease and takes over
        if pair.round(b)[0].acting:
            break
    else:
        raise AssertionError("b never took over")
    node = b.nodes("apps")[0]
    twin.inject("instance-crash", target=node)

    def die_after_intent(name: str, step: Step) -> None:
        if (name, step) == ("after-intent", Step.RESTART):
            raise Died

    monkeypatch.setattr(executor, "failpoint", die_after_intent)
    with pytest.raises(Died):
        pair.rounds(b, count=24)
    monkeypatch.undo()
    [intent] = [e for e in b.episodes(node)[0].entries if e.step is Step.RESTART]
    assert (intent.outcome, intent.leader) == (Outcome.PENDING, "b")

    for _ in range(10):
        if (report := pair.round(a)[0]).acting:
            break
    else:
        raise AssertionError("a never led again")
    assert [(e.key, e.outcome) for e in report.resumed] == [(intent.key, Outcome.SUCCEEDED)]
    assert [s["correlationId"] for s in a.arm_operations(RESTART)] == [intent.correlation_id]
