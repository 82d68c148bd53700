"""The change hypothesis weighs a write by whose it was, its relation to the failing resources and its recency.

Issue 12: a person restarted another instance 20 minutes before a VM crashed, and the crash ranked "change
0.77" above everything; the demo's zone outage ranked nodewarden's own earlier restart as a change by others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import pytest

from nodewarden.incidents.rank import RankContext, rank
from nodewarden.model.health import SignalKind
from nodewarden.model.incident import CauseKind, ChangeOrigin, ChangeRecord, Incident, IncidentState, SignalRecord
from nodewarden.model.snapshot import Snapshot
from tests.detect.builders import at, instance, node, node_name, vm_id

FAILING = 4  # the failing node's instance in pool user
IMPACT = at(3600)
NOW = IMPACT + timedelta(minutes=5)
USER_VMSS = "aks-user-12345678-vmss"
CLUSTER_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/demo"
RESTART = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action"


def write(
    operation: str, resource: str, *, before: timedelta, ended: timedelta | None = None,
    origin: ChangeOrigin = ChangeOrigin.OTHERS, caller: str = "alice@contoso.com",
) -> list[ChangeRecord]:  # fmt: skip
    """An Activity Log write `before` the impact (Started), and its Succeeded entry `ended` after it started."""
    started = ChangeRecord(at=IMPACT - before, caller=caller, operation=operation, resource=resource,
                           status="Started", correlation_id=f"c-{operation}-{resource}", origin=origin)  # fmt: skip
    if ended is None:
        return [started]
    done = ChangeRecord(at=started.at + ended, caller=caller, operation=operation, resource=resource,
                        status="Succeeded", correlation_id=started.correlation_id, origin=origin)  # fmt: skip
    return [started, done]


def crash(changes: Sequence[ChangeRecord]) -> Incident:
    """Node 4 of pool user went silent at IMPACT (its last heartbeat)."""
    name = node_name("user", FAILING)
    record = SignalRecord(kind=SignalKind.HEARTBEAT_STALE, subject=name, since=IMPACT,
                          first_seen=IMPACT + timedelta(seconds=30), last_seen=NOW, message="lease stale",
                          node=name, pool="user", zone="eastus-1", instance=f"{USER_VMSS}/{FAILING}")  # fmt: skip
    return Incident(id="inc-test", title="test", state=IncidentState.OPEN, impact_start=IMPACT,
                    detected_at=record.first_seen, pool="user", signals=(record,), changes=tuple(changes))  # fmt: skip


def context() -> RankContext:
    nodes = (*(node("user", i, zone="eastus-1") for i in range(6)), node("data", 0, zone="eastus-1"))
    instances = (*(instance("user", i, zone="1") for i in range(6)), instance("data", 0, zone="1"))
    return RankContext.of(Snapshot(nodes=nodes, instances=instances))


def change_weight(changes: Sequence[ChangeRecord]) -> float | None:
    """The change hypothesis's strongest Activity Log line's weight; None when no write supports it."""
    hypothesis = next(h for h in rank(crash(changes), context(), NOW) if h.cause is CauseKind.CHANGE)
    weights = [line.weight for line in hypothesis.supporting if line.text.startswith("Activity Log")]
    return max(weights, default=None)


@dataclass(frozen=True)
class Case:
    desc: str
    changes: list[ChangeRecord]
    low: float | None  # None: the write must not support the change hypothesis at all
    high: float


CASES = [
    Case("a person restarts another instance of the scale set 20 min before; it came back",
         write(RESTART, vm_id(USER_VMSS, 1), before=timedelta(minutes=20), ended=timedelta(minutes=1)), 0.0, 0.05),
    Case("the same restart, still running at the impact",
         write(RESTART, vm_id(USER_VMSS, 1), before=timedelta(minutes=20)), 0.05, 0.15),
    Case("a restart of an instance in another pool 2 min before",
         write(RESTART, vm_id("aks-data-12345678-vmss", 0), before=timedelta(minutes=2)), 0.0, 0.1),
    Case("a restart of the failing instance itself 1 min before, not finished",
         write(RESTART, vm_id(USER_VMSS, FAILING), before=timedelta(minutes=1)), 0.75, 0.8),
    Case("a restart of the failing instance 30 min before that finished and came back",
         write(RESTART, vm_id(USER_VMSS, FAILING), before=timedelta(minutes=30), ended=timedelta(minutes=2)),
         0.0, 0.15),
    Case("a write on the failing node's pool 90 s before",
         write("Microsoft.ContainerService/managedClusters/agentPools/write", f"{CLUSTER_ID}/agentPools/user",
               before=timedelta(seconds=90)), 0.75, 0.8),
    Case("a write on another pool 90 s before",
         write("Microsoft.ContainerService/managedClusters/agentPools/write", f"{CLUSTER_ID}/agentPools/data",
               before=timedelta(seconds=90)), 0.2, 0.25),
    Case("a cluster-wide write 5 min before",
         write("Microsoft.ContainerService/managedClusters/write", CLUSTER_ID, before=timedelta(minutes=5)),
         0.55, 0.6),
    Case("nodewarden's own restart of the failing instance 1 min before",
         write(RESTART, vm_id(USER_VMSS, FAILING), before=timedelta(minutes=1), origin=ChangeOrigin.OURS),
         None, 0.0),
    Case("an operator's `nodewarden node restart` of the failing instance 1 min before",
         write(RESTART, vm_id(USER_VMSS, FAILING), before=timedelta(minutes=1), origin=ChangeOrigin.OPERATOR),
         None, 0.0),
    Case("AKS auto-repair's restart of the failing instance",
         write(RESTART, vm_id(USER_VMSS, FAILING), before=timedelta(minutes=1), origin=ChangeOrigin.AKS,
               caller="aks-remediator"), None, 0.0),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.desc for case in CASES])
def test_a_change_weighs_by_origin_relation_and_recency(case: Case) -> None:
    weight = change_weight(case.changes)
    if case.low is None:
        assert weight is None, f"{case.desc}: not others' change, yet weighed {weight}"
        return
    assert weight is not None, f"{case.desc}: the write is not on the record"
    assert case.low <= weight <= case.high, f"{case.desc}: weight {weight:.3f} not in [{case.low}, {case.high}]"


def test_an_unrelated_restart_that_came_back_does_not_outrank_the_crash() -> None:
    """The issue's case: a restart of another instance 20 min before the crash; the change is never the top cause."""
    changes = write(RESTART, vm_id(USER_VMSS, 1), before=timedelta(minutes=20), ended=timedelta(minutes=1))
    ranked = rank(crash(changes), context(), NOW)
    assert ranked[0].cause is not CauseKind.CHANGE, ranked[0]
    change = next(h for h in ranked if h.cause is CauseKind.CHANGE)
    assert change.score < 0.1
    assert "another instance of a failing node's scale set" in change.summary


def test_no_change_by_others_names_whose_writes_were_read() -> None:
    ours = write(RESTART, vm_id(USER_VMSS, 1), before=timedelta(minutes=3), origin=ChangeOrigin.OURS)
    hypothesis = next(h for h in rank(crash(ours), context(), NOW) if h.cause is CauseKind.CHANGE)
    assert hypothesis.summary == "No change before impact"
    assert "No Activity Log write in the hour before impact by others (1 entries read: 1 nodewarden's)" in [
        line.text for line in hypothesis.against
    ]
