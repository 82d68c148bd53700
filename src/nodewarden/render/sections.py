"""How the human-readable reports word an audit: sections, outcome labels, waivers and times.

Markdown, HTML and JUnit read the same `AuditReport` and must describe it the same way; the wording
lives here so the three do not drift. Nothing here formats for one medium: escaping stays with each
renderer.
"""

from __future__ import annotations

from datetime import UTC, datetime

from nodewarden.audit.report import AuditReport, RuleReport
from nodewarden.model.findings import Category, Finding, Outcome, Severity, Waiver
from nodewarden.model.kube import WAIVE_ANNOTATION

OUTCOME_LABELS = {
    Outcome.FAIL: "failed",
    Outcome.WAIVED: "waived",
    Outcome.PASS: "passed",
    Outcome.NOT_EVALUATED: "not evaluated",
    Outcome.DISABLED: "disabled",
}

# `audit.waivers` records an annotation waiver's source as "annotation nodewarden.io/waive"; the
# waiver file's source is its path. The source string is the only place the channel is recorded.
_ANNOTATION_SOURCE = f"annotation {WAIVE_ANNOTATION}"


def rules_by_category(report: AuditReport) -> list[tuple[Category, list[RuleReport]]]:
    """The report's rules grouped by catalog section, in catalog order; empty sections left out."""
    groups = []
    for category in Category:
        members = [item for item in report.rules if item.meta.category is category]
        if members:
            groups.append((category, members))
    return groups


def shown_severity(item: RuleReport) -> Severity:
    """A failed rule shows its worst open finding; any other rule its catalog severity."""
    return item.worst_open_severity or item.meta.severity


def waived_findings(report: AuditReport) -> list[tuple[RuleReport, Finding]]:
    """Every waived finding, whether or not its rule still fails on other targets."""
    return [(item, f) for item in report.rules for f in item.result.findings if f.is_waived]


def is_annotation_waiver(waiver: Waiver) -> bool:
    """True when the waiver comes from the object's own `nodewarden.io/waive` annotation."""
    return waiver.source == _ANNOTATION_SOURCE


def describe_waiver(waiver: Waiver) -> str:
    """`reason (source, until 2026-12-31)`: one line, for text and attribute values."""
    where = waiver.source
    if waiver.expires is not None:
        where += f", until {waiver.expires.isoformat()}"
    return f"{waiver.reason} ({where})"


def skip_reason(item: RuleReport) -> str:
    """Why a rule did not run; the engine always gives a reason, this covers a report built without."""
    return item.result.reason or OUTCOME_LABELS[item.result.outcome]


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC. A naive time is taken to be UTC already: we never consult the local zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """`2026-11-26 12:00 UTC`."""
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def count_label(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
