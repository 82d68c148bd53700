"""The verdict of a drill: each expectation against what was measured, and pass or fail for the whole.

A drill passes when every steady-state check (before and after) and every expectation passed and it
was not aborted. A fault that hits nodes must be seen: one nobody detected fails the drill even when
the file sets no `timeToDetect`. Pure: a measurement in, results out.

When nodewarden recorded an incident for the fault, that record is the one source: time to detect and
time to restore are the incident's MTTD and MTTR (`incidents.figures`), and the steps and holds checked
are the incident's own, so `incidents show` and the verdict count the same. The drill's own measurement
stands in only when there is no incident (a fault nobody detected, a dry run, no store).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from nodewarden.drill.measure import Measurement
from nodewarden.drill.spec import Expect
from nodewarden.heal import durations
from nodewarden.incidents import figures
from nodewarden.model import wording
from nodewarden.model.drill import CheckPhase, CheckResult, Verdict
from nodewarden.model.incident import Incident
from nodewarden.model.remediation import HoldReason, Step


def format_seconds(seconds: float) -> str:
    """Seconds as "30s", "2m10s"."""
    return durations.format_duration(timedelta(seconds=seconds))


def measured_figures(m: Measurement) -> figures.Figures:
    """The drill's own figures, for a fault nodewarden recorded no incident for: from the fault on."""
    restored = m.time_to_restore
    return figures.Figures(
        fault_at=m.fault_at,
        impact_start=m.fault_at,
        detected_at=m.detected_at,
        restored_at=None if restored is None else m.fault_at + timedelta(seconds=restored),
    )


def figures_of(m: Measurement, incident: Incident | None) -> figures.Figures:
    """The figures a verdict reports: the incident's when there is one, else the measurement's."""
    return measured_figures(m) if incident is None else figures.of_incident(incident, fault_at=m.fault_at)


def expectations(
    m: Measurement, expect: Expect, *, needs_detection: bool, incident: Incident | None = None
) -> tuple[CheckResult, ...]:
    """One result per expectation the drill file gives, plus "fault detected" for a fault on nodes.

    The PDB-violation limit always applies (it defaults to 0); pods disrupted only when a maximum is set.
    Times come from `incident` when nodewarden recorded one for the fault; steps and holds too, when the drill's
    own controller acted. Beside a deployed controller the drill's record only detects: the steps are the ones
    nodewarden's Events show.
    """
    record = figures_of(m, incident)
    steps, holds = recorded(incident) if incident is not None and m.own_steps else (m.steps_seen, m.holds_seen)
    checks: list[CheckResult] = []
    if expect.time_to_detect is not None:
        checks.append(_within("time to detect", record.mttd, expect.time_to_detect, "not detected"))
    if expect.time_to_restore is not None:
        checks.append(_within("time to restore", record.mttr, expect.time_to_restore, "not restored"))
    if needs_detection and expect.detected:
        checks.append(_detected(record.mttd))
    checks.append(_at_most("PDB violations", m.pdb_violations, expect.pdb_violations, separator="; "))
    if expect.max_pods_disrupted is not None:
        checks.append(_at_most("pods disrupted", sorted(m.pods_disrupted), expect.max_pods_disrupted))
    checks.extend(_seen("action", step, steps, "taken", _ordered(steps, Step)) for step in expect.actions)
    checks.extend(_seen("hold", reason, holds, "held", _ordered(holds, HoldReason)) for reason in expect.holds)
    return tuple(checks)


def recorded(incident: Incident) -> tuple[set[str], set[str]]:
    """(steps, hold reasons) the incident holds: what `incidents show` counts."""
    return {a.step.value for a in incident.actions}, {h.hold.reason.value for h in incident.holds}


def judge(
    drill: str,
    fault: str,
    targets: Iterable[str],
    started_at: datetime,
    fault_at: datetime | None,
    ended_at: datetime,
    before: Sequence[CheckResult],
    expectations: Sequence[CheckResult],
    after: Sequence[CheckResult],
    *,
    aborted: str | None,
    rollback: str | None,
    measurement: Measurement | None,
    incident: Incident | None = None,
) -> Verdict:
    """The drill's verdict: passed when no check failed and it was not aborted; its detection and restore
    times are the incident's when there is one (see `figures_of`)."""
    checks = (*before, *expectations, *after)
    record = figures_of(measurement, incident) if measurement is not None else None
    return Verdict(
        drill=drill,
        passed=aborted is None and all(check.passed for check in checks),
        fault=fault,
        targets=tuple(targets),
        started_at=started_at,
        fault_at=fault_at,
        ended_at=ended_at,
        checks=checks,
        aborted=aborted,
        rollback=rollback,
        detected_at=record.detected_at if record is not None else None,
        restored_at=record.restored_at if record is not None else None,
    )


def _within(name: str, seconds: float | None, limit: timedelta, missing: str) -> CheckResult:
    return CheckResult(
        phase=CheckPhase.EXPECT,
        name=name,
        passed=seconds is not None and seconds <= limit.total_seconds(),
        target=f"<= {durations.format_duration(limit)}",
        measured=missing if seconds is None else format_seconds(seconds),
        value=seconds,
    )


def _detected(seconds: float | None) -> CheckResult:
    return CheckResult(
        phase=CheckPhase.EXPECT,
        name="fault detected",
        passed=seconds is not None,
        target="a faulted node Suspect or worse",
        measured="not detected" if seconds is None else f"after {format_seconds(seconds)}",
        value=seconds,
    )


def _at_most(name: str, found: Sequence[str], limit: int, *, separator: str = ", ") -> CheckResult:
    measured = str(len(found))
    if found:
        measured += f": {wording.short_list(found, separator=separator)}"
    return CheckResult(
        phase=CheckPhase.EXPECT,
        name=name,
        passed=len(found) <= limit,
        target=f"<= {limit}",
        measured=measured,
        value=float(len(found)),
    )


def _seen(kind: str, wanted: str, seen: set[str], verb: str, listed: Sequence[str]) -> CheckResult:
    """A step nodewarden must take, or a reason it must hold for: "Restart taken" / "not taken; seen: …"."""
    return CheckResult(
        phase=CheckPhase.EXPECT,
        name=f"{kind} {wanted}",
        passed=wanted in seen,
        target=f"{wanted} {verb}",
        measured=verb if wanted in seen else f"not {verb}; seen: {', '.join(listed) or 'none'}",
    )


def _ordered(seen: set[str], vocabulary: type[Step] | type[HoldReason]) -> list[str]:
    """What was seen, in the vocabulary's order (Cordon, Drain, Restart …), anything unknown last."""
    order = {member.value: index for index, member in enumerate(vocabulary)}
    return sorted(seen, key=lambda value: (order.get(value, len(order)), value))
