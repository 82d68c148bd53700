"""The observer validates only what changed, and its Snapshot is the one `load_documents` builds.

Against the twin's `small` scenario through real list+watch caches and a real ARM read. Each document the
observer reads declares its kind and names where it came from; loaded, it gives the Snapshot the same
objects give when exported to files and recognised by content.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from lightkube.resources.core_v1 import Node, Pod

from nodewarden.connection import Connection, connect
from nodewarden.model.inputs import Input
from nodewarden.observe import load
from nodewarden.observe.cache import Caches, KubeCache
from nodewarden.observe.files import Document
from nodewarden.observe.live_kube import kubectl_list
from nodewarden.observe.recognise import KUBE_INPUTS
from nodewarden.runtime.observer import REMEDIATION_KINDS, LiveObserver, node_resource_group
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
    return sum(len(d.data) for d in documents if d.kind in KUBE_INPUTS)


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


# The file names `nodewarden collect` gives what an observer reads (observe/collect.py), and which name an
# empty export's kind when its content cannot.
_EXPORT_NAMES = {
    Input.CLUSTER: "aks.json",
    Input.NODEPOOLS: "nodepools.json",
    Input.SCALE_SETS: "vmss.json",
    Input.INSTANCES: "vmss-instances.json",
    Input.ACTIVITY_LOG: "activity-log.json",
    Input.SCHEDULED_EVENTS: "scheduled-events.json",
}


def _as_exported_files(documents: list[Document]) -> list[Document]:
    """The same objects as exported files: kubectl's List around each cache, a file name, no declared kind."""
    files = []
    for document in documents:
        assert document.kind is not None
        if document.kind in KUBE_INPUTS:
            noun = document.kind.name.lower().replace("_", "")  # k8s-persistentvolumes.json, as an export names it
            files.append(Document(f"k8s-{noun}.json", kubectl_list(document.data)))
        else:
            files.append(Document(_EXPORT_NAMES[document.kind], document.data))
    return files


def test_every_document_the_observer_reads_declares_its_kind_and_names_where_it_came_from(
    twin: Twin, observer: LiveObserver
) -> None:
    documents, _, _ = observer.read(twin.clock.now())
    assert {document.kind for document in documents} == {
        Input.NODES, Input.LEASES, Input.PODS, Input.PDBS, Input.WORKLOADS, Input.DAEMONSETS, Input.EVENTS,
        Input.NAMESPACES, Input.CLUSTER, Input.NODEPOOLS, Input.SCALE_SETS, Input.INSTANCES, Input.ACTIVITY_LOG,
        Input.SCHEDULED_EVENTS, Input.PVCS, Input.PERSISTENT_VOLUMES, Input.VOLUME_ATTACHMENTS,
    }  # fmt: skip
    sources = {document.source for document in documents}
    assert {"the cluster's nodes", "the cluster's leases in kube-node-lease", "IMDS Scheduled Events"} <= sources
    assert not [source for source in sources if source.endswith(".json")]


def test_the_snapshot_is_the_one_the_same_objects_give_as_exported_files(twin: Twin, observer: LiveObserver) -> None:
    documents, _, _ = observer.read(twin.clock.now())
    declared = observer.validator.load(documents)
    recognised = load.load_documents(_as_exported_files(documents))
    assert declared.notes == recognised.notes == ()
    # Only where each object came from differs: "the cluster's nodes" rather than k8s-nodes.json.
    assert declared.snapshot.origins.keys() == recognised.snapshot.origins.keys()
    assert declared.snapshot.origins["Node/" + str(declared.snapshot.nodes[0].metadata.name)] == "the cluster's nodes"
    assert dataclasses.replace(declared.snapshot, sources=(), origins={}) == dataclasses.replace(
        recognised.snapshot, sources=(), origins={}
    )


def test_the_node_resource_group_is_read_from_the_cluster_document_found_by_its_kind() -> None:
    documents = [
        Document("agent pools of aks-prod in resource group rg-prod", [], kind=Input.NODEPOOLS),
        Document(
            "managed cluster aks-prod in resource group rg-prod", {"nodeResourceGroup": "MC_rg"}, kind=Input.CLUSTER
        ),
    ]
    assert node_resource_group(documents) == "MC_rg"
    assert node_resource_group(documents[:1]) is None
