"""KubeWorld: the Kubernetes side of the twin's physics, driven by the virtual clock.

It wires the simulated control plane around the store: kubelets (kubelet.py), the node lifecycle
controller (nodecontroller.py), the scheduler (scheduler.py), workload controllers and garbage
collection (controllers.py), volume provisioning and attachment (storage.py), the pod GC of
out-of-service nodes (podgc.py), the disruption controller (disruption.py) and the event recorder
(recorder.py). Clock timers drive everything — lease renewal (10 s), node monitoring (5 s), the
pod GC (20 s) and a reconcile pass (1 s) that reacts to whatever changed in the store since the last pass,
whoever changed it (an API client or the physics itself). The Azure side calls `node_booted`,
`node_down` and friends; nothing here reaches into Azure state.
"""

from __future__ import annotations

import collections
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from nodewarden.twin.clock import Clock, TimerHandle
from nodewarden.twin.kube import taints as taint_rules
from nodewarden.twin.kube.controllers import Controllers, owner_uid
from nodewarden.twin.kube.convert import from_wire
from nodewarden.twin.kube.disruption import DisruptionController
from nodewarden.twin.kube.errors import ApiError
from nodewarden.twin.kube.kubelet import LEASE_NAMESPACE, Kubelets
from nodewarden.twin.kube.meta import Obj, clone, controller_of, labels_of
from nodewarden.twin.kube.nodecontroller import NodeController
from nodewarden.twin.kube.podgc import PERIOD as PODGC_PERIOD
from nodewarden.twin.kube.podgc import PodGarbageCollector
from nodewarden.twin.kube.recorder import Recorder
from nodewarden.twin.kube.resources import ResourceType
from nodewarden.twin.kube.scheduler import Scheduler
from nodewarden.twin.kube.storage import Storage
from nodewarden.twin.kube.store import KubeStore
from nodewarden.twin.machines import MachineSpec

Change = tuple[str, str, Obj, "Obj | None"]
_WATCHED = frozenset(
    {"pods", "nodes", "deployments", "replicasets", "statefulsets", "daemonsets", "poddisruptionbudgets"}
)
_OWNER_KINDS = {
    "ReplicaSet": "replicasets",
    "StatefulSet": "statefulsets",
    "DaemonSet": "daemonsets",
    "Deployment": "deployments",
}
_NPD_COMPONENTS = {"MemoryPressure": "kubelet", "DiskPressure": "kubelet", "PIDPressure": "kubelet"}
MAX_ROUNDS = 50


def _generation(obj: Obj | None) -> Any:
    return None if obj is None else obj["metadata"].get("generation")


class KubeWorld:
    """The simulated control plane and kubelets. Thread-safe: one lock serialises the physics."""

    def __init__(
        self,
        store: KubeStore,
        clock: Clock,
        *,
        grace: float = 50.0,
        eviction_timeout: float = 300.0,
        lease_interval: float = 10.0,
        monitor_interval: float = 5.0,
        reconcile_interval: float = 1.0,
        event_ttl: float = 3600.0,
        record_events: bool = True,
        seed: int = 0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.eviction_timeout = eviction_timeout
        self._lock = threading.RLock()
        self.recorder = Recorder(store, clock, ttl=event_ttl, enabled=record_events)
        self.kubelets = Kubelets(store, clock, self.recorder, seed=seed)
        self.node_controller = NodeController(store, clock, self.recorder, grace=grace)
        self.storage = Storage(store, clock, self.recorder, self.kubelets)
        self.scheduler = Scheduler(store, clock, self.recorder, self.kubelets, self.storage)
        self.pod_gc = PodGarbageCollector(store)
        self.controllers = Controllers(store, clock, self.recorder)
        self.disruption = DisruptionController(store, clock)
        self._changes: collections.deque[Change] = collections.deque()
        self._dirty: dict[str, set[tuple[str, str]]] = {kind: set() for kind in _OWNER_KINDS.values()}
        self._all_daemonsets = False
        self._budget_namespaces: set[str] = set()
        self._budgets_recheck: set[tuple[str, str]] = set()
        store.add_index(
            "pods", "node", lambda pod: [pod["spec"]["nodeName"]] if pod.get("spec", {}).get("nodeName") else []
        )
        store.add_index("pods", "owner", owner_uid)
        store.add_index("replicasets", "owner", owner_uid)
        store.add_admission(self._default_tolerations)
        store.add_listener(self._observe)
        for resource in sorted(_WATCHED):
            for obj in store.items(resource):
                self._changes.append((resource, "ADDED", obj, None))
        self._timers: list[TimerHandle] = [
            clock.call_every(lease_interval, self._locked(self.kubelets.tick)),
            clock.call_every(monitor_interval, self._locked(self.node_controller.monitor)),
            clock.call_every(reconcile_interval, self.reconcile),
            clock.call_every(60.0, self._locked(self.recorder.expire)),
            clock.call_every(PODGC_PERIOD, self._locked(self.pod_gc.collect)),
        ]

    def _locked(self, fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            with self._lock:
                fn()

        return run

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()

    # -- what the Azure side (and the fault catalogue) calls ---------------------------------------

    def node_booted(self, spec: MachineSpec, *, healthy: bool = True, fresh_disk: bool = False) -> None:
        """An instance finished booting: its kubelet registers (or updates) the Node and starts heartbeating.

        `healthy=False` is a bad node image: the kubelet runs but reports Ready=False (KubeletNotReady).
        `fresh_disk=True` (reimage, redeploy, a new instance) clears conditions that survive a reboot.
        """
        with self._lock:
            self.kubelets.boot(spec, healthy=healthy, fresh_disk=fresh_disk)

    def node_down(self, name: str) -> None:
        """The instance stopped, crashed or is rebooting: its kubelet goes silent."""
        with self._lock:
            self.kubelets.down(name)

    def kubelet_hang(self, name: str) -> None:
        """The VM stays up but the kubelet stops renewing its Lease and posting status."""
        with self._lock:
            self.kubelets.hang(name)

    def recover(self, name: str) -> None:
        """A hung kubelet comes back."""
        with self._lock:
            self.kubelets.recover(name)

    def node_deleted(self, name: str) -> None:
        """The instance is gone (scale-in, deleteMachines): the cloud node controller deletes the Node."""
        with self._lock:
            self.kubelets.forget(name)
            with contextlib.suppress(ApiError):
                self.store.delete("nodes", None, name)

    def set_condition(self, name: str, type: str, status: str, reason: str, message: str) -> None:
        """A node condition as node-problem-detector (or the kubelet, for *Pressure) reports it."""
        with self._lock:
            self.kubelets.set_problem(name, type, status, reason, message)
            node = self.store.peek("nodes", None, name)
            if node is not None and status == "True":
                component = _NPD_COMPONENTS.get(type, "kernel-monitor")
                self.recorder.record(node, reason, message, component=component, kind="Warning", host=name)

    def drop_watches(self) -> None:
        """The `watch-drop` fault: every open watch stream ends; clients re-watch from their last RV."""
        self.store.close_watches()

    def error_rate(self, rate: float) -> None:
        """The `kube-errors` fault: this share of API calls answers 500 or 503 (0 switches it off)."""
        self.store.faults.set_error_rate(rate)

    def kubelet_live(self, name: str) -> bool:
        with self._lock:
            return self.kubelets.is_live(name)

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """Record no Events inside (loading a scenario)."""
        with self._lock, self.recorder.quiet():
            yield

    # -- manifests ---------------------------------------------------------------------------------

    def apply(self, obj: Obj) -> Obj:
        """Create an object from a manifest (or update the existing one's spec and labels), as `kubectl apply`."""
        rtype = self._resource_for(obj)
        body = clone(from_wire(rtype, obj, self.store.resources.storage_type(rtype.key)))  # not the caller's dicts
        namespace = body.get("metadata", {}).get("namespace") if rtype.namespaced else None
        with self._lock:
            try:
                return self.store.create(rtype.key, body, namespace=namespace)
            except ApiError as error:
                if error.reason != "AlreadyExists":
                    raise
            name = body["metadata"]["name"]

            def update(current: Obj) -> None:
                for field, value in body.items():
                    if field not in ("metadata", "status", "kind", "apiVersion"):
                        current[field] = value
                for field in ("labels", "annotations"):
                    if field in body["metadata"]:
                        current["metadata"][field] = body["metadata"][field]

            result = self.store.mutate(rtype.key, namespace, name, update)
            assert result is not None
            return dict(result)

    def _resource_for(self, obj: Obj) -> ResourceType:
        api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
        row = self.store.resources.by_kind(api_version, kind)
        if row is None:
            raise ValueError(f"the twin does not serve {kind or '<no kind>'} in {api_version or '<no apiVersion>'}")
        return row

    # -- the reconcile pass --------------------------------------------------------------------------

    def settle(self) -> None:
        """Run the controllers until nothing is left to do (the loader calls this after applying manifests).

        The cluster already existed: the disks its pods use are attached already, and the pods run.
        """
        self.reconcile()
        with self._lock:
            self.storage.settle()
        self.reconcile()

    def reconcile(self) -> None:
        with self._lock:
            self.storage.sync()
            for _ in range(MAX_ROUNDS):
                self.kubelets.confirm_due()
                self._classify()
                if not self._has_work():
                    break
                self._sync_workloads()
                self.scheduler.run()
                self._sync_budgets()
            self._recheck_budgets()

    def _has_work(self) -> bool:
        return (
            any(self._dirty.values()) or self._all_daemonsets or bool(self._budget_namespaces) or self.scheduler.pending
        )

    def _observe(self, resource: str, kind: str, obj: Obj, old: Obj | None) -> None:
        """Store listener (under the store lock): only queue; the pass does the work."""
        if resource in _WATCHED:
            self._changes.append((resource, kind, obj, old))

    def _classify(self) -> None:
        while self._changes:
            resource, kind, obj, old = self._changes.popleft()
            metadata = obj["metadata"]
            key = (metadata.get("namespace", ""), metadata["name"])
            if resource == "pods":
                self._pod_changed(kind, obj, old, key)
            elif resource == "nodes":
                self._node_changed(kind, obj, old)
            elif resource == "poddisruptionbudgets":
                self._budget_namespaces.add(key[0])
            else:
                if kind == "DELETED":
                    self.controllers.collect(obj)
                elif kind == "ADDED" or _generation(obj) != _generation(old):
                    self._dirty[resource].add(key)
                    self._budget_namespaces.add(key[0])  # a scale change moves expectedPods
                owner = controller_of(obj)
                if owner is not None and owner.get("kind") in _OWNER_KINDS:
                    self._dirty[_OWNER_KINDS[owner["kind"]]].add((key[0], owner.get("name", "")))

    def _pod_changed(self, kind: str, obj: Obj, old: Obj | None, key: tuple[str, str]) -> None:
        self._budget_namespaces.add(key[0])
        for version in (obj, old):
            owner = controller_of(version) if version is not None else None
            if owner is not None and owner.get("kind") in _OWNER_KINDS:
                self._dirty[_OWNER_KINDS[owner["kind"]]].add((key[0], owner.get("name", "")))
        if kind == "DELETED":
            self.scheduler.cluster_changed()
            return
        spec = obj.get("spec", {})
        deleting = obj["metadata"].get("deletionTimestamp")
        if not spec.get("nodeName") and not deleting:
            self.scheduler.enqueue(*key)
        elif not deleting and obj.get("status", {}).get("phase") == "Pending":
            self.kubelets.start_pod(key[0], key[1], spec["nodeName"])  # created bound (a DaemonSet pod)
        if deleting and spec.get("nodeName") and not (old and old["metadata"].get("deletionTimestamp")):
            self.kubelets.note_terminating(obj)

    def _node_changed(self, kind: str, obj: Obj, old: Obj | None) -> None:
        name = obj["metadata"]["name"]
        if kind == "DELETED":
            self._collect_node(name)
        if old is None or kind == "DELETED" or labels_of(obj) != labels_of(old) or obj.get("spec") != old.get("spec"):
            self._all_daemonsets = True
            self.scheduler.cluster_changed()

    def _collect_node(self, name: str) -> None:
        """The Node is gone: the pod GC force-deletes its pods, the GC its Lease."""
        for pod in self.store.by_index("pods", "node", name, copy=False):
            with contextlib.suppress(ApiError):
                self.store.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
        with contextlib.suppress(ApiError):
            self.store.delete("leases", LEASE_NAMESPACE, name)

    def _sync_workloads(self) -> None:
        if self._all_daemonsets:
            self._all_daemonsets = False
            for daemon_set in self.store.items("daemonsets"):
                self._dirty["daemonsets"].add((daemon_set["metadata"]["namespace"], daemon_set["metadata"]["name"]))
        syncs = (
            ("deployments", self.controllers.sync_deployment),
            ("replicasets", self.controllers.sync_replicaset),
            ("statefulsets", self.controllers.sync_statefulset),
            ("daemonsets", self.controllers.sync_daemonset),
        )
        for resource, sync in syncs:
            keys, self._dirty[resource] = self._dirty[resource], set()
            for namespace, name in sorted(keys):
                sync(namespace, name)

    def _sync_budgets(self) -> None:
        namespaces, self._budget_namespaces = self._budget_namespaces, set()
        for namespace in sorted(namespaces):
            self._budgets_recheck.update(self.disruption.sync_namespace(namespace))

    def _recheck_budgets(self) -> None:
        """Budgets remembering evicted pods forget them after 2 minutes, with or without other changes."""
        keys, self._budgets_recheck = self._budgets_recheck, set()
        for key in sorted(keys):
            if self.disruption.sync(*key):
                self._budgets_recheck.add(key)

    # -- admission -----------------------------------------------------------------------------------

    def _default_tolerations(self, resource: str, obj: Obj) -> None:
        """DefaultTolerationSeconds: pods tolerate not-ready and unreachable for `eviction_timeout` seconds."""
        if resource != "pods":
            return
        tolerations = obj.setdefault("spec", {}).setdefault("tolerations", [])
        for key in (taint_rules.NOT_READY, taint_rules.UNREACHABLE):
            taint = {"key": key, "effect": taint_rules.NO_EXECUTE}
            if not any(taint_rules.tolerates(t, taint) for t in tolerations):
                tolerations.append(
                    {
                        "key": key,
                        "operator": "Exists",
                        "effect": "NoExecute",
                        "tolerationSeconds": int(self.eviction_timeout),
                    }
                )
