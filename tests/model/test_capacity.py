"""Capacity classes of the pods of dead nodes (model/capacity.py): each class, unknown storage, mixed pods."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from nodewarden.model.capacity import CapacityClass, CapacityReport, ClassifiedPod, classify, down_nodes
from nodewarden.model.kube import (
    CsiVolumeSource,
    LabelSelector,
    Node,
    NodeCondition,
    NodeSelector,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    NodeStatus,
    ObjectMeta,
    OwnerReference,
    PersistentVolume,
    PersistentVolumeClaim,
    PersistentVolumeSpec,
    Pod,
    PodSpec,
    PodStatus,
    PvcSource,
    PvcSpec,
    StorageClass,
    Volume,
    VolumeAttachment,
    VolumeAttachmentSource,
    VolumeAttachmentSpec,
    VolumeNodeAffinity,
    Workload,
    WorkloadSpec,
)
from nodewarden.model.snapshot import Snapshot
from tests.heal import builders as b

NODE = b.node("apps", 0, zone="eastus-1")
DEAD = NODE.metadata.name


def pod(name: str, *claims: str, owner: str = "ReplicaSet", owner_name: str = "web-abc", app: str = "web") -> Pod:
    volumes = [Volume(name=c, persistent_volume_claim=PvcSource(claim_name=c)) for c in claims]
    return Pod(
        metadata=ObjectMeta(
            name=name,
            namespace="shop",
            labels={"app": app},
            owner_references=[OwnerReference(kind=owner, name=owner_name, controller=True)],
        ),
        spec=PodSpec(node_name=DEAD, volumes=volumes),
        status=PodStatus(phase="Running"),
    )


def disk(
    name: str, *, sku: str = "Premium_LRS", zone: str | None = "eastus-1", driver: str = "disk.csi.azure.com"
) -> PersistentVolume:
    affinity = None
    if zone is not None:
        requirement = NodeSelectorRequirement(key="topology.disk.csi.azure.com/zone", operator="In", values=[zone])
        term = NodeSelectorTerm(match_expressions=[requirement])
        affinity = VolumeNodeAffinity(required=NodeSelector(node_selector_terms=[term]))
    csi = CsiVolumeSource(driver=driver, volume_attributes={"skuname": sku} if sku else None)
    spec = PersistentVolumeSpec(access_modes=["ReadWriteOnce"], csi=csi, node_affinity=affinity)
    return PersistentVolume(metadata=ObjectMeta(name=name), spec=spec)


def claim(name: str, volume: str | None) -> PersistentVolumeClaim:
    return PersistentVolumeClaim(metadata=ObjectMeta(name=name, namespace="shop"), spec=PvcSpec(volume_name=volume))


def snapshot(
    pods: list[Pod], pvs: Sequence[PersistentVolume] = (), pvcs: Sequence[PersistentVolumeClaim] = (), **more: Any
) -> Snapshot:
    return Snapshot(nodes=(NODE,), pods=tuple(pods), persistent_volumes=tuple(pvs), pvcs=tuple(pvcs), **more)


def only(report: CapacityReport) -> ClassifiedPod:
    assert len(report.pods) == 1
    return report.pods[0]


@pytest.mark.parametrize(
    ("desc", "volume", "zones_down", "expected"),
    [
        ("an LRS disk in the zone that is down is pinned", disk("pv"), {"eastus-1"}, CapacityClass.ZONE_PINNED),
        ("an LRS disk whose zone is up is held by the dead node", disk("pv"), set(), CapacityClass.HELD),
        ("a ZRS disk is held, not pinned", disk("pv", sku="Premium_ZRS", zone=None), {"eastus-1"}, CapacityClass.HELD),
        (
            "a ZRS disk with zone affinity is still portable",
            disk("pv", sku="StandardSSD_ZRS"),
            {"eastus-1"},
            CapacityClass.HELD,
        ),
        (
            "Azure Files moves",
            disk("pv", sku="", zone=None, driver="file.csi.azure.com"),
            {"eastus-1"},
            CapacityClass.MOVABLE,
        ),
    ],
)
def test_a_deployment_pod_with_one_volume_falls_in_its_class(
    desc: str, volume: PersistentVolume, zones_down: set[str], expected: CapacityClass
) -> None:
    snap = snapshot([pod("web-1", "data")], [volume], [claim("data", "pv")])
    found = only(classify(snap, down={DEAD}, zones_down=zones_down))
    assert found.capacity is expected, desc
    assert found.why


def test_a_pod_without_volumes_is_movable_and_a_statefulset_pod_without_volumes_is_held() -> None:
    snap = snapshot([pod("web-1"), pod("db-0", owner="StatefulSet", owner_name="db", app="db")])
    report = classify(snap, down={DEAD})
    assert [(p.name, p.capacity) for p in report.pods] == [
        ("web-1", CapacityClass.MOVABLE),
        ("db-0", CapacityClass.HELD),
    ]
    assert report.replicas(CapacityClass.HELD) == 1


@pytest.mark.parametrize(
    ("desc", "pvcs", "pvs", "says"),
    [
        ("the claim was not observed", [], [], "claim shop/data was not observed"),
        ("the claim is unbound", [claim("data", None)], [], "not bound"),
        ("the volume was not observed", [claim("data", "pv")], [], "volume pv of claim shop/data was not observed"),
    ],
)
def test_storage_that_cannot_be_followed_is_unknown_never_guessed(
    desc: str, pvcs: list[PersistentVolumeClaim], pvs: list[PersistentVolume], says: str
) -> None:
    found = only(classify(snapshot([pod("web-1", "data")], pvs, pvcs), down={DEAD}, zones_down={"eastus-1"}))
    assert found.capacity is CapacityClass.UNKNOWN, desc
    assert says in found.why


def test_a_pinned_volume_outranks_an_unknown_one_and_unknown_outranks_held() -> None:
    pvcs = [claim("a", "lrs"), claim("b", "gone")]
    pinned = classify(snapshot([pod("web-1", "a", "b")], [disk("lrs")], pvcs), down={DEAD}, zones_down={"eastus-1"})
    assert only(pinned).capacity is CapacityClass.ZONE_PINNED
    unknown = classify(snapshot([pod("web-1", "a", "b")], [disk("lrs")], pvcs), down={DEAD})
    assert only(unknown).capacity is CapacityClass.UNKNOWN


def test_a_fenced_nodes_pods_are_movable_unless_pinned() -> None:
    snap = snapshot([pod("web-1", "data")], [disk("pv")], [claim("data", "pv")])
    assert only(classify(snap, down={DEAD}, fenced={DEAD})).capacity is CapacityClass.MOVABLE
    pinned = classify(snap, down={DEAD}, fenced={DEAD}, zones_down={"eastus-1"})
    assert only(pinned).capacity is CapacityClass.ZONE_PINNED


def test_the_disk_sku_comes_from_the_storage_class_when_the_volume_does_not_carry_it() -> None:
    volume = disk("pv", sku="")
    volume = PersistentVolume(metadata=volume.metadata, spec=PersistentVolumeSpec(
        csi=volume.spec.csi, node_affinity=volume.spec.node_affinity, storage_class_name="zrs"))  # fmt: skip
    zrs = StorageClass(metadata=ObjectMeta(name="zrs"), provisioner="disk.csi.azure.com",
                       parameters={"skuName": "Premium_ZRS"})  # fmt: skip
    snap = snapshot([pod("web-1", "data")], [volume], [claim("data", "pv")], storage_classes=(zrs,))
    assert only(classify(snap, down={DEAD}, zones_down={"eastus-1"})).capacity is CapacityClass.HELD


def test_the_why_says_the_disk_is_attached_when_a_volume_attachment_shows_it() -> None:
    attachment = VolumeAttachment(
        metadata=ObjectMeta(name="csi-1"),
        spec=VolumeAttachmentSpec(attacher="disk.csi.azure.com", node_name=DEAD,
                                  source=VolumeAttachmentSource(persistent_volume_name="pv")),
    )  # fmt: skip
    snap = snapshot([pod("web-1", "data")], [disk("pv")], [claim("data", "pv")], volume_attachments=(attachment,))
    assert "attached to the dead node" in only(classify(snap, down={DEAD})).why


def test_daemonset_mirror_and_finished_pods_and_pods_of_live_nodes_are_not_classified() -> None:
    daemon = b.pod("ds-1", DEAD, labels={"app": "ds"}, daemon=True)
    done = Pod(metadata=ObjectMeta(name="job-1", namespace="shop"), spec=PodSpec(node_name=DEAD),
               status=PodStatus(phase="Succeeded"))  # fmt: skip
    elsewhere = b.pod("web-9", "aks-apps-vmss000001", labels={"app": "web"})
    assert classify(snapshot([daemon, done, elsewhere]), down={DEAD}).pods == ()


def test_down_nodes_are_the_not_ready_ones_and_those_gone_that_pods_are_bound_to() -> None:
    ready = b.node("apps", 1)
    ready = Node(metadata=ready.metadata, spec=ready.spec,
                 status=NodeStatus(conditions=[NodeCondition(type="Ready", status="True")]))  # fmt: skip
    snap = Snapshot(nodes=(NODE, ready), pods=(b.pod("orphan", "aks-apps-vmss000099", labels={}),))
    assert down_nodes(snap) == {DEAD, "aks-apps-vmss000099"}


def test_restored_counts_each_workload_in_its_most_stuck_class() -> None:
    web = Workload(kind="Deployment", metadata=ObjectMeta(name="web", namespace="shop"),
                   spec=WorkloadSpec(replicas=3, selector=LabelSelector(match_labels={"app": "web"})))  # fmt: skip
    db = Workload(kind="StatefulSet", metadata=ObjectMeta(name="db", namespace="shop"),
                  spec=WorkloadSpec(replicas=2, selector=LabelSelector(match_labels={"app": "db"})))  # fmt: skip
    pods = [pod("web-1"), pod("db-0", owner="StatefulSet", owner_name="db", app="db")]
    report = classify(snapshot(pods, workloads=(web, db)), down={DEAD})
    assert report.workloads(CapacityClass.MOVABLE) == {"Deployment/shop/web"}
    assert report.workloads(CapacityClass.HELD) == {"StatefulSet/shop/db"}
    counts = {"Deployment/shop/web": (2, 3), "StatefulSet/shop/db": (2, 2)}
    assert report.restored(CapacityClass.MOVABLE, counts) == pytest.approx(2 / 3)
    assert report.restored(CapacityClass.HELD, counts) == 1.0
    assert report.restored(CapacityClass.ZONE_PINNED, counts) == 1.0  # no workload in the class
