"""The audit report as GitHub-flavoured Markdown, for a pull-request comment or a step summary.

The report gives the headline (cluster, score, grade) and the counts. Then come the failed rules by
catalog section with their open findings, the waived findings with their reasons, the rules that did
not run and why, and the notes. Passed and disabled rules are folded into `<details>` blocks, so the
comment stays short.
Every value from the input (names, messages, reasons) goes through `escape`. A workload name must
not open a link, close a table cell or inject HTML into the comment.
"""

from __future__ import annotations

import re

from nodewarden import __version__
from nodewarden.audit.report import AuditReport, RuleReport
from nodewarden.model.findings import Finding, Outcome, Severity, Target
from nodewarden.render import sections

# Characters that start Markdown syntax inside a line. `<`, `>` and `&` become entities instead:
# a backslash does not stop every renderer from reading `<tag>` as HTML.
_MARKDOWN_SYNTAX = re.compile(r"([\\`*_\[\]|~])")
# Control characters have no place in a comment; CommonMark itself turns NUL into U+FFFD.
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def escape(text: str) -> str:
    """Make `text` literal inside a paragraph, list item or table cell: one line, no markup, no HTML."""
    flat = " ".join(text.split())  # a newline would end the table row or the list item
    flat = _CONTROL.sub("\ufffd", flat)
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SYNTAX.sub(r"\\\1", flat)


def render_markdown(report: AuditReport) -> str:
    lines = _headline(report)
    lines += _summary(report)
    lines += _failed(report)
    lines += _waived(report)
    lines += _not_run(report)
    lines += _passed(report)
    if report.notes:
        lines += ["", "## Notes", "", *(f"- {escape(note)}" for note in report.notes)]
    lines += ["", f"<sub>nodewarden {escape(__version__)} · {escape(sections.format_time(report.generated_at))}</sub>"]
    return "\n".join(lines) + "\n"


def _headline(report: AuditReport) -> list[str]:
    subject = f"nodewarden audit of {escape(report.cluster_name)}" if report.cluster_name else "nodewarden audit"
    lines = [f"# {subject}: score {report.score}/100, grade {escape(report.grade)}", ""]
    generated = f"Generated {escape(sections.format_time(report.generated_at))}"
    if report.sources:
        generated += f" from {sections.count_label(len(report.sources), 'input file')}"
    return [*lines, generated + "."]


def _summary(report: AuditReport) -> list[str]:
    lines = ["", "## Summary", "", "| Rules | Count |", "|---|---:|"]
    lines += [f"| {label} | {report.count(outcome)} |" for outcome, label in sections.OUTCOME_LABELS.items()]
    lines += ["", "| Open findings | Count |", "|---|---:|"]
    lines += [f"| {severity.value} | {count} |" for severity, count in report.severity_counts().items()]
    return lines


def _failed(report: AuditReport) -> list[str]:
    lines: list[str] = []
    for category, members in sections.rules_by_category(report):
        failed = [item for item in members if item.result.outcome is Outcome.FAIL]
        if not failed:
            continue
        lines += ["", f"### {category.value}: {escape(category.label)}"]
        for item in failed:
            lines += _failed_rule(item)
    if lines:
        lines = ["", "## Failed rules", *lines]
    return lines


def _failed_rule(item: RuleReport) -> list[str]:
    meta = item.meta
    open_findings = item.result.open_findings
    return [
        "",
        f"#### {escape(meta.id)} {escape(meta.title)}",
        "",
        f"**{sections.shown_severity(item).value}**, "
        f"{sections.count_label(len(open_findings), 'open finding')}. {escape(meta.rationale)}",
        "",
        "| Severity | Target | Finding |",
        "|---|---|---|",
        *(_finding_row(finding) for finding in open_findings),
        "",
        f"**Fix:** {escape(meta.fix)}",
    ]


def _finding_row(finding: Finding) -> str:
    return f"| {_severity_cell(finding.severity)} | {_target_cell(finding.target)} | {_message_cell(finding)} |"


def _severity_cell(severity: Severity) -> str:
    return f"**{severity.value}**" if severity.at_least(Severity.HIGH) else severity.value


def _target_cell(target: Target) -> str:
    if target.resource_id is not None and target.resource_id != target.key:
        return f"{escape(target.key)}<br><sub>{escape(target.resource_id)}</sub>"
    return escape(target.key)


def _message_cell(finding: Finding) -> str:
    text = escape(finding.message)
    expired = finding.expired_waiver
    if expired is not None and expired.expires is not None:
        text += f" (waiver expired {expired.expires.isoformat()}: {escape(expired.reason)})"
    return text


def _waived(report: AuditReport) -> list[str]:
    waived = sections.waived_findings(report)
    if not waived:
        return []
    lines = [
        "",
        "## Waived findings",
        "",
        "| Rule | Target | Finding | Reason | Waived by | Until |",
        "|---|---|---|---|---|---|",
    ]
    for item, finding in waived:
        waiver = finding.waiver
        assert waiver is not None  # waived_findings returns waived findings only
        until = waiver.expires.isoformat() if waiver.expires else "no expiry"
        lines.append(
            f"| {escape(item.meta.id)} | {_target_cell(finding.target)} | {escape(finding.message)} "
            f"| {escape(waiver.reason)} | {escape(waiver.source)} | {until} |"
        )
    return lines


def _not_run(report: AuditReport) -> list[str]:
    lines: list[str] = []
    not_evaluated = [item for item in report.rules if item.result.outcome is Outcome.NOT_EVALUATED]
    if not_evaluated:
        lines += ["", "## Not evaluated", "", "| Rule | Title | Why |", "|---|---|---|"]
        lines += [_skip_row(item) for item in not_evaluated]
    disabled = [item for item in report.rules if item.result.outcome is Outcome.DISABLED]
    if disabled:
        lines += ["", "<details>", f"<summary>{sections.count_label(len(disabled), 'disabled rule')}</summary>"]
        lines += ["", "| Rule | Title | Why |", "|---|---|---|", *(_skip_row(item) for item in disabled)]
        lines += ["", "</details>"]
    return lines


def _skip_row(item: RuleReport) -> str:
    return f"| {escape(item.meta.id)} | {escape(item.meta.title)} | {escape(sections.skip_reason(item))} |"


def _passed(report: AuditReport) -> list[str]:
    passed = [item for item in report.rules if item.result.outcome is Outcome.PASS]
    if not passed:
        return []
    return [
        "",
        "<details>",
        f"<summary>{sections.count_label(len(passed), 'passed rule')}</summary>",
        "",
        *(f"- {escape(item.meta.id)} {escape(item.meta.title)}" for item in passed),
        "",
        "</details>",
    ]
