"""A change shortly before the impact: Activity Log writes (who changed what, when) and pools mid-operation.

Only others' changes are evidence (`incidents.attribution` gives each its origin): nodewarden's own steps
are consequences, an operator's `nodewarden node …` is reported as an operator action, and AKS's own
repairs follow failures. A change weighs in proportion to its recency and its relation to the failing
resources: a write on a failing instance, its pool or the whole cluster is strong; a restart of another
instance is weak, and weaker still once it completed and its node came back before the impact.
"""

from __future__ import annotations

import re
from datetime import timedelta

from nodewarden.incidents import rank_evidence
from nodewarden.incidents.rank_evidence import Facts
from nodewarden.model import aks
from nodewarden.model.health import SignalKind
from nodewarden.model.incident import CauseKind, ChangeOrigin, ChangeRecord, Evidence, Hypothesis

LOOKBACK = timedelta(hours=1)  # changes older than this are not "shortly before"
CHANGE = 0.8  # a write at the moment of impact on a failing instance or its pool; × closeness × relation
# Relation of a write to the failing resources (× CHANGE × closeness):
SAME = 1.0  # a failing instance, or the pool / scale set of one
CLUSTER_WIDE = 0.8  # the managed cluster itself (version, profiles): every node depends on it
INFRASTRUCTURE = 0.4  # another kind of resource (network, disks, identities): may reach the nodes
OTHER_POOL = 0.3  # a pool or scale set with no failing node
SIBLING = 0.25  # another instance of a failing node's scale set: one instance's repair rarely fells another
ELSEWHERE = 0.1  # an instance in a pool with no failing node
CAME_BACK = 0.3  # × for an instance operation that completed with its node back before the impact
BUSY = 0.5  # the pool or cluster is upgrading or scaling right now
NO_CHANGE = 0.9  # against: nothing was changed in the hour before
_INSTANCE = "/virtualmachines/"
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def change(facts: Facts) -> Hypothesis:
    """Others' Activity Log writes in the hour before impact_start (closer and more related = stronger), a pool
    or cluster busy; against: no change by others in that hour."""
    by_action: dict[tuple[str, str], list[ChangeRecord]] = {}
    for record in changes_before(facts):
        by_action.setdefault((record.caller, record.operation), []).append(record)
    supporting = [_evidence(records, facts) for records in by_action.values()]
    supporting += _busy(facts)
    against: list[Evidence] = []
    if not supporting:
        against.append(Evidence(f"No Activity Log write in the hour before impact by others ({_read(facts)})",
                                weight=NO_CHANGE))  # fmt: skip
    strongest = max(supporting, key=lambda line: line.weight, default=None)
    summary = f"Change before impact: {strongest.text}" if strongest is not None else "No change before impact"
    return rank_evidence.hypothesis(CauseKind.CHANGE, summary, supporting, against)


def changes_before(facts: Facts) -> list[ChangeRecord]:
    """Others' writes from LOOKBACK before impact_start to LEASE_GRACE after it, one per correlation id (the
    first), leaving out reads, nodewarden's own steps, operators' actions and AKS's repairs."""
    impact = facts.incident.impact_start
    ours = {entry.correlation_id for entry in facts.incident.actions if entry.correlation_id}  # records before origins
    first: dict[str, ChangeRecord] = {}
    for record in sorted(facts.incident.changes, key=lambda r: (r.at, r.operation, r.resource)):
        if record.origin is not ChangeOrigin.OTHERS or record.operation.lower().endswith("/read"):
            continue
        if record.correlation_id and record.correlation_id in ours:
            continue
        if not impact - LOOKBACK <= record.at <= impact + timedelta(seconds=rank_evidence.LEASE_GRACE):
            continue
        if record.at > facts.now:
            continue
        first.setdefault(record.correlation_id or f"{record.at}/{record.operation}/{record.resource}", record)
    return sorted(first.values(), key=lambda r: (r.at, r.operation, r.resource))


def caller_kind(caller: str) -> str:
    """Who the caller is, in words: AKS auto-repair, a user, a service principal or managed identity."""
    if caller.lower() == aks.AUTO_REPAIR_CALLER:
        return "AKS auto-repair"
    if "@" in caller:
        return "user"
    if _GUID.match(caller):
        return "service principal or managed identity"
    return "caller"


def _read(facts: Facts) -> str:
    """How many entries were read, and whose the others were: "12 entries read: 9 nodewarden's, 3 operators'"."""
    changes = facts.incident.changes
    counts = {origin: sum(1 for c in changes if c.origin is origin) for origin in ChangeOrigin}
    whose = {ChangeOrigin.OURS: "nodewarden's", ChangeOrigin.OPERATOR: "operators'", ChangeOrigin.AKS: "AKS's"}
    parts = [f"{counts[origin]} {word}" for origin, word in whose.items() if counts[origin]]
    return f"{len(changes)} entries read" + (f": {', '.join(parts)}" if parts else "")


def _evidence(records: list[ChangeRecord], facts: Facts) -> Evidence:
    """One line for one caller's operation, however many resources it touched; the strongest one weighs."""
    impact = facts.incident.impact_start
    weighed = [(_weight(record, facts), _relation(record, facts)[1], record) for record in records]
    weight, where_word, closest = max(weighed, key=lambda item: (item[0], item[2].at))
    where = ", ".join(sorted({_short(record.resource) for record in records}))
    return Evidence(
        f"Activity Log {closest.at.isoformat()}: {closest.caller} ({caller_kind(closest.caller)}) "
        f"{closest.operation} on {where} {closest.status}, {rank_evidence.before(closest.at, impact)}"
        + (f" ({where_word})" if where_word else ""),
        at=closest.at,
        weight=weight,
    )


def _weight(record: ChangeRecord, facts: Facts) -> float:
    """CHANGE × closeness (1 at impact, 0 LOOKBACK before) × relation to the failing resources, × CAME_BACK for
    an instance operation that completed, its node back, before the impact."""
    closeness = min(1.0, max(0.0, 1.0 - (facts.incident.impact_start - record.at) / LOOKBACK))
    weight = CHANGE * closeness * _relation(record, facts)[0]
    return weight * CAME_BACK if _came_back(record, facts) else weight


def _relation(record: ChangeRecord, facts: Facts) -> tuple[float, str]:
    """How the write relates to the failing resources: its weight, and words for a weak relation ("" for SAME)."""
    resource = record.resource.lower()
    instances = {node.instance.lower() for node in facts.affected if node.instance}
    scale_sets = {instance.partition("/")[0] for instance in instances}
    pools = {pool.lower() for pool in {facts.incident.pool} | {node.pool for node in facts.affected} if pool}
    key = aks.key_from_resource_id(record.resource)
    if _INSTANCE in resource and key is not None:
        if key.lower() in instances:
            return SAME, ""
        if key.lower().partition("/")[0] in scale_sets:
            return SIBLING, "another instance of a failing node's scale set"
        return ELSEWHERE, "elsewhere in the cluster"
    pool = _segment(resource, "/agentpools/")
    vmss = _segment(resource, "/virtualmachinescalesets/")
    if pool or vmss:
        if (pool and pool in pools) or (vmss and vmss in scale_sets):
            return SAME, ""
        return OTHER_POOL, "a pool with no failing node"
    if "/microsoft.containerservice/managedclusters/" in resource:
        return CLUSTER_WIDE, "cluster-wide"
    return INFRASTRUCTURE, "elsewhere in the cluster"


def _came_back(record: ChangeRecord, facts: Facts) -> bool:
    """An instance operation that succeeded before impact_start (less the lease grace), whose node is not
    failing here or renewed its heartbeat after the operation ended (it came back)."""
    if _INSTANCE not in record.resource.lower() or not record.correlation_id:
        return False
    ended = min(
        (c.at for c in facts.incident.changes
         if c.correlation_id == record.correlation_id and c.status.lower() == "succeeded"),
        default=None,
    )  # fmt: skip
    limit = facts.incident.impact_start - timedelta(seconds=rank_evidence.LEASE_GRACE)
    if ended is None or ended > limit:
        return False
    key = (aks.key_from_resource_id(record.resource) or "").lower()
    nodes = [node for node in facts.affected if (node.instance or "").lower() == key]
    return all(node.onset > ended for node in nodes)


def _segment(resource: str, marker: str) -> str:
    """The name after `marker` in a lower-cased ARM id ("apps" for "…/agentpools/apps/…"), or ""."""
    _, found, rest = resource.partition(marker)
    return rest.split("/", 1)[0] if found else ""


def _busy(facts: Facts) -> list[Evidence]:
    """The incident's pools (or the cluster) mid-operation: PoolBusy/ClusterBusy signals, else the Snapshot."""
    lines = [
        Evidence(f"Signal {r.kind.value} {r.subject}: {r.message}", at=r.since, weight=BUSY)
        for r in facts.records(SignalKind.POOL_BUSY, SignalKind.CLUSTER_BUSY)[:1]
    ]
    if lines:
        return lines
    pools = {facts.incident.pool} | {node.pool for node in facts.affected}
    for pool in facts.snapshot.pools:
        state = pool.provisioning_state
        if pool.name in pools and aks.is_in_progress(state):
            lines.append(Evidence(f"agentPool {pool.name} provisioningState {state}", at=facts.now, weight=BUSY))
    cluster = facts.snapshot.cluster
    if cluster is not None and aks.is_in_progress(cluster.provisioning_state):
        state = cluster.provisioning_state
        lines.append(Evidence(f"managedCluster {cluster.name} provisioningState {state}", at=facts.now, weight=BUSY))
    return lines[:1]


def _short(resource: str) -> str:
    """The last type/name pair of an ARM id ("agentPools/apps", "virtualMachines/3")."""
    parts = [part for part in resource.split("/") if part]
    return "/".join(parts[-2:]) if len(parts) >= 2 else resource
