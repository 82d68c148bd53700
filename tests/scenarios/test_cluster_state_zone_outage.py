"""The record in the cluster when things go wrong around it.

The leader dies with its zone: the other replica, whose state dir holds nothing of the outage, takes the Lease
within a Lease duration and one cycle and carries on the outage handling from the cluster's record: the zone
breaker still holds, the compensation the old leader made is not made again, and when the zone returns it is
the same compensation episode that scales the pool back. And a record a person broke holds its node only."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from lightkube.types import PatchType

from nodewarden.errors import InputError
from nodewarden.model.remediation import EpisodeState, HoldReason, Outcome, Step
from nodewarden.state.cluster.resources import NodeRemediation, object_name
from nodewarden.twin.service import Twin
from tests.scenarios.harness import harness, manual_count
from tests.scenarios.test_leader_election import LEASE_DURATION, TICK, Pair, lease_holder, lease_renewed
from tests.scenarios.test_zone_outage import ZONE, _zone_of
from tests.state.conftest import CRD_FILES


def test_the_other_replica_carries_on_a_zone_outage_when_the_leader_dies_with_the_zone(tmp_path: Path) -> None:
    with ExitStack() as stack:
        twin = stack.enter_context(Twin("small", advance_on_poll=30, manifests=CRD_FILES))
        a_stack = stack.enter_context(ExitStack())
        a = harness(a_stack, "small", state_dir=tmp_path / "a", identity="a", twin=twin, state="cluster")
        b = harness(stack, "small", state_dir=tmp_path / "b", identity="b", twin=twin, state="cluster")
        pair = Pair(twin, a, b, a_stack)
        manual_count(a, "apps")
        pair.round(a, b, seconds=0)
        assert lease_holder(twin) == "a"
        in_zone = [n for n in a.nodes("apps") if _zone_of(a, n) == ZONE]
        twin.inject("zone-outage", target=ZONE)

        # a, the leader, handles the outage until it has compensated: one scale-out of the apps pool.
        for _ in range(60):
            pair.round(a, b)
            if any(e.step is Step.SCALE and e.pool == "apps" for e in a.controller.journal.entries()):
                break
        [scale_out] = [e for e in a.controller.journal.entries() if e.step is Step.SCALE and e.pool == "apps"]
        assert scale_out.leader == "a"

        # a dies with its zone: no more cycles, no Lease release. b takes over within a Lease duration + a cycle.
        last_renewal = lease_renewed(twin)
        while True:
            [report] = pair.round(b)
            if report.leader:
                break
        # twin seconds on the twin's manual clock (it moves only in pair.round): a count of rounds, not wall time
        took_over_after = (twin.clock.now() - last_renewal).total_seconds()
        assert took_over_after <= LEASE_DURATION + TICK, took_over_after

        reports = [pair.round(b)[0] for _ in range(24)]  # two more minutes of the outage, b alone
        assert {h.node for r in reports for h in r.holds if h.reason is HoldReason.ZONE_BREAKER} >= set(in_zone)
        assert not [e for r in reports for e in r.executed if e.step is Step.SCALE], "not compensated again"
        assert not [e for r in reports for e in r.executed if e.node in in_zone and e.step.is_rung]

        twin.inject("zone-restore", target=ZONE)
        b.run_until(lambda r: any(e.step is Step.SCALE and e.count == 9 for e in r.executed), within=1800, step=10)
        [scale_back] = [e for e in b.controller.journal.entries() if e.step is Step.SCALE and e.count == 9]
        assert (scale_back.episode, scale_back.leader, scale_back.outcome) == (
            scale_out.episode,
            "b",
            Outcome.SUCCEEDED,
        )


def test_a_controller_holds_a_node_whose_record_a_person_broke_and_keeps_running(tmp_path: Path) -> None:
    """A NodeRemediation edited by hand into something nodewarden cannot read: the controller warns, holds that
    node (never acts on a record it cannot read) and goes on repairing the others."""
    with ExitStack() as stack:
        twin = stack.enter_context(Twin("small", advance_on_poll=30, manifests=CRD_FILES))
        h = harness(stack, "small", state_dir=tmp_path, twin=twin, state="cluster")
        h.step(0)
        broken, other = h.nodes("apps")[:2]
        twin.inject("instance-crash", target=broken)
        h.run_until(lambda r: bool(h.episodes(broken)), within=300)
        [episode] = h.episodes(broken)
        kube = h.connection.kube
        assert kube is not None
        patch = {"spec": {"causes": ["CosmicRay"]}}
        kube.patch(NodeRemediation, object_name(episode.id), patch, patch_type=PatchType.MERGE)
        twin.inject("instance-crash", target=other)
        h.run_until(lambda r: h.closed(other, EpisodeState.RECOVERED), within=900)
        held = [hold for r in h.reports[-20:] for hold in r.holds if hold.node == broken]
        assert held
        assert {hold.reason for hold in held} == {HoldReason.UNREADABLE_RECORD}
        assert "spec.causes[0]: 'CosmicRay'" in held[-1].message
        assert not [e for r in h.reports[-20:] for e in r.executed if e.node == broken]


def test_a_retention_sweep_the_api_server_refuses_leaves_the_controller_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ExitStack() as stack:
        twin = stack.enter_context(Twin("small", advance_on_poll=30, manifests=CRD_FILES))
        h = harness(stack, "small", state_dir=tmp_path, twin=twin, state="cluster")
        calls: list[datetime] = []

        def refused(now: datetime, retention: timedelta) -> int:
            calls.append(now)
            raise InputError("the Kubernetes API server answered 500 to delete noderemediations.nodewarden.io")

        monkeypatch.setattr(h.controller.journal, "expire", refused)
        report = h.step(0)
        assert (report.acting, len(calls)) == (True, 1)
        assert h.step(60).acting
        assert len(calls) == 1, "tried again only after EXPIRE_EVERY"
