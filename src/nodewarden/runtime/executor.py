"""Carries out planned steps through the act/ adapters, with the write-ahead journal around each call.

Intent is journaled before the call and the outcome after, under the step's idempotency key; ARM calls
carry a correlation id derived from that key. After a crash, `resume` settles every intent that has no
outcome: Kubernetes steps are idempotent and simply run again; an ARM step first looks for its
correlation id in the Activity Log, and for a newer provisioning time on the instance, so an operation
Azure already took is recorded, not repeated, and the outcome Event it would have posted is posted.

With leader election, every intent names the Lease holder and its transition count, and the clients
the executor acts through refuse any change once the Lease is lost (connection.fenced): LeaseLostError
goes up to the loop, the intent stays pending, and whoever leads next settles it as after a crash.
Events are keyed by the step's journal key (act/events.py), so a step redone posts none twice.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from nodewarden.act import azure_actions, kube_actions
from nodewarden.act.events import EventRecorder
from nodewarden.act.results import STEP_ACTIONS, EventReason
from nodewarden.connection import Connection
from nodewarden.errors import ActionError, ActionTimedOutError, InputError, LeaseLostError, NodewardenError
from nodewarden.heal import lifecycle
from nodewarden.model.health import NODE_DOWN, SignalKind
from nodewarden.model.remediation import Episode, JournalEntry, Outcome, PlannedAction, Step
from nodewarden.observe.activity import activity_by_correlation
from nodewarden.runtime.clock import Clock
from nodewarden.runtime.leader import LeaderElector
from nodewarden.state import Journal, correlation_id_for

log = logging.getLogger(__name__)

QUARANTINE_TAINT = "nodewarden.io/quarantined"
FAILPOINT_VARIABLE = "NODEWARDEN_FAILPOINT"


@dataclass(frozen=True)
class Done:
    outcome: Outcome
    detail: str = ""


class Executor:
    def __init__(
        self,
        connection: Connection,
        journal: Journal,
        clock: Clock,
        *,
        recorder: EventRecorder | None = None,
        progress: Callable[[str], None] = lambda _: None,
        elector: LeaderElector | None = None,
    ) -> None:
        self.connection = connection
        self.journal = journal
        self.clock = clock
        self.recorder = recorder
        self.elector = elector  # None: no leader election, every intent is ours
        self.progress = progress

    # -- one planned step ---------------------------------------------------------------------------

    def execute(self, action: PlannedAction, now: datetime) -> JournalEntry:
        """Journal the intent, act, journal the outcome; returns the settled entry.

        Raises LeaseLostError, leaving the intent pending, once this replica no longer holds the Lease."""
        if self.elector is not None:
            self.elector.ensure(self.clock.sync())  # journal nothing a follower would have to settle
        self.journal.open_episode(
            Episode(
                id=action.episode,
                node=action.node or action.subject,
                opened_at=now,
                pool=action.pool,
                zone=action.zone,
                instance=action.instance,
                image=action.image,
                causes=action.causes,
            )
        )
        entry = self.journal.intend(
            JournalEntry(
                key=action.key,
                episode=action.episode,
                step=action.step,
                subject=action.subject,
                intent_at=now,
                correlation_id=correlation_id_for(action.key),
                node=action.node,
                pool=action.pool,
                count=action.count,
                # a SCALE's reason carries the original count, which the scale-back restores
                detail=action.reason if action.step is Step.SCALE else "",
                leader=self.elector.identity if self.elector is not None else None,
                lease_transitions=self.elector.transitions if self.elector is not None else None,
            )
        )
        if entry.outcome is not Outcome.PENDING:
            return entry  # this key was settled before: never act twice
        if entry.intent_at != now or entry.leader != (self.elector.identity if self.elector else None):
            # journaled earlier (by a replica that lost the Lease, or a process that died): it may have been
            # sent, so settle it as after a crash instead of sending it again
            return self._resume_one(entry, now)
        failpoint("after-intent", entry.step)
        log.info(
            "action.start",
            extra={"step": action.step.value, "node": action.node, "pool": action.pool, "key": action.key,
                   "episode": action.episode, "reason": action.reason},
        )  # fmt: skip
        done = self._act(action, entry)
        return self._settle(entry, done)

    def _settle(self, entry: JournalEntry, done: Done) -> JournalEntry:
        failpoint("after-call", entry.step)
        at = self.clock.now()
        self.journal.record(entry.key, done.outcome, at, done.detail)
        log.info(
            "action.end",
            extra={"step": entry.step.value, "node": entry.node, "key": entry.key, "outcome": done.outcome.value,
                   "detail": done.detail},
        )  # fmt: skip
        settled = replace(entry, outcome=done.outcome, outcome_at=at, detail=done.detail)
        # heal decides whether this step ended its episode; closing it now, not at the next plan, keeps the
        # node out of Remediating in this cycle's incident figures and the next cycle's detection
        closure = lifecycle.closure_after(settled)
        if closure is not None:
            self.journal.close_episode(closure.episode, closure.state, at, closure.note)
        return settled

    def _act(self, action: PlannedAction, entry: JournalEntry) -> Done:
        try:
            return self._dispatch(action, entry)
        except ActionTimedOutError as exc:
            return Done(Outcome.TIMED_OUT, str(exc))
        except ActionError as exc:
            return Done(Outcome.FAILED, str(exc))
        except LeaseLostError:
            raise  # not an outcome: the step stopped, and the leader settles its intent
        except NodewardenError as exc:
            return Done(Outcome.FAILED, str(exc))

    def _recorder_for(self, entry: JournalEntry) -> EventRecorder | None:
        return self.recorder.for_step(entry.key) if self.recorder is not None else None

    def _dispatch(self, action: PlannedAction, entry: JournalEntry) -> Done:
        recorder = self._recorder_for(entry)
        if action.step.spec.needs_azure:
            return self._azure_step(action, entry, recorder)
        return self._kube_step(action, recorder)

    def _kube_step(self, action: PlannedAction, recorder: EventRecorder | None) -> Done:
        kube = self.connection.kube
        assert kube is not None
        node = action.node or ""
        step = action.step
        if step is Step.CORDON:
            changed = kube_actions.cordon(kube, node, recorder=recorder, note=action.reason)
            return Done(Outcome.SUCCEEDED, "cordoned" if changed else "already cordoned")
        if step is Step.UNCORDON:
            kube_actions.untaint(kube, node, key=QUARANTINE_TAINT, recorder=recorder)
            changed = kube_actions.uncordon(kube, node, recorder=recorder, note=action.reason)
            return Done(Outcome.SUCCEEDED, "uncordoned" if changed else "was not cordoned")
        if step is Step.DRAIN:
            return self._drain(action, recorder)
        if step in (Step.FENCE, Step.UNFENCE):
            return self._fence(action, recorder)
        if step is Step.ESCALATE:
            kube_actions.cordon(kube, node, recorder=recorder, note="quarantined")
            kube_actions.taint(kube, node, key=QUARANTINE_TAINT, value="true", effect="NoSchedule",
                               recorder=recorder)  # fmt: skip
            if recorder is not None:
                recorder.record(node, action=STEP_ACTIONS[step], reason="Escalated", note=action.reason, warning=True)
            log.error("escalated", extra={"node": node, "episode": action.episode, "reason": action.reason})
            return Done(Outcome.SUCCEEDED, f"quarantined and handed to a human: {action.reason}")
        raise AssertionError(f"{step.value} is not a Kubernetes step")  # model/remediation.py STEP_SPECS

    def _fence(self, action: PlannedAction, recorder: EventRecorder | None) -> Done:
        """Add (FENCE) or remove (UNFENCE) the out-of-service taint the plan names: with it, the pod garbage collector
        deletes the node's pods and their volumes detach (Kubernetes non-graceful node shutdown)."""
        kube = self.connection.kube
        assert kube is not None
        node = action.node or ""
        key, value, effect = taint_parts(action.taint or "")
        if action.step is Step.FENCE:
            changed = kube_actions.taint(kube, node, key=key, value=value, effect=effect, recorder=recorder)
            return Done(Outcome.SUCCEEDED, f"fenced: {action.taint}" if changed else "already fenced")
        changed = kube_actions.untaint(kube, node, key=key, effect=effect, recorder=recorder)
        return Done(Outcome.SUCCEEDED, f"unfenced: {key} removed" if changed else "was not fenced")

    def _azure_step(self, action: PlannedAction, entry: JournalEntry, recorder: EventRecorder | None) -> Done:
        azure = self.connection.azure
        step = action.step
        if azure is None:
            return Done(Outcome.FAILED, f"{step.value} needs Azure access; none configured")
        timeout = _time_allowed(action)
        if step is Step.SCALE:
            result = azure_actions.scale_pool(
                azure, action.pool or action.subject, int(action.count or 0), timeout=timeout,
                correlation_id=entry.correlation_id, progress=self.progress, wait=False,
            )  # fmt: skip
            # not waited for: a pool scale takes minutes, and the loop must keep watching meanwhile (the
            # pool's provisioning state holds other steps in it until the scale is done)
            return Done(Outcome.SUCCEEDED, "; ".join(result.steps))
        ref = self._instance_now(action.node or "")
        if step is Step.REPLACE:
            result = azure_actions.replace(
                azure, ref, timeout=timeout, recorder=recorder, progress=self.progress,
                correlation_id=entry.correlation_id,
            )  # fmt: skip
            return Done(Outcome.SUCCEEDED, "; ".join(result.steps))
        result = azure_actions.run_instance_action(
            azure, ref, STEP_ACTIONS[step], timeout=timeout, recorder=recorder, progress=self.progress,
            correlation_id=entry.correlation_id,
        )  # fmt: skip
        return Done(Outcome.SUCCEEDED, f"operation {', '.join(result.operation_ids)}")

    def _instance_now(self, node: str) -> azure_actions.InstanceRef:
        """The node's scale-set instance, read from the Node now rather than from the plan's `instance`: ARM needs
        the subscription and node resource group its providerID names, which the instance key ("<vmss>/<id>")
        lacks, and a node gone since the plan fails the step here instead of an operation going to a VM that has
        left the cluster."""
        kube = self.connection.kube
        assert kube is not None
        return azure_actions.instance_of(kube_actions.read_node(kube, node))

    def _drain(self, action: PlannedAction, recorder: EventRecorder | None) -> Done:
        kube = self.connection.kube
        assert kube is not None
        node = action.node or ""
        started = self.clock.now()
        result = kube_actions.drain(
            kube,
            node,
            timeout=_time_allowed(action),
            force=action.force,
            recorder=recorder,
            progress=self.progress,
            wait=self.clock.sleep,
            monotonic=lambda: (self.clock.now() - started).total_seconds(),
            # pods Terminating on a node whose kubelet is gone never finish: the plan's causes say whether it was,
            # the node's readiness now whether it has gone since the plan
            skip_terminating=bool(NODE_DOWN & set(action.causes)) or not kube_actions.read_node(kube, node).ready,
        )
        if result.ok:
            return Done(Outcome.SUCCEEDED, f"{len(result.evicted)} pod(s) evicted")
        why = "; ".join(b.describe() for b in result.blockers) or "pods did not terminate in time"
        listing = ", ".join(str(ref) for ref in result.remaining)
        return Done(Outcome.TIMED_OUT, f"still on the node: {listing}; {why}")

    # -- after a crash ------------------------------------------------------------------------------

    def resume(self, now: datetime) -> list[JournalEntry]:
        """Settle every intent journaled without an outcome; returns the entries settled now."""
        return [self._resume_one(entry, now) for entry in self.journal.pending()]

    def _resume_one(self, entry: JournalEntry, now: datetime) -> JournalEntry:
        """Settle one intent left pending: redo a Kubernetes step; find an ARM step in the Activity Log, or redo it."""
        done = self._already_done(entry, now) if entry.step.spec.in_activity_log else None
        if done is None:
            log.warning("resume.redo", extra={"key": entry.key, "step": entry.step.value, "node": entry.node})
            # the episode's causes: a drain redone on a node whose kubelet is gone must not wait for its pods
            causes = next((e.causes for e in self.journal.history(now).episodes if e.id == entry.episode), ())
            done = self._act(_replay(entry, causes), entry)
        else:
            log.warning("resume.found", extra={"key": entry.key, "step": entry.step.value, "detail": done.detail})
            self._post_outcome(entry, done)
        return self._settle(entry, done)

    def _post_outcome(self, entry: JournalEntry, done: Done) -> None:
        """The outcome Event an ARM step found in the Activity Log would have posted had its process lived
        (once: it is keyed, so one posted before the crash answers 409)."""
        recorder = self._recorder_for(entry)
        if recorder is None or not entry.node or not entry.step.spec.in_activity_log:
            return
        succeeded = done.outcome is Outcome.SUCCEEDED
        recorder.record(
            entry.node, action=STEP_ACTIONS[entry.step], note=done.detail, warning=not succeeded,
            reason=EventReason.OPERATION_SUCCEEDED if succeeded else EventReason.OPERATION_FAILED,
        )  # fmt: skip

    def _already_done(self, entry: JournalEntry, now: datetime) -> Done | None:
        """What Azure says of an ARM step journaled before a crash: done, failed, or never received (None)."""
        azure = self.connection.azure
        if azure is None:
            return None
        try:
            statuses = activity_by_correlation(
                azure, entry.correlation_id, entry.intent_at - timedelta(minutes=5), now + timedelta(minutes=5)
            )
        except InputError as exc:
            log.warning("resume.activity_unreadable", extra={"key": entry.key, "error": str(exc)})
            statuses = []
        lowered = {status.lower() for status in statuses}
        if "failed" in lowered:
            return Done(Outcome.FAILED, f"found failed in the Activity Log (correlation {entry.correlation_id})")
        if lowered:
            busy = self._wait_idle(entry)
            return Done(
                Outcome.SUCCEEDED,
                f"found in the Activity Log after a restart (correlation {entry.correlation_id}){busy}",
            )
        return None

    def _wait_idle(self, entry: JournalEntry) -> str:
        """Wait for an operation Azure already started on the node's instance, so the next step sees it done."""
        azure = self.connection.azure
        if self.connection.kube is None or azure is None or not entry.node or entry.step in (Step.SCALE, Step.REPLACE):
            return ""
        try:
            ref = self._instance_now(entry.node)
            waited, limit = 0.0, _seconds(entry.step)
            while azure_actions.in_flight(azure, ref) is not None and waited < limit:
                self.clock.sleep(10.0)
                waited += 10.0
        except NodewardenError as exc:
            return f"; instance state unknown: {exc}"
        return ""


def failpoint(name: str, step: Step) -> None:
    """Crash-safety tests kill the process here, as kill -9 would: NODEWARDEN_FAILPOINT=after-intent:restart
    (journaled, not sent) or after-call:restart (sent, outcome not journaled)."""
    if os.environ.get(FAILPOINT_VARIABLE) == f"{name}:{step.value.lower()}":
        os.kill(os.getpid(), signal.SIGKILL)


def _time_allowed(action: PlannedAction) -> float:
    """Seconds the step may take: the plan's time, else the step's default (a resumed intent carries none)."""
    return action.timeout or _seconds(action.step)


def _seconds(step: Step) -> float:
    default = step.spec.default_timeout
    return default.total_seconds() if default is not None else 0.0


def _replay(entry: JournalEntry, causes: tuple[SignalKind, ...]) -> PlannedAction:
    return PlannedAction(
        step=entry.step,
        subject=entry.subject,
        reason=f"resuming {entry.key} after a restart",
        key=entry.key,
        episode=entry.episode,
        node=entry.node,
        pool=entry.pool,
        count=entry.count,
        causes=causes,
    )


def taint_parts(taint: str) -> tuple[str, str | None, str]:
    """`key[=value]:effect` as (key, value, effect)."""
    spec, _, effect = taint.rpartition(":")
    key, sep, value = spec.partition("=")
    if not key or not effect:
        raise ValueError(f"a taint is key[=value]:effect, found {taint!r}")
    return key, value if sep else None, effect
