"""The safety guards every destructive step (and every new episode) passes (README.md, "Detect and recover").

`CycleBudgets` is built once per planning cycle from the snapshot, detection and journal; its budgets (blast
radius, rate per hour) are spent as the planner admits steps, so one cycle never overshoots them. It
lives only inside one `plan()` call: the planner stays a pure function.

Decisions worth knowing:
- A single failing node is never a storm, and one failing node is never a zone failure: both breakers
  need at least `MIN_CORRELATED` failing nodes, or a pool of one could never be repaired.
- The zone breaker counts failing nodes of the zone across every pool, whose bout began within the
  window, against all of the zone's nodes.
- A PodDisruptionBudget without a status (the disruption controller has not computed it) blocks, like
  one that allows no disruption: the eviction API is no backstop once a rung powers the node off.
- A node a person is acting on (`nodewarden node …` left its mark) is theirs until the mark expires or
  the node is back: Ready with no problem signal, continuously since after the mark, for `stableFor`.
  Readiness from before the mark does not count: the person's restart may not have begun yet.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from nodewarden.heal.nodes import NodeTarget
from nodewarden.heal.nodes import busy_instances as nodes_busy_instances
from nodewarden.heal.policy import Guards, Policy, PoolPolicy
from nodewarden.model import aks, selectors
from nodewarden.model.health import Detection, Scope, SignalKind
from nodewarden.model.remediation import (
    Episode,
    History,
    Hold,
    HoldReason,
    Outcome,
    Step,
    attempt_of,
    spends_rate_budget,
)
from nodewarden.model.snapshot import Snapshot

MIN_CORRELATED = 2  # failing nodes before the storm or zone breaker can trip
RATE_WINDOW = timedelta(hours=1)


def pool_key(pool: str | None) -> str:
    """Pools are compared case-insensitively (AKS pool names are lower case); no pool is ""."""
    return (pool or "").lower()


def in_flight(episode: Episode) -> bool:
    """An open episode that has started a destructive step uses its pool's blast-radius budget."""
    return any(entry.step.destructive for entry in episode.entries)


def has_pending(episode: Episode) -> bool:
    return any(entry.outcome is Outcome.PENDING for entry in episode.entries)


def pdb_blocker(snapshot: Snapshot, node: str) -> str | None:
    """The first PodDisruptionBudget that a rung on `node` would break, named with the pod it covers."""
    for pod in snapshot.pods_by_node.get(node, ()):
        if not pod.ready or pod.belongs_to_node:
            continue
        for pdb in snapshot.pdbs_by_namespace.get(pod.namespace, ()):
            allowed = pdb.status.disruptions_allowed if pdb.status else None
            if (allowed is None or allowed <= 0) and selectors.matches(pdb.spec.selector, pod.metadata.label_map):
                return (
                    f"PodDisruptionBudget {pdb.namespace}/{pdb.metadata.name} allows no disruption "
                    f"(disruptionsAllowed={allowed}); pod {pod.namespace}/{pod.metadata.name} is ready on {node}"
                )
    return None


def ready_pods_on(snapshot: Snapshot, node: str) -> bool:
    """Any ready pod on the node that a drain would evict (not DaemonSet or mirror pods)."""
    return any(pod.ready and not pod.belongs_to_node for pod in snapshot.pods_by_node.get(node, ()))


def operator_action(target: NodeTarget, *, stable_for: timedelta, now: datetime) -> str | None:
    """Why a person's mark holds the node, else None: no mark, the mark expired, or the node came back
    (healthy continuously since after the mark, for `stable_for`)."""
    mark = target.place.mark
    if mark is None or not mark.is_live(now):
        return None
    clear_since = target.health.clear_since if target.health is not None else None
    if target.is_healthy and clear_since is not None and clear_since > mark.at and now - clear_since >= stable_for:
        return None
    return f"an operator is acting on this node: {mark.describe()}; correlation id {mark.correlation_id}"


@dataclass
class CycleBudgets:
    """The guards' view of one cycle, with the budgets it has left."""

    snapshot: Snapshot
    policy: Policy
    now: datetime
    nodes: dict[str, NodeTarget]
    cluster_busy: str | None  # why, when an operation is in progress on the cluster
    busy_pools: dict[str, str]  # pool key → provisioning state
    busy_instances: frozenset[str]
    zone_failures: frozenset[str]  # zones Azure or detection reported as failing
    storm_signals: frozenset[str]  # pool keys with a Storm signal; "*" for the cluster
    in_flight: dict[str, set[str]] = field(default_factory=dict)  # pool key → episode ids
    started: Counter[str] = field(default_factory=Counter)  # pool key → destructive steps in the last hour

    @property
    def started_cluster(self) -> int:
        return sum(self.started.values())

    # Indexes built once per cycle: the guards are asked once per node, and a scan of every node each
    # time made planning quadratic (5,000 nodes: 2.6 million scans).

    @cached_property
    def _by_pool(self) -> dict[str, list[NodeTarget]]:
        index: dict[str, list[NodeTarget]] = {}
        for target in self.nodes.values():
            index.setdefault(pool_key(target.place.pool), []).append(target)
        return index

    @cached_property
    def _by_zone(self) -> dict[str, list[NodeTarget]]:
        index: dict[str, list[NodeTarget]] = {}
        for target in self.nodes.values():
            if target.place.zone is not None:
                index.setdefault(target.place.zone, []).append(target)
        return index

    @cached_property
    def _failing_by_pool(self) -> Counter[str]:
        return Counter(pool_key(target.place.pool) for target in self.nodes.values() if target.is_failing)

    @cached_property
    def _cluster_storm(self) -> str | None:
        failing = sum(self._failing_by_pool.values())
        return _share_failing(failing, len(self.nodes), self.policy.spec.guards.max_unhealthy)

    def pool_nodes(self, pool: str | None) -> list[NodeTarget]:
        return self._by_pool.get(pool_key(pool), [])

    def storm(self, pool: str | None, pool_policy: PoolPolicy) -> str | None:
        """Why the storm breaker is tripped for `pool` (or the whole cluster), else None."""
        if "*" in self.storm_signals:
            return "detection reports a cluster-wide storm"
        if pool_key(pool) in self.storm_signals:
            return f"detection reports a storm in pool {pool}"
        cluster = self._cluster_storm
        if cluster:
            return f"cluster-wide {cluster}"
        key = pool_key(pool)
        share = _share_failing(self._failing_by_pool[key], len(self.pool_nodes(pool)), pool_policy.guards.max_unhealthy)
        return f"pool {pool}: {share}" if share else None

    def zone_breaker(self, zone: str | None, guards: Guards) -> str | None:
        """Why the zone breaker is tripped for `zone`, else None."""
        if zone is None:
            return None
        if zone in self.zone_failures:
            return f"zone {zone} is reported failing"
        in_zone = self._by_zone.get(zone, [])
        since = self.now - guards.zone_breaker.window
        recent = [f for f in in_zone if f.is_failing and f.health is not None and _bout_start(f) >= since]
        if len(recent) >= MIN_CORRELATED and len(recent) >= guards.zone_breaker.share * len(in_zone):
            return (
                f"{len(recent)} of {len(in_zone)} nodes in zone {zone} failed within {guards.zone_breaker.window} "
                f"(limit {guards.zone_breaker.share:.0%})"
            )
        return None

    def storm_outside(self, pool: str | None, pool_policy: PoolPolicy, excluded: frozenset[str]) -> str | None:
        """The storm breaker counted without the `excluded` nodes (whose failure Azure explains: heal/fencing.py
        `zone_confirmed`); detection's own Storm signals count them, so they are not read here."""
        members = [t for t in self.nodes.values() if t.name not in excluded]
        failing = [t for t in members if t.is_failing]
        cluster = _share_failing(len(failing), len(members), self.policy.spec.guards.max_unhealthy)
        if cluster:
            return f"cluster-wide {cluster} outside the zones Azure confirms unavailable"
        key = pool_key(pool)
        in_pool = [t for t in members if pool_key(t.place.pool) == key]
        share = _share_failing(sum(1 for t in in_pool if t.is_failing), len(in_pool), pool_policy.guards.max_unhealthy)
        return f"pool {pool}: {share} outside the zones Azure confirms unavailable" if share else None

    def fencing_blocker(
        self, step: Step, target: NodeTarget, pool_policy: PoolPolicy, *, zone_confirmed: frozenset[str]
    ) -> Hold | None:
        """A hold when POWER_OFF or FENCE may not run on `target` now (UNFENCE never waits):
        - POWER_OFF: the cluster, the pool or the instance busy (an ARM operation would preempt theirs);
        - both: the storm breaker and the zone breaker, except for a node confirmed off through its zone, which
          skips the zone breaker and meets a storm breaker that does not count such nodes (heal/fencing.py)."""
        if step is Step.UNFENCE:
            return None

        def hold(reason: HoldReason, message: str) -> Hold:
            return target.hold(reason, message, step)

        if step is Step.POWER_OFF:
            key = pool_key(target.place.pool)
            if self.cluster_busy:
                return hold(HoldReason.CLUSTER_BUSY, self.cluster_busy)
            if key in self.busy_pools:
                return hold(HoldReason.POOL_BUSY, f"pool {target.place.pool} is {self.busy_pools[key]}")
            if target.place.instance in self.busy_instances:
                return hold(
                    HoldReason.OPERATION_IN_FLIGHT, f"instance {target.place.instance} has an operation running"
                )
        if target.name in zone_confirmed:
            storm = self.storm_outside(target.place.pool, pool_policy, zone_confirmed)
            if storm:
                return hold(HoldReason.STORM, f"storm breaker: {storm}; no {step.value.lower()}")
            return None
        storm = self.storm(target.place.pool, pool_policy)
        if storm:
            return hold(HoldReason.STORM, f"storm breaker: {storm}; no {step.value.lower()}")
        zone = self.zone_breaker(target.place.zone, pool_policy.guards)
        if zone:
            return hold(HoldReason.ZONE_BREAKER, f"zone breaker: {zone}; no {step.value.lower()} there")
        return None

    def admit(
        self, step: Step, target: NodeTarget, episode: str, pool_policy: PoolPolicy, *, attempt: int = 1
    ) -> Hold | None:
        """A hold when `step` may not run on `target` now; None admits it and spends the budgets."""
        spends = spends_rate_budget(step, attempt)
        hold = self._check(step, target, episode, pool_policy, spends=spends)
        if hold is None:
            key = pool_key(target.place.pool)
            self.in_flight.setdefault(key, set()).add(episode)
            if spends:
                self.started[key] += 1
        return hold

    def _check(
        self, step: Step, target: NodeTarget, episode: str, pool_policy: PoolPolicy, *, spends: bool
    ) -> Hold | None:
        def hold(reason: HoldReason, message: str) -> Hold:
            return target.hold(reason, message, step)

        key = pool_key(target.place.pool)
        guards = pool_policy.guards
        if self.cluster_busy:
            return hold(HoldReason.CLUSTER_BUSY, self.cluster_busy)
        if key in self.busy_pools:
            return hold(HoldReason.POOL_BUSY, f"pool {target.place.pool} is {self.busy_pools[key]}")
        storm = self.storm(target.place.pool, pool_policy)
        if storm:
            return hold(HoldReason.STORM, f"storm breaker: {storm}; nothing destructive")
        zone = self.zone_breaker(target.place.zone, guards)
        if zone:
            return hold(HoldReason.ZONE_BREAKER, f"zone breaker: {zone}; no {step.value.lower()} there")
        if step.is_rung:
            if target.place.instance is None:
                return hold(HoldReason.NO_INSTANCE, f"{target.name} does not map to a scale-set instance (providerID)")
            if target.place.instance in self.busy_instances:
                return hold(
                    HoldReason.OPERATION_IN_FLIGHT, f"instance {target.place.instance} has an operation running"
                )
            blocker = pdb_blocker(self.snapshot, target.name)
            if blocker:
                return hold(HoldReason.PDB, blocker)
        pool_size = len(self.pool_nodes(target.place.pool))
        limit = guards.in_flight_limit(pool_size)
        flying = self.in_flight.get(key, set())
        if episode not in flying and len(flying) >= limit:
            return hold(
                HoldReason.MAX_IN_FLIGHT,
                f"{len(flying)} of pool {target.place.pool}'s {pool_size} nodes in remediation (maxInFlight {limit})",
            )
        if not spends:
            return None
        pool_rate, cluster_rate = guards.rate_per_hour.pool, self.policy.spec.guards.rate_per_hour.cluster
        if self.started[key] >= pool_rate:
            return hold(
                HoldReason.RATE_LIMIT,
                f"{self.started[key]} destructive steps in pool {target.place.pool} in the last hour "
                f"(ratePerHour.pool {pool_rate})",
            )
        if self.started_cluster >= cluster_rate:
            return hold(
                HoldReason.RATE_LIMIT,
                f"{self.started_cluster} destructive steps in the cluster in the last hour "
                f"(ratePerHour.cluster {cluster_rate})",
            )
        return None


def _bout_start(target: NodeTarget) -> datetime:
    assert target.health is not None
    return target.health.problem_since or target.health.since


def _share_failing(failing: int, total: int, limit: float) -> str | None:
    if failing >= MIN_CORRELATED and total and failing / total > limit:
        return f"{failing} of {total} nodes unhealthy or suspect (maxUnhealthy {limit:.0%})"
    return None


def read_budgets(
    snapshot: Snapshot,
    detection: Detection,
    history: History,
    policy: Policy,
    nodes: dict[str, NodeTarget],
    now: datetime,
) -> CycleBudgets:
    """The guards' starting view of this cycle: busy resources, breaker inputs and budgets already spent."""
    cluster = snapshot.cluster
    cluster_busy = None
    # A Failed cluster or pool is settled, not busy: no operation of AKS's would be preempted (model/aks.py).
    if cluster is not None and aks.is_in_progress(cluster.provisioning_state):
        cluster_busy = f"cluster {cluster.name} is {cluster.provisioning_state}"
    elif detection.of_kind(SignalKind.CLUSTER_BUSY):
        cluster_busy = detection.of_kind(SignalKind.CLUSTER_BUSY)[0].message
    busy_pools = {
        pool_key(pool.name): pool.provisioning_state or ""
        for pool in snapshot.pools
        if aks.is_in_progress(pool.provisioning_state)
    }
    for signal in detection.of_kind(SignalKind.POOL_BUSY):
        busy_pools.setdefault(pool_key(signal.pool or signal.subject), "busy")
    guards = CycleBudgets(
        snapshot=snapshot,
        policy=policy,
        now=now,
        nodes=nodes,
        cluster_busy=cluster_busy,
        busy_pools=busy_pools,
        busy_instances=nodes_busy_instances(snapshot),
        zone_failures=frozenset(signal.zone or signal.subject for signal in detection.of_kind(SignalKind.ZONE_FAILURE)),
        storm_signals=frozenset(
            "*" if signal.scope is Scope.CLUSTER else pool_key(signal.pool or signal.subject)
            for signal in detection.of_kind(SignalKind.STORM)
        ),
    )
    for episode in history.open:
        if in_flight(episode):
            guards.in_flight.setdefault(pool_key(episode.pool), set()).add(episode.id)
    since = now - RATE_WINDOW
    for episode in history.episodes:
        for entry in episode.entries:
            if spends_rate_budget(entry.step, attempt_of(entry.key)) and entry.intent_at > since:
                guards.started[pool_key(entry.pool or episode.pool)] += 1
    return guards
