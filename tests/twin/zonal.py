"""A small zonal cluster with stateful workloads on Azure Disks, for the twin's storage tests (issue 15).

Two nodes in each of three zones; `ledger` keeps its data on LRS disks (`managed-csi`, pinned to the zone
they were made in), `queue` on ZRS disks (`managed-csi-premium-zrs`, attachable in every zone).
"""

from __future__ import annotations

from typing import Any

from nodewarden.twin.scenario import Scenario
from nodewarden.twin.service import Twin

LRS_SET = "ledger"
ZRS_SET = "queue"
NAMESPACE = "data"
OUT_OF_SERVICE = {"key": "node.kubernetes.io/out-of-service", "value": "nodeshutdown", "effect": "NoExecute"}


def zonal_scenario(*, replicas: int = 1) -> Scenario:
    """The scenario, as the twin's loader would read it from YAML."""
    data: dict[str, Any] = {
        "name": "zonal-storage",
        "description": "Six nodes over three zones; one StatefulSet on LRS disks, one on ZRS disks.",
        "pools": [
            {"name": "system", "mode": "System", "count": 3, "taints": ["CriticalAddonsOnly=true:NoSchedule"]},
            {"name": "apps", "count": 6},
        ],
        "workloads": [
            {
                "name": name,
                "namespace": NAMESPACE,
                "kind": "StatefulSet",
                "replicas": replicas,
                "pool": "apps",
                "volume": {"storageClass": storage_class, "size": "64Gi"},
            }
            for name, storage_class in ((LRS_SET, "managed-csi"), (ZRS_SET, "managed-csi-premium-zrs"))
        ],
    }
    return Scenario.model_validate(data)


def zonal_twin(**kwargs: Any) -> Twin:
    """A twin of the zonal scenario (not started: use it as a context manager)."""
    return Twin(zonal_scenario(**kwargs))
