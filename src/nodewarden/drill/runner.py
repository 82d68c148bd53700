"""One drill, start to end: steady state, fault, recovery watched tick by tick, rollback, steady state, verdict.

The runner owns the order of things and nothing else. Time passes through a `Ticker` (the twin's clock
stepped in-process, or real time against a live cluster); each tick a `Probe` runs one controller cycle
(a controller that acts, or one that only detects beside a deployed `nodewarden run`); the fault goes in
and comes out through an `Injector`; the pure measurement judges every tick. The verdict is saved on
the incident the drill caused (or on one made for it), so `nodewarden incidents report` renders it; when
there is such an incident, its record (figures, steps, holds) is what the verdict judges, so the two agree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from nodewarden.drill import faults, measure, steady, verdict
from nodewarden.drill.inject import Injector
from nodewarden.drill.spec import Drill, Rollback
from nodewarden.incidents import figures
from nodewarden.model.drill import CheckPhase, Verdict
from nodewarden.model.health import HealthState
from nodewarden.model.incident import Incident, IncidentState
from nodewarden.model.snapshot import Snapshot
from nodewarden.runtime.controller import CycleReport
from nodewarden.state import IncidentRecord

log = logging.getLogger(__name__)


class DrillStoppedError(Exception):
    """The operator stopped the drill (Ctrl-C, SIGTERM): abort, and undo the fault."""


class Ticker(Protocol):
    """How time passes between cycles; `wait` raises DrillStoppedError when the operator stops the drill."""

    def wait(self, seconds: float) -> None: ...


class Probe(Protocol):
    """One controller cycle per tick; `busy` while the controller still has remediation open."""

    def cycle(self) -> CycleReport: ...

    def busy(self, now: datetime) -> bool: ...


@dataclass(frozen=True)
class Progress:
    """What a live view shows after each tick."""

    drill: str
    phase: str  # "steady state", "fault", "rollback", "settling", "done"
    now: datetime
    since_fault: float | None
    detected_after: float | None
    restored_after: float | None
    nodes_ready: int
    nodes: int
    note: str = ""


@dataclass(frozen=True)
class DrillRun:
    verdict: Verdict
    incident_id: str | None  # where the verdict was saved; None for a dry run
    planned: str  # the fault as resolved: what was (or, in a dry run, would be) injected


def run_drill(
    drill: Drill,
    *,
    probe: Probe,
    ticker: Ticker,
    injector: Injector,
    store: IncidentRecord | None,
    step: float = 5.0,
    dry_run: bool = False,
    on_progress: Callable[[Progress], object] | None = None,
) -> DrillRun:
    """Run `drill`; a fault outside the drill's scope raises DrillError before anything is injected."""
    name, spec = drill.metadata.name, drill.spec
    first = probe.cycle()
    started_at = first.now
    resolved = faults.resolve(spec, first.observation.snapshot)
    before = steady.steady_state(first.observation.snapshot, spec.steady_state, CheckPhase.BEFORE)
    run = _Run(drill, probe, ticker, step, on_progress, resolved.nodes)
    run.report(first, "steady state", f"{resolved.description}")
    if dry_run or any(not c.passed for c in before):
        why = "dry run: nothing injected" if dry_run else "steady state not met before the fault: nothing injected"
        outcome = verdict.judge(
            name, resolved.description, resolved.nodes, started_at, None, first.now, before, (), (),
            aborted=None if dry_run else why, rollback=None, measurement=None,
        )  # fmt: skip
        saved = None if dry_run or store is None else _save(store, outcome, resolved.nodes, None, None)
        return DrillRun(outcome, saved, resolved.description)

    injector.inject(resolved, spec.fault.options)
    try:
        fault_report = probe.cycle()
        fault_at = fault_report.now
        measurement = measure.Measurement.start(fault_at, resolved.nodes, spec.steady_state, first.observation.snapshot)
        run.measurement = measurement
        report, rollback, aborted = run.watch(fault_report, resolved, injector, measurement)
    except BaseException:
        if spec.rollback is Rollback.AUTO and not run.undone:  # never leave a fault behind
            undone = injector.undo(resolved, spec.fault.options, run.snapshot or first.observation.snapshot)
            log.error("drill.failed", extra={"drill": name, "rollback": undone})
        raise

    if spec.rollback is Rollback.AUTO and (rollback is None or aborted is not None):
        undone = injector.undo(resolved, spec.fault.options, report.observation.snapshot)
        rollback = undone if rollback is None else f"{rollback}; {undone}"
        run.report(report, "rollback", undone)
    if aborted is not None:
        report = run.settle(report, spec.settle.total_seconds())
    after = steady.steady_state(report.observation.snapshot, spec.steady_state, CheckPhase.AFTER)
    caused = _caused(store, name, fault_at, report.now, resolved.nodes) if store is not None else None
    expected = verdict.expectations(measurement, spec.expect, needs_detection=bool(resolved.nodes), incident=caused)
    outcome = verdict.judge(
        name, resolved.description, resolved.nodes, started_at, fault_at, report.now, before, expected, after,
        aborted=aborted, rollback=rollback, measurement=measurement, incident=caused,
    )  # fmt: skip
    run.report(report, "done", "passed" if outcome.passed else "failed", final=outcome)
    saved = _save(store, outcome, resolved.nodes, measurement, caused) if store is not None else None
    return DrillRun(outcome, saved, resolved.description)


class _Run:
    """The loop's bookkeeping: progress reports, steady-state checks and the settle wait after an abort."""

    def __init__(
        self, drill: Drill, probe: Probe, ticker: Ticker, step: float, on_progress: Callable[[Progress], object] | None,
        nodes: tuple[str, ...],
    ) -> None:  # fmt: skip
        self.drill = drill
        self.probe = probe
        self.ticker = ticker
        self.step = step
        self.on_progress = on_progress
        self.nodes = nodes
        self.measurement: measure.Measurement | None = None  # from the fault on
        self.snapshot: Snapshot | None = None  # the latest view, for an undo if the drill itself fails
        self.undone = False

    def observe(self, report: CycleReport) -> None:
        assert self.measurement is not None
        snapshot = report.observation.snapshot
        if report.acting:
            steps = {entry.step.value for entry in report.executed}
            holds = {hold.reason.value for hold in report.holds}
            self.measurement.own_steps = True
        else:
            steps, holds = measure.nodewarden_events(snapshot, self.measurement.fault_at)
        self.measurement.observe(report.now, snapshot, report.detection, steps=steps, holds=holds)

    def watch(
        self, report: CycleReport, resolved: faults.Resolved, injector: Injector, m: measure.Measurement
    ) -> tuple[CycleReport, str | None, str | None]:
        """Tick from the fault until recovered or aborted; (last report, rollback so far, why it aborted)."""
        spec = self.drill.spec
        duration = spec.fault.duration
        rollback: str | None = None
        while True:
            self.snapshot = report.observation.snapshot
            self.observe(report)
            due = duration is not None and report.now - m.fault_at >= duration
            if rollback is None and due and spec.rollback is Rollback.AUTO:
                rollback = injector.undo(resolved, spec.fault.options, self.snapshot)
                self.undone = True
                self.report(report, "rollback", rollback)
            aborted = m.abort_reason(report.now, self.snapshot, spec.abort)
            if aborted is not None:
                self.report(report, "aborted", aborted)
                return report, rollback, aborted
            fault_over = duration is None or rollback is not None or spec.rollback is Rollback.NONE
            seen = m.detected_at is not None or not resolved.nodes  # else watch on, to the abort limit
            if fault_over and seen and self.recovered(report):
                return report, rollback, None
            self.report(report, "fault" if rollback is None else "settling")
            try:
                self.ticker.wait(self.step)
            except DrillStoppedError:
                return report, rollback, "interrupted by the operator"
            report = self.probe.cycle()

    def recovered(self, report: CycleReport) -> bool:
        """The steady state holds, every faulted node is healthy to nodewarden, and no remediation is open."""
        checks = steady.steady_state(report.observation.snapshot, self.drill.spec.steady_state, CheckPhase.AFTER)
        health = report.detection.health
        healthy = (HealthState.HEALTHY, HealthState.RECOVERED)
        return (
            all(c.passed for c in checks)
            and all(health[n].state in healthy for n in self.nodes if n in health)
            and not self.probe.busy(report.now)
        )

    def settle(self, report: CycleReport, limit: float) -> CycleReport:
        """Tick until the steady state is back and nothing is in progress, or `limit` seconds passed."""
        start = report.now
        while not self.recovered(report):
            if (report.now - start).total_seconds() >= limit:
                break
            self.report(report, "settling")
            try:
                self.ticker.wait(self.step)
            except DrillStoppedError:
                break
            report = self.probe.cycle()
        return report

    def report(self, report: CycleReport, phase: str, note: str = "", *, final: Verdict | None = None) -> None:
        """Tell the live view. Restore is a figure of the record (every affected node back, `incidents.figures`),
        so only the last report shows it, with the verdict's detection; until then detection is the measurement's."""
        if self.on_progress is None:
            return
        snapshot = report.observation.snapshot
        m = self.measurement
        detected_after = m.time_to_detect if m else None
        restored_after = None
        if final is not None and final.fault_at is not None:
            detected_after = measure.seconds_since(final.fault_at, final.detected_at)
            restored_after = measure.seconds_since(final.fault_at, final.restored_at)
        self.on_progress(
            Progress(
                drill=self.drill.metadata.name,
                phase=phase,
                now=report.now,
                since_fault=(report.now - m.fault_at).total_seconds() if m else None,
                detected_after=detected_after,
                restored_after=restored_after,
                nodes_ready=steady.ready_nodes(snapshot),
                nodes=len(snapshot.nodes),
                note=note,
            )
        )


def _caused(
    store: IncidentRecord, drill: str, fault_at: datetime, ended_at: datetime, nodes: tuple[str, ...]
) -> Incident | None:
    """The incident the fault caused: the earliest detected between the fault and the end on its nodes, and
    not one that already carries another drill's verdict (saving over it would lose that verdict)."""
    caused = sorted(
        (
            incident
            for incident in store.list()
            if fault_at <= incident.detected_at <= ended_at
            and (set(incident.nodes) & set(nodes) or not nodes)
            and (incident.verdict is None or (incident.drill, incident.verdict.fault_at) == (drill, fault_at))
        ),
        key=lambda incident: incident.detected_at,
    )  # fmt: skip
    return caused[0] if caused else None


def _save(
    store: IncidentRecord,
    outcome: Verdict,
    nodes: tuple[str, ...],
    measurement: measure.Measurement | None,
    caused: Incident | None,
) -> str:
    """Put the verdict on the incident the fault caused, its impact starting no earlier than the fault, or on a
    new one."""
    if caused is not None:
        record = figures.of_incident(caused, fault_at=outcome.fault_at)
        incident = replace(caused, drill=outcome.drill, verdict=outcome, impact_start=record.impact_start,
                           detected_at=max(record.impact_start, caused.detected_at))  # fmt: skip
    else:
        incident = _incident_for(outcome, nodes, measurement)
    store.save(incident)
    return incident.id


def _incident_for(outcome: Verdict, nodes: tuple[str, ...], measurement: measure.Measurement | None) -> Incident:
    """A record for a drill nodewarden saw no incident for (not detected, or stopped before the fault)."""
    start = outcome.fault_at or outcome.started_at
    restored = measurement.restored_at if measurement is not None else None
    return Incident(
        id=f"drill-{start:%Y%m%dT%H%M%SZ}-{outcome.drill}",
        title=f"Drill {outcome.drill}: {outcome.fault}",
        state=IncidentState.RESOLVED,
        impact_start=start,
        detected_at=outcome.detected_at or outcome.ended_at,
        mitigated_at=restored,
        resolved_at=outcome.ended_at,
        drill=outcome.drill,
        verdict=outcome,
        nodes=nodes,
    )
