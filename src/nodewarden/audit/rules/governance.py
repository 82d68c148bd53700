"""RG rules: resource governance (requests, limits, quotas, LimitRanges, priority, system-pool hygiene).

When a VMSS instance fails, its pods are rescheduled onto the nodes that are left. Requests tell the
scheduler and the cluster autoscaler how much room they need; limits, quotas and LimitRange defaults
stop one workload from starving the others on the surviving nodes; priority classes decide who is
evicted first; and keeping apps off the system pool protects CoreDNS, konnectivity and metrics-server.

Containers the rules look at (a judgement, kept in one place):
- RG001 (requests) checks app containers and native sidecars (init containers with
  `restartPolicy: Always`). Plain init containers are skipped: the scheduler reserves
  max(sum(containers), max(init containers)), so an init container without requests never lowers
  what the pod reserves.
- RG002 (limits) checks every container including init containers: an init container without a
  memory limit can still exhaust a node while it runs.
- A container with a limit but no request gets request = limit from the API server, so a limit
  counts as a request. A LimitRange `default`/`defaultRequest` for type Container in the namespace
  fills missing values at admission (kube-score #558), but only when `kubectl get limitranges` was
  exported; without it nothing is assumed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from nodewarden.audit import relations
from nodewarden.audit.catalog import NotEvaluated, Rule, RuleContext, Violation, rule
from nodewarden.model import aks, kube
from nodewarden.model.findings import Category, Profile, Severity, Target
from nodewarden.model.inputs import Input
from nodewarden.model.snapshot import Snapshot

# PriorityClasses every cluster has; they are for cluster components, not application tiers.
SYSTEM_PRIORITY_CLASSES = frozenset({"system-cluster-critical", "system-node-critical"})

# The label AKS puts on every node of a system-mode pool (learn.microsoft.com/azure/aks/use-system-pools:
# "AKS automatically assigns the label kubernetes.azure.com/mode: system to its nodes").
CRITICAL_ADDONS_TAINT = "CriticalAddonsOnly"
# AKS node names: aks-<pool>-<8 digits>-vmss<6 base-36 chars> (VMSS pools).
_AKS_NODE_NAME = re.compile(r"^aks-(?P<pool>[a-z0-9]+)-\d+-vmss[0-9a-z]{6}$")


def _limit_range_defaults(snap: Snapshot, namespace: str) -> tuple[set[str], set[str]]:
    """Resources a Container-type LimitRange fills in `namespace`: (requests, limits)."""
    requests: set[str] = set()
    limits: set[str] = set()
    for limit_range in snap.limit_ranges:
        if (limit_range.metadata.namespace or "default") != namespace:
            continue
        for item in limit_range.spec.limits:
            if item.type != "Container":
                continue
            limits |= set(item.default or {})
            # The API server defaults `defaultRequest` to `default` when only the limit is given.
            requests |= set(item.default_request or {}) | set(item.default or {})
    return requests, limits


def _missing(
    containers: Iterable[kube.Container], resources: Iterable[str], *, limits: bool, filled: set[str]
) -> list[str]:
    """`<container> <resource>` for every resource a container leaves unset and no LimitRange fills."""
    wanted = tuple(resources)
    gaps = []
    for container in containers:
        for resource in wanted:
            value = container.limit(resource) if limits else (container.request(resource) or container.limit(resource))
            if value in (None, "") and resource not in filled:
                gaps.append(f"{container.name or '?'} {resource}")
    return gaps


def _request_containers(spec: kube.PodSpec) -> list[kube.Container]:
    sidecars = [c for c in spec.init_containers or () if c.restart_policy == "Always"]
    return [*spec.containers, *sidecars]


def _all_containers(spec: kube.PodSpec) -> list[kube.Container]:
    return [*spec.containers, *(spec.init_containers or ())]


def _workload_name(workload: kube.Workload) -> str:
    return f"{workload.kind} {workload.namespace}/{workload.metadata.name}"


@rule(
    id="RG001",
    title="Containers set CPU and memory requests",
    category=Category.RG,
    severity=Severity.HIGH,
    rationale="Without requests the scheduler and the cluster autoscaler cannot tell how much room pods need, "
    "so pods from a failed node are packed onto survivors until they are evicted or OOM-killed.",
    fix="Set requests on every container:\n"
    "  resources:\n    requests: {cpu: 250m, memory: 256Mi}\n"
    "or give the namespace a LimitRange with `defaultRequest` for type Container.",
    needs=(Input.WORKLOADS,),
    references=(
        "Polaris cpuRequestsMissing / memoryRequestsMissing",
        "kube-score container-resources",
        "Popeye 106",
        "CKV_K8S_10",
        "CKV_K8S_12",
        "Deployment Safeguards",
        "checklist 07.05.01",
        "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
        "https://learn.microsoft.com/azure/aks/developer-best-practices-resource-management",
    ),
    params=("system_namespaces",),
)
def containers_set_requests(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    use_limit_ranges = Input.LIMIT_RANGES in snap.inputs
    for workload in relations.app_workloads(snap, ctx.params):
        filled = _limit_range_defaults(snap, workload.namespace)[0] if use_limit_ranges else set()
        gaps = _missing(_request_containers(workload.pod_spec), ("cpu", "memory"), limits=False, filled=filled)
        if gaps:
            yield Violation(
                kube.target_of(workload.kind, workload.metadata),
                f"{_workload_name(workload)} has no request for: {', '.join(gaps)}; "
                "set resources.requests.cpu and .memory on every container",
            )


@rule(
    id="RG002",
    title="Containers set memory limits",
    category=Category.RG,
    severity=Severity.MEDIUM,
    rationale="A container without a memory limit can take a node's memory, and the kernel then OOM-kills "
    "its neighbours; after a node loss the survivors are fuller and this gets likelier.",
    fix="Set a memory limit on every container (CPU limits are optional):\n"
    "  resources:\n    limits: {memory: 512Mi}\n"
    "or give the namespace a LimitRange with `default` for type Container.",
    needs=(Input.WORKLOADS,),
    references=(
        "Polaris memoryLimitsMissing",
        "kube-score container-resources (--ignore-container-cpu-limit)",
        "Popeye 107",
        "CKV_K8S_13",
        "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
    ),
    params=("require_cpu_limit", "system_namespaces"),
)
def containers_set_limits(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    resources = ("memory", "cpu") if ctx.params.require_cpu_limit else ("memory",)
    use_limit_ranges = Input.LIMIT_RANGES in snap.inputs
    for workload in relations.app_workloads(snap, ctx.params):
        filled = _limit_range_defaults(snap, workload.namespace)[1] if use_limit_ranges else set()
        gaps = _missing(_all_containers(workload.pod_spec), resources, limits=True, filled=filled)
        if gaps:
            wanted = " and ".join(f"resources.limits.{r}" for r in resources)
            yield Violation(
                kube.target_of(workload.kind, workload.metadata),
                f"{_workload_name(workload)} has no limit for: {', '.join(gaps)}; set {wanted} on every container",
            )


def _app_namespaces(snap: Snapshot, ctx: RuleContext) -> list[tuple[str, Target]]:
    """Non-system namespaces with their targets (carrying a real Namespace's waiver annotation).

    `default` is skipped when workloads or pods were exported and none of them live there: every cluster
    has it, and an empty one needs no quota.
    """
    objects = {ns.metadata.name: ns for ns in snap.namespaces}
    names = [n for n in dict.fromkeys(snap.namespace_names()) if not relations.is_system_namespace(n, ctx.params)]
    if not names and not snap.has(Input.NAMESPACES):
        raise NotEvaluated(
            "no namespaces are known: export `kubectl get namespaces -A -o json` (or the workloads and pods)"
        )
    if snap.inputs & {Input.WORKLOADS, Input.PODS}:
        used = {o.namespace for o in snap.workloads} | {o.namespace for o in snap.pods}
        names = [n for n in names if n != "default" or n in used]
    targets = []
    for name in names:
        meta = objects[name].metadata if name in objects else kube.ObjectMeta(name=name)
        targets.append((name, kube.target_of("Namespace", meta)))
    return targets


@rule(
    id="RG003",
    title="Application namespaces have a ResourceQuota",
    category=Category.RG,
    severity=Severity.MEDIUM,
    rationale="A quota caps what one namespace can request, so a runaway deployment or HPA cannot take "
    "the capacity other teams need when the cluster is short of nodes.",
    fix="kubectl create quota <name> -n <namespace> --hard=requests.cpu=8,requests.memory=16Gi,"
    "limits.memory=32Gi,pods=100",
    needs=(Input.RESOURCE_QUOTAS,),
    references=(
        "checklist 07.05.02",
        "APRL 9a1c17e5",
        "PSRule.Rules.Kubernetes",
        "https://kubernetes.io/docs/concepts/policy/resource-quotas/",
    ),
    params=("system_namespaces",),
)
def namespaces_have_quota(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    quoted = {q.metadata.namespace or "default" for q in snap.resource_quotas}
    for name, target in _app_namespaces(snap, ctx):
        if name not in quoted:
            yield Violation(target, f"namespace {name} has no ResourceQuota; add one capping requests and limits")


@rule(
    id="RG004",
    title="Application namespaces have LimitRange defaults for containers",
    category=Category.RG,
    severity=Severity.LOW,
    rationale="A LimitRange with `default` and `defaultRequest` gives every container a request and a "
    "limit even when its manifest forgets them, so scheduling stays honest.",
    fix="kubectl apply -n <namespace> -f - <<EOF\n"
    "apiVersion: v1\nkind: LimitRange\nmetadata: {name: defaults}\n"
    "spec:\n  limits:\n  - type: Container\n    defaultRequest: {cpu: 100m, memory: 128Mi}\n"
    "    default: {memory: 512Mi}\nEOF",
    needs=(Input.LIMIT_RANGES,),
    references=(
        "kube-score #558 (quota awareness)",
        "https://kubernetes.io/docs/concepts/policy/limit-range/",
    ),
    params=("system_namespaces",),
)
def namespaces_have_limit_range(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    by_namespace: dict[str, list[kube.LimitRange]] = {}
    for limit_range in snap.limit_ranges:
        by_namespace.setdefault(limit_range.metadata.namespace or "default", []).append(limit_range)
    for name, target in _app_namespaces(snap, ctx):
        ranges = by_namespace.get(name, [])
        items = [i for r in ranges for i in r.spec.limits if i.type == "Container"]
        if any(i.default and i.default_request for i in items):
            continue
        if not ranges:
            message = f"namespace {name} has no LimitRange"
        elif not items:
            message = f"namespace {name} has a LimitRange but none with type Container"
        else:
            message = f"namespace {name} has a Container LimitRange without both default and defaultRequest"
        yield Violation(target, f"{message}; add one with default and defaultRequest for type Container")


@rule(
    id="RG005",
    title="Application workloads name a priority class",
    category=Category.RG,
    severity=Severity.LOW,
    rationale="When capacity is short after node failures, the scheduler preempts and the kubelet evicts by "
    "priority; without application tiers a batch job can displace the storefront.",
    fix="kubectl create priorityclass business-critical --value=100000 --description='customer-facing'\n"
    "then set spec.template.spec.priorityClassName: business-critical on the workloads of that tier.",
    needs=(Input.WORKLOADS, Input.PRIORITY_CLASSES),
    references=(
        "Polaris priorityClassNotSet",
        "https://kubernetes.io/docs/concepts/scheduling-eviction/pod-priority-preemption/",
    ),
    profile=Profile.EXTENDED,
    params=("system_namespaces",),
)
def workloads_name_priority_class(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    # "Tiered apps": every application workload should sit in a tier the cluster defines. A workload
    # without priorityClassName is fine only when a globalDefault class gives it one.
    known = {pc.metadata.name for pc in snap.priority_classes} | SYSTEM_PRIORITY_CLASSES
    tiers = sorted(pc.metadata.name for pc in snap.priority_classes if pc.metadata.name not in SYSTEM_PRIORITY_CLASSES)
    has_global_default = any(
        pc.global_default for pc in snap.priority_classes if pc.metadata.name not in SYSTEM_PRIORITY_CLASSES
    )
    for workload in relations.app_workloads(snap, ctx.params):
        name = workload.pod_spec.priority_class_name
        target = kube.target_of(workload.kind, workload.metadata)
        if name:
            if name not in known:
                yield Violation(
                    target,
                    f"{_workload_name(workload)} names PriorityClass {name}, which does not exist; "
                    "its pods are rejected at admission",
                )
            continue
        if has_global_default:
            continue
        if tiers:
            wanted = f"pick one of the cluster's tiers ({', '.join(tiers)})"
        else:
            wanted = "the cluster defines no PriorityClass besides system-*; create tiers and assign them"
        yield Violation(target, f"{_workload_name(workload)} sets no priorityClassName; {wanted}")


def _tolerates_critical_addons(spec: kube.PodSpec) -> bool:
    """True when a toleration matches AKS's `CriticalAddonsOnly=true:NoSchedule` taint (an empty key with
    `Exists` tolerates every taint; the operator defaults to `Equal`)."""
    for toleration in spec.toleration_list:
        if toleration.effect not in (None, "", "NoSchedule"):
            continue
        if toleration.key == CRITICAL_ADDONS_TAINT and (toleration.operator == "Exists" or toleration.value == "true"):
            return True
        if not toleration.key and toleration.operator == "Exists":
            return True
    return False


def _node_pools(snap: Snapshot) -> dict[str, tuple[str | None, bool]]:
    """Node name → (pool name, is system) for every node whose mode can be told.

    Node label `kubernetes.azure.com/mode` first; then the node's agentpool label looked up in the
    pool list; without `kubectl get nodes`, the pool name parsed from the AKS node name. Nodes whose
    mode cannot be told are left out.
    """
    known: dict[str, tuple[str | None, bool]] = {}
    for node in snap.nodes:
        labels = node.metadata.label_map
        pool_name = aks.pool_of(labels)
        mode = labels.get(aks.MODE_LABEL)
        pool = snap.pool(pool_name) if pool_name else None
        if mode is not None:
            known[node.metadata.name] = (pool_name, mode.lower() == "system")
        elif pool is not None and pool.mode:
            known[node.metadata.name] = (pool_name, pool.is_system)
    if not snap.has(Input.NODES):
        for pod in snap.pods:
            node_name = pod.spec.node_name or ""
            match = _AKS_NODE_NAME.match(node_name)
            pool = snap.pool(match["pool"]) if match else None
            if pool is not None and pool.mode:
                known[node_name] = (pool.name, pool.is_system)
    return known


def _is_critical_addons_taint(taint: str) -> bool:
    """`CriticalAddonsOnly=true:NoSchedule` (or without a value), as `nodeTaints` spells it."""
    key_value, _, effect = taint.replace(" ", "").rpartition(":")
    return key_value.split("=", 1)[0] == CRITICAL_ADDONS_TAINT and effect == "NoSchedule"


def _pod_owner_target(pod: kube.Pod, snap: Snapshot) -> tuple[Target, str]:
    """The Deployment or StatefulSet that owns a pod when it is in the input (a stable waiver target),
    else the pod itself; with a phrase naming the pod."""
    workloads = {(w.kind, w.namespace, w.metadata.name): w for w in snap.workloads}
    for ref in pod.metadata.owner_references or ():
        candidates = [("StatefulSet", ref.name)] if ref.kind == "StatefulSet" else []
        if ref.kind == "ReplicaSet" and "-" in ref.name:
            candidates.append(("Deployment", ref.name.rsplit("-", 1)[0]))
        for kind, name in candidates:
            workload = workloads.get((kind, pod.namespace, name))
            if workload is not None:
                return kube.target_of(kind, workload.metadata), f"{_workload_name(workload)} pod {pod.metadata.name}"
    return kube.target_of("Pod", pod.metadata), f"Pod {pod.namespace}/{pod.metadata.name}"


def _system_pools_reserved(snap: Snapshot) -> bool:
    """Every system pool carries the CriticalAddonsOnly NoSchedule taint (only tolerating pods land there)."""
    system = [p for p in snap.pools if p.is_system]
    return bool(system) and all(any(_is_critical_addons_taint(t) for t in p.taints) for p in system)


@rule(
    id="RG006",
    title="Application pods stay off the system node pool",
    category=Category.RG,
    severity=Severity.MEDIUM,
    rationale="App pods on system nodes compete with CoreDNS, konnectivity and metrics-server; when a "
    "system node fails those add-ons have nowhere to go and the whole cluster degrades.",
    fix="Taint the system pool and run apps on user pools:\n"
    "  az aks nodepool update -g <rg> --cluster-name <cluster> -n <systempool> "
    "--node-taints CriticalAddonsOnly=true:NoSchedule\n"
    "and remove CriticalAddonsOnly (or operator: Exists without a key) tolerations from app workloads.",
    # Evaluates what it can: tolerations from workloads (or pods), placement from pods plus nodes (or the
    # pool list). See the function for when a partial view still decides.
    needs=(),
    references=(
        "Deployment Safeguards (reserved system pool taints)",
        "Advisor f31832f1",
        "https://learn.microsoft.com/azure/aks/use-system-pools",
    ),
    params=("system_namespaces",),
)
def app_pods_off_system_pool(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
    """Fails on app workloads or pods tolerating CriticalAddonsOnly, and on app pods running on system nodes.

    DaemonSet pods are expected on every node and skipped, as are mirror pods and system namespaces.
    Without pod placement (`kubectl get pods` plus nodes or the pool list), a clean toleration check
    decides only when every system pool is tainted CriticalAddonsOnly; otherwise NOT_EVALUATED.
    """
    if not snap.inputs & {Input.WORKLOADS, Input.PODS}:
        raise NotEvaluated(
            f"input missing: {Input.WORKLOADS.command} or {Input.PODS.command} "
            f"(with {Input.NODES.command} for placement)"
        )
    found: dict[str, tuple[Target, list[str]]] = {}

    def note(target: Target, reason: str) -> None:
        found.setdefault(target.key, (target, []))[1].append(reason)

    app_pods = [
        p for p in snap.pods if not relations.is_system_namespace(p.namespace, ctx.params) and not p.belongs_to_node
    ]
    if snap.has(Input.WORKLOADS):
        for workload in relations.app_workloads(snap, ctx.params):
            if _tolerates_critical_addons(workload.pod_spec):
                target = kube.target_of(workload.kind, workload.metadata)
                note(target, f"{_workload_name(workload)} tolerates the CriticalAddonsOnly taint")
    else:
        for pod in app_pods:
            if _tolerates_critical_addons(pod.spec):
                target, label = _pod_owner_target(pod, snap)
                note(target, f"{label} tolerates the CriticalAddonsOnly taint")

    placement_known = snap.has(Input.PODS) and bool(snap.inputs & {Input.NODES, Input.NODEPOOLS})
    unplaced: list[str] = []
    if placement_known:
        node_pools = _node_pools(snap)
        for pod in app_pods:
            node = pod.spec.node_name
            if not node or pod.phase in ("Succeeded", "Failed"):
                continue
            if node not in node_pools:
                unplaced.append(node)
                continue
            pool_name, is_system = node_pools[node]
            if is_system:
                target, label = _pod_owner_target(pod, snap)
                pool = f" (system pool {pool_name})" if pool_name else ""
                note(target, f"{label} runs on system node {node}{pool}")

    for target, reasons in found.values():
        yield Violation(target, "; ".join(reasons) + "; run it on a user pool")
    if found or _system_pools_reserved(snap):
        return
    if not placement_known:
        raise NotEvaluated(
            "no workload tolerates CriticalAddonsOnly, but pod placement is unknown and the system pool is not "
            f"known to be tainted: export {Input.PODS.command} with {Input.NODES.command} "
            f"(or {Input.NODEPOOLS.command})"
        )
    if unplaced:
        nodes = ", ".join(sorted(set(unplaced))[:3])
        raise NotEvaluated(
            f"the pool mode of nodes {nodes} is unknown (no {aks.MODE_LABEL} or agentpool label, no matching pool): "
            f"export {Input.NODES.command} and {Input.NODEPOOLS.command}"
        )


RULES: tuple[Rule, ...] = (
    containers_set_requests,
    containers_set_limits,
    namespaces_have_quota,
    namespaces_have_limit_range,
    workloads_name_priority_class,
    app_pods_off_system_pool,
)
