"""Steady state: what a healthy cluster means to a drill, measured from the Kubernetes view alone.

A drill checks it before injecting its fault and after undoing it, and `timeToRestore` waits for its
workloads part. Only nodes, pods, workloads and PodDisruptionBudgets are read (never twin internals),
so the same checks judge a real cluster. Pure: a snapshot in, results out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from nodewarden.drill.spec import SteadyState
from nodewarden.heal import durations
from nodewarden.model import selectors, wording
from nodewarden.model.drill import CheckPhase, CheckResult
from nodewarden.model.kube import LabelSelector, Pod
from nodewarden.model.snapshot import Snapshot

# DaemonSets follow their nodes: a lost node takes its daemon pod along, which is not short capacity.
COUNTED_KINDS = frozenset({"Deployment", "StatefulSet"})
SYSTEM_NAMESPACE = "kube-system"  # not counted unless named: drills judge the cluster's own workloads


def is_counted(namespace: str, namespaces: Sequence[str]) -> bool:
    """Whose workloads count: the namespaces named, or every namespace but kube-system when none are."""
    return namespace in namespaces if namespaces else namespace != SYSTEM_NAMESPACE


def ready_nodes(snapshot: Snapshot) -> int:
    """How many of the cluster's nodes are Ready."""
    return sum(1 for node in snapshot.nodes if node.ready)


def ready_node_share(snapshot: Snapshot) -> float:
    """The share of the cluster's nodes that are Ready (1.0 for no nodes)."""
    if not snapshot.nodes:
        return 1.0
    return ready_nodes(snapshot) / len(snapshot.nodes)


class _ReadyPods:
    """Ready pods by namespace and by label pair, so each selector reads a few pods, not all 50,000."""

    def __init__(self, pods: Iterable[Pod]) -> None:
        self.by_namespace: dict[str, list[Pod]] = {}
        self.by_label: dict[tuple[str, str, str], list[Pod]] = {}
        for pod in pods:
            if not pod.ready:
                continue
            self.by_namespace.setdefault(pod.namespace, []).append(pod)
            for key, value in pod.metadata.label_map.items():
                self.by_label.setdefault((pod.namespace, key, value), []).append(pod)

    def count(self, namespace: str, selector: LabelSelector | None) -> int:
        """Ready pods in `namespace` the selector matches."""
        if selector is None:
            return 0
        candidates = self.by_namespace.get(namespace, [])
        for key, value in (selector.match_labels or {}).items():
            narrower = self.by_label.get((namespace, key, value), [])
            if len(narrower) < len(candidates):
                candidates = narrower
        return sum(1 for pod in candidates if selectors.matches(selector, pod.metadata.label_map))


def workload_replicas(snapshot: Snapshot, namespaces: Sequence[str]) -> dict[str, tuple[int, int]]:
    """For each counted Deployment and StatefulSet with replicas: "Kind/namespace/name" → (Ready pods its
    selector matches, declared replicas)."""
    ready = _ReadyPods(snapshot.pods)
    counts: dict[str, tuple[int, int]] = {}
    for workload in snapshot.workloads:
        if workload.kind not in COUNTED_KINDS or workload.replicas <= 0:
            continue
        if not is_counted(workload.namespace, namespaces):
            continue
        key = f"{workload.kind}/{workload.namespace}/{workload.metadata.name}"
        counts[key] = (ready.count(workload.namespace, workload.spec.selector), workload.replicas)
    return counts


def required_ready(share: float, replicas: int) -> int:
    """Ready pods a workload needs: ceil(share × replicas), rounded first so 0.7 × 10 needs 7, not 8."""
    return math.ceil(round(share * replicas, 9))


def short_workloads(snapshot: Snapshot, steady: SteadyState) -> dict[str, tuple[int, int]]:
    """The counted workloads below their share: key → (ready, replicas)."""
    counts = workload_replicas(snapshot, steady.namespaces)
    share = steady.min_replica_share
    return {key: (ready, wanted) for key, (ready, wanted) in counts.items() if ready < required_ready(share, wanted)}


def capacity_whole(snapshot: Snapshot, steady: SteadyState) -> bool:
    """Every counted workload has at least its share of replicas Ready."""
    return not short_workloads(snapshot, steady)


def violated_budgets(snapshot: Snapshot) -> list[str]:
    """Each budget below its desired healthy count, as "ns/name (2 healthy, 3 desired)"; no status: not judged."""
    found = []
    for budget in snapshot.pdbs:
        status = budget.status
        if status is None or status.current_healthy is None or status.desired_healthy is None:
            continue
        if status.current_healthy < status.desired_healthy:
            name = f"{budget.namespace}/{budget.metadata.name}"
            found.append(f"{name} ({status.current_healthy} healthy, {status.desired_healthy} desired)")
    return found


def steady_state(snapshot: Snapshot, steady: SteadyState, phase: CheckPhase) -> tuple[CheckResult, ...]:
    """One result per enabled check: all nodes Ready, workloads at their replica share, no PDB violated."""
    checks = []
    if steady.all_nodes_ready:
        checks.append(_nodes_check(snapshot, phase))
    if steady.min_replica_share > 0:
        checks.append(_workloads_check(snapshot, steady, phase))
    if steady.no_pdb_violated:
        checks.append(_budgets_check(snapshot, phase))
    return tuple(checks)


def _nodes_check(snapshot: Snapshot, phase: CheckPhase) -> CheckResult:
    not_ready = sorted(node.metadata.name for node in snapshot.nodes if not node.ready)
    total = len(snapshot.nodes)
    summary = f"{total - len(not_ready)} of {total} Ready"
    return _result(phase, "all nodes Ready", "every node Ready", summary, "; NotReady: ", not_ready)


def _workloads_check(snapshot: Snapshot, steady: SteadyState, phase: CheckPhase) -> CheckResult:
    share = durations.format_share(steady.min_replica_share)
    total = len(workload_replicas(snapshot, steady.namespaces))
    short = [f"{key} {ready}/{wanted}" for key, (ready, wanted) in sorted(short_workloads(snapshot, steady).items())]
    summary = f"{len(short)} of {total} short" if short else f"{total} of {total} at share"
    name, target = f"workloads at >= {share} of replicas", f">= {share} of replicas Ready"
    return _result(phase, name, target, summary, ": ", short)


def _budgets_check(snapshot: Snapshot, phase: CheckPhase) -> CheckResult:
    violated = violated_budgets(snapshot)
    summary = f"{len(violated)} of {len(snapshot.pdbs)} violated"
    return _result(phase, "no PDB violated", "every budget at its desired healthy count", summary, ": ", violated)


def _result(phase: CheckPhase, name: str, target: str, summary: str, lead: str, failing: list[str]) -> CheckResult:
    """A check that passes when nothing is failing; the measured text names the first few that are."""
    measured = f"{summary}{lead}{wording.short_list(failing)}" if failing else summary
    return CheckResult(
        phase=phase, name=name, passed=not failing, target=target, measured=measured, value=float(len(failing))
    )
