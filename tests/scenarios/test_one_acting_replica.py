"""Issue 12, item 2: exactly one replica acts, even while its Lease is contested mid-action.

The story: two `run --apply` replicas on one twin, `instance-crash` on two nodes, restarted each instance
twice under two correlation ids. The Lease was renewed once per cycle while one action blocked the cycle
for a minute, and nothing re-checked it before each call; under `kube-errors` leadership flapped.

Here every replica is the real controller (its own identity, its own clients; one shared state
directory, as a deployment shares its journal) on the twin's manual clock. Replicas cycle in turn; a
competitor can also tick *during* another replica's action, from a twin timer, which fires while an ARM
poll moves the twin's clock on (advance_on_poll) — the way a second process would, without threads.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client

from nodewarden.connection import connect
from nodewarden.model.remediation import EpisodeState, Outcome, Step
from nodewarden.runtime.leader import LEASE_DURATION, LeaderElector
from nodewarden.twin.azure.activity import ActivityFilter
from nodewarden.twin.service import Twin
from tests.scenarios.harness import Harness, harness
from tests.state.conftest import CRD_FILES

TICK = 5.0  # twin seconds between two rounds of cycles
RESTART = "microsoft.compute/virtualmachinescalesets/virtualmachines/restart/action"


def lease(twin: Twin) -> dict[str, Any]:
    spec: dict[str, Any] = (twin.world.store.peek("leases", "kube-system", "nodewarden") or {}).get("spec", {})
    return spec


def started_operations(twin: Twin) -> dict[tuple[str, str], set[str]]:
    """(instance resource id, operation) → the correlation ids Azure started it under (Activity Log)."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for entry in twin.azure.activity.query(ActivityFilter()):
        if entry["status"]["value"] == "Started" and entry["operationName"]["value"].lower().endswith("/action"):
            found[(entry["resourceId"].lower(), entry["operationName"]["value"].lower())].add(entry["correlationId"])
    return found


def replicas(stack: ExitStack, twin: Twin, count: int, state_dir: Path, *, state: str = "dir") -> list[Harness]:
    """`count` controllers on one twin: sharing one state dir, or (state "cluster") each with its own local dir and
    the record in the cluster's NodeRemediation objects."""
    return [
        harness(stack, "small", state_dir=state_dir if state == "dir" else state_dir / f"replica-{i}",
                identity=f"replica-{i}", twin=twin, state=state)
        for i in range(count)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("count", "state"),
    [(2, "dir"), (3, "dir"), (3, "cluster")],
    ids=["two-replicas", "three-replicas", "three-replicas-record-in-the-cluster"],
)
def test_replicas_under_api_errors_repair_each_instance_once_per_step(tmp_path: Path, count: int, state: str) -> None:
    """One in five Kubernetes calls fails, Lease reads and writes included: a failed renewal is retried and
    does not cost the leader its Lease, so leadership does not flap, and each instance gets one operation per
    ladder step (a step that failed before its call was sent moves the ladder on: restart, then reimage)."""
    with ExitStack() as stack:
        twin = stack.enter_context(Twin("small", advance_on_poll=30, manifests=CRD_FILES))
        group = replicas(stack, twin, count, tmp_path, state=state)
        for h in group:
            h.step(0)
        crashed = group[0].nodes("apps")[:2]
        for node in crashed:
            twin.inject("instance-crash", target=node)
        twin.inject("kube-errors", rate=0.2)

        leaders: list[str | None] = []  # per round: the replica whose cycle said it leads
        started = twin.clock.now()
        while not all(group[0].closed(node, EpisodeState.RECOVERED) for node in crashed):
            twin.advance(TICK)
            reports = []
            for h in group:
                h.settle()
                reports.append(h.controller.cycle())
            leading = [h.controller.elector for h, r in zip(group, reports, strict=True) if r.leader]
            assert len(leading) <= 1, "two replicas led in one round"
            leaders.append(leading[0].identity if leading and leading[0] else None)
            assert (twin.clock.now() - started).total_seconds() <= 1200, "the crashed nodes did not recover"
        twin.inject("kube-errors", rate=0.0)
        elapsed = (twin.clock.now() - started).total_seconds()

        operations = started_operations(twin)
        assert {resource.rsplit("/", 1)[-1] for resource, _ in operations} == {node[-1] for node in crashed}, operations
        twice = {key: ids for key, ids in operations.items() if len(ids) > 1}
        assert not twice, f"an instance was repaired twice in one ladder step: {twice}"
        journaled = {e.correlation_id: e for h in group[:1] for ep in h.episodes() for e in ep.entries}
        assert set().union(*operations.values()) <= set(journaled), "every operation is a journaled intent"
        identities = {h.controller.elector.identity for h in group if h.controller.elector}
        assert all(journaled[c].leader in identities for ids in operations.values() for c in ids), (
            "intents name a holder"
        )
        assert all(journaled[c].lease_transitions is not None for ids in operations.values() for c in ids)

        changes = sum(1 for before, after in itertools.pairwise(leaders) if before != after)
        assert changes <= elapsed / LEASE_DURATION, f"{changes} leadership changes in {elapsed:g}s: {leaders}"
        assert int(lease(twin).get("leaseTransitions") or 0) <= elapsed / LEASE_DURATION


@pytest.fixture
def contested(tmp_path: Path) -> Iterator[tuple[Twin, Harness, Harness]]:
    with ExitStack() as stack:
        twin = stack.enter_context(Twin("small", advance_on_poll=30))
        a, b = replicas(stack, twin, 2, tmp_path)
        yield twin, a, b


def competing(twin: Twin, elector: LeaderElector) -> LeaderElector:
    """`elector` ticks every 2 s of twin time from a twin timer: while the leader waits on an ARM poll that moves
    the clock, it keeps trying to take the Lease, as another process would."""

    def tick() -> None:
        elector.tick(twin.clock.now())

    twin.clock.call_every(2.0, tick)
    return elector


def rival(twin: Twin) -> LeaderElector:
    client: Client | None = connect(twin=twin.state_dir, need_azure=False).kube
    assert client is not None
    return competing(twin, LeaderElector(client, identity="rival"))


def test_a_long_arm_operation_keeps_the_lease_renewed(tmp_path: Path) -> None:
    """A restart whose polls move the clock 4 s at a time (a minute or more in all) never lets a competitor
    ticking every 2 s take the Lease: each poll renews it when due."""
    with ExitStack() as stack:
        twin = stack.enter_context(Twin("small", advance_on_poll=4))
        [a] = replicas(stack, twin, 1, tmp_path)
        a.step(0)
        other = rival(twin)
        node = a.nodes("apps")[0]
        twin.inject("instance-crash", target=node)
        a.run_until(lambda r: a.closed(node, EpisodeState.RECOVERED), within=900)
        [episode] = a.episodes(node)
        restart = next(e for e in episode.entries if e.step is Step.RESTART)
        assert restart.outcome_at is not None
        assert (restart.outcome_at - restart.intent_at).total_seconds() > LEASE_DURATION, "the restart was not long"
        assert [(e.step, e.outcome) for e in episode.entries] == [
            (Step.CORDON, Outcome.SUCCEEDED), (Step.DRAIN, Outcome.SUCCEEDED), (Step.RESTART, Outcome.SUCCEEDED),
            (Step.UNCORDON, Outcome.SUCCEEDED),
        ]  # fmt: skip
        assert not other.is_leader
        assert (lease(twin)["holderIdentity"], lease(twin)["leaseTransitions"]) == ("replica-0", 0)


def test_a_replica_whose_lease_is_taken_mid_action_changes_nothing_more(
    contested: tuple[Twin, Harness, Harness],
) -> None:
    """Polls that move the clock 30 s at a time let the competitor take the Lease during a's restart: a finishes
    waiting but sends nothing after (no success Event, no uncordon); its intent stays pending, and b settles it
    from the Activity Log without a second restart."""
    twin, a, b = contested
    a.step(0)
    b.step(0)
    node = a.nodes("apps")[0]
    twin.inject("instance-crash", target=node)
    a.run_until(lambda r: any(e.step is Step.DRAIN and e.outcome is Outcome.SUCCEEDED for e in r.executed), within=300)
    assert b.controller.elector is not None
    competing(twin, b.controller.elector)
    report = a.step(TICK)
    assert b.controller.elector.is_leader, "b took the Lease during a's restart"
    assert report.executed == ()
    [episode] = a.episodes(node)
    restart = next(e for e in episode.entries if e.step is Step.RESTART)
    assert restart.outcome is Outcome.PENDING, "a stopped before settling: its intent is left to the leader"
    assert restart.leader == "replica-0"
    assert len(started_operations(twin)[next(k for k in started_operations(twin) if k[1] == RESTART)]) == 1
    assert ("Restart", "OperationSucceeded") not in a.events(node), "a posted nothing after losing the Lease"
    assert a.cordoned(node)

    settled = b.step(TICK)
    assert [(e.key, e.outcome) for e in settled.resumed] == [(restart.key, Outcome.SUCCEEDED)]
    assert "found in the Activity Log" in settled.resumed[0].detail
    assert a.events(node).count(("Restart", "OperationSucceeded")) == 1, "b posted the Event a could not"
    for _ in range(3):
        later = a.step(TICK)
        assert not later.acting
        assert later.executed == ()
    restarts = [ids for key, ids in started_operations(twin).items() if key[1] == RESTART]
    assert restarts == [{restart.correlation_id}]
