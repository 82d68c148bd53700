"""SARIF output: valid 2.1.0 structure, levels, locations, suppressions, fingerprints, skipped rules.

We do not download the schema. `assert_sarif_shape` walks the log with the required and allowed
properties of each SARIF 2.1.0 object we emit. The lists are copied from sarif-schema-2.1.0.json (OASIS
errata01, the schema json.schemastore.org serves); every object there sets `additionalProperties: false`.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest

from nodewarden.audit.report import RuleReport
from nodewarden.model.findings import Outcome, RuleResult, Severity
from nodewarden.render import sarif
from tests.render import reports

LEVELS = {"none", "note", "warning", "error"}

# definition: (required, allowed, {property: child definition}); a child in a list is "[definition]".
Shape = tuple[set[str], set[str], dict[str, str]]
SHAPES: dict[str, Shape] = {
    "log": (
        {"version", "runs"},
        {"$schema", "version", "runs", "inlineExternalProperties", "properties"},
        {"runs": "[run]"},
    ),
    "run": (
        {"tool"},
        {
            "tool",
            "invocations",
            "conversion",
            "language",
            "versionControlProvenance",
            "originalUriBaseIds",
            "artifacts",
            "logicalLocations",
            "graphs",
            "results",
            "automationDetails",
            "runAggregates",
            "baselineGuid",
            "redactionTokens",
            "defaultEncoding",
            "defaultSourceLanguage",
            "newlineSequences",
            "columnKind",
            "externalPropertyFileReferences",
            "threadFlowLocations",
            "taxonomies",
            "addresses",
            "translations",
            "policies",
            "webRequests",
            "webResponses",
            "specialLocations",
            "properties",
        },
        {
            "tool": "tool",
            "invocations": "[invocation]",
            "results": "[result]",
            "automationDetails": "automationDetails",
        },
    ),
    "tool": ({"driver"}, {"driver", "extensions", "properties"}, {"driver": "toolComponent"}),
    "toolComponent": (
        {"name"},
        {
            "guid",
            "name",
            "organization",
            "product",
            "productSuite",
            "shortDescription",
            "fullDescription",
            "fullName",
            "version",
            "semanticVersion",
            "dottedQuadFileVersion",
            "releaseDateUtc",
            "downloadUri",
            "informationUri",
            "globalMessageStrings",
            "notifications",
            "rules",
            "taxa",
            "locations",
            "language",
            "contents",
            "isComprehensive",
            "localizedDataSemanticVersion",
            "minimumRequiredLocalizedDataSemanticVersion",
            "associatedComponent",
            "translationMetadata",
            "supportedTaxonomies",
            "properties",
        },
        {"rules": "[reportingDescriptor]"},
    ),
    "reportingDescriptor": (
        {"id"},
        {
            "id",
            "deprecatedIds",
            "guid",
            "deprecatedGuids",
            "name",
            "deprecatedNames",
            "shortDescription",
            "fullDescription",
            "messageStrings",
            "defaultConfiguration",
            "helpUri",
            "help",
            "relationships",
            "properties",
        },
        {
            "shortDescription": "multiformatMessageString",
            "fullDescription": "multiformatMessageString",
            "help": "multiformatMessageString",
            "defaultConfiguration": "reportingConfiguration",
            "properties": "propertyBag",
        },
    ),
    "reportingConfiguration": (set(), {"enabled", "level", "rank", "parameters", "properties"}, {}),
    "multiformatMessageString": ({"text"}, {"text", "markdown", "properties"}, {}),
    "message": (set(), {"text", "markdown", "id", "arguments", "properties"}, {}),
    "propertyBag": (set(), set(), {}),  # open: any key; `tags` checked separately
    "invocation": (
        {"executionSuccessful"},
        {
            "commandLine",
            "arguments",
            "responseFiles",
            "startTimeUtc",
            "endTimeUtc",
            "exitCode",
            "ruleConfigurationOverrides",
            "notificationConfigurationOverrides",
            "toolExecutionNotifications",
            "toolConfigurationNotifications",
            "exitCodeDescription",
            "exitSignalName",
            "exitSignalNumber",
            "processStartFailureMessage",
            "executionSuccessful",
            "machine",
            "account",
            "processId",
            "executableLocation",
            "workingDirectory",
            "environmentVariables",
            "stdin",
            "stdout",
            "stderr",
            "stdoutStderr",
            "properties",
        },
        {"toolExecutionNotifications": "[notification]", "toolConfigurationNotifications": "[notification]"},
    ),
    "notification": (
        {"message"},
        {
            "locations",
            "message",
            "level",
            "threadId",
            "timeUtc",
            "exception",
            "descriptor",
            "associatedRule",
            "properties",
        },
        {"message": "message", "associatedRule": "reportingDescriptorReference"},
    ),
    "reportingDescriptorReference": (set(), {"id", "index", "guid", "toolComponent", "properties"}, {}),
    "result": (
        {"message"},
        {
            "ruleId",
            "ruleIndex",
            "rule",
            "kind",
            "level",
            "message",
            "analysisTarget",
            "locations",
            "guid",
            "correlationGuid",
            "occurrenceCount",
            "partialFingerprints",
            "fingerprints",
            "stacks",
            "codeFlows",
            "graphs",
            "graphTraversals",
            "relatedLocations",
            "suppressions",
            "baselineState",
            "rank",
            "attachments",
            "hostedViewerUri",
            "workItemUris",
            "provenance",
            "fixes",
            "taxa",
            "webRequest",
            "webResponse",
            "properties",
        },
        {"message": "message", "locations": "[location]", "suppressions": "[suppression]"},
    ),
    "location": (
        set(),
        {"id", "physicalLocation", "logicalLocations", "message", "annotations", "relationships", "properties"},
        {"logicalLocations": "[logicalLocation]"},
    ),
    "logicalLocation": (
        set(),
        {"name", "index", "fullyQualifiedName", "decoratedName", "parentIndex", "kind", "properties"},
        {},
    ),
    "suppression": ({"kind"}, {"guid", "kind", "status", "justification", "location", "properties"}, {}),
    "automationDetails": (set(), {"description", "id", "guid", "correlationGuid", "properties"}, {}),
}


def assert_sarif_shape(value: Any, definition: str = "log", path: str = "$") -> None:
    required, allowed, children = SHAPES[definition]
    assert isinstance(value, dict), f"{path}: expected an object"
    assert required <= value.keys(), f"{path}: missing {required - value.keys()}"
    if allowed:
        assert value.keys() <= allowed, f"{path}: not allowed in {definition}: {value.keys() - allowed}"
    if "level" in value:
        assert value["level"] in LEVELS, f"{path}.level"
    if definition == "message":
        assert "text" in value or "id" in value, f"{path}: a message needs text or id"
    if definition == "propertyBag" and "tags" in value:
        assert len(set(value["tags"])) == len(value["tags"]), f"{path}.tags must be distinct"
    for key, child in children.items():
        if key not in value:
            continue
        if child.startswith("["):
            assert isinstance(value[key], list), f"{path}.{key}: expected an array"
            for index, item in enumerate(value[key]):
                assert_sarif_shape(item, child.strip("[]"), f"{path}.{key}[{index}]")
        else:
            assert_sarif_shape(value[key], child, f"{path}.{key}")


def render() -> dict[str, Any]:
    log: dict[str, Any] = json.loads(sarif.render_sarif(reports.sample_report()))
    return log


def results_by_target(log: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["properties"]["target"]["key"]: r for r in log["runs"][0]["results"]}


def test_sarif_log_has_the_structure_of_sarif_2_1_0() -> None:
    log = render()
    assert_sarif_shape(log)
    assert log["version"] == "2.1.0"
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert len(log["runs"]) == 1


def test_sarif_driver_names_nodewarden_with_version_and_information_uri() -> None:
    driver = render()["runs"][0]["tool"]["driver"]
    assert driver["name"] == "nodewarden"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", driver["version"])
    assert driver["informationUri"].startswith("https://")


def test_sarif_lists_every_rule_in_the_report_including_those_that_did_not_run() -> None:
    rules = render()["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["HA001", "WL001", "WL002", "SEC001", "MON001", "DR002"]


def test_sarif_rule_descriptor_carries_title_rationale_fix_and_github_properties() -> None:
    rule = render()["runs"][0]["tool"]["driver"]["rules"][0]
    assert rule["name"] == "NodePoolsSpanAtLeastTwoAvailabilityZones"
    assert rule["shortDescription"]["text"] == reports.HA001.title
    assert rule["fullDescription"]["text"] == reports.HA001.rationale
    assert reports.HA001.fix in rule["help"]["text"]
    assert "**Fix:**" in rule["help"]["markdown"]
    assert "`<rg>`" in rule["help"]["markdown"]  # the fix's placeholders are code, not HTML tags
    assert rule["helpUri"] == "https://learn.microsoft.com/azure/aks/availability-zones"
    assert rule["defaultConfiguration"]["level"] == "error"
    properties = rule["properties"]
    assert properties["category"] == "HA"
    assert properties["severity"] == "high"
    assert properties["profile"] == "core"
    assert properties["security-severity"] == "8.0"
    assert "security" in properties["tags"]


def test_sarif_rule_name_is_the_title_in_pascal_case_keeping_its_capitals() -> None:
    names = [r["name"] for r in render()["runs"][0]["tool"]["driver"]["rules"]]
    assert names[2] == "WorkloadsHaveAPodDisruptionBudget"
    assert all(re.fullmatch(r"[A-Z][A-Za-z0-9]*", name) for name in names)


def test_sarif_rule_without_a_url_reference_has_no_help_uri() -> None:
    rules = render()["runs"][0]["tool"]["driver"]["rules"]
    assert "helpUri" not in rules[1]


@pytest.mark.parametrize(
    ("severity", "level", "score"),
    [
        pytest.param(Severity.CRITICAL, "error", "9.5", id="critical"),
        pytest.param(Severity.HIGH, "error", "8.0", id="high"),
        pytest.param(Severity.MEDIUM, "warning", "5.5", id="medium"),
        pytest.param(Severity.LOW, "note", "3.0", id="low"),
        pytest.param(Severity.INFO, "note", "1.0", id="info"),
    ],
)
def test_sarif_maps_each_severity_to_a_level_and_a_github_security_severity(
    severity: Severity, level: str, score: str
) -> None:
    meta = replace(reports.HA001, severity=severity)
    finding = replace(reports.POOL_FINDING, severity=severity)
    report = reports.report_of(RuleReport(meta, RuleResult("HA001", Outcome.FAIL, (finding,))))
    run = json.loads(sarif.render_sarif(report))["runs"][0]
    rule = run["tool"]["driver"]["rules"][0]
    assert rule["defaultConfiguration"]["level"] == level
    assert rule["properties"]["security-severity"] == score
    assert run["results"][0]["level"] == level
    assert float(score) < 10.0


def test_sarif_emits_one_result_per_finding_with_its_rule_index_and_own_level() -> None:
    run = render()["runs"][0]
    results = run["results"]
    assert len(results) == 4
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    for result in results:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
    by_target = results_by_target(render())
    assert by_target["agentPool/system"]["level"] == "error"
    assert by_target["Deployment/shop/web"]["level"] == "warning"  # the finding's severity, not the rule's
    assert "pool system spans zones" in by_target["agentPool/system"]["message"]["text"]


def test_sarif_names_an_azure_resource_by_its_resource_id() -> None:
    result = results_by_target(render())["agentPool/system"]
    [location] = result["locations"]
    assert "physicalLocation" not in location
    assert location["logicalLocations"] == [
        {"name": "system", "fullyQualifiedName": reports.POOL.resource_id, "kind": "resource"}
    ]


def test_sarif_names_a_kubernetes_object_by_kind_namespace_and_name() -> None:
    result = results_by_target(render())["Deployment/shop/web"]
    assert result["locations"][0]["logicalLocations"] == [
        {"name": "web", "fullyQualifiedName": "Deployment/shop/web", "kind": "object"}
    ]


def test_sarif_points_at_the_input_file_that_held_the_target_for_github_code_scanning() -> None:
    # GitHub rejects a whole upload when a result has only logical locations ("expected a physical location").
    [location] = results_by_target(render())["Deployment/shop/web"]["locations"]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "export/k8s-deployments.yaml"},
        "region": {"startLine": 1},
    }


def test_sarif_marks_waived_findings_as_accepted_suppressions() -> None:
    by_target = results_by_target(render())
    [file_waiver] = by_target["Deployment/jobs/batch"]["suppressions"]
    assert file_waiver["kind"] == "external"
    assert file_waiver["status"] == "accepted"
    assert file_waiver["justification"] == "batch jobs tolerate restarts"
    assert file_waiver["properties"]["expires"] == "2026-12-31"
    assert "suppressions" not in by_target["agentPool/system"]


def test_sarif_marks_annotation_waivers_as_in_source_suppressions() -> None:
    [annotation] = results_by_target(render())["StatefulSet/shop/legacy"]["suppressions"]
    assert annotation["kind"] == "inSource"
    assert annotation["status"] == "accepted"
    assert annotation["justification"] == "single-writer database"


def test_sarif_fingerprints_are_stable_and_distinct_per_rule_and_target() -> None:
    first = [r["partialFingerprints"] for r in render()["runs"][0]["results"]]
    second = [r["partialFingerprints"] for r in render()["runs"][0]["results"]]
    assert first == second
    values = [f[sarif.FINGERPRINT_KEY] for f in first]
    assert len(set(values)) == len(values)
    assert values[0] == sarif.fingerprint("HA001", reports.POOL)


def test_sarif_fingerprint_ignores_the_message_so_a_changed_wording_keeps_the_alert() -> None:
    reworded = replace(reports.POOL_FINDING, message="pool system has no zones")
    report = reports.report_of(RuleReport(reports.HA001, RuleResult("HA001", Outcome.FAIL, (reworded,))))
    result = json.loads(sarif.render_sarif(report))["runs"][0]["results"][0]
    assert result["partialFingerprints"][sarif.FINGERPRINT_KEY] == sarif.fingerprint("HA001", reports.POOL)


def test_sarif_explains_rules_that_were_not_evaluated_or_disabled_in_the_invocation() -> None:
    [invocation] = render()["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is True
    assert invocation["endTimeUtc"] == "2026-11-26T12:00:00Z"
    execution = invocation["toolExecutionNotifications"]
    not_evaluated = [n for n in execution if "associatedRule" in n]
    assert [n["associatedRule"] for n in not_evaluated] == [{"id": "MON001", "index": 4}]
    assert "input missing: az aks show -o json" in not_evaluated[0]["message"]["text"]
    [disabled] = invocation["toolConfigurationNotifications"]
    assert disabled["associatedRule"] == {"id": "DR002", "index": 5}
    assert "extended profile not selected" in disabled["message"]["text"]


def test_sarif_carries_report_notes_as_tool_notifications() -> None:
    execution = render()["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert {"level": "note", "message": {"text": reports.NOTE}} in execution


def test_sarif_run_records_score_grade_and_a_per_cluster_automation_id() -> None:
    run = render()["runs"][0]
    assert run["properties"]["score"] == 72
    assert run["properties"]["grade"] == "C"
    assert run["automationDetails"]["id"] == "nodewarden-audit/aks-prod/"


def test_sarif_of_an_empty_report_is_still_a_complete_run() -> None:
    log = json.loads(sarif.render_sarif(reports.report_of(cluster_name=None)))
    assert_sarif_shape(log)
    run = log["runs"][0]
    assert run["results"] == []
    assert run["tool"]["driver"]["rules"] == []
    assert "automationDetails" not in run
    assert run["invocations"] == [{"executionSuccessful": True, "endTimeUtc": "2026-11-26T12:00:00Z"}]


def test_sarif_keeps_hostile_text_as_data() -> None:
    text = sarif.render_sarif(reports.hostile_report())
    log = json.loads(text)
    assert_sarif_shape(log)
    keys = {r["properties"]["target"]["name"] for r in log["runs"][0]["results"]}
    assert reports.SCRIPT in keys
