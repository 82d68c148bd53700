"""Fencing in the planner (heal/fencing.py): confirmed off only, inside the breakers, opt-in, undone when back."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nodewarden.heal import plan
from nodewarden.heal.policy import Policy
from nodewarden.model.azure import AvailabilityStatus, InstanceStatus, InstanceView, ScaleSetInstance
from nodewarden.model.health import HealthState, SignalKind
from nodewarden.model.kube import Node, NodeSpec, ObjectMeta, OwnerReference, Pod, PodSpec, PodStatus, Taint
from nodewarden.model.remediation import History, HoldReason, Outcome, Plan, Step
from nodewarden.model.snapshot import Snapshot
from tests.heal import builders as b
from tests.heal.builders import NOW

DOWN = NOW - timedelta(minutes=3)


def policy(**fencing: Any) -> Policy:
    spec = {"fencing": {"enabled": True, **fencing}}
    return Policy.model_validate({"apiVersion": "nodewarden.io/v1", "kind": "RemediationPolicy", "spec": spec})


def fenced(node: Node) -> Node:
    taint = Taint(key="node.kubernetes.io/out-of-service", value="nodeshutdown", effect="NoExecute")
    return Node(metadata=node.metadata, spec=NodeSpec(providerID=node.spec.provider_id, taints=[taint]))


def instance(pool: str, index: int, power: str) -> ScaleSetInstance:
    base = b.instance(pool, index)
    statuses = [InstanceStatus(code="ProvisioningState/succeeded"), InstanceStatus(code=f"PowerState/{power}")]
    view = InstanceView(computer_name=b.node_name(pool, index), statuses=statuses)
    return ScaleSetInstance(instance_id=base.instance_id, id=base.id, instance_view=view)


def stateful_pod(name: str, on: str) -> Pod:
    owner = OwnerReference(kind="StatefulSet", name="db", controller=True)
    return Pod(
        metadata=ObjectMeta(name=name, namespace="shop", labels={"app": "db"}, owner_references=[owner]),
        spec=PodSpec(node_name=on),
        status=PodStatus(phase="Running"),
    )


def unavailable(pool: str, index: int, since: datetime) -> AvailabilityStatus:
    resource = b.provider_id(pool, index).removeprefix("azure://")
    return AvailabilityStatus(
        id=f"{resource}/providers/Microsoft.ResourceHealth/availabilityStatuses/current",
        availability_state="Unavailable",
        context="Platform Initiated",
        occured_time=since.isoformat(),
    )


def cluster(
    power: str = "stopped",
    *,
    size: int = 6,
    dead: int = 1,
    zone_down: bool = False,
    steps: tuple[Step, ...] = (Step.CORDON, Step.DRAIN),
    taint: bool = False,
    back: bool = False,
    rh_since: datetime | None = None,
) -> tuple[Snapshot, Any, History]:
    """`size` nodes over three zones, the first `dead` of them (all in eastus-1 when `zone_down`) down since DOWN
    with a StatefulSet pod each and an open episode that took `steps`."""
    nodes, instances, healths, pods, episodes, statuses = [], [], [], [], [], []
    for i in range(size):
        zone = "eastus-1" if (zone_down and i < dead) or i % 3 == 0 else f"eastus-{2 + i % 2}"
        node = b.node("apps", i, zone=zone)
        if i < dead:
            node = fenced(node) if taint else node
            instances.append(instance("apps", i, power))
            if back:
                healths.append(b.health(node, HealthState.REMEDIATING, ready=True, since=DOWN))
            else:
                healths.append(b.health(node, HealthState.UNHEALTHY, SignalKind.READY_UNKNOWN, since=DOWN))
            pods.append(stateful_pod(f"db-{i}", node.metadata.name))
            all_steps: tuple[Step, ...] = (*steps, Step.FENCE) if taint else steps
            episodes.append(b.episode(node, *all_steps, start=DOWN, gap=timedelta(seconds=5)))
            if rh_since is not None:
                statuses.append(unavailable("apps", i, rh_since))
        else:
            instances.append(instance("apps", i, "running"))
            healths.append(b.health(node, HealthState.HEALTHY, ready=True))
        nodes.append(node)
    extra = (b.zone_failure("eastus-1"),) if zone_down else ()
    snap = Snapshot(
        cluster=b.cluster(),
        pools=(b.pool("apps", size),),
        nodes=tuple(nodes),
        instances=tuple(instances),
        pods=tuple(pods),
        availability=tuple(statuses),
    )
    return snap, b.detection(*healths, extra=extra), History(episodes=tuple(episodes))


def planned(world: tuple[Snapshot, Any, History], pol: Policy) -> Plan:
    snap, detection, history = world
    return plan(snap, detection, history, pol, NOW)


def steps_of(result: Plan) -> list[Step]:
    return [action.step for action in result.actions]


def holds_of(result: Plan) -> list[HoldReason]:
    return [hold.reason for hold in result.holds]


def test_a_dead_node_arm_reports_stopped_is_fenced_with_the_out_of_service_taint() -> None:
    result = planned(cluster("stopped"), policy())
    [action] = result.actions
    assert action.step is Step.FENCE
    assert action.taint == "node.kubernetes.io/out-of-service=nodeshutdown:NoExecute"
    assert action.instance == "aks-apps-vmss/0"
    assert "shop/db-0" in action.reason


def test_with_fencing_off_a_hold_names_the_pods_fencing_would_release() -> None:
    result = planned(cluster("stopped"), Policy())
    assert Step.FENCE not in steps_of(result)
    [hold] = [h for h in result.holds if h.reason is HoldReason.FENCING_OFF]
    assert "shop/db-0" in hold.message
    assert hold.step is Step.FENCE


def test_a_node_arm_reports_running_is_not_fenced_and_the_hold_says_why() -> None:
    result = planned(cluster("running"), policy())
    assert Step.FENCE not in steps_of(result)
    [hold] = [h for h in result.holds if h.reason is HoldReason.NOT_CONFIRMED_OFF]
    assert "PowerState/running" in hold.message
    assert "powerOff is false" in hold.message


def test_with_power_off_a_running_dead_node_is_powered_off_before_its_first_rung() -> None:
    result = planned(cluster("running"), policy(confirmOff={"powerOff": True}))
    assert steps_of(result) == [Step.POWER_OFF]


def test_the_first_rung_waits_for_the_power_off_while_the_node_has_not_been_down_long_enough() -> None:
    result = planned(cluster("running"), policy(after="10m", confirmOff={"powerOff": True}))
    assert steps_of(result) == []
    assert any(h.reason is HoldReason.WAITING and h.step is Step.RESTART for h in result.holds)


def test_power_off_is_not_tried_once_a_rung_has_run() -> None:
    world = cluster("running", steps=(Step.CORDON, Step.DRAIN, Step.RESTART))
    result = planned(world, policy(confirmOff={"powerOff": True}))
    assert Step.POWER_OFF not in steps_of(result)


def test_nothing_is_fenced_before_the_node_has_been_down_for_after() -> None:
    assert Step.FENCE not in steps_of(planned(cluster("stopped"), policy(after="5m")))


def test_a_fenced_node_that_is_ready_again_is_unfenced_even_with_fencing_off() -> None:
    result = planned(cluster("running", taint=True, back=True), Policy())
    assert steps_of(result) == [Step.UNFENCE]


def test_a_taint_a_person_added_is_never_removed() -> None:
    snap, detection, history = cluster("running", taint=True, back=True)
    episodes = tuple(
        e.__class__(**{**e.__dict__, "entries": tuple(x for x in e.entries if x.step is not Step.FENCE)})
        for e in history.episodes
    )
    result = plan(snap, detection, History(episodes=episodes), policy(), NOW)
    assert Step.UNFENCE not in steps_of(result)


def test_in_a_zone_outage_arm_still_says_running_so_resource_health_confirms_after_zone_unavailable_for() -> None:
    early = cluster("running", size=9, dead=3, zone_down=True, rh_since=NOW - timedelta(minutes=2))
    assert Step.FENCE not in steps_of(planned(early, policy()))
    late = cluster("running", size=9, dead=3, zone_down=True, rh_since=NOW - timedelta(minutes=6))
    fences = [a.node for a in planned(late, policy()).actions if a.step is Step.FENCE]
    assert len(fences) == 3  # past the zone breaker: Azure explains the failure


def test_resource_health_alone_does_not_fence_a_single_running_node() -> None:
    world = cluster("running", rh_since=NOW - timedelta(hours=1))
    assert Step.FENCE not in steps_of(planned(world, policy()))


def test_the_storm_breaker_holds_fencing() -> None:
    result = planned(cluster("stopped", size=4, dead=3), policy())
    assert Step.FENCE not in steps_of(result)
    assert HoldReason.STORM in holds_of(result)


def test_a_pending_step_holds_fencing() -> None:
    snap, detection, history = cluster("stopped")
    episode = history.episodes[0]
    pending = b.entry(episode.id, Step.RESTART, Outcome.PENDING, at=NOW - timedelta(seconds=5))
    busy = episode.__class__(**{**episode.__dict__, "entries": (*episode.entries, pending)})
    assert plan(snap, detection, History(episodes=(busy,)), policy(), NOW).actions == ()


def test_fencing_settings_can_be_overridden_for_one_pool() -> None:
    pol = Policy.model_validate({"spec": {"pools": {"apps": {"fencing": {"enabled": True}}}}})
    assert pol.for_pool("apps").fencing.enabled
    assert not pol.for_pool("other").fencing.enabled
    assert steps_of(planned(cluster("stopped"), pol)) == [Step.FENCE]


# -- properties ---------------------------------------------------------------------------------------


@st.composite
def fencing_worlds(draw: st.DrawFn) -> tuple[tuple[Snapshot, Any, History], Policy]:
    world = cluster(
        draw(st.sampled_from(["running", "stopped", "deallocated", "starting", "stopping"])),
        size=draw(st.integers(2, 12)),
        dead=draw(st.integers(1, 6)),
        zone_down=draw(st.booleans()),
        steps=draw(
            st.sampled_from(
                [
                    (Step.CORDON,),
                    (Step.CORDON, Step.DRAIN),
                    (Step.CORDON, Step.DRAIN, Step.RESTART),
                    (Step.CORDON, Step.POWER_OFF),
                ]
            )
        ),
        taint=draw(st.booleans()),
        back=draw(st.booleans()),
        rh_since=draw(st.sampled_from([None, NOW - timedelta(minutes=1), NOW - timedelta(minutes=30)])),
    )
    confirm = {"powerOff": draw(st.booleans()), "zoneUnavailableFor": draw(st.sampled_from(["1m", "5m"]))}
    fencing = {
        "enabled": draw(st.booleans()),
        "after": draw(st.sampled_from(["1s", "1m", "10m"])),
        "confirmOff": confirm,
    }
    guards = {"maxUnhealthy": draw(st.sampled_from(["20%", "40%", "100%"]))}
    pol = Policy.model_validate({"spec": {"fencing": fencing, "guards": guards}})
    return world, pol


def _zone_confirmed(world: tuple[Snapshot, Any, History], pol: Policy, node: Node) -> bool:
    """Recomputed from the raw inputs: a ZoneFailure for the node's zone and Resource Health Unavailable long enough."""
    snap, detection, _ = world
    zone = node.metadata.label_map["topology.kubernetes.io/zone"]
    if not any(s.kind is SignalKind.ZONE_FAILURE and s.zone == zone for s in detection.signals):
        return False
    name = b.node_name("apps", int(node.metadata.name[-6:]))
    wait = pol.spec.fencing.confirm_off.zone_unavailable_for
    return any(
        name.endswith(f"{int(s.resource_id.rsplit('/', 1)[-1]):06d}")
        and datetime.fromisoformat(s.occured_time or "") <= NOW - wait
        for s in snap.availability
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=fencing_worlds())
def test_fencing_keeps_its_guarantees(drawn: tuple[tuple[Snapshot, Any, History], Policy]) -> None:
    world, pol = drawn
    snap, detection, _ = world
    result = planned(world, pol)
    nodes = snap.nodes_by_name
    power = {i.instance_view.computer_name: i.status("PowerState") for i in snap.instances if i.instance_view}
    failing = sum(1 for h in detection.health.values() if h.state is HealthState.UNHEALTHY)
    for action in result.actions:
        if action.node is None:
            continue  # zone compensation scales a pool
        node = nodes[action.node]
        if not pol.spec.fencing.enabled:
            assert action.step not in (Step.FENCE, Step.POWER_OFF), "fenced or powered off with fencing disabled"
        if action.step is Step.UNFENCE:
            assert node.fenced, "unfenced a node without the taint"
        if action.step is Step.FENCE:
            assert not node.fenced, "fenced twice"
            if power[node.metadata.name] not in ("stopped", "deallocated"):
                assert _zone_confirmed(world, pol, node), "fenced a node ARM reports running"
            else:
                # never past the storm breaker, unless every failing node is explained by a confirmed zone
                storm = failing >= 2 and failing / len(snap.nodes) > pol.spec.guards.max_unhealthy
                assert not storm or _zone_confirmed(world, pol, node), "fenced past the storm breaker"
