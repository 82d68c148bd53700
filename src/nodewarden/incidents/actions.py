"""Action items for a postmortem: what to change so the next incident is smaller, or does not happen.

Three sources, in this order: the top-ranked hypothesis (what broke: a bad image is pinned away, a zone
outage asks for zones), the holds that show a human must look (quarantined nodes, drains blocked by a
PodDisruptionBudget), and the audit findings that made this incident worse because they are about what it
hit — its pools, nodes, scale sets, workloads and their namespaces' PodDisruptionBudgets, plus the
cluster's upgrade settings, one item per rule naming what it fails on. Waived findings are accepted risks and
are left out.

Pure: the caller runs the audit (`nodewarden.audit.engine.run_audit`) and passes its findings in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from nodewarden.audit.catalog import Catalog, default_catalog
from nodewarden.model.findings import Category, Finding, Target
from nodewarden.model.health import PROBLEMS
from nodewarden.model.incident import CauseKind, Hypothesis, Incident, SignalRecord
from nodewarden.model.remediation import HoldReason

# Kubernetes objects a finding can name about an affected workload's namespace rather than the workload.
_NAMESPACE_SCOPED_KINDS = frozenset({"PodDisruptionBudget", "HorizontalPodAutoscaler"})
# Cluster-wide findings that bear on any node incident: how nodes are upgraded and patched.
_CLUSTER_CATEGORIES = frozenset({Category.UP})
_CLUSTER_KINDS = frozenset({"managedCluster", "maintenanceConfiguration"})
# Kinds whose findings are about workloads; relevant only to the workloads the incident disrupted.
_WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "Pod"})
# What a rule that fails on many things calls them, and how many it names before "and N more".
_NOUNS = {
    **dict.fromkeys(_WORKLOAD_KINDS, "workload"),
    **dict.fromkeys(_CLUSTER_KINDS, "cluster"),
    "agentPool": "pool",
    "Node": "node",
    "virtualMachineScaleSet": "scale set",
    "PodDisruptionBudget": "PodDisruptionBudget",
    "HorizontalPodAutoscaler": "HorizontalPodAutoscaler",
}
MAX_NAMED = 5


def action_items(incident: Incident, findings: Sequence[Finding], *, catalog: Catalog | None = None) -> tuple[str, ...]:
    """The incident's action items: from its top hypothesis, its holds, then the findings about what it hit.

    `catalog` supplies each rule's title and fix (the shipped catalog by default). Findings of one rule are one
    item naming what it fails on; duplicates are dropped.
    """
    rules = catalog if catalog is not None else default_catalog()
    items = [*_from_cause(incident), *_from_holds(incident), *_from_findings(incident, findings, rules)]
    return tuple(dict.fromkeys(items))


# -- the cause -----------------------------------------------------------------------------------------


def _from_cause(incident: Incident) -> list[str]:
    if not incident.hypotheses:
        return []
    top = incident.hypotheses[0]
    return [_CAUSE_ITEMS[top.cause](incident, top)]


def _pools(incident: Incident) -> list[str]:
    """Every pool the incident touched: its own, then those its signals, actions and holds name."""
    named = [
        incident.pool,
        *(s.pool for s in incident.signals),
        *(a.pool for a in incident.actions),
        *(h.hold.pool for h in incident.holds),
    ]
    return list(dict.fromkeys(p for p in named if p))


def _pool_phrase(incident: Incident) -> str:
    pools = _pools(incident)
    if not pools:
        return "the affected pool"
    return f"pool {pools[0]}" if len(pools) == 1 else f"pools {', '.join(pools)}"


def _most_common(values: Iterator[str | None]) -> str | None:
    counts: dict[str, int] = {}
    for value in values:
        if value:
            counts[value] = counts.get(value, 0) + 1
    return max(counts, key=lambda v: (counts[v], v)) if counts else None


def _problem_signals(incident: Incident) -> list[SignalRecord]:
    return [s for s in incident.signals if s.kind in PROBLEMS]


def _zone_item(incident: Incident, top: Hypothesis) -> str:
    zone = incident.zone or _most_common(s.zone for s in incident.signals) or "the failed zone"
    return (
        f"Spread {_pool_phrase(incident)} across at least three availability zones, and workloads across zones "
        f"(topologySpreadConstraints on topology.kubernetes.io/zone), so that losing {zone} costs a third of "
        "the capacity, not all of it."
    )


def _maintenance_item(incident: Incident, top: Hypothesis) -> str:
    return (
        f"Schedule node maintenance for {_pool_phrase(incident)} in a planned maintenance window "
        "(az aks maintenanceconfiguration add) and keep PodDisruptionBudgets on every multi-replica workload, "
        "so announced reboots and redeploys drain gracefully."
    )


def _change_item(incident: Incident, top: Hypothesis) -> str:
    before = [c for c in incident.changes if c.at <= incident.impact_start]
    change = max(before, key=lambda c: c.at) if before else (incident.changes[0] if incident.changes else None)
    if change is None:
        return f"Find the change behind this incident ({top.summary}) and put such changes behind a review."
    return (
        f"Review the change {change.operation} on {change.resource} by {change.caller} at "
        f"{change.at.isoformat()} ({change.status}): roll it back if it is still in place, and make such "
        "changes go through a review and a maintenance window."
    )


def _image_item(incident: Incident, top: Hypothesis) -> str:
    image = _most_common(s.image for s in _problem_signals(incident)) or "the failing node image"
    return (
        f"Pin {_pool_phrase(incident)} to the node image before {image} (node OS upgrade channel None until it "
        f"is fixed; reimage onto the older image) and report {image} to Azure support, citing incident "
        f"{incident.id}."
    )


def _exhaustion_item(incident: Incident, top: Hypothesis) -> str:
    conditions = sorted({s.condition or s.kind.value for s in _problem_signals(incident)})
    seen = f" ({', '.join(conditions)})" if conditions else ""
    return (
        f"Give {_pool_phrase(incident)} headroom{seen}: set CPU and memory requests and limits on every "
        "container, add capacity or a larger VM size, and alert on node pressure before nodes fail."
    )


def _guest_item(incident: Incident, top: Hypothesis) -> str:
    conditions = sorted({s.condition for s in incident.signals if s.condition})
    seen = f" for {', '.join(conditions)}" if conditions else ""
    return (
        f"Enable node-problem-detector auto-repair{seen} on {_pool_phrase(incident)} (AKS node auto-repair, "
        "nodewarden in enforce mode), and collect the guest logs of the failed nodes (kubelet, containerd, "
        "dmesg) for the OS vendor."
    )


def _host_item(incident: Incident, top: Hypothesis) -> str:
    return (
        f"Check Resource Health and the Activity Log of the failed VMs of {_pool_phrase(incident)} for a host "
        "failure or service healing, keep enough spare nodes per zone to lose one VM, and enable automatic "
        "instance repairs (AKS node auto-repair, nodewarden in enforce mode)."
    )


def _network_item(incident: Incident, top: Hypothesis) -> str:
    return (
        f"Check the network path of {_pool_phrase(incident)} (NSG and route-table changes, CNI pods, DNS), "
        "and alert on NetworkUnavailable and on many nodes going NotReady while their VMs run."
    )


_CAUSE_ITEMS: dict[CauseKind, Callable[[Incident, Hypothesis], str]] = {
    CauseKind.ZONE_OUTAGE: _zone_item,
    CauseKind.PLANNED_MAINTENANCE: _maintenance_item,
    CauseKind.CHANGE: _change_item,
    CauseKind.BAD_IMAGE: _image_item,
    CauseKind.RESOURCE_EXHAUSTION: _exhaustion_item,
    CauseKind.GUEST_FAILURE: _guest_item,
    CauseKind.HOST_FAILURE: _host_item,
    CauseKind.NETWORK: _network_item,
}


# -- the holds -----------------------------------------------------------------------------------------


def _from_holds(incident: Incident) -> list[str]:
    items = []
    for record in incident.holds:
        hold = record.hold
        if hold.reason in (HoldReason.QUARANTINED, HoldReason.LADDER_EXHAUSTED):
            items.append(
                f"Investigate {hold.subject} by hand: nodewarden stopped repairing it ({hold.reason.value}: "
                f"{hold.message}); replace or delete it once understood."
            )
        elif hold.reason is HoldReason.PDB:
            items.append(
                f"Fix the PodDisruptionBudget that blocked draining {hold.subject} ({hold.message}): allow at "
                "least one disruption (maxUnavailable: 1) and run enough replicas to use it."
            )
    return items


# -- the findings --------------------------------------------------------------------------------------


def _from_findings(incident: Incident, findings: Sequence[Finding], catalog: Catalog) -> list[str]:
    """One item per rule: a rule that fails on many things the incident hit is one change to make, not many."""
    relevant = [f for f in findings if not f.is_waived and _is_about(f, incident)]
    relevant.sort(key=lambda f: (-f.severity.rank, f.rule_id, f.target.key))
    by_rule: dict[str, list[Finding]] = {}
    for finding in relevant:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    return [_rule_item(group, incident, catalog) for group in by_rule.values()]


def _is_about(finding: Finding, incident: Incident) -> bool:
    """True when the finding names something the incident hit, or the cluster's upgrade settings."""
    target = finding.target
    if target.kind == "agentPool":
        return target.name in _pools(incident)
    if target.kind == "Node":
        return target.name in incident.nodes
    if target.kind == "virtualMachineScaleSet":
        return target.name in _scale_sets(incident)
    if target.kind in _CLUSTER_KINDS:
        return any(finding.rule_id.startswith(category.value) for category in _CLUSTER_CATEGORIES)
    if target.kind in _WORKLOAD_KINDS:
        return not incident.workloads or target.key in incident.workloads
    if target.kind in _NAMESPACE_SCOPED_KINDS:
        return not incident.workloads or target.namespace in _namespaces(incident)
    return False


def _scale_sets(incident: Incident) -> set[str]:
    instances = [*incident.instances, *(s.instance for s in incident.signals if s.instance)]
    return {instance.split("/", 1)[0] for instance in instances}


def _namespaces(incident: Incident) -> set[str]:
    """Namespaces of the disrupted workloads ("Kind/namespace/name")."""
    return {parts[1] for parts in (w.split("/") for w in incident.workloads) if len(parts) == 3}


def _rule_item(group: Sequence[Finding], incident: Incident, catalog: Catalog) -> str:
    """One finding in its own words; several as the rule's title and the things it fails on, named up to a few."""
    first = group[0]
    if len(group) == 1:
        text = f"{first.rule_id}: {first.message}"
    else:
        title = catalog.get(first.rule_id).meta.title if first.rule_id in catalog else "failed"
        named = ", ".join(_name(f.target) for f in group[:MAX_NAMED])
        more = f" and {len(group) - MAX_NAMED} more" if len(group) > MAX_NAMED else ""
        text = f"{first.rule_id}: {title}, not met by {len(group)} {_plural(group)} ({named}{more})"
    if first.rule_id in catalog:
        fix = catalog.get(first.rule_id).meta.fix.strip().splitlines()[0]
        text += f" — {fix}"
    if any(f.target.kind in _WORKLOAD_KINDS | _NAMESPACE_SCOPED_KINDS for f in group) and not incident.workloads:
        text += " (the incident does not record which workloads it disrupted; check these ran there)"
    return text


def _name(target: Target) -> str:
    return f"{target.namespace}/{target.name}" if target.namespace else target.name


def _plural(group: Sequence[Finding]) -> str:
    nouns = {_NOUNS.get(f.target.kind, "object") for f in group}
    return f"{nouns.pop() if len(nouns) == 1 else 'object'}s"
