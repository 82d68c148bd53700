"""Steady-state checks: nodes Ready, workloads at their replica share, no budget below its desired count.

The builders at the top are shared with the measurement and verdict tests of this folder.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nodewarden.drill import steady
from nodewarden.drill.spec import SteadyState
from nodewarden.model.drill import CheckPhase
from nodewarden.model.kube import (
    LabelSelector,
    LabelSelectorRequirement,
    Node,
    NodeCondition,
    NodeStatus,
    ObjectMeta,
    OwnerReference,
    PdbSpec,
    PdbStatus,
    Pod,
    PodCondition,
    PodDisruptionBudget,
    PodStatus,
    Workload,
    WorkloadSpec,
)
from nodewarden.model.snapshot import Snapshot

T0 = datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def node(name: str, *, ready: bool = True) -> Node:
    condition = NodeCondition(type="Ready", status="True" if ready else "False")
    return Node(metadata=ObjectMeta(name=name), status=NodeStatus(conditions=[condition]))


def pod(
    name: str,
    *,
    app: str = "web",
    ns: str = "shop",
    ready: bool = True,
    uid: str | None = "",
    owner: str | None = "ReplicaSet",
    terminating: bool = False,
    created: str | None = None,
) -> Pod:
    """A Running pod; `uid` "" derives one from the name, None leaves it out."""
    owners = [OwnerReference(kind=owner, name=f"{app}-owner", controller=True)] if owner else None
    meta = ObjectMeta(
        name=name,
        namespace=ns,
        uid=f"uid-{ns}-{name}" if uid == "" else uid,
        labels={"app": app},
        owner_references=owners,
        creation_timestamp=created,
        deletion_timestamp="2026-11-26T08:00:00Z" if terminating else None,
    )
    status = PodStatus(phase="Running", conditions=[PodCondition(type="Ready", status="True" if ready else "False")])
    return Pod(metadata=meta, status=status)


def workload(
    name: str,
    *,
    kind: str = "Deployment",
    ns: str = "shop",
    app: str | None = None,
    replicas: int | None = 3,
    selector: LabelSelector | None = None,
) -> Workload:
    chosen = selector or LabelSelector(match_labels={"app": app or name})
    return Workload(
        kind=kind,
        metadata=ObjectMeta(name=name, namespace=ns),
        spec=WorkloadSpec(replicas=replicas, selector=chosen),
    )


def pdb(
    name: str,
    *,
    app: str = "web",
    ns: str = "shop",
    allowed: int | None = None,
    healthy: int | None = None,
    desired: int | None = None,
    status: bool = True,
) -> PodDisruptionBudget:
    return PodDisruptionBudget(
        metadata=ObjectMeta(name=name, namespace=ns),
        spec=PdbSpec(selector=LabelSelector(match_labels={"app": app}), min_available=1),
        status=PdbStatus(disruptions_allowed=allowed, current_healthy=healthy, desired_healthy=desired)
        if status
        else None,
    )


def web(ready: int, *, replicas: int = 3, total: int | None = None) -> Snapshot:
    """Deployment shop/web with `replicas` and `total` pods (default `replicas`), the first `ready` of them Ready."""
    count = replicas if total is None else total
    pods = tuple(pod(f"web-{i}", ready=i < ready) for i in range(count))
    return Snapshot(nodes=(node("n1"),), pods=pods, workloads=(workload("web", replicas=replicas),))


STEADY = SteadyState()


def test_a_healthy_cluster_passes_every_check_with_its_counts() -> None:
    snap = Snapshot(
        nodes=(node("n1"), node("n2")),
        pods=tuple(pod(f"web-{i}") for i in range(3)),
        workloads=(workload("web"),),
        pdbs=(pdb("web", healthy=3, desired=2),),
    )

    checks = steady.steady_state(snap, STEADY, CheckPhase.BEFORE)

    assert [(c.name, c.passed, c.measured, c.value) for c in checks] == [
        ("all nodes Ready", True, "2 of 2 Ready", 0.0),
        ("workloads at >= 100% of replicas", True, "1 of 1 at share", 0.0),
        ("no PDB violated", True, "0 of 1 violated", 0.0),
    ]
    assert {c.phase for c in checks} == {CheckPhase.BEFORE}


def test_not_ready_nodes_are_named_and_counted() -> None:
    snap = Snapshot(nodes=(node("b", ready=False), node("a", ready=False), node("c")))

    (check,) = steady.steady_state(snap, SteadyState(min_replica_share=0, no_pdb_violated=False), CheckPhase.AFTER)

    assert not check.passed
    assert check.measured == "1 of 3 Ready; NotReady: a, b"
    assert check.value == 2.0
    assert check.phase is CheckPhase.AFTER


def test_the_list_of_not_ready_nodes_stops_at_five_names() -> None:
    snap = Snapshot(nodes=tuple(node(f"n{i}", ready=False) for i in range(7)))

    (check,) = steady.steady_state(snap, SteadyState(min_replica_share=0, no_pdb_violated=False), CheckPhase.AFTER)

    assert check.measured == "0 of 7 Ready; NotReady: n0, n1, n2, n3, n4 and 2 more"


def test_a_node_without_a_ready_condition_is_not_ready() -> None:
    snap = Snapshot(nodes=(Node(metadata=ObjectMeta(name="bare")), node("n1")))

    assert steady.ready_node_share(snap) == 0.5


def test_no_nodes_is_a_whole_share() -> None:
    assert steady.ready_node_share(Snapshot()) == 1.0


def test_a_short_workload_is_listed_with_its_ready_and_declared_replicas() -> None:
    snap = Snapshot(
        pods=(pod("postgres-0", app="postgres", ns="data"), pod("web-0"), pod("web-1"), pod("web-2")),
        workloads=(workload("postgres", kind="StatefulSet", ns="data"), workload("web")),
    )

    checks = steady.steady_state(snap, SteadyState(min_replica_share=0.66), CheckPhase.AFTER)
    check = next(c for c in checks if c.name.startswith("workloads"))

    assert check.name == "workloads at >= 66% of replicas"
    assert check.target == ">= 66% of replicas Ready"
    assert not check.passed
    assert check.measured == "1 of 2 short: StatefulSet/data/postgres 1/3"
    assert check.value == 1.0


@pytest.mark.parametrize(
    ("desc", "ready", "replicas", "share", "whole"),
    [
        ("all Ready meets a full share", 3, 3, 1.0, True),
        ("one short fails a full share", 2, 3, 1.0, False),
        ("two of three meet 66%", 2, 3, 0.66, True),
        ("one of three misses 66%", 1, 3, 0.66, False),
        ("seven of ten meet 70% (0.7 x 10 is not rounded up to 8)", 7, 10, 0.7, True),
        ("six of ten miss 70%", 6, 10, 0.7, False),
        ("none Ready meets a zero share", 0, 3, 0.0, True),
    ],
)
def test_capacity_is_whole_when_ready_pods_reach_the_share(
    desc: str, ready: int, replicas: int, share: float, whole: bool
) -> None:
    assert steady.capacity_whole(web(ready, replicas=replicas), SteadyState(min_replica_share=share)) is whole, desc


def test_workload_replicas_counts_only_ready_pods_its_selector_matches_in_its_namespace() -> None:
    expressions = LabelSelector(match_expressions=[LabelSelectorRequirement(key="app", operator="In", values=["api"])])
    snap = Snapshot(
        pods=(
            pod("web-0"),
            pod("web-1", ready=False),
            pod("web-2", terminating=True),
            pod("web-x", ns="other"),  # same labels, another namespace
            pod("api-0", app="api"),
            pod("api-1", app="api"),
        ),
        workloads=(
            workload("web"),
            workload("api", replicas=None, selector=expressions),  # unset replicas default to 1
            workload("idle", replicas=0),
            workload("agent", kind="DaemonSet"),
            workload("dns", ns="kube-system"),
        ),
    )

    assert steady.workload_replicas(snap, ()) == {"Deployment/shop/web": (1, 3), "Deployment/shop/api": (2, 1)}


def test_named_namespaces_replace_the_default_of_all_but_kube_system() -> None:
    snap = Snapshot(workloads=(workload("web"), workload("dns", ns="kube-system"), workload("db", ns="data")))

    assert set(steady.workload_replicas(snap, ("kube-system",))) == {"Deployment/kube-system/dns"}
    assert set(steady.workload_replicas(snap, ())) == {"Deployment/shop/web", "Deployment/data/db"}


def test_a_budget_below_its_desired_healthy_count_is_violated() -> None:
    snap = Snapshot(
        pdbs=(
            pdb("web", healthy=2, desired=3),
            pdb("api", app="api", healthy=3, desired=3),
            pdb("new", app="new", status=False),  # not yet reconciled: not judged
        )
    )

    assert steady.violated_budgets(snap) == ["shop/web (2 healthy, 3 desired)"]
    (check,) = steady.steady_state(snap, SteadyState(all_nodes_ready=False, min_replica_share=0), CheckPhase.AFTER)
    assert not check.passed
    assert check.measured == "1 of 3 violated: shop/web (2 healthy, 3 desired)"
    assert check.value == 1.0


@pytest.mark.parametrize(
    ("desc", "settings", "names"),
    [
        ("everything on", SteadyState(), ["all nodes Ready", "workloads at >= 100% of replicas", "no PDB violated"]),
        ("nodes off", SteadyState(all_nodes_ready=False), ["workloads at >= 100% of replicas", "no PDB violated"]),
        ("a zero share turns workloads off", SteadyState(min_replica_share=0), ["all nodes Ready", "no PDB violated"]),
        ("budgets off", SteadyState(no_pdb_violated=False), ["all nodes Ready", "workloads at >= 100% of replicas"]),
    ],
)
def test_only_enabled_checks_are_reported(desc: str, settings: SteadyState, names: list[str]) -> None:
    checks = steady.steady_state(web(3), settings, CheckPhase.BEFORE)

    assert [c.name for c in checks] == names, desc
