"""The default terminal report: findings grouped by category, then score and grade."""

from __future__ import annotations

import io

from rich.console import Group
from rich.table import Table
from rich.text import Text

from nodewarden.audit.report import AuditReport, RuleReport
from nodewarden.model.findings import Category, Outcome, Severity
from nodewarden.render import terminal_text

SEVERITY_STYLES = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
OUTCOME_STYLES = {
    Outcome.PASS: "green",
    Outcome.FAIL: "bold red",
    Outcome.WAIVED: "magenta",
    Outcome.NOT_EVALUATED: "dim",
    Outcome.DISABLED: "dim",
}


def render_table(report: AuditReport, *, width: int = 120, color: bool = False) -> str:
    """The report as text; `color` adds ANSI styles for a terminal."""
    buffer = io.StringIO()
    console = terminal_text.SafeConsole(
        file=buffer, width=width, color_system="standard" if color else None, highlight=False
    )
    console.print(build_table_report(report))
    return buffer.getvalue()


def build_table_report(report: AuditReport) -> Group:
    parts: list[Table | Text] = []
    title = f"nodewarden audit of {report.cluster_name}" if report.cluster_name else "nodewarden audit"
    parts.append(Text(title, style="bold"))
    for category in Category:
        items = [r for r in report.rules if r.meta.category is category and report.is_selected(r)]
        if items:
            parts.append(_category_table(category, items))
    if report.notes:
        parts.append(Text("Notes", style="bold"))
        parts.extend(Text(f"  - {note}") for note in report.notes)
    parts.append(_summary(report))
    return Group(*parts)


def _category_table(category: Category, items: list[RuleReport]) -> Table:
    table = Table(title=f"{category.value} — {category.label}", title_justify="left", expand=True, show_lines=False)
    table.add_column("Rule", no_wrap=True)
    table.add_column("Result", no_wrap=True)
    table.add_column("Sev", no_wrap=True)
    table.add_column("Title / findings", ratio=1)
    for item in items:
        result = item.result
        severity = item.worst_open_severity or item.meta.severity
        lines = Text(item.meta.title)
        if result.reason and result.outcome in (Outcome.NOT_EVALUATED, Outcome.DISABLED):
            lines.append(f"\n  {result.reason}", style="dim")
        for finding in result.findings:
            marker = "waived" if finding.is_waived else finding.severity.value
            lines.append(f"\n  [{marker}] {finding.target.key}: {finding.message}")
            if finding.waiver:
                lines.append(f" — waived: {finding.waiver.reason}", style="magenta")
            elif finding.expired_waiver and finding.expired_waiver.expires:
                lines.append(f" — waiver expired {finding.expired_waiver.expires}", style="yellow")
        table.add_row(
            item.meta.id,
            Text(result.outcome.value, style=OUTCOME_STYLES[result.outcome]),
            Text(severity.value, style=SEVERITY_STYLES[severity]),
            lines,
        )
    return table


def _summary(report: AuditReport) -> Text:
    counts = report.severity_counts()
    text = Text()
    text.append(f"Score {report.score}/100, grade {report.grade}. ", style="bold")
    text.append(
        f"Rules: {report.count(Outcome.PASS)} passed, {report.count(Outcome.FAIL)} failed, "
        f"{report.count(Outcome.WAIVED)} waived, {report.count(Outcome.NOT_EVALUATED)} not evaluated"
    )
    disabled = report.count_disabled()
    if disabled:
        text.append(f", {disabled} disabled")
    if report.not_selected:
        text.append(f", {len(report.not_selected)} not selected (-r)")
    text.append(". Open findings: " + ", ".join(f"{count} {sev.value}" for sev, count in counts.items()) + ".")
    return text
