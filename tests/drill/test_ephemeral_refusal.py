"""instance-deallocate refuses pools with ephemeral OS disks, naming the pool, before anything is injected: Azure
cannot deallocate them (twin/azure/state.py refuses it as Compute does), so the drill would fail halfway."""

from __future__ import annotations

import pytest

from nodewarden.drill import faults
from nodewarden.drill.spec import DrillError
from nodewarden.model.azure import AgentPool
from nodewarden.model.snapshot import Snapshot
from tests.drill.test_faults import name, node, spec

CLUSTER = Snapshot(
    nodes=(node("apps", 0, "1"), node("apps", 1, "2"), node("batch", 0, "1"), node("batch", 1, "2")),
    pools=(AgentPool(name="apps", os_disk_type="Ephemeral"), AgentPool(name="batch", os_disk_type="Managed")),
)


def test_a_named_node_of_an_ephemeral_pool_is_refused_naming_the_pool() -> None:
    with pytest.raises(DrillError, match=r"instance-deallocate cannot run on .*: pool apps has ephemeral OS disks"):
        faults.resolve(spec("instance-deallocate", {"node": name("apps", 0)}, pools=["apps", "batch"]), CLUSTER)


def test_an_ephemeral_pool_as_the_target_is_refused_naming_the_pool() -> None:
    with pytest.raises(DrillError, match=r"instance-deallocate cannot run on pool apps: .* ephemeral OS disks"):
        faults.resolve(spec("instance-deallocate", {"pool": "apps"}, pools=["apps"]), CLUSTER)


def test_picking_a_node_skips_ephemeral_pools_for_deallocate_only() -> None:
    scope = ["apps", "batch"]
    assert faults.resolve(spec("instance-deallocate", {"zone": "1"}, pools=scope), CLUSTER).nodes == (name("batch", 0),)
    assert faults.resolve(spec("instance-stop", {"zone": "1"}, pools=scope), CLUSTER).nodes == (name("apps", 0),)


def test_the_catalogue_says_deallocate_is_not_for_ephemeral_pools() -> None:
    assert "ephemeral OS disks" in faults.BY_NAME["instance-deallocate"].description
