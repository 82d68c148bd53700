"""Score and grade: how much of the evaluated catalog, weighted by severity, the cluster meets.

score = 100 × Σ weight(rules passed or fully waived) / Σ weight(rules evaluated), where a failed rule
weighs as its worst open finding. Rules not evaluated count for nothing either way. Grades follow
Popeye's bands (internal/report/grade.go): A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, E ≥ 50, F below.
"""

from __future__ import annotations

from collections.abc import Iterable

from nodewarden.model.findings import Outcome, RuleResult, Severity

WEIGHTS = {Severity.CRITICAL: 10, Severity.HIGH: 5, Severity.MEDIUM: 3, Severity.LOW: 1, Severity.INFO: 0}
GRADES = ((90, "A"), (80, "B"), (70, "C"), (60, "D"), (50, "E"))


def score(results: Iterable[tuple[RuleResult, Severity]]) -> int:
    """Results paired with their rule's catalog severity; 100 when nothing was evaluated."""
    earned = total = 0
    for result, catalog_severity in results:
        if result.outcome in (Outcome.PASS, Outcome.WAIVED):
            weight = WEIGHTS[catalog_severity]
            earned += weight
            total += weight
        elif result.outcome is Outcome.FAIL:
            total += max(WEIGHTS[f.severity] for f in result.open_findings)
    if total == 0:
        return 100
    return round(100 * earned / total)


def grade(value: int) -> str:
    for floor, letter in GRADES:
        if value >= floor:
            return letter
    return "F"
