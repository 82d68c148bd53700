"""Pod garbage collection for non-graceful node shutdown: the out-of-service taint releases a dead node's pods.

A node known to be off gets `node.kubernetes.io/out-of-service` (NoExecute). The taint-eviction controller
then marks every pod that does not tolerate it for deletion (nodecontroller.py), and every `PERIOD` the pod
GC force-deletes the Terminating pods of a tainted node that is not Ready, since no kubelet is left to
confirm them (Kubernetes pkg/controller/podgc `gcTerminating`). Their controllers make replacements and
the attach-detach controller detaches their volumes at once (storage.py). Removing the taint does nothing
special: a returning kubelet finds its pods gone.
"""

from __future__ import annotations

import contextlib

from nodewarden.twin.kube.errors import ApiError
from nodewarden.twin.kube.meta import condition
from nodewarden.twin.kube.storage import has_out_of_service_taint
from nodewarden.twin.kube.store import KubeStore

PERIOD = 20.0  # kube-controller-manager podgc gcCheckPeriod


class PodGarbageCollector:
    def __init__(self, store: KubeStore) -> None:
        self._store = store

    def collect(self) -> None:
        """Force-delete the Terminating pods of every not-Ready node carrying the out-of-service taint."""
        for node in self._store.items("nodes"):
            ready = (condition(node, "Ready") or {}).get("status")
            if ready == "True" or not has_out_of_service_taint(node):
                continue
            for pod in self._store.by_index("pods", "node", node["metadata"]["name"], copy=False):
                metadata = pod["metadata"]
                if metadata.get("deletionTimestamp"):
                    with contextlib.suppress(ApiError):  # gone meanwhile
                        self._store.delete("pods", metadata["namespace"], metadata["name"], uid=metadata["uid"])
