"""The audit's answer: one result per rule, with the metadata renderers need, score and grade."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from nodewarden.audit.catalog import RuleMeta
from nodewarden.model.findings import Finding, Outcome, RuleResult, Severity


@dataclass(frozen=True, slots=True)
class RuleReport:
    meta: RuleMeta
    result: RuleResult

    @property
    def worst_open_severity(self) -> Severity | None:
        open_findings = self.result.open_findings
        if not open_findings:
            return None
        return max((f.severity for f in open_findings), key=lambda s: s.rank)


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Everything one audit produced; renderers read only this."""

    rules: tuple[RuleReport, ...]
    score: int
    grade: str
    generated_at: datetime
    cluster_name: str | None = None
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    not_selected: frozenset[str] = frozenset()  # rule IDs `audit --rule` left out: not run, and not disabled

    def is_selected(self, item: RuleReport) -> bool:
        return item.meta.id not in self.not_selected

    def count_disabled(self) -> int:
        """Rules the config or the profile turned off (not those `--rule` left out)."""
        return sum(1 for item in self.rules if item.result.outcome is Outcome.DISABLED and self.is_selected(item))

    def findings(self) -> Iterator[Finding]:
        for item in self.rules:
            yield from item.result.findings

    def count(self, outcome: Outcome) -> int:
        return sum(1 for item in self.rules if item.result.outcome is outcome)

    def open_at_or_above(self, threshold: Severity) -> list[Finding]:
        """Unwaived findings at or above `threshold`: what makes the exit code 1."""
        return [f for f in self.findings() if not f.is_waived and f.severity.at_least(threshold)]

    def severity_counts(self) -> dict[Severity, int]:
        counts = dict.fromkeys(Severity, 0)
        for finding in self.findings():
            if not finding.is_waived:
                counts[finding.severity] += 1
        return counts
