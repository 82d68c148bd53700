"""JUnit output: parsed back with ElementTree; counts, failures, skips, waivers and escaping."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from nodewarden.audit.report import AuditReport
from nodewarden.render import junit
from tests.render import reports


def parse(report: AuditReport | None = None) -> ET.Element:
    return ET.fromstring(junit.render_junit(reports.sample_report() if report is None else report))


def counts(element: ET.Element) -> dict[str, str]:
    return {key: element.attrib[key] for key in ("tests", "failures", "errors", "skipped")}


def case(root: ET.Element, rule_id: str) -> ET.Element:
    [found] = [c for c in root.iter("testcase") if c.attrib["name"].startswith(f"{rule_id} ")]
    return found


def test_junit_has_one_suite_per_category_in_catalog_order() -> None:
    root = parse()
    assert root.tag == "testsuites"
    names = [suite.attrib["name"] for suite in root.findall("testsuite")]
    assert names == [
        "HA: Cluster and node-pool availability",
        "WL: Workload availability",
        "SEC: Network and identity security",
        "MON: Monitoring",
        "DR: Backup and disaster recovery",
    ]


def test_junit_counts_on_the_root_add_up_over_all_rules() -> None:
    assert counts(parse()) == {"tests": "6", "failures": "1", "errors": "0", "skipped": "2"}


def test_junit_counts_on_each_suite_match_its_test_cases() -> None:
    for suite in parse().findall("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.attrib["tests"]) == len(cases)
        assert int(suite.attrib["failures"]) == sum(1 for c in cases if c.find("failure") is not None)
        assert int(suite.attrib["skipped"]) == sum(1 for c in cases if c.find("skipped") is not None)
        assert suite.attrib["errors"] == "0"
    wl = parse().findall("testsuite")[1]
    assert counts(wl) == {"tests": "2", "failures": "0", "errors": "0", "skipped": "0"}


def test_junit_names_each_case_by_category_class_and_rule_id_with_title() -> None:
    testcase = case(parse(), "HA001")
    assert testcase.attrib["classname"] == "nodewarden.HA"
    assert testcase.attrib["name"] == "HA001 Node pools span at least two availability zones"


def test_junit_failure_is_typed_by_worst_severity_and_lists_every_open_finding() -> None:
    failure = case(parse(), "HA001").find("failure")
    assert failure is not None
    assert failure.attrib["type"] == "high"
    assert failure.attrib["message"] == "2 open findings, worst high"
    text = failure.text or ""
    assert "[high] agentPool/system: pool system spans zones [none]; use at least 2" in text
    assert reports.CLUSTER_ID in text
    assert "[medium] Deployment/shop/web: Deployment shop/web has no zone spread" in text
    assert "Fix: Fix HA001" in text


def test_junit_skips_rules_that_were_not_evaluated_or_disabled_with_their_reason() -> None:
    root = parse()
    not_evaluated = case(root, "MON001").find("skipped")
    disabled = case(root, "DR002").find("skipped")
    assert not_evaluated is not None
    assert not_evaluated.attrib["message"] == "input missing: az aks show -o json"
    assert disabled is not None
    assert disabled.attrib["message"] == "extended profile not selected"


def test_junit_passes_waived_rules_and_names_the_waivers_in_system_out() -> None:
    root = parse()
    by_file = case(root, "WL001")
    by_annotation = case(root, "WL002")
    for testcase in (by_file, by_annotation):
        assert testcase.find("failure") is None
        assert testcase.find("skipped") is None
    assert "batch jobs tolerate restarts (waivers.yaml, until 2026-12-31)" in (by_file.findtext("system-out") or "")
    assert "single-writer database (annotation nodewarden.io/waive)" in (by_annotation.findtext("system-out") or "")


def test_junit_passing_rule_is_an_empty_test_case() -> None:
    assert list(case(parse(), "SEC001")) == []


def test_junit_escapes_markup_and_drops_characters_xml_cannot_carry() -> None:
    text = junit.render_junit(reports.hostile_report())
    assert "<script>" not in text
    assert "\x00" not in text
    root = ET.fromstring(text)  # well-formed despite the hostile values
    assert root.attrib["name"] == f"nodewarden audit of {reports.SCRIPT}-cluster"
    failure = case(root, "HA001").find("failure")
    assert failure is not None
    assert f"Deployment/shop/{reports.SCRIPT}: {reports.QUOTED}" in (failure.text or "")
    assert "\ufffd" in (failure.text or "")
    skipped = case(root, "MON001").find("skipped")
    assert skipped is not None
    assert skipped.attrib["message"] == f"{reports.SCRIPT} & {reports.PIPED}"


def test_junit_of_an_empty_report_is_an_empty_testsuites_element() -> None:
    root = parse(reports.report_of())
    assert root.findall("testsuite") == []
    assert counts(root) == {"tests": "0", "failures": "0", "errors": "0", "skipped": "0"}
