"""Kubelets: register Nodes, renew their Leases, run the pods bound to them, confirm pod deletions.

One timer renews every live kubelet's Lease (`kube-node-lease/<node>`, every 10 s, as Kubernetes'
"Node heartbeats" docs say); there is never a thread or a timer per node. A kubelet is live when its
VM is up and it is not hung; a silent kubelet renews nothing, starts nothing and confirms no
deletions, so the pods on its node stay as the node controller leaves them.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from nodewarden.twin.clock import Clock
from nodewarden.twin.kube.errors import ApiError
from nodewarden.twin.kube.meta import Obj, condition, micro, parse_time, rfc3339, set_condition
from nodewarden.twin.kube.recorder import Recorder
from nodewarden.twin.kube.store import KubeStore
from nodewarden.twin.machines import MachineSpec

LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION = 40  # seconds; kubelet --node-lease-duration-seconds default
COMPONENT = "kubelet"
DISK_ZONE = "topology.disk.csi.azure.com/zone"  # the Azure Disk CSI node plugin's topology label on AKS nodes

# The kubelet's own conditions, healthy: (type, reason, message). The node controller sets them
# Unknown when the kubelet goes silent (nodelifecycle `nodeConditionTypes`).
KUBELET_CONDITIONS = (
    ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
)
READY = ("KubeletReady", "kubelet is posting ready status")
NOT_READY = (
    "KubeletNotReady",
    "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
    "message:Network plugin returns error: cni plugin not initialized",
)
# node-problem-detector's conditions on AKS nodes, healthy: (type, reason, message).
NPD_CONDITIONS = (
    ("KernelDeadlock", "KernelHasNoDeadlock", "kernel has no deadlock"),
    ("ReadonlyFilesystem", "FilesystemIsNotReadOnly", "Filesystem is not read-only"),
)
SURVIVES_REBOOT = frozenset({"DiskPressure"})  # a full disk is still full after a reboot; a reimage clears it


@dataclass
class Kubelet:
    spec: MachineSpec
    healthy: bool
    ip: str
    up: bool = True  # the VM runs the kubelet process
    hung: bool = False  # the VM is up but the kubelet is stuck
    last_report: float = 0.0
    problems: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # type → (status, reason, message)

    @property
    def live(self) -> bool:
        return self.up and not self.hung


def _cpu(millis: int) -> str:
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def _reserved_cpu_millis(millis: int) -> int:
    """AKS/GKE kube-reserved CPU: 6% of the first core, 1% of the next, 0.5% of the next two, 0.25% above."""
    cores = millis / 1000
    steps = ((1, 0.06), (1, 0.01), (2, 0.005), (float("inf"), 0.0025))
    reserved, left = 0.0, cores
    for size, share in steps:
        take = min(left, size)
        reserved += take * share
        left -= take
        if left <= 0:
            break
    return int(reserved * 1000)


def _taint(text: str, now: str) -> Obj:
    key_value, _, effect = text.partition(":")
    key, _, value = key_value.partition("=")
    taint: Obj = {"key": key, "effect": effect or "NoSchedule"}
    if value:
        taint["value"] = value
    if taint["effect"] == "NoExecute":
        taint["timeAdded"] = now
    return taint


class Kubelets:
    def __init__(self, store: KubeStore, clock: Clock, recorder: Recorder, *, seed: int = 0) -> None:
        self._store = store
        self._clock = clock
        self._recorder = recorder
        self._random = random.Random(seed)
        self._kubelets: dict[str, Kubelet] = {}
        self._ips = itertools.count(4)
        self._pod_ips = itertools.count(1)
        self._terminating: list[tuple[float, int, str, str, str]] = []  # (due, seq, namespace, name, uid)
        self._sequence = itertools.count()
        self.status_report_interval = 300.0  # kubelet nodeStatusReportFrequency
        # Whether a pod's volumes are attached and mountable on a node (storage.py sets it): until then it waits.
        self.volumes_ready: Callable[[Obj, str], bool] = lambda pod, node_name: True

    # -- lifecycle -------------------------------------------------------------------------------

    def names(self) -> list[str]:
        return list(self._kubelets)

    def get(self, name: str) -> Kubelet | None:
        return self._kubelets.get(name)

    def is_live(self, name: str) -> bool:
        kubelet = self._kubelets.get(name)
        return kubelet is not None and kubelet.live

    def is_ready(self, name: str) -> bool:
        kubelet = self._kubelets.get(name)
        return kubelet is not None and kubelet.live and kubelet.healthy

    def boot(self, spec: MachineSpec, *, healthy: bool, fresh_disk: bool) -> None:
        """The instance booted: (re)register the Node, renew the Lease, run and clean up the node's pods."""
        name = spec.node_name
        previous = self._kubelets.get(name)
        ip = previous.ip if previous else self._next_ip()
        kubelet = Kubelet(spec, healthy, ip, last_report=self._clock.elapsed())
        if previous is not None and not fresh_disk:
            kubelet.problems = {k: v for k, v in previous.problems.items() if k in SURVIVES_REBOOT}
        self._kubelets[name] = kubelet
        node = self._register(kubelet)
        self._renew(kubelet)
        self._recorder.record(node, "Starting", "Starting kubelet.", component=COMPONENT, host=name)
        if healthy:
            self._recorder.record(
                node, "NodeReady", f"Node {name} status is now: NodeReady", component=COMPONENT, host=name
            )
        else:
            self._recorder.record(
                node, "NodeNotReady", f"Node {name} status is now: NodeNotReady", component=COMPONENT, host=name
            )
        self.resync_pods(name)

    def down(self, name: str) -> None:
        kubelet = self._kubelets.get(name)
        if kubelet is not None:
            kubelet.up = False

    def hang(self, name: str) -> None:
        kubelet = self._kubelets.get(name)
        if kubelet is not None:
            kubelet.hung = True

    def recover(self, name: str) -> None:
        """The hung kubelet comes back: it posts status, renews its Lease and resyncs its pods."""
        kubelet = self._kubelets.get(name)
        if kubelet is None or not kubelet.hung:
            return
        kubelet.hung = False
        if kubelet.up:
            self._post_status(kubelet)
            self._renew(kubelet)
            self.resync_pods(name)

    def forget(self, name: str) -> None:
        self._kubelets.pop(name, None)

    def set_problem(self, name: str, kind: str, status: str, reason: str, message: str) -> None:
        """A condition as node-problem-detector (or the kubelet's eviction manager) reports it."""
        kubelet = self._kubelets.get(name)
        if kubelet is not None:
            kubelet.problems[kind] = (status, reason, message)
        now = rfc3339(self._clock.now())

        def report(node: Obj) -> None:
            set_condition(node, kind, status, reason, message, now=now, heartbeat=True)

        self._store.mutate("nodes", None, name, report, touches=("status",))

    # -- the timer -------------------------------------------------------------------------------

    def tick(self) -> None:
        """Every live kubelet renews its Lease; one that has not reported for 5 minutes posts status."""
        now = self._clock.elapsed()
        for kubelet in self._kubelets.values():
            if not kubelet.live:
                continue
            if self._store.peek("nodes", None, kubelet.spec.node_name) is None:
                self._register(kubelet)  # someone deleted the Node: a live kubelet registers it again
            self._renew(kubelet)
            if now - kubelet.last_report >= self.status_report_interval:
                self._post_status(kubelet)

    def _renew(self, kubelet: Kubelet) -> None:
        name = kubelet.spec.node_name
        renewed = micro(self._clock.now())

        def renew(lease: Obj) -> None:
            lease["spec"]["renewTime"] = renewed
            lease["spec"]["holderIdentity"] = name

        if self._store.mutate("leases", LEASE_NAMESPACE, name, renew, touches=("spec",)) is not None:
            return
        node = self._store.peek("nodes", None, name)
        if node is None:
            return
        lease = {
            "metadata": {
                "name": name,
                "namespace": LEASE_NAMESPACE,
                "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name, "uid": node["metadata"]["uid"]}],
            },
            "spec": {"holderIdentity": name, "leaseDurationSeconds": LEASE_DURATION, "renewTime": renewed},
        }
        with contextlib.suppress(ApiError):  # someone created it meanwhile: renewed next tick
            self._store.create("leases", lease, copy=False)

    # -- the Node object -------------------------------------------------------------------------

    def _next_ip(self) -> str:
        n = next(self._ips)
        return f"10.224.{n // 250}.{n % 250 + 1}"

    def _labels(self, spec: MachineSpec) -> dict[str, str]:
        # The labels AKS puts on its nodes (AKS docs, "Use labels", reserved labels).
        node_rg = (
            spec.provider_id.split("/resourceGroups/")[-1].split("/")[0]
            if "/resourceGroups/" in spec.provider_id
            else ""
        )
        labels = {
            "agentpool": spec.pool,
            "kubernetes.azure.com/agentpool": spec.pool,
            "kubernetes.azure.com/mode": spec.mode.lower(),
            "kubernetes.azure.com/role": "agent",
            "kubernetes.azure.com/cluster": node_rg,
            "kubernetes.azure.com/node-image-version": spec.image_version,
            "kubernetes.azure.com/os-sku": spec.os_sku,
            "node.kubernetes.io/instance-type": spec.vm_size,
            "beta.kubernetes.io/instance-type": spec.vm_size,
            "topology.kubernetes.io/region": spec.region,
            "topology.kubernetes.io/zone": spec.zone,
            DISK_ZONE: spec.zone,
            "failure-domain.beta.kubernetes.io/region": spec.region,
            "failure-domain.beta.kubernetes.io/zone": spec.zone,
            "kubernetes.io/hostname": spec.node_name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/arch": "amd64",
        }
        if spec.spot:
            labels["kubernetes.azure.com/scalesetpriority"] = "spot"
        labels.update(spec.labels)
        return labels

    def _status(self, kubelet: Kubelet, previous: Obj | None) -> Obj:
        spec = kubelet.spec
        reserved_mib = 20 * spec.max_pods + 50 + 100  # AKS: 20 MB per pod + 50 MB, plus the 100Mi eviction threshold
        capacity = {
            "cpu": _cpu(spec.cpu_millis),
            "memory": f"{spec.memory_mib * 1024}Ki",
            "pods": str(spec.max_pods),
            "ephemeral-storage": "129886128Ki",
            "hugepages-1Gi": "0",
            "hugepages-2Mi": "0",
        }
        allocatable = {
            **capacity,
            "cpu": f"{spec.cpu_millis - _reserved_cpu_millis(spec.cpu_millis)}m",
            "memory": f"{max(0, spec.memory_mib - reserved_mib) * 1024}Ki",
            "ephemeral-storage": "119703055367",
        }
        version = spec.kubelet_version if spec.kubelet_version.startswith("v") else f"v{spec.kubelet_version}"
        status = dict(previous or {})
        status.update(
            capacity=capacity,
            allocatable=allocatable,
            addresses=[{"type": "InternalIP", "address": kubelet.ip}, {"type": "Hostname", "address": spec.node_name}],
            daemonEndpoints={"kubeletEndpoint": {"Port": 10250}},
            nodeInfo={
                "machineID": f"{self._random.getrandbits(128):032x}",
                "systemUUID": f"{self._random.getrandbits(128):032x}",
                "bootID": f"{self._random.getrandbits(128):032x}",  # new on every boot: how a restart shows
                "kernelVersion": "5.15.0-1089-azure",
                "osImage": "Ubuntu 22.04.5 LTS",
                "containerRuntimeVersion": "containerd://1.7.28-1",
                "kubeletVersion": version,
                "kubeProxyVersion": version,
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        )
        return status

    def _register(self, kubelet: Kubelet) -> Obj:
        spec = kubelet.spec
        now = rfc3339(self._clock.now())
        existing = self._store.peek("nodes", None, spec.node_name)
        if existing is None:
            taints = [_taint(text, now) for text in spec.taints]
            spot_taint = "kubernetes.azure.com/scalesetpriority"
            if spec.spot and not any(t["key"] == spot_taint for t in taints):
                taints.append({"key": spot_taint, "value": "spot", "effect": "NoSchedule"})
            node: Obj = {
                "metadata": {
                    "name": spec.node_name,
                    "labels": self._labels(spec),
                    "annotations": {
                        "node.alpha.kubernetes.io/ttl": "0",
                        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                    },
                },
                "spec": {"providerID": spec.provider_id, **({"taints": taints} if taints else {})},
                "status": self._status(kubelet, None),
            }
            self._apply_conditions(node, kubelet, now)
            return self._store.create("nodes", node, copy=False)

        def reregister(node: Obj) -> None:
            node["metadata"].setdefault("labels", {}).update(self._labels(spec))
            node["spec"]["providerID"] = spec.provider_id
            node["status"] = self._status(kubelet, node.get("status"))
            self._apply_conditions(node, kubelet, now)

        updated = self._store.mutate("nodes", None, spec.node_name, reregister)
        assert updated is not None
        return updated

    def _apply_conditions(self, node: Obj, kubelet: Kubelet, now: str) -> None:
        for kind, reason, message in (*KUBELET_CONDITIONS, *NPD_CONDITIONS):
            status, reason, message = kubelet.problems.get(kind, ("False", reason, message))
            set_condition(node, kind, status, reason, message, now=now, heartbeat=True)
        reason, message = READY if kubelet.healthy else NOT_READY
        set_condition(node, "Ready", "True" if kubelet.healthy else "False", reason, message, now=now, heartbeat=True)
        conditions = node["status"]["conditions"]
        order = {kind: i for i, (kind, _, _) in enumerate((*KUBELET_CONDITIONS, ("Ready", "", "")))}
        conditions.sort(key=lambda entry: order.get(entry["type"], -1))

    def _post_status(self, kubelet: Kubelet) -> None:
        kubelet.last_report = self._clock.elapsed()
        now = rfc3339(self._clock.now())
        self._store.mutate(
            "nodes",
            None,
            kubelet.spec.node_name,
            lambda node: self._apply_conditions(node, kubelet, now),
            touches=("status",),
        )

    # -- pods --------------------------------------------------------------------------------------

    def run_pod(self, pod: Obj, node_name: str) -> bool:
        """Start `pod` (in place) on its node if the kubelet there can: Running and Ready at once.

        A pod whose volumes are not attached yet stays Pending, its containers waiting in ContainerCreating.
        """
        kubelet = self._kubelets.get(node_name)
        if kubelet is None or not kubelet.live or not kubelet.healthy:
            return False
        now = rfc3339(self._clock.now())
        if not self.volumes_ready(pod, node_name):
            _container_creating(pod, kubelet.ip, now)
            return False
        n = next(self._pod_ips)
        pod_ip = f"10.244.{(n // 250) % 256}.{n % 250 + 1}"
        status = pod.setdefault("status", {})
        status.update(
            phase="Running",
            hostIP=kubelet.ip,
            hostIPs=[{"ip": kubelet.ip}],
            podIP=pod_ip,
            podIPs=[{"ip": pod_ip}],
            startTime=now,
        )
        for kind in ("PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready", "PodScheduled"):
            _pod_condition(pod, kind, "True", now)
        status["containerStatuses"] = [
            {
                "name": container.get("name", "main"),
                "image": container.get("image", ""),
                "imageID": "",
                "containerID": f"containerd://{self._random.getrandbits(256):064x}",
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": now}},
                "lastState": {},
            }
            for container in pod.get("spec", {}).get("containers") or []
        ]
        return True

    def resync_pods(self, node_name: str) -> None:
        """After a (re)boot or a recovery: start the node's pending pods, mark running ones Ready, finish deletions."""
        if not self.is_live(node_name):
            return
        for pod in self._store.by_index("pods", "node", node_name, copy=False):
            metadata = pod["metadata"]
            if metadata.get("deletionTimestamp"):
                self._confirm_deletion(metadata["namespace"], metadata["name"], metadata["uid"])
                continue
            phase = pod.get("status", {}).get("phase")
            if phase == "Pending":
                self._store.mutate(
                    "pods",
                    metadata["namespace"],
                    metadata["name"],
                    lambda p: self._start(p, node_name),
                    touches=("status",),
                )
            elif phase == "Running":
                ready, now = self.is_ready(node_name), rfc3339(self._clock.now())
                self._store.mutate(
                    "pods",
                    metadata["namespace"],
                    metadata["name"],
                    lambda p, ready=ready, now=now: set_pod_ready(p, ready=ready, now=now),  # type: ignore[misc]
                    touches=("status",),
                )

    def start_pod(self, namespace: str, name: str, node_name: str) -> None:
        """A pending pod is bound to this kubelet's node: start it, if the kubelet can."""
        if self.is_ready(node_name):
            self._store.mutate("pods", namespace, name, lambda p: self._start(p, node_name), touches=("status",))

    def _start(self, pod: Obj, node_name: str) -> None:
        self.run_pod(pod, node_name)

    def note_terminating(self, pod: Obj) -> None:
        """A bound pod got a deletionTimestamp: stop its containers, confirm the deletion when grace is over."""
        metadata = pod["metadata"]
        node_name = pod.get("spec", {}).get("nodeName", "")
        due = self._clock.elapsed() + max(
            0.0, (parse_time(metadata["deletionTimestamp"]) - self._clock.now()).total_seconds()
        )
        heapq.heappush(
            self._terminating, (due, next(self._sequence), metadata["namespace"], metadata["name"], metadata["uid"])
        )
        if self.is_live(node_name):
            for container in pod.get("spec", {}).get("containers") or []:
                self._recorder.record(
                    pod,
                    "Killing",
                    f"Stopping container {container.get('name', 'main')}",
                    component=COMPONENT,
                    host=node_name,
                )

    def confirm_due(self) -> None:
        """Delete the terminating pods whose grace period is over, where their kubelet is there to confirm."""
        now = self._clock.elapsed()
        while self._terminating and self._terminating[0][0] <= now:
            _, _, namespace, name, uid = heapq.heappop(self._terminating)
            pod = self._store.peek("pods", namespace, name)
            if pod is None or pod["metadata"]["uid"] != uid:
                continue
            if self.is_live(pod.get("spec", {}).get("nodeName", "")):
                self._confirm_deletion(namespace, name, uid)
            # else: stays Terminating until the kubelet returns (resync_pods) or the Node is deleted.

    def _confirm_deletion(self, namespace: str, name: str, uid: str) -> None:
        pod = self._store.peek("pods", namespace, name)
        if pod is None or pod["metadata"]["uid"] != uid:
            return
        due = parse_time(pod["metadata"]["deletionTimestamp"])
        if due > self._clock.now():
            heapq.heappush(
                self._terminating,
                (
                    self._clock.elapsed() + (due - self._clock.now()).total_seconds(),
                    next(self._sequence),
                    namespace,
                    name,
                    uid,
                ),
            )
            return
        with contextlib.suppress(ApiError):  # already gone
            self._store.delete("pods", namespace, name, uid=uid)


def _container_creating(pod: Obj, host_ip: str, now: str) -> None:
    """The kubelet took the pod but waits for its volumes: Pending, containers waiting (ContainerCreating)."""
    status = pod.setdefault("status", {})
    if status.get("hostIP") == host_ip and status.get("containerStatuses"):
        return  # already waiting on this node
    status.update(phase="Pending", hostIP=host_ip, hostIPs=[{"ip": host_ip}], startTime=now)
    _pod_condition(pod, "PodReadyToStartContainers", "False", now)
    _pod_condition(pod, "Initialized", "True", now)
    set_pod_ready(pod, ready=False, now=now, reason="ContainersNotReady")
    status["containerStatuses"] = [
        {
            "name": container.get("name", "main"),
            "image": container.get("image", ""),
            "imageID": "",
            "ready": False,
            "started": False,
            "restartCount": 0,
            "state": {"waiting": {"reason": "ContainerCreating"}},
            "lastState": {},
        }
        for container in pod.get("spec", {}).get("containers") or []
    ]


def _pod_condition(pod: Obj, kind: str, status: str, now: str) -> None:
    conditions = pod.setdefault("status", {}).setdefault("conditions", [])
    for entry in conditions:
        if entry.get("type") == kind:
            if entry.get("status") != status:
                entry["status"] = status
                entry["lastTransitionTime"] = now
            return
    conditions.append({"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": now})


def set_pod_ready(pod: Obj, *, ready: bool, now: str, reason: str | None = None) -> None:
    """Ready and ContainersReady (and each container's `ready`) to `ready`, in place."""
    value = "True" if ready else "False"
    for kind in ("ContainersReady", "Ready"):
        _pod_condition(pod, kind, value, now)
        entry = condition(pod, kind)
        if entry is not None:
            if reason and not ready:
                entry["reason"] = reason
            elif ready:
                entry.pop("reason", None)
    for container in pod.get("status", {}).get("containerStatuses") or []:
        container["ready"] = ready
