"""Drills: what an experiment measured and whether it met its expectations.

A drill's verdict travels with the incident it caused (`Incident.verdict`), so `nodewarden incidents
report` renders drills and real incidents alike. Every check keeps the target and the measured value
as text a human reads, plus the number when there is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class CheckPhase(StrEnum):
    BEFORE = "steady-state before"
    EXPECT = "expectation"
    AFTER = "steady-state after"


@dataclass(frozen=True)
class CheckResult:
    """One steady-state check or expectation: what was wanted, what was measured, and the outcome."""

    phase: CheckPhase
    name: str  # e.g. "time to detect", "all nodes Ready", "no PDB violated"
    passed: bool
    target: str  # e.g. "<= 60s", "every node Ready", ">= 66% of replicas"
    measured: str  # e.g. "30s", "20 of 21 Ready (aks-apps-...-vmss000003 NotReady)", "not detected"
    value: float | None = None  # the number behind `measured`, when there is one


@dataclass(frozen=True)
class Verdict:
    """The outcome of one drill run."""

    drill: str  # the drill's metadata.name
    passed: bool
    fault: str  # "instance-crash on aks-apps-...-vmss000002"
    targets: tuple[str, ...]  # the nodes (or zone, pool) the fault hit
    started_at: datetime
    fault_at: datetime | None  # None: the fault was never injected (steady state failed first, or dry run)
    ended_at: datetime
    checks: tuple[CheckResult, ...] = ()
    aborted: str | None = None  # why the drill was aborted, if it was
    rollback: str | None = None  # what undoing the fault did ("zone-restore 1", "nothing to undo", a failure)
    detected_at: datetime | None = None
    restored_at: datetime | None = None

    @property
    def failed_checks(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed)
