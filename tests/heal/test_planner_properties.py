"""Property tests for the planner: random clusters, failures, histories and policies; the guards always hold.

Each invariant is checked by a small function that recomputes the guard from the raw inputs, so a bug
in the planner's guards cannot hide behind the same bug here.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nodewarden.heal import plan
from nodewarden.heal.policy import Policy
from nodewarden.model.health import Detection, HealthState, NodeHealth, SignalKind
from nodewarden.model.kube import Node, Pod, PodDisruptionBudget
from nodewarden.model.remediation import (
    Episode,
    EpisodeState,
    History,
    JournalEntry,
    Outcome,
    Plan,
    PlannedAction,
    Step,
    attempt_of,
    spends_rate_budget,
)
from nodewarden.model.snapshot import Snapshot
from tests.heal import builders as b
from tests.heal.builders import NOW

ZONES = ("eastus-1", "eastus-2", "eastus-3")
IMAGES = ("img-a", "img-b")
KINDS = (
    SignalKind.HEARTBEAT_STALE,
    SignalKind.NOT_READY,
    SignalKind.DISK_PRESSURE,
    SignalKind.MEMORY_PRESSURE,
    SignalKind.SCHEDULED_EVENT,
    SignalKind.AUTO_REPAIR,
    SignalKind.AUTOSCALER_DELETING,
)
LADDER = (Step.CORDON, Step.DRAIN, Step.RESTART, Step.REIMAGE, Step.REDEPLOY, Step.REPLACE)
FAILING = {HealthState.SUSPECT, HealthState.UNHEALTHY}
# True about one draw in twenty (hypothesis favours small integers, so `integers(0, 19) == 0` is far likelier)
RARE = st.sampled_from([False] * 19 + [True])


@dataclass(frozen=True)
class World:
    snapshot: Snapshot
    detection: Detection
    history: History
    policy: Policy
    synced: bool
    observed_at: datetime

    def result(self) -> Plan:
        return plan(
            self.snapshot,
            self.detection,
            self.history,
            self.policy,
            NOW,
            synced=self.synced,
            observed_at=self.observed_at,
        )


@st.composite
def worlds(draw: st.DrawFn, *, calm: bool = False) -> World:
    """A random cluster; `calm`: synced, fresh and unpaused, so the guards themselves are exercised."""
    zones = ZONES[: draw(st.integers(1, 3))]
    pools, nodes, instances, healths, pods = [], [], [], [], []
    for p in range(draw(st.integers(1, 4))):
        name = f"pool{p}"
        size = draw(st.integers(1, 30))
        pools.append(b.pool(name, size, state=draw(st.sampled_from(["Succeeded"] * 10 + ["Upgrading", "Scaling"]))))
        for i in range(size):
            labels = {"nodewarden.io/exclude": "true"} if draw(RARE) else None
            annotations = {"nodewarden.io/pause": "true"} if draw(RARE) else None
            if draw(st.integers(0, 5)) == 0:
                annotations = {**(annotations or {}), OPERATOR_MARK: draw(marks())}
            node = b.node(
                name, i, zone=draw(st.sampled_from(zones)), image=draw(st.sampled_from(IMAGES)),
                labels=labels, annotations=annotations, mapped=not draw(RARE),
            )  # fmt: skip
            nodes.append(node)
            provisioning = "updating" if draw(RARE) else "succeeded"
            instances.append(b.instance(name, i, provisioning=provisioning))
    history = draw(histories(nodes))
    for node in nodes:
        in_episode = history.open_for(node.metadata.name) is not None
        states = [HealthState.HEALTHY] * (2 if in_episode else 8) + [HealthState.SUSPECT] + [HealthState.UNHEALTHY] * 2
        state = draw(st.sampled_from(states))
        kinds = (
            draw(st.lists(st.sampled_from(KINDS[:5] * 4 + KINDS[5:]), max_size=3, unique=True))
            if state in FAILING
            else []
        )
        since = NOW - timedelta(minutes=draw(st.integers(0, 40)))
        healths.append(b.health(node, state, *kinds, ready=draw(st.booleans()), since=since))
        for j in range(draw(st.integers(0, 2))):
            app = draw(st.sampled_from("abc"))
            pod = b.pod(f"{node.metadata.name}-{j}", node.metadata.name, labels={"app": app},
                        ready=draw(st.booleans()), daemon=draw(RARE))  # fmt: skip
            pods.append(pod)
    pdbs = [b.pdb(f"pdb-{app}", app=app, allowed=draw(st.integers(0, 1))) for app in "abc" if draw(st.booleans())]
    zone_signals = tuple(b.zone_failure(zone) for zone in zones if draw(RARE))
    cluster_state = "Updating" if draw(RARE) else "Succeeded"
    snapshot = Snapshot(
        cluster=b.cluster(cluster_state),
        pools=tuple(pools),
        nodes=tuple(nodes),
        instances=tuple(instances),
        pods=tuple(pods),
        pdbs=tuple(pdbs),
        namespaces=(b.namespace("kube-system", paused=not calm and draw(RARE)),),
    )
    detection = b.detection(*healths, extra=zone_signals)
    return World(
        snapshot=snapshot,
        detection=detection,
        history=history,
        policy=draw(policies(calm=calm)),
        synced=calm or not draw(RARE),
        observed_at=NOW if calm else NOW - timedelta(seconds=draw(st.sampled_from([0] * 8 + [10, 30, 59, 60, 61, 90]))),
    )


OPERATOR_MARK = "nodewarden.io/operator-action"


@st.composite
def marks(draw: st.DrawFn) -> str:
    """The annotation `nodewarden node …` writes: live, expired, not yet begun, or garbled."""
    at = NOW - timedelta(minutes=draw(st.integers(-5, 60)))
    expires = at + timedelta(minutes=draw(st.integers(0, 60)))
    value = {
        "step": draw(st.sampled_from(["Restart", "Reimage", "Drain"])),
        "actor": "alice@laptop",
        "reason": "kernel patch",
        "at": at.isoformat(),
        "expires": expires.isoformat(),
        "correlationId": "c-1",
    }
    text = json.dumps(value)
    return draw(st.sampled_from([text] * 6 + [text[:-3], "", "{}"]))


def _marked(world: World, node: Node) -> bool:
    """The node carries a live operator's mark and has not been back (healthy since after it) for stableFor."""
    try:
        mark = json.loads(node.metadata.annotation_map.get(OPERATOR_MARK) or "null")
    except ValueError:
        return False
    if not isinstance(mark, dict) or "at" not in mark:
        return False
    at, expires = datetime.fromisoformat(mark["at"]), datetime.fromisoformat(mark["expires"])
    if not at <= NOW < expires:
        return False
    health = world.detection.health[node.metadata.name]
    clear = health.clear_since
    if health.ready is not True or health.signals or clear is None:
        return True
    return not (clear > at and NOW - clear >= world.policy.spec.stable_for)


@st.composite
def histories(draw: st.DrawFn, nodes: list[Node]) -> History:
    episodes: list[Episode] = []
    chosen = draw(st.lists(st.sampled_from(nodes), max_size=min(len(nodes), 12), unique_by=lambda n: n.metadata.name))
    for node in chosen:
        state = draw(st.sampled_from([EpisodeState.OPEN] * 3 + [EpisodeState.FAILED, EpisodeState.RECOVERED]))
        length = draw(st.integers(1, len(LADDER)))
        outcomes = draw(
            st.lists(st.sampled_from([Outcome.SUCCEEDED] * 4 + list(Outcome)), min_size=length, max_size=length)
        )
        if state is not EpisodeState.OPEN:
            outcomes = [o if o is not Outcome.PENDING else Outcome.FAILED for o in outcomes]
        else:
            outcomes = [
                o if o is not Outcome.PENDING or k == length - 1 else Outcome.SUCCEEDED for k, o in enumerate(outcomes)
            ]
        steps = list(zip(LADDER[:length], outcomes, strict=True))
        causes = tuple(draw(st.lists(st.sampled_from(KINDS[:5]), min_size=1, max_size=2, unique=True)))
        start = NOW - timedelta(minutes=draw(st.integers(1, 600)))
        episodes.append(b.episode(node, *steps, causes=causes, state=state, start=start, gap=timedelta(minutes=3)))
    return History(episodes=tuple(episodes))


@st.composite
def policies(draw: st.DrawFn, *, calm: bool = False) -> Policy:
    spec = {
        "paused": not calm and draw(RARE),
        "autoRepair": draw(st.sampled_from(["defer", "override"])),
        "drain": {"onTimeout": draw(st.sampled_from(["hold", "proceed"]))},
        "guards": {
            "maxInFlight": draw(st.sampled_from([None, 1, 2, 3])),
            "maxUnhealthy": draw(st.sampled_from(["20%", "40%", "60%", "80%", "100%"])),
            "zoneBreaker": {"share": draw(st.sampled_from(["30%", "50%", "100%"]))},
            "ratePerHour": {
                "pool": draw(st.sampled_from([0, 1, 2, 6, 6, 10])),
                "cluster": draw(st.sampled_from([0, 3, 20, 20, 50])),
            },
        },
    }
    if draw(st.booleans()):
        spec["pools"] = {"pool0": {"guards": {"maxInFlight": 1, "ratePerHour": {"pool": 2}}}}
    return Policy.model_validate({"apiVersion": "nodewarden.io/v1", "kind": "RemediationPolicy", "spec": spec})


# -- the oracle: each guard recomputed from the raw inputs -------------------------------------------


def _pool_of(node: Node) -> str:
    return node.metadata.label_map["kubernetes.azure.com/agentpool"]


def _zone_of(node: Node) -> str:
    return node.metadata.label_map["topology.kubernetes.io/zone"]


def _health(world: World, name: str) -> NodeHealth:
    return world.detection.health[name]


def _destructive(result: Plan) -> list[PlannedAction]:
    return [a for a in result.actions if a.step.destructive]


def _storm(world: World, members: list[Node], limit: float) -> bool:
    failing = sum(1 for n in members if _health(world, n.metadata.name).state in FAILING)
    return failing >= 2 and failing / len(members) > limit


def _zone_tripped(world: World, zone: str, share: float, window: timedelta) -> bool:
    if any(s.kind is SignalKind.ZONE_FAILURE and s.zone == zone for s in world.detection.signals):
        return True
    members = [n for n in world.snapshot.nodes if _zone_of(n) == zone]
    recent = [
        n
        for n in members
        if (h := _health(world, n.metadata.name)).state in FAILING and (h.problem_since or h.since) >= NOW - window
    ]
    return len(recent) >= 2 and len(recent) >= share * len(members)


def _blocking_pdb(world: World, node: str) -> tuple[Pod, PodDisruptionBudget] | None:
    for pod in world.snapshot.pods:
        # which pods a drain leaves is the model's one definition (model/kube.py), not a guard recomputed here
        if pod.spec.node_name != node or not pod.ready or pod.belongs_to_node:
            continue
        for pdb in world.snapshot.pdbs:
            app = (pdb.spec.selector.match_labels or {}).get("app") if pdb.spec.selector else None
            if pdb.status and pdb.status.disruptions_allowed == 0 and pod.metadata.label_map.get("app") == app:
                return pod, pdb
    return None


def _started_last_hour(history: History) -> Counter[str]:
    counts: Counter[str] = Counter()
    for episode in history.episodes:
        for entry in episode.entries:
            if spends_rate_budget(entry.step, attempt_of(entry.key)) and entry.intent_at > NOW - timedelta(hours=1):
                counts[episode.pool or ""] += 1
    return counts


def _pending(entries: tuple[JournalEntry, ...]) -> bool:
    return any(e.outcome is Outcome.PENDING for e in entries)


def check_invariants(world: World, result: Plan) -> None:
    snap, history, policy = world.snapshot, world.history, world.policy
    nodes = snap.nodes_by_name
    by_pool: dict[str, list[Node]] = {}
    for node in snap.nodes:
        by_pool.setdefault(_pool_of(node), []).append(node)

    # 5. nothing when not synced or the data is stale; 3. nothing when the policy or kube-system is paused
    if not world.synced or NOW - world.observed_at > policy.spec.max_data_age:
        assert result.actions == (), "acted without synced, fresh data"
    if policy.spec.paused or any(
        ns.metadata.annotation_map.get("nodewarden.io/pause") == "true" for ns in snap.namespaces
    ):
        assert result.actions == (), "acted while paused"

    # 7. closures: each names an open episode once, none with a step pending, none from untrusted data
    closed = [closure.episode for closure in result.closures]
    assert len(set(closed)) == len(closed), "an episode closed twice"
    open_ids = {e.id: e for e in history.open}
    assert all(c in open_ids and not _pending(open_ids[c].entries) for c in closed), "closed a closed or busy episode"
    if not world.synced or NOW - world.observed_at > policy.spec.max_data_age:
        assert result.closures == (), "closed an episode from untrusted data"

    node_actions = [a for a in result.actions if a.node is not None]
    # 6. one action per node and per instance, none on a node or instance with a pending entry
    assert len({a.node for a in node_actions}) == len(node_actions), "two actions on one node"
    instances = [a.instance for a in node_actions if a.instance]
    assert len(set(instances)) == len(instances), "two actions on one instance"
    pending = [e for e in history.open if _pending(e.entries)]
    pending_nodes = {e.node for e in pending}
    pending_instances = {e.instance for e in pending if e.instance}
    for action in node_actions:
        assert action.node not in pending_nodes, f"action on {action.node} with a pending entry"
        assert action.instance is None or action.instance not in pending_instances, "action on a busy instance"

    for action in node_actions:
        node = nodes[action.node or ""]
        # 3. never on excluded or paused nodes
        assert node.metadata.label_map.get("nodewarden.io/exclude") != "true", "action on an excluded node"
        assert node.metadata.annotation_map.get("nodewarden.io/pause") != "true", "action on a paused node"
        # 10. never on a node a person is acting on (a live `nodewarden node …` mark), until it is back
        assert not _marked(world, node), f"{action.step} on {action.node} while an operator's mark is live"

    in_flight_before: dict[str, set[str]] = {}
    for episode in history.open:
        if any(e.step.destructive for e in episode.entries):
            in_flight_before.setdefault(episode.pool or "", set()).add(episode.id)
    started = _started_last_hour(history)
    new_by_pool: Counter[str] = Counter()
    for action in _destructive(result):
        node = nodes[action.node or ""]
        pool = _pool_of(node)
        pool_policy = policy.for_pool(pool)
        # 4. nothing destructive in a busy pool or a busy cluster
        pool_state = next(p.provisioning_state for p in snap.pools if p.name == pool)
        assert pool_state == "Succeeded", f"destructive {action.step} in a {pool_state} pool"
        assert snap.cluster is not None
        assert snap.cluster.provisioning_state == "Succeeded", "destructive in a busy cluster"
        # 2. nothing destructive past the storm breaker (pool or cluster) or the zone breaker
        assert not _storm(world, by_pool[pool], pool_policy.guards.max_unhealthy), "destructive past the storm breaker"
        assert not _storm(world, list(snap.nodes), policy.spec.guards.max_unhealthy), "destructive in a cluster storm"
        zone = pool_policy.guards.zone_breaker
        assert not _zone_tripped(world, _zone_of(node), zone.share, zone.window), "destructive past the zone breaker"
        # 7. never a rung over a ready pod whose PDB allows no disruption
        if action.step.is_rung:
            assert _blocking_pdb(world, node.metadata.name) is None, "rung would break a PDB"
        if spends_rate_budget(action.step, attempt_of(action.key)):
            new_by_pool[pool] += 1

    for pool, members in by_pool.items():
        guards = policy.for_pool(pool).guards
        # 1. blast radius: new in-flight episodes only while the pool has room
        flying = in_flight_before.get(pool, set())
        new = {a.episode for a in _destructive(result) if a.pool == pool} - flying
        assert not new or len(flying | new) <= guards.in_flight_limit(len(members)), f"maxInFlight broken in {pool}"
        # 8. the rate budget, per pool
        if new_by_pool[pool]:
            assert started[pool] + new_by_pool[pool] <= guards.rate_per_hour.pool, f"pool rate broken in {pool}"
    # 8. … and for the cluster
    if new_by_pool:
        total = sum(started.values()) + sum(new_by_pool.values())
        assert total <= policy.spec.guards.rate_per_hour.cluster, "cluster rate broken"

    # 9. every Unhealthy node without an action is named by a hold
    acted = {a.node for a in node_actions}
    held = {h.node for h in result.holds}
    for name, health in world.detection.health.items():
        if health.state is HealthState.UNHEALTHY and name not in acted:
            assert name in held, f"unhealthy {name} got neither an action nor a hold"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(world=worlds())
def test_the_plan_keeps_every_guard(world: World) -> None:
    check_invariants(world, world.result())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(world=worlds(calm=True))
def test_the_plan_keeps_every_guard_when_nothing_stops_it_globally(world: World) -> None:
    check_invariants(world, world.result())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(world=worlds())
def test_planning_is_deterministic(world: World) -> None:
    assert world.result() == world.result()


def test_the_oracle_sees_a_real_storm() -> None:
    """A regression check on the test itself: the storm oracle trips on half a pool failing."""
    nodes = [b.node("pool0", i) for i in range(4)]
    healths = [b.health(n, HealthState.UNHEALTHY, SignalKind.HEARTBEAT_STALE) for n in nodes[:2]]
    healths += [b.health(n, HealthState.HEALTHY) for n in nodes[2:]]
    world = World(Snapshot(nodes=tuple(nodes)), b.detection(*healths), History(), Policy(), True, NOW)
    assert _storm(world, nodes, 0.4)
