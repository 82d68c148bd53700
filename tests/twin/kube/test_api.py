"""The API handler, request by request: discovery, auth, verbs, watch streams, eviction, faults."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nodewarden.twin.http import Response

from .conftest import READER_TOKEN, Kube, payload


def _lines(response: Response, limit: int = 100) -> list[dict[str, Any]]:
    assert response.stream is not None
    events: list[dict[str, Any]] = []
    for chunk in response.stream:
        events += [json.loads(line) for line in chunk.splitlines() if line]
        if len(events) >= limit:
            break
    return events


def _running_pod(kube: Kube, prefix: str) -> str:
    names = [
        p["metadata"]["name"]
        for p in kube.pods()
        if p["metadata"]["name"].startswith(prefix) and not p["metadata"].get("deletionTimestamp")
    ]
    return str(names[0])


def _evict(kube: Kube, name: str, api_version: str = "policy/v1") -> Response:
    body = {"apiVersion": api_version, "kind": "Eviction", "metadata": {"name": name, "namespace": "shop"}}
    return kube.call("POST", f"/api/v1/namespaces/shop/pods/{name}/eviction", body)


@pytest.mark.parametrize("path", ["/version", "/version/"])
def test_version_answers_with_and_without_a_trailing_slash_and_without_a_token(kube: Kube, path: str) -> None:
    response = kube.call("GET", path, token=None)
    assert response.status == 200
    assert payload(response)["gitVersion"] == "v1.33.7"
    assert payload(response)["minor"] == "33"


def test_discovery_lists_groups_resources_and_the_eviction_subresource(kube: Kube) -> None:
    assert payload(kube.call("GET", "/api"))["versions"] == ["v1"]
    core = {r["name"]: r for r in payload(kube.call("GET", "/api/v1"))["resources"]}
    assert {"nodes", "pods", "namespaces", "events", "pods/status", "nodes/status"} <= set(core)
    assert (core["pods/eviction"]["group"], core["pods/eviction"]["version"]) == ("policy", "v1")
    assert core["nodes"]["namespaced"] is False
    assert "watch" in core["nodes"]["verbs"]
    groups = {g["name"]: g for g in payload(kube.call("GET", "/apis"))["groups"]}
    assert {"apps", "policy", "coordination.k8s.io", "events.k8s.io", "apiextensions.k8s.io"} <= set(groups)
    assert groups["policy"]["preferredVersion"]["version"] == "v1"
    leases = payload(kube.call("GET", "/apis/coordination.k8s.io/v1"))
    assert leases["groupVersion"] == "coordination.k8s.io/v1"
    assert leases["resources"][0]["name"] == "leases"
    assert payload(kube.call("GET", "/apis/policy"))["kind"] == "APIGroup"
    assert kube.call("GET", "/apis/nope.example/v1").status == 404


def test_kopf_finds_an_empty_crd_list(kube: Kube) -> None:
    crds = payload(kube.call("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"))
    assert crds["kind"] == "CustomResourceDefinitionList"
    assert crds["items"] == []


def test_requests_without_a_known_token_are_401(kube: Kube) -> None:
    for token in (None, "wrong"):
        response = kube.call("GET", "/api/v1/nodes", token=token)
        assert response.status == 401
        assert payload(response)["reason"] == "Unauthorized"
        assert payload(response)["kind"] == "Status"


def test_a_read_only_token_reads_but_gets_403_on_writes(shop: Kube) -> None:
    assert shop.call("GET", "/api/v1/nodes", token=READER_TOKEN).status == 200
    name = shop.store.list("nodes").items[0]["metadata"]["name"]
    response = shop.call(
        "PATCH",
        f"/api/v1/nodes/{name}",
        {"spec": {"unschedulable": True}},
        token=READER_TOKEN,
        content_type="application/strategic-merge-patch+json",
    )
    assert response.status == 403
    assert payload(response)["reason"] == "Forbidden"
    assert payload(response)["message"] == (
        f'nodes "{name}" is forbidden: User "read-only" cannot patch resource "nodes" in API group "" '
        "at the cluster scope"
    )
    pod = _running_pod(shop, "web-")
    refused = shop.call("POST", f"/api/v1/namespaces/shop/pods/{pod}/eviction", {}, token=READER_TOKEN)
    assert refused.status == 403
    assert 'resource "pods/eviction"' in payload(refused)["message"]


def test_lists_come_namespaced_or_across_all_namespaces_with_selectors(shop: Kube) -> None:
    everything = payload(shop.call("GET", "/api/v1/pods"))
    assert everything["kind"] == "PodList"
    assert len(everything["items"]) == 8
    node = everything["items"][0]["spec"]["nodeName"]
    on_node = payload(shop.call("GET", f"/api/v1/pods?fieldSelector=spec.nodeName%3D{node}"))
    assert on_node["items"]
    assert all(p["spec"]["nodeName"] == node for p in on_node["items"])
    web = payload(shop.call("GET", "/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb&limit=4"))
    assert len(web["items"]) == 4
    assert web["metadata"]["continue"]
    assert "remainingItemCount" not in web["metadata"]
    assert payload(shop.call("GET", "/api/v1/namespaces/default/pods"))["items"] == []
    deployments = payload(shop.call("GET", "/apis/apps/v1/namespaces/shop/deployments"))
    assert [d["metadata"]["name"] for d in deployments["items"]] == ["api", "web"]


def test_crud_round_trip_with_conflicts_and_not_found(kube: Kube) -> None:
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "leader"},
        "spec": {"holderIdentity": "a"},
    }
    created = kube.call("POST", "/apis/coordination.k8s.io/v1/namespaces/default/leases", lease)
    assert created.status == 201
    body = payload(created)
    body["spec"]["holderIdentity"] = "b"
    assert kube.call("PUT", "/apis/coordination.k8s.io/v1/namespaces/default/leases/leader", body).status == 200
    body["spec"]["holderIdentity"] = "c"  # still carries the old resourceVersion
    conflict = kube.call("PUT", "/apis/coordination.k8s.io/v1/namespaces/default/leases/leader", body)
    assert conflict.status == 409
    assert payload(conflict)["reason"] == "Conflict"
    assert kube.call("DELETE", "/apis/coordination.k8s.io/v1/namespaces/default/leases/leader").status == 200
    missing = kube.call("GET", "/apis/coordination.k8s.io/v1/namespaces/default/leases/leader")
    assert missing.status == 404
    assert payload(missing)["details"] == {"name": "leader", "group": "coordination.k8s.io", "kind": "leases"}
    assert kube.call("GET", "/api/v1/nowhere").status == 404


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/strategic-merge-patch+json", {"spec": {"unschedulable": True}}),
        ("application/merge-patch+json", {"spec": {"unschedulable": True}}),
        ("application/json-patch+json", [{"op": "add", "path": "/spec/unschedulable", "value": True}]),
    ],
)
def test_cordon_by_any_patch_type(shop: Kube, content_type: str, body: Any) -> None:
    name = shop.store.list("nodes").items[0]["metadata"]["name"]
    response = shop.call("PATCH", f"/api/v1/nodes/{name}", body, content_type=content_type)
    assert response.status == 200
    assert payload(response)["spec"]["unschedulable"] is True


def test_status_is_written_through_the_status_subresource_only(shop: Kube) -> None:
    name = shop.store.list("nodes").items[0]["metadata"]["name"]
    condition = {"status": {"conditions": [{"type": "KernelDeadlock", "status": "True", "reason": "DockerHung"}]}}
    main = shop.call("PATCH", f"/api/v1/nodes/{name}", condition, content_type="application/merge-patch+json")
    assert not [c for c in payload(main)["status"]["conditions"] if c["reason"] == "DockerHung"]
    status = shop.call(
        "PATCH", f"/api/v1/nodes/{name}/status", condition, content_type="application/strategic-merge-patch+json"
    )
    conditions = {c["type"]: c for c in payload(status)["status"]["conditions"]}
    assert conditions["KernelDeadlock"]["reason"] == "DockerHung"
    assert conditions["Ready"]["status"] == "True"
    pod = _running_pod(shop, "web-")
    assert payload(shop.call("GET", f"/api/v1/namespaces/shop/pods/{pod}/status"))["status"]["phase"] == "Running"


def test_an_allowed_eviction_is_201_and_the_pod_goes_after_its_grace_period(shop: Kube) -> None:
    pod = _running_pod(shop, "web-")
    response = _evict(shop, pod)
    assert response.status == 201
    assert payload(response) == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
    assert shop.store.get("pods", "shop", pod)["metadata"]["deletionTimestamp"] == "2026-11-26T08:00:30Z"
    shop.clock.advance(seconds=31)
    assert shop.call("GET", f"/api/v1/namespaces/shop/pods/{pod}").status == 404


def test_an_eviction_the_budget_forbids_is_429_naming_the_budget(shop: Kube) -> None:
    pod = _running_pod(shop, "api-")
    response = _evict(shop, pod, api_version="policy/v1beta1")
    assert response.status == 429
    assert response.headers["Retry-After"] == "10"
    status = payload(response)
    assert status["reason"] == "TooManyRequests"
    assert status["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert status["details"]["causes"] == [
        {"reason": "DisruptionBudget", "message": "The disruption budget api needs 2 healthy pods and has 2 currently"}
    ]
    assert not shop.store.get("pods", "shop", pod)["metadata"].get("deletionTimestamp")


def test_a_budget_allows_one_disruption_at_a_time(shop: Kube) -> None:
    assert _evict(shop, _running_pod(shop, "web-")).status == 201
    second = next(
        p["metadata"]["name"]
        for p in shop.pods()
        if p["metadata"]["name"].startswith("web-") and not p["metadata"].get("deletionTimestamp")
    )
    assert _evict(shop, second).status == 429
    shop.clock.advance(seconds=40)  # the evicted pod is gone and its replacement is ready
    assert _evict(shop, second).status == 201


def test_two_budgets_over_one_pod_are_a_500_and_terminal_pods_bypass_budgets(shop: Kube) -> None:
    extra = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "web-too", "namespace": "shop"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}},
    }
    shop.apply(extra)
    pod = _running_pod(shop, "web-")
    response = _evict(shop, pod)
    assert response.status == 500
    assert "more than one PodDisruptionBudget" in payload(response)["message"]
    shop.store.mutate("pods", "shop", pod, lambda p: p["status"].update(phase="Succeeded"))
    assert _evict(shop, pod).status == 201
    assert _evict(shop, "ghost").status == 404


def test_a_watch_streams_events_after_the_resource_version(shop: Kube) -> None:
    rv = payload(shop.call("GET", "/api/v1/nodes"))["metadata"]["resourceVersion"]
    name = shop.store.list("nodes").items[0]["metadata"]["name"]
    shop.store.patch("nodes", None, name, {"spec": {"unschedulable": True}})
    response = shop.call("GET", f"/api/v1/nodes?watch=true&resourceVersion={rv}&timeoutSeconds=5")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    (event,) = _lines(response, limit=1)
    assert event["type"] == "MODIFIED"
    assert event["object"]["kind"] == "Node"
    assert event["object"]["spec"]["unschedulable"] is True


def test_the_legacy_watch_path_and_a_bookmark_at_the_timeout(shop: Kube) -> None:
    rv = shop.store.resource_version
    response = shop.call(
        "GET", f"/api/v1/watch/nodes?resourceVersion={rv}&allowWatchBookmarks=True&timeoutSeconds=0.05"
    )
    events = _lines(response)
    assert events == [
        {"type": "BOOKMARK", "object": {"kind": "Node", "apiVersion": "v1", "metadata": {"resourceVersion": rv}}}
    ]


def test_a_watch_without_a_version_replays_state_and_send_initial_events_marks_the_end(shop: Kube) -> None:
    replay = _lines(shop.call("GET", "/api/v1/namespaces/shop/pods?watch=1&timeoutSeconds=0.05"))
    assert [e["type"] for e in replay] == ["ADDED"] * 8
    streaming = _lines(
        shop.call(
            "GET",
            "/api/v1/nodes?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
            "&allowWatchBookmarks=true&timeoutSeconds=0.05",
        )
    )
    assert [e["type"] for e in streaming[:7]] == ["ADDED"] * 6 + ["BOOKMARK"]
    assert streaming[6]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_a_watch_from_a_compacted_version_gets_a_410_error_event(shop: Kube) -> None:
    rv = shop.store.resource_version
    name = shop.store.list("nodes").items[0]["metadata"]["name"]
    shop.store.patch("nodes", None, name, {"spec": {"unschedulable": True}})
    shop.clock.advance(seconds=400)
    shop.store.patch("nodes", None, name, {"spec": {"unschedulable": False}})
    response = shop.call("GET", f"/api/v1/nodes?watch=1&resourceVersion={rv}")
    assert response.status == 200
    (event,) = _lines(response)
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"
    assert event["object"]["message"].startswith(f"too old resource version: {rv} (")


def test_dropping_watches_ends_open_streams(shop: Kube) -> None:
    response = shop.call("GET", f"/api/v1/nodes?watch=1&resourceVersion={shop.store.resource_version}")
    assert response.stream is not None
    shop.world.drop_watches()
    assert list(response.stream) == []


def test_the_kube_errors_fault_fails_a_deterministic_share_of_calls(shop: Kube) -> None:
    shop.world.error_rate(0.5)
    codes = [shop.call("GET", "/api/v1/nodes").status for _ in range(40)]
    assert set(codes) == {200, 500, 503}
    assert 10 < codes.count(200) < 30
    assert shop.call("GET", "/version").status == 200  # discovery and /version are spared
    shop.world.error_rate(0)
    assert {shop.call("GET", "/api/v1/nodes").status for _ in range(10)} == {200}
    other = Kube()
    other.world.error_rate(0.5)
    assert [other.call("GET", "/api/v1/nodes").status for _ in range(40)] == codes


def test_kubectl_gets_server_side_tables(shop: Kube) -> None:
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    table = payload(shop.call("GET", "/api/v1/nodes", accept=accept))
    assert table["kind"] == "Table"
    columns = [(c["name"], c["priority"]) for c in table["columnDefinitions"]]
    assert columns == [
        ("Name", 0), ("Status", 0), ("Roles", 0), ("Age", 0), ("Version", 0), ("Internal-IP", 1),
        ("External-IP", 1), ("OS-Image", 1), ("Kernel-Version", 1), ("Container-Runtime", 1),
    ]  # fmt: skip
    assert table["rows"][0]["cells"][1:3] == ["Ready", "<none>"]
    assert table["rows"][0]["cells"][4] == "v1.33.7"


def test_events_are_served_as_core_v1_and_as_events_k8s_io(shop: Kube) -> None:
    core = payload(shop.call("GET", "/api/v1/namespaces/shop/events"))["items"]
    scheduled = next(e for e in core if e["reason"] == "Scheduled")
    assert scheduled["source"] == {"component": "default-scheduler"}
    assert scheduled["involvedObject"]["kind"] == "Pod"
    name = scheduled["metadata"]["name"]
    modern = payload(shop.call("GET", f"/apis/events.k8s.io/v1/namespaces/shop/events/{name}"))
    assert modern["apiVersion"] == "events.k8s.io/v1"
    assert modern["regarding"] == scheduled["involvedObject"]
    assert modern["note"] == scheduled["message"]
    assert modern["reportingController"] == "default-scheduler"
