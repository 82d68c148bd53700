"""List+watch caches against the twin: sync, changes, dropped watches, 410 re-lists, back-off, staleness."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from lightkube import Client

from nodewarden.connection import Connection
from nodewarden.observe.cache import Caches, KubeCache
from nodewarden.observe.live_kube import KUBE_EXPORTS, list_items
from nodewarden.twin.service import Twin

WAIT = 20.0
NODES = next(export for export in KUBE_EXPORTS if export.name == "nodes")
PODS = next(export for export in KUBE_EXPORTS if export.name == "pods")


@pytest.fixture
def client(connection: Connection) -> Client:
    assert connection.kube is not None
    return connection.kube


@pytest.fixture
def nodes(client: Client) -> Iterator[KubeCache]:
    cache = KubeCache(client, NODES).start()
    assert cache.wait_synced(WAIT)
    yield cache
    cache.stop()


def _label(client: Client, node: str, value: str) -> None:
    from lightkube.resources.core_v1 import Node

    client.patch(Node, node, {"metadata": {"labels": {"nodewarden-test": value}}})


def _labelled(cache: KubeCache, node: str, value: str) -> bool:
    item = cache.get(None, node)
    return item is not None and item["metadata"].get("labels", {}).get("nodewarden-test") == value


def _versions(items: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    return {
        (item["metadata"].get("namespace", ""), item["metadata"]["name"]): item["metadata"]["resourceVersion"]
        for item in items
    }


def test_caches_sync_to_the_same_objects_as_a_list(client: Client) -> None:
    caches = Caches(client).start()
    try:
        assert caches.wait_synced(WAIT)
        assert caches.synced
        for name, export in (("nodes", NODES), ("pods", PODS)):
            listed = list_items(client, export)
            assert _versions(caches[name].items()) == _versions(listed)
            assert sorted(caches[name].items(), key=str) == sorted(listed, key=str)
        leases = caches["leases"].items()
        assert len(leases) == len(caches["nodes"]) == 12
        assert {lease["metadata"]["namespace"] for lease in leases} == {"kube-node-lease"}
        assert len(caches["pdbs"]) == 3
        assert caches["namespaces"].get(None, "shop") is not None
    finally:
        caches.stop()


def test_a_change_through_the_api_shows_up(client: Client, nodes: KubeCache) -> None:
    node = sorted(item["metadata"]["name"] for item in nodes.items())[0]
    _label(client, node, "one")
    assert nodes.wait_for(lambda cache: _labelled(cache, node, "one"), WAIT)
    assert nodes.stats.lists == 1


def test_a_dropped_watch_resumes_and_sees_later_changes(twin: Twin, client: Client, nodes: KubeCache) -> None:
    node = sorted(item["metadata"]["name"] for item in nodes.items())[-1]
    for round_ in range(3):
        value = f"after-drop-{round_}"
        twin.inject("watch-drop")
        _label(client, node, value)
        assert nodes.wait_for(lambda cache: _labelled(cache, node, value), WAIT)  # noqa: B023
    assert nodes.stats.lists == 1  # resumed from the last resourceVersion, never re-listed
    assert nodes.stats.expired == 0


def test_a_410_relists_and_converges(twin: Twin, client: Client, nodes: KubeCache) -> None:
    store = twin.world.store
    names = sorted(item["metadata"]["name"] for item in nodes.items())
    store.retain_events = 2
    # Five writes while the watcher cannot poll: the log keeps two, so its position is compacted away.
    with store._lock:
        for index, name in enumerate(names[:5]):
            store.patch("nodes", None, name, {"metadata": {"labels": {"nodewarden-test": f"burst-{index}"}}})
    assert nodes.wait_for(lambda cache: cache.stats.expired >= 1 and cache.stats.lists >= 2 and cache.synced, WAIT)
    for index, name in enumerate(names[:5]):
        assert _labelled(nodes, name, f"burst-{index}")
    assert _versions(nodes.items()) == _versions(list_items(client, NODES))
    store.retain_events = 50_000
    _label(client, names[0], "after-relist")  # and the watch after the re-list still works
    assert nodes.wait_for(lambda cache: _labelled(cache, names[0], "after-relist"), WAIT)


def test_errors_back_off_exponentially_then_recover(twin: Twin, client: Client) -> None:
    delays: list[float] = []
    recovered = threading.Event()

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 5:
            twin.inject("kube-errors", rate=0.0)
            recovered.set()

    twin.inject("kube-errors", rate=1.0)
    cache = KubeCache(client, NODES, sleep=sleep, backoff_initial=0.5, backoff_max=4.0).start()
    try:
        assert recovered.wait(WAIT)
        assert cache.wait_synced(WAIT)
        assert delays == [0.5, 1.0, 2.0, 4.0, 4.0]
        assert cache.stats.errors == 5
        assert "500" in cache.stats.last_error or "503" in cache.stats.last_error
        assert len(cache) == 12
    finally:
        cache.stop()


def test_synced_and_last_event_age(client: Client) -> None:
    now = [1000.0]
    cache = KubeCache(client, NODES, clock=lambda: now[0])
    assert not cache.synced
    assert cache.last_event_age() is None
    cache.start()
    try:
        assert cache.wait_synced(WAIT)
        assert cache.synced
        assert cache.last_event_age() == 0.0
        now[0] += 42.5
        assert cache.last_event_age() == 42.5
        assert cache.last_event_age(now=1100.0) == 100.0
        node = cache.items()[0]["metadata"]["name"]
        _label(client, node, "fresh")
        assert cache.wait_for(lambda c: _labelled(c, node, "fresh"), WAIT)
        assert cache.last_event_age() == 0.0
    finally:
        cache.stop()
    assert not cache.synced


def test_caches_cover_every_kind_the_audit_reads_and_an_unserved_add_on_is_empty(client: Client) -> None:
    with Caches(client) as caches:
        assert caches.wait_synced(WAIT)
        watched = {cache.export.name for cache in caches.caches.values()}
        assert {export.name for export in KUBE_EXPORTS} <= watched
        for name in ("services", "hpa", "networkpolicies", "storageclasses"):
            assert _versions(caches[name].items()) == _versions(list_items(client, caches[name].export))
        velero = caches["velero-schedules"]  # the twin serves no Velero CRD, like a cluster without Velero
        assert velero.absent
        assert velero.synced
        assert len(velero) == 0
