"""Which pods and workloads an incident touched: those on its nodes, matched to workloads by selector."""

from __future__ import annotations

from collections.abc import Iterable

from nodewarden.model import selectors
from nodewarden.model.snapshot import Snapshot


def affected(snapshot: Snapshot, nodes: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """("namespace/pod", …) on the nodes, and ("Kind/namespace/name", …) of the workloads behind them.

    DaemonSet and mirror pods are left out: they belong to the node, not to the service it carries.
    """
    pods: set[str] = set()
    workloads: set[str] = set()
    for node in nodes:
        for pod in snapshot.pods_by_node.get(node, ()):
            if pod.belongs_to_node:
                continue
            pods.add(f"{pod.namespace}/{pod.metadata.name}")
            for workload in snapshot.workloads:
                if workload.namespace == pod.namespace and selectors.matches(
                    workload.spec.selector, pod.metadata.label_map
                ):
                    workloads.add(f"{workload.kind}/{workload.namespace}/{workload.metadata.name}")
    return tuple(sorted(pods)), tuple(sorted(workloads))
