"""Grouping signals into incidents: one crash, one zone outage, two separate crashes; ids, times and states."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from nodewarden.incidents import group as grouping
from nodewarden.model.drill import Verdict
from nodewarden.model.health import PROBLEMS, SignalKind
from nodewarden.model.incident import ChangeRecord, HoldRecord, Incident, IncidentState, SignalRecord
from nodewarden.model.remediation import Episode, EpisodeState, Hold, HoldReason, JournalEntry, Outcome, Step

T0 = datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC)
ZONE = "westeurope-1"
NODE = "aks-apps-12345678-vmss000001"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def rec(
    kind: SignalKind = SignalKind.HEARTBEAT_STALE,
    node: str | None = NODE,
    *,
    since: float = 0,
    first: float = 50,
    last: float = 300,
    pool: str | None = "apps",
    zone: str | None = ZONE,
    subject: str | None = None,
    condition: str | None = None,
) -> SignalRecord:
    return SignalRecord(
        kind=kind, subject=subject or node or "?", since=at(since), first_seen=at(first), last_seen=at(last),
        message=f"{kind.value} on {subject or node}", node=node, pool=pool, zone=zone,
        instance=f"aks-{pool}-12345678-vmss/{node[-1]}" if node and pool else None, condition=condition,
    )  # fmt: skip


def step(
    step_: Step, when: float, done: float | None, *, node: str = NODE, outcome: Outcome = Outcome.SUCCEEDED
) -> JournalEntry:
    episode = f"{node}@T0"
    return JournalEntry(
        key=f"{episode}/{step_.value.lower()}/1", episode=episode, step=step_, subject=node, intent_at=at(when),
        outcome=outcome if done is not None else Outcome.PENDING, outcome_at=at(done) if done is not None else None,
        node=node, pool="apps",
    )  # fmt: skip


def episode(*, state: EpisodeState = EpisodeState.RECOVERED, closed: float | None = 331) -> Episode:
    return Episode(
        id=f"{NODE}@T0", node=NODE, opened_at=at(120), pool="apps", zone=ZONE, state=state,
        closed_at=at(closed) if closed is not None else None,
    )  # fmt: skip


CRASH = (rec(), rec(SignalKind.NOT_READY, since=40, first=60))
REMEDIATION = (step(Step.CORDON, 120, 121), step(Step.RESTART, 180, 240), step(Step.UNCORDON, 330, 331))


def group(
    signals: tuple[SignalRecord, ...],
    now: float,
    *,
    entries: tuple[JournalEntry, ...] = (),
    episodes: tuple[Episode, ...] = (),
    holds: tuple[HoldRecord, ...] = (),
    changes: tuple[ChangeRecord, ...] = (),
    existing: tuple[Incident, ...] = (),
) -> tuple[Incident, ...]:
    return grouping.group(signals, entries, holds, changes, existing, at(now), episodes=episodes)


def test_every_problem_signal_has_a_cause_family() -> None:
    assert grouping.FAMILY.keys() == PROBLEMS


def test_one_crash_is_one_incident_with_its_five_times_and_mttd_mttr() -> None:
    (incident,) = group(CRASH, 1000, entries=REMEDIATION, episodes=(episode(),))
    assert incident.id == "inc-20261126T080000Z-apps"
    assert incident.title == f"{NODE} down (HeartbeatStale, NotReady)"
    assert (incident.pool, incident.zone, incident.nodes) == ("apps", ZONE, (NODE,))
    assert incident.instances == ("aks-apps-12345678-vmss/1",)
    assert incident.impact_start == at(0)  # the last heartbeat
    assert incident.detected_at == at(50)  # the first cycle that saw it
    assert incident.mitigation_started_at == at(120)  # the cordon's intent
    assert incident.mitigated_at == at(331)  # uncordoned: the episode closed recovered after the signals stopped
    assert incident.resolved_at == at(931)  # ten quiet minutes later
    assert incident.state is IncidentState.RESOLVED
    assert (incident.mttd, incident.mttr) == (50.0, 331.0)
    assert [a.step for a in incident.actions] == [Step.CORDON, Step.RESTART, Step.UNCORDON]


def test_a_crash_is_open_while_seen_or_remediated_and_mitigated_once_back() -> None:
    (seen,) = group(CRASH, 300, entries=REMEDIATION[:2], episodes=(episode(state=EpisodeState.OPEN, closed=None),))
    assert (seen.state, seen.mitigated_at, seen.mttr) == (IncidentState.OPEN, None, None)
    assert seen.mitigation_started_at == at(120)
    (cordoned,) = group(CRASH, 310, entries=REMEDIATION[:2], episodes=(episode(state=EpisodeState.OPEN, closed=None),))
    assert cordoned.state is IncidentState.OPEN  # signals gone, but the node is still cordoned
    (back,) = group(CRASH, 400, entries=REMEDIATION, episodes=(episode(),))
    assert (back.state, back.mitigated_at, back.resolved_at) == (IncidentState.MITIGATED, at(331), None)


def test_a_node_that_came_back_on_its_own_is_mitigated_when_last_seen_failing() -> None:
    (incident,) = group(CRASH, 400)
    assert (incident.state, incident.mitigated_at, incident.mitigation_started_at) == (
        IncidentState.MITIGATED, at(300), None
    )  # fmt: skip


def test_resolved_only_after_quiet_and_once_every_step_finished() -> None:
    (waiting,) = group(CRASH, 899)
    assert waiting.state is IncidentState.MITIGATED
    (quiet,) = group(CRASH, 900)
    assert (quiet.state, quiet.resolved_at) == (IncidentState.RESOLVED, at(900))
    (busy,) = group(CRASH, 2000, entries=(step(Step.CORDON, 120, 121), step(Step.UNCORDON, 330, None)))
    assert busy.state is IncidentState.MITIGATED  # the uncordon's outcome is not known yet
    (late,) = group(CRASH, 2000, entries=(step(Step.CORDON, 120, 1200),))
    assert late.resolved_at == at(1200)


def test_a_new_signal_within_the_window_reopens_a_mitigated_incident() -> None:
    (first,) = group(CRASH, 400)
    again = rec(SignalKind.NOT_READY, since=700, first=720, last=800)
    (incident,) = group((*CRASH, again), 800, existing=(first,))
    assert (incident.id, incident.state, incident.mitigated_at) == (first.id, IncidentState.OPEN, None)


def test_a_resolved_incident_is_final_and_a_later_failure_is_a_new_incident() -> None:
    (resolved,) = group(CRASH, 1000)
    later = rec(since=3000, first=3050, last=3100)
    old, new = group((*CRASH, later), 3100, existing=(resolved,))
    assert old == resolved
    assert (new.id, new.state) == ("inc-20261126T085000Z-apps", IncidentState.OPEN)


def test_a_zone_outage_of_many_nodes_across_two_pools_is_one_incident() -> None:
    apps = [rec(node=f"aks-apps-1-vmss00000{n}", since=n, first=60, last=600) for n in range(6)]
    jobs = [rec(node=f"aks-jobs-2-vmss00000{n}", pool="jobs", since=10 + n, first=60, last=600) for n in range(6)]
    correlation = (
        rec(SignalKind.ZONE_FAILURE, None, subject=ZONE, pool=None, first=60, last=600),
        rec(SignalKind.STORM, None, subject="apps", zone=None, first=60, last=600),
        rec(SignalKind.POOL_FAILURE, None, subject="jobs", pool="jobs", zone=None, first=60, last=600),
    )
    elsewhere = rec(SignalKind.MEMORY_PRESSURE, "aks-system-3-vmss000009", pool="system", zone="westeurope-2", since=30)
    outage, pressure = group((*apps, *jobs, *correlation, elsewhere), 600)
    assert outage.id == f"inc-20261126T080000Z-{ZONE}"
    assert outage.title == f"Zone {ZONE} outage: 12 nodes down"
    assert (outage.zone, outage.pool, len(outage.nodes)) == (ZONE, None, 12)
    assert {s.kind for s in outage.signals} == {
        SignalKind.HEARTBEAT_STALE, SignalKind.ZONE_FAILURE, SignalKind.STORM, SignalKind.POOL_FAILURE
    }  # fmt: skip
    assert pressure.title == "aks-system-3-vmss000009 under pressure (MemoryPressure)"
    assert pressure.id == "inc-20261126T080030Z-system"


def test_a_pool_storm_is_one_incident_for_the_pool() -> None:
    nodes = [rec(node=f"aks-apps-1-vmss00000{n}", zone=f"westeurope-{n % 3 + 1}", since=n) for n in range(5)]
    storm = rec(SignalKind.STORM, None, subject="apps", zone=None)
    (incident,) = group((*nodes, storm), 300)
    assert (incident.title, incident.pool, incident.zone) == ("Pool apps storm: 5 nodes failing", "apps", None)


def test_two_crashes_thirty_minutes_apart_in_one_pool_are_two_incidents() -> None:
    other = "aks-apps-12345678-vmss000002"
    later = (rec(node=other, since=1800, first=1850, last=2100), rec(since=1800, first=1850, last=2100))
    first, second = group((*CRASH, *later), 2100)
    assert first.id == "inc-20261126T080000Z-apps"
    assert second.id == "inc-20261126T083000Z-apps"
    assert second.title == "Pool apps: 2 nodes down (HeartbeatStale)"
    assert first.state is IncidentState.RESOLVED


def test_crashes_in_one_pool_within_the_window_are_one_incident_per_cause_family() -> None:
    other = "aks-apps-12345678-vmss000002"
    pressure = rec(SignalKind.DISK_PRESSURE, "aks-apps-12345678-vmss000003", since=100, first=120)
    down, disk = group((*CRASH, rec(node=other, since=500, first=550, last=900), pressure), 900)
    assert down.nodes == (NODE, other)
    assert disk.title == "aks-apps-12345678-vmss000003 under pressure (DiskPressure)"


def test_a_node_s_signals_stay_together_across_families() -> None:
    kubelet = rec(SignalKind.NODE_PROBLEM, since=-120, first=-60, condition="KubeletProblem")
    (incident,) = group((kubelet, *CRASH), 300)
    assert incident.title == f"{NODE} down (KubeletProblem, HeartbeatStale, NotReady)"


def test_a_continued_incident_keeps_its_id_when_it_grows_into_a_zone_outage() -> None:
    (first,) = group((rec(first=50, last=60),), 60)
    nodes = [rec(node=f"aks-jobs-2-vmss00000{n}", pool="jobs", since=20, first=90, last=120) for n in range(3)]
    zone = rec(SignalKind.ZONE_FAILURE, None, subject=ZONE, pool=None, since=0, first=90, last=120)
    earlier = rec(SignalKind.READY_UNKNOWN, since=-30, first=90, last=120)  # an onset found later, before the first
    (incident,) = group((rec(first=50, last=120), *nodes, zone, earlier), 120, existing=(first,))
    assert incident.id == first.id == "inc-20261126T080000Z-apps"
    assert incident.title == f"Zone {ZONE} outage: 4 nodes down"
    assert incident.impact_start == at(-30)
    assert incident.detected_at == at(50)


def test_a_continued_incident_keeps_what_others_added_to_it() -> None:
    (first,) = group(CRASH, 300)
    enriched = replace(first, drill="kill-node", pods=("web/web-0",), workloads=("Deployment/web/web",))
    (incident,) = group(CRASH, 400, existing=(enriched,))
    assert (incident.drill, incident.pods, incident.workloads) == ("kill-node", ("web/web-0",), ("Deployment/web/web",))


def test_existing_signals_missing_from_the_log_are_kept() -> None:
    (first,) = group(CRASH, 300)
    (incident,) = group((), 300, existing=(first,))
    assert incident == first


def test_holds_and_changes_are_attached_by_node_pool_and_time() -> None:
    holds = (
        HoldRecord(at(200), Hold(HoldReason.PDB, NODE, "web-pdb allows 0", node=NODE, step=Step.DRAIN)),
        HoldRecord(at(200), Hold(HoldReason.STORM, "jobs", "storm", pool="jobs")),
        HoldRecord(at(210), Hold(HoldReason.CLUSTER_BUSY, "aks", "upgrading")),
        HoldRecord(at(-600), Hold(HoldReason.PDB, NODE, "an older one", node=NODE)),
    )
    changes = (
        ChangeRecord(at(-1800), "alice@example.com", "Microsoft.Compute/virtualMachineScaleSets/write", "vmss", "OK"),
        ChangeRecord(at(-7200), "bob@example.com", "Microsoft.Compute/virtualMachineScaleSets/write", "vmss", "OK"),
    )
    (incident,) = group(CRASH, 300, holds=holds, changes=changes)
    assert [h.hold.reason for h in incident.holds] == [HoldReason.PDB, HoldReason.CLUSTER_BUSY]
    assert [c.caller for c in incident.changes] == ["alice@example.com"]


def test_a_new_leader_keeps_the_holds_and_changes_its_predecessor_attached() -> None:
    """With the record in the cluster a new leader's own log starts empty; the stored incident still has its holds
    and changes, and regrouping keeps them (one copy of each, whichever log it came from)."""
    hold = HoldRecord(at(200), Hold(HoldReason.PDB, NODE, "web-pdb allows 0", node=NODE, step=Step.DRAIN))
    change = ChangeRecord(at(-1800), "alice@example.com", "Microsoft.Compute/virtualMachineScaleSets/write", "vmss",
                          "OK", correlation_id="c-1")  # fmt: skip
    (stored,) = group(CRASH, 300, holds=(hold,), changes=(change,))
    (regrouped,) = group(CRASH, 400, existing=(stored,))
    assert (regrouped.holds, regrouped.changes) == ((hold,), (change,))
    (both,) = group(CRASH, 400, holds=(hold,), changes=(change,), existing=(stored,))
    assert (both.holds, both.changes) == ((hold,), (change,))


def test_actions_on_other_nodes_or_before_the_impact_are_not_attached() -> None:
    entries = (step(Step.CORDON, 120, 121, node="aks-apps-12345678-vmss000009"), step(Step.RESTART, -500, -400))
    (incident,) = group(CRASH, 300, entries=entries)
    assert incident.actions == ()


def verdict(ended: float) -> Verdict:
    return Verdict(drill="single-instance-crash", passed=True, fault=f"instance-crash on {NODE}", targets=(NODE,),
                   started_at=at(-5), fault_at=at(0), ended_at=at(ended))  # fmt: skip


def zone_outage(since: float, last: float) -> tuple[SignalRecord, ...]:
    """Four nodes of the zone down from `since`, NODE among them, and the ZoneFailure detection found."""
    nodes = [rec(node=f"aks-apps-12345678-vmss00000{n}", since=since + i, first=since + 30, last=last)
             for i, n in enumerate((1, 3, 5, 7))]  # fmt: skip
    zone = rec(SignalKind.ZONE_FAILURE, None, subject=ZONE, pool=None, since=since, first=since + 30, last=last)
    return (*nodes, zone)


def test_a_crash_and_a_later_zone_outage_on_the_same_node_stay_two_incidents() -> None:
    """Issue 12: a zone outage minutes after a crash took the crash's incident (its id, its impact start) because
    the crashed node failed again in the outage and the crash had ended within the window before it began."""
    outage_cordon = replace(step(Step.CORDON, 640, None), episode=f"{NODE}@T640", key=f"{NODE}@T640/cordon/1")
    # ^ still pending, in the outage's episode: not the crash's
    outage_episode = replace(episode(state=EpisodeState.OPEN, closed=None), id=f"{NODE}@T640", opened_at=at(640))
    crash, outage = group(
        (*CRASH, *zone_outage(600, 900)), 900, entries=(*REMEDIATION, outage_cordon),
        episodes=(episode(), outage_episode),
    )  # fmt: skip
    assert (crash.id, crash.impact_start) == ("inc-20261126T080000Z-apps", at(0))
    assert (outage.id, outage.impact_start) == (f"inc-20261126T081000Z-{ZONE}", at(600))
    assert outage.title == f"Zone {ZONE} outage: 4 nodes down"
    assert [a.step for a in crash.actions] == [Step.CORDON, Step.RESTART, Step.UNCORDON]
    assert crash.mitigated_at == at(331)  # not held open by the outage's steps on the same node
    assert [a.step for a in outage.actions] == [Step.CORDON]


def test_a_drill_incident_takes_no_failure_that_began_after_its_drill_ended() -> None:
    (first,) = group(CRASH, 400)
    drilled = replace(first, drill="single-instance-crash", verdict=verdict(360))
    other = "aks-apps-12345678-vmss000002"
    later = rec(node=other, since=500, first=550, last=700)  # same pool and family, within the window
    kept, new = group((*CRASH, later), 700, existing=(drilled,))
    assert (kept.id, kept.verdict, kept.nodes) == (drilled.id, drilled.verdict, (NODE,))
    assert new.id == "inc-20261126T080820Z-apps" != kept.id
    assert new.verdict is None
    (undrilled, *_) = group((*CRASH, later), 700, existing=(first,))
    assert undrilled.nodes == (NODE, other)  # without a drill the same failure joins, as a pool's crashes do


def test_an_incident_merged_into_an_older_one_hands_over_its_drill_verdict() -> None:
    other = "aks-apps-12345678-vmss000002"
    old = group((rec(node=other, since=0, first=50, last=100),), 100)[0]
    drilled = group((rec(since=900, first=950, last=1000),), 1000)[0]  # by itself: 15 minutes later
    drilled = replace(drilled, drill="kill-node", verdict=verdict(2000))
    bridge = rec(node=other, since=100, first=150, last=1000)  # the first node never stopped failing after all
    (merged,) = group((rec(node=other, since=0, first=50, last=100), bridge, rec(since=900, first=950, last=1000)),
                      1000, existing=(old, drilled))  # fmt: skip
    assert merged.id == old.id
    assert (merged.drill, merged.verdict) == ("kill-node", drilled.verdict)


# -- properties ----------------------------------------------------------------------------------------

POOLS = {f"aks-{pool}-1-vmss00000{n}": pool for pool in ("apps", "jobs") for n in range(4)}
KINDS = sorted(SignalKind, key=lambda kind: kind.value)


@st.composite
def records(draw: st.DrawFn) -> SignalRecord:
    kind = draw(st.sampled_from(KINDS))
    node = draw(st.sampled_from(sorted(POOLS)))
    since = draw(st.integers(0, 180)) * 60
    first = since + draw(st.integers(0, 5)) * 60
    last = first + draw(st.integers(0, 30)) * 60
    zone = f"westeurope-{draw(st.integers(1, 2))}"
    if kind in PROBLEMS:
        return rec(kind, node, since=since, first=first, last=last, pool=POOLS[node], zone=zone)
    pool = POOLS[node] if kind in (SignalKind.STORM, SignalKind.POOL_FAILURE) else None
    return rec(kind, None, subject=zone, since=since, first=first, last=last, pool=pool, zone=zone)


def clipped(signal: SignalRecord, now: datetime) -> SignalRecord:
    return replace(signal, last_seen=min(signal.last_seen, now))


@settings(max_examples=150, deadline=None)
@given(st.lists(records(), max_size=40), st.integers(0, 240), st.integers(0, 30))
def test_every_problem_signal_lands_in_exactly_one_incident(
    signals: list[SignalRecord], midway: int, after: int
) -> None:
    now = max((s.last_seen for s in signals), default=T0) + timedelta(minutes=after)
    then = T0 + timedelta(minutes=midway)
    before = [clipped(s, then) for s in signals if s.first_seen <= then]
    existing = grouping.group(before, (), (), (), (), then)
    incidents = grouping.group(signals, (), (), (), existing, now)
    counted = Counter(grouping.identity(s) for i in incidents for s in i.signals if s.kind in PROBLEMS)
    assert set(counted) == {grouping.identity(s) for s in signals if s.kind in PROBLEMS}
    assert set(counted.values()) <= {1}
    assert len({i.id for i in incidents}) == len(incidents)
    for incident in incidents:
        assert incident.impact_start <= incident.detected_at
        assert (incident.state is IncidentState.RESOLVED) == (incident.resolved_at is not None)
        assert incident.resolved_at is None or incident.mitigated_at is not None
