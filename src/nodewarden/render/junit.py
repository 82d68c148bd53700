"""The audit report as JUnit XML, so CI test dashboards show the audit next to the test runs.

Each catalog section is a `<testsuite>`, and each rule a `<testcase>`. The mapping:
- FAIL: `<failure>`; its type is the worst open severity, and its text lists the findings.
- NOT_EVALUATED and DISABLED: `<skipped>` with the reason. A rule that did not run is not a pass.
- WAIVED: a pass; `<system-out>` names each waiver, so the acceptance stays visible.
- PASS: an empty test case.
There are never errors: a rule that cannot decide is NOT_EVALUATED, not an error.
ElementTree escapes text and attributes. XML 1.0 cannot carry some control characters at all, even
escaped, so those are replaced before they reach the tree.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime

from nodewarden.audit.report import AuditReport, RuleReport
from nodewarden.model.findings import Category, Finding, Outcome
from nodewarden.render import sections

SKIPPED = (Outcome.NOT_EVALUATED, Outcome.DISABLED)

# XML 1.0 §2.2 Char: tab, newline and carriage return are the only control characters allowed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def render_junit(report: AuditReport) -> str:
    root = ET.Element("testsuites", name=_safe(_title(report)))
    for category, members in sections.rules_by_category(report):
        root.append(_suite(category, members, timestamp=_timestamp(report.generated_at)))
    _set_counts(root, [item for _, members in sections.rules_by_category(report) for item in members])
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _title(report: AuditReport) -> str:
    return f"nodewarden audit of {report.cluster_name}" if report.cluster_name else "nodewarden audit"


def _suite(category: Category, members: Sequence[RuleReport], *, timestamp: str) -> ET.Element:
    suite = ET.Element("testsuite", name=f"{category.value}: {category.label}", timestamp=timestamp)
    _set_counts(suite, members)
    for item in members:
        suite.append(_case(item))
    return suite


def _set_counts(element: ET.Element, members: Sequence[RuleReport]) -> None:
    """Write the counts in the order JUnit readers expect: tests, failures, errors, skipped."""
    outcomes = [item.result.outcome for item in members]
    element.set("tests", str(len(outcomes)))
    element.set("failures", str(outcomes.count(Outcome.FAIL)))
    element.set("errors", "0")
    element.set("skipped", str(sum(1 for outcome in outcomes if outcome in SKIPPED)))
    element.set("time", "0")


def _case(item: RuleReport) -> ET.Element:
    meta, result = item.meta, item.result
    case = ET.Element(
        "testcase",
        classname=_safe(f"nodewarden.{meta.category.value}"),
        name=_safe(f"{meta.id} {meta.title}"),
        time="0",
    )
    if result.outcome is Outcome.FAIL:
        open_findings = result.open_findings
        worst = sections.shown_severity(item)
        failure = ET.SubElement(
            case,
            "failure",
            type=worst.value,
            message=_safe(f"{sections.count_label(len(open_findings), 'open finding')}, worst {worst.value}"),
        )
        failure.text = _safe(_failure_text(item))
    elif result.outcome in SKIPPED:
        ET.SubElement(case, "skipped", message=_safe(sections.skip_reason(item)))
    waived = [f for f in result.findings if f.is_waived]
    if waived:
        output = ET.SubElement(case, "system-out")
        output.text = _safe("\n".join(_waiver_line(f) for f in waived))
    return case


def _failure_text(item: RuleReport) -> str:
    lines = [_finding_line(finding) for finding in item.result.open_findings]
    lines += ["", f"Fix: {item.meta.fix}"]
    return "\n".join(lines)


def _finding_line(finding: Finding) -> str:
    line = f"[{finding.severity.value}] {finding.target.key}: {finding.message}"
    if finding.target.resource_id is not None and finding.target.resource_id != finding.target.key:
        line += f" ({finding.target.resource_id})"
    expired = finding.expired_waiver
    if expired is not None and expired.expires is not None:
        line += f"; waiver expired {expired.expires.isoformat()}"
    return line


def _waiver_line(finding: Finding) -> str:
    assert finding.waiver is not None  # callers pass waived findings only
    return f"waived {finding.target.key}: {finding.message}; {sections.describe_waiver(finding.waiver)}"


def _timestamp(moment: datetime) -> str:
    """The JUnit schema's timestamp has no zone, so we give UTC."""
    return sections.as_utc(moment).replace(tzinfo=None).isoformat(timespec="seconds")


def _safe(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)
