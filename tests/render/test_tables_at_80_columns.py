"""At 80 columns (a default terminal) the drill tables keep every word whole: the demo's live table used to
fold "DETECTED" into "DETECTE/D", "single-instance-crash" into "single-/instanc/e-crash" and "08:02:45" into
"08:02:4/5" (src/nodewarden/demo/progress.py, src/nodewarden/render/drill.py)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import UTC, datetime

from rich.console import Console, RenderableType

from nodewarden.demo.progress import ProgressView
from nodewarden.drill.runner import Progress
from nodewarden.model.drill import CheckPhase, CheckResult, Verdict
from nodewarden.render.drill import verdict_table

NOW = datetime(2026, 11, 26, 8, 2, 45, tzinfo=UTC)
NODE = "aks-apps-97223926-vmss000001"


def rendered(renderable: RenderableType, *, width: int = 80) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue().splitlines()


def whole_words(lines: Iterable[str]) -> set[str]:
    """Every word printed, a table's borders and padding taken away."""
    borders = str.maketrans(dict.fromkeys("│┃┏┓┗┛┡┩└┘┳┻╇━─┴", " "))
    return {word for line in lines for word in line.translate(borders).split()}


def assert_whole(words: Iterable[str], lines: list[str]) -> None:
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    missing = [word for word in words if word not in whole_words(lines)]
    assert not missing, f"split across lines: {missing}\n" + "\n".join(lines)


def progress(drill: str, phase: str, *, since: float, detected: float | None, restored: float | None) -> Progress:
    return Progress(drill=drill, phase=phase, now=NOW, since_fault=since, detected_after=detected,
                    restored_after=restored, nodes_ready=20, nodes=21)  # fmt: skip


def test_the_demos_live_drill_table_keeps_names_times_and_headers_whole_at_80_columns() -> None:
    view = ProgressView(Console(file=io.StringIO(), width=80))
    view.update(progress("single-instance-crash", "steady state", since=165, detected=25, restored=None))
    view.update(progress("zone-outage", "settling", since=1165, detected=25, restored=160))
    lines = rendered(view.view())
    headers = ["DRILL", "PHASE", "SINCE", "FAULT", "DETECTED", "RESTORED", "NODES", "READY"]
    values = ["single-instance-crash", "zone-outage", "steady", "state", "settling", "165s", "1165s", "25s", "160s"]
    assert_whole([*headers, *values, "20/21", "08:02:45"], lines)


def test_a_drills_note_goes_below_the_table_and_wraps_between_words() -> None:
    view = ProgressView(Console(file=io.StringIO(), width=80))
    note = f"nothing to undo: instance aks-apps-97223926-vmss/virtualMachines/1 of node {NODE} runs and is Ready"
    view.update(Progress(drill="single-instance-crash", phase="rollback", now=NOW, since_fault=165,
                         detected_after=25, restored_after=None, nodes_ready=21, nodes=21, note=note))  # fmt: skip
    lines = rendered(view.view())
    assert_whole(["single-instance-crash", "rollback", *note.split()], lines)


def test_the_verdict_table_keeps_phases_checks_and_results_whole_at_80_columns() -> None:
    checks = (
        CheckResult(CheckPhase.BEFORE, "workloads at >= 100% of replicas", True, ">= 100% of replicas Ready",
                    "28 of 28 at share"),
        CheckResult(CheckPhase.EXPECT, "time to restore", False, "<= 5m", "6m49s"),
        CheckResult(CheckPhase.EXPECT, "fault detected", True, "a faulted node Suspect or worse", "after 25s"),
        CheckResult(CheckPhase.AFTER, "no PDB violated", True, "every budget at its desired healthy count",
                    "0 of 28 violated"),
    )  # fmt: skip
    verdict = Verdict(drill="single-instance-crash", passed=False, fault=f"instance-crash on {NODE} (apps, zone 2)",
                      targets=(NODE,), started_at=NOW, fault_at=NOW, ended_at=NOW, checks=checks)  # fmt: skip
    lines = rendered(verdict_table(verdict))
    words = {word for check in checks for text in (check.name, check.target, check.measured) for word in text.split()}
    headers = ["PHASE", "CHECK", "TARGET", "MEASURED", "RESULT"]
    assert_whole([*headers, *words, "expectation", "FAIL", "pass", NODE], lines)
    assert any("│ steady-state before │" in line for line in lines), "a phase is never wrapped"
