"""The node lifecycle controller: silent nodes go Unknown, get tainted, and lose their pods.

Every `monitor_interval` (5 s, --node-monitor-period) it looks at each node's Lease. A Lease not
renewed for `grace` seconds of *observation* (it times what it saw, as the real controller does,
not the timestamp the kubelet wrote) makes the node's kubelet conditions Unknown ("Kubelet stopped
posting node status."). Taints follow the conditions (Kubernetes docs, "Taints and Tolerations"):
`unreachable` for Unknown, `not-ready` for False, both NoSchedule and NoExecute; `unschedulable` for a
cordon; pressure taints. The taint-eviction controller then deletes pods whose tolerations run out
(tolerationSeconds 300 by default, from the DefaultTolerationSeconds admission the world installs).
"""

from __future__ import annotations

from nodewarden.twin.clock import Clock
from nodewarden.twin.kube import taints as taint_rules
from nodewarden.twin.kube.errors import ApiError
from nodewarden.twin.kube.kubelet import KUBELET_CONDITIONS, LEASE_NAMESPACE, set_pod_ready
from nodewarden.twin.kube.meta import Obj, condition, rfc3339
from nodewarden.twin.kube.recorder import WARNING, Recorder
from nodewarden.twin.kube.store import KubeStore
from nodewarden.twin.kube.termination import terminate_pod

COMPONENT = "node-controller"
EVICTION_COMPONENT = "taint-eviction-controller"
UNKNOWN_REASON, UNKNOWN_MESSAGE = "NodeStatusUnknown", "Kubelet stopped posting node status."

# Condition (status True) → NoSchedule taint, TaintNodeByCondition.
_CONDITION_TAINTS = {
    "MemoryPressure": "node.kubernetes.io/memory-pressure",
    "DiskPressure": "node.kubernetes.io/disk-pressure",
    "PIDPressure": "node.kubernetes.io/pid-pressure",
    "NetworkUnavailable": "node.kubernetes.io/network-unavailable",
}
_MANAGED = frozenset(
    {taint_rules.UNREACHABLE, taint_rules.NOT_READY, taint_rules.UNSCHEDULABLE, *_CONDITION_TAINTS.values()}
)


class NodeController:
    def __init__(self, store: KubeStore, clock: Clock, recorder: Recorder, *, grace: float) -> None:
        self._store = store
        self._clock = clock
        self._recorder = recorder
        self.grace = grace
        self._probes: dict[str, tuple[str | None, float]] = {}  # node → (renewTime seen, when we saw it change)
        self._last_ready: dict[str, str] = {}

    def monitor(self) -> None:
        now = self._clock.elapsed()
        seen: set[str] = set()
        for node in self._store.items("nodes"):
            name = node["metadata"]["name"]
            seen.add(name)
            lease = self._store.peek("leases", LEASE_NAMESPACE, name)
            renewed = lease.get("spec", {}).get("renewTime") if lease else None
            probe = self._probes.get(name)
            if probe is None or probe[0] != renewed:
                probe = (renewed, now)
                self._probes[name] = probe
            ready = condition(node, "Ready")
            status = ready.get("status", "Unknown") if ready else "Unknown"
            if now - probe[1] > self.grace and (ready is None or status != "Unknown"):
                self._mark_unknown(name)
                status = "Unknown"
            if status != "True" and self._last_ready.get(name, "True") == "True":
                self._mark_pods_not_ready(name)
            self._last_ready[name] = status
            self._sync_taints(name, status)
            self._evict_pods(name)
        for name in set(self._probes) - seen:
            del self._probes[name]
            self._last_ready.pop(name, None)

    def _mark_unknown(self, name: str) -> None:
        stamp = rfc3339(self._clock.now())

        def unknown(node: Obj) -> None:
            for kind in ("Ready", *(kind for kind, _, _ in KUBELET_CONDITIONS)):
                entry = condition(node, kind)
                if entry is None:
                    node.setdefault("status", {}).setdefault("conditions", []).append(
                        {
                            "type": kind,
                            "status": "Unknown",
                            "reason": UNKNOWN_REASON,
                            "message": UNKNOWN_MESSAGE,
                            "lastHeartbeatTime": stamp,
                            "lastTransitionTime": stamp,
                        }
                    )
                    continue
                if entry.get("status") != "Unknown":
                    entry["lastTransitionTime"] = stamp
                entry.update(status="Unknown", reason=UNKNOWN_REASON, message=UNKNOWN_MESSAGE)

        node = self._store.mutate("nodes", None, name, unknown, touches=("status",))
        if node is not None:
            self._recorder.record(node, "NodeNotReady", f"Node {name} status is now: NodeNotReady", component=COMPONENT)

    def _mark_pods_not_ready(self, name: str) -> None:
        """nodelifecycle MarkPodsNotReady: the node's pods stop counting as Ready (and as healthy for PDBs)."""
        stamp = rfc3339(self._clock.now())
        for pod in self._store.by_index("pods", "node", name, copy=False):
            metadata = pod["metadata"]
            if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                continue
            updated = self._store.mutate(
                "pods",
                metadata["namespace"],
                metadata["name"],
                lambda p: set_pod_ready(p, ready=False, now=stamp),
                touches=("status",),
            )
            if updated is not None:
                self._recorder.record(updated, "NodeNotReady", "Node is not ready", component=COMPONENT, kind=WARNING)

    def _wanted_taints(self, node: Obj, ready: str) -> list[tuple[str, str]]:
        wanted: list[tuple[str, str]] = []
        if ready in ("Unknown", "False"):
            key = taint_rules.UNREACHABLE if ready == "Unknown" else taint_rules.NOT_READY
            wanted += [(key, taint_rules.NO_SCHEDULE), (key, taint_rules.NO_EXECUTE)]
        if node.get("spec", {}).get("unschedulable"):
            wanted.append((taint_rules.UNSCHEDULABLE, taint_rules.NO_SCHEDULE))
        for kind, key in _CONDITION_TAINTS.items():
            entry = condition(node, kind)
            if entry is not None and entry.get("status") == "True":
                wanted.append((key, taint_rules.NO_SCHEDULE))
        return wanted

    def _sync_taints(self, name: str, ready: str) -> None:
        node = self._store.peek("nodes", None, name)
        if node is None:
            return
        wanted = self._wanted_taints(node, ready)
        current = node.get("spec", {}).get("taints") or []
        have = {(t.get("key"), t.get("effect")) for t in current if t.get("key") in _MANAGED}
        if have == set(wanted):
            return
        stamp = rfc3339(self._clock.now())

        def retaint(obj: Obj) -> None:
            taints = obj["spec"].get("taints") or []
            kept = [t for t in taints if t.get("key") not in _MANAGED or (t.get("key"), t.get("effect")) in wanted]
            present = {(t.get("key"), t.get("effect")) for t in kept}
            kept += [{"key": k, "effect": e, "timeAdded": stamp} for k, e in wanted if (k, e) not in present]
            if kept:
                obj["spec"]["taints"] = kept
            else:
                obj["spec"].pop("taints", None)

        self._store.mutate("nodes", None, name, retaint, touches=("spec",))

    def _evict_pods(self, name: str) -> None:
        node = self._store.peek("nodes", None, name)
        if node is None:
            return
        no_execute = [t for t in node.get("spec", {}).get("taints") or [] if t.get("effect") == taint_rules.NO_EXECUTE]
        if not no_execute:
            return
        now = self._clock.now().timestamp()
        for pod in self._store.by_index("pods", "node", name, copy=False):
            metadata = pod["metadata"]
            if metadata.get("deletionTimestamp") or pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                continue
            due = taint_rules.eviction_time(pod.get("spec", {}).get("tolerations") or [], no_execute)
            if due is None or due > now:
                continue
            self._recorder.record(
                pod,
                "TaintManagerEviction",
                f"Marking for deletion Pod {metadata['namespace']}/{metadata['name']}",
                component=EVICTION_COMPONENT,
            )
            try:
                terminate_pod(self._store, self._clock, metadata["namespace"], metadata["name"])
            except ApiError:
                continue
