"""Zone compensation: while a zone fails, scale its pools up so the healthy zones carry the load, once.

For a pool with failing nodes in a zone reported failing (a ZoneFailure signal), plan one SCALE to
`count + min(failing nodes there, maxExtraNodes)`, unless the journal already holds an outstanding
SCALE for the pool. When no ZoneFailure touches the pool's zones any more, SCALE back to the count
journaled in the scale-out's reason ("original count N": the executor journals the action's reason as
the entry's detail).

Autoscaling pools are left alone, with a hold: AKS rejects a manual count on them, and the cluster
autoscaler already adds nodes in the healthy zones for the pods the failed zone cannot run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from nodewarden.heal.guards import CycleBudgets, pool_key
from nodewarden.heal.policy import Policy
from nodewarden.model.azure import AgentPool
from nodewarden.model.health import Detection, SignalKind
from nodewarden.model.remediation import (
    SCALE_EPISODE_PREFIX,
    History,
    Hold,
    HoldReason,
    JournalEntry,
    PlannedAction,
    Step,
)

_ORIGINAL = re.compile(r"original count (\d+)")


@dataclass
class Compensation:
    actions: list[PlannedAction] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)


def original_count(entry: JournalEntry) -> int | None:
    """The pool count before a compensation scale-out, from the entry's journaled detail."""
    match = _ORIGINAL.search(entry.detail)
    return int(match.group(1)) if match else None


def plan_compensation(
    detection: Detection, history: History, policy: Policy, budgets: CycleBudgets, now: datetime
) -> Compensation:
    result = Compensation()
    failing_zones = _failing_zones(detection)
    for pool in budgets.snapshot.pools:
        outstanding = [e for e in history.scale_entries if pool_key(e.pool or e.subject) == pool_key(pool.name)]
        nodes = budgets.pool_nodes(pool.name)
        key = pool_key(pool.name)
        zones = sorted(
            {f.place.zone for f in nodes if f.place.zone and {(key, f.place.zone), ("", f.place.zone)} & failing_zones}
        )
        failed = [f for f in nodes if f.place.zone in zones and f.is_failing]
        if outstanding and not zones:
            _scale_back(result, pool, outstanding[-1], history, budgets)
        elif failed and not outstanding and policy.for_pool(pool.name).compensation.enabled:
            _scale_out(result, pool, zones, len(failed), policy, budgets, now)
    return result


def _failing_zones(detection: Detection) -> set[tuple[str, str]]:
    """(pool key, zone) pairs with a ZoneFailure; pool key "" when the signal concerns every pool."""
    pairs: set[tuple[str, str]] = set()
    for signal in detection.of_kind(SignalKind.ZONE_FAILURE):
        zone = signal.zone or signal.subject
        pairs.add((pool_key(signal.pool), zone))
    return pairs


def _scale_out(
    result: Compensation,
    pool: AgentPool,
    zones: list[str],
    failed: int,
    policy: Policy,
    budgets: CycleBudgets,
    now: datetime,
) -> None:
    def hold(reason: HoldReason, message: str) -> None:
        result.holds.append(Hold(reason, pool.name, message, pool=pool.name, step=Step.SCALE))

    if pool.enable_auto_scaling:
        hold(HoldReason.WAITING, f"pool {pool.name} autoscales: the cluster autoscaler adds nodes in healthy zones")
        return
    blocked = budgets.cluster_busy or budgets.busy_pools.get(pool_key(pool.name))
    if blocked:
        hold(HoldReason.POOL_BUSY, f"no compensation while {blocked}")
        return
    current = pool.count if pool.count is not None else len(budgets.pool_nodes(pool.name))
    extra = min(failed, policy.for_pool(pool.name).compensation.max_extra_nodes)
    if extra <= 0:
        hold(HoldReason.AT_LIMIT, f"pool {pool.name}: compensation.maxExtraNodes is 0")
        return
    episode = f"{SCALE_EPISODE_PREFIX}{pool.name}/{now:%Y%m%dT%H%M%SZ}"
    result.actions.append(
        PlannedAction(
            step=Step.SCALE,
            subject=pool.name,
            reason=f"zone {', '.join(zones)} failing ({failed} nodes): scale pool {pool.name} from {current} to "
            f"{current + extra} nodes; original count {current}",
            key=f"{episode}/scale/1",
            episode=episode,
            pool=pool.name,
            count=current + extra,
        )
    )


def _scale_back(
    result: Compensation, pool: AgentPool, entry: JournalEntry, history: History, budgets: CycleBudgets
) -> None:
    original = original_count(entry)
    if original is None:
        message = f"pool {pool.name}: scale-out {entry.key} journaled no original count; set the count by hand"
        result.holds.append(Hold(HoldReason.WAITING, pool.name, message, pool=pool.name, step=Step.SCALE))
        return
    blocked = budgets.cluster_busy or budgets.busy_pools.get(pool_key(pool.name))
    if blocked:
        message = f"zone recovered, but no scale back while {blocked}"
        result.holds.append(Hold(HoldReason.POOL_BUSY, pool.name, message, pool=pool.name, step=Step.SCALE))
        return
    attempt = 1 + sum(1 for e in history.scale_entries if e.episode == entry.episode)
    result.actions.append(
        PlannedAction(
            step=Step.SCALE,
            subject=pool.name,
            reason=f"zone recovered: scale pool {pool.name} back to its original count {original}",
            key=f"{entry.episode}/scale/{attempt}",
            episode=entry.episode,
            pool=pool.name,
            count=original,
        )
    )
