"""Waivers: accepted findings, from a waiver file or from `nodewarden.io/waive` annotations.

A waiver needs a reason. One past its `expires` date no longer applies, and the finding says so.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nodewarden.model.findings import Finding, Target, Waiver
from nodewarden.model.kube import WAIVE_ANNOTATION, WAIVE_REASON_ANNOTATION


class WaiverEntry(BaseModel):
    """One entry of a waiver file: which rule, which targets, why, and until when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str = Field(description="A rule ID or glob, e.g. WL001 or WL*.")
    target: str = Field(
        "*",
        description="A glob over the target key (Kind/namespace/name or Kind/name), its name or its Azure resource id.",
    )
    reason: str = Field(min_length=1, description="Why the finding is accepted; required.")
    expires: date | None = Field(None, description="The last day the waiver applies (YYYY-MM-DD).")

    @field_validator("reason")
    @classmethod
    def _reason_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("reason must not be blank")
        return value.strip()

    def covers(self, finding: Finding) -> bool:
        return fnmatch.fnmatchcase(finding.rule_id, self.rule.upper()) and _target_matches(self.target, finding.target)

    def as_waiver(self, source: str) -> Waiver:
        return Waiver(reason=self.reason, source=source, expires=self.expires)


class WaiverFile(BaseModel):
    """The `--waivers` file: `waivers: [{rule, target, reason, expires}]`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    waivers: list[WaiverEntry] = Field(default_factory=list)


def _target_matches(pattern: str, target: Target) -> bool:
    if fnmatch.fnmatchcase(target.key, pattern) or fnmatch.fnmatchcase(target.name, pattern):
        return True
    # ARM ids are case-insensitive.
    return target.resource_id is not None and fnmatch.fnmatch(target.resource_id.lower(), pattern.lower())


def apply_waivers(
    findings: Iterable[Finding],
    *,
    entries: Sequence[WaiverEntry],
    source: str,
    today: date,
    use_annotations: bool,
) -> list[Finding]:
    """Mark findings waived where a current waiver covers them; note expired ones."""
    result = []
    for finding in findings:
        waiver, expired = _pick(finding, entries=entries, source=source, today=today, use_annotations=use_annotations)
        result.append(replace(finding, waiver=waiver, expired_waiver=expired))
    return result


def _pick(
    finding: Finding, *, entries: Sequence[WaiverEntry], source: str, today: date, use_annotations: bool
) -> tuple[Waiver | None, Waiver | None]:
    expired: Waiver | None = None
    for entry in entries:
        if not entry.covers(finding):
            continue
        if entry.expires is not None and entry.expires < today:
            expired = expired or entry.as_waiver(source)
            continue
        return entry.as_waiver(source), None
    annotation = finding.target.annotation_waiver
    if use_annotations and annotation and finding.rule_id in annotation.rules and annotation.reason:
        return Waiver(reason=annotation.reason, source=f"annotation {WAIVE_ANNOTATION}"), None
    return None, expired


def annotation_problems(findings: Iterable[Finding]) -> list[str]:
    """Annotation waivers that name a failing rule but give no reason (so they do not apply)."""
    problems = []
    for finding in findings:
        annotation = finding.target.annotation_waiver
        if annotation and finding.rule_id in annotation.rules and not annotation.reason:
            problems.append(
                f"{finding.target.key}: {WAIVE_ANNOTATION} names {finding.rule_id} but "
                f"{WAIVE_REASON_ANNOTATION} is missing, so the waiver does not apply"
            )
    return problems
