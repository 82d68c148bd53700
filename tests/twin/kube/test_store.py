"""The store keeps Kubernetes semantics: resourceVersions, optimistic concurrency, paging, watches, 410."""

from __future__ import annotations

import json

import pytest

from nodewarden.twin.clock import Clock
from nodewarden.twin.kube.errors import ApiError
from nodewarden.twin.kube.patch import JSON_PATCH, MERGE, STRATEGIC
from nodewarden.twin.kube.store import KubeStore


@pytest.fixture
def store() -> KubeStore:
    return KubeStore(Clock(), retain_seconds=300, retain_events=1000)


def _node(name: str, **labels: str) -> dict[str, object]:
    return {"metadata": {"name": name, "labels": labels}, "spec": {}, "status": {"phase": "Running"}}


def _names(items: list[dict[str, object]]) -> list[str]:
    return [item["metadata"]["name"] for item in items]  # type: ignore[index]


def test_create_fills_in_uid_timestamp_generation_and_a_fresh_resource_version(store: KubeStore) -> None:
    before = int(store.resource_version)
    created = store.create("nodes", _node("n1"))
    metadata = created["metadata"]
    assert metadata["uid"]
    assert metadata["generation"] == 1
    assert metadata["creationTimestamp"] == "2026-11-26T08:00:00Z"
    assert int(metadata["resourceVersion"]) == before + 1 == int(store.resource_version)
    assert created["kind"] == "Node"
    assert created["apiVersion"] == "v1"


def test_every_write_bumps_one_global_counter_across_resources(store: KubeStore) -> None:
    a = store.create("nodes", _node("n1"))
    b = store.create("pods", {"metadata": {"name": "p", "namespace": "default"}, "spec": {}})
    c = store.patch("nodes", None, "n1", {"spec": {"unschedulable": True}}, STRATEGIC)
    versions = [int(x["metadata"]["resourceVersion"]) for x in (a, b, c)]
    assert versions == sorted(versions)
    assert len(set(versions)) == 3
    assert store.list("pods").resource_version == c["metadata"]["resourceVersion"]


def test_a_replace_with_a_stale_resource_version_is_a_409_conflict(store: KubeStore) -> None:
    stale = store.create(
        "leases", {"metadata": {"name": "n1", "namespace": "kube-node-lease"}, "spec": {"holderIdentity": "n1"}}
    )
    store.patch("leases", "kube-node-lease", "n1", {"spec": {"leaseDurationSeconds": 40}}, MERGE)
    stale["spec"]["holderIdentity"] = "someone-else"
    with pytest.raises(ApiError) as caught:
        store.replace("leases", stale)
    assert caught.value.code == 409
    assert caught.value.reason == "Conflict"
    assert "the object has been modified" in caught.value.message
    fresh = store.get("leases", "kube-node-lease", "n1")
    fresh["spec"]["holderIdentity"] = "someone-else"
    assert store.replace("leases", fresh)["spec"]["holderIdentity"] == "someone-else"


def test_generation_moves_with_the_spec_but_not_with_labels(store: KubeStore) -> None:
    store.create("nodes", _node("n1"))
    labelled = store.patch("nodes", None, "n1", {"metadata": {"labels": {"a": "b"}}}, MERGE)
    assert labelled["metadata"]["generation"] == 1
    cordoned = store.patch("nodes", None, "n1", {"spec": {"unschedulable": True}}, STRATEGIC)
    assert cordoned["metadata"]["generation"] == 2


def test_the_main_endpoint_keeps_status_and_the_status_subresource_changes_only_status(store: KubeStore) -> None:
    store.create("nodes", _node("n1"))
    ignored = store.patch("nodes", None, "n1", {"status": {"phase": "Gone"}, "spec": {"unschedulable": True}}, MERGE)
    assert ignored["status"]["phase"] == "Running"
    assert ignored["spec"]["unschedulable"] is True
    only_status = store.patch(
        "nodes",
        None,
        "n1",
        {"status": {"phase": "Gone"}, "spec": {"unschedulable": False}},
        MERGE,
        subresource="status",
    )
    assert only_status["status"]["phase"] == "Gone"
    assert only_status["spec"]["unschedulable"] is True


def test_a_no_op_write_keeps_the_resource_version(store: KubeStore) -> None:
    created = store.create("nodes", _node("n1", a="b"))
    again = store.patch("nodes", None, "n1", {"metadata": {"labels": {"a": "b"}}}, MERGE)
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert store.mutate("nodes", None, "n1", lambda obj: None) is not None
    assert store.resource_version == created["metadata"]["resourceVersion"]


def test_objects_are_copied_on_the_way_in_and_out(store: KubeStore) -> None:
    body = _node("n1", a="b")
    created = store.create("nodes", body)
    body["metadata"]["labels"]["a"] = "changed"  # type: ignore[index]
    created["metadata"]["labels"]["a"] = "changed"
    assert store.get("nodes", None, "n1")["metadata"]["labels"] == {"a": "b"}


def test_missing_objects_and_namespaces_are_404_status_errors(store: KubeStore) -> None:
    with pytest.raises(ApiError) as missing:
        store.get("pods", "default", "nope")
    assert missing.value.status["details"] == {"name": "nope", "kind": "pods"}
    assert missing.value.status["message"] == 'pods "nope" not found'
    with pytest.raises(ApiError) as no_namespace:
        store.create("pods", {"metadata": {"name": "p", "namespace": "ghost"}})
    assert no_namespace.value.code == 404
    assert "namespaces" in no_namespace.value.message
    with pytest.raises(ApiError) as twice:
        store.create("namespaces", {"metadata": {"name": "default"}})
    assert twice.value.code == 409
    assert twice.value.reason == "AlreadyExists"


def test_pages_come_in_key_order_and_all_at_the_first_pages_resource_version(store: KubeStore) -> None:
    for index in range(5):
        store.create("nodes", _node(f"n{index}"))
    first = store.list("nodes", limit=2)
    assert _names(first.items) == ["n0", "n1"]
    assert first.remaining == 3
    assert first.continue_token
    store.delete("nodes", None, "n3")
    store.create("nodes", _node("n25"))
    store.patch("nodes", None, "n2", {"metadata": {"labels": {"late": "yes"}}}, MERGE)
    second = store.list("nodes", limit=2, continue_token=first.continue_token)
    assert _names(second.items) == ["n2", "n3"]  # n3 is still there and n2 unchanged: the list is at the first RV
    assert second.items[0]["metadata"]["labels"] == {}
    assert second.resource_version == first.resource_version
    third = store.list("nodes", limit=2, continue_token=second.continue_token)
    assert _names(third.items) == ["n4"]
    assert third.continue_token is None
    assert third.remaining is None
    assert _names(store.list("nodes").items) == ["n0", "n1", "n2", "n25", "n4"]


def test_a_continue_token_older_than_the_retained_window_is_410_expired(store: KubeStore) -> None:
    for index in range(3):
        store.create("nodes", _node(f"n{index}"))
    first = store.list("nodes", limit=1)
    store.patch("nodes", None, "n2", {"metadata": {"labels": {"x": "y"}}}, MERGE)
    assert store.list("nodes", limit=1, continue_token=first.continue_token).items  # history still there
    store.clock.advance(seconds=301)
    store.patch("nodes", None, "n2", {"metadata": {"labels": {"x": "z"}}}, MERGE)  # compacts the first change
    with pytest.raises(ApiError) as caught:
        store.list("nodes", limit=1, continue_token=first.continue_token)
    assert caught.value.code == 410
    assert caught.value.reason == "Expired"
    with pytest.raises(ApiError) as garbled:
        store.list("nodes", continue_token="not-a-token")
    assert garbled.value.code == 400


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("zone=1", ["a"]),
        ("zone==1", ["a"]),
        ("zone!=1", ["b", "c"]),
        ("zone in (1,2)", ["a", "b"]),
        ("zone notin (1)", ["b", "c"]),
        ("zone", ["a", "b"]),
        ("!zone", ["c"]),
        ("zone in (1, 2),spot", ["b"]),
    ],
)
def test_label_selectors_match_like_the_apiserver(store: KubeStore, selector: str, expected: list[str]) -> None:
    store.create("nodes", _node("a", zone="1"))
    store.create("nodes", _node("b", zone="2", spot="true"))
    store.create("nodes", _node("c"))
    assert _names(store.list("nodes", label_selector=selector).items) == expected


def test_field_selectors_pick_pods_by_node_phase_and_namespace(store: KubeStore) -> None:
    store.create("namespaces", {"metadata": {"name": "shop"}})
    for name, namespace, node in (("a", "shop", "n1"), ("b", "shop", "n2"), ("c", "default", "n1")):
        store.create("pods", {"metadata": {"name": name, "namespace": namespace}, "spec": {"nodeName": node}})
    assert _names(store.list("pods", field_selector="spec.nodeName=n1").items) == ["c", "a"]
    assert _names(store.list("pods", field_selector="spec.nodeName=n1,metadata.namespace=shop").items) == ["a"]
    assert _names(store.list("pods", "shop", field_selector="status.phase!=Running").items) == ["a", "b"]
    assert _names(store.list("pods", field_selector="metadata.name==b").items) == ["b"]


def test_strategic_merge_replaces_taints_whole_and_merges_conditions_by_type(store: KubeStore) -> None:
    node = _node("n1")
    node["spec"] = {"taints": [{"key": "a", "effect": "NoSchedule"}, {"key": "b", "effect": "NoSchedule"}]}
    node["status"] = {"conditions": [{"type": "Ready", "status": "True"}, {"type": "DiskPressure", "status": "False"}]}
    store.create("nodes", node)
    patched = store.patch("nodes", None, "n1", {"spec": {"taints": [{"key": "c", "effect": "NoExecute"}]}}, STRATEGIC)
    assert patched["spec"]["taints"] == [{"key": "c", "effect": "NoExecute"}]
    status = {"status": {"conditions": [{"type": "DiskPressure", "status": "True", "reason": "Full"}]}}
    patched = store.patch("nodes", None, "n1", status, STRATEGIC, subresource="status")
    assert patched["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "DiskPressure", "status": "True", "reason": "Full"},
    ]


def test_merge_patch_deletes_with_null_and_json_patch_applies_operations_in_order(store: KubeStore) -> None:
    store.create("nodes", _node("n1", a="1", b="2"))
    merged = store.patch("nodes", None, "n1", {"metadata": {"labels": {"a": None}}}, MERGE)
    assert merged["metadata"]["labels"] == {"b": "2"}
    operations = [
        {"op": "add", "path": "/spec/unschedulable", "value": True},
        {"op": "replace", "path": "/metadata/labels/b", "value": "3"},
        {"op": "add", "path": "/metadata/labels/kubernetes.io~1role", "value": "x"},
        {"op": "test", "path": "/spec/unschedulable", "value": True},
    ]
    patched = store.patch("nodes", None, "n1", json.dumps(operations).encode(), JSON_PATCH)
    assert patched["spec"]["unschedulable"] is True
    assert patched["metadata"]["labels"] == {"b": "3", "kubernetes.io/role": "x"}
    with pytest.raises(ApiError) as failed:
        store.patch("nodes", None, "n1", [{"op": "test", "path": "/spec/unschedulable", "value": False}], JSON_PATCH)
    assert failed.value.code == 422


def test_a_patch_that_names_a_stale_resource_version_conflicts(store: KubeStore) -> None:
    created = store.create("nodes", _node("n1"))
    store.patch("nodes", None, "n1", {"spec": {"unschedulable": True}}, STRATEGIC)
    stale = {"metadata": {"resourceVersion": created["metadata"]["resourceVersion"]}, "spec": {"unschedulable": False}}
    with pytest.raises(ApiError) as caught:
        store.patch("nodes", None, "n1", stale, MERGE)
    assert caught.value.code == 409


def test_an_unknown_patch_type_is_415(store: KubeStore) -> None:
    store.create("nodes", _node("n1"))
    with pytest.raises(ApiError) as caught:
        store.patch("nodes", None, "n1", b"{}", "text/plain")
    assert caught.value.code == 415


def test_a_watch_from_a_resource_version_sees_what_came_after_it(store: KubeStore) -> None:
    store.create("nodes", _node("n1"))
    start = store.resource_version
    store.create("nodes", _node("n2"))
    store.patch("nodes", None, "n1", {"spec": {"unschedulable": True}}, STRATEGIC)
    store.delete("nodes", None, "n2")
    watch = store.watch("nodes", resource_version=start)
    events = watch.poll(0)
    assert [(kind, obj["metadata"]["name"]) for kind, obj in events or []] == [
        ("ADDED", "n2"),
        ("MODIFIED", "n1"),
        ("DELETED", "n2"),
    ]
    assert watch.resource_version == store.resource_version
    assert watch.poll(0) == []


def test_a_watch_without_a_resource_version_starts_with_synthetic_adds(store: KubeStore) -> None:
    store.create("nodes", _node("n1"))
    store.create("nodes", _node("n2"))
    watch = store.watch("nodes", resource_version="0")
    assert _names(watch.initial) == ["n1", "n2"]


def test_a_watch_with_a_selector_sees_objects_leave_it_as_deletions(store: KubeStore) -> None:
    store.create("nodes", _node("n1", pool="apps"))
    watch = store.watch("nodes", resource_version=store.resource_version, label_selector="pool=apps")
    store.patch("nodes", None, "n1", {"metadata": {"labels": {"pool": "system"}}}, MERGE)
    store.patch("nodes", None, "n1", {"metadata": {"labels": {"pool": "apps"}}}, MERGE)
    assert [kind for kind, _ in watch.poll(0) or []] == ["DELETED", "ADDED"]


def test_watching_from_before_the_compaction_floor_is_410_deterministically(store: KubeStore) -> None:
    first = store.create("nodes", _node("n1"))["metadata"]["resourceVersion"]
    second = store.patch("nodes", None, "n1", {"spec": {"unschedulable": True}}, STRATEGIC)["metadata"][
        "resourceVersion"
    ]
    store.clock.advance(seconds=299)
    store.watch("nodes", resource_version=str(int(first) - 1))  # still inside the window
    store.clock.advance(seconds=2)
    store.patch("nodes", None, "n1", {"spec": {"unschedulable": False}}, STRATEGIC)
    with pytest.raises(ApiError) as caught:
        store.watch("nodes", resource_version=first)
    assert caught.value.code == 410
    assert caught.value.message.startswith(f"too old resource version: {first}")
    assert [kind for kind, _ in store.watch("nodes", resource_version=second).poll(0) or []] == ["MODIFIED"]


def test_the_event_log_is_also_bounded_by_count() -> None:
    store = KubeStore(Clock(), retain_events=3)
    start = store.resource_version
    for index in range(5):
        store.create("nodes", _node(f"n{index}"))
    with pytest.raises(ApiError):
        store.watch("nodes", resource_version=start)


def test_closing_watches_ends_every_open_one(store: KubeStore) -> None:
    watch = store.watch("nodes", resource_version=store.resource_version)
    store.close_watches()
    assert watch.poll(0.01) is None


def test_finalizers_hold_a_deleted_object_until_they_are_removed(store: KubeStore) -> None:
    store.create("namespaces", {"metadata": {"name": "shop"}})
    store.create("services", {"metadata": {"name": "web", "namespace": "shop", "finalizers": ["example.com/hold"]}})
    marked = store.delete("services", "shop", "web")
    assert marked["metadata"]["deletionTimestamp"]
    store.patch("services", "shop", "web", {"metadata": {"finalizers": None}}, MERGE)
    with pytest.raises(ApiError):
        store.get("services", "shop", "web")


def test_deleting_a_namespace_deletes_what_is_in_it(store: KubeStore) -> None:
    store.create("namespaces", {"metadata": {"name": "shop"}})
    store.create("pods", {"metadata": {"name": "p", "namespace": "shop"}})
    store.delete("namespaces", None, "shop")
    assert store.list("pods", "shop").items == []
