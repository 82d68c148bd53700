"""The twin's zonal storage and non-graceful node shutdown (issue 15), on a manual clock.

Azure Disks bind in the zone of their first pod's node (LRS) or in none (ZRS); a disk is attached to one
node at a time; a StatefulSet pod on a dead node holds its ordinal and its disk until the node gets the
out-of-service taint (or, once the pod is gone, until the 6-minute force detach).
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

import pytest

from nodewarden.twin.kube.store import KubeStore
from nodewarden.twin.scenario import Scenario, ScenarioError, load_scenario
from nodewarden.twin.service import Twin
from tests.twin.zonal import LRS_SET, NAMESPACE, OUT_OF_SERVICE, ZRS_SET, zonal_scenario, zonal_twin

DISK_ZONE = "topology.disk.csi.azure.com/zone"
ZONE = "topology.kubernetes.io/zone"

Obj = dict[str, Any]


class AttachmentCount:
    """Every write to a VolumeAttachment: the most attachments any one volume had at once (live, or attached)."""

    def __init__(self, store: KubeStore) -> None:
        self._store = store
        self.most = 0
        self.most_attached = 0
        store.add_listener(self._seen)

    def _seen(self, resource: str, kind: str, obj: Obj, old: Obj | None) -> None:
        if resource != "volumeattachments":
            return
        per_volume: collections.Counter[str] = collections.Counter()
        attached: collections.Counter[str] = collections.Counter()
        for attachment in self._store.items("volumeattachments"):
            volume = attachment["spec"]["source"]["persistentVolumeName"]
            per_volume[volume] += 1
            attached[volume] += bool(attachment.get("status", {}).get("attached"))
        self.most = max(self.most, *per_volume.values(), 0)
        self.most_attached = max(self.most_attached, *attached.values(), 0)


@pytest.fixture
def twin() -> Iterator[Twin]:
    with zonal_twin() as running:
        yield running


@pytest.fixture
def count(twin: Twin) -> Iterator[AttachmentCount]:
    counter = AttachmentCount(twin.world.store)
    yield counter
    assert counter.most_attached <= 1, "a volume was attached to two nodes at once"
    assert counter.most <= 1, "a single-attach volume had two VolumeAttachments at once"


def _pod(twin: Twin, name: str) -> Obj:
    return twin.world.store.get("pods", NAMESPACE, f"{name}-0")


def _volume_of(twin: Twin, name: str) -> Obj:
    claim = twin.world.store.get("persistentvolumeclaims", NAMESPACE, f"data-{name}-0")
    return twin.world.store.get("persistentvolumes", None, claim["spec"]["volumeName"])


def _attachments(twin: Twin, volume: Obj) -> list[Obj]:
    name = volume["metadata"]["name"]
    return [
        a for a in twin.world.store.items("volumeattachments") if a["spec"]["source"]["persistentVolumeName"] == name
    ]


def _zone(twin: Twin, node: str) -> str:
    return str(twin.world.store.get("nodes", None, node)["metadata"]["labels"][ZONE])


def _nodes_in(twin: Twin, zone: str) -> list[str]:
    return [
        n["metadata"]["name"]
        for n in twin.world.store.items("nodes")
        if n["metadata"]["labels"][ZONE] == zone and n["metadata"]["labels"]["agentpool"] == "apps"
    ]


def _cordon(twin: Twin, node: str) -> None:
    twin.world.store.patch("nodes", None, node, {"spec": {"unschedulable": True}})


def _fence(twin: Twin, node: str) -> None:
    """What an operator (or nodewarden's fencing) does once the node is known to be off."""
    taints = twin.world.store.get("nodes", None, node)["spec"].get("taints") or []
    twin.world.store.patch("nodes", None, node, {"spec": {"taints": [*taints, OUT_OF_SERVICE]}})


def _running(pod: Obj) -> bool:
    return pod["status"]["phase"] == "Running" and not pod["metadata"].get("deletionTimestamp")


def test_every_scenario_has_aks_storage_classes_and_no_claims() -> None:
    with Twin("small") as twin:
        classes = {sc["metadata"]["name"]: sc for sc in twin.world.store.items("storageclasses")}
        assert twin.world.store.items("persistentvolumeclaims") == []
    assert {
        name: (sc["provisioner"], sc["parameters"]["skuName"], sc["volumeBindingMode"]) for name, sc in classes.items()
    } == {
        "managed-csi": ("disk.csi.azure.com", "StandardSSD_LRS", "WaitForFirstConsumer"),
        "managed-csi-premium": ("disk.csi.azure.com", "Premium_LRS", "WaitForFirstConsumer"),
        "managed-csi-premium-zrs": ("disk.csi.azure.com", "Premium_ZRS", "WaitForFirstConsumer"),
        "azurefile-csi": ("file.csi.azure.com", "Standard_LRS", "Immediate"),
    }
    assert classes["managed-csi"]["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}


def test_a_volume_only_goes_on_a_stateful_set() -> None:
    data = zonal_scenario().model_dump(by_alias=True)
    data["workloads"][0]["kind"] = "Deployment"
    with pytest.raises(ValueError, match="only a StatefulSet gets volumeClaimTemplates"):
        Scenario.model_validate(data)
    assert load_scenario("small").workloads[-1].volume is None  # the built-in scenarios are unchanged
    with pytest.raises(ScenarioError):
        load_scenario("no-such-scenario")


def test_claims_bind_to_csi_disks_and_only_lrs_disks_are_pinned_to_the_pods_zone(twin: Twin) -> None:
    for name, sku in ((LRS_SET, "StandardSSD_LRS"), (ZRS_SET, "Premium_ZRS")):
        claim = twin.world.store.get("persistentvolumeclaims", NAMESPACE, f"data-{name}-0")
        volume = _volume_of(twin, name)
        assert claim["status"]["phase"] == "Bound"
        assert claim["spec"]["volumeName"] == volume["metadata"]["name"]
        assert volume["spec"]["claimRef"]["name"] == f"data-{name}-0"
        csi = volume["spec"]["csi"]
        assert csi["driver"] == "disk.csi.azure.com"
        assert csi["volumeHandle"].startswith("/subscriptions/00000000-0000-0000-0000-00000000c0de/resourceGroups/")
        assert csi["volumeHandle"].endswith(f"/providers/Microsoft.Compute/disks/{volume['metadata']['name']}")
        assert csi["volumeAttributes"]["skuname"] == sku
        assert _pod(twin, name)["spec"]["volumes"] == [
            {"name": "data", "persistentVolumeClaim": {"claimName": f"data-{name}-0"}}
        ]
    lrs_zone = _zone(twin, _pod(twin, LRS_SET)["spec"]["nodeName"])
    assert _volume_of(twin, LRS_SET)["spec"]["nodeAffinity"] == {
        "required": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": DISK_ZONE, "operator": "In", "values": [lrs_zone]}]}]
        }
    }
    assert "nodeAffinity" not in _volume_of(twin, ZRS_SET)["spec"]


def test_a_cluster_loads_with_its_disks_attached_and_its_stateful_pods_running(twin: Twin) -> None:
    for name in (LRS_SET, ZRS_SET):
        pod = _pod(twin, name)
        assert _running(pod)
        [attachment] = _attachments(twin, _volume_of(twin, name))
        assert attachment["spec"]["attacher"] == "disk.csi.azure.com"
        assert attachment["spec"]["nodeName"] == pod["spec"]["nodeName"]
        assert attachment["status"]["attached"] is True


def test_a_moved_pod_waits_for_detach_and_attach_and_stays_in_its_disks_zone(
    twin: Twin, count: AttachmentCount
) -> None:
    old = _pod(twin, LRS_SET)["spec"]["nodeName"]
    zone = _zone(twin, old)
    _cordon(twin, old)
    twin.world.store.delete("pods", NAMESPACE, f"{LRS_SET}-0")  # gone at once: the kubelet still unmounts
    twin.advance(1)
    moved = _pod(twin, LRS_SET)
    assert moved["spec"]["nodeName"] != old
    assert _zone(twin, moved["spec"]["nodeName"]) == zone
    assert moved["status"]["phase"] == "Pending"
    assert moved["status"]["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    twin.advance(30)
    assert _running(_pod(twin, LRS_SET))
    [attachment] = _attachments(twin, _volume_of(twin, LRS_SET))
    assert attachment["spec"]["nodeName"] == moved["spec"]["nodeName"]

    for node in _nodes_in(twin, zone):
        _cordon(twin, node)
    twin.world.store.delete("pods", NAMESPACE, f"{LRS_SET}-0")
    twin.advance(30)
    pending = _pod(twin, LRS_SET)
    assert "nodeName" not in pending["spec"]
    [scheduled] = [c for c in pending["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert "volume node affinity conflict" in scheduled["message"]


def test_a_crashed_nodes_stateful_pod_stays_terminating_with_its_disk_attached_until_fenced(
    twin: Twin, count: AttachmentCount
) -> None:
    dead = _pod(twin, LRS_SET)["spec"]["nodeName"]
    zone = _zone(twin, dead)
    volume = _volume_of(twin, LRS_SET)
    twin.inject("instance-crash", target=dead)
    twin.advance(900)  # well past eviction (300 s) and the 6-minute force detach
    stuck = _pod(twin, LRS_SET)
    assert stuck["metadata"].get("deletionTimestamp")  # Terminating: no kubelet confirms it
    assert stuck["spec"]["nodeName"] == dead  # and no replacement holds the ordinal
    [attachment] = _attachments(twin, volume)
    assert (attachment["spec"]["nodeName"], attachment["status"]["attached"]) == (dead, True)

    _fence(twin, dead)
    twin.advance(60)  # pod GC (20 s), detach (5 s), attach (15 s)
    back = _pod(twin, LRS_SET)
    assert _running(back)
    assert back["metadata"]["uid"] != stuck["metadata"]["uid"]
    assert back["spec"]["nodeName"] != dead
    assert _zone(twin, back["spec"]["nodeName"]) == zone
    [attachment] = _attachments(twin, volume)
    assert (attachment["spec"]["nodeName"], attachment["status"]["attached"]) == (back["spec"]["nodeName"], True)


def test_a_fenced_nodes_zrs_pod_moves_to_another_zone(twin: Twin, count: AttachmentCount) -> None:
    dead = _pod(twin, ZRS_SET)["spec"]["nodeName"]
    zone = _zone(twin, dead)
    for node in _nodes_in(twin, zone):
        _cordon(twin, node)
    twin.inject("instance-crash", target=dead)
    twin.advance(120)
    _fence(twin, dead)  # not yet evicted: the taint evicts it and the pod GC force-deletes it
    twin.advance(60)
    back = _pod(twin, ZRS_SET)
    assert _running(back)
    assert _zone(twin, back["spec"]["nodeName"]) != zone


def test_a_fenced_zone_down_leaves_the_lrs_pod_pending_and_the_zrs_pod_running_elsewhere(
    twin: Twin, count: AttachmentCount
) -> None:
    zone = _zone(twin, _pod(twin, LRS_SET)["spec"]["nodeName"])
    twin.inject("zone-outage", target=zone)
    twin.advance(120)
    for node in _nodes_in(twin, zone):
        _fence(twin, node)
    twin.advance(90)
    lrs = _pod(twin, LRS_SET)
    assert "nodeName" not in lrs["spec"]
    [scheduled] = [c for c in lrs["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert "volume node affinity conflict" in scheduled["message"]
    assert _attachments(twin, _volume_of(twin, LRS_SET)) == []  # detached at once on the fenced node
    assert _running(_pod(twin, ZRS_SET))
    assert _zone(twin, _pod(twin, ZRS_SET)["spec"]["nodeName"]) != zone


def test_without_fencing_a_force_deleted_pods_disk_detaches_after_six_minutes(
    twin: Twin, count: AttachmentCount
) -> None:
    dead = _pod(twin, LRS_SET)["spec"]["nodeName"]
    volume = _volume_of(twin, LRS_SET)
    twin.inject("instance-crash", target=dead)
    twin.advance(120)
    twin.world.store.delete("pods", NAMESPACE, f"{LRS_SET}-0")  # kubectl delete --force --grace-period=0
    twin.advance(340)
    waiting = _pod(twin, LRS_SET)
    assert waiting["spec"]["nodeName"] != dead
    assert waiting["status"]["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    [attachment] = _attachments(twin, volume)
    assert attachment["spec"]["nodeName"] == dead
    reasons = {
        e["reason"]
        for e in twin.world.store.items("events", NAMESPACE)
        if e["involvedObject"]["uid"] == waiting["metadata"]["uid"]
    }
    assert "FailedAttachVolume" in reasons  # Multi-Attach error
    twin.advance(60)  # past 360 s: the attach-detach controller force-detaches from the unhealthy node
    assert _running(_pod(twin, LRS_SET))
    [attachment] = _attachments(twin, volume)
    assert attachment["spec"]["nodeName"] == waiting["spec"]["nodeName"]


def test_removing_the_taint_from_a_returned_node_changes_nothing(twin: Twin, count: AttachmentCount) -> None:
    dead = _pod(twin, LRS_SET)["spec"]["nodeName"]
    twin.inject("instance-crash", target=dead)
    twin.advance(120)
    _fence(twin, dead)
    twin.advance(60)
    moved = _pod(twin, LRS_SET)
    twin.clear("instance-crash", dead)
    twin.advance(300)
    node = twin.world.store.get("nodes", None, dead)
    twin.world.store.patch(
        "nodes",
        None,
        dead,
        {"spec": {"taints": [t for t in node["spec"].get("taints") or [] if t["key"] != OUT_OF_SERVICE["key"]]}},
    )
    twin.advance(60)
    assert _pod(twin, LRS_SET)["metadata"]["uid"] == moved["metadata"]["uid"]
    assert _running(_pod(twin, LRS_SET))
    assert [a["spec"]["nodeName"] for a in _attachments(twin, _volume_of(twin, LRS_SET))] == [moved["spec"]["nodeName"]]
