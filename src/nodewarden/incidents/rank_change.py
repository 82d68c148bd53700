"""A change shortly before the impact: Activity Log writes (who changed what, when) and pools mid-operation.

The closer a write is to the impact, and the nearer it is to the incident's pool and instances, the more
it weighs; nodewarden's own steps (matched by correlation id) are consequences, not causes, and are left out.
"""

from __future__ import annotations

import re
from datetime import timedelta

from nodewarden.detect.context import AUTO_REPAIR_CALLER, SETTLED_STATES
from nodewarden.detect.inventory import key_from_resource_id
from nodewarden.incidents import rank_evidence
from nodewarden.incidents.rank_evidence import Facts
from nodewarden.model.health import SignalKind
from nodewarden.model.incident import CauseKind, ChangeRecord, Evidence, Hypothesis

LOOKBACK = timedelta(hours=1)  # changes older than this are not "shortly before"
CHANGE = 0.8  # a write at the moment of impact on the incident's pool; × closeness × nearness
UNRELATED = 0.5  # nearness of a write elsewhere in the cluster (the incident's pool and instances: 1)
BUSY = 0.5  # the pool or cluster is upgrading or scaling right now
NO_CHANGE = 0.9  # against: nothing was changed in the hour before
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def change(facts: Facts) -> Hypothesis:
    """Activity Log writes in the hour before impact_start (closer = stronger), a pool or cluster busy; against:
    no change in that hour."""
    by_action: dict[tuple[str, str], list[ChangeRecord]] = {}
    for record in changes_before(facts):
        by_action.setdefault((record.caller, record.operation), []).append(record)
    supporting = [_evidence(records, facts) for records in by_action.values()]
    supporting += _busy(facts)
    against: list[Evidence] = []
    if not supporting:
        against.append(
            Evidence(f"No Activity Log write in the hour before impact ({len(facts.incident.changes)} entries read)",
                     weight=NO_CHANGE)
        )  # fmt: skip
    strongest = max(supporting, key=lambda line: line.weight, default=None)
    summary = f"Change before impact: {strongest.text}" if strongest is not None else "No change before impact"
    return rank_evidence.hypothesis(CauseKind.CHANGE, summary, supporting, against)


def changes_before(facts: Facts) -> list[ChangeRecord]:
    """Writes from LOOKBACK before impact_start to LEASE_GRACE after it, one per correlation id (the first),
    leaving out reads and nodewarden's own steps."""
    impact = facts.incident.impact_start
    ours = {entry.correlation_id for entry in facts.incident.actions if entry.correlation_id}
    first: dict[str, ChangeRecord] = {}
    for record in sorted(facts.incident.changes, key=lambda r: (r.at, r.operation, r.resource)):
        if record.operation.lower().endswith("/read") or (record.correlation_id and record.correlation_id in ours):
            continue
        if not impact - LOOKBACK <= record.at <= impact + timedelta(seconds=rank_evidence.LEASE_GRACE):
            continue
        if record.at > facts.now:
            continue
        first.setdefault(record.correlation_id or f"{record.at}/{record.operation}/{record.resource}", record)
    return sorted(first.values(), key=lambda r: (r.at, r.operation, r.resource))


def caller_kind(caller: str) -> str:
    """Who the caller is, in words: AKS auto-repair, a user, a service principal or managed identity."""
    if caller.lower() == AUTO_REPAIR_CALLER:
        return "AKS auto-repair"
    if "@" in caller:
        return "user"
    if _GUID.match(caller):
        return "service principal or managed identity"
    return "caller"


def _evidence(records: list[ChangeRecord], facts: Facts) -> Evidence:
    """One line for one caller's operation, however many resources it touched; the closest one weighs."""
    impact = facts.incident.impact_start
    weights = [_weight(record, facts) for record in records]
    closest = records[max(range(len(records)), key=lambda index: (weights[index], -index))]
    where = ", ".join(sorted({_short(record.resource) for record in records}))
    return Evidence(
        f"Activity Log {closest.at.isoformat()}: {closest.caller} ({caller_kind(closest.caller)}) "
        f"{closest.operation} on {where} {closest.status}, {rank_evidence.before(closest.at, impact)}"
        + ("" if any(_is_near(record, facts) for record in records) else " (elsewhere in the cluster)"),
        at=closest.at,
        weight=max(weights),
    )


def _weight(record: ChangeRecord, facts: Facts) -> float:
    """CHANGE × closeness (1 at impact, 0 LOOKBACK before) × nearness (1 on the incident's pool, else UNRELATED)."""
    closeness = min(1.0, max(0.0, 1.0 - (facts.incident.impact_start - record.at) / LOOKBACK))
    return CHANGE * closeness * (1.0 if _is_near(record, facts) else UNRELATED)


def _is_near(record: ChangeRecord, facts: Facts) -> bool:
    """The write touches the incident's pool, one of its nodes' scale sets, or one of their instances."""
    resource = record.resource.lower()
    pools = {facts.incident.pool} | {node.pool for node in facts.affected}
    if any(pool and f"/agentpools/{pool.lower()}" in resource for pool in pools):
        return True
    instances = {node.instance for node in facts.affected if node.instance}
    key = key_from_resource_id(record.resource)
    if key is not None and key in instances:
        return True
    scale_sets = {instance.partition("/")[0] for instance in instances}
    return any(f"/virtualmachinescalesets/{vmss}" in resource for vmss in scale_sets)


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
        state = pool.provisioning_state or ""
        if pool.name in pools and state and state.lower() not in SETTLED_STATES:
            lines.append(Evidence(f"agentPool {pool.name} provisioningState {state}", at=facts.now, weight=BUSY))
    cluster = facts.snapshot.cluster
    state = (cluster.provisioning_state or "") if cluster is not None else ""
    if cluster is not None and state and state.lower() not in SETTLED_STATES:
        lines.append(Evidence(f"managedCluster {cluster.name} provisioningState {state}", at=facts.now, weight=BUSY))
    return lines[:1]


def _short(resource: str) -> str:
    """The last type/name pair of an ARM id ("agentPools/apps", "virtualMachines/3")."""
    parts = [part for part in resource.split("/") if part]
    return "/".join(parts[-2:]) if len(parts) >= 2 else resource
