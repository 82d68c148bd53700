"""The audit report as one self-contained HTML page: mail it, attach it to a ticket, print it.

The page shell, its Content-Security-Policy and the escaping are `render.page`'s; every value that
reaches the page goes through `_e`, enum values and our own catalog text included. The layout reads in
black and white: each badge carries its word, not only a colour.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from nodewarden.audit.report import AuditReport, RuleReport
from nodewarden.model.findings import Category, Finding, Outcome, Severity, Target
from nodewarden.render import page, sections

_URL = re.compile(r"^https?://\S+$")
_e = page.escape  # every value on the page goes through it

# The audit's own rules, on top of `page`'s base: score and grade, count tables, outcome and severity badges.
_STYLE = """
.headline { display: flex; gap: 24px; align-items: baseline; margin: 12px 0; }
.score { font-size: 36px; font-weight: 700; }
.score small { font-size: 16px; color: var(--muted); font-weight: 400; }
.grade { font-size: 36px; font-weight: 700; border: 2px solid currentColor; border-radius: 8px; padding: 0 12px; }
.grade-A, .grade-B { color: #1a7f37; } .grade-C, .grade-D { color: #9a6700; } .grade-E, .grade-F { color: #cf222e; }
table.counts { width: auto; display: inline-table; margin-right: 24px; }
td.id { white-space: nowrap; font-weight: 600; }
.rid { color: var(--muted); font-size: 12px; overflow-wrap: anywhere; }
.outcome-fail { color: #cf222e; } .outcome-waived { color: #8250df; } .outcome-pass { color: #1a7f37; }
.outcome-not-evaluated, .outcome-disabled { color: var(--muted); }
.sev-critical { color: #fff; background: #a40e26; border-color: #a40e26; }
.sev-high { color: #cf222e; } .sev-medium { color: #9a6700; } .sev-low { color: #0969da; }
.sev-info { color: var(--muted); }
.fix { background: var(--bg-alt); border-left: 3px solid var(--line); padding: 4px 8px; }
tr.row-pass td, tr.row-disabled td { color: var(--muted); }
/* a rule that passed or did not run shows its catalog severity, but not as an alarm */
tr.row-pass .sev, tr.row-not-evaluated .sev, tr.row-disabled .sev {
  color: var(--muted); background: none; border-color: var(--line); }
"""


def render_html(report: AuditReport) -> str:
    body = [
        *_header(report),
        "<main>",
        *_summary(report),
        *_categories(report),
        *_not_evaluated(report),
        *_notes(report),
        "</main>",
    ]
    title = f"{_title(report)}: score {report.score}, grade {report.grade}"
    return page.render_page(title=title, style=_STYLE, body=body)


def _title(report: AuditReport) -> str:
    return f"nodewarden audit of {report.cluster_name}" if report.cluster_name else "nodewarden audit"


def _header(report: AuditReport) -> list[str]:
    generated = sections.as_utc(report.generated_at).isoformat().replace("+00:00", "Z")
    meta = f'Generated <time datetime="{_e(generated)}">{_e(sections.format_time(report.generated_at))}</time>'
    if report.sources:
        meta += f" from {_e(sections.count_label(len(report.sources), 'input file'))}"
    return [
        "<header>",
        f"<h1>{_e(_title(report))}</h1>",
        f'<p class="meta">{meta}</p>',
        '<div class="headline">',
        f'<div class="score">{_e(report.score)}<small>/100</small></div>',
        f'<div class="grade grade-{_e(report.grade)}" title="grade">{_e(report.grade)}</div>',
        "</div>",
        "</header>",
    ]


def _summary(report: AuditReport) -> list[str]:
    rows = [
        f'<tr><td>{_outcome_badge(outcome)}</td><td class="n">{_e(report.count(outcome))}</td></tr>'
        for outcome in sections.OUTCOME_LABELS
    ]
    severity_rows = [
        f'<tr><td>{_severity_badge(severity)}</td><td class="n">{_e(count)}</td></tr>'
        for severity, count in report.severity_counts().items()
    ]
    return [
        '<section id="summary">',
        "<h2>Summary</h2>",
        '<table class="counts"><thead><tr><th>Rules</th><th>Count</th></tr></thead>',
        "<tbody>",
        *rows,
        "</tbody></table>",
        '<table class="counts"><thead><tr><th>Open findings</th><th>Count</th></tr></thead>',
        "<tbody>",
        *severity_rows,
        "</tbody></table>",
        "</section>",
    ]


def _categories(report: AuditReport) -> list[str]:
    parts: list[str] = []
    for category, members in sections.rules_by_category(report):
        parts += _category(category, members)
    return parts


def _category(category: Category, members: list[RuleReport]) -> list[str]:
    return [
        f'<section id="{_e(category.value)}">',
        f"<h2>{_e(category.value)}: {_e(category.label)}</h2>",
        '<table class="rules">',
        "<thead><tr><th>Rule</th><th>Result</th><th>Severity</th><th>Details</th></tr></thead>",
        "<tbody>",
        *(_rule_row(item) for item in members),
        "</tbody>",
        "</table>",
        "</section>",
    ]


def _rule_row(item: RuleReport) -> str:
    outcome = item.result.outcome
    cells = [
        f'<td class="id" id="{_e(item.meta.id)}">{_e(item.meta.id)}</td>',
        f"<td>{_outcome_badge(outcome)}</td>",
        f"<td>{_severity_badge(sections.shown_severity(item))}</td>",
        f"<td>{''.join(_details(item))}</td>",
    ]
    return f'<tr class="row-{_e(outcome.value)}">{"".join(cells)}</tr>'


def _details(item: RuleReport) -> list[str]:
    meta, result = item.meta, item.result
    parts = [f"<strong>{_e(meta.title)}</strong>"]
    if result.outcome in (Outcome.NOT_EVALUATED, Outcome.DISABLED):
        parts.append(f'<p class="muted">{_e(sections.skip_reason(item))}</p>')
    open_findings = result.open_findings
    if open_findings:
        parts.append(f'<ul class="findings">{"".join(_finding_item(f) for f in open_findings)}</ul>')
    waived = [f for f in result.findings if f.is_waived]
    if waived:
        parts.append(f'<ul class="waivers">{"".join(_waived_item(f) for f in waived)}</ul>')
    if result.outcome in (Outcome.FAIL, Outcome.WAIVED):
        parts.append(f'<p class="muted">{_e(meta.rationale)}</p>')
        parts.append(f'<p class="fix"><strong>Fix:</strong> {_e(meta.fix)}</p>')
        if meta.references:
            parts.append(f'<p class="muted">References: {"; ".join(_reference(ref) for ref in meta.references)}</p>')
    return parts


def _finding_item(finding: Finding) -> str:
    text = f"{_severity_badge(finding.severity)} {_target(finding.target)}: {_e(finding.message)}"
    expired = finding.expired_waiver
    if expired is not None and expired.expires is not None:
        text += f' <span class="muted">(waiver expired {_e(expired.expires.isoformat())}: {_e(expired.reason)})</span>'
    return f"<li>{text}</li>"


def _waived_item(finding: Finding) -> str:
    assert finding.waiver is not None  # callers pass waived findings only
    return (
        f"<li>{_outcome_badge(Outcome.WAIVED)} {_target(finding.target)}: {_e(finding.message)}"
        f' <span class="muted">— {_e(sections.describe_waiver(finding.waiver))}</span></li>'
    )


def _target(target: Target) -> str:
    key = f'<span class="key">{_e(target.key)}</span>'
    if target.resource_id is not None and target.resource_id != target.key:
        key += f' <span class="rid">{_e(target.resource_id)}</span>'
    return key


def _reference(reference: str) -> str:
    if _URL.match(reference):
        return f'<a href="{_e(reference)}" rel="noopener noreferrer">{_e(reference)}</a>'
    return _e(reference)


def _outcome_badge(outcome: Outcome) -> str:
    return f'<span class="badge outcome-{_e(outcome.value)}">{_e(sections.OUTCOME_LABELS[outcome])}</span>'


def _severity_badge(severity: Severity) -> str:
    return f'<span class="badge sev sev-{_e(severity.value)}">{_e(severity.value)}</span>'


def _not_evaluated(report: AuditReport) -> list[str]:
    items = [item for item in report.rules if item.result.outcome is Outcome.NOT_EVALUATED]
    if not items:
        return []
    return [
        '<section id="not-evaluated">',
        "<h2>Not evaluated</h2>",
        '<p class="muted">These rules did not run, so the score leaves them out either way.</p>',
        "<table><thead><tr><th>Rule</th><th>Title</th><th>Why</th></tr></thead><tbody>",
        *(_skip_row(item) for item in items),
        "</tbody></table>",
        "</section>",
    ]


def _skip_row(item: RuleReport) -> str:
    return (
        f'<tr><td class="id"><a href="#{_e(item.meta.id)}">{_e(item.meta.id)}</a></td>'
        f"<td>{_e(item.meta.title)}</td><td>{_e(sections.skip_reason(item))}</td></tr>"
    )


def _notes(report: AuditReport) -> list[str]:
    if not report.notes:
        return []
    return ['<section id="notes">', "<h2>Notes</h2>", *_list(report.notes), "</section>"]


def _list(values: Iterable[str]) -> list[str]:
    return ["<ul>", *(f"<li>{_e(value)}</li>" for value in values), "</ul>"]
