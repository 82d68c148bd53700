"""`nodewarden demo`: the whole loop on the twin in one command.

Starts the twin (`prod-3az`) on a stepped, accelerated clock, audits it and prints the top findings,
starts the controller in enforce mode with the built-in policy, runs the single-instance-crash and
zone-outage drills one after the other with a live progress view, writes the audit, every incident and
drill report and the journal under the output folder, and ends with what happened in a few lines.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rich.console import Console

from nodewarden.audit import engine
from nodewarden.audit.catalog import RuleContext, default_catalog
from nodewarden.audit.params import AuditParams
from nodewarden.audit.report import AuditReport
from nodewarden.demo.hosted import Hosted, hosted
from nodewarden.demo.progress import ProgressView
from nodewarden.drill.runner import DrillRun, run_drill
from nodewarden.drill.spec import Drill, parse_drill
from nodewarden.heal.policy import default_policy
from nodewarden.incidents import actions, figures
from nodewarden.model.findings import Finding
from nodewarden.model.incident import Incident
from nodewarden.model.remediation import HoldReason
from nodewarden.observe import collect
from nodewarden.output import write_atomically
from nodewarden.render import html, postmortem
from nodewarden.state import FILE_NAME

SCENARIO = "prod-3az"
DRILLS = ("single-instance-crash.yaml", "zone-outage.yaml")
TOP_FINDINGS = 5
JOURNAL_FILES = (FILE_NAME, f"{FILE_NAME}-wal", f"{FILE_NAME}-shm")  # SQLite's WAL mode keeps two beside it


@dataclass(frozen=True)
class DemoResult:
    runs: tuple[DrillRun, ...]
    audit: AuditReport
    reports: tuple[Path, ...]

    @property
    def passed(self) -> bool:
        return all(run.verdict.passed for run in self.runs)


def packaged_drill(name: str) -> Drill:
    """One of the example drills shipped in the package (the same files as examples/drills/)."""
    text = resources.files("nodewarden.drill").joinpath("examples", name).read_text(encoding="utf-8")
    return parse_drill(text, source=f"examples/drills/{name}")


def run_demo(out: Path, *, speed: float | None, console: Console, step: float = 5.0) -> DemoResult:
    _clear(out)
    drills = [packaged_drill(name) for name in DRILLS]
    with hosted(SCENARIO, out, default_policy(), speed=speed) as env:
        pace = f", paced at {speed:g}x real time" if speed else ""
        console.print(f"twin {SCENARIO} started: {len(env.twin.world.store.items('nodes'))} nodes; "
                      f"its clock moves {step:g}s per controller cycle{pace}")  # fmt: skip
        audit = _audit(env)
        _print_audit(audit, console)
        console.print("controller started in enforce mode with the built-in policy")
        runs: list[DrillRun] = []
        with ProgressView(console) as view:
            for drill in drills:
                runs.append(
                    run_drill(
                        drill,
                        probe=env.probe,
                        ticker=env.ticker,
                        injector=env.injector,
                        store=env.store,
                        step=step,
                        on_progress=view.update,
                    )
                )
        findings = [f for f in audit.findings() if not f.is_waived]
        reports = _write_reports(out, audit, env.store.list(), findings)
        _summarise(env, runs, console)
    console.print(f"reports in {out}/: audit.html, " + ", ".join(str(p.relative_to(out)) for p in reports)
                  + f", {FILE_NAME}")  # fmt: skip
    return DemoResult(tuple(runs), audit, reports)


def _clear(out: Path) -> None:
    """Remove what an earlier demo wrote here (only those files), so this run's journal starts empty."""
    out.mkdir(parents=True, exist_ok=True)
    for name in (*JOURNAL_FILES, "audit.html"):
        (out / name).unlink(missing_ok=True)
    incidents = out / "incidents"
    if incidents.is_dir():
        for report in incidents.glob("*.md"):
            report.unlink()
        for report in incidents.glob("*.html"):
            report.unlink()


def _audit(env: Hosted) -> AuditReport:
    loaded = collect.load_live(env.connection)
    return engine.run_audit(
        loaded.snapshot, catalog=default_catalog(), context=RuleContext(params=AuditParams(), now=env.twin.now())
    )


def _print_audit(audit: AuditReport, console: Console) -> None:
    findings = sorted((f for f in audit.findings() if not f.is_waived), key=lambda f: (-f.severity.rank, f.rule_id))
    console.print(f"audit: score {audit.score} ({audit.grade}), {len(findings)} findings; the top {TOP_FINDINGS}:")
    for finding in findings[:TOP_FINDINGS]:
        console.print(f"  {finding.severity.value:<8} {finding.rule_id} {finding.message}", highlight=False)


def _write_reports(
    out: Path, audit: AuditReport, incidents: Sequence[Incident], findings: list[Finding]
) -> tuple[Path, ...]:
    write_atomically(out / "audit.html", html.render_html(audit), named=str(out / "audit.html"))
    folder = out / "incidents"
    folder.mkdir(exist_ok=True)
    written: list[Path] = []
    for incident in incidents:
        items = actions.action_items(incident, findings)
        for suffix, render in ((".md", postmortem.render_markdown), (".html", postmortem.render_html)):
            path = folder / f"{incident.id}{suffix}"
            write_atomically(path, render(incident, items), named=str(path))
            written.append(path)
    return tuple(written)


def _summarise(env: Hosted, runs: Sequence[DrillRun], console: Console) -> None:
    """Each drill in a few lines, every figure and step from the incident its verdict was saved on (the same
    record the postmortem and `incidents show` read)."""
    for run in runs:
        v = run.verdict
        incident = env.store.get(run.incident_id) if run.incident_id else None
        if incident is None:  # not saved (no store): the verdict alone
            console.print(f"{'PASSED' if v.passed else 'FAILED'} {v.drill}: {v.fault}", highlight=False)
            continue
        record = figures.of_incident(incident)
        steps = Counter(e.step.value for e in incident.actions)
        why: dict[str, str] = {}
        for held in incident.holds:  # the guards that held back, not the waits while a step is verified
            if held.hold.reason is not HoldReason.WAITING:
                why.setdefault(held.hold.reason.value, held.hold.message)
        detected = "not detected" if record.mttd is None else f"{record.mttd:.0f}s"
        restored = "capacity not restored" if record.mttr is None else f"capacity restored in {record.mttr:.0f}s"
        result = "[bold green]PASSED[/]" if v.passed else "[bold red]FAILED[/]"
        console.print(f"{result} {v.drill}: {v.fault}")
        console.print(f"  incident {incident.id}: detected in {detected}; {restored}", highlight=False)
        taken = ", ".join(f"{step} ×{n}" for step, n in sorted(steps.items())) or "none"
        console.print(f"  actions: {taken}", highlight=False)
        for reason, message in sorted(why.items()):
            console.print(f"  held ({reason}): {message}", highlight=False)
        for check in v.failed_checks:
            console.print(f"  [red]missed[/] {check.name}: wanted {check.target}, measured {check.measured}")
        if v.aborted:
            console.print(f"  aborted: {v.aborted}", highlight=False)
