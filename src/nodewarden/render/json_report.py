"""The audit report as JSON: stable camelCase keys, one entry per rule, findings inside."""

from __future__ import annotations

import json
from typing import Any

from nodewarden import __version__
from nodewarden.audit.report import AuditReport, RuleReport
from nodewarden.model.findings import Finding, Outcome, Target, Waiver


def report_to_dict(report: AuditReport) -> dict[str, Any]:
    counts = report.severity_counts()
    return {
        "tool": {"name": "nodewarden", "version": __version__},
        "generatedAt": report.generated_at.isoformat(),
        "cluster": report.cluster_name,
        "score": report.score,
        "grade": report.grade,
        "summary": {
            "rules": {outcome.value: report.count(outcome) for outcome in Outcome},
            "openFindings": {severity.value: count for severity, count in counts.items()},
        },
        "rules": [_rule(item) for item in report.rules],
        "notes": list(report.notes),
        "sources": list(report.sources),
    }


def render_json(report: AuditReport) -> str:
    return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False) + "\n"


def _rule(item: RuleReport) -> dict[str, Any]:
    meta, result = item.meta, item.result
    return {
        "id": meta.id,
        "title": meta.title,
        "category": meta.category.value,
        "severity": meta.severity.value,
        "profile": meta.profile.value,
        "outcome": result.outcome.value,
        "reason": result.reason,
        "findings": [_finding(f) for f in result.findings],
    }


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "severity": finding.severity.value,
        "target": target_to_dict(finding.target),
        "message": finding.message,
        "source": finding.source,
        "waived": finding.is_waived,
        "waiver": _waiver(finding.waiver),
        "expiredWaiver": _waiver(finding.expired_waiver),
    }


def target_to_dict(target: Target) -> dict[str, Any]:
    return {
        "kind": target.kind,
        "name": target.name,
        "namespace": target.namespace,
        "resourceId": target.resource_id,
        "key": target.key,
    }


def _waiver(waiver: Waiver | None) -> dict[str, Any] | None:
    if waiver is None:
        return None
    return {
        "reason": waiver.reason,
        "source": waiver.source,
        "expires": waiver.expires.isoformat() if waiver.expires else None,
    }
