"""The observer validates only what changed, and its Snapshot is the one `load_documents` builds.

Against the twin's `small` scenario through real list+watch caches and a real ARM read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from lightkube.resources.core_v1 import Node, Pod

from nodewarden.connection import Connection, connect
from nodewarden.observe import load
from nodewarden.observe.cache import Caches, KubeCache
from nodewarden.observe.files import Document
from nodewarden.runtime.observer import REMEDIATION_KINDS, LiveObserver
from nodewarden.twin.service import Twin

WAIT = 20.0


@pytest.fixture
def twin() -> Iterator[Twin]:
    with Twin("small", advance_on_poll=30) as running:
        yield running


@pytest.fixture
def connection(twin: Twin) -> Connection:
    return connect(twin=twin.state_dir)


@pytest.fixture
def observer(connection: Connection) -> Iterator[LiveObserver]:
    assert connection.kube is not None
    with Caches(connection.kube, kinds=REMEDIATION_KINDS) as caches:
        assert caches.wait_synced(WAIT)
        yield LiveObserver(connection, caches)


def _kube_objects(documents: list[Document]) -> int:
    return sum(len(d.data["items"]) for d in documents if d.source.startswith("k8s-"))


def _wait_until(cache: KubeCache, pred: Any) -> None:
    assert cache.wait_for(pred, WAIT), f"cache {cache.name} did not see the change"


def test_the_snapshot_is_the_one_load_documents_builds_and_unchanged_objects_are_reused(
    twin: Twin, observer: LiveObserver
) -> None:
    now = twin.clock.now()
    documents, synced, _ = observer.read(now)
    assert synced
    first = observer.validator.load(documents)
    kube_objects = _kube_objects(documents)
    assert kube_objects > 50
    assert observer.validator.reused == 0
    assert first.snapshot == load.load_documents(documents).snapshot
    assert first.snapshot.nodes
    assert first.snapshot.pods
    assert first.snapshot.instances

    documents, _, _ = observer.read(now)
    second = observer.validator.load(documents)
    assert observer.validator.reused == kube_objects  # every Kubernetes object; only Azure was validated
    assert second.snapshot == load.load_documents(documents).snapshot
    assert second.snapshot == first.snapshot
    assert all(a is b for a, b in zip(second.snapshot.pods, first.snapshot.pods, strict=True))


def test_a_changed_object_is_validated_again_and_a_deleted_one_dropped(
    twin: Twin, connection: Connection, observer: LiveObserver
) -> None:
    assert connection.kube is not None
    now = twin.clock.now()
    before = observer.validator.load(observer.read(now)[0]).snapshot
    node = before.nodes[0].metadata.name
    pod = before.pods[0]
    assert node is not None
    assert pod.metadata.name is not None

    connection.kube.patch(Node, node, {"metadata": {"labels": {"nodewarden-test": "changed"}}})
    connection.kube.delete(Pod, pod.metadata.name, namespace=pod.metadata.namespace, grace_period=0)
    nodes, pods = observer.caches["nodes"], observer.caches["pods"]
    _wait_until(nodes, lambda c: (c.get(None, node) or {})["metadata"].get("labels", {}).get("nodewarden-test"))
    _wait_until(pods, lambda c: c.get(pod.metadata.namespace, pod.metadata.name) is None)

    documents, _, _ = observer.read(now)
    after = observer.validator.load(documents)
    assert observer.validator.reused == _kube_objects(documents) - 1  # all but the changed node
    assert after.snapshot == load.load_documents(documents).snapshot
    changed = after.snapshot.nodes_by_name[node]
    assert changed.metadata.label_map["nodewarden-test"] == "changed"
    assert changed is not before.nodes_by_name[node]
    assert (pod.metadata.namespace, pod.metadata.name) not in {
        (p.metadata.namespace, p.metadata.name) for p in after.snapshot.pods
    }
    assert len(after.snapshot.pods) == len(before.pods) - 1
