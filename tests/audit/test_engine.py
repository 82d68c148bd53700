"""The engine: input checks, not-evaluated reasons, waivers from files and annotations, scoring."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodewarden.audit import engine, scoring
from nodewarden.audit.catalog import Catalog, NotEvaluated, Rule, RuleContext, Violation, rule
from nodewarden.audit.params import AuditParams
from nodewarden.audit.report import AuditReport
from nodewarden.audit.waivers import WaiverEntry
from nodewarden.model.findings import (
    AnnotationWaiver,
    Category,
    Finding,
    Outcome,
    Profile,
    RuleResult,
    Severity,
    Target,
)
from nodewarden.model.inputs import Input
from nodewarden.model.snapshot import Snapshot

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CONTEXT = RuleContext(params=AuditParams(), now=NOW)
WEB = Target(kind="Deployment", name="web", namespace="shop")
WAIVED_WEB = Target(
    kind="Deployment", name="web", namespace="shop", annotation_waiver=AnnotationWaiver(frozenset({"WL901"}), "canary")
)
UNREASONED_WEB = Target(
    kind="Deployment", name="web", namespace="shop", annotation_waiver=AnnotationWaiver(frozenset({"WL901"}), None)
)
POOL = Target(kind="agentPool", name="apps", resource_id="/subscriptions/S/resourceGroups/RG/agentPools/apps")


def _rule(
    rule_id: str, targets: list[Target], *, needs: tuple[Input, ...] = (), severity: Severity = Severity.HIGH
) -> Rule:
    def check(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
        for target in targets:
            yield Violation(target, f"{target.name} is bad")

    category = Category(rule_id[:2] if not rule_id.startswith("SEC") else "SEC")
    return rule(id=rule_id, title="t", category=category, severity=severity, rationale="r", fix="f", needs=needs)(check)


def _run(
    *rules: Rule, entries: tuple[WaiverEntry, ...] = (), annotations: bool = True, snap: Snapshot | None = None
) -> AuditReport:
    return engine.run_audit(
        snap or Snapshot(),
        catalog=Catalog(rules),
        context=CONTEXT,
        waiver_entries=entries,
        use_annotation_waivers=annotations,
    )


def test_a_rule_whose_input_is_missing_is_not_evaluated_and_names_the_export() -> None:
    report = _run(_rule("WL901", [WEB], needs=(Input.PDBS,)))
    result = report.rules[0].result
    assert result.outcome is Outcome.NOT_EVALUATED
    assert result.reason == "input missing: kubectl get poddisruptionbudgets -A -o json"
    assert result.findings == ()


def test_a_rule_that_cannot_decide_is_not_evaluated_with_its_reason() -> None:
    def check(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
        raise NotEvaluated("the subnet export is missing")

    item = rule(id="AS901", title="t", category=Category.AS, severity=Severity.LOW, rationale="r", fix="f", needs=())(
        check
    )
    result = _run(item).rules[0].result
    assert result.outcome is Outcome.NOT_EVALUATED
    assert result.reason == "the subnet export is missing"


def test_a_rule_with_no_violations_passes() -> None:
    assert _run(_rule("WL901", [])).rules[0].result.outcome is Outcome.PASS


def test_a_file_waiver_matches_by_rule_glob_and_target_key() -> None:
    entry = WaiverEntry(rule="WL*", target="Deployment/shop/*", reason="accepted")
    result = _run(_rule("WL901", [WEB]), entries=(entry,)).rules[0].result
    assert result.outcome is Outcome.WAIVED
    assert result.findings[0].waiver is not None
    assert result.findings[0].waiver.reason == "accepted"


def test_a_file_waiver_matches_an_azure_resource_id_case_insensitively() -> None:
    entry = WaiverEntry(rule="HA901", target="/subscriptions/s/resourcegroups/rg/*", reason="accepted")
    assert _run(_rule("HA901", [POOL]), entries=(entry,)).rules[0].result.outcome is Outcome.WAIVED


def test_a_waiver_for_another_target_does_not_apply() -> None:
    entry = WaiverEntry(rule="WL901", target="Deployment/other/*", reason="accepted")
    assert _run(_rule("WL901", [WEB]), entries=(entry,)).rules[0].result.outcome is Outcome.FAIL


def test_a_waiver_applies_through_its_expiry_day_and_not_after() -> None:
    on_the_day = WaiverEntry(rule="WL901", reason="r", expires=date(2026, 11, 26))
    assert _run(_rule("WL901", [WEB]), entries=(on_the_day,)).rules[0].result.outcome is Outcome.WAIVED
    expired = WaiverEntry(rule="WL901", reason="until the fix", expires=date(2026, 11, 25))
    report = _run(_rule("WL901", [WEB]), entries=(expired,))
    finding = report.rules[0].result.findings[0]
    assert report.rules[0].result.outcome is Outcome.FAIL
    assert finding.expired_waiver is not None
    assert report.notes == ("WL901 on Deployment/shop/web: waiver expired on 2026-11-25 (until the fix)",)


def test_an_annotation_waiver_with_a_reason_applies_unless_annotations_are_ignored() -> None:
    item = _rule("WL901", [WAIVED_WEB])
    waived = _run(item).rules[0].result
    assert waived.outcome is Outcome.WAIVED
    assert waived.findings[0].waiver is not None
    assert waived.findings[0].waiver.source == "annotation nodewarden.io/waive"
    assert _run(item, annotations=False).rules[0].result.outcome is Outcome.FAIL


def test_an_annotation_waiver_without_a_reason_does_not_apply_and_says_so() -> None:
    report = _run(_rule("WL901", [UNREASONED_WEB]))
    assert report.rules[0].result.outcome is Outcome.FAIL
    assert "nodewarden.io/waive-reason is missing" in report.notes[0]


def test_an_annotation_waiver_covers_only_the_rules_it_names() -> None:
    assert _run(_rule("WL902", [WAIVED_WEB])).rules[0].result.outcome is Outcome.FAIL


def test_some_findings_waived_leave_the_rule_failed() -> None:
    entry = WaiverEntry(rule="WL901", target="Deployment/shop/web", reason="r")
    other = Target(kind="Deployment", name="api", namespace="shop")
    result = _run(_rule("WL901", [WEB, other]), entries=(entry,)).rules[0].result
    assert result.outcome is Outcome.FAIL
    assert [f.target.name for f in result.open_findings] == ["api"]


def test_rules_outside_the_selected_profile_are_disabled() -> None:
    def check(snap: Snapshot, ctx: RuleContext) -> Iterator[Violation]:
        yield from ()

    extended = rule(
        id="HA999",
        title="t",
        category=Category.HA,
        severity=Severity.INFO,
        rationale="r",
        fix="f",
        needs=(),
        profile=Profile.EXTENDED,
    )(check)
    report = engine.run_audit(Snapshot(), catalog=Catalog([extended]), context=CONTEXT, profiles=(Profile.CORE,))
    assert report.rules[0].result.outcome is Outcome.DISABLED
    assert report.rules[0].result.reason == "extended profile not selected"


def test_a_rule_id_must_match_its_category() -> None:
    with pytest.raises(ValueError, match="does not match its category"):
        rule(id="WL001", title="t", category=Category.HA, severity=Severity.LOW, rationale="r", fix="f", needs=())


def test_a_catalog_refuses_duplicate_ids() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        Catalog([_rule("WL901", []), _rule("WL901", [])])


@pytest.mark.parametrize(
    ("value", "letter"),
    [(100, "A"), (90, "A"), (89, "B"), (80, "B"), (70, "C"), (60, "D"), (50, "E"), (49, "F"), (0, "F")],
)
def test_grades_follow_popeye_bands(value: int, letter: str) -> None:
    assert scoring.grade(value) == letter


def test_the_score_weighs_rules_by_severity_and_ignores_unevaluated_ones() -> None:
    report = _run(
        _rule("HA901", [], severity=Severity.HIGH),
        _rule("HA902", [POOL], severity=Severity.MEDIUM),
        _rule("HA903", [POOL], needs=(Input.SUBNETS,), severity=Severity.CRITICAL),
    )
    assert report.score == round(100 * 5 / (5 + 3))


outcomes = st.sampled_from([Outcome.PASS, Outcome.FAIL, Outcome.WAIVED, Outcome.NOT_EVALUATED, Outcome.DISABLED])


@given(st.lists(st.tuples(outcomes, st.sampled_from(list(Severity))), max_size=30))
def test_the_score_is_a_percentage(items: list[tuple[Outcome, Severity]]) -> None:
    results = []
    for index, (outcome, severity) in enumerate(items):
        findings = (Finding(f"HA{index:03d}", severity, WEB, "m"),) if outcome is Outcome.FAIL else ()
        results.append((RuleResult(f"HA{index:03d}", outcome, findings), severity))
    assert 0 <= scoring.score(results) <= 100
    if all(outcome is not Outcome.FAIL for outcome, _ in items):
        assert scoring.score(results) == 100
