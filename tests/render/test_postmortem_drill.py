"""A drill's postmortem: the verdict right after the summary in Markdown, HTML and JSON, hostile text escaped."""

from __future__ import annotations

import dataclasses
import html
import json
import re

from nodewarden.incidents import codec
from nodewarden.model.drill import CheckPhase, CheckResult, Verdict
from nodewarden.model.incident import Incident, IncidentState
from nodewarden.notify.events import incident_facts
from nodewarden.render import postmortem
from tests.render.test_html import parse
from tests.render.test_markdown import rendered
from tests.render.test_postmortem import SECTIONS, at, zone_outage

NODE = "aks-apps-123-vmss000001"
HOSTILE_CHECK = "<script>alert(1)</script>"


def checks(*, passed: bool) -> tuple[CheckResult, ...]:
    return (
        CheckResult(CheckPhase.BEFORE, "all nodes Ready", True, "every node Ready", "21 of 21 Ready", 21),
        CheckResult(CheckPhase.EXPECT, "time to detect", passed, "<= 60s", "90 s" if not passed else "40 s", 90),
        CheckResult(CheckPhase.AFTER, "no PDB violated", True, "0 violated", "0 violated", 0),
    )


def verdict(*, passed: bool = False) -> Verdict:
    return Verdict(
        drill="zone-down",
        passed=passed,
        fault="zone-outage on westeurope-1",
        targets=(NODE, "aks-apps-123-vmss000002"),
        started_at=at(-60),
        fault_at=at(0),
        ended_at=at(1500),
        checks=checks(passed=passed),
        rollback="zone-restore 1",
        detected_at=at(40),
        restored_at=at(900),
    )


def drilled(v: Verdict) -> Incident:
    """The zone outage of the other postmortem tests, caused on purpose by a drill."""
    return dataclasses.replace(zone_outage(), drill=v.drill, verdict=v)


def unseen(v: Verdict) -> Incident:
    """What the drill runner records when nodewarden saw nothing: no signal, no action, no hold."""
    start = v.fault_at or v.started_at
    return Incident(
        id=f"drill-{start:%Y%m%dT%H%M%SZ}-{v.drill}",
        title=f"Drill {v.drill}: {v.fault}",
        state=IncidentState.RESOLVED,
        impact_start=start,
        detected_at=v.ended_at,
        resolved_at=v.ended_at,
        drill=v.drill,
        verdict=v,
        nodes=v.targets,
    )


def undetected() -> Verdict:
    failed = CheckResult(CheckPhase.EXPECT, "fault detected", False, "detected", "not detected")
    return dataclasses.replace(verdict(), detected_at=None, restored_at=None, checks=(*checks(passed=True), failed))


def refused() -> Verdict:
    before = CheckResult(CheckPhase.BEFORE, "all nodes Ready", False, "every node Ready", "19 of 21 Ready", 19)
    return dataclasses.replace(
        verdict(), fault_at=None, detected_at=None, restored_at=None, checks=(before,), rollback="nothing to undo"
    )


def headings(text: str) -> list[str]:
    return re.findall(r"^## (.+)$", text, flags=re.MULTILINE)


def markdown_rows(text: str) -> list[list[str]]:
    """The cells of the verdict's table (the one whose header starts with Phase)."""
    lines = text.splitlines()
    start = lines.index("| Phase | Check | Target | Measured | Result |") + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def html_verdict(text: str) -> str:
    match = re.search(r'<section id="drill-verdict">.*?</section>', text, flags=re.S)
    assert match is not None, "no drill verdict section"
    return match.group(0)


def html_rows(section: str) -> list[list[tuple[str, str]]]:
    """Each row of the verdict's table as (cell HTML, cell text) pairs."""
    rows = re.findall(r"<tr>(.*?)</tr>", section)
    cells = [re.findall(r"<td>(.*?)</td>", row) for row in rows]
    return [[(cell, html.unescape(re.sub(r"<[^>]+>", "", cell))) for cell in row] for row in cells if row]


# -- Markdown ------------------------------------------------------------------------------------------


def test_markdown_puts_a_failed_verdict_right_after_the_summary() -> None:
    text = postmortem.render_markdown(drilled(verdict()), ())
    assert headings(text) == ["Summary", "Drill verdict: FAILED", *SECTIONS[1:]]
    assert "- Fault: zone-outage on westeurope-1" in text
    assert f"- Targets: {NODE}, aks-apps-123-vmss000002" in text
    assert "- Fault injected: 2026-11-26 08:00:00 UTC" in text
    assert "- Aborted: no" in text
    assert "- Rollback: zone-restore 1" in text


def test_markdown_shows_each_check_with_its_measured_value_and_result() -> None:
    rows = markdown_rows(postmortem.render_markdown(drilled(verdict()), ()))
    assert rows == [
        ["steady-state before", "all nodes Ready", "every node Ready", "21 of 21 Ready", "pass"],
        ["expectation", "time to detect", "<= 60s", "90 s", "**FAIL**"],
        ["steady-state after", "no PDB violated", "0 violated", "0 violated", "pass"],
    ]


def test_the_summary_says_whether_the_drill_passed_or_failed() -> None:
    failed = postmortem.render_markdown(drilled(verdict()), ())
    assert (
        "It was caused on purpose by the drill zone-down, which failed: 1 of 3 checks missed its target "
        "(time to detect)." in failed
    )
    passed = postmortem.render_markdown(drilled(verdict(passed=True)), ())
    assert "## Drill verdict: PASSED" in passed
    assert "It was caused on purpose by the drill zone-down, which passed: 3 checks met their targets." in passed


def test_an_aborted_drill_says_why_in_the_summary_and_the_verdict() -> None:
    text = postmortem.render_markdown(
        drilled(dataclasses.replace(verdict(), aborted="fewer than 50% of nodes Ready")), ()
    )
    assert "The drill was aborted: fewer than 50% of nodes Ready." in text
    assert "- Aborted: yes: fewer than 50% of nodes Ready" in text


def test_markdown_escapes_a_hostile_check() -> None:
    hostile = CheckResult(CheckPhase.EXPECT, HOSTILE_CHECK, False, "| x |", HOSTILE_CHECK)
    text = postmortem.render_markdown(drilled(dataclasses.replace(verdict(), checks=(hostile,))), ())
    assert "<script" not in rendered(text)
    assert markdown_rows(text) == [
        ["expectation", "`<script>`alert(1)&lt;/script>", "\\| x \\|", "`<script>`alert(1)&lt;/script>", "**FAIL**"],
    ]


def test_a_drill_nodewarden_never_detected_renders_without_signals_or_actions() -> None:
    incident = unseen(undetected())
    text = postmortem.render_markdown(incident, ())
    assert headings(text) == ["Summary", "Drill verdict: FAILED", *SECTIONS[1:]]
    assert "nodewarden never detected it" in text
    assert "- nodewarden never detected the drill's fault: no signal was recorded." in text
    assert "| expectation | fault detected | detected | not detected | **FAIL** |" in text
    assert "No action." in text
    assert "| Time to detect (MTTD) | not detected |" in text
    assert "nodewarden detected it" not in text, "no timeline mark at the drill's end posing as detection"
    assert "- The drill's check fault detected missed its target (detected): measured not detected." in text


def test_a_drill_refused_before_its_fault_says_nothing_was_injected() -> None:
    text = postmortem.render_markdown(unseen(refused()), ())
    assert "Drill zone-down: zone-outage on westeurope-1. The drill zone-down injected no fault and failed: " in text
    assert "- Fault injected: never: the fault was not injected" in text
    assert "- The drill stopped before injecting its fault: there was nothing to detect." in text


def test_an_incident_without_a_verdict_has_no_verdict_section() -> None:
    text = postmortem.render_markdown(dataclasses.replace(zone_outage(), drill="zone-down"), ())
    assert headings(text) == SECTIONS
    assert "It was caused on purpose by the drill zone-down." in text


# -- HTML ----------------------------------------------------------------------------------------------


def test_html_puts_the_verdict_after_the_summary_and_styles_each_result() -> None:
    text = postmortem.render_html(drilled(verdict()), ())
    page = parse(text)
    assert page.mismatches == []
    assert page.open == []
    assert [s["id"] for s in page.find("section")][:3] == ["summary", "drill-verdict", "impact"]
    section = html_verdict(text)
    assert '<h2>Drill verdict: <span class="fail">FAILED</span></h2>' in section
    assert "<li>Fault injected: 2026-11-26 08:00:00 UTC</li>" in section
    assert "<li>Rollback: zone-restore 1</li>" in section
    rows = html_rows(section)
    assert [[shown for _, shown in row] for row in rows] == [
        ["steady-state before", "all nodes Ready", "every node Ready", "21 of 21 Ready", "pass"],
        ["expectation", "time to detect", "<= 60s", "90 s", "FAIL"],
        ["steady-state after", "no PDB violated", "0 violated", "0 violated", "pass"],
    ]
    assert [row[-1][0] for row in rows] == [
        '<span class="pass">pass</span>',
        '<span class="fail">FAIL</span>',
        '<span class="pass">pass</span>',
    ]
    assert "which failed: 1 of 3 checks missed its target" in "".join(page.text)


def test_html_shows_a_passed_verdict() -> None:
    section = html_verdict(postmortem.render_html(drilled(verdict(passed=True)), ()))
    assert '<h2>Drill verdict: <span class="pass">PASSED</span></h2>' in section
    assert 'class="fail"' not in section


def test_html_escapes_a_hostile_check() -> None:
    hostile = CheckResult(CheckPhase.EXPECT, HOSTILE_CHECK, False, '"><b>', HOSTILE_CHECK)
    v = dataclasses.replace(
        verdict(), checks=(hostile,), drill=HOSTILE_CHECK, fault=HOSTILE_CHECK, aborted=HOSTILE_CHECK
    )
    text = postmortem.render_html(drilled(v), ())
    page = parse(text)
    assert page.mismatches == []
    names = {name for name, _ in page.tags}
    assert "script" not in names
    assert "b" not in names
    ((_, check), (_, target), (_, measured)) = html_rows(html_verdict(text))[0][1:4]
    assert (check, target, measured) == (HOSTILE_CHECK, '"><b>', HOSTILE_CHECK)
    assert f"Fault: {HOSTILE_CHECK}" in page.text


def test_html_renders_a_drill_without_signals_or_actions() -> None:
    for v in (undetected(), refused()):
        text = postmortem.render_html(unseen(v), ())
        page = parse(text)
        assert page.mismatches == []
        assert page.open == []
        assert len(page.find("svg")) == 1
        assert '<span class="fail">FAILED</span>' in html_verdict(text)


# -- JSON ----------------------------------------------------------------------------------------------


def test_json_carries_the_verdict_as_the_codec_writes_it() -> None:
    for incident in (drilled(verdict()), unseen(undetected()), unseen(refused())):
        document = json.loads(postmortem.render_json(incident, ()))
        assert document["incident"]["verdict"] == codec.incident_to_dict(incident)["verdict"]
        assert codec.incident_from_dict(document["incident"]) == incident
    document = json.loads(postmortem.render_json(unseen(undetected()), ()))
    assert document["incident"]["verdict"]["passed"] is False
    assert document["incident"]["verdict"]["checks"][-1]["measured"] == "not detected"
    assert document["lessons"][0].startswith("nodewarden never detected the drill's fault")


def test_an_undetected_drill_has_no_mttd_anywhere() -> None:
    """Not "the whole drill": the stored document, the JSON report and a notification all say none."""
    incident = unseen(undetected())
    assert incident.undetected
    assert incident.mttd is None
    assert codec.incident_to_dict(incident)["mttdSeconds"] is None
    assert json.loads(postmortem.render_json(incident, ()))["incident"]["mttdSeconds"] is None
    assert ("MTTD", "not detected") in incident_facts(incident)
    seen = drilled(verdict(passed=True))
    assert not seen.undetected
    assert seen.mttd is not None
