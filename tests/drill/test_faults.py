"""The fault catalogue and target resolution: deterministic picks, and refusals that name the pool, zone and scope."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from nodewarden.drill import faults
from nodewarden.drill.faults import Where
from nodewarden.drill.spec import DrillError, DrillSpec
from nodewarden.model.azure import AgentPool
from nodewarden.model.kube import Node, Pod, Workload
from nodewarden.model.snapshot import Snapshot
from nodewarden.twin import faults as twin_faults


def node(
    pool: str, number: int, zone: str | None = "1", *, ready: bool = True, cordoned: bool = False, spot: bool = False,
    conditions: dict[str, str] | None = None,
) -> Node:  # fmt: skip
    labels = {
        "kubernetes.azure.com/agentpool": pool,
        "topology.kubernetes.io/zone": f"westeurope-{zone}" if zone else "0",
    }
    if spot:
        labels["kubernetes.azure.com/scalesetpriority"] = "spot"
    items = [{"type": "Ready", "status": "True" if ready else "Unknown"}]
    items += [{"type": kind, "status": status} for kind, status in (conditions or {}).items()]
    return TypeAdapter(Node).validate_python(
        {
            "metadata": {"name": f"aks-{pool}-12345678-vmss{number:06d}", "labels": labels},
            "spec": {"unschedulable": cordoned},
            "status": {"conditions": items},
        }
    )


def name(pool: str, number: int) -> str:
    return f"aks-{pool}-12345678-vmss{number:06d}"


def spec(fault: str, target: dict[str, str] | None, *, pools: list[str], zones: list[str] | None = None,
         options: dict[str, Any] | None = None) -> DrillSpec:  # fmt: skip
    scope: dict[str, Any] = {"pools": pools} | ({"zones": zones} if zones is not None else {})
    body: dict[str, Any] = {"type": fault, "options": options or {}}
    if target is not None:
        body["target"] = target
    return DrillSpec.model_validate({"scope": scope, "fault": body})


# apps: 0 zone 1, 1 zone 2 (NotReady), 2 zone 3, 3 zone 1 (cordoned), 4 zone 2; system: 0-2 in zones 1-3
CLUSTER = Snapshot(
    nodes=(
        node("apps", 4, "2"),
        node("apps", 2, "3"),
        node("apps", 1, "2", ready=False),
        node("apps", 3, "1", cordoned=True),
        node("apps", 0, "1"),
        node("system", 0, "1"),
        node("system", 1, "2"),
        node("system", 2, "3"),
    ),
    pools=(AgentPool(name="apps"), AgentPool(name="system"), AgentPool(name="spot", scale_set_priority="Spot")),
)


# -- the catalogue ---------------------------------------------------------------------------------------


def test_the_twin_faults_are_the_twins_catalogue_name_for_name_and_target_for_target() -> None:
    ours = [(kind.name, kind.target) for kind in faults.CATALOGUE if kind.where is Where.TWIN]
    assert ours == [(fault.name, fault.target) for fault in twin_faults.CATALOGUE]


def test_the_api_faults_are_the_ones_an_operator_can_cause_safely_on_a_real_cluster() -> None:
    api = {kind.name: kind.target for kind in faults.CATALOGUE if kind.where is Where.API}
    assert api == {
        "instance-stop": "node",
        "instance-deallocate": "node",
        "node-drain": "node",
        "spot-eviction": "node",
    }


def test_an_unknown_fault_name_suggests_the_nearest_and_lists_the_known() -> None:
    with pytest.raises(
        DrillError, match=r"no fault 'instance-crsh'; did you mean instance-crash\? known: .*spot-eviction"
    ):
        faults.fault_kind("instance-crsh")


@pytest.mark.parametrize(
    ("desc", "fault", "options", "message"),
    [
        ("a typo", "planned-maintenance", {"not_before": 60},
         r"spec.fault.options.not_before: planned-maintenance has no such option "
         r"\(known: event_type, not_before_seconds\)"),
        ("an option of another fault", "instance-crash", {"rate": 1},
         r"spec.fault.options.rate: instance-crash has no such option \(known: none\)"),
        ("seconds that are not a number", "node-drain", {"timeout_seconds": "5m"},
         r"spec.fault.options.timeout_seconds: expected a number of seconds >= 0, found '5m'"),
        ("negative seconds", "node-drain", {"grace_period_seconds": -1},
         r"spec.fault.options.grace_period_seconds: expected a number of seconds >= 0, found -1"),
    ],
)  # fmt: skip
def test_a_bad_option_is_refused_before_anything_is_injected(
    desc: str, fault: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(DrillError, match=message):
        faults.resolve(spec(fault, {"pool": "apps"}, pools=["apps"], options=options), CLUSTER)


# -- node faults -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("desc", "target", "zones", "picked"),
    [
        ("first Ready, schedulable node of the pool by name", {"pool": "apps"}, None, name("apps", 0)),
        ("in the zone asked for, skipping the NotReady one", {"pool": "apps", "zone": "2"}, None, name("apps", 4)),
        ("a zone label matches its short form", {"pool": "apps", "zone": "westeurope-3"}, None, name("apps", 2)),
        ("the scope's zones narrow the pick", {"pool": "apps"}, ["3"], name("apps", 2)),
        ("no pool: picked from the scope's pools", {"zone": "2"}, None, name("apps", 4)),
        ("a named node is taken as named", {"node": name("apps", 3)}, None, name("apps", 3)),
    ],
)
def test_a_node_fault_lands_on_one_node(
    desc: str, target: dict[str, str], zones: list[str] | None, picked: str
) -> None:
    resolved = faults.resolve(spec("instance-crash", target, pools=["apps"], zones=zones), CLUSTER)
    assert resolved.nodes == (picked,), desc
    assert resolved.target == picked
    assert resolved.pool == "apps"


def test_the_description_names_the_fault_node_pool_and_zone() -> None:
    resolved = faults.resolve(spec("instance-crash", {"pool": "apps"}, pools=["apps"]), CLUSTER)
    assert resolved.description == f"instance-crash on {name('apps', 0)} (apps, zone 1)"
    assert resolved.zone == "westeurope-1"


@pytest.mark.parametrize(
    ("desc", "target", "zones", "message"),
    [
        ("a pool outside the scope", {"pool": "system"}, None,
         r"spec.fault.target.pool: pool system is outside the drill's scope \(spec.scope.pools: apps\)"),
        ("a node of a pool outside the scope", {"node": name("system", 1)}, None,
         rf"node {name('system', 1)} is in pool system, outside the drill's scope \(spec.scope.pools: apps\)"),
        ("a node in a zone outside the scope", {"node": name("apps", 2)}, ["1", "2"],
         rf"node {name('apps', 2)} is in zone 3, outside the drill's scope \(.*spec.scope.zones: 1, 2\)"),
        ("a zone outside the scope", {"pool": "apps", "zone": "3"}, ["1"],
         r"spec.fault.target.zone: zone 3 is outside the drill's scope"),
        ("a node that does not exist", {"node": "aks-apps-12345678-vmss0000zz"}, None,
         r"no node aks-apps-12345678-vmss0000zz in the cluster"),
        ("a node not in the pool named beside it", {"node": name("apps", 0), "pool": "apps", "zone": "2"}, None,
         rf"node {name('apps', 0)} is in zone 1, not zone 2"),
    ],
)  # fmt: skip
def test_a_node_fault_is_refused(desc: str, target: dict[str, str], zones: list[str] | None, message: str) -> None:
    with pytest.raises(DrillError, match=message):
        faults.resolve(spec("instance-crash", target, pools=["apps"], zones=zones), CLUSTER)


def test_a_pool_with_no_ready_schedulable_node_in_the_zone_is_refused() -> None:
    cluster = Snapshot(nodes=tuple(n for n in CLUSTER.nodes if n.metadata.name != name("apps", 4)))  # apps-1 NotReady
    with pytest.raises(DrillError, match=r"spec.fault.target: pool apps has no Ready, schedulable node in zone 2$"):
        faults.resolve(spec("instance-crash", {"pool": "apps", "zone": "2"}, pools=["apps"]), cluster)


def test_an_unknown_pool_in_scope_is_refused_as_unknown() -> None:
    with pytest.raises(DrillError, match=r"no pool data in the cluster \(pools: apps, spot, system\)"):
        faults.resolve(spec("kubelet-hang", {"pool": "data"}, pools=["apps", "data"]), CLUSTER)


def test_a_node_fault_without_a_target_is_refused() -> None:
    with pytest.raises(DrillError, match=r"spec.fault.target: instance-stop needs a target \(a node, or a pool"):
        faults.resolve(spec("instance-stop", None, pools=["apps"]), CLUSTER)


def test_a_workload_target_picks_a_node_running_its_pod() -> None:
    ledger = TypeAdapter(Workload).validate_python(
        {"kind": "Deployment", "metadata": {"name": "ledger", "namespace": "payments"},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "ledger"}}}}
    )  # fmt: skip
    pods = tuple(
        TypeAdapter(Pod).validate_python(
            {
                "metadata": {"name": f"{app}-{i}", "namespace": "payments", "labels": {"app": app}},
                "spec": {"nodeName": name("apps", i)},
            }
        )
        for app, i in (("other", 0), ("ledger", 2), ("ledger", 4))
    )
    cluster = Snapshot(nodes=CLUSTER.nodes, workloads=(ledger,), pods=pods)
    resolved = faults.resolve(
        spec("kernel-deadlock", {"pool": "apps", "hosting": "payments/ledger"}, pools=["apps"]), cluster
    )
    assert resolved.nodes == (name("apps", 2),)
    with pytest.raises(DrillError, match="no workload payments/nope in the cluster"):
        faults.resolve(spec("kernel-deadlock", {"hosting": "payments/nope"}, pools=["apps"]), cluster)


def test_a_spot_eviction_picks_a_spot_node_and_refuses_any_other() -> None:
    cluster = Snapshot(nodes=(*CLUSTER.nodes, node("spot", 1, "1", spot=True), node("spot", 0, "1", ready=False)))
    resolved = faults.resolve(spec("spot-eviction", {"zone": "1"}, pools=["apps", "spot"]), cluster)
    assert resolved.nodes == (name("spot", 1),)
    with pytest.raises(
        DrillError, match=r"spot-eviction needs a node of a Spot pool; .* is in pool apps, which is not Spot"
    ):
        faults.resolve(spec("spot-eviction", {"node": name("apps", 0)}, pools=["apps"]), cluster)
    with pytest.raises(DrillError, match=r"pool apps has no Ready, schedulable node of a Spot pool"):
        faults.resolve(spec("spot-eviction", {"pool": "apps"}, pools=["apps"]), cluster)


def test_a_spot_pool_is_known_from_its_agent_pool_when_its_nodes_carry_no_label() -> None:
    cluster = Snapshot(nodes=(node("spot", 0, "1"),), pools=CLUSTER.pools)
    assert faults.resolve(spec("spot-eviction", {"pool": "spot"}, pools=["spot"]), cluster).nodes == (name("spot", 0),)


# -- pool, zone and cluster faults -------------------------------------------------------------------------


def test_a_pool_fault_hits_every_node_of_the_pool() -> None:
    resolved = faults.resolve(spec("bad-image", {"pool": "apps"}, pools=["apps"]), CLUSTER)
    assert resolved.nodes == tuple(name("apps", i) for i in range(5))
    assert (resolved.target, resolved.pool, resolved.zone) == ("apps", "apps", None)
    assert resolved.description == "bad-image on pool apps (5 nodes)"


@pytest.mark.parametrize(
    ("desc", "target", "pools", "zones", "message"),
    [
        ("its pool outside the scope", {"pool": "system"}, ["apps"], None, r"pool system is outside the drill's scope"),
        ("its pool spans zones outside the scope", {"pool": "apps"}, ["apps"], ["1"],
         r"bad-image hits every zone of pool apps, and its nodes in zone 2, zone 3 lie outside the drill's scope"),
        ("a node named for a pool fault", {"pool": "apps", "node": name("apps", 0)}, ["apps"], None,
         r"spec.fault.target.node: bad-image hits a whole pool; name only the pool"),
    ],
)  # fmt: skip
def test_a_pool_fault_is_refused(
    desc: str, target: dict[str, str], pools: list[str], zones: list[str] | None, message: str
) -> None:
    with pytest.raises(DrillError, match=message):
        faults.resolve(spec("bad-image", target, pools=pools, zones=zones), CLUSTER)


def test_a_zone_fault_hits_every_node_of_the_scopes_pools_in_the_zone() -> None:
    resolved = faults.resolve(spec("zone-outage", {"zone": "1"}, pools=["apps", "system"], zones=["1"]), CLUSTER)
    assert resolved.nodes == (name("apps", 0), name("apps", 3), name("system", 0))
    assert (resolved.target, resolved.zone, resolved.pool) == ("westeurope-1", "westeurope-1", None)
    assert resolved.description == "zone-outage in zone 1 (3 nodes of apps, system)"


@pytest.mark.parametrize(
    ("desc", "pools", "zones", "zone", "message"),
    [
        ("no zones in the scope", ["apps", "system"], None, "1",
         r"spec.scope.zones: zone-outage hits every pool in a zone, so the drill's scope must name its zones"),
        ("a zone outside the scope", ["apps", "system"], ["2"], "1", r"zone 1 is outside the drill's scope"),
        ("a zone that also holds pools outside the scope", ["apps"], ["1"], "1",
         r"zone-outage in zone 1 would hit pool system, outside the drill's scope \(spec.scope.pools: apps;"),
        ("a zone with no node", ["apps", "system"], ["4"], "4", r"no node in zone 4 \(the nodes are in zone 1, zone 2"),
    ],
)  # fmt: skip
def test_a_zone_fault_is_refused(desc: str, pools: list[str], zones: list[str] | None, zone: str, message: str) -> None:
    with pytest.raises(DrillError, match=message):
        faults.resolve(spec("zone-outage", {"zone": zone}, pools=pools, zones=zones), CLUSTER)


def test_a_cluster_fault_hits_no_node_and_takes_no_target() -> None:
    resolved = faults.resolve(spec("arm-throttle", None, pools=["apps"], options={"rate": 0.5}), CLUSTER)
    assert (resolved.nodes, resolved.target, resolved.description) == ((), None, "arm-throttle on the whole cluster")
    with pytest.raises(DrillError, match="arm-throttle acts on the whole cluster and takes no target"):
        faults.resolve(spec("arm-throttle", {"pool": "apps"}, pools=["apps"]), CLUSTER)


# -- the pick does not depend on the order nodes were listed in ------------------------------------------


@st.composite
def clusters(draw: st.DrawFn) -> list[Node]:
    entries = draw(
        st.lists(
            st.tuples(st.sampled_from(["apps", "system"]), st.integers(0, 40), st.sampled_from(["1", "2", "3", None]),
                      st.booleans(), st.booleans()),
            max_size=25, unique_by=lambda e: (e[0], e[1]),
        )
    )  # fmt: skip
    return [node(pool, i, zone, ready=ready, cordoned=cordoned) for pool, i, zone, ready, cordoned in entries]


@given(nodes=clusters(), order=st.randoms(use_true_random=False), zone=st.sampled_from([None, "1", "2"]))
def test_a_picked_node_is_the_first_eligible_by_name_whatever_the_listing_order(
    nodes: list[Node], order: Any, zone: str | None
) -> None:
    drill = spec("instance-crash", {"pool": "apps"} | ({"zone": zone} if zone else {}), pools=["apps"])
    shuffled = list(nodes)
    order.shuffle(shuffled)
    eligible = sorted(
        n.metadata.name for n in nodes
        if n.metadata.label_map["kubernetes.azure.com/agentpool"] == "apps"
        and (zone is None or n.metadata.label_map["topology.kubernetes.io/zone"] == f"westeurope-{zone}")
        and n.status is not None and n.status.conditions is not None and n.status.conditions[0].status == "True"
        and not n.spec.unschedulable
    )  # fmt: skip
    outcomes: list[tuple[str, ...] | str] = []
    for listing in (nodes, shuffled):
        try:
            outcomes.append(faults.resolve(drill, Snapshot(nodes=tuple(listing), pools=CLUSTER.pools)).nodes)
        except DrillError as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]
    if eligible:
        assert outcomes[0] == (eligible[0],)
    else:
        assert "has no Ready, schedulable node" in str(outcomes[0])
