"""Postmortems: Markdown structure and its Mermaid gantt, HTML that parses and escapes, JSON, action items."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodewarden.incidents import actions, codec
from nodewarden.model.findings import Finding, Severity, Target, Waiver
from nodewarden.model.health import SignalKind
from nodewarden.model.incident import (
    CauseKind,
    ChangeRecord,
    Evidence,
    HoldRecord,
    Hypothesis,
    Incident,
    IncidentState,
    SignalRecord,
)
from nodewarden.model.remediation import Hold, HoldReason, JournalEntry, Outcome, Step
from nodewarden.render import postmortem
from tests.render.test_html import parse
from tests.render.test_markdown import rendered

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
HOSTILE_NODE = "<img src=x onerror=alert(1)>"
HOSTILE_CALLER = '"><script>'
SECTIONS = [
    "Summary",
    "Impact",
    "Root cause",
    "Trigger",
    "Detection",
    "Resolution",
    "Timeline",
    "Action items",
    "Lessons",
]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def signal(node: str, *, kind: SignalKind = SignalKind.NOT_READY, since: float = 0, seen: float = 40) -> SignalRecord:
    return SignalRecord(
        kind=kind,
        subject=node,
        since=at(since),
        first_seen=at(seen),
        last_seen=at(600),
        message=f"{node} is {kind.value}",
        node=node,
        pool="apps",
        zone="westeurope-1",
        instance=f"aks-apps-123-vmss/{node[-1:]}",
        image="AKSUbuntu-2204gen2-202611.01.0",
    )


def zone_outage(node: str = "aks-apps-123-vmss000001", caller: str = "alice@example.com") -> Incident:
    """Two nodes of zone 1 down, a cordon and a failed reimage, the zone breaker holding, a human's change."""
    nodes = (node, "aks-apps-123-vmss000002")
    hold = Hold(HoldReason.ZONE_BREAKER, "westeurope-1", "2 of 2 nodes in the zone failing", zone="westeurope-1")
    return Incident(
        id="inc-20261126T080000Z-westeurope-1",
        title=f"Zone westeurope-1 outage: 2 nodes down ({node})",
        state=IncidentState.RESOLVED,
        impact_start=at(0),
        detected_at=at(40),
        mitigation_started_at=at(60),
        mitigated_at=at(900),
        resolved_at=at(1500),
        pool="apps",
        zone="westeurope-1",
        nodes=nodes,
        instances=("aks-apps-123-vmss/1", "aks-apps-123-vmss/2"),
        pods=("shop/web-1",),
        workloads=("Deployment/shop/web",),
        signals=tuple(signal(n) for n in nodes),
        actions=(
            JournalEntry("e1/Cordon/1", "e1", Step.CORDON, node, at(60), Outcome.SUCCEEDED, at(61), node=node),
            JournalEntry(
                "e1/Reimage/1", "e1", Step.REIMAGE, node, at(120), Outcome.FAILED, at(400), "ZonalAllocationFailed"
            ),
        ),
        holds=tuple(HoldRecord(at(70 + 10 * i), hold) for i in range(3)),
        changes=(
            ChangeRecord(at(-300), caller, "Microsoft.Compute/virtualMachineScaleSets/write", "vmss", "Succeeded"),
        ),
        hypotheses=(
            Hypothesis(
                CauseKind.ZONE_OUTAGE,
                0.8,
                "failures clustered in westeurope-1",
                supporting=(Evidence(f"ZoneFailure signal: 2 of 2 nodes of westeurope-1 ({node})", at(40)),),
                against=(Evidence("no Resource Health event"),),
            ),
            Hypothesis(CauseKind.CHANGE, 0.3, f"a scale-set write by {caller} 5 min before"),
        ),
    )


def hostile() -> Incident:
    return zone_outage(node=HOSTILE_NODE, caller=HOSTILE_CALLER)


ITEMS = ("HA001: pool apps spans zones [none] — az aks nodepool add --zones 1 2 3", f"Look at {HOSTILE_NODE}")


# -- Markdown ------------------------------------------------------------------------------------------


def test_markdown_has_every_section_in_order() -> None:
    text = postmortem.render_markdown(zone_outage(), ITEMS)
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings == SECTIONS
    assert text.startswith("# Postmortem: Zone westeurope-1 outage")
    assert "| Time to detect (MTTD) | 40 s |" in text
    assert "| Time to mitigate (MTTR) | 15 min 00 s |" in text
    assert "### 1. zone-outage — score 0.80" in text
    assert "1. HA001: pool apps spans zones [none]" in text


def mermaid_blocks(text: str) -> list[list[str]]:
    return [block.splitlines() for block in re.findall(r"^```mermaid\n(.*?)\n```$", text, flags=re.S | re.M)]


TASK = re.compile(
    r"^    (?P<name>[^:#;`<>]+) :(?P<tags>(?:crit|active|milestone), )?(?P<id>[pm]\d+), "
    r"(?P<start>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d), (?P<end>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$"
)


def gantt_tasks(text: str) -> list[re.Match[str]]:
    """Parse the one Mermaid block as gantt lines; fail on any line gantt syntax does not allow."""
    (block,) = mermaid_blocks(text)
    assert block[0] == "gantt"
    assert block[1].startswith("    title ")
    assert block[2:4] == ["    dateFormat YYYY-MM-DD HH:mm:ss", "    axisFormat %H:%M"]
    tasks = []
    for line in block[4:]:
        if line.startswith("    section "):
            continue
        match = TASK.match(line)
        assert match is not None, f"not a gantt task line: {line!r}"
        tasks.append(match)
    return tasks


def test_markdown_timeline_is_a_mermaid_gantt_from_impact_to_resolution() -> None:
    tasks = gantt_tasks(postmortem.render_markdown(zone_outage(), ITEMS))
    phases = [t for t in tasks if t["id"].startswith("p")]
    assert [t["name"] for t in phases] == [
        "Impact before detection",
        "Detected before the first action",
        "Mitigation",
        "Watching until resolved",
    ]
    assert [(t["start"], t["end"]) for t in phases] == [
        ("2026-11-26 08:00:00", "2026-11-26 08:00:40"),
        ("2026-11-26 08:00:40", "2026-11-26 08:01:00"),
        ("2026-11-26 08:01:00", "2026-11-26 08:15:00"),
        ("2026-11-26 08:15:00", "2026-11-26 08:25:00"),
    ]
    events = [(t["name"], t["tags"], t["start"][11:], t["end"][11:]) for t in tasks if t["id"].startswith("m")]
    assert events == [
        ("Cordon aks-apps-123-vmss000001", None, "08:01:00", "08:01:01"),
        ("Reimage failed aks-apps-123-vmss000001", None, "08:02:00", "08:06:40"),
        ("Hold ZoneBreaker westeurope-1", None, "08:01:10", "08:01:30"),
        ("virtualMachineScaleSets write by alice@example.com vmss", "milestone, ", "07:55:00", "07:55:00"),
    ]


def test_markdown_escapes_hostile_names_everywhere() -> None:
    text = postmortem.render_markdown(hostile(), ITEMS)
    shown = rendered(text)
    assert "<img" not in shown
    assert "<script" not in shown
    assert "&lt;img src=x onerror=alert(1)>" in text
    tasks = gantt_tasks(text)  # every line still parses: no colon, #, ; or angle bracket leaked into a name
    assert any("img src=x onerror=alert(1)" in t["name"] for t in tasks)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a: b; c # d", "a b c d"),
        ("```\nsection evil", "section evil"),
        ("<b>x</b>", "b x /b"),
        ("", "-"),
        ("x" * 80, "x" * 57 + "..."),
    ],
)
def test_mermaid_text_keeps_only_what_mermaid_reads_literally(raw: str, shown: str) -> None:
    assert postmortem.mermaid_text(raw) == shown


@settings(max_examples=50, deadline=None)
@given(name=st.text(max_size=80), caller=st.text(max_size=40))
def test_any_names_leave_every_gantt_line_parseable(name: str, caller: str) -> None:
    tasks = gantt_tasks(postmortem.render_markdown(zone_outage(node=name, caller=caller), ()))
    assert len(tasks) == 8  # four phases; a cordon, a reimage, a hold and a change


def test_an_open_incident_without_hypotheses_or_actions_still_renders_every_section() -> None:
    incident = dataclasses.replace(
        zone_outage(),
        state=IncidentState.OPEN,
        mitigation_started_at=None,
        mitigated_at=None,
        resolved_at=None,
        actions=(),
        holds=(),
        changes=(),
        hypotheses=(),
    )
    text = postmortem.render_markdown(incident, ())
    assert re.findall(r"^## (.+)$", text, flags=re.MULTILINE) == SECTIONS
    assert "No hypothesis was ranked" in text
    assert "| Time to mitigate (MTTR) | not yet |" in text
    phases = [t for t in gantt_tasks(text) if t["id"].startswith("p")]
    assert [(t["name"], t["tags"]) for t in phases] == [
        ("Impact before detection", "crit, "),
        ("Detected before the first action", "active, "),
    ]


# -- HTML ----------------------------------------------------------------------------------------------


def test_html_is_one_well_formed_page_with_every_section_and_a_chart() -> None:
    text = postmortem.render_html(zone_outage(), ITEMS)
    page = parse(text)
    assert page.mismatches == []
    assert page.open == []
    assert [s["id"] for s in page.find("section")] == [
        "summary",
        "impact",
        "root-cause",
        "trigger",
        "detection",
        "resolution",
        "timeline",
        "action-items",
        "lessons",
    ]
    assert len(page.find("svg")) == 1
    phase_bars = [r for r in page.find("rect") if not str(r.get("class", "")).startswith("mark-")]
    assert len(phase_bars) == 4
    assert all(205 <= float(str(r["x"])) <= 945 for r in page.find("rect")), "the change before the impact fits"


def test_html_loads_nothing_and_runs_nothing() -> None:
    text = postmortem.render_html(zone_outage(), ITEMS)
    page = parse(text)
    policies = [m["content"] for m in page.find("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert policies == ["default-src 'none'; style-src 'unsafe-inline'"]
    assert "script" not in [name for name, _ in page.tags]
    assert "http://" not in text
    assert "https://" not in text


def test_html_escapes_hostile_names() -> None:
    text = postmortem.render_html(hostile(), ITEMS)
    page = parse(text)
    assert page.mismatches == []
    names = {name for name, _ in page.tags}
    assert "img" not in names
    assert "script" not in names
    assert all(not key.startswith("on") for _, attrs in page.tags for key in attrs)
    shown = "".join(page.text)
    assert HOSTILE_NODE in shown
    assert HOSTILE_CALLER in shown


# -- JSON ----------------------------------------------------------------------------------------------


def test_json_round_trips_the_incident_and_carries_items_and_lessons() -> None:
    incident = hostile()
    document = json.loads(postmortem.render_json(incident, ITEMS))
    assert codec.incident_from_dict(document["incident"]) == incident
    assert document["incident"]["mttdSeconds"] == 40.0
    assert document["incident"]["mttrSeconds"] == 900.0
    assert document["actionItems"] == list(ITEMS)
    assert document["lessons"][0] == "Detection was quick (40 s)."


# -- action items --------------------------------------------------------------------------------------


def finding(rule_id: str, target: Target, message: str, *, waived: bool = False) -> Finding:
    waiver = Waiver(reason="accepted", source="waivers.yaml") if waived else None
    return Finding(rule_id, Severity.HIGH, target, message, waiver=waiver)


APPS = Target(kind="agentPool", name="apps", resource_id="/subscriptions/0/agentPools/apps")
OTHER_POOL = Target(kind="agentPool", name="batch", resource_id="/subscriptions/0/agentPools/batch")
WEB = Target(kind="Deployment", name="web", namespace="shop")
API = Target(kind="Deployment", name="api", namespace="billing")


def test_action_items_cite_ha001_and_wl001_for_what_the_incident_hit() -> None:
    findings = [
        finding("HA001", APPS, "pool apps spans zones [none]; westeurope has zones, use at least 2"),
        finding("WL001", WEB, "Deployment shop/web: spec.replicas is 1; want at least 2 replicas"),
        finding("HA001", OTHER_POOL, "pool batch spans zones [none]"),
        finding("WL001", API, "Deployment billing/api: spec.replicas is 1"),
        finding("WL001", Target(kind="Deployment", name="cart", namespace="shop"), "waived", waived=True),
    ]
    items = actions.action_items(zone_outage(), findings)
    cited = [item for item in items if re.match(r"^[A-Z]{2,3}\d{3}: ", item)]
    assert [item.split(":")[0] for item in cited] == ["HA001", "WL001"]
    assert cited[0].startswith("HA001: pool apps spans zones [none]")
    assert "az aks nodepool add" in cited[0], "the rule's fix follows"
    assert "kubectl scale deployment" in cited[1]
    assert items[0].startswith("Spread pool apps across at least three availability zones")


def test_workload_findings_are_kept_with_a_caveat_when_the_incident_names_no_workloads() -> None:
    incident = dataclasses.replace(zone_outage(), workloads=())
    items = actions.action_items(incident, [finding("WL001", API, "Deployment billing/api: spec.replicas is 1")])
    assert items[-1].startswith("WL001: Deployment billing/api")
    assert "does not record which workloads" in items[-1]


def test_cluster_upgrade_findings_count_and_other_cluster_findings_do_not() -> None:
    cluster = Target(kind="managedCluster", name="aks-prod", resource_id="/subscriptions/0/managedClusters/aks-prod")
    findings = [finding("UP002", cluster, "node OS upgrade channel is None"), finding("SEC003", cluster, "open")]
    cited = [i.split(":")[0] for i in actions.action_items(zone_outage(), findings) if i[:2] in ("UP", "SE")]
    assert cited == ["UP002"]


@pytest.mark.parametrize("cause", list(CauseKind))
def test_every_cause_has_an_action_item_naming_the_pool(cause: CauseKind) -> None:
    incident = dataclasses.replace(zone_outage(), hypotheses=(Hypothesis(cause, 0.9, "because"),))
    items = actions.action_items(incident, [])
    assert len(items) == 1
    assert "apps" in items[0] or "alice@example.com" in items[0]


def test_a_bad_image_item_pins_the_pool_away_from_the_failing_image() -> None:
    incident = dataclasses.replace(zone_outage(), hypotheses=(Hypothesis(CauseKind.BAD_IMAGE, 0.9, "image"),))
    (item,) = actions.action_items(incident, [])
    assert item.startswith("Pin pool apps to the node image before AKSUbuntu-2204gen2-202611.01.0")
    assert "report AKSUbuntu-2204gen2-202611.01.0" in item


def test_quarantine_and_pdb_holds_become_action_items() -> None:
    holds = (
        HoldRecord(at(100), Hold(HoldReason.QUARANTINED, "aks-apps-123-vmss000001", "failed again after Replace")),
        HoldRecord(at(110), Hold(HoldReason.PDB, "aks-apps-123-vmss000002", "PDB shop/web allows 0 disruptions")),
    )
    incident = dataclasses.replace(zone_outage(), hypotheses=(), holds=holds)
    items = actions.action_items(incident, [])
    assert items[0].startswith("Investigate aks-apps-123-vmss000001 by hand")
    assert items[1].startswith("Fix the PodDisruptionBudget that blocked draining aks-apps-123-vmss000002")
