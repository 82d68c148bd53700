"""After each controller cycle: keep the evidence, regroup incidents, rank their causes, tell people.

The signals detection saw and the Activity Log's changes go into the journal (one row per fact, with
first and last seen), alerts taken in on the listener join them, and the pure grouping and ranking
turn all of it into incidents in the store beside the journal. Each change is attributed on the way in
(`incidents.attribution`: ours, an operator's, AKS's or others'), each operator's mark seen on a node
is kept as an operator's change, and the node-down signals an operator's action explains are left out
of the grouping. An incident that opens, escalates to a human or resolves is sent to the notification
sinks on a worker thread, so a slow webhook never delays remediation.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from nodewarden.incidents import attribution
from nodewarden.incidents.affected import affected
from nodewarden.incidents.group import group
from nodewarden.incidents.rank import RankContext, rank
from nodewarden.model import operator_mark
from nodewarden.model.azure import ActivityLogEntry
from nodewarden.model.incident import ChangeRecord, HoldRecord, Incident, IncidentState
from nodewarden.model.operator_mark import OperatorMark
from nodewarden.model.remediation import JournalEntry, Step
from nodewarden.model.timestamps import parse_time
from nodewarden.notify.events import EventKind, NotificationEvent
from nodewarden.notify.notifier import Notifier
from nodewarden.runtime.alerts import AlertInbox
from nodewarden.runtime.controller import CycleReport
from nodewarden.runtime.metrics import ControllerMetrics
from nodewarden.state import IncidentRecord, Journal
from nodewarden.state.record import EXPIRE_EVERY, RETENTION, expire_incidents

log = logging.getLogger(__name__)

LOOKBACK = timedelta(hours=24)
CHANGING = ("/write", "/delete", "/action")  # Activity Log operations that change something


class IncidentKeeper:
    def __init__(
        self,
        journal: Journal,
        store: IncidentRecord,
        *,
        notifier: Notifier | None = None,
        metrics: ControllerMetrics | None = None,
        inbox: AlertInbox | None = None,
        lookback: timedelta = LOOKBACK,
        own_principals: frozenset[str] = frozenset(),
        retention: timedelta = RETENTION,
    ) -> None:
        self.journal = journal
        # nodewarden's own Activity Log caller(s) (its credential's object id), when configured: changes by
        # them are ours even without a journal entry (a drill's undo). The journal's correlation ids need no
        # configuration. Left empty, a person acting with the same credential is never mistaken for us.
        self.own_principals = frozenset(caller.lower() for caller in own_principals)
        self.store = store
        self.inbox = inbox
        self.lookback = lookback
        self.outbox = _Outbox(notifier, metrics=metrics) if notifier is not None else None
        self.retention = retention  # resolved incidents are kept this long
        self._expired_at: datetime | None = None

    def update(self, report: CycleReport) -> tuple[Incident, ...]:
        """Fold one cycle's evidence into the incidents; returns the incidents that changed (the leader's only)."""
        if not report.leader:
            return ()
        now = report.now
        since = now - self.lookback
        snapshot = report.observation.snapshot
        self.journal.record_signals(report.detection.signals, now)
        marks = operator_mark.marks_on(snapshot.nodes)
        self.journal.record_changes([attribution.mark_change(mark, node=node) for node, mark in marks])
        # one read of the steps serves both: their correlation ids (a change an hour before the look-back may
        # still be ours) and the grouping, which takes those within the look-back
        entries = self.journal.entries(since - timedelta(hours=1))
        whose = self._attribution(marks, entries, since=since - timedelta(hours=1))
        self.journal.record_changes(whose.classify(changes_in(snapshot.activity_log)))
        if self.inbox is not None:
            self.journal.record_signal_records(self.inbox.drain())
        existing = {  # what can still change: open incidents and those resolved within the look-back
            incident.id: incident
            for incident in self.store.list()
            if incident.resolved_at is None or incident.resolved_at >= since
        }
        incidents = group(
            attribution.excuse_operator_downtime(self.journal.signal_records(since), whose.windows()),
            [entry for entry in entries if entry.intent_at >= since],
            [HoldRecord(at, hold) for at, hold in self.journal.holds(since)],
            whose.classify(self.journal.changes(since - timedelta(hours=1))),
            list(existing.values()),
            now,
            episodes=self.journal.history(now).episodes,
        )
        for merged in existing.keys() - {incident.id for incident in incidents}:  # folded into an older one
            self.store.delete(merged)
        if self._expired_at is None or now - self._expired_at >= EXPIRE_EVERY:
            self._expired_at = now
            expire_incidents(self.store, now - self.retention)
        context = RankContext.of(report.observation.snapshot)
        changed: list[Incident] = []
        for incident in incidents:
            before = existing.get(incident.id)
            if incident.state is not IncidentState.RESOLVED or before is None:
                incident = replace(incident, hypotheses=rank(incident, context, now))
                incident = _with_affected(incident, before, report)
            if before == incident:
                continue
            self.store.save(incident)
            changed.append(incident)
            self._announce(before, incident)
        return tuple(changed)

    def _attribution(
        self, marks: list[tuple[str, OperatorMark]], entries: list[JournalEntry], *, since: datetime
    ) -> attribution.Attribution:
        """What tells origins apart this cycle: the journal's correlation ids, the marks on the nodes now and
        those kept from earlier cycles (a node's current mark wins over the kept copy of the same mark)."""
        kept = attribution.recorded_marks(self.journal.changes(since))
        for node, mark in marks:
            kept[mark.correlation_id] = [(node, mark)]
        ours = frozenset(entry.correlation_id for entry in entries if entry.correlation_id)
        return attribution.Attribution(ours=ours, marks=kept, own_callers=self.own_principals)

    def _announce(self, before: Incident | None, incident: Incident) -> None:
        if self.outbox is None:
            return
        if before is None:
            self.outbox.put(NotificationEvent(EventKind.OPENED, incident, f"opened: {incident.title}"))
        if _escalations(incident) > (_escalations(before) if before is not None else 0):
            text = f"needs a human: {incident.title}"
            self.outbox.put(NotificationEvent(EventKind.ESCALATED, incident, text))
        resolved_now = incident.state is IncidentState.RESOLVED
        if resolved_now and (before is None or before.state is not IncidentState.RESOLVED):
            self.outbox.put(NotificationEvent(EventKind.RESOLVED, incident, f"resolved: {incident.title}"))

    def close(self) -> None:
        if self.outbox is not None:
            self.outbox.close()


def changes_in(entries: Sequence[ActivityLogEntry]) -> list[ChangeRecord]:
    """Who changed what: the Activity Log's write, delete and action operations."""
    found = []
    for entry in entries:
        operation = entry.operation
        at = parse_time(entry.event_timestamp)
        if at is None or not operation.lower().endswith(CHANGING):
            continue
        found.append(
            ChangeRecord(
                at=at,
                caller=entry.caller or "",
                operation=operation,
                resource=entry.resource_id or "",
                status=entry.outcome,
                correlation_id=entry.correlation_id or "",
            )
        )
    return found


def _with_affected(incident: Incident, before: Incident | None, report: CycleReport) -> Incident:
    """The pods and workloads on the incident's nodes, kept from cycle to cycle (pods move once evicted)."""
    pods, workloads = affected(report.observation.snapshot, incident.nodes)
    if before is not None:
        pods, workloads = tuple(sorted({*before.pods, *pods})), tuple(sorted({*before.workloads, *workloads}))
    return replace(incident, pods=pods, workloads=workloads)


def _escalations(incident: Incident) -> int:
    return sum(1 for entry in incident.actions if entry.step is Step.ESCALATE)


class _Outbox:
    """Sends notifications one at a time on a worker thread and counts each delivery's outcome per sink (the
    NodewardenNotificationsFailing alert reads the failures, deploy/monitoring/); `close` waits for what is queued."""

    def __init__(self, notifier: Notifier, *, metrics: ControllerMetrics | None = None) -> None:
        self.notifier = notifier
        self.metrics = metrics
        if metrics is not None:
            metrics.expect_sinks([sink.name for sink in notifier.config.spec.sinks])
        self.queue: queue.Queue[NotificationEvent | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="notify", daemon=True)
        self.thread.start()

    def put(self, event: NotificationEvent) -> None:
        self.queue.put(event)

    def close(self, timeout: float = 30.0) -> None:
        self.queue.put(None)
        self.thread.join(timeout)

    def _run(self) -> None:
        while (event := self.queue.get()) is not None:
            for delivery in self.notifier.notify(event):
                if self.metrics is not None:
                    self.metrics.count_delivery(delivery)
                log.info(
                    "notified",
                    extra={"sink": delivery.sink, "event": event.kind.value, "incident": event.incident.id,
                           "outcome": delivery.outcome.value, "attempts": delivery.attempts},
                )  # fmt: skip
