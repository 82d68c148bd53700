"""Episode closures: heal decides when and how an episode ends; the runtime only journals the closures."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from nodewarden.heal import lifecycle
from nodewarden.heal.policy import Policy
from nodewarden.model.health import HealthState
from nodewarden.model.remediation import (
    SCALE_EPISODE_PREFIX,
    Closure,
    EpisodeState,
    History,
    JournalEntry,
    Outcome,
    Plan,
    Step,
)
from tests.heal import builders as b
from tests.heal.builders import NOW
from tests.heal.test_planner import nodes, run, snapshot

POOL = "nodepool1"
RECOVERED, FAILED, ABANDONED = EpisodeState.RECOVERED, EpisodeState.FAILED, EpisodeState.ABANDONED
SCALE_EPISODE = f"{SCALE_EPISODE_PREFIX}{POOL}/20261126T073000Z"


def settled(step: Step, outcome: Outcome, *, episode: str = "n@1", attempt: int = 1, detail: str = "") -> JournalEntry:
    return JournalEntry(
        key=f"{episode}/{step.value.lower()}/{attempt}",
        episode=episode,
        step=step,
        subject="n",
        intent_at=NOW,
        outcome=outcome,
        outcome_at=None if outcome is Outcome.PENDING else NOW,
        detail=detail,
    )


@pytest.mark.parametrize(
    ("desc", "entry", "expected"),
    [
        ("a succeeded uncordon recovers the node", settled(Step.UNCORDON, Outcome.SUCCEEDED),
         Closure("n@1", RECOVERED, lifecycle.UNCORDONED)),
        ("a failed uncordon is retried, not closed", settled(Step.UNCORDON, Outcome.FAILED), None),
        ("a succeeded escalation hands the node to a human", settled(Step.ESCALATE, Outcome.SUCCEEDED, detail="why"),
         Closure("n@1", FAILED, "why")),
        ("a failed escalation is retried", settled(Step.ESCALATE, Outcome.FAILED), None),
        ("a rung leaves the episode open", settled(Step.REPLACE, Outcome.SUCCEEDED), None),
        ("a compensation's settled scale-out closes it", settled(Step.SCALE, Outcome.TIMED_OUT, episode=SCALE_EPISODE),
         Closure(SCALE_EPISODE, ABANDONED, lifecycle.NODE_GONE)),
        ("a compensation's pending scale-out does not",
         settled(Step.SCALE, Outcome.PENDING, episode=SCALE_EPISODE), None),
        ("its scale-back lands in the closed episode and closes nothing again",
         settled(Step.SCALE, Outcome.SUCCEEDED, episode=SCALE_EPISODE, attempt=2), None),
    ],
)  # fmt: skip
def test_closure_after_a_settled_step(desc: str, entry: JournalEntry, expected: Closure | None) -> None:
    assert lifecycle.closure_after(entry) == expected, desc


def closures(result: Plan) -> dict[str, tuple[EpisodeState, str]]:
    return {c.episode: (c.state, c.note) for c in result.closures}


def test_an_episode_whose_node_went_away_without_a_replace_is_abandoned() -> None:
    ns = nodes()
    gone = b.episode(b.node(POOL, 9), Step.CORDON, Step.DRAIN)
    assert closures(run(ns, {}, History(episodes=(gone,)))) == {gone.id: (ABANDONED, lifecycle.NODE_GONE)}


def test_an_episode_with_a_pending_step_stays_open_though_its_node_is_gone() -> None:
    ns = nodes()
    gone = b.episode(b.node(POOL, 9), Step.CORDON, (Step.DRAIN, Outcome.PENDING))
    assert run(ns, {}, History(episodes=(gone,))).closures == ()


def replaced_episode(*, count: int, ago: timedelta) -> History:
    ep = b.episode(b.node(POOL, 9), Step.CORDON, Step.DRAIN, Step.REPLACE)
    replace_entry = replace(ep.entries[-1], count=count, outcome_at=NOW - ago)
    return History(episodes=(replace(ep, entries=(*ep.entries[:-1], replace_entry)),))


def test_a_replaced_node_recovers_once_its_pool_has_the_count_it_had_ready() -> None:
    ns = nodes(6)
    history = replaced_episode(count=6, ago=timedelta(minutes=5))
    ((state, note),) = closures(run(ns, {}, history)).values()
    assert (state, note) == (RECOVERED, f"replaced; pool {POOL} has 6 Ready")


def test_a_replacement_still_coming_within_its_step_timeout_keeps_the_episode_open() -> None:
    ns = nodes(6)
    history = replaced_episode(count=7, ago=timedelta(minutes=29))
    assert run(ns, {}, history).closures == ()


def test_a_replacement_that_never_came_fails_the_episode_after_its_step_timeout() -> None:
    ns = nodes(6)
    history = replaced_episode(count=7, ago=timedelta(minutes=31))
    ((state, note),) = closures(run(ns, {}, history)).values()
    assert state is FAILED
    assert note == f"replacement did not become Ready within 1800s; pool {POOL} short of nodes"


def test_an_uncordoned_episode_left_open_by_a_crash_is_closed_by_the_next_plan() -> None:
    # The executor closes an episode the moment its uncordon succeeds. A process killed between journaling
    # that outcome and the closure left the episode open, and the ladder waited "for the episode to close"
    # for ever: nothing else closed it. The plan now does, from the episode's last entry.
    ns = nodes()
    ep = b.episode(ns[0], Step.CORDON, Step.DRAIN, Step.RESTART, Step.UNCORDON)
    result = run(ns, {}, History(episodes=(ep,)))
    assert closures(result) == {ep.id: (RECOVERED, lifecycle.UNCORDONED)}


def test_caches_not_synced_close_nothing_since_a_node_missing_from_them_may_not_be_gone() -> None:
    ns = nodes()
    gone = b.episode(b.node(POOL, 9), Step.CORDON, Step.DRAIN)
    history = History(episodes=(gone,))
    assert run(ns, {}, history, synced=False).closures == ()
    stale = run(ns, {}, history, observed_at=NOW - timedelta(hours=1))
    assert stale.closures == ()


def test_a_paused_policy_still_closes_the_episodes_that_ended() -> None:
    ns = nodes()
    gone = b.episode(b.node(POOL, 9), Step.CORDON, Step.DRAIN)
    pol = Policy.model_validate(
        {"apiVersion": "nodewarden.io/v1", "kind": "RemediationPolicy", "spec": {"paused": True}}
    )
    result = run(ns, {}, History(episodes=(gone,)), pol=pol)
    assert result.actions == ()
    assert closures(result) == {gone.id: (ABANDONED, lifecycle.NODE_GONE)}


def test_closures_read_detections_ready_nodes_of_the_episodes_pool() -> None:
    ns = nodes(6)
    history = replaced_episode(count=6, ago=timedelta(minutes=5))
    healths = [b.health(n, HealthState.HEALTHY, ready=i != 0) for i, n in enumerate(ns)]  # one not Ready
    pol = Policy.model_validate({"apiVersion": "nodewarden.io/v1", "kind": "RemediationPolicy", "spec": {}})
    found = lifecycle.plan_closures(snapshot(ns), b.detection(*healths), history, pol, now=NOW)
    assert found == ()
