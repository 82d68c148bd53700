"""The verdict of a drill: each expectation against what was measured, and pass or fail for the whole.

A drill passes when every steady-state check (before and after) and every expectation passed and it
was not aborted. A fault that hits nodes must be seen: one nobody detected fails the drill even when
the file sets no `timeToDetect`. Pure: a measurement in, results out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from nodewarden.drill import steady
from nodewarden.drill.measure import Measurement
from nodewarden.drill.spec import Expect
from nodewarden.heal import durations
from nodewarden.model.drill import CheckPhase, CheckResult, Verdict
from nodewarden.model.remediation import HoldReason, Step


def format_seconds(seconds: float) -> str:
    """Seconds as "30s", "2m10s"."""
    return durations.format_duration(timedelta(seconds=seconds))


def expectations(m: Measurement, expect: Expect, *, needs_detection: bool) -> tuple[CheckResult, ...]:
    """One result per expectation the drill file gives, plus "fault detected" for a fault on nodes.

    The PDB-violation limit always applies (it defaults to 0); pods disrupted only when a maximum is set.
    """
    checks: list[CheckResult] = []
    if expect.time_to_detect is not None:
        checks.append(_within("time to detect", m.time_to_detect, expect.time_to_detect, "not detected"))
    if expect.time_to_restore is not None:
        checks.append(_within("time to restore", m.time_to_restore, expect.time_to_restore, "not restored"))
    if needs_detection and expect.detected:
        checks.append(_detected(m))
    checks.append(_at_most("PDB violations", m.pdb_violations, expect.pdb_violations, separator="; "))
    if expect.max_pods_disrupted is not None:
        checks.append(_at_most("pods disrupted", sorted(m.pods_disrupted), expect.max_pods_disrupted))
    checks.extend(_seen("action", step, m.steps_seen, "taken", _ordered(m.steps_seen, Step)) for step in expect.actions)
    holds = _ordered(m.holds_seen, HoldReason)
    checks.extend(_seen("hold", reason, m.holds_seen, "held", holds) for reason in expect.holds)
    return tuple(checks)


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
) -> Verdict:
    """The drill's verdict: passed when no check failed and it was not aborted."""
    checks = (*before, *expectations, *after)
    restored_at = None
    if measurement is not None and measurement.time_to_restore is not None:
        restored_at = measurement.fault_at + timedelta(seconds=measurement.time_to_restore)
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
        detected_at=measurement.detected_at if measurement is not None else None,
        restored_at=restored_at,
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


def _detected(m: Measurement) -> CheckResult:
    seconds = m.time_to_detect
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
        measured += f": {steady.short_list(found, separator=separator)}"
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
