"""Whose change was it: nodewarden's own, an operator's through `nodewarden node …`, AKS's, or someone else's.

It sits where changes enter the record (`runtime.incident_keeper`, before `incidents.group`): the
Activity Log's writes come in with the journal's correlation ids and the operators' marks, and leave
with their `ChangeOrigin`. Only others' changes are evidence of a cause (`rank_change`); ours are
consequences, and an operator's are reported as operator actions with the person's name.

An operator's mark is also why a node went down: `excuse_operator_downtime` drops the node-down
signals a marked node raised while the mark lived, when the node came back by the mark's expiry, so
a person's restart is not a new failure. Pure: data in, data out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from nodewarden.incidents.group import FAMILY, Family
from nodewarden.model.aks import AUTO_REPAIR_CALLER
from nodewarden.model.incident import ChangeOrigin, ChangeRecord, SignalRecord
from nodewarden.model.operator_mark import OperatorMark

MARK_OPERATION = "nodewarden node"  # an operator's mark as a change: "nodewarden node restart: <reason>"
MARK_STATUS = "Marked"
NODE_PATH = "/api/v1/nodes/"  # a mark's resource: the Node, by its Kubernetes API path


@dataclass(frozen=True)
class Attribution:
    """What tells the origins apart: the journal's correlation ids, operators' marks, and known principals."""

    ours: frozenset[str] = frozenset()  # correlation ids of the journal's entries (state/steps.py `correlation_id_for`)
    marks: Mapping[str, Sequence[tuple[str, OperatorMark]]] | None = None  # (node, mark) by the mark's correlation id
    own_callers: frozenset[str] = frozenset()  # nodewarden's own principal(s), as configured (lower case)
    aks_callers: frozenset[str] = frozenset({AUTO_REPAIR_CALLER})  # AKS's own callers (lower case)

    def origin_of(self, change: ChangeRecord) -> ChangeRecord:
        """The change with its origin and actor; checked in this order:
        OPERATOR — its correlation id is an operator's mark's (the caller may be the very principal we run as);
        OURS — its correlation id is one of the journal's, or its caller is our own principal;
        AKS — its caller is AKS's (auto-repair's remediator, or a configured AKS identity);
        OTHERS — the rest. A change already attributed (not OTHERS) keeps its origin."""
        if change.origin is not ChangeOrigin.OTHERS:
            return change
        marked = (self.marks or {}).get(change.correlation_id, ()) if change.correlation_id else ()
        if marked:
            _, mark = marked[0]
            return replace(change, origin=ChangeOrigin.OPERATOR, actor=mark.actor, until=mark.expires)
        caller = change.caller.lower()
        if (change.correlation_id and change.correlation_id in self.ours) or caller in self.own_callers:
            return replace(change, origin=ChangeOrigin.OURS)
        if caller in self.aks_callers:
            return replace(change, origin=ChangeOrigin.AKS)
        return change

    def classify(self, changes: Iterable[ChangeRecord]) -> list[ChangeRecord]:
        return [self.origin_of(change) for change in changes]

    def windows(self) -> list[tuple[str, OperatorMark]]:
        """Every operator's mark with its node: when each node may be down on a person's account."""
        return [pair for pairs in (self.marks or {}).values() for pair in pairs]


def mark_change(mark: OperatorMark, *, node: str) -> ChangeRecord:
    """An operator's mark as the record keeps it: an OPERATOR change on the Node (its Kubernetes path) at the
    mark's time, by its actor, until its expiry; the operation names the step and the reason."""
    operation = f"{MARK_OPERATION} {mark.step.lower()}" + (f": {mark.reason}" if mark.reason else "")
    return ChangeRecord(
        at=mark.at,
        caller=mark.actor,
        operation=operation,
        resource=f"{NODE_PATH}{node}",
        status=MARK_STATUS,
        correlation_id=mark.correlation_id,
        origin=ChangeOrigin.OPERATOR,
        actor=mark.actor,
        until=mark.expires,
    )


def recorded_marks(changes: Iterable[ChangeRecord]) -> dict[str, list[tuple[str, OperatorMark]]]:
    """The operators' marks the record kept, by correlation id: (node, mark) pairs, so a change seen after its
    mark left the node (a later command replaced it) is still the operator's."""
    found: dict[str, list[tuple[str, OperatorMark]]] = {}
    for change in changes:
        if change.status != MARK_STATUS or change.origin is not ChangeOrigin.OPERATOR or change.until is None:
            continue
        node = change.resource.removeprefix(NODE_PATH)
        command, _, reason = change.operation.removeprefix(MARK_OPERATION).strip().partition(": ")
        mark = OperatorMark(
            step=command.capitalize(), actor=change.actor, reason=reason, at=change.at, expires=change.until,
            correlation_id=change.correlation_id,
        )  # fmt: skip
        found.setdefault(change.correlation_id, []).append((node, mark))
    return found


def excuse_operator_downtime(
    signals: Sequence[SignalRecord], marks: Iterable[tuple[str, OperatorMark]]
) -> list[SignalRecord]:
    """The signals without those an operator's action explains: node-down signals on a marked node first
    seen within [mark time, expiry], unless one of them was still seen after the expiry (the node did not
    come back: the signals stay, and the incident lists the operator action)."""
    excused: set[int] = set()
    for node, mark in marks:
        window = [
            i
            for i, s in enumerate(signals)
            if s.node == node and FAMILY.get(s.kind) is Family.NODE_DOWN and mark.at <= s.first_seen <= mark.expires
        ]
        if window and all(signals[i].last_seen <= mark.expires for i in window):
            excused.update(window)
    return [signal for i, signal in enumerate(signals) if i not in excused]
