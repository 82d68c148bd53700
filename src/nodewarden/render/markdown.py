"""The audit report as GitHub-flavoured Markdown, for a pull-request comment or a step summary.

The report gives the headline (cluster, score, grade) and the counts. Then come the failed rules by
catalog section with their open findings, the waived findings with their reasons, the rules that did
not run and why, and the notes. Passed and disabled rules are folded into `<details>` blocks, so the
comment stays short.
Every value from the input (names, messages, reasons) goes through `escape` (`cell` in a table). A workload
name must not open a link, close a table cell or inject HTML into the comment, yet the comment must read as
text: only what CommonMark would take as syntax where it stands is escaped.
"""

from __future__ import annotations

import re

from nodewarden import __version__
from nodewarden.audit.report import AuditReport, RuleReport
from nodewarden.model.findings import Finding, Outcome, Severity, Target
from nodewarden.render import sections

# Control characters have no place in a comment; CommonMark itself turns NUL into U+FFFD.
_CONTROL = re.compile("[\x00-\x1f\x7f]")
# A fix's placeholder (`<rg>`, `<cluster>`): shown as a code span, where nothing is HTML and it reads as written.
_PLACEHOLDER = re.compile(r"<[A-Za-z][A-Za-z0-9_.-]*>")
# `&name;`, `&#38;`, `&#x26;`: only an `&` that would start a character reference needs to be one itself.
_REFERENCE = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);")
# A `<` before these starts raw HTML (a tag, comment, declaration) or an autolink; before anything else it is text.
_TAG_START = re.compile(r"[A-Za-z/!?]")
# What a line that starts with the value would open: a heading, quote, list item or thematic break.
_BLOCK_START = re.compile(r"^(?:\d+(?=[.)](?:\s|$))|(?=[#>=])|(?=[-+*](?:\s|$)))")
_ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def escape(text: str) -> str:
    """Make `text` literal inside a paragraph, list item or heading: one line, no markup, no HTML.

    Only what CommonMark would read as syntax is escaped, so the Markdown still reads as text: `MC_rg-prod`
    and `>= 50%` stay as they are, `<rg>` becomes a code span, and a `<script>`, `*emphasis*` or `[link](url)`
    cannot form. A table cell needs `cell` (a `|` ends the cell).
    """
    escaped = _inline(text)
    start = _BLOCK_START.match(escaped)
    return escaped if start is None else f"{start.group()}\\{escaped[start.end() :]}"


def cell(text: str) -> str:
    """Make `text` literal inside a table cell: as `escape`, and a `|` would end the cell (GFM reads `\\|` as
    a literal pipe even inside a code span). A cell holds inline text only, so `>= 50%` needs nothing."""
    return _inline(text).replace("|", "\\|")


def _inline(text: str) -> str:
    flat = _CONTROL.sub("\ufffd", " ".join(text.split()))  # a newline would end the table row or the list item
    out: list[str] = []
    index = 0
    while index < len(flat):
        placeholder = _PLACEHOLDER.match(flat, index)
        if placeholder is not None:
            out.append(f"`{placeholder.group()}`")
            index = placeholder.end()
            continue
        out.append(_literal(flat, index))
        index += 1
    return "".join(out)


def _literal(text: str, index: int) -> str:
    """The character at `index`, escaped when CommonMark would read it as syntax where it stands."""
    char = text[index]
    before = text[index - 1] if index else ""  # the value's edges count as neither space nor word: the text
    after = text[index + 1] if index + 1 < len(text) else ""  # around it is not known here
    if char == "\\":  # escapes the next character only when that is ASCII punctuation (or ends a line)
        return "\\\\" if after in _ASCII_PUNCTUATION or index + 1 == len(text) else char
    if char == "`":
        return "\\`"
    if char == "_":  # intraword `_` never opens or closes emphasis: `MC_rg-prod_aks` is text
        return char if before.isalnum() and after.isalnum() else "\\" + char
    if (
        char in "*~"
    ):  # these open and close emphasis (strikethrough) even inside words; alone between spaces they cannot
        return char if before.isspace() and after.isspace() else "\\" + char
    if char == "]" and after and after in "([:":  # a link, an image or a reference definition
        return "\\]"
    if char == "<" and _TAG_START.match(after):
        return "&lt;"
    if char == "&" and _REFERENCE.match(text, index):
        return "&amp;"
    return char


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
        return f"{cell(target.key)}<br><sub>{cell(target.resource_id)}</sub>"
    return cell(target.key)


def _message_cell(finding: Finding) -> str:
    text = cell(finding.message)
    expired = finding.expired_waiver
    if expired is not None and expired.expires is not None:
        text += f" (waiver expired {expired.expires.isoformat()}: {cell(expired.reason)})"
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
            f"| {cell(item.meta.id)} | {_target_cell(finding.target)} | {cell(finding.message)} "
            f"| {cell(waiver.reason)} | {cell(waiver.source)} | {until} |"
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
    return f"| {cell(item.meta.id)} | {cell(item.meta.title)} | {cell(sections.skip_reason(item))} |"


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
