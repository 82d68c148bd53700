"""Runs a catalog over a snapshot: checks inputs, calls each rule, applies waivers, scores."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from nodewarden.audit import scoring, waivers
from nodewarden.audit.catalog import Catalog, NotEvaluated, Rule, RuleContext
from nodewarden.audit.report import AuditReport, RuleReport
from nodewarden.audit.waivers import WaiverEntry
from nodewarden.model.findings import Finding, Outcome, Profile, RuleResult
from nodewarden.model.snapshot import Snapshot

NOT_SELECTED = "not selected (-r)"  # `audit --rule` named other rules


def run_audit(
    snapshot: Snapshot,
    *,
    catalog: Catalog,
    context: RuleContext,
    waiver_entries: Sequence[WaiverEntry] = (),
    waiver_source: str = "waivers",
    use_annotation_waivers: bool = True,
    disabled: Collection[str] = (),
    not_selected: Collection[str] = (),
    profiles: Collection[Profile] = (Profile.CORE, Profile.EXTENDED),
) -> AuditReport:
    """Evaluate every rule; a rule whose input is missing is NOT_EVALUATED and says what was missing.

    Rules in `not_selected` (those `audit --rule` leaves out), `disabled` (the config's `audit.disable`) or outside
    `profiles` do not run: each is DISABLED with its reason, the first kind before the others."""
    reports = []
    notes: list[str] = []
    for item in catalog:
        reason = _skip_reason(item, disabled=disabled, not_selected=not_selected, profiles=profiles)
        if reason is not None:
            reports.append(RuleReport(item.meta, RuleResult(item.meta.id, Outcome.DISABLED, reason=reason)))
            continue
        result = _evaluate(item, snapshot, context)
        if result.findings:
            findings = waivers.apply_waivers(
                result.findings,
                entries=waiver_entries,
                source=waiver_source,
                today=context.now.date(),
                use_annotations=use_annotation_waivers,
            )
            if use_annotation_waivers:
                notes.extend(waivers.annotation_problems(findings))
            notes.extend(_expiry_notes(findings))
            outcome = Outcome.FAIL if any(not f.is_waived for f in findings) else Outcome.WAIVED
            result = RuleResult(item.meta.id, outcome, tuple(findings))
        reports.append(RuleReport(item.meta, result))
    value = scoring.score((r.result, r.meta.severity) for r in reports)
    return AuditReport(
        rules=tuple(reports),
        score=value,
        grade=scoring.grade(value),
        generated_at=context.now,
        cluster_name=snapshot.cluster.name if snapshot.cluster else None,
        sources=snapshot.sources,
        notes=tuple(dict.fromkeys(notes)),
        not_selected=frozenset(not_selected) & frozenset(catalog.ids()),
    )


def _skip_reason(
    item: Rule, *, disabled: Collection[str], not_selected: Collection[str], profiles: Collection[Profile]
) -> str | None:
    """Why the rule does not run (None: it runs)."""
    if item.meta.id in not_selected:
        return NOT_SELECTED
    if item.meta.id in disabled:
        return "disabled in the config"
    if item.meta.profile not in profiles:
        return f"{item.meta.profile} profile not selected"
    return None


def _evaluate(item: Rule, snapshot: Snapshot, context: RuleContext) -> RuleResult:
    missing = snapshot.missing(*item.meta.needs)
    if missing:
        wanted = "; ".join(kind.command for kind in missing)
        return RuleResult(item.meta.id, Outcome.NOT_EVALUATED, reason=f"input missing: {wanted}")
    try:
        violations = list(item(snapshot, context))
    except NotEvaluated as exc:
        return RuleResult(item.meta.id, Outcome.NOT_EVALUATED, reason=str(exc))
    if not violations:
        return RuleResult(item.meta.id, Outcome.PASS)
    findings = tuple(
        Finding(
            rule_id=item.meta.id,
            severity=v.severity or item.meta.severity,
            target=v.target,
            message=v.message,
            source=snapshot.origin_of(v.target),
        )
        for v in violations
    )
    return RuleResult(item.meta.id, Outcome.FAIL, findings)


def _expiry_notes(findings: Sequence[Finding]) -> list[str]:
    return [
        f"{f.rule_id} on {f.target.key}: waiver expired on {f.expired_waiver.expires} ({f.expired_waiver.reason})"
        for f in findings
        if f.expired_waiver is not None and f.expired_waiver.expires is not None
    ]
