"""The controller's caches carry claims, volumes and attachments, so capacity classes work on a live cluster: on
the twin's zonal scenario, a crashed node's StatefulSet pods are held (their disks stay attached to it), and once the
node's zone is reported down the LRS one is zone-pinned while the ZRS one stays held."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nodewarden.connection import connect
from nodewarden.model.aks import ZONE_LABEL
from nodewarden.model.capacity import CapacityClass, classify, down_nodes
from nodewarden.observe.cache import Caches
from nodewarden.runtime.clock import DrivenClock
from nodewarden.runtime.observer import REMEDIATION_KINDS, LiveObserver
from nodewarden.twin.service import Twin
from tests.twin.zonal import LRS_SET, NAMESPACE, ZRS_SET, zonal_twin


@pytest.fixture
def twin() -> Iterator[Twin]:
    with zonal_twin() as running:
        yield running


def _node_of(twin: Twin, workload: str) -> str:
    [pod] = [p for p in twin.world.store.items("pods", NAMESPACE) if p["metadata"]["name"] == f"{workload}-0"]
    return str(pod["spec"]["nodeName"])


def test_a_dead_nodes_disks_hold_its_pods_and_a_dead_zone_pins_the_lrs_one(twin: Twin) -> None:
    lrs_node, zrs_node = _node_of(twin, LRS_SET), _node_of(twin, ZRS_SET)
    for node in {lrs_node, zrs_node}:
        twin.inject("instance-crash", target=node)
    twin.advance(120)  # the node controller marks them Unknown
    connection = connect(twin=twin.state_dir)
    assert connection.kube is not None
    with Caches(connection.kube, kinds=REMEDIATION_KINDS) as caches:
        assert caches.wait_synced(30)
        snapshot = LiveObserver(connection, caches).observe(DrivenClock(twin).now()).snapshot
    assert {pv.metadata.name for pv in snapshot.persistent_volumes}, "the volumes are observed"
    assert {va.spec.node_name for va in snapshot.volume_attachments} >= {lrs_node, zrs_node}
    down = down_nodes(snapshot)
    assert {lrs_node, zrs_node} <= down

    held = {(p.name, p.capacity) for p in classify(snapshot, down=down).pods}
    assert {(f"{LRS_SET}-0", CapacityClass.HELD), (f"{ZRS_SET}-0", CapacityClass.HELD)} <= held

    lrs_zone = (next(n for n in snapshot.nodes if n.metadata.name == lrs_node).metadata.labels or {})[ZONE_LABEL]
    pinned = {(p.name, p.capacity) for p in classify(snapshot, down=down, zones_down=[lrs_zone]).pods}
    assert (f"{LRS_SET}-0", CapacityClass.ZONE_PINNED) in pinned
    assert (f"{ZRS_SET}-0", CapacityClass.HELD) in pinned
