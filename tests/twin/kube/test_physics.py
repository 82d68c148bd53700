"""Physics on the manual clock: kubelets, the node controller, the scheduler and the controllers."""

from __future__ import annotations

from typing import Any

from nodewarden.twin.kube.meta import condition

from .conftest import Kube, deployment, machine


def _node(kube: Kube, name: str) -> dict[str, Any]:
    return kube.store.get("nodes", None, name)


def _ready(kube: Kube, name: str) -> str:
    entry = condition(_node(kube, name), "Ready")
    assert entry is not None
    return str(entry["status"])


def _taints(kube: Kube, name: str) -> set[tuple[str, str]]:
    return {(t["key"], t["effect"]) for t in _node(kube, name)["spec"].get("taints") or []}


def _running(kube: Kube, namespace: str = "shop") -> dict[str, str]:
    """Running, not terminating pods → node."""
    return {
        p["metadata"]["name"]: p["spec"]["nodeName"]
        for p in kube.pods(namespace)
        if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")
    }


def _busiest(kube: Kube) -> str:
    nodes = list(_running(kube).values())
    return max(set(nodes), key=nodes.count)


def _events(kube: Kube, reason: str) -> list[dict[str, Any]]:
    return [e for e in kube.store.list("events").items if e["reason"] == reason]


def test_a_booted_machine_registers_an_aks_shaped_ready_node_with_a_lease(kube: Kube) -> None:
    (name,) = kube.boot(1)
    node = _node(kube, name)
    labels = node["metadata"]["labels"]
    assert labels["kubernetes.azure.com/agentpool"] == "apps"
    assert labels["kubernetes.azure.com/mode"] == "user"
    assert labels["topology.kubernetes.io/zone"] == "westeurope-1"
    assert labels["topology.kubernetes.io/region"] == "westeurope"
    assert labels["node.kubernetes.io/instance-type"] == "Standard_D4ds_v5"
    assert labels["kubernetes.azure.com/node-image-version"] == "AKSUbuntu-2204gen2containerd-202611.10.0"
    assert labels["kubernetes.io/hostname"] == name
    assert node["spec"]["providerID"].endswith("/virtualMachineScaleSets/aks-apps-12345678-vmss/virtualMachines/0")
    assert node["status"]["capacity"]["cpu"] == "4"
    assert node["status"]["capacity"]["pods"] == "110"
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.33.7"
    ready = condition(node, "Ready")
    assert ready is not None
    assert (ready["status"], ready["reason"]) == ("True", "KubeletReady")
    lease = kube.store.get("leases", "kube-node-lease", name)
    assert lease["spec"]["holderIdentity"] == name
    assert lease["spec"]["leaseDurationSeconds"] == 40


def test_one_timer_renews_every_lease_every_ten_seconds(kube: Kube) -> None:
    timers = len(kube.clock._timers)
    names = kube.boot(30)
    assert len(kube.clock._timers) == timers  # no timer (or thread) per node
    before = {n: kube.store.get("leases", "kube-node-lease", n)["spec"]["renewTime"] for n in names}
    kube.clock.advance(seconds=10)
    after = {n: kube.store.get("leases", "kube-node-lease", n)["spec"]["renewTime"] for n in names}
    assert all(after[n] > before[n] for n in names)
    assert after[names[0]] == "2026-11-26T08:00:10.000000Z"


def test_a_spot_machine_and_pool_taints_register_on_the_node(kube: Kube) -> None:
    spec = machine(0)
    spot = type(spec)(**{**spec.__dict__, "spot": True, "taints": ("CriticalAddonsOnly=true:NoSchedule",)})
    kube.world.node_booted(spot)
    node = _node(kube, spot.node_name)
    assert node["metadata"]["labels"]["kubernetes.azure.com/scalesetpriority"] == "spot"
    assert _taints(kube, spot.node_name) == {
        ("CriticalAddonsOnly", "NoSchedule"),
        ("kubernetes.azure.com/scalesetpriority", "NoSchedule"),
    }


def test_workloads_run_ready_and_spread_over_the_zones(shop: Kube) -> None:
    web = [p for p in shop.pods() if p["metadata"]["name"].startswith("web-")]
    assert len(web) == 6
    assert all(p["status"]["phase"] == "Running" for p in web)
    assert all((condition(p, "Ready") or {}).get("status") == "True" for p in web)
    zones = [_node(shop, p["spec"]["nodeName"])["metadata"]["labels"]["topology.kubernetes.io/zone"] for p in web]
    assert sorted(zones) == ["westeurope-1"] * 2 + ["westeurope-2"] * 2 + ["westeurope-3"] * 2
    owner = web[0]["metadata"]["ownerReferences"][0]
    assert owner["kind"] == "ReplicaSet"
    assert owner["controller"] is True
    assert web[0]["metadata"]["labels"]["pod-template-hash"]
    status = shop.store.get("deployments", "shop", "web")["status"]
    assert (status["replicas"], status["readyReplicas"], status["availableReplicas"]) == (6, 6, 6)
    tolerations = {(t["key"], t.get("tolerationSeconds")) for t in web[0]["spec"]["tolerations"]}
    assert ("node.kubernetes.io/unreachable", 300) in tolerations


def test_pdb_status_counts_healthy_pods_against_the_budget(shop: Kube) -> None:
    web = shop.store.get("poddisruptionbudgets", "shop", "web")["status"]
    assert (web["expectedPods"], web["currentHealthy"], web["desiredHealthy"], web["disruptionsAllowed"]) == (
        6,
        6,
        5,
        1,
    )
    api = shop.store.get("poddisruptionbudgets", "shop", "api")["status"]
    assert (api["expectedPods"], api["currentHealthy"], api["desiredHealthy"], api["disruptionsAllowed"]) == (
        2,
        2,
        2,
        0,
    )


def test_a_silent_node_goes_unknown_after_the_grace_period_and_is_tainted(shop: Kube) -> None:
    victim = _busiest(shop)
    shop.world.node_down(victim)
    shop.clock.advance(seconds=45)
    assert _ready(shop, victim) == "True"
    shop.clock.advance(seconds=20)
    assert _ready(shop, victim) == "Unknown"
    ready = condition(_node(shop, victim), "Ready")
    assert ready is not None
    assert ready["reason"] == "NodeStatusUnknown"
    assert ready["message"] == "Kubelet stopped posting node status."
    assert _taints(shop, victim) == {
        ("node.kubernetes.io/unreachable", "NoSchedule"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
    }
    assert all(t.get("timeAdded") for t in _node(shop, victim)["spec"]["taints"])
    # its pods stop counting as ready, so the web budget has nothing left to give
    on_victim = [p for p in shop.pods() if p["spec"].get("nodeName") == victim]
    assert on_victim
    assert all((condition(p, "Ready") or {}).get("status") == "False" for p in on_victim)
    assert shop.store.get("poddisruptionbudgets", "shop", "web")["status"]["disruptionsAllowed"] == 0
    not_ready = [e for e in _events(shop, "NodeNotReady") if e["involvedObject"]["kind"] == "Node"]
    assert not_ready
    assert not_ready[0]["source"]["component"] == "node-controller"


def test_pods_leave_a_silent_node_after_the_eviction_timeout_and_run_elsewhere(shop: Kube) -> None:
    victim = _busiest(shop)
    moved = {name for name, node in _running(shop).items() if node == victim}
    shop.world.node_down(victim)
    shop.clock.advance(seconds=65 + 290)
    assert moved <= set(_running(shop))  # the NoExecute toleration (300 s) has not run out yet
    shop.clock.advance(seconds=20)
    running = _running(shop)
    assert not moved & set(running)
    assert victim not in running.values()
    assert sum(1 for name in running if name.startswith("web-")) == 6
    # with the kubelet gone nobody confirms the deletion: the old pods stay Terminating, as on a real cluster
    stuck = [p for p in shop.pods() if p["spec"].get("nodeName") == victim]
    assert stuck
    assert all(p["metadata"].get("deletionTimestamp") for p in stuck)
    assert {e["source"]["component"] for e in _events(shop, "TaintManagerEviction")} == {"taint-eviction-controller"}


def test_a_returning_kubelet_makes_the_node_ready_and_untainted_and_finishes_deletions(shop: Kube) -> None:
    victim = _busiest(shop)
    shop.world.node_down(victim)
    shop.clock.advance(seconds=400)
    shop.world.node_booted(machine(int(victim[-6:])))
    shop.clock.advance(seconds=10)
    assert _ready(shop, victim) == "True"
    assert _taints(shop, victim) == set()
    assert [p for p in shop.pods() if p["spec"].get("nodeName") == victim] == []


def test_a_hung_kubelet_goes_unknown_and_recovers(kube: Kube) -> None:
    (name,) = kube.boot(1)
    kube.world.kubelet_hang(name)
    kube.clock.advance(seconds=70)
    assert _ready(kube, name) == "Unknown"
    assert not kube.world.kubelet_live(name)
    kube.world.recover(name)
    kube.clock.advance(seconds=5)
    assert _ready(kube, name) == "True"
    assert _taints(kube, name) == set()


def test_a_bad_image_keeps_the_node_not_ready_and_empty(kube: Kube) -> None:
    kube.boot(2)
    bad = machine(5)
    kube.world.node_booted(bad, healthy=False)
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}, deployment("web", replicas=6))
    kube.clock.advance(seconds=10)
    ready = condition(_node(kube, bad.node_name), "Ready")
    assert ready is not None
    assert (ready["status"], ready["reason"]) == ("False", "KubeletNotReady")
    assert ("node.kubernetes.io/not-ready", "NoSchedule") in _taints(kube, bad.node_name)
    assert bad.node_name not in _running(kube).values()


def test_the_scheduler_respects_cordons(shop: Kube) -> None:
    names = [n["metadata"]["name"] for n in shop.store.list("nodes").items]
    for name in names[1:]:
        shop.store.patch("nodes", None, name, {"spec": {"unschedulable": True}})
    before = set(_running(shop))
    shop.store.patch("deployments", "shop", "web", {"spec": {"replicas": 10}})
    shop.world.settle()
    running = _running(shop)
    new = set(running) - before
    assert len(new) == 4
    assert {running[name] for name in new} == {names[0]}
    shop.clock.advance(seconds=5)
    assert ("node.kubernetes.io/unschedulable", "NoSchedule") in _taints(shop, names[1])


def test_a_pod_that_fits_nowhere_stays_pending_with_a_reason(shop: Kube) -> None:
    shop.apply(deployment("huge", replicas=1, cpu="64"))
    (pod,) = [p for p in shop.pods() if p["metadata"]["name"].startswith("huge-")]
    assert pod["status"]["phase"] == "Pending"
    assert not pod["spec"].get("nodeName")
    scheduled = condition(pod, "PodScheduled")
    assert scheduled is not None
    assert (scheduled["status"], scheduled["reason"]) == ("False", "Unschedulable")
    assert scheduled["message"].startswith("0/6 nodes are available: 6 Insufficient cpu.")
    (event,) = _events(shop, "FailedScheduling")
    assert event["type"] == "Warning"
    assert event["source"]["component"] == "default-scheduler"


def test_node_selectors_keep_pods_on_their_pool(kube: Kube) -> None:
    kube.boot(2)
    system = machine(0, pool="system")
    kube.world.node_booted(system)
    manifest = deployment("pinned", replicas=3, namespace="default")
    manifest["spec"]["template"]["spec"]["nodeSelector"] = {"kubernetes.azure.com/agentpool": "system"}
    kube.apply(manifest)
    assert set(_running(kube, "default").values()) == {system.node_name}


def test_statefulsets_get_ordinal_pods_and_daemonsets_one_pod_per_node(kube: Kube) -> None:
    kube.boot(3)
    template = {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "db"}]}}
    kube.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "default"},
            "spec": {
                "replicas": 3,
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "db"}},
                "template": template,
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "kube-system"},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": {**template, "metadata": {"labels": {"app": "agent"}}},
            },
        },
    )
    assert sorted(_running(kube, "default")) == ["db-0", "db-1", "db-2"]
    assert kube.store.get("statefulsets", "default", "db")["status"]["readyReplicas"] == 3
    assert len(set(_running(kube, "kube-system").values())) == 3
    kube.world.node_booted(machine(7))
    kube.world.settle()
    assert len(_running(kube, "kube-system")) == 4
    assert kube.store.get("daemonsets", "kube-system", "agent")["status"]["desiredNumberScheduled"] == 4


def test_node_problem_conditions_show_on_the_node_and_pressure_taints_it(kube: Kube) -> None:
    (name,) = kube.boot(1)
    kube.world.set_condition(
        name, "KernelDeadlock", "True", "DockerHung", "task docker:1234 blocked for more than 120 seconds."
    )
    kube.world.set_condition(name, "DiskPressure", "True", "KubeletHasDiskPressure", "kubelet has disk pressure")
    kube.clock.advance(seconds=5)
    deadlock = condition(_node(kube, name), "KernelDeadlock")
    assert deadlock is not None
    assert (deadlock["status"], deadlock["reason"]) == ("True", "DockerHung")
    assert ("node.kubernetes.io/disk-pressure", "NoSchedule") in _taints(kube, name)
    assert _ready(kube, name) == "True"
    (event,) = _events(kube, "DockerHung")
    assert event["source"]["component"] == "kernel-monitor"


def test_a_deleted_node_takes_its_pods_and_lease_with_it(shop: Kube) -> None:
    victim = _busiest(shop)
    shop.world.node_deleted(victim)
    shop.world.settle()
    assert victim not in _running(shop).values()
    assert sum(1 for name in _running(shop) if name.startswith("web-")) == 6
    assert shop.store.peek("leases", "kube-node-lease", victim) is None


def test_a_deleted_pod_terminates_gracefully_and_is_replaced(shop: Kube) -> None:
    from nodewarden.twin.kube.termination import terminate_pod

    name = next(n for n in _running(shop) if n.startswith("web-"))
    terminate_pod(shop.store, shop.clock, "shop", name)
    assert shop.store.get("pods", "shop", name)["metadata"]["deletionTimestamp"] == "2026-11-26T08:00:30Z"
    shop.clock.advance(seconds=1)
    assert sum(1 for n in _running(shop) if n.startswith("web-")) == 6
    killing = [e for e in _events(shop, "Killing") if e["involvedObject"]["name"] == name]
    assert killing
    assert killing[0]["source"]["component"] == "kubelet"
    shop.clock.advance(seconds=30)
    assert shop.store.peek("pods", "shop", name) is None


def test_deleting_a_deployment_deletes_its_replicasets_and_pods(shop: Kube) -> None:
    shop.store.delete("deployments", "shop", "web")
    shop.clock.advance(seconds=40)
    assert not [p for p in shop.pods() if p["metadata"]["name"].startswith("web-")]
    assert not [rs for rs in shop.store.list("replicasets", "shop").items if rs["metadata"]["name"].startswith("web-")]


def test_events_expire_after_their_ttl(shop: Kube) -> None:
    assert shop.store.list("events").items
    shop.clock.advance(seconds=3700)
    assert not [e for e in shop.store.list("events").items if e["reason"] == "Scheduled"]
