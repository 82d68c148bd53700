"""The scheduler: binds Pending pods to nodes by cordon, taints, selectors, requests and zone spread.

Filters, as kube-scheduler's plugins name them: NodeUnschedulable (cordon), TaintToleration,
NodeAffinity (nodeSelector and required affinity), VolumeBinding (the node affinity of the pod's bound
PersistentVolumes; unbound claims are provisioned for the chosen node, storage.py), NodeResourcesFit
(CPU, memory, pod count against allocatable) and PodTopologySpread (DoNotSchedule constraints;
ScheduleAnyway only orders the zones). Among feasible nodes it takes the next one round-robin, which spreads pods the
way LeastAllocated scoring roughly does, at a cost that stays flat at 5,000 nodes. A pod that fits
nowhere stays Pending with PodScheduled=False and a FailedScheduling event, and is retried when the
cluster changes. No preemption.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from nodewarden.twin.clock import Clock
from nodewarden.twin.kube import selectors
from nodewarden.twin.kube import taints as taint_rules
from nodewarden.twin.kube.kubelet import Kubelets
from nodewarden.twin.kube.meta import Obj, condition, labels_of, quantity, rfc3339
from nodewarden.twin.kube.recorder import WARNING, Recorder
from nodewarden.twin.kube.storage import Storage
from nodewarden.twin.kube.store import KubeStore

COMPONENT = "default-scheduler"
ZONE = "topology.kubernetes.io/zone"
HOSTNAME = "kubernetes.io/hostname"
Key = tuple[str, str]


@dataclass
class _Node:
    name: str
    labels: dict[str, str]
    taints: list[Obj]
    unschedulable: bool
    cpu: float  # allocatable millicores
    memory: float  # allocatable bytes
    max_pods: int
    used_cpu: float = 0.0
    used_memory: float = 0.0
    pods: int = 0

    @property
    def zone(self) -> str:
        return self.labels.get(ZONE, "")


@dataclass
class _Candidates:
    by_zone: dict[str, list[_Node]]
    cursor: dict[str, int] = field(default_factory=dict)


def requests_of(pod: Obj) -> tuple[float, float]:
    """(millicores, bytes) the pod's containers request."""
    cpu = memory = 0.0
    for container in pod.get("spec", {}).get("containers") or []:
        requests = container.get("resources", {}).get("requests") or {}
        cpu += quantity(requests.get("cpu", 0)) * 1000
        memory += quantity(requests.get("memory", 0))
    return cpu, memory


def _matches_term(term: Obj, labels: dict[str, str]) -> bool:
    for expression in term.get("matchExpressions") or []:
        key, op, values = expression.get("key", ""), expression.get("operator"), expression.get("values") or []
        value = labels.get(key)
        if op == "In" and value not in values:
            return False
        if op == "NotIn" and value in values:
            return False
        if op == "Exists" and value is None:
            return False
        if op == "DoesNotExist" and value is not None:
            return False
        if op in ("Gt", "Lt"):
            try:
                number, bound = int(value or ""), int(values[0])
            except (ValueError, IndexError):
                return False
            if (op == "Gt" and not number > bound) or (op == "Lt" and not number < bound):
                return False
    return True


def matches_node_selector(selector: Obj, node_name: str, labels: dict[str, str]) -> bool:
    """A NodeSelector: its terms OR-ed, each term's expressions and fields AND-ed."""
    fields = {"metadata.name": node_name}
    return any(
        _matches_term(term, labels) and _matches_term({"matchExpressions": term.get("matchFields")}, fields)
        for term in selector.get("nodeSelectorTerms") or []
    )


def matches_node_affinity(pod: Obj, node_name: str, labels: dict[str, str]) -> bool:
    """nodeSelector and requiredDuringSchedulingIgnoredDuringExecution (terms OR-ed, expressions AND-ed)."""
    spec = pod.get("spec", {})
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = spec.get("affinity", {}).get("nodeAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    return not required or matches_node_selector(required, node_name, labels)


class Scheduler:
    def __init__(
        self, store: KubeStore, clock: Clock, recorder: Recorder, kubelets: Kubelets, storage: Storage
    ) -> None:
        self._store = store
        self._storage = storage
        self._clock = clock
        self._recorder = recorder
        self._kubelets = kubelets
        self._queue: set[Key] = set()
        self._parked: dict[Key, str] = {}  # unschedulable pod → the message it was given
        self._retry = False
        self._namespace_pods: dict[str, tuple[list[Obj], selectors.LabelIndex]] = {}  # one run's view
        self._volumes: dict[Key, list[Obj]] = {}  # one run's view: the node selectors each pod's volumes require

    def enqueue(self, namespace: str, name: str) -> None:
        self._queue.add((namespace, name))

    def cluster_changed(self) -> None:
        """Capacity or eligibility may have changed: retry the unschedulable pods on the next run."""
        self._retry = True

    @property
    def pending(self) -> bool:
        return bool(self._queue) or (self._retry and bool(self._parked))

    def run(self) -> None:
        if self._retry:
            self._queue.update(self._parked)
            self._retry = False
        if not self._queue:
            return
        keys, self._queue = self._queue, set()
        pods = []
        self._volumes = {}
        for namespace, name in keys:
            pod = self._store.peek("pods", namespace, name)
            spec = pod.get("spec", {}) if pod else {}
            if pod is None or spec.get("nodeName") or pod["metadata"].get("deletionTimestamp"):
                self._parked.pop((namespace, name), None)
                continue
            if spec.get("schedulerName", COMPONENT) != COMPONENT:
                continue
            required, problem = self._storage.requirements(pod)
            if problem is not None:
                self._park(pod, f"0/{self._store.count('nodes')} nodes are available: {problem}.")
                continue
            self._volumes[(namespace, name)] = required
            pods.append(pod)
        if not pods:
            return
        nodes = self._snapshot()
        self._namespace_pods = {}
        candidates: dict[str, _Candidates] = {}
        spread: dict[tuple[str, str, str], collections.Counter[str]] = {}
        failures: dict[tuple[str, float, float], str] = {}
        pods.sort(
            key=lambda p: (
                -int(p["spec"].get("priority", 0)),
                p["metadata"].get("creationTimestamp", ""),
                p["metadata"]["name"],
            )
        )
        zone_of = {node.name: node.zone for node in nodes}
        host_of = {node.name: node.name for node in nodes}
        for pod in pods:
            chosen = self._place(pod, nodes, candidates, spread, zone_of, host_of)
            key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
            if chosen is None:
                signature = (self._signature(pod, self._volumes[key]), *requests_of(pod))
                message = failures.get(signature)
                if message is None:
                    message = failures[signature] = self._explain(pod, nodes)
                self._park(pod, message)
                continue
            self._parked.pop(key, None)
            self._bind(pod, chosen)

    # -- the cluster as the scheduler sees it --------------------------------------------------------

    def _snapshot(self) -> list[_Node]:
        nodes: dict[str, _Node] = {}
        for node in self._store.items("nodes"):
            allocatable = node.get("status", {}).get("allocatable") or {}
            name = node["metadata"]["name"]
            nodes[name] = _Node(
                name=name,
                labels=labels_of(node),
                taints=node.get("spec", {}).get("taints") or [],
                unschedulable=bool(node.get("spec", {}).get("unschedulable")),
                cpu=quantity(allocatable.get("cpu", 0)) * 1000,
                memory=quantity(allocatable.get("memory", 0)),
                max_pods=int(quantity(allocatable.get("pods", 110))),
            )
        for pod in self._store.items("pods"):
            bound = nodes.get(pod.get("spec", {}).get("nodeName") or "")
            if bound is None or pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                continue
            cpu, memory = requests_of(pod)
            bound.used_cpu += cpu
            bound.used_memory += memory
            bound.pods += 1
        return sorted(nodes.values(), key=lambda n: n.name)

    @staticmethod
    def _signature(pod: Obj, volumes: list[Obj]) -> str:
        spec = pod.get("spec", {})
        return json.dumps(
            [spec.get("nodeSelector"), spec.get("affinity", {}).get("nodeAffinity"), spec.get("tolerations"), volumes],
            sort_keys=True,
        )

    def _static_fit(self, pod: Obj, node: _Node, volumes: list[Obj]) -> str | None:
        """Why `node` can never take `pod` whatever its load, or None."""
        tolerations = pod.get("spec", {}).get("tolerations") or []
        if node.unschedulable and not any(
            taint_rules.tolerates(t, {"key": taint_rules.UNSCHEDULABLE, "effect": taint_rules.NO_SCHEDULE})
            for t in tolerations
        ):
            return "node(s) were unschedulable"
        if not matches_node_affinity(pod, node.name, node.labels):
            return "node(s) didn't match Pod's node affinity/selector"
        if not all(matches_node_selector(selector, node.name, node.labels) for selector in volumes):
            return "node(s) had volume node affinity conflict"
        taint = taint_rules.untolerated(tolerations, node.taints, (taint_rules.NO_SCHEDULE, taint_rules.NO_EXECUTE))
        if taint is not None:
            return f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"
        return None

    @staticmethod
    def _load_fit(node: _Node, cpu: float, memory: float) -> str | None:
        if node.pods + 1 > node.max_pods:
            return "Too many pods"
        if node.used_cpu + cpu > node.cpu:
            return "Insufficient cpu"
        if node.used_memory + memory > node.memory:
            return "Insufficient memory"
        return None

    def _candidates(self, pod: Obj, nodes: list[_Node], cache: dict[str, _Candidates]) -> _Candidates:
        volumes = self._volumes_of(pod)
        signature = self._signature(pod, volumes)
        found = cache.get(signature)
        if found is None:
            by_zone: dict[str, list[_Node]] = {}
            for node in nodes:
                if self._static_fit(pod, node, volumes) is None:
                    by_zone.setdefault(node.zone, []).append(node)
            found = cache[signature] = _Candidates(by_zone)
        return found

    # -- placing one pod -----------------------------------------------------------------------------

    def _spread_counts(
        self,
        pod: Obj,
        constraint: Obj,
        topology: dict[str, str],
        cache: dict[tuple[str, str, str], collections.Counter[str]],
    ) -> collections.Counter[str]:
        namespace = pod["metadata"]["namespace"]
        key = (
            namespace,
            constraint.get("topologyKey", ""),
            json.dumps(constraint.get("labelSelector"), sort_keys=True),
        )
        counts = cache.get(key)
        if counts is None:
            selector = selectors.from_label_selector(constraint.get("labelSelector"))
            if namespace not in self._namespace_pods:
                pods = self._store.items("pods", namespace)
                self._namespace_pods[namespace] = (pods, selectors.label_index(pods))
            pods, index = self._namespace_pods[namespace]
            counts = collections.Counter()
            for other in selectors.select(selector, pods, index):
                node_name = other.get("spec", {}).get("nodeName")
                if node_name and not other["metadata"].get("deletionTimestamp"):
                    counts[topology.get(node_name, "")] += 1
            cache[key] = counts
        return counts

    def _place(
        self,
        pod: Obj,
        nodes: list[_Node],
        cache: dict[str, _Candidates],
        spread: dict[tuple[str, str, str], collections.Counter[str]],
        zone_of: dict[str, str],
        host_of: dict[str, str],
    ) -> _Node | None:
        candidates = self._candidates(pod, nodes, cache)
        cpu, memory = requests_of(pod)
        zones = sorted(candidates.by_zone)
        zone_counts: list[collections.Counter[str]] = []
        host_limits: list[tuple[collections.Counter[str], int, int]] = []  # (counts, maxSkew or -1, floor)
        for constraint in pod.get("spec", {}).get("topologySpreadConstraints") or []:
            topology_key = constraint.get("topologyKey")
            hard = constraint.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule"
            skew = int(constraint.get("maxSkew", 1))
            if topology_key == ZONE:
                counts = self._spread_counts(pod, constraint, zone_of, spread)
                zone_counts.append(counts)
                zones.sort(key=lambda z, counts=counts: counts[z])  # type: ignore[misc]
                if hard and zones:
                    floor = min(counts[z] for z in zones)
                    zones = [z for z in zones if counts[z] + 1 - floor <= skew]
            elif topology_key == HOSTNAME:
                counts = self._spread_counts(pod, constraint, host_of, spread)
                floor = 0
                if hard:
                    floor = min((counts[n.name] for group in candidates.by_zone.values() for n in group), default=0)
                host_limits.append((counts, skew if hard else -1, floor))
        for zone in zones:
            members = candidates.by_zone[zone]
            start = candidates.cursor.get(zone, 0)
            for offset in range(len(members)):
                index = (start + offset) % len(members)
                node = members[index]
                if self._load_fit(node, cpu, memory) is not None:
                    continue
                if any(limit >= 0 and counts[node.name] + 1 - floor > limit for counts, limit, floor in host_limits):
                    continue
                candidates.cursor[zone] = index + 1
                node.used_cpu += cpu
                node.used_memory += memory
                node.pods += 1
                # Only this pod's own constraints learn about it within the run: cheap, and exact for one workload.
                for counts in zone_counts:
                    counts[node.zone] += 1
                for counts, _, _ in host_limits:
                    counts[node.name] += 1
                return node
        return None

    def _volumes_of(self, pod: Obj) -> list[Obj]:
        return self._volumes.get((pod["metadata"]["namespace"], pod["metadata"]["name"]), [])

    def _explain(self, pod: Obj, nodes: Iterable[_Node]) -> str:
        cpu, memory = requests_of(pod)
        volumes = self._volumes_of(pod)
        reasons: collections.Counter[str] = collections.Counter()
        total = 0
        for node in nodes:
            total += 1
            reason = self._static_fit(pod, node, volumes) or self._load_fit(node, cpu, memory)
            reasons[reason or "node(s) didn't match pod topology spread constraints"] += 1
        detail = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items(), key=lambda item: item[0]))
        if not total:
            return "no nodes available to schedule pods"
        return f"0/{total} nodes are available: {detail}. preemption: not implemented in the twin."

    # -- writing the decision ------------------------------------------------------------------------

    def _bind(self, pod: Obj, node: _Node) -> None:
        metadata = pod["metadata"]
        now = rfc3339(self._clock.now())
        self._storage.provision(pod, node.name)  # VolumeBinding PreBind: claims bind before the pod does

        def bind(obj: Obj) -> None:
            if obj["spec"].get("nodeName"):
                return
            obj["spec"]["nodeName"] = node.name
            status = obj.setdefault("status", {})
            status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
            status["conditions"].append(
                {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
            )
            self._kubelets.run_pod(obj, node.name)

        bound = self._store.mutate("pods", metadata["namespace"], metadata["name"], bind, touches=("spec", "status"))
        if bound is not None:
            self._recorder.record(
                bound,
                "Scheduled",
                f"Successfully assigned {metadata['namespace']}/{metadata['name']} to {node.name}",
                component=COMPONENT,
            )

    def _park(self, pod: Obj, message: str) -> None:
        metadata = pod["metadata"]
        key = (metadata["namespace"], metadata["name"])
        if self._parked.get(key) == message:
            return
        self._parked[key] = message
        now = rfc3339(self._clock.now())

        def unschedulable(obj: Obj) -> None:
            entry = condition(obj, "PodScheduled")
            if entry is None:
                obj.setdefault("status", {}).setdefault("conditions", []).append(
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "lastProbeTime": None,
                        "lastTransitionTime": now,
                        "reason": "Unschedulable",
                        "message": message,
                    }
                )
            else:
                entry.update(status="False", reason="Unschedulable", message=message)

        updated = self._store.mutate(
            "pods", metadata["namespace"], metadata["name"], unschedulable, touches=("status",)
        )
        if updated is not None:
            self._recorder.record(updated, "FailedScheduling", message, component=COMPONENT, kind=WARNING)
