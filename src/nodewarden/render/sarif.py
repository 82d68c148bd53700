"""The audit report as SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.

One run. `tool.driver.rules` lists every rule in the report, run or not, so a viewer can tell "ran
and found nothing" from "unknown rule" and close alerts that were fixed. Each finding is one result.
Its location is logical only: an Azure resource id, or a Kubernetes object as kind/namespace/name.
We have no file and line to point at, so we invent none. Waived findings stay in the log as
suppressed results, so the waiver is visible where the alert would be.
Rules that did not run are notifications of the one invocation: rules that were not evaluated go in
`toolExecutionNotifications`, and disabled rules go in `toolConfigurationNotifications`. SARIF 2.1.0
has no `ruleConfigurationNotifications`, and its suppression field is `status`, not the draft's `state`.
The execution still succeeded, so `executionSuccessful` is true.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from pathlib import PurePath
from typing import Any

from nodewarden import __version__
from nodewarden.audit.catalog import RuleMeta
from nodewarden.audit.report import AuditReport, RuleReport
from nodewarden.model.findings import Category, Finding, Outcome, Severity, Target, Waiver
from nodewarden.render import json_report, markdown, sections

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "nodewarden"
# Not confirmed: the project has no published home yet. Replace this when it does.
INFORMATION_URI = "https://github.com/nodewarden/nodewarden"

# Our severities onto SARIF 2.1.0 `level` (§3.27.10): critical/high → error, medium → warning, low/info → note.
LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub reads `security-severity` as a string score: ≥ 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium,
# < 4.0 low. Each value sits well inside its band.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}
# The key names the hashing scheme; bump its version if the hashed text ever changes, so that code
# scanning treats a new value as a new fingerprint kind rather than a different finding.
FINGERPRINT_KEY = "nodewardenFinding/v1"

_URL = re.compile(r"^https?://\S+$")
_WORDS = re.compile(r"[^A-Za-z0-9]+")


def render_sarif(report: AuditReport) -> str:
    return json.dumps(report_to_sarif(report), indent=2, ensure_ascii=False) + "\n"


def report_to_sarif(report: AuditReport) -> dict[str, Any]:
    index = {item.meta.id: position for position, item in enumerate(report.rules)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_descriptor(item.meta) for item in report.rules],
            }
        },
        "invocations": [_invocation(report, index)],
        "results": [
            _result(finding, rule_index=index[item.meta.id])
            for item in report.rules
            for finding in item.result.findings
        ],
        "properties": {
            "cluster": report.cluster_name,
            "score": report.score,
            "grade": report.grade,
            "sources": list(report.sources),
        },
    }
    if report.cluster_name:
        # Code scanning keys alerts by this id, so two clusters uploaded to one repository stay apart.
        run["automationDetails"] = {"id": f"nodewarden-audit/{report.cluster_name}/"}
    return {"$schema": SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def rule_name(meta: RuleMeta) -> str:
    """The title's words in PascalCase, the form the SARIF spec recommends for a rule's `name`.

    Built from the title rather than the lower-case slug so that names keep their capitals:
    "Workloads have a PodDisruptionBudget" → "WorkloadsHaveAPodDisruptionBudget".
    """
    return "".join(word[:1].upper() + word[1:] for word in _WORDS.split(meta.title) if word)


def fingerprint(rule_id: str, target: Target) -> str:
    """A stable hash of the rule and the target key, so a finding keeps its alert across runs."""
    return hashlib.sha256(f"{rule_id}\0{target.key}".encode()).hexdigest()


def _descriptor(meta: RuleMeta) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": meta.id,
        "name": rule_name(meta),
        "shortDescription": {"text": meta.title},
        "fullDescription": {"text": meta.rationale},
        "help": {"text": _help_text(meta), "markdown": _help_markdown(meta)},
        "defaultConfiguration": {"level": LEVELS[meta.severity]},
        "properties": {
            "category": meta.category.value,
            "severity": meta.severity.value,
            "profile": meta.profile.value,
            "tags": _tags(meta),
            "security-severity": SECURITY_SEVERITY[meta.severity],
        },
    }
    uri = next((ref for ref in meta.references if _URL.match(ref)), None)
    if uri is not None:
        descriptor["helpUri"] = uri
    return descriptor


def _tags(meta: RuleMeta) -> list[str]:
    # GitHub applies `security-severity` only to rules tagged "security". Every rule is tagged, so
    # all alerts get one severity scale. The second tag keeps availability rules apart from security ones.
    kind = "security-hardening" if meta.category is Category.SEC else "reliability"
    return ["security", kind, "aks", meta.category.value]


def _help_text(meta: RuleMeta) -> str:
    lines = [meta.rationale, "", f"Fix: {meta.fix}"]
    if meta.references:
        lines += ["", "References:", *(f"- {ref}" for ref in meta.references)]
    return "\n".join(lines)


def _help_markdown(meta: RuleMeta) -> str:
    lines = [
        f"**{markdown.escape(meta.title)}**",
        "",
        markdown.escape(meta.rationale),
        "",
        f"**Fix:** {markdown.escape(meta.fix)}",
    ]
    if meta.references:
        lines += ["", "**References:**", *(f"- {_markdown_reference(ref)}" for ref in meta.references)]
    return "\n".join(lines)


def _markdown_reference(reference: str) -> str:
    if _URL.match(reference):
        return f"<{reference}>"
    return markdown.escape(reference)


def _result(finding: Finding, *, rule_index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": f"{finding.target.key}: {finding.message}"},
        "locations": [_location(finding)],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(finding.rule_id, finding.target)},
        "properties": {
            "severity": finding.severity.value,
            "security-severity": SECURITY_SEVERITY[finding.severity],
            "target": json_report.target_to_dict(finding.target),
        },
    }
    if finding.waiver is not None:
        result["suppressions"] = [_suppression(finding.waiver)]
    if finding.expired_waiver is not None:
        result["properties"]["expiredWaiver"] = _waiver_properties(finding.expired_waiver)
    return result


def _location(finding: Finding) -> dict[str, Any]:
    """The input file that held the target (GitHub code scanning needs a physical location) and the object."""
    location: dict[str, Any] = {"logicalLocations": [_logical_location(finding.target)]}
    if finding.source:
        uri = PurePath(finding.source.split("#", 1)[0]).as_posix()
        location["physicalLocation"] = {"artifactLocation": {"uri": uri}, "region": {"startLine": 1}}
    return location


def _logical_location(target: Target) -> dict[str, str]:
    if target.resource_id is not None:
        return {"name": target.name, "fullyQualifiedName": target.resource_id, "kind": "resource"}
    return {"name": target.name, "fullyQualifiedName": target.key, "kind": "object"}


def _suppression(waiver: Waiver) -> dict[str, Any]:
    """The annotation is stored on the object itself, so it counts as in source; the waiver file is external."""
    return {
        "kind": "inSource" if sections.is_annotation_waiver(waiver) else "external",
        "status": "accepted",
        "justification": waiver.reason,
        "properties": _waiver_properties(waiver),
    }


def _waiver_properties(waiver: Waiver) -> dict[str, Any]:
    return {
        "reason": waiver.reason,
        "source": waiver.source,
        "expires": waiver.expires.isoformat() if waiver.expires else None,
    }


def _invocation(report: AuditReport, index: dict[str, int]) -> dict[str, Any]:
    execution = []
    configuration = []
    for item in report.rules:
        outcome = item.result.outcome
        if outcome is Outcome.NOT_EVALUATED:
            execution.append(_rule_notification(item, index, level="warning"))
        elif outcome is Outcome.DISABLED:
            configuration.append(_rule_notification(item, index, level="note"))
    execution += [{"level": "note", "message": {"text": note}} for note in report.notes]
    invocation: dict[str, Any] = {
        "executionSuccessful": True,
        "endTimeUtc": _utc(report.generated_at),
    }
    if execution:
        invocation["toolExecutionNotifications"] = execution
    if configuration:
        invocation["toolConfigurationNotifications"] = configuration
    return invocation


def _rule_notification(item: RuleReport, index: dict[str, int], *, level: str) -> dict[str, Any]:
    verb = "was not evaluated" if item.result.outcome is Outcome.NOT_EVALUATED else "is disabled"
    return {
        "level": level,
        "message": {"text": f"{item.meta.id} {verb}: {sections.skip_reason(item)}"},
        "associatedRule": {"id": item.meta.id, "index": index[item.meta.id]},
    }


def _utc(moment: datetime) -> str:
    """SARIF times are UTC, written with a Z."""
    return sections.as_utc(moment).isoformat().replace("+00:00", "Z")
