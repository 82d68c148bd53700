"""WL rules: workload availability (replicas, PDBs, probes, spread, images, storage, endpoints).

Workloads are the Deployments and StatefulSets outside the system namespaces (`relations.app_workloads`).
A workload's replica floor is its HPA's minReplicas when an HPA scales it, else `spec.replicas` (unset = 1);
"multi-replica" means a floor of at least two, for every rule here. When node pools fail, these are the
settings that decide whether an app rides out the drain, repair or zone loss or goes down with it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from nodewarden.audit import relations
from nodewarden.audit.catalog import NotEvaluated, Rule, RuleContext, Violation, rule
from nodewarden.model import aks, kube, selectors
from nodewarden.model.findings import Category, Profile, Severity, Target
from nodewarden.model.inputs import Input
from nodewarden.model.kube import (
    Container,
    Endpoint,
    PersistentVolumeClaim,
    PodDisruptionBudget,
    PodSpec,
    StorageClass,
    Workload,
)
from nodewarden.model.snapshot import Snapshot

HOSTNAME_KEY = "kubernetes.io/hostname"
WHEN_UNSATISFIABLE = frozenset({"DoNotSchedule", "ScheduleAnyway"})
# Probe fields that tune timing; what is left is the check itself (httpGet, tcpSocket, exec, grpc).
PROBE_TIMING = frozenset(
    {
        "initialDelaySeconds",
        "periodSeconds",
        "timeoutSeconds",
        "successThreshold",
        "failureThreshold",
        "terminationGracePeriodSeconds",
    }
)
IN_TREE_PROVISIONERS = frozenset({"kubernetes.io/azure-disk", "kubernetes.io/azure-file"})
AZURE_DISK_CSI = "disk.csi.azure.com"
# The Azure Disk CSI driver's skuName when a StorageClass gives none.
DEFAULT_DISK_SKU = "StandardSSD_LRS"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
BEST_PRACTICES = "https://learn.microsoft.com/azure/aks/best-practices-app-cluster-reliability"
CONFIGURE_PDB = "https://kubernetes.io/docs/tasks/run-application/configure-pdb/"
PROBES_DOC = "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/"


# --- shared helpers -------------------------------------------------------------------------------


def _target(workload: Workload) -> Target:
    return kube.target_of(workload.kind, workload.metadata)


def _named(workload: Workload) -> str:
    return f"{workload.kind} {workload.namespace}/{workload.metadata.name}"


def _pdb_named(pdb: PodDisruptionBudget) -> str:
    return f"PDB {pdb.namespace}/{pdb.metadata.name}"


def _is_multi_replica(workload: Workload, snap: Snapshot) -> bool:
    return relations.replica_floor(workload, snap) >= 2


def _is_zonal(snap: Snapshot) -> bool:
    """Some node pool spans at least two availability zones."""
    return any(len(pool.zones) >= 2 for pool in snap.pools)


def _app_pdbs(snap: Snapshot, ctx: RuleContext) -> Iterator[PodDisruptionBudget]:
    return (p for p in snap.pdbs if not relations.is_system_namespace(p.namespace, ctx.params))


def _workloads_of(pdb: PodDisruptionBudget, snap: Snapshot, ctx: RuleContext) -> list[Workload]:
    """App workloads in the PDB's namespace whose pod template labels its selector matches."""
    return [
        w
        for w in relations.app_workloads(snap, ctx.params)
        if w.namespace == pdb.namespace and selectors.matches(pdb.spec.selector, w.pod_labels)
    ]


@dataclass(frozen=True, slots=True)
class _Budget:
    """A PDB or rollout IntOrString: `amount` pods, or `amount` percent when `percent`."""

    amount: int
    percent: bool
    raw: int | str

    def of(self, total: int) -> int:
        """Pods this budget means out of `total`; percentages round up, as the disruption controller does."""
        return math.ceil(self.amount * total / 100) if self.percent else self.amount


def _budget(value: int | str | None) -> _Budget | None:
    if value is None:
        return None
    if isinstance(value, int):
        return _Budget(value, False, value)
    text = value.strip()
    try:
        if text.endswith("%"):
            return _Budget(int(text[:-1]), True, value)
        return _Budget(int(text), False, value)
    except ValueError:
        return None  # the API server rejects such values; nothing to reason about


# --- WL001 ------------------------------------------------------------------------------------------


@rule(
    id="WL001",
    title="Workloads run at least two replicas",
    category=Category.WL,
    severity=Severity.HIGH,
    rationale="A single replica is an outage every time its node is drained, repaired, reimaged or lost; "
    "AKS upgrades and VMSS instance failures do all of those.",
    fix="kubectl scale deployment <name> -n <ns> --replicas=2 (or set spec.replicas: 2 in the manifest); "
    'with an HPA: kubectl patch hpa <name> -n <ns> -p \'{"spec":{"minReplicas":2}}\'',
    needs=(Input.WORKLOADS,),
    references=(
        "Polaris deploymentMissingReplicas",
        "kube-score deployment-replicas",
        "APRL bcfe71f1",
        "APRL 9200aca6",
        BEST_PRACTICES,
    ),
    params=("min_replicas", "system_namespaces"),
)
def workloads_run_replicas(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    want = ctx.params.min_replicas
    violations: list[Violation] = []
    unconfirmed: list[str] = []
    for workload in relations.app_workloads(snap, ctx.params):
        hpa = relations.hpa_for(workload, snap)
        if hpa is not None:
            floor = hpa.floor
            observed = f"its HPA {hpa.metadata.name} has minReplicas {floor}"
        else:
            floor = workload.replicas
            observed = "spec.replicas is unset (1)" if workload.spec.replicas is None else f"spec.replicas is {floor}"
        if floor == 0:
            continue  # scaled to zero on purpose: nothing runs, so nothing is lost in a drain
        if floor < want:
            violations.append(
                Violation(_target(workload), f"{_named(workload)}: {observed}; want at least {want} replicas")
            )
        elif hpa is None and not snap.has(Input.HPAS):
            unconfirmed.append(_named(workload))
    if not violations and unconfirmed:
        # A live spec.replicas is the HPA's current count, not its floor: without the HPAs a pass is a guess.
        raise NotEvaluated(
            f"{len(unconfirmed)} workload(s) run {want}+ replicas now, but without HPAs their floor "
            f"(minReplicas) is unknown; export {Input.HPAS.command}"
        )
    yield from violations


# --- WL002 ------------------------------------------------------------------------------------------


@rule(
    id="WL002",
    title="PodDisruptionBudget covers multi-replica workloads",
    category=Category.WL,
    severity=Severity.HIGH,
    rationale="Without a PDB a node drain (AKS upgrade, node-image update, autoscaler scale-down) may evict "
    "every replica at once.",
    fix="kubectl create poddisruptionbudget <name> -n <ns> --selector=app=<app> --max-unavailable=1",
    needs=(Input.WORKLOADS, Input.PDBS),
    references=(
        "Polaris missingPodDisruptionBudget",
        "kube-score deployment-has-poddisruptionbudget",
        "kube-score statefulset-has-poddisruptionbudget",
        "Popeye 206",
        "APRL a08a06a0",
        "checklist 02.02.04",
        CONFIGURE_PDB,
    ),
    params=("system_namespaces",),
)
def pdb_covers_workloads(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    for workload in relations.app_workloads(snap, ctx.params):
        floor = relations.replica_floor(workload, snap)
        if floor < 2:
            continue  # single-replica workloads are WL001's business
        if not relations.pdbs_for(workload, snap):
            labels = ", ".join(f"{k}={v}" for k, v in sorted(workload.pod_labels.items())) or "none"
            yield Violation(
                _target(workload),
                f"{_named(workload)} runs at least {floor} replicas but no PodDisruptionBudget in "
                f"{workload.namespace} selects its pod labels ({labels}); want one",
            )


# --- WL003 ------------------------------------------------------------------------------------------


@rule(
    id="WL003",
    title="PodDisruptionBudgets allow at least one disruption",
    category=Category.WL,
    severity=Severity.HIGH,
    rationale="A PDB that allows no eviction blocks node drains, so AKS upgrades, node-image updates and "
    "scale-downs stall or fail on that node.",
    fix='kubectl patch pdb <name> -n <ns> --type merge -p \'{"spec":{"minAvailable":null,"maxUnavailable":1}}\'',
    needs=(Input.PDBS, Input.WORKLOADS),
    references=(
        "Polaris pdbDisruptionsIsZero",
        "Popeye 901",
        "kube-score #376",
        "https://kubernetes.io/docs/concepts/workloads/pods/disruptions/",
        "https://learn.microsoft.com/azure/aks/upgrade-cluster",
    ),
    params=("system_namespaces",),
)
def pdb_allows_disruptions(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    for pdb in _app_pdbs(snap, ctx):
        problem = _blocking_spec(pdb, snap, ctx) or _blocking_status(pdb)
        if problem:
            yield Violation(kube.target_of("PodDisruptionBudget", pdb.metadata), f"{_pdb_named(pdb)}: {problem}")


def _blocking_spec(pdb: PodDisruptionBudget, snap: Snapshot, ctx: RuleContext) -> str | None:
    """Why the PDB's spec can never allow an eviction at the workloads' replica floor, or None."""
    max_unavailable = _budget(pdb.spec.max_unavailable)
    if max_unavailable is not None and max_unavailable.amount == 0:
        return f"maxUnavailable {max_unavailable.raw} allows no eviction; want at least 1"
    min_available = _budget(pdb.spec.min_available)
    if min_available is None:
        return None
    if min_available.percent and min_available.amount >= 100:
        return f"minAvailable {min_available.raw} allows no eviction; want maxUnavailable 1 instead"
    workloads = _workloads_of(pdb, snap, ctx)
    floor = sum(relations.replica_floor(w, snap) for w in workloads)
    if floor == 0:
        return None  # selects no (running) workload: WL004's business
    required = min_available.of(floor)
    if required >= floor:
        names = ", ".join(_named(w) for w in workloads)
        wanted = f"minAvailable below {floor} or maxUnavailable 1" if floor > 1 else "maxUnavailable 1 and 2+ replicas"
        return (
            f"minAvailable {min_available.raw} keeps {required} of the {floor} pod(s) its workloads run at "
            f"their replica floor ({names}), so none can be evicted; want {wanted}"
        )
    return None


def _blocking_status(pdb: PodDisruptionBudget) -> str | None:
    """disruptionsAllowed 0 while every expected pod is healthy: the budget itself blocks drains.

    Zero while pods are missing or unready is the PDB doing its job for a degraded app (a transient that
    detectors report), so only a fully healthy set of pods counts here.
    """
    status = pdb.status
    if status is None or status.disruptions_allowed != 0:
        return None
    expected = status.expected_pods or 0
    healthy = status.current_healthy or 0
    if expected > 0 and healthy >= expected:
        return (
            f"status.disruptionsAllowed is 0 with all {expected} expected pod(s) healthy; "
            "drains of their nodes will stall"
        )
    return None


# --- WL004 ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Member:
    """A pod (from the pod export) or a pod template (from a workload) a PDB may select."""

    namespace: str
    labels: Mapping[str, str]
    described: str


def _pdb_members(snap: Snapshot, ctx: RuleContext) -> list[_Member]:
    """Live pods when the pod export is given (they include Jobs and bare pods); else workload templates."""
    if snap.has(Input.PODS):
        return [
            _Member(p.namespace, p.metadata.label_map, f"pod {p.namespace}/{p.metadata.name}")
            for p in snap.pods
            if not relations.is_system_namespace(p.namespace, ctx.params)
        ]
    if snap.has(Input.WORKLOADS):
        templates = [*relations.app_workloads(snap, ctx.params)]
        templates += [d for d in snap.daemonsets if not relations.is_system_namespace(d.namespace, ctx.params)]
        return [_Member(w.namespace, w.pod_labels, _named(w)) for w in templates]
    raise NotEvaluated(
        f"cannot tell which pods the PDBs select; export {Input.PODS.command} (or at least {Input.WORKLOADS.command})"
    )


@rule(
    id="WL004",
    title="PodDisruptionBudgets are valid and consistent",
    category=Category.WL,
    severity=Severity.MEDIUM,
    rationale="A PDB without a policy or selecting no pod protects nothing; pods under two PDBs cannot be "
    "evicted at all (the eviction API answers 500), which stalls drains.",
    fix="Give each PDB exactly one of minAvailable/maxUnavailable and a selector that matches one workload's "
    "pods: kubectl edit pdb <name> -n <ns>",
    needs=(Input.PDBS,),
    references=(
        "kube-score poddisruptionbudget-has-policy",
        "Popeye 900",
        "Popeye 209",
        "Polaris pdbMinAvailableGreaterThanHPAMinReplicas",
        CONFIGURE_PDB,
        "https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/",
    ),
    params=("system_namespaces",),
)
def pdbs_are_consistent(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    pdbs = list(_app_pdbs(snap, ctx))
    if not pdbs:
        return
    members: dict[str, list[_Member]] = defaultdict(list)
    for member in _pdb_members(snap, ctx):
        members[member.namespace].append(member)
    selected: dict[str, list[_Member]] = {}
    owners: dict[str, list[PodDisruptionBudget]] = defaultdict(list)
    for pdb in pdbs:
        chosen = [m for m in members.get(pdb.namespace, ()) if selectors.matches(pdb.spec.selector, m.labels)]
        selected[_pdb_named(pdb)] = chosen
        for member in chosen:
            owners[member.described].append(pdb)
    for pdb in pdbs:
        problems = []
        spec = pdb.spec
        if spec.min_available is not None and spec.max_unavailable is not None:
            problems.append("sets both minAvailable and maxUnavailable; want exactly one")
        elif spec.min_available is None and spec.max_unavailable is None:
            problems.append("sets neither minAvailable nor maxUnavailable, so it protects nothing; want one")
        if not selected[_pdb_named(pdb)]:
            problems.append("its selector matches no pod")
        # Other PDB -> one pod both select (reversed, so the first such pod is the one kept).
        shared = {
            other.metadata.name: member.described
            for member in reversed(selected[_pdb_named(pdb)])
            for other in owners[member.described]
            if other is not pdb
        }
        if shared:
            listed = ", ".join(f"{name} (both select {member})" for name, member in sorted(shared.items()))
            problems.append(f"overlaps PDB {listed}; evicting a pod under two PDBs fails with 500")
        problems += _hpa_conflicts(pdb, snap, ctx)
        if problems:
            yield Violation(
                kube.target_of("PodDisruptionBudget", pdb.metadata), f"{_pdb_named(pdb)}: {'; '.join(problems)}"
            )


def _hpa_conflicts(pdb: PodDisruptionBudget, snap: Snapshot, ctx: RuleContext) -> list[str]:
    """An integer minAvailable above the minReplicas of an HPA scaling a selected workload."""
    min_available = _budget(pdb.spec.min_available)
    if min_available is None or min_available.percent:
        return []
    problems = []
    for workload in _workloads_of(pdb, snap, ctx):
        hpa = relations.hpa_for(workload, snap)
        if hpa is not None and min_available.amount > hpa.floor:
            problems.append(
                f"minAvailable {min_available.amount} exceeds minReplicas {hpa.floor} of HPA {hpa.metadata.name} "
                f"scaling {_named(workload)}"
            )
    return problems


# --- WL005, WL006 -----------------------------------------------------------------------------------


@rule(
    id="WL005",
    title="Containers have readiness probes",
    category=Category.WL,
    severity=Severity.HIGH,
    rationale="Without a readiness probe a pod rescheduled after a node failure gets traffic before it can "
    "serve it, and a failing rollout is not held back.",
    fix="Add to each container: readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 5}",
    needs=(Input.WORKLOADS,),
    references=(
        "Polaris readinessProbeMissing",
        "kube-score pod-probes",
        "Popeye 104",
        "CKV_K8S_9",
        "APRL cd6791b1",
        "checklist 07.05.04",
        PROBES_DOC,
    ),
    params=("system_namespaces",),
)
def containers_have_readiness(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    for workload in relations.app_workloads(snap, ctx.params):
        missing = [c.name for c in workload.pod_spec.containers if not c.readiness_probe]
        if missing:
            yield Violation(
                _target(workload),
                f"{_named(workload)}: container(s) {', '.join(missing)} have no readinessProbe; want one each",
            )


def _probe_check(probe: Mapping[str, Any]) -> dict[str, Any]:
    """The probe's check without its timing: two probes with the same check probe the same thing."""
    return {key: value for key, value in probe.items() if key not in PROBE_TIMING}


def _liveness_problem(container: Container) -> str | None:
    if not container.liveness_probe:
        return f"{container.name} has no livenessProbe"
    if container.readiness_probe and _probe_check(container.liveness_probe) == _probe_check(container.readiness_probe):
        return f"{container.name}'s livenessProbe checks the same thing as its readinessProbe"
    return None


@rule(
    id="WL006",
    title="Containers have a liveness probe distinct from readiness",
    category=Category.WL,
    severity=Severity.MEDIUM,
    rationale="Without liveness a hung pod is never restarted; a liveness probe identical to readiness restarts "
    "pods that are merely busy, turning load during a node loss into a restart storm.",
    fix="Add a cheap livenessProbe on its own endpoint (e.g. httpGet /healthz with failureThreshold 3), "
    "distinct from readinessProbe; add a startupProbe for slow starters",
    needs=(Input.WORKLOADS,),
    references=(
        "Polaris livenessProbeMissing",
        "kube-score pod-probes-identical",
        "https://github.com/zegl/kube-score/blob/master/README_PROBES.md",
        "Popeye 103",
        "CKV_K8S_8",
        PROBES_DOC,
    ),
    params=("system_namespaces",),
)
def containers_have_liveness(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    for workload in relations.app_workloads(snap, ctx.params):
        problems = [p for c in workload.pod_spec.containers if (p := _liveness_problem(c))]
        if problems:
            yield Violation(_target(workload), f"{_named(workload)}: {'; '.join(problems)}")


# --- WL007, WL008 -----------------------------------------------------------------------------------


def _spread_problems(constraint: kube.TopologySpreadConstraint, labels: Mapping[str, str]) -> list[str]:
    problems = []
    if constraint.label_selector is None:
        problems.append("has no labelSelector")
    elif not selectors.matches(constraint.label_selector, labels):
        problems.append("labelSelector does not select the workload's own pods")
    if constraint.max_skew is None or constraint.max_skew < 1:
        problems.append(f"maxSkew {constraint.max_skew} is not above 0")
    if constraint.min_domains is not None and constraint.min_domains < 1:
        problems.append(f"minDomains {constraint.min_domains} is not above 0")
    if constraint.when_unsatisfiable not in WHEN_UNSATISFIABLE:
        problems.append(f"whenUnsatisfiable {constraint.when_unsatisfiable!r} is not DoNotSchedule or ScheduleAnyway")
    return problems


def _spread_gap(workload: Workload, topology_key: str) -> str | None:
    """Why the workload is not spread over `topology_key`, or None when a valid constraint or term spreads it."""
    spec, labels = workload.pod_spec, workload.pod_labels
    if any(
        t.topology_key == topology_key and selectors.matches(t.label_selector, labels) for t in spec.anti_affinity_terms
    ):
        return None
    invalid = []
    for constraint in spec.spread_constraints:
        if constraint.topology_key != topology_key:
            continue
        problems = _spread_problems(constraint, labels)
        if not problems:
            return None
        invalid.append(", ".join(problems))
    if invalid:
        return f"has an invalid topologySpreadConstraint on {topology_key} ({'; '.join(invalid)})"
    return f"has no topologySpreadConstraint or podAntiAffinity on {topology_key} selecting its own pods"


@rule(
    id="WL007",
    title="Multi-replica workloads spread across zones",
    category=Category.WL,
    severity=Severity.HIGH,
    rationale="On a zonal cluster the scheduler may still put every replica in one zone; a zone outage then "
    "takes the whole app down although the node pools survive.",
    fix="Add to the pod spec: topologySpreadConstraints: [{maxSkew: 1, topologyKey: topology.kubernetes.io/zone, "
    "whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: <app>}}}]",
    needs=(Input.WORKLOADS, Input.NODEPOOLS),
    references=(
        "Polaris topologySpreadConstraint",
        "kube-score pod-topology-spread-constraints",
        "APRL 928fcc6f",
        "Deployment Safeguards",
        "https://kubernetes.io/docs/concepts/scheduling-eviction/topology-spread-constraints/",
        "https://learn.microsoft.com/azure/aks/availability-zones",
    ),
    params=("system_namespaces",),
)
def workloads_spread_zones(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    if not _is_zonal(snap):
        return  # no pool spans two zones: there is nothing to spread over
    for workload in relations.app_workloads(snap, ctx.params):
        if not _is_multi_replica(workload, snap):
            continue
        gap = _spread_gap(workload, aks.ZONE_LABEL)
        if gap:
            yield Violation(_target(workload), f"{_named(workload)} {gap}; the cluster has zonal pools")


@rule(
    id="WL008",
    title="Multi-replica workloads spread across nodes",
    category=Category.WL,
    severity=Severity.MEDIUM,
    rationale="Replicas packed on one node all go down when that VMSS instance is drained, repaired or lost.",
    fix="Add preferredDuringSchedulingIgnoredDuringExecution podAntiAffinity with topologyKey "
    "kubernetes.io/hostname and a labelSelector matching the pods, or a topologySpreadConstraint on it",
    needs=(Input.WORKLOADS,),
    references=(
        "kube-score deployment-has-host-podantiaffinity",
        "kube-score statefulset-has-host-podantiaffinity",
        "Deployment Safeguards",
        "https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#inter-pod-affinity-and-anti-affinity",
    ),
    params=("system_namespaces",),
)
def workloads_spread_nodes(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    for workload in relations.app_workloads(snap, ctx.params):
        if not _is_multi_replica(workload, snap):
            continue
        gap = _spread_gap(workload, HOSTNAME_KEY)
        if gap:
            yield Violation(_target(workload), f"{_named(workload)} {gap}")


# --- WL009, WL010 -----------------------------------------------------------------------------------


def image_tag(image: str) -> str | None:
    """The tag of an image reference, or None; a digest counts as pinned and returns it.

    `myreg:5000/app` has a registry port, not a tag: only the last path segment can carry one.
    """
    if "@" in image:
        return image.split("@", 1)[1]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


@rule(
    id="WL009",
    title="Container images use pinned tags",
    category=Category.WL,
    severity=Severity.MEDIUM,
    rationale="A node that replaces a failed one pulls `latest` afresh and may run a different build than its "
    "peers, so a repair silently becomes a rollout.",
    fix="Use a version tag or digest: image: myacr.azurecr.io/app:1.4.2 (or app@sha256:<digest>)",
    needs=(Input.WORKLOADS,),
    references=(
        "Polaris tagNotSpecified",
        "kube-score container-image-tag",
        "Popeye 100",
        "Popeye 101",
        "CKV_K8S_14",
        "Deployment Safeguards",
        "https://kubernetes.io/docs/concepts/containers/images/",
    ),
    params=("system_namespaces",),
)
def images_are_pinned(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    for workload in relations.app_workloads(snap, ctx.params):
        spec = workload.pod_spec
        loose = [
            f"{c.name} ({c.image})"
            for c in (*(spec.init_containers or ()), *spec.containers)
            if c.image and image_tag(c.image) in (None, "latest")
        ]
        if loose:
            yield Violation(
                _target(workload),
                f"{_named(workload)}: image(s) without a tag or with :latest: {', '.join(loose)}; "
                "want a version tag or digest",
            )


@rule(
    id="WL010",
    title="Pods are managed by a controller",
    category=Category.WL,
    severity=Severity.MEDIUM,
    rationale="A bare pod is not recreated when its node is drained, repaired or reimaged; it is simply gone.",
    fix="Run it from a Deployment (kubectl create deployment <name> --image=<image>) or a Job, then delete the pod",
    needs=(Input.PODS,),
    references=("Popeye 208", "https://kubernetes.io/docs/concepts/workloads/pods/#working-with-pods"),
    params=("system_namespaces",),
)
def pods_are_managed(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    for pod in snap.pods:
        if pod.is_mirror or relations.is_system_namespace(pod.namespace, ctx.params):
            continue  # static pods belong to the kubelet, which recreates them
        if not pod.metadata.owner_references:
            yield Violation(
                kube.target_of("Pod", pod.metadata),
                f"pod {pod.namespace}/{pod.metadata.name} has no ownerReferences; no controller recreates it",
            )


# --- WL011 ------------------------------------------------------------------------------------------


def _default_class(snap: Snapshot) -> str | None:
    for sc in snap.storage_classes:
        if sc.metadata.annotation_map.get(DEFAULT_CLASS_ANNOTATION, "").lower() == "true":
            return sc.metadata.name
    return None


def _class_of(name: str | None, default: str | None) -> str | None:
    """storageClassName unset means the default class; "" means none (static binding)."""
    return default if name is None else (name or None)


def _claims_by_class(snap: Snapshot) -> dict[str, list[PersistentVolumeClaim]]:
    default = _default_class(snap)
    used: dict[str, list[PersistentVolumeClaim]] = defaultdict(list)
    for pvc in snap.pvcs:
        name = _class_of(pvc.spec.storage_class_name, default)
        if name:
            used[name].append(pvc)
    return used


def _users_of(sc: StorageClass, snap: Snapshot) -> list[Workload]:
    """Workloads whose volumes come from this class: via PVCs they mount or StatefulSet claim templates."""
    default = _default_class(snap)
    claims = {
        (p.metadata.namespace or "default", p.metadata.name)
        for p in snap.pvcs
        if _class_of(p.spec.storage_class_name, default) == sc.metadata.name
    }
    users = []
    for workload in snap.workloads:
        mounted = {
            (workload.namespace, v.persistent_volume_claim.claim_name)
            for v in workload.pod_spec.volumes or ()
            if v.persistent_volume_claim
        }
        templated = {
            _class_of((t.spec or {}).get("storageClassName"), default)
            for t in workload.spec.volume_claim_templates or ()
        }
        if mounted & claims or sc.metadata.name in templated:
            users.append(workload)
    return users


def _pinned_zones(spec: PodSpec) -> set[str]:
    """Zones the pod is restricted to by nodeSelector or required node affinity (empty: not pinned)."""
    selected = (spec.node_selector or {}).get(aks.ZONE_LABEL)
    if selected:
        return {selected}
    required = (spec.affinity.node_affinity or {}) if spec.affinity else {}
    terms = (required.get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
    zones: set[str] = set()
    for term in terms:
        term_zones = [
            set(e.get("values") or ())
            for e in term.get("matchExpressions") or ()
            if e.get("key") == aks.ZONE_LABEL and e.get("operator") == "In"
        ]
        if not term_zones:
            return set()  # one term lets the pod land in any zone
        zones |= set.intersection(*term_zones)
    return zones


def _pinned_to_a_zone(sc: StorageClass, snap: Snapshot) -> bool:
    """WaitForFirstConsumer and every workload using the class pinned to one zone: an LRS disk is fine."""
    if sc.volume_binding_mode != "WaitForFirstConsumer":
        return False
    users = _users_of(sc, snap)
    return bool(users) and all(len(_pinned_zones(w.pod_spec)) == 1 for w in users)


@rule(
    id="WL011",
    title="Persistent storage is zone-safe and uses CSI drivers",
    category=Category.WL,
    severity=Severity.HIGH,
    rationale="An LRS Azure disk lives in one zone, so its pod cannot be rescheduled when that zone fails; "
    "in-tree Azure volume drivers are retired in AKS.",
    fix="Create a ZRS class and move volumes to it: kubectl apply -f - <<< 'apiVersion: storage.k8s.io/v1\n"
    "kind: StorageClass\nmetadata: {name: managed-csi-zrs}\nprovisioner: disk.csi.azure.com\n"
    "parameters: {skuName: StandardSSD_ZRS}\nvolumeBindingMode: WaitForFirstConsumer'",
    needs=(Input.STORAGE_CLASSES, Input.NODEPOOLS),
    references=(
        "APRL d3111036",
        "APRL b002c030",
        "Deployment Safeguards",
        "checklist 02.02.06",
        "https://learn.microsoft.com/azure/aks/csi-storage-drivers",
        "https://learn.microsoft.com/azure/aks/availability-zones",
    ),
)
def storage_is_zone_safe(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    zonal = _is_zonal(snap)
    # Without the PVC export every class is checked, and whether PVs exist is unknown (medium).
    used = _claims_by_class(snap) if snap.has(Input.PVCS) else None
    for sc in snap.storage_classes:
        name = sc.metadata.name
        in_use = used is not None and name in used
        severity = Severity.HIGH if zonal and in_use else Severity.MEDIUM
        target = kube.target_of("StorageClass", sc.metadata)
        if sc.provisioner in IN_TREE_PROVISIONERS:
            csi = "disk.csi.azure.com" if sc.provisioner.endswith("disk") else "file.csi.azure.com"
            yield Violation(
                target,
                f"StorageClass {name} uses the retired in-tree provisioner {sc.provisioner}; want {csi}",
                severity=severity,
            )
            continue
        # Azure Files shares are reached over the network from any zone; only disks attach in one zone.
        if not zonal or sc.provisioner != AZURE_DISK_CSI or (used is not None and not in_use):
            continue
        parameters = {k.lower(): v for k, v in (sc.parameters or {}).items()}
        # `skuName` for the CSI driver; the built-in `managed*` classes still carry the in-tree `storageaccounttype`.
        sku = parameters.get("skuname") or parameters.get("storageaccounttype") or f"{DEFAULT_DISK_SKU} (the default)"
        if sku.upper().endswith("_ZRS") or _pinned_to_a_zone(sc, snap):
            continue
        claims = f" and backs {len(used[name])} PVC(s)" if used is not None else ""
        yield Violation(
            target,
            f"StorageClass {name} makes {sku} disks, bound to one zone, on a cluster with zonal pools{claims}; "
            "want a _ZRS skuName (or WaitForFirstConsumer with the workloads pinned to one zone)",
            severity=severity,
        )


# --- WL012 ------------------------------------------------------------------------------------------


def _is_service_backed(workload: Workload, snap: Snapshot) -> bool:
    labels = workload.pod_labels
    return any(
        (svc.spec.type or "") != "ExternalName"
        and svc.spec.selector
        and all(labels.get(k) == v for k, v in svc.spec.selector.items())
        for svc in snap.services_by_namespace.get(workload.namespace, ())
    )


def _rollout_problem(workload: Workload, snap: Snapshot) -> str | None:
    if workload.kind != "Deployment" or not _is_multi_replica(workload, snap):
        return None
    strategy = workload.spec.strategy or {}
    if (strategy.get("type") or "RollingUpdate") == "Recreate":
        return "strategy Recreate stops every pod before new ones start; want RollingUpdate"
    max_unavailable = _budget((strategy.get("rollingUpdate") or {}).get("maxUnavailable"))
    floor = relations.replica_floor(workload, snap)
    if max_unavailable is not None and max_unavailable.of(floor) >= floor:
        return (
            f"rollingUpdate.maxUnavailable {max_unavailable.raw} lets a rollout take all {floor} replicas "
            "down at once; want less than 100%"
        )
    return None


@rule(
    id="WL012",
    title="Workloads roll out and shut down gracefully",
    category=Category.WL,
    severity=Severity.LOW,
    rationale="Pods killed before load balancers and kube-proxy stop sending them traffic drop connections on "
    "every drain; a Recreate rollout is a planned outage.",
    fix="Use strategy RollingUpdate with maxUnavailable 25% and add to serving containers: "
    "lifecycle: {preStop: {sleep: {seconds: 10}}} (or exec sleep), keeping terminationGracePeriodSeconds above it",
    needs=(Input.WORKLOADS,),
    references=(
        "kube-score deployment-strategy",
        BEST_PRACTICES,
        "https://kubernetes.io/docs/concepts/containers/container-lifecycle-hooks/",
    ),
    profile=Profile.EXTENDED,
    params=("system_namespaces",),
)
def workloads_stop_gracefully(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    # Without the Service export every workload is treated as serving traffic: a stricter, not a silent, answer.
    services_known = snap.has(Input.SERVICES)
    for workload in relations.app_workloads(snap, ctx.params):
        problems = [p] if (p := _rollout_problem(workload, snap)) else []
        if not services_known or _is_service_backed(workload, snap):
            spec = workload.pod_spec
            if not any(c.has_pre_stop for c in spec.containers):
                assumed = "" if services_known else " (no Service export, so assumed to serve traffic)"
                problems.append(f"no container has a preStop hook to outlast endpoint removal{assumed}; want one")
            if spec.termination_grace_period_seconds == 0:
                problems.append("terminationGracePeriodSeconds is 0, so pods are killed without draining")
        if problems:
            yield Violation(_target(workload), f"{_named(workload)}: {'; '.join(problems)}")


# --- WL013 ------------------------------------------------------------------------------------------


def _is_ready(endpoint: Endpoint) -> bool:
    """An unset ready condition means unknown, which the EndpointSlice API says to read as ready."""
    return endpoint.conditions is None or endpoint.conditions.ready is not False


@rule(
    id="WL013",
    title="Services have at least two ready endpoints",
    category=Category.WL,
    severity=Severity.MEDIUM,
    rationale="A Service backed by one ready pod goes dark whenever that pod's node is drained or fails.",
    fix="Scale the backing workload (kubectl scale deployment <name> -n <ns> --replicas=2) and check why "
    "pods are not ready: kubectl get endpointslices -n <ns> -l kubernetes.io/service-name=<svc>",
    needs=(Input.SERVICES, Input.ENDPOINT_SLICES),
    references=(
        "Popeye 1109",
        "Popeye 1100",
        "Popeye 1105",
        "https://kubernetes.io/docs/concepts/services-networking/endpoint-slices/",
    ),
    profile=Profile.EXTENDED,
    params=("min_ready_endpoints", "system_namespaces"),
)
def services_have_endpoints(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    # Summed per address family, then the best family taken: a dual-stack Service lists each pod twice.
    ready: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for endpoint_slice in snap.endpoint_slices:
        service = endpoint_slice.service_name
        if service:
            key = (endpoint_slice.metadata.namespace or "default", service)
            count = sum(1 for e in endpoint_slice.endpoints or () if _is_ready(e))
            ready[key][endpoint_slice.address_type or "IPv4"] += count
    want = ctx.params.min_ready_endpoints
    for svc in snap.services:
        namespace = svc.metadata.namespace or "default"
        if relations.is_system_namespace(namespace, ctx.params):
            continue
        if svc.spec.type == "ExternalName" or not svc.spec.selector:
            continue  # no selector: endpoints are managed by hand or by another controller
        families = ready.get((namespace, svc.metadata.name), {})
        count = max(families.values(), default=0)
        if count < want:
            yield Violation(
                kube.target_of("Service", svc.metadata),
                f"Service {namespace}/{svc.metadata.name} has {count} ready endpoint(s); want at least {want}",
            )


RULES: tuple[Rule, ...] = (
    workloads_run_replicas,
    pdb_covers_workloads,
    pdb_allows_disruptions,
    pdbs_are_consistent,
    containers_have_readiness,
    containers_have_liveness,
    workloads_spread_zones,
    workloads_spread_nodes,
    images_are_pinned,
    pods_are_managed,
    storage_is_zone_safe,
    workloads_stop_gracefully,
    services_have_endpoints,
)
