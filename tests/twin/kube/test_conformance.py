"""Real clients against the Kubernetes twin over HTTPS: lightkube and the official `kubernetes` client.

What these clients send and expect of a real API server: paging with continue tokens, watch
resume from a resourceVersion, 410 then relist, bookmarks, a strategic-merge cordon, and eviction
answered 201 or 429 naming the budget.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch
from lightkube import ApiError, Client, KubeConfig
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Node, Pod

from .conftest import Kube


def _lightkube(kubeconfig: Path) -> Client:
    return Client(config=KubeConfig.from_file(kubeconfig))


def _official(kubeconfig: Path) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(k8s_config.new_client_from_config(config_file=str(kubeconfig)))  # type: ignore[no-untyped-call]


def _pod_of(kube: Kube, prefix: str) -> str:
    return str(next(p["metadata"]["name"] for p in kube.pods() if p["metadata"]["name"].startswith(prefix)))


def _first_node(kube: Kube) -> str:
    return str(kube.store.list("nodes").items[0]["metadata"]["name"])


def test_lightkube_lists_nodes_page_by_page(served: tuple[Kube, Path]) -> None:
    kube, kubeconfig = served
    names = [node.metadata.name for node in _lightkube(kubeconfig).list(Node, chunk_size=2)]  # type: ignore[union-attr]
    assert names == [n["metadata"]["name"] for n in kube.store.list("nodes").items]
    pages = [r for r in kube.requests if r.path == "/api/v1/nodes"]
    assert [r.arg("limit") for r in pages] == ["2", "2", "2"]
    assert pages[0].arg("continue") is None
    assert all(r.arg("continue") for r in pages[1:])


def test_lightkube_cordons_with_a_strategic_merge_patch(served: tuple[Kube, Path]) -> None:
    kube, kubeconfig = served
    name = _first_node(kube)
    node = _lightkube(kubeconfig).patch(Node, name, {"spec": {"unschedulable": True}})
    assert node.spec is not None
    assert node.spec.unschedulable is True
    assert kube.store.get("nodes", None, name)["spec"]["unschedulable"] is True


def test_lightkube_resumes_a_watch_from_a_resource_version(served: tuple[Kube, Path]) -> None:
    kube, kubeconfig = served
    client = _lightkube(kubeconfig)
    listing = client.list(Node)
    list(listing)
    name = _first_node(kube)
    kube.store.patch("nodes", None, name, {"metadata": {"labels": {"drill": "yes"}}})
    for kind, node in client.watch(Node, resource_version=listing.resourceVersion):
        assert kind == "MODIFIED"
        assert node.metadata is not None
        assert node.metadata.name == name
        assert (node.metadata.labels or {})["drill"] == "yes"
        break


def test_lightkube_gets_410_for_a_compacted_version_and_relists(served: tuple[Kube, Path]) -> None:
    kube, kubeconfig = served
    client = _lightkube(kubeconfig)
    listing = client.list(Node)
    list(listing)
    name = _first_node(kube)
    kube.store.patch("nodes", None, name, {"metadata": {"labels": {"drill": "1"}}})
    kube.clock.advance(seconds=400)
    kube.store.patch("nodes", None, name, {"metadata": {"labels": {"drill": "2"}}})
    with pytest.raises(ApiError) as expired:
        next(iter(client.watch(Node, resource_version=listing.resourceVersion)))
    assert expired.value.status.code == 410
    relisted = client.list(Node)
    labels = {n.metadata.name: (n.metadata.labels or {}).get("drill") for n in relisted}  # type: ignore[union-attr]
    assert labels[name] == "2"
    kube.store.patch("nodes", None, name, {"metadata": {"labels": {"drill": "3"}}})
    kind, node = next(iter(client.watch(Node, resource_version=relisted.resourceVersion)))
    assert kind == "MODIFIED"
    assert node.metadata is not None
    assert (node.metadata.labels or {})["drill"] == "3"


def test_lightkube_evictions_are_allowed_or_refused_by_the_budget(served: tuple[Kube, Path]) -> None:
    kube, kubeconfig = served
    client = _lightkube(kubeconfig)
    web = _pod_of(kube, "web-")
    client.create(Pod.Eviction(metadata=ObjectMeta(name=web, namespace="shop")), name=web, namespace="shop")
    assert kube.store.get("pods", "shop", web)["metadata"]["deletionTimestamp"]
    api = _pod_of(kube, "api-")
    with pytest.raises(ApiError) as refused:
        client.create(Pod.Eviction(metadata=ObjectMeta(name=api, namespace="shop")), name=api, namespace="shop")
    assert refused.value.status.code == 429
    causes = refused.value.status.details.causes if refused.value.status.details else None
    assert causes
    assert causes[0].reason == "DisruptionBudget"
    assert "disruption budget api" in (causes[0].message or "")


def test_the_official_client_pages_with_limit_and_continue(served: tuple[Kube, Path]) -> None:
    _, kubeconfig = served
    v1 = _official(kubeconfig)
    first = v1.list_node(limit=4)
    assert first.metadata is not None
    assert len(first.items) == 4
    assert first.metadata.remaining_item_count == 2
    second = v1.list_node(limit=4, _continue=first.metadata._continue)
    assert second.metadata is not None
    assert len(second.items) == 2
    assert not second.metadata._continue
    assert second.metadata.resource_version == first.metadata.resource_version


def test_the_official_client_watches_with_bookmarks(served: tuple[Kube, Path]) -> None:
    kube, kubeconfig = served
    v1 = _official(kubeconfig)
    listing = v1.list_node().metadata
    assert listing is not None
    start = listing.resource_version
    name = _first_node(kube)
    kube.store.patch("nodes", None, name, {"spec": {"unschedulable": True}})
    watcher = k8s_watch.Watch()  # type: ignore[no-untyped-call]
    stream = watcher.stream(  # type: ignore[no-untyped-call]
        v1.list_node, resource_version=start, allow_watch_bookmarks=True, timeout_seconds=1
    )
    events = list(stream)
    assert events[0]["type"] == "MODIFIED"
    assert events[0]["object"].metadata.name == name
    assert events[-1]["type"] == "BOOKMARK"
    assert watcher.resource_version == kube.store.resource_version


def test_the_official_client_evicts_or_is_told_429(served: tuple[Kube, Path]) -> None:
    kube, kubeconfig = served
    v1 = _official(kubeconfig)
    web = _pod_of(kube, "web-")
    v1.create_namespaced_pod_eviction(
        web, "shop", k8s.V1Eviction(metadata=k8s.V1ObjectMeta(name=web, namespace="shop"))
    )
    assert kube.store.get("pods", "shop", web)["metadata"]["deletionTimestamp"]
    api = _pod_of(kube, "api-")
    with pytest.raises(k8s.ApiException) as refused:
        v1.create_namespaced_pod_eviction(
            api, "shop", k8s.V1Eviction(metadata=k8s.V1ObjectMeta(name=api, namespace="shop"))
        )
    assert refused.value.status == 429
    assert refused.value.headers is not None
    assert refused.value.headers["Retry-After"] == "10"
    assert "disruption budget api" in str(refused.value.body)
