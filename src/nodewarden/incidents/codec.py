"""An incident's JSON shape: the `-o json` report and the document the incident store keeps.

camelCase keys, times as ISO-8601 UTC text ending in `Z`, enums as their values, and
`incident_from_dict(incident_to_dict(incident)) == incident`. `mttdSeconds` and `mttrSeconds` are written
for readers and ignored when reading (they follow from the times). A drill's verdict is written under
`verdict` only when there is one, so an incident without a verdict keeps the document it always had, and a
document from before drills (no `verdict` key) still reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from nodewarden.errors import SchemaError
from nodewarden.model.drill import CheckPhase, CheckResult, Verdict
from nodewarden.model.health import SignalKind
from nodewarden.model.incident import (
    CauseKind,
    ChangeOrigin,
    ChangeRecord,
    Evidence,
    HoldRecord,
    Hypothesis,
    Incident,
    IncidentState,
    SignalRecord,
)
from nodewarden.model.remediation import Hold, HoldReason, JournalEntry, Outcome, Step

Document = dict[str, Any]
_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")


class IncidentFormatError(SchemaError):
    """An incident document has a missing field or one of the wrong type."""


def incident_to_dict(incident: Incident) -> Document:
    document: Document = {
        "id": incident.id,
        "title": incident.title,
        "state": incident.state.value,
        "impactStart": time_text(incident.impact_start),
        "detectedAt": time_text(incident.detected_at),
        "mitigationStartedAt": maybe_time_text(incident.mitigation_started_at),
        "mitigatedAt": maybe_time_text(incident.mitigated_at),
        "resolvedAt": maybe_time_text(incident.resolved_at),
        "mttdSeconds": incident.mttd,
        "mttrSeconds": incident.mttr,
        "pool": incident.pool,
        "zone": incident.zone,
        "drill": incident.drill,
        "nodes": list(incident.nodes),
        "instances": list(incident.instances),
        "pods": list(incident.pods),
        "workloads": list(incident.workloads),
        "signals": [_signal_to_dict(s) for s in incident.signals],
        "actions": [entry_to_dict(a) for a in incident.actions],
        "holds": [_hold_to_dict(h) for h in incident.holds],
        "changes": [_change_to_dict(c) for c in incident.changes],
        "hypotheses": [_hypothesis_to_dict(h) for h in incident.hypotheses],
    }
    if incident.verdict is not None:
        document["verdict"] = verdict_to_dict(incident.verdict)
    return document


def incident_from_dict(document: Mapping[str, Any]) -> Incident:
    """The incident a document describes; IncidentFormatError names the first field that is wrong."""
    where = f"incident {document.get('id', '?')!s}" if isinstance(document, Mapping) else "incident"
    doc = Reader(document, where)
    return Incident(
        id=doc.text("id"),
        title=doc.text("title"),
        state=doc.enum("state", IncidentState),
        impact_start=doc.time("impactStart"),
        detected_at=doc.time("detectedAt"),
        mitigation_started_at=doc.maybe_time("mitigationStartedAt"),
        mitigated_at=doc.maybe_time("mitigatedAt"),
        resolved_at=doc.maybe_time("resolvedAt"),
        pool=doc.maybe_text("pool"),
        zone=doc.maybe_text("zone"),
        drill=doc.maybe_text("drill"),
        verdict=doc.maybe_item("verdict", _verdict_from),
        nodes=doc.texts("nodes"),
        instances=doc.texts("instances"),
        pods=doc.texts("pods"),
        workloads=doc.texts("workloads"),
        signals=doc.items("signals", _signal_from),
        actions=doc.items("actions", _action_from),
        holds=doc.items("holds", _hold_from),
        changes=doc.items("changes", _change_from),
        hypotheses=doc.items("hypotheses", _hypothesis_from),
    )


# -- parts, out -----------------------------------------------------------------------------------------


def _signal_to_dict(s: SignalRecord) -> Document:
    return {
        "kind": s.kind.value,
        "subject": s.subject,
        "since": time_text(s.since),
        "firstSeen": time_text(s.first_seen),
        "lastSeen": time_text(s.last_seen),
        "message": s.message,
        "evidence": list(s.evidence),
        "node": s.node,
        "pool": s.pool,
        "zone": s.zone,
        "instance": s.instance,
        "image": s.image,
        "condition": s.condition,
        "source": s.source,
    }


def entry_to_dict(a: JournalEntry) -> Document:
    """A journal entry (an incident's action, a NodeRemediation's intent) as JSON."""
    return {
        "key": a.key,
        "episode": a.episode,
        "step": a.step.value,
        "subject": a.subject,
        "intentAt": time_text(a.intent_at),
        "outcome": a.outcome.value,
        "outcomeAt": maybe_time_text(a.outcome_at),
        "detail": a.detail,
        "correlationId": a.correlation_id,
        "node": a.node,
        "pool": a.pool,
        "count": a.count,
        "leader": a.leader,
        "leaseTransitions": a.lease_transitions,
    }


def _hold_to_dict(h: HoldRecord) -> Document:
    return {
        "at": time_text(h.at),
        "reason": h.hold.reason.value,
        "subject": h.hold.subject,
        "message": h.hold.message,
        "node": h.hold.node,
        "pool": h.hold.pool,
        "zone": h.hold.zone,
        "step": h.hold.step.value if h.hold.step else None,
    }


def _change_to_dict(c: ChangeRecord) -> Document:
    return {
        "at": time_text(c.at),
        "caller": c.caller,
        "operation": c.operation,
        "resource": c.resource,
        "status": c.status,
        "correlationId": c.correlation_id,
        "origin": c.origin.value,
        "actor": c.actor,
        "until": None if c.until is None else time_text(c.until),
    }


def _hypothesis_to_dict(h: Hypothesis) -> Document:
    return {
        "cause": h.cause.value,
        "score": h.score,
        "summary": h.summary,
        "supporting": [_evidence_to_dict(e) for e in h.supporting],
        "against": [_evidence_to_dict(e) for e in h.against],
    }


def _evidence_to_dict(e: Evidence) -> Document:
    return {"text": e.text, "at": maybe_time_text(e.at), "weight": e.weight}


def verdict_to_dict(v: Verdict) -> Document:
    return {
        "drill": v.drill,
        "passed": v.passed,
        "fault": v.fault,
        "targets": list(v.targets),
        "startedAt": time_text(v.started_at),
        "faultAt": maybe_time_text(v.fault_at),
        "endedAt": time_text(v.ended_at),
        "detectedAt": maybe_time_text(v.detected_at),
        "restoredAt": maybe_time_text(v.restored_at),
        "aborted": v.aborted,
        "rollback": v.rollback,
        "checks": [_check_to_dict(c) for c in v.checks],
    }


def _check_to_dict(c: CheckResult) -> Document:
    return {
        "phase": c.phase.value,
        "name": c.name,
        "passed": c.passed,
        "target": c.target,
        "measured": c.measured,
        "value": c.value,
    }


def time_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def maybe_time_text(moment: datetime | None) -> str | None:
    return None if moment is None else time_text(moment)


# -- parts, in ------------------------------------------------------------------------------------------


def entry_from_dict(document: object, where: str) -> JournalEntry:
    """The journal entry a document describes; IncidentFormatError names `where` and the field that is wrong."""
    return _action_from(Reader(document, where))


def _signal_from(doc: Reader) -> SignalRecord:
    return SignalRecord(
        kind=doc.enum("kind", SignalKind),
        subject=doc.text("subject"),
        since=doc.time("since"),
        first_seen=doc.time("firstSeen"),
        last_seen=doc.time("lastSeen"),
        message=doc.text("message"),
        evidence=doc.texts("evidence"),
        node=doc.maybe_text("node"),
        pool=doc.maybe_text("pool"),
        zone=doc.maybe_text("zone"),
        instance=doc.maybe_text("instance"),
        image=doc.maybe_text("image"),
        condition=doc.maybe_text("condition"),
        source=doc.text("source"),
    )


def _action_from(doc: Reader) -> JournalEntry:
    return JournalEntry(
        key=doc.text("key"),
        episode=doc.text("episode"),
        step=doc.enum("step", Step),
        subject=doc.text("subject"),
        intent_at=doc.time("intentAt"),
        outcome=doc.enum("outcome", Outcome),
        outcome_at=doc.maybe_time("outcomeAt"),
        detail=doc.text("detail"),
        correlation_id=doc.text("correlationId"),
        node=doc.maybe_text("node"),
        pool=doc.maybe_text("pool"),
        count=doc.maybe_int("count"),
        leader=doc.maybe_text("leader"),
        lease_transitions=doc.maybe_int("leaseTransitions"),
    )


def _hold_from(doc: Reader) -> HoldRecord:
    step = doc.maybe_text("step")
    hold = Hold(
        reason=doc.enum("reason", HoldReason),
        subject=doc.text("subject"),
        message=doc.text("message"),
        node=doc.maybe_text("node"),
        pool=doc.maybe_text("pool"),
        zone=doc.maybe_text("zone"),
        step=None if step is None else doc.enum("step", Step),
    )
    return HoldRecord(at=doc.time("at"), hold=hold)


def _change_from(doc: Reader) -> ChangeRecord:
    return ChangeRecord(
        at=doc.time("at"),
        caller=doc.text("caller"),
        operation=doc.text("operation"),
        resource=doc.text("resource"),
        status=doc.text("status"),
        correlation_id=doc.text("correlationId"),
        # documents written before attribution (issue 12) have no origin, actor or until
        origin=doc.enum("origin", ChangeOrigin) if "origin" in doc.document else ChangeOrigin.OTHERS,
        actor=doc.maybe_text("actor") or "",
        until=doc.maybe_time("until"),
    )


def _hypothesis_from(doc: Reader) -> Hypothesis:
    return Hypothesis(
        cause=doc.enum("cause", CauseKind),
        score=doc.number("score"),
        summary=doc.text("summary"),
        supporting=doc.items("supporting", _evidence_from),
        against=doc.items("against", _evidence_from),
    )


def _evidence_from(doc: Reader) -> Evidence:
    return Evidence(text=doc.text("text"), at=doc.maybe_time("at"), weight=doc.number("weight"))


def _verdict_from(doc: Reader) -> Verdict:
    return Verdict(
        drill=doc.text("drill"),
        passed=doc.flag("passed"),
        fault=doc.text("fault"),
        targets=doc.texts("targets"),
        started_at=doc.time("startedAt"),
        fault_at=doc.maybe_time("faultAt"),
        ended_at=doc.time("endedAt"),
        detected_at=doc.maybe_time("detectedAt"),
        restored_at=doc.maybe_time("restoredAt"),
        aborted=doc.maybe_text("aborted"),
        rollback=doc.maybe_text("rollback"),
        checks=doc.items("checks", _check_from),
    )


def _check_from(doc: Reader) -> CheckResult:
    return CheckResult(
        phase=doc.enum("phase", CheckPhase),
        name=doc.text("name"),
        passed=doc.flag("passed"),
        target=doc.text("target"),
        measured=doc.text("measured"),
        value=doc.maybe_number("value"),
    )


class Reader:
    """Typed access to one JSON object; every failure names the field's path."""

    def __init__(self, document: object, where: str) -> None:
        if not isinstance(document, Mapping):
            raise IncidentFormatError(f"{where}: expected an object, found {type(document).__name__}")
        self.document = document
        self.where = where

    def _get(self, key: str, kinds: tuple[type, ...], wanted: str, *, optional: bool = False) -> Any:
        if key not in self.document and not optional:
            raise IncidentFormatError(f"{self.where}.{key}: missing")
        value = self.document.get(key)
        if value is None and optional:
            return None
        # JSON's true is a Python int: a boolean only counts where a boolean is wanted.
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise IncidentFormatError(f"{self.where}.{key}: expected {wanted}, found {value!r}")
        return value

    def text(self, key: str) -> str:
        return str(self._get(key, (str,), "a string"))

    def maybe_text(self, key: str) -> str | None:
        value = self._get(key, (str,), "a string or null", optional=True)
        return None if value is None else str(value)

    def number(self, key: str) -> float:
        return float(self._get(key, (int, float), "a number"))

    def maybe_number(self, key: str) -> float | None:
        value = self._get(key, (int, float), "a number or null", optional=True)
        return None if value is None else float(value)

    def flag(self, key: str) -> bool:
        return bool(self._get(key, (bool,), "true or false"))

    def maybe_int(self, key: str) -> int | None:
        value = self._get(key, (int,), "an integer or null", optional=True)
        return None if value is None else int(value)

    def time(self, key: str) -> datetime:
        return self._parse_time(key, self.text(key))

    def maybe_time(self, key: str) -> datetime | None:
        text = self.maybe_text(key)
        return None if text is None else self._parse_time(key, text)

    def _parse_time(self, key: str, text: str) -> datetime:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise IncidentFormatError(f"{self.where}.{key}: expected an ISO-8601 time with a zone, found {text!r}")
        return moment

    def enum(self, key: str, kind: type[_E]) -> _E:
        text = self.text(key)
        try:
            return kind(text)
        except ValueError:
            allowed = ", ".join(member.value for member in kind)
            raise IncidentFormatError(f"{self.where}.{key}: expected one of {allowed}, found {text!r}") from None

    def texts(self, key: str) -> tuple[str, ...]:
        values = self._get(key, (list,), "a list of strings")
        for n, value in enumerate(values):
            if not isinstance(value, str):
                raise IncidentFormatError(f"{self.where}.{key}[{n}]: expected a string, found {value!r}")
        return tuple(values)

    def items(self, key: str, read: Callable[[Reader], _T]) -> tuple[_T, ...]:
        values = self._get(key, (list,), "a list of objects")
        return tuple(read(Reader(value, f"{self.where}.{key}[{n}]")) for n, value in enumerate(values))

    def maybe_item(self, key: str, read: Callable[[Reader], _T]) -> _T | None:
        """An optional object: a missing key or null is None."""
        value = self._get(key, (Mapping,), "an object or null", optional=True)
        return None if value is None else read(Reader(value, f"{self.where}.{key}"))
