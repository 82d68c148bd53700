"""Example tests for the planner: each guard and each ladder transition, one small cluster at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from nodewarden.heal import plan
from nodewarden.heal.policy import Policy
from nodewarden.model.health import HealthState, Signal, SignalKind
from nodewarden.model.kube import Node
from nodewarden.model.remediation import EpisodeState, History, HoldReason, Outcome, Plan, Step
from nodewarden.model.snapshot import Snapshot
from tests.heal import builders as b
from tests.heal.builders import NOW

H, U, S = HealthState.HEALTHY, HealthState.UNHEALTHY, HealthState.SUSPECT
STALE = SignalKind.HEARTBEAT_STALE
ZONES = ("eastus-1", "eastus-2", "eastus-3")


def nodes(count: int = 6, pool: str = "nodepool1", **kwargs: object) -> list[Node]:
    return [b.node(pool, i, zone=ZONES[i % 3], **kwargs) for i in range(count)]  # type: ignore[arg-type]


def snapshot(cluster_nodes: list[Node], **kwargs: object) -> Snapshot:
    pools = kwargs.pop("pools", None) or [b.pool("nodepool1", len(cluster_nodes))]
    return Snapshot(
        cluster=kwargs.pop("cluster", b.cluster()),  # type: ignore[arg-type]
        pools=tuple(pools),  # type: ignore[arg-type]
        nodes=tuple(cluster_nodes),
        instances=tuple(b.instance("nodepool1", i) for i in range(len(cluster_nodes))),
        **kwargs,  # type: ignore[arg-type]
    )


def policy(**spec: object) -> Policy:
    return Policy.model_validate({"apiVersion": "nodewarden.io/v1", "kind": "RemediationPolicy", "spec": spec})


def run(
    cluster_nodes: list[Node],
    unhealthy: dict[int, tuple[SignalKind, ...]],
    history: History = History(),  # noqa: B008
    *,
    pol: Policy | None = None,
    snap: Snapshot | None = None,
    extra: tuple[Signal, ...] = (),
    ready: dict[int, bool] | None = None,
    **kwargs: object,
) -> Plan:
    healths = []
    for i, n in enumerate(cluster_nodes):
        kinds = unhealthy.get(i, ())
        state = U if kinds else H
        healths.append(b.health(n, state, *kinds, ready=(ready or {}).get(i)))
    return plan(
        snap or snapshot(cluster_nodes),
        b.detection(*healths, extra=extra),
        history,
        pol or policy(),
        NOW,
        **kwargs,  # type: ignore[arg-type]
    )


def steps(result: Plan) -> list[tuple[Step, str]]:
    return [(a.step, a.subject) for a in result.actions]


def reasons(result: Plan, node: Node) -> set[HoldReason]:
    return {h.reason for h in result.holds if h.node == node.metadata.name}


# -- opening episodes and per-node holds ------------------------------------------------------------


def test_an_unhealthy_node_is_cordoned_and_opens_an_episode() -> None:
    ns = nodes()
    result = run(ns, {0: (STALE,)})
    (action,) = result.actions
    assert action.step is Step.CORDON
    assert action.episode == f"{ns[0].metadata.name}@20261126T080000Z"
    assert action.key == f"{action.episode}/cordon/1"
    assert action.causes == (STALE,)
    assert action.instance == "aks-nodepool1-vmss/0"
    assert action.zone == "eastus-1"


def test_a_node_whose_record_cannot_be_read_is_held_not_acted_on() -> None:
    """A hand-edited NodeRemediation the store cannot read: the node is held, Unhealthy or not, with the reason."""
    ns = nodes()
    why = "its NodeRemediation x-1 cannot be read (spec.causes[0]: 'Nope' is not a signal nodewarden knows)"
    history = History(unreadable={ns[0].metadata.name or "": why, ns[1].metadata.name or "": why})
    result = run(ns, {0: (STALE,)}, history)
    assert result.actions == ()
    held = {h.node: h for h in result.holds}
    assert {held[n.metadata.name].reason for n in ns[:2]} == {HoldReason.UNREADABLE_RECORD}
    assert held[ns[0].metadata.name].message == why
    assert steps(run(ns, {0: (STALE,)})) == [(Step.CORDON, ns[0].metadata.name)]


def test_a_healthy_cluster_plans_nothing() -> None:
    assert run(nodes(), {}) == Plan(now=NOW)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        pytest.param({"synced": False}, HoldReason.NOT_SYNCED, id="not-synced"),
        pytest.param({"observed_at": NOW - timedelta(minutes=5)}, HoldReason.STALE_DATA, id="stale"),
        pytest.param({"pol": policy(paused=True)}, HoldReason.PAUSED, id="policy-paused"),
    ],
)
def test_global_holds_stop_everything_and_name_each_node(kwargs: dict[str, object], reason: HoldReason) -> None:
    ns = nodes()
    result = run(ns, {0: (STALE,), 1: (STALE,)}, **kwargs)  # type: ignore[arg-type]
    assert result.actions == ()
    assert reasons(result, ns[0]) == {reason}
    assert reasons(result, ns[1]) == {reason}


def test_a_paused_kube_system_namespace_pauses_the_cluster() -> None:
    ns = nodes()
    snap = snapshot(ns, namespaces=(b.namespace("kube-system", paused=True),))
    result = run(ns, {0: (STALE,)}, snap=snap)
    assert result.actions == ()
    assert reasons(result, ns[0]) == {HoldReason.PAUSED}


def test_fresh_data_is_acted_on() -> None:
    result = run(nodes(), {0: (STALE,)}, observed_at=NOW - timedelta(seconds=30))
    assert [a.step for a in result.actions] == [Step.CORDON]


@pytest.mark.parametrize(
    ("node_kwargs", "extra_kind", "reason"),
    [
        pytest.param({"labels": {"nodewarden.io/exclude": "true"}}, None, HoldReason.EXCLUDED, id="excluded"),
        pytest.param({"annotations": {"nodewarden.io/pause": "true"}}, None, HoldReason.PAUSED, id="paused"),
        pytest.param({}, SignalKind.AUTO_REPAIR, HoldReason.AUTO_REPAIR, id="auto-repair"),
        pytest.param({}, SignalKind.AUTOSCALER_DELETING, HoldReason.AUTOSCALER, id="autoscaler"),
    ],
)
def test_per_node_holds(node_kwargs: dict[str, object], extra_kind: SignalKind | None, reason: HoldReason) -> None:
    ns = nodes()
    ns[0] = b.node("nodepool1", 0, **node_kwargs)  # type: ignore[arg-type]
    extra = (b.signal(extra_kind, ns[0]),) if extra_kind else ()
    result = run(ns, {0: (STALE,)}, extra=extra)
    assert result.actions == ()
    assert reasons(result, ns[0]) == {reason}


def test_auto_repair_override_acts_anyway() -> None:
    ns = nodes()
    result = run(ns, {0: (STALE,)}, extra=(b.signal(SignalKind.AUTO_REPAIR, ns[0]),), pol=policy(autoRepair="override"))
    assert [a.step for a in result.actions] == [Step.CORDON]


def test_no_matching_trigger_waits() -> None:
    ns = nodes()
    result = run(ns, {0: (SignalKind.MEMORY_PRESSURE,)})
    assert result.actions == ()
    (hold,) = result.holds
    assert hold.reason is HoldReason.WAITING
    assert "no trigger matches" in hold.message


def test_a_busy_pool_opens_no_episode() -> None:
    ns = nodes()
    snap = snapshot(ns, pools=[b.pool("nodepool1", 6, state="Upgrading")])
    result = run(ns, {0: (STALE,)}, snap=snap)
    assert reasons(result, ns[0]) == {HoldReason.POOL_BUSY}


def test_a_known_bad_fingerprint_is_quarantined() -> None:
    ns = nodes()
    failed = b.episode(ns[1], Step.CORDON, Step.ESCALATE, state=EpisodeState.FAILED)
    result = run(ns, {0: (STALE,)}, History(episodes=(failed,)))
    assert result.actions == ()
    assert reasons(result, ns[0]) == {HoldReason.QUARANTINED}


def test_a_replacement_that_fails_the_same_way_is_escalated_not_looped() -> None:
    ns = nodes()
    replaced = b.episode(
        b.node("nodepool1", 9), Step.CORDON, Step.DRAIN, Step.RESTART, Step.REIMAGE, Step.REDEPLOY, Step.REPLACE,
        start=NOW - timedelta(minutes=20),
    )  # fmt: skip
    result = run(ns, {0: (STALE,)}, History(episodes=(replaced,)))
    assert steps(result) == [(Step.ESCALATE, ns[0].metadata.name)]
    assert reasons(result, ns[0]) == {HoldReason.QUARANTINED}


# -- the ladder ----------------------------------------------------------------------------------------


def test_a_cordoned_node_is_drained_with_the_policy_timeout() -> None:
    ns = nodes()
    ep = b.episode(ns[0], Step.CORDON)
    (action,) = run(ns, {0: (STALE,)}, History(episodes=(ep,)), pol=policy(drain={"timeout": "2m"})).actions
    assert (action.step, action.timeout, action.force) == (Step.DRAIN, 120.0, False)
    assert action.key == f"{ep.id}/drain/1"


def test_a_pending_entry_holds_the_node() -> None:
    ns = nodes()
    ep = b.episode(ns[0], Step.CORDON, (Step.DRAIN, Outcome.PENDING))
    result = run(ns, {0: (STALE,)}, History(episodes=(ep,)))
    assert result.actions == ()
    assert reasons(result, ns[0]) == {HoldReason.OPERATION_IN_FLIGHT}


def test_a_drained_node_gets_the_first_rung() -> None:
    ns = nodes()
    ep = b.episode(ns[0], Step.CORDON, Step.DRAIN)
    (action,) = run(ns, {0: (STALE,)}, History(episodes=(ep,))).actions
    assert (action.step, action.timeout) == (Step.RESTART, 600.0)


def test_disk_pressure_goes_to_reimage() -> None:
    ns = nodes()
    ep = b.episode(ns[0], Step.CORDON, Step.DRAIN, causes=(SignalKind.DISK_PRESSURE,))
    (action,) = run(ns, {0: (SignalKind.DISK_PRESSURE,)}, History(episodes=(ep,))).actions
    assert action.step is Step.REIMAGE


def test_a_blocked_drain_holds_naming_the_blocker_and_retries() -> None:
    ns = nodes()
    ep = b.episode(ns[0], Step.CORDON, (Step.DRAIN, Outcome.TIMED_OUT), detail="PodDisruptionBudget shop/web")
    web = b.pod("web-1", ns[0].metadata.name, labels={"app": "web"})  # still ready on the node
    result = run(ns, {0: (STALE,)}, History(episodes=(ep,)), snap=snapshot(ns, pods=(web,)))
    (action,) = result.actions
    assert (action.step, action.key) == (Step.DRAIN, f"{ep.id}/drain/2")
    (hold,) = result.holds
    assert hold.reason is HoldReason.PDB
    assert "PodDisruptionBudget shop/web" in hold.message


def test_a_drain_blocked_only_by_pods_that_are_already_down_goes_on_to_the_rung() -> None:
    ns = nodes()
    ep = b.episode(ns[0], Step.CORDON, (Step.DRAIN, Outcome.TIMED_OUT), detail="PodDisruptionBudget shop/web")
    web = b.pod("web-1", ns[0].metadata.name, labels={"app": "web"}, ready=False)  # its kubelet is gone
    (action,) = run(ns, {0: (STALE,)}, History(episodes=(ep,)), snap=snapshot(ns, pods=(web,))).actions
    assert action.step is Step.RESTART


def test_a_blocked_drain_proceeds_to_the_rung_when_the_policy_says_so() -> None:
    ns = nodes()
    ep = b.episode(ns[0], Step.CORDON, (Step.DRAIN, Outcome.TIMED_OUT))
    (action,) = run(ns, {0: (STALE,)}, History(episodes=(ep,)), pol=policy(drain={"onTimeout": "proceed"})).actions
    assert action.step is Step.RESTART


def test_a_rung_within_its_verify_time_waits() -> None:
    ns = nodes()
    ep = b.episode(ns[0], Step.CORDON, Step.DRAIN, Step.RESTART, start=NOW - timedelta(minutes=5))
    result = run(ns, {0: (STALE,)}, History(episodes=(ep,)))
    assert result.actions == ()
    assert reasons(result, ns[0]) == {HoldReason.WAITING}


def test_a_rung_past_its_verify_time_climbs() -> None:
    ns = nodes()
    ep = b.episode(ns[0], Step.CORDON, Step.DRAIN, Step.RESTART, start=NOW - timedelta(minutes=30))
    (action,) = run(ns, {0: (STALE,)}, History(episodes=(ep,))).actions
    assert (action.step, action.key) == (Step.REIMAGE, f"{ep.id}/reimage/1")


def test_a_failed_rung_climbs_at_once() -> None:
    ns = nodes()
    ep = b.episode(ns[0], Step.CORDON, Step.DRAIN, (Step.RESTART, Outcome.FAILED), start=NOW - timedelta(minutes=4))
    (action,) = run(ns, {0: (STALE,)}, History(episodes=(ep,))).actions
    assert action.step is Step.REIMAGE


def test_an_exhausted_ladder_escalates() -> None:
    ns = nodes()
    rungs = (Step.RESTART, Step.REIMAGE, Step.REDEPLOY, (Step.REPLACE, Outcome.FAILED))
    ep = b.episode(ns[0], Step.CORDON, Step.DRAIN, *rungs)
    result = run(ns, {0: (STALE,)}, History(episodes=(ep,)))
    assert steps(result) == [(Step.ESCALATE, ns[0].metadata.name)]
    assert reasons(result, ns[0]) == {HoldReason.LADDER_EXHAUSTED}


@pytest.mark.parametrize(
    "done",
    [
        pytest.param((Step.CORDON,), id="after-cordon"),
        pytest.param((Step.CORDON, Step.DRAIN), id="after-drain"),
        pytest.param((Step.CORDON, Step.DRAIN, Step.RESTART), id="after-restart"),
    ],
)
def test_a_node_that_is_healthy_again_is_uncordoned(done: tuple[Step, ...]) -> None:
    ns = nodes()
    ep = b.episode(ns[0], *done, start=NOW - timedelta(minutes=3))
    result = run(ns, {}, History(episodes=(ep,)))
    assert [(a.step, a.key) for a in result.actions] == [(Step.UNCORDON, f"{ep.id}/uncordon/1")]


def test_a_node_that_went_away_is_not_uncordoned() -> None:
    ns = nodes()
    gone = b.node("nodepool1", 9)
    ep = b.episode(gone, Step.CORDON, Step.DRAIN, Step.REPLACE)
    healths = [b.health(n, H) for n in ns] + [b.health(gone, H)]
    result = plan(snapshot(ns), b.detection(*healths), History(episodes=(ep,)), policy(), NOW)
    assert result.actions == ()


def test_a_scheduled_event_is_drained_then_waits_for_the_platform() -> None:
    ns = nodes()
    ep = b.episode(ns[0], Step.CORDON, Step.DRAIN, causes=(SignalKind.SCHEDULED_EVENT,))
    result = run(ns, {0: (SignalKind.SCHEDULED_EVENT,)}, History(episodes=(ep,)))
    assert result.actions == ()
    assert reasons(result, ns[0]) == {HoldReason.WAITING}


# -- guards ------------------------------------------------------------------------------------------


def test_max_in_flight_holds_a_second_destructive_step_in_the_pool() -> None:
    ns = nodes()
    first = b.episode(ns[0], Step.CORDON, Step.DRAIN, start=NOW - timedelta(minutes=3))
    second = b.episode(ns[1], Step.CORDON, start=NOW - timedelta(minutes=2))
    result = run(ns, {0: (STALE,), 1: (STALE,)}, History(episodes=(first, second)))
    assert steps(result) == [(Step.RESTART, ns[0].metadata.name)]
    assert reasons(result, ns[1]) == {HoldReason.MAX_IN_FLIGHT}


def test_a_pool_of_twenty_gets_ten_percent_in_flight() -> None:
    ns = nodes(20)
    eps = tuple(b.episode(ns[i], Step.CORDON) for i in (0, 1, 2))
    result = run(ns, {0: (STALE,), 1: (STALE,), 2: (STALE,)}, History(episodes=eps))
    assert [a.step for a in result.actions] == [Step.DRAIN, Step.DRAIN]


def test_the_storm_breaker_holds_everything_destructive_in_the_pool() -> None:
    ns = nodes()
    eps = (b.episode(ns[0], Step.CORDON),)
    result = run(ns, {0: (STALE,), 1: (STALE,), 2: (STALE,)}, History(episodes=eps))
    assert result.actions == ()
    assert {n: reasons(result, ns[n]) for n in (0, 1, 2)} == {n: {HoldReason.STORM} for n in (0, 1, 2)}


def test_the_zone_breaker_allows_cordon_but_no_drain_in_the_zone() -> None:
    ns = nodes(9)
    ep = b.episode(ns[3], Step.CORDON)  # zone eastus-1
    result = run(ns, {0: (STALE,), 3: (STALE,)}, History(episodes=(ep,)), extra=(b.zone_failure("eastus-1"),))
    assert steps(result) == [(Step.CORDON, ns[0].metadata.name), (Step.SCALE, "nodepool1")]
    assert reasons(result, ns[3]) == {HoldReason.ZONE_BREAKER}


def test_the_zone_breaker_trips_on_half_a_zone_failing_within_the_window() -> None:
    ns = nodes(12)  # 4 nodes per zone
    eps = (b.episode(ns[0], Step.CORDON),)
    result = run(ns, {0: (STALE,), 3: (STALE,)}, History(episodes=eps))
    assert reasons(result, ns[0]) == {HoldReason.ZONE_BREAKER}


def test_the_rate_budget_counts_destructive_steps_of_the_last_hour() -> None:
    ns = nodes(30)
    recent = tuple(
        b.episode(ns[10 + i], Step.CORDON, Step.DRAIN, Step.RESTART, state=EpisodeState.RECOVERED,
                  start=NOW - timedelta(minutes=50))
        for i in range(3)
    )  # fmt: skip
    ep = b.episode(ns[0], Step.CORDON)
    result = run(ns, {0: (STALE,)}, History(episodes=(*recent, ep)))
    assert reasons(result, ns[0]) == {HoldReason.RATE_LIMIT}


def test_a_ready_pod_under_an_exhausted_pdb_blocks_a_rung() -> None:
    ns = nodes()
    name = ns[0].metadata.name
    snap = snapshot(ns, pods=(b.pod("web-1", name, labels={"app": "web"}),), pdbs=(b.pdb("web", app="web", allowed=0),))
    ep = b.episode(ns[0], Step.CORDON, (Step.DRAIN, Outcome.TIMED_OUT))
    result = run(ns, {0: (STALE,)}, History(episodes=(ep,)), snap=snap, pol=policy(drain={"onTimeout": "proceed"}))
    assert result.actions == ()
    (hold,) = result.holds
    assert hold.reason is HoldReason.PDB
    assert "shop/web" in hold.message
    assert "shop/web-1" in hold.message


@pytest.mark.parametrize(
    ("ready", "daemon", "allowed"),
    [(False, False, 0), (True, True, 0), (True, False, 1)],
    ids=["pod-not-ready", "daemonset-pod", "budget-left"],
)
def test_pods_that_cannot_break_a_pdb_do_not_block(ready: bool, daemon: bool, allowed: int) -> None:
    ns = nodes()
    name = ns[0].metadata.name
    pods = (b.pod("web-1", name, labels={"app": "web"}, ready=ready, daemon=daemon),)
    snap = snapshot(ns, pods=pods, pdbs=(b.pdb("web", app="web", allowed=allowed),))
    ep = b.episode(ns[0], Step.CORDON, Step.DRAIN)
    assert [a.step for a in run(ns, {0: (STALE,)}, History(episodes=(ep,)), snap=snap).actions] == [Step.RESTART]


def test_a_busy_instance_holds_its_rung() -> None:
    ns = nodes()
    snap = snapshot(ns)
    snap = Snapshot(
        cluster=snap.cluster, pools=snap.pools, nodes=snap.nodes,
        instances=(b.instance("nodepool1", 0, provisioning="updating"),),
    )  # fmt: skip
    ep = b.episode(ns[0], Step.CORDON, Step.DRAIN)
    result = run(ns, {0: (STALE,)}, History(episodes=(ep,)), snap=snap)
    assert reasons(result, ns[0]) == {HoldReason.OPERATION_IN_FLIGHT}


def test_a_node_without_an_instance_is_cordoned_but_gets_no_rung() -> None:
    ns = nodes()
    ns[0] = b.node("nodepool1", 0, mapped=False)  # no providerID, and no VM carries its name
    snap = replace(snapshot(ns), instances=tuple(b.instance("nodepool1", i) for i in range(1, 6)))
    assert [a.step for a in run(ns, {0: (STALE,)}, snap=snap).actions] == [Step.CORDON]
    ep = b.episode(ns[0], Step.CORDON, Step.DRAIN)
    assert reasons(run(ns, {0: (STALE,)}, History(episodes=(ep,)), snap=snap), ns[0]) == {HoldReason.NO_INSTANCE}


def test_a_node_the_detection_did_not_see_is_placed_on_the_vm_named_after_it() -> None:
    # The planner used to place a node missing from the detection itself, from its providerID alone: a node
    # without one got no instance and every rung was held NoInstance, while detection maps such a node to
    # the VM whose computer name is the node's (detect/instance_signals.py). Both now read the Snapshot's
    # NodePlace (model/node_place.py), which does that match once.
    ns = nodes()
    ns[0] = b.node("nodepool1", 0, mapped=False)
    ep = b.episode(ns[0], Step.CORDON, Step.DRAIN)
    seen = b.detection(*(b.health(n, H) for n in ns[1:]))  # a detection of another snapshot, without node 0
    (action,) = plan(snapshot(ns), seen, History(episodes=(ep,)), policy(), NOW).actions
    assert (action.node, action.instance) == (ns[0].metadata.name, "aks-nodepool1-vmss/0")
    assert action.step.is_rung


def test_a_busy_cluster_holds_destructive_steps_only() -> None:
    ns = nodes()
    snap = snapshot(ns, cluster=b.cluster("Upgrading"))
    ep = b.episode(ns[0], Step.CORDON)
    result = run(ns, {0: (STALE,), 3: (STALE,)}, History(episodes=(ep,)), snap=snap)
    assert steps(result) == [(Step.CORDON, ns[3].metadata.name)]
    assert reasons(result, ns[0]) == {HoldReason.CLUSTER_BUSY}


def test_pool_overrides_apply_to_their_pool() -> None:
    ns = nodes()
    pol = policy(pools={"nodepool1": {"paused": True}})
    assert reasons(run(ns, {0: (STALE,)}, pol=pol), ns[0]) == {HoldReason.PAUSED}


# -- zone compensation ---------------------------------------------------------------------------------


def test_a_zone_failure_scales_the_pool_out_once() -> None:
    ns = nodes(9)
    result = run(ns, {0: (STALE,), 3: (STALE,)}, extra=(b.zone_failure("eastus-1"),))
    scale = [a for a in result.actions if a.step is Step.SCALE]
    assert [(a.subject, a.count) for a in scale] == [("nodepool1", 11)]
    assert "original count 9" in scale[0].reason


def test_compensation_is_not_repeated_while_a_scale_is_outstanding() -> None:
    ns = nodes(9)
    out = b.entry("nodepool1@x", Step.SCALE, pool="nodepool1", count=11, detail="original count 9")
    result = run(ns, {0: (STALE,)}, History(scale_entries=(out,)), extra=(b.zone_failure("eastus-1"),))
    assert all(a.step is not Step.SCALE for a in result.actions)


def test_the_pool_scales_back_when_the_zone_recovers() -> None:
    ns = nodes(9)
    out = b.entry("nodepool1@x", Step.SCALE, pool="nodepool1", count=11, detail="original count 9")
    (action,) = run(ns, {}, History(scale_entries=(out,))).actions
    assert (action.step, action.count, action.key) == (Step.SCALE, 9, "nodepool1@x/scale/2")


def test_autoscaling_pools_are_left_to_the_autoscaler() -> None:
    ns = nodes(9)
    snap = snapshot(ns, pools=[b.pool("nodepool1", 9, autoscale=True)])
    result = run(ns, {0: (STALE,)}, snap=snap, extra=(b.zone_failure("eastus-1"),))
    assert all(a.step is not Step.SCALE for a in result.actions)
    assert any(h.step is Step.SCALE and "autoscaler" in h.message for h in result.holds)


def test_a_node_of_a_pool_without_zones_is_planned_with_no_zone() -> None:
    # AKS labels such a node's zone "0". Detection places it in no zone (detect/inventory.py); the planner
    # read the raw label instead, so the zone breaker and the holds saw a zone "0" holding every non-zonal
    # node. Targets now read the same NodePlace as detection (model/node_place.py).
    ns = [b.node("nodepool1", i, zone="0") for i in range(6)]
    (action,) = run(ns, {0: (STALE,)}).actions
    assert action.step is Step.CORDON
    assert action.zone is None
