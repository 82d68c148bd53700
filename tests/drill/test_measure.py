"""The drill measurement, tick by tick: detection, capacity lost and restored, disrupted pods, budget
violations, abort reasons, and nodewarden's Events read back as steps and holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from nodewarden.drill import measure
from nodewarden.drill.measure import Measurement
from nodewarden.drill.spec import Abort, SteadyState
from nodewarden.model.health import Detection, HealthState, NodeHealth, Scope, Signal, SignalKind
from nodewarden.model.kube import EventSource, KubeEvent, ObjectMeta, ObjectReference, Pod
from nodewarden.model.snapshot import Snapshot
from tests.drill.test_steady import T0, at, node, pdb, pod, web, workload

STEADY = SteadyState()
TARGET = "n1"


def start(before: Snapshot, *, targets: Sequence[str] = (TARGET,), steady: SteadyState = STEADY) -> Measurement:
    return Measurement.start(T0, targets, steady, before)


def health(name: str, state: HealthState) -> NodeHealth:
    return NodeHealth(node=name, state=state, since=T0)


def detection(*healths: NodeHealth, signals: Sequence[Signal] = ()) -> Detection:
    return Detection(now=T0, signals=tuple(signals), health={h.node: h for h in healths})


def signal(kind: SignalKind, *, node_name: str | None, zone: str | None = None) -> Signal:
    scope = Scope.NODE if node_name else Scope.ZONE
    subject = node_name or zone or ""
    return Signal(kind=kind, scope=scope, subject=subject, since=T0, message="m", node=node_name, zone=zone)


def shop(*pods: Pod, allowed: int | None = 0) -> Snapshot:
    """Namespace shop: the pods given, Deployment web (3 replicas) and its budget with `allowed` disruptions."""
    return Snapshot(nodes=(node("n1"),), pods=pods, workloads=(workload("web"),), pdbs=(pdb("web", allowed=allowed),))


# detection


def test_a_target_in_a_failing_health_state_is_detected_at_that_tick() -> None:
    m = start(web(3))
    m.observe(at(10), web(3), detection(health(TARGET, HealthState.HEALTHY)))
    m.observe(at(40), web(3), detection(health(TARGET, HealthState.SUSPECT)))
    m.observe(at(70), web(3), detection(health(TARGET, HealthState.UNHEALTHY)))

    assert m.detected_at == at(40)
    assert m.time_to_detect == 40.0


def test_a_signal_naming_a_target_is_detection_even_while_its_state_is_healthy() -> None:
    m = start(web(3))
    m.observe(
        at(15),
        web(3),
        detection(health(TARGET, HealthState.HEALTHY), signals=[signal(SignalKind.NOT_READY, node_name=TARGET)]),
    )

    assert m.time_to_detect == 15.0


def test_a_context_signal_about_a_target_is_not_detection() -> None:
    """Evidence about a node (its VM agent's status, a Scheduled Event) is not nodewarden detecting a failure: a
    drill that took it for one ended 'passed' before the crashed node even went NotReady (under load, the first
    tick after the fault saw the VM agent's status change and a node still Ready)."""
    m = start(web(3))
    context = [signal(kind, node_name=TARGET) for kind in SignalKind if not signal(kind, node_name=TARGET).is_problem]
    assert context
    m.observe(at(12), web(3), detection(health(TARGET, HealthState.HEALTHY), signals=context))
    assert m.detected_at is None


def test_other_nodes_zones_and_recovered_states_are_not_detection() -> None:
    m = start(web(3))
    m.observe(
        at(15),
        web(3),
        detection(
            health(TARGET, HealthState.RECOVERED),
            health("n2", HealthState.FAILED),
            signals=[
                signal(SignalKind.NOT_READY, node_name="n2"),
                signal(SignalKind.ZONE_FAILURE, node_name=None, zone="1"),
            ],
        ),
    )

    assert m.detected_at is None
    assert m.time_to_detect is None


def test_without_a_detector_or_without_targets_nothing_is_detected() -> None:
    no_detector = start(web(3))
    no_detector.observe(at(5), web(3), None)
    cluster_wide = start(web(3), targets=())
    cluster_wide.observe(at(5), web(3), detection(health(TARGET, HealthState.FAILED)))

    assert no_detector.detected_at is None
    assert cluster_wide.detected_at is None


# capacity


def test_capacity_lost_then_restored_gives_the_restore_time_from_the_fault() -> None:
    m = start(web(3))
    m.observe(at(10), web(3), None)
    m.observe(at(20), web(2), None)
    assert m.capacity_lost_at == at(20)
    assert m.time_to_restore is None  # short now

    m.observe(at(30), web(1), None)
    m.observe(at(130), web(3), None)

    assert m.capacity_lost_at == at(20)
    assert m.restored_at == at(130)
    assert m.time_to_restore == 130.0


def test_capacity_lost_again_after_a_restore_waits_for_the_latest_restore() -> None:
    m = start(web(3))
    for second, ready in ((10, 2), (20, 3), (30, 2), (40, 3)):
        m.observe(at(second), web(ready), None)

    assert m.capacity_lost_at == at(10)
    assert m.restored_at == at(40)


def test_capacity_never_lost_restores_in_zero_seconds() -> None:
    m = start(web(3))
    m.observe(at(10), web(3), None)

    assert m.capacity_lost_at is None
    assert m.restored_at is None
    assert m.time_to_restore == 0.0


def test_capacity_uses_the_drill_replica_share() -> None:
    m = start(web(3), steady=SteadyState(min_replica_share=0.66))
    m.observe(at(10), web(2), None)

    assert m.capacity_lost_at is None


# pods disrupted


def test_workload_pods_present_at_the_fault_that_are_gone_or_terminating_are_disrupted() -> None:
    before = shop(
        pod("web-0"),
        pod("web-1"),
        pod("web-2"),
        pod("db-0", app="db", owner="StatefulSet"),
        pod("agent-x", app="agent", owner="DaemonSet"),
        pod("bare", app="bare", owner=None),
        pod("dns-0", app="dns", ns="kube-system"),
    )
    m = start(before)
    m.observe(at(10), shop(pod("web-0", ready=False), pod("web-2", terminating=True), pod("web-3")), None)

    assert m.pods_disrupted == {"shop/web-1", "shop/web-2", "shop/db-0"}


def test_a_stateful_pod_recreated_under_its_old_name_was_disrupted() -> None:
    before = shop(pod("db-0", app="db", owner="StatefulSet", uid="first"))
    m = start(before)
    m.observe(at(10), shop(pod("db-0", app="db", owner="StatefulSet", uid="second")), None)

    assert m.pods_disrupted == {"shop/db-0"}


def test_without_a_uid_a_pod_is_known_by_name_and_creation_time() -> None:
    old = pod("db-0", app="db", owner="StatefulSet", uid=None, created="2026-11-26T07:00:00Z")
    new = pod("db-0", app="db", owner="StatefulSet", uid=None, created="2026-11-26T08:00:30Z")
    kept = start(shop(old))
    kept.observe(at(10), shop(old), None)
    replaced = start(shop(old))
    replaced.observe(at(40), shop(new), None)

    assert kept.pods_disrupted == set()
    assert replaced.pods_disrupted == {"shop/db-0"}


def test_pods_disrupted_count_only_the_named_namespaces_when_the_drill_names_some() -> None:
    before = shop(pod("web-0"), pod("db-0", app="db", ns="data"))
    m = start(before, steady=SteadyState(namespaces=("data",)))
    m.observe(at(10), shop(), None)

    assert m.pods_disrupted == {"data/db-0"}


# PDB violations


def test_a_ready_pod_evicted_under_a_budget_allowing_none_is_a_violation() -> None:
    m = start(shop(pod("web-0"), pod("web-1"), allowed=0))
    m.observe(at(45), shop(pod("web-1"), allowed=0), None)

    assert m.pdb_violations == ["shop/web: pod shop/web-0 at +45s"]


def test_a_terminating_pod_counts_as_evicted() -> None:
    m = start(shop(pod("web-0"), allowed=0))
    m.observe(at(130), shop(pod("web-0", terminating=True), allowed=0), None)

    assert m.pdb_violations == ["shop/web: pod shop/web-0 at +2m10s"]


def test_a_ready_pod_evicted_while_its_budget_had_spare_is_no_violation() -> None:
    m = start(shop(pod("web-0"), pod("web-1"), allowed=1))
    m.observe(at(45), shop(pod("web-1"), allowed=0), None)  # the allowance read is last tick's

    assert m.pdb_violations == []


def test_a_pod_that_only_went_not_ready_is_no_violation() -> None:
    m = start(shop(pod("web-0"), allowed=0))
    m.observe(at(30), shop(pod("web-0", ready=False), allowed=0), None)
    m.observe(at(60), shop(allowed=0), None)  # deleted once NotReady: the budget does not protect it

    assert m.pdb_violations == []
    assert m.pods_disrupted == {"shop/web-0"}


def test_two_pods_of_one_budget_gone_in_one_tick_under_an_allowance_of_one_is_one_violation() -> None:
    m = start(shop(pod("web-0"), pod("web-1"), pod("web-2"), allowed=1))
    m.observe(at(20), shop(pod("web-2"), allowed=1), None)

    assert m.pdb_violations == ["shop/web: pod shop/web-1 at +20s"]


def test_budgets_in_other_namespaces_or_without_a_status_do_not_cover_a_pod() -> None:
    budgets = (pdb("web", ns="other", allowed=0), pdb("web", allowed=None, status=False))
    before = Snapshot(pods=(pod("web-0"),), pdbs=budgets)
    m = start(before)
    m.observe(at(20), Snapshot(pdbs=budgets), None)

    assert m.pdb_violations == []


def test_the_first_tick_is_judged_against_the_snapshot_before_the_fault() -> None:
    m = start(shop(pod("web-0"), allowed=0))
    m.observe(at(5), shop(allowed=3), None)

    assert m.pdb_violations == ["shop/web: pod shop/web-0 at +5s"]


# abort


def test_abort_when_too_few_nodes_are_ready() -> None:
    nodes = tuple(node(f"n{i}", ready=i < 9) for i in range(21))
    m = start(web(3))

    assert m.abort_reason(at(30), Snapshot(nodes=nodes), Abort()) == "only 9 of 21 nodes Ready (below 50%)"
    assert m.abort_reason(at(30), Snapshot(nodes=nodes), Abort(min_ready_nodes=None)) is None


def test_abort_on_a_recorded_pdb_violation_unless_told_otherwise() -> None:
    m = start(shop(pod("web-0"), allowed=0))
    m.observe(at(45), shop(allowed=0), None)

    assert m.abort_reason(at(45), web(3), Abort()) == "PDB violated: shop/web: pod shop/web-0 at +45s"
    assert m.abort_reason(at(45), web(3), Abort(on_pdb_violation=False)) is None


def test_abort_once_the_time_allowed_has_passed() -> None:
    m = start(web(3))
    limit = Abort(after=timedelta(minutes=20))

    assert m.abort_reason(at(20 * 60), web(3), limit) is None
    assert m.abort_reason(at(20 * 60 + 1), web(3), limit) == "not back to steady state within 20m"


# steps and holds


def event(
    *,
    reason: str,
    action: str | None = None,
    second: float = 10,
    controller: str | None = "nodewarden",
    component: str | None = None,
) -> KubeEvent:
    when = at(second).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if component is not None:  # a core/v1 Event: source component and lastTimestamp
        return KubeEvent(
            metadata=ObjectMeta(name=f"n1.{reason}{second}", namespace="default"),
            reason=reason,
            action=action,
            source=EventSource(component=component),
            last_timestamp=when,
            involved_object=ObjectReference(kind="Node", name="n1"),
        )
    return KubeEvent(
        metadata=ObjectMeta(name=f"n1.{reason}{second}", namespace="default"),
        reason=reason,
        action=action,
        reporting_controller=controller,
        event_time=when,
        regarding=ObjectReference(kind="Node", name="n1"),
    )


def test_nodewarden_events_since_the_fault_give_its_steps_and_holds() -> None:
    events = (
        event(reason="Cordon", action="Cordon"),
        event(reason="OperationStarted", action="Restart", second=0),  # at the fault itself
        event(reason="ZoneBreaker", action="Reimage", component="nodewarden"),  # a hold names the step it held
        event(reason="DisruptionBudget", action="Drain"),
        event(reason="Drain", action="Drain", second=-5),  # before the fault
        event(reason="Taint", action="Taint"),  # an action, but not a remediation step
        event(reason="Killing", action="Drain", controller="kubelet"),
        event(reason="Cordon", action="Replace", controller=None, component="kube-controller-manager"),
    )

    steps, holds = measure.nodewarden_events(Snapshot(events=events), T0)

    assert steps == {"Cordon", "Restart"}
    assert holds == {"ZoneBreaker", "DisruptionBudget"}


def test_steps_and_holds_passed_by_the_runner_accumulate_across_ticks() -> None:
    m = start(web(3))
    m.observe(at(10), web(3), None, steps=["Cordon"], holds=["ZoneBreaker"])
    m.observe(at(20), web(3), None, steps=["Drain", "Cordon"])

    assert m.steps_seen == {"Cordon", "Drain"}
    assert m.holds_seen == {"ZoneBreaker"}


# properties: random ticks of pods appearing, going NotReady, being deleted, budgets changing

APPS = ("web", "api")
REPLICAS = 2


@dataclass(frozen=True)
class Op:
    kind: str  # add, ready, delete, terminate, allow
    app: str
    index: int
    flag: bool
    amount: int


@dataclass
class FakePod:
    name: str
    app: str
    ready: bool
    terminating: bool = False


@dataclass
class World:
    """A namespace with one Deployment and one budget per app, changed by ops; rebuilt as a Snapshot per tick."""

    pods: list[FakePod]
    allowed: dict[str, int]
    made: int = field(default=0)

    def apply(self, op: Op) -> None:
        if op.kind == "add":
            self.made += 1
            self.pods.append(FakePod(f"{op.app}-new{self.made}", op.app, op.flag))
        elif op.kind == "allow":
            self.allowed[op.app] = op.amount
        elif self.pods:
            chosen = self.pods[op.index % len(self.pods)]
            if op.kind == "ready":
                chosen.ready = op.flag
            elif op.kind == "terminate":
                chosen.terminating = True
            else:
                self.pods.remove(chosen)

    def snapshot(self) -> Snapshot:
        return Snapshot(
            pods=tuple(pod(p.name, app=p.app, ready=p.ready, terminating=p.terminating) for p in self.pods),
            workloads=tuple(workload(app, replicas=REPLICAS) for app in APPS),
            pdbs=tuple(pdb(app, app=app, allowed=self.allowed[app]) for app in APPS),
        )

    def live_ready(self) -> dict[str, str]:
        """Name → app of the pods Ready and not terminating (names are never reused)."""
        return {p.name: p.app for p in self.pods if p.ready and not p.terminating}

    def whole(self) -> bool:
        ready = self.live_ready()
        return all(sum(1 for a in ready.values() if a == app) >= REPLICAS for app in APPS)


ops = st.builds(
    Op,
    kind=st.sampled_from(("add", "ready", "delete", "terminate", "allow")),
    app=st.sampled_from(APPS),
    index=st.integers(0, 20),
    flag=st.booleans(),
    amount=st.integers(0, 3),
)
# The world at the fault is whole (a drill starts from its steady state), with a few extra pods either way.
worlds = st.builds(
    World,
    pods=st.lists(st.builds(FakePod, name=st.just(""), app=st.sampled_from(APPS), ready=st.booleans()), max_size=4).map(
        lambda extra: [FakePod("", app, True) for app in APPS for _ in range(REPLICAS)] + extra
    ),
    allowed=st.fixed_dictionaries({app: st.integers(0, 3) for app in APPS}),
)
ticks = st.lists(st.lists(ops, max_size=4), min_size=1, max_size=8)


def named(world: World) -> World:
    for i, fake in enumerate(world.pods):
        fake.name = f"{fake.app}-{i}"
    return world


@settings(max_examples=150, deadline=None)
@given(world=worlds.map(named), ticks=ticks)
def test_properties_of_violations_disruptions_and_restore_over_random_ticks(
    world: World, ticks: list[list[Op]]
) -> None:
    at_fault = {f"shop/{p.name}" for p in world.pods}
    m = start(world.snapshot())
    was_short = False
    for second, tick in enumerate(ticks, start=1):
        ready_before, allowed_before = world.live_ready(), dict(world.allowed)
        violations_before, disrupted_before = len(m.pdb_violations), set(m.pods_disrupted)
        for op in tick:
            world.apply(op)
        live = {p.name for p in world.pods if not p.terminating}

        m.observe(at(second * 10), world.snapshot(), None)

        # (a) a budget with spare absorbs its pods: only pods beyond last tick's allowance are violations
        gone = [app for name, app in ready_before.items() if name not in live]
        beyond = sum(max(0, gone.count(app) - allowed_before[app]) for app in APPS)
        assert len(m.pdb_violations) - violations_before == beyond
        # (b) pods disrupted only grow, and only with pods present at the fault
        assert disrupted_before <= m.pods_disrupted <= at_fault
        assert m.pods_disrupted == disrupted_before | {n for n in at_fault if n.removeprefix("shop/") not in live}
        # (c) restored iff whole now after being short at an earlier tick
        whole = world.whole()
        assert (m.restored_at is not None) == (whole and was_short)
        assert (m.time_to_restore is None) == (not whole)
        was_short = was_short or not whole
