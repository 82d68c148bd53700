"""Graceful pod deletion, shared by DELETE, the eviction subresource and the controllers.

A pod bound to a node is not removed by the apiserver: it gets `deletionTimestamp` (now + grace)
and stays `Terminating` until that node's kubelet confirms (KubeWorld's kubelets do, once the grace
period is over). A silent kubelet never confirms, so pods on a dead node stay Terminating, as on a
real cluster. Unbound pods, terminal pods and a zero grace period are removed at once.
"""

from __future__ import annotations

from datetime import timedelta

from nodewarden.twin.clock import Clock
from nodewarden.twin.kube.errors import not_found
from nodewarden.twin.kube.meta import Obj, parse_time, rfc3339
from nodewarden.twin.kube.store import KubeStore


def grace_of(pod: Obj, requested: int | None = None) -> int:
    if requested is not None:
        return max(0, int(requested))
    return int(pod.get("spec", {}).get("terminationGracePeriodSeconds", 30))


def terminate_pod(store: KubeStore, clock: Clock, namespace: str, name: str, *, grace: int | None = None) -> Obj:
    """Start deleting a pod; returns it as it now stands (or as deleted)."""
    pod = store.peek("pods", namespace, name)
    if pod is None:
        raise not_found("pods", name)
    seconds = grace_of(pod, grace)
    unbound = not pod.get("spec", {}).get("nodeName")
    terminal = pod.get("status", {}).get("phase") in ("Succeeded", "Failed")
    if unbound or terminal or seconds == 0:
        return store.delete("pods", namespace, name)
    deadline = clock.now() + timedelta(seconds=seconds)

    def mark(obj: Obj) -> None:
        metadata = obj["metadata"]
        current = metadata.get("deletionTimestamp")
        if current is None or parse_time(current) > deadline:  # a shorter grace period wins, a longer one never
            metadata["deletionTimestamp"] = rfc3339(deadline)
            metadata["deletionGracePeriodSeconds"] = seconds

    marked = store.mutate("pods", namespace, name, mark, touches=())  # only top-level metadata fields
    if marked is None:
        raise not_found("pods", name)
    return dict(marked)
