"""Incidents from the signal log: problem signals grouped by time, pool, zone and cause, with what was done.

It sits after the journal (`act ──► journal ──► incidents ──► render / notify`): logged signals, journal
entries, episodes, holds and Activity Log changes in, with the incidents already known and `now`; every
incident with its five times out. Pure: no clock, disk or network.

How problem signals group (each lands in exactly one incident):
- a ZoneFailure makes one incident for its zone holding every problem in that zone at the time, across
  pools: a zone outage of forty nodes is one incident, not forty;
- otherwise a pool's Storm or PoolFailure makes one incident for the pool;
- otherwise one incident per pool and cause family (node down, node problem, pressure, maintenance);
- a signal joins its group's incident when it began within `window` of that incident's latest sighting,
  and a node's signals stay together while it keeps failing (a kubelet problem that turns into NotReady is
  one incident); a node that came back and fails again later joins only through its group, so a crash and
  a later, unrelated zone outage stay two incidents;
- a node's signal belongs to a zone (or pool) failure only if the node was still failing when that failure
  began: a node that failed and came back before the zone went down is not part of its outage.
Incidents given as `existing` keep their ids; resolved ones are final and come back unchanged, and a drill's
incident takes no signal that began after its drill ended. An existing incident missing from the result was
merged into another (its signals, and its drill's verdict, moved there). A new incident never takes the id of
an existing one. A node's episode (and its steps) belongs to the incident that saw the node failing when the
episode opened; holds, and steps of no known episode, from the impact until `window` after the last sighting:
a later incident on the same node neither keeps an earlier one open nor lends it its steps.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from nodewarden.incidents import figures
from nodewarden.model.health import NODE_DOWN, PROBLEMS, SignalKind
from nodewarden.model.incident import ChangeRecord, HoldRecord, Incident, IncidentState, SignalRecord
from nodewarden.model.remediation import Episode, EpisodeState, JournalEntry, Outcome

_R = TypeVar("_R")

WINDOW = timedelta(minutes=10)
QUIET = timedelta(minutes=10)
CHANGE_LOOKBACK = timedelta(hours=1)  # a change this long before the impact may have caused it
TITLE_KINDS = 3  # signal kinds named in a title


class Family(StrEnum):
    """A cause family; declared most severe first (the title names the most severe present)."""

    NODE_DOWN = "node-down"
    NODE_PROBLEM = "node-problem"
    PRESSURE = "pressure"
    MAINTENANCE = "maintenance"


FAMILY: Mapping[SignalKind, Family] = {
    **dict.fromkeys(NODE_DOWN, Family.NODE_DOWN),
    SignalKind.NODE_PROBLEM: Family.NODE_PROBLEM,
    SignalKind.FLAPPING: Family.NODE_PROBLEM,
    SignalKind.NETWORK_UNAVAILABLE: Family.NODE_PROBLEM,
    SignalKind.MEMORY_PRESSURE: Family.PRESSURE,
    SignalKind.DISK_PRESSURE: Family.PRESSURE,
    SignalKind.PID_PRESSURE: Family.PRESSURE,
    SignalKind.DISK_FILL_PREDICTED: Family.PRESSURE,
    SignalKind.METRIC_OUTLIER: Family.PRESSURE,
    SignalKind.SCHEDULED_EVENT: Family.MAINTENANCE,
}

_VERB = {
    Family.NODE_DOWN: "down",
    Family.NODE_PROBLEM: "unhealthy",
    Family.PRESSURE: "under pressure",
    Family.MAINTENANCE: "in maintenance",
}
_POOL_WIDE = frozenset({SignalKind.STORM, SignalKind.POOL_FAILURE})

Identity = tuple[SignalKind, str, str, datetime]  # the signal log's key: kind, subject, condition, since
_Key = tuple[str, str, str]  # ("zone", zone, "") | ("pool", pool, "") | ("family", pool, family)


def identity(record: SignalRecord) -> Identity:
    return (record.kind, record.subject, record.condition or "", record.since)


def group(
    signals: Sequence[SignalRecord],
    entries: Sequence[JournalEntry],
    holds: Sequence[HoldRecord],
    changes: Sequence[ChangeRecord],
    existing: Sequence[Incident],
    now: datetime,
    *,
    episodes: Sequence[Episode] = (),
    window: timedelta = WINDOW,
    quiet: timedelta = QUIET,
) -> tuple[Incident, ...]:
    """Every incident over `signals` and `existing`, oldest impact first.

    An incident is mitigated when every affected node's problems stopped being seen (or its episode closed
    recovered) and none has an open episode; resolved once mitigated for `quiet`, with every step finished.
    """
    final = [incident for incident in existing if incident.state is IncidentState.RESOLVED]
    continuing = [incident for incident in existing if incident.state is not IncidentState.RESOLVED]
    claimed = {identity(s) for incident in final for s in incident.signals}
    records = _latest([*signals, *(s for incident in continuing for s in incident.signals)])
    problems = sorted((r for r in records if r.kind in PROBLEMS and identity(r) not in claimed), key=_order)
    context = [r for r in records if r.kind not in PROBLEMS]
    sealed = {  # a drill's incident closes to new problems when its drill ends
        identity(s): incident.verdict.ended_at
        for incident in continuing
        if incident.verdict is not None
        for s in incident.signals
    }
    clusters = _cluster(problems, context, window, sealed=sealed)
    # what a continuing incident already holds stays in it, whether or not this process's own log still has it
    # (a new leader's log starts empty: its predecessor's holds and changes are in the stored incidents)
    kept_holds = _unique([*holds, *(h for incident in continuing for h in incident.holds)], key=_hold_key)
    kept_changes = _unique([*changes, *(c for incident in continuing for c in incident.changes)], key=_change_key)
    evidence = _Evidence(context, entries, episodes, kept_holds, kept_changes)
    built: list[Incident] = []
    for cluster, previous, id_ in _name(clusters, continuing, used={incident.id for incident in existing}):
        built.append(_incident(cluster, id_, previous, evidence, now=now, window=window, quiet=quiet))
    return tuple(sorted((*final, *built), key=lambda incident: (incident.impact_start, incident.id)))


def _unique(records: Sequence[_R], *, key: Callable[[_R], Hashable]) -> list[_R]:
    """The first record of each key, in order (this process's own come first, so theirs win)."""
    first: dict[Hashable, _R] = {}
    for record in records:
        first.setdefault(key(record), record)
    return list(first.values())


def _hold_key(record: HoldRecord) -> Hashable:
    hold = record.hold
    return (record.at, hold.reason, hold.subject, hold.step)


def _change_key(record: ChangeRecord) -> Hashable:
    return (record.at, record.operation, record.resource, record.correlation_id, record.status)


# -- clustering ---------------------------------------------------------------------------------------


@dataclass
class _Cluster:
    """Problem signals that belong together; built up in order of onset."""

    seq: int
    members: list[SignalRecord] = field(default_factory=list)
    keys: set[_Key] = field(default_factory=set)
    units: dict[str, datetime] = field(default_factory=dict)  # each node's latest sighting in the cluster
    last_seen: datetime | None = None
    closes_at: datetime | None = None  # a drill's incident: no problem that began after its drill ended

    def add(self, record: SignalRecord, key: _Key, *, closes_at: datetime | None) -> None:
        self.members.append(record)
        self.keys.add(key)
        unit = _unit(record)
        self.units[unit] = max(self.units.get(unit, record.last_seen), record.last_seen)
        self.last_seen = record.last_seen if self.last_seen is None else max(self.last_seen, record.last_seen)
        self.closes_at = _earliest(self.closes_at, closes_at)

    def absorb(self, other: _Cluster) -> None:
        self.members += other.members
        self.keys |= other.keys
        for unit, seen in other.units.items():
            self.units[unit] = max(self.units.get(unit, seen), seen)
        if other.last_seen is not None:
            self.last_seen = other.last_seen if self.last_seen is None else max(self.last_seen, other.last_seen)
        self.closes_at = _earliest(self.closes_at, other.closes_at)

    def open_to(self, record: SignalRecord, window: timedelta) -> bool:
        """Through its group: the record began within `window` of the cluster's latest sighting."""
        if self.closes_at is not None and record.since > self.closes_at:
            return False
        return self.last_seen is not None and record.since <= self.last_seen + window

    def continues(self, record: SignalRecord, window: timedelta) -> bool:
        """Through its node: the record began while the cluster still saw that node failing."""
        seen = self.units.get(_unit(record))
        return seen is not None and record.since <= seen and self.open_to(record, window)


def _cluster(
    problems: Sequence[SignalRecord],
    context: Sequence[SignalRecord],
    window: timedelta,
    *,
    sealed: Mapping[Identity, datetime],
) -> list[_Cluster]:
    """Sweep the problems in order of onset; each joins the open cluster of its key or the cluster its node is
    still failing in (merging them when it bridges two), or starts one."""
    zone_failures = [r for r in context if r.kind is SignalKind.ZONE_FAILURE]
    pool_failures = [r for r in context if r.kind in _POOL_WIDE and r.pool]
    by_key: dict[_Key, _Cluster] = {}
    by_unit: dict[str, _Cluster] = {}
    clusters: list[_Cluster] = []
    for record in problems:
        key = _key(record, zone_failures, pool_failures, window)
        ways = ((by_key.get(key), _Cluster.open_to), (by_unit.get(_unit(record)), _Cluster.continues))
        found = {c.seq: c for c, fits in ways if c is not None and fits(c, record, window)}
        if not found:
            cluster = _Cluster(seq=len(clusters))
            clusters.append(cluster)
        else:
            cluster, *others = sorted(found.values(), key=lambda c: c.seq)
            for other in others:
                cluster.absorb(other)
                clusters.remove(other)
        cluster.add(record, key, closes_at=sealed.get(identity(record)))
        for k in cluster.keys:
            by_key[k] = cluster
        for unit in cluster.units:
            by_unit[unit] = cluster
    return clusters


def _key(
    record: SignalRecord,
    zone_failures: Sequence[SignalRecord],
    pool_failures: Sequence[SignalRecord],
    window: timedelta,
) -> _Key:
    if record.zone and any((z.zone or z.subject) == record.zone and _within(record, z, window) for z in zone_failures):
        return ("zone", record.zone, "")
    if record.pool and any(p.pool == record.pool and _within(record, p, window) for p in pool_failures):
        return ("pool", record.pool, "")
    return ("family", record.pool or _unit(record), FAMILY[record.kind].value)


def _name(
    clusters: Sequence[_Cluster], continuing: Sequence[Incident], *, used: set[str]
) -> Iterable[tuple[_Cluster, Incident | None, str]]:
    """Each cluster with the existing incident it continues (the earliest one whose signals it holds) and its id."""
    owner = {identity(s): incident for incident in continuing for s in incident.signals if s.kind in PROBLEMS}
    taken: set[str] = set()
    named = []
    for cluster in sorted(clusters, key=lambda c: (_order(min(c.members, key=_order)), c.seq)):
        held = {owner[i].id: owner[i] for i in map(identity, cluster.members) if i in owner}
        previous = min(
            (i for i in held.values() if i.id not in taken), key=lambda i: (i.impact_start, i.id), default=None
        )
        if previous is not None:
            id_ = previous.id
            drilled = min((i for i in held.values() if i.verdict is not None), key=lambda i: i.impact_start,
                          default=None)  # fmt: skip
            if drilled is not None and previous.verdict is None:  # a merged drill incident keeps its verdict
                previous = replace(previous, drill=drilled.drill, verdict=drilled.verdict)
        else:
            start = min(r.since for r in cluster.members)
            id_ = base = f"inc-{start:%Y%m%dT%H%M%SZ}-{_scope(cluster)}"
            n = 1
            while id_ in used:  # two groups starting the same second in one pool
                n += 1
                id_ = f"{base}-{n}"
        taken.add(id_)
        used.add(id_)
        named.append((cluster, previous, id_))
    return named


def _scope(cluster: _Cluster) -> str:
    """What an id and a title name: the zone, else the pool, else the node."""
    for kind in ("zone", "pool", "family"):
        names = sorted(name for k, name, _ in cluster.keys if k == kind)
        if names:
            return names[0]
    raise AssertionError("a cluster has at least one key")


# -- one incident -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Evidence:
    """What may be attached to an incident besides its problem signals."""

    context: Sequence[SignalRecord]
    entries: Sequence[JournalEntry]
    episodes: Sequence[Episode]
    holds: Sequence[HoldRecord]
    changes: Sequence[ChangeRecord]


def _incident(
    cluster: _Cluster,
    id_: str,
    previous: Incident | None,
    evidence: _Evidence,
    *,
    now: datetime,
    window: timedelta,
    quiet: timedelta,
) -> Incident:
    problems = sorted(cluster.members, key=_order)
    drill = previous.verdict if previous else None
    impact_start = figures.impact_start(min(r.since for r in problems), drill.fault_at if drill else None)
    nodes = sorted({r.node for r in problems if r.node})
    pools = {r.pool for r in problems if r.pool}
    zones = {r.zone for r in problems if r.zone}
    images = {r.image for r in problems if r.image}
    last_seen = max(r.last_seen for r in problems)
    related = [
        r
        for r in evidence.context
        if _relates(r.node, r.pool, r.zone, nodes=nodes, pools=pools, zones=zones, image=r.image, images=images)
        and r.since <= last_seen + window
        and r.last_seen >= impact_start - window
    ]
    span_end = min(now, last_seen + window)  # what began later belongs to a later incident
    failing_until: dict[str, datetime] = {}  # each node's latest sighting in this incident
    for r in problems:
        failing_until[_unit(r)] = max(failing_until.get(_unit(r), r.last_seen), r.last_seen)
    # A node's episode is this incident's when it opened while the incident saw the node failing; a later
    # episode on the same node (a later incident's) neither keeps this one open nor lends it its steps.
    episodes = [
        e for e in evidence.episodes if e.node in failing_until and impact_start <= e.opened_at <= failing_until[e.node]
    ]
    ours = {e.id for e in episodes}
    known = {e.id for e in evidence.episodes}
    actions = sorted(
        (
            e
            for e in evidence.entries
            if impact_start <= e.intent_at <= now
            and _touches(e.node, e.pool, nodes, pools)
            and (e.episode in ours if e.episode in known else e.intent_at <= span_end)
        ),
        key=lambda e: e.intent_at,
    )
    mitigated_at = _mitigated_at(problems, episodes, now=now)
    resolved_at = _resolved_at(mitigated_at, actions, now=now, quiet=quiet)
    end = resolved_at or now
    actions = [e for e in actions if e.intent_at <= end]
    state = IncidentState.OPEN
    if resolved_at is not None:
        state = IncidentState.RESOLVED
    elif mitigated_at is not None:
        state = IncidentState.MITIGATED
    return Incident(
        id=id_,
        title=_title(cluster, problems),
        state=state,
        impact_start=impact_start,
        detected_at=max(impact_start, min(r.first_seen for r in problems)),
        mitigation_started_at=min((e.intent_at for e in actions), default=None),
        mitigated_at=mitigated_at,
        resolved_at=resolved_at,
        pool=_only(pools),
        zone=_only(zones),
        drill=previous.drill if previous else None,
        verdict=previous.verdict if previous else None,
        nodes=tuple(nodes),
        instances=tuple(sorted({r.instance for r in problems if r.instance})),
        pods=previous.pods if previous else (),
        workloads=previous.workloads if previous else (),
        signals=tuple(sorted([*problems, *related], key=_order)),
        actions=tuple(actions),
        holds=tuple(
            h
            for h in sorted(evidence.holds, key=lambda h: h.at)
            if impact_start <= h.at <= min(end, span_end)
            and _relates(h.hold.node, h.hold.pool, h.hold.zone, nodes=nodes, pools=pools, zones=zones)
        ),
        changes=tuple(
            c for c in sorted(evidence.changes, key=lambda c: c.at) if impact_start - CHANGE_LOOKBACK <= c.at <= end
        ),
        hypotheses=previous.hypotheses if previous else (),
    )


def _mitigated_at(problems: Sequence[SignalRecord], episodes: Sequence[Episode], *, now: datetime) -> datetime | None:
    """When the last affected node was back: its problems no longer seen (last seen before `now`) or its episode
    closed recovered, whichever is later when both; None while any node is still failing or being remediated."""
    ends: list[datetime] = []
    for unit in sorted({_unit(r) for r in problems}):
        mine = [r for r in problems if _unit(r) == unit]
        theirs = [e for e in episodes if e.node == unit]
        if any(e.state is EpisodeState.OPEN for e in theirs):
            return None
        recovered = [e.closed_at for e in theirs if e.state is EpisodeState.RECOVERED and e.closed_at is not None]
        last_bad = max(r.last_seen for r in mine)
        if last_bad < now:
            ends.append(max([last_bad, *recovered]))
        elif recovered:
            ends.append(max(recovered))
        else:
            return None
    return max(ends)


def _resolved_at(
    mitigated_at: datetime | None, actions: Sequence[JournalEntry], *, now: datetime, quiet: timedelta
) -> datetime | None:
    """Mitigated for `quiet` and every step finished: the later of the two, once `now` has reached it."""
    if mitigated_at is None or any(e.outcome is Outcome.PENDING for e in actions):
        return None
    at = max([mitigated_at + quiet, *(e.outcome_at for e in actions if e.outcome_at is not None)])
    return at if at <= now else None


def _title(cluster: _Cluster, problems: Sequence[SignalRecord]) -> str:
    units = sorted({_unit(r) for r in problems})
    count = f"{len(units)} node{'s' if len(units) != 1 else ''}"
    kinds = {"zone": "", "pool": ""} | {k: name for k, name, _ in sorted(cluster.keys)}
    if kinds["zone"]:
        return f"Zone {kinds['zone']} outage: {count} down"
    if kinds["pool"]:
        return f"Pool {kinds['pool']} storm: {count} failing"
    family = min((FAMILY[r.kind] for r in problems), key=list(Family).index)
    labels = list(dict.fromkeys(r.condition if r.kind is SignalKind.NODE_PROBLEM and r.condition else r.kind.value
                                for r in problems))  # fmt: skip
    named = ", ".join(labels[:TITLE_KINDS]) + (", …" if len(labels) > TITLE_KINDS else "")
    if len(units) == 1:
        return f"{units[0]} {_VERB[family]} ({named})"
    pool = _only({r.pool for r in problems if r.pool})
    where = f"Pool {pool}" if pool else "Pools " + ", ".join(sorted({r.pool for r in problems if r.pool}))
    return f"{where}: {count} {_VERB[family]} ({named})"


# -- helpers ------------------------------------------------------------------------------------------


def _latest(records: Iterable[SignalRecord]) -> list[SignalRecord]:
    """One record per fact: the one seen last (the log's, over an older copy kept in an incident)."""
    latest: dict[Identity, SignalRecord] = {}
    for record in records:
        known = latest.get(identity(record))
        if known is None or record.last_seen > known.last_seen:
            latest[identity(record)] = record
    return list(latest.values())


def _order(record: SignalRecord) -> tuple[datetime, datetime, str, str, str]:
    return (record.since, record.first_seen, record.kind.value, record.subject, record.condition or "")


def _unit(record: SignalRecord) -> str:
    """What failed: the node, else the instance, else the subject."""
    return record.node or record.instance or record.subject


def _within(record: SignalRecord, wide: SignalRecord, window: timedelta) -> bool:
    """The node was still failing when the wide failure began, and began failing before it ended (+ window)."""
    return wide.since <= record.last_seen and record.since <= wide.last_seen + window


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _touches(node: str | None, pool: str | None, nodes: Sequence[str], pools: set[str]) -> bool:
    """A journal entry belongs to an incident through its node, or through its pool when it names no node."""
    return node in nodes if node else pool in pools


def _relates(
    node: str | None,
    pool: str | None,
    zone: str | None,
    *,
    nodes: Sequence[str],
    pools: set[str],
    zones: set[str],
    image: str | None = None,
    images: set[str] | frozenset[str] = frozenset(),
) -> bool:
    """A context signal or hold concerns an incident through its node, else its pool, zone or image; one that
    names none of them (the cluster) concerns every incident."""
    if node:
        return node in nodes
    if pool or zone or image:
        return pool in pools or zone in zones or image in images
    return True


def _only(values: set[str]) -> str | None:
    return next(iter(values)) if len(values) == 1 else None
