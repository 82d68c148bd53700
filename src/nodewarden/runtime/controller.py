"""The reconcile loop of `nodewarden run`: observe → detect → plan → act, one cycle at a time.

Each cycle reads `now` from the clock (the API server's), renews leadership, settles intents left by a
crash, observes, detects, plans and — only as the leader and only when applying — executes. Everything
the planner declined, and every action a dry run or a follower would have taken, is a Hold: journaled
(dry run) and published as an Event (when acting). The episodes the plan closes (heal/lifecycle.py) are
journaled here when acting; the loop decides no closure itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from nodewarden.act.events import EventRecorder
from nodewarden.act.results import STEP_ACTIONS
from nodewarden.detect.engine import detect
from nodewarden.detect.metrics import NodeMetrics
from nodewarden.detect.settings import DetectSettings
from nodewarden.errors import LeaseLostError, NodewardenError
from nodewarden.heal import lifecycle
from nodewarden.heal.detection import detect_settings, journal_states
from nodewarden.heal.planner import plan as make_plan
from nodewarden.heal.policy import Policy
from nodewarden.model.health import Detection, HealthState, NodeHealth
from nodewarden.model.remediation import (
    Closure,
    EpisodeState,
    History,
    Hold,
    HoldReason,
    JournalEntry,
    Plan,
    Step,
)
from nodewarden.model.snapshot import Snapshot
from nodewarden.runtime.clock import Clock
from nodewarden.runtime.executor import Executor
from nodewarden.runtime.leader import LeaderElector
from nodewarden.runtime.metrics import ControllerMetrics
from nodewarden.runtime.observer import Observation
from nodewarden.state import Journal
from nodewarden.state.record import EXPIRE_EVERY, RETENTION, RecordWriteError

log = logging.getLogger(__name__)


class Observer(Protocol):
    def observe(self, now: datetime) -> Observation: ...

    def refresh_azure(self) -> None: ...


@dataclass(frozen=True)
class CycleReport:
    now: datetime
    leader: bool
    acting: bool  # leader and applying
    observation: Observation
    detection: Detection
    plan: Plan
    executed: tuple[JournalEntry, ...]
    holds: tuple[Hold, ...]  # the planner's, plus what a dry run or a follower would have done
    resumed: tuple[JournalEntry, ...] = ()


class Controller:
    def __init__(
        self,
        *,
        observer: Observer,
        journal: Journal,
        executor: Executor,
        policy: Policy,
        clock: Clock,
        apply: bool,
        settings: DetectSettings | None = None,
        elector: LeaderElector | None = None,
        metrics: ControllerMetrics | None = None,
        recorder: EventRecorder | None = None,
        on_cycle: Callable[[CycleReport], object] | None = None,
        node_metrics: Callable[[datetime], NodeMetrics | None] | None = None,
        planning: bool = True,
        retention: timedelta = RETENTION,
    ) -> None:
        self.observer = observer
        self.journal = journal
        self.executor = executor
        self.policy = policy
        self.clock = clock
        self.apply = apply
        self.settings = settings or detect_settings(policy)
        self.elector = elector
        self.metrics = metrics
        self.recorder = recorder
        self.on_cycle = on_cycle
        self.node_metrics = node_metrics
        self.planning = planning  # False: detect and keep incidents only (a drill beside a deployed controller)
        self.health: dict[str, NodeHealth] | None = None  # None: not read from the journal yet
        self._resumed = False
        self._saved_as_leader = False  # saved node health last cycle, as the leader
        self.retention = retention  # closed episodes are kept this long
        self._expired_at: datetime | None = None

    def cycle(self) -> CycleReport:
        started = time.monotonic()
        now = self.clock.sync()
        leader = self.elector.tick(now) if self.elector is not None else True
        acting = leader and self.apply
        resumed: tuple[JournalEntry, ...] = ()
        if not leader:
            self._refresh()  # a follower's view of a record the leader writes (the cluster's)
        unread = acting and not self._resumed and not self._refresh()  # what the last leader wrote, first
        acting = acting and not unread
        if not acting:
            self._resumed = False  # leading again later, settle what was left pending meanwhile
        elif not self._resumed:
            try:
                resumed = tuple(self.executor.resume(now))
                self._resumed = True
            except LeaseLostError as exc:
                self._lease_lost(exc)
        observation = self.observer.observe(now)
        history = self.journal.history(now)
        detection = self._detect(observation.snapshot, history, now)
        # the leader's memory is the one the next acting cycle carries on from; a follower sharing the state dir,
        # or a detect-only controller (a drill's), leaves it alone
        if leader and self.planning:
            self.journal.save_health(detection.health, now=now, reread=not self._saved_as_leader)
        self._saved_as_leader = leader and self.planning
        plan = make_plan(
            observation.snapshot, detection, history, self.policy, now,
            synced=observation.synced, observed_at=observation.observed_at,
        ) if self.planning else Plan(now)  # fmt: skip
        executed: list[JournalEntry] = []
        holds = list(plan.holds)
        if acting:
            try:
                for action in plan.actions:
                    try:
                        executed.append(self.executor.execute(action, self.clock.now()))
                    except RecordWriteError as exc:  # no intent: nothing sent; no outcome: resume settles it next
                        self._resumed = False
                        log.warning("record.write_failed", extra={"step": action.step.value, "subject": action.subject,
                                                                  "error": str(exc)})  # fmt: skip
            except LeaseLostError as exc:
                self._lease_lost(exc)
            if any(entry.step.spec.needs_azure for entry in executed):
                self.observer.refresh_azure()  # see what we just changed at the next cycle
            # the executor journaled the closures its steps brought about (lifecycle.closure_after)
            ended = [closure for entry in executed if (closure := lifecycle.closure_after(entry)) is not None]
            self._recovered([c for c in ended if c.state is EpisodeState.RECOVERED], history, now)
            self._apply_closures(plan.closures, history, now)
            self._expire(now)
        else:
            reason = (
                HoldReason.RECORD_UNAVAILABLE if unread else HoldReason.DRY_RUN if leader else HoldReason.NOT_LEADER
            )
            holds += [
                Hold(reason, a.subject, f"would {a.step.value.lower()} {a.subject}: {a.reason}", node=a.node,
                     pool=a.pool, zone=a.zone, step=a.step)
                for a in plan.actions
            ]  # fmt: skip
        if leader:
            self._record_holds(holds, now, publish=acting)
        report = CycleReport(now, leader, acting, observation, detection, plan, tuple(executed), tuple(holds), resumed)
        self._observe_metrics(report, time.monotonic() - started)
        if self.on_cycle is not None:
            try:
                self.on_cycle(report)
            except NodewardenError as exc:  # the incidents are brought up to date at the next cycle
                log.warning("incidents.not_kept", extra={"error": str(exc)})
        return report

    def _refresh(self) -> bool:
        """Read the record again where another replica writes it; False (and a warning) when it cannot be read."""
        try:
            self.journal.refresh()
        except NodewardenError as exc:
            log.warning("record.not_read", extra={"error": str(exc)})
            return False
        return True

    def _detect(self, snapshot: Snapshot, history: History, now: datetime) -> Detection:
        remediating, failed = journal_states(snapshot, history)
        # the state machine's memory: last cycle's, or on the first cycle what the journal kept (so a restarted
        # controller, and `plan --state-dir`, carry on from where the last cycle left off)
        previous = self.health if self.health is not None else self.journal.node_health(now=now)
        metrics = self.node_metrics(now) if self.node_metrics is not None else None
        detection = detect(
            snapshot, previous, now, self.settings, remediating=remediating, failed=failed, metrics=metrics
        )
        self.health = detection.health
        if self.metrics is not None:
            for name, health in detection.health.items():
                before = previous.get(name)
                newly_bad = health.state in (HealthState.SUSPECT, HealthState.UNHEALTHY)
                if newly_bad and (before is None or before.state is HealthState.HEALTHY) and health.problem_since:
                    self.metrics.detection_latency.observe(max(0.0, (now - health.problem_since).total_seconds()))
        return detection

    def _record_holds(self, holds: list[Hold], now: datetime, *, publish: bool) -> None:
        for hold in holds:
            new = self.journal.hold(hold, now)
            if not new:
                continue
            log.info(
                "hold",
                extra={"reason": hold.reason.value, "subject": hold.subject, "node": hold.node,
                       "step": hold.step.value if hold.step else None, "detail": hold.message},
            )  # fmt: skip
            if publish and self.recorder is not None and hold.node:
                try:
                    action = STEP_ACTIONS[hold.step or Step.CORDON]
                    self.recorder.record(hold.node, action=action, reason=hold.reason.value, note=hold.message,
                                         warning=hold.reason is not HoldReason.WAITING)  # fmt: skip
                except LeaseLostError as exc:
                    self._lease_lost(exc)
                    publish = False

    def _expire(self, now: datetime) -> None:
        """Forget episodes closed longer ago than the retention, at most once an hour."""
        if self._expired_at is not None and now - self._expired_at < EXPIRE_EVERY:
            return
        self._expired_at = now
        try:
            gone = self.journal.expire(now, self.retention)
        except LeaseLostError as exc:
            self._lease_lost(exc)
            return
        except NodewardenError as exc:  # the API failing: what is old stays until the next hour's try
            log.warning("record.not_expired", extra={"error": str(exc)})
            return
        if gone:
            log.info("record.expired", extra={"episodes": gone, "retention_days": self.retention.days})

    def _lease_lost(self, exc: LeaseLostError) -> None:
        """The Lease went while acting: the step stopped before its next change and its intent stays pending."""
        log.warning("leader.lost_while_acting", extra={"error": str(exc)})
        self._resumed = False

    def _apply_closures(self, closures: tuple[Closure, ...], history: History, now: datetime) -> None:
        closed = []
        for closure in closures:
            try:
                self.journal.close_episode(closure.episode, closure.state, now, closure.note)
            except RecordWriteError as exc:  # the next cycle decides the closure again (and counts it then)
                log.warning("record.write_failed", extra={"episode": closure.episode, "error": str(exc)})
                continue
            closed.append(closure)
        self._recovered([c for c in closed if c.state is EpisodeState.RECOVERED], history, now)

    def _recovered(self, closures: list[Closure], history: History, now: datetime) -> None:
        """The recovery-time metric: from each recovered episode's opening to `now`."""
        if self.metrics is None:
            return
        opened = {episode.id: episode.opened_at for episode in history.episodes}
        for closure in closures:
            if closure.episode in opened:
                self.metrics.recovery_latency.observe(max(0.0, (now - opened[closure.episode]).total_seconds()))

    def _observe_metrics(self, report: CycleReport, seconds: float) -> None:
        metrics = self.metrics
        if metrics is None:
            return
        metrics.observe_health(report.detection.health)
        metrics.observe_signals(report.detection.signals)
        for entry in report.executed:
            metrics.actions.labels(step=entry.step.value, outcome=entry.outcome.value).inc()
        for hold in report.holds:
            metrics.holds.labels(reason=hold.reason.value).inc()
        metrics.journal_backlog.set(self.journal.backlog())
        metrics.leader.set(1 if report.leader else 0)
        metrics.last_cycle.set(report.now.timestamp())
        metrics.cycle_seconds.observe(seconds)
