"""`nodewarden incidents list|report` on a state dir holding a drill's incident beside a real one."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from nodewarden.incidents import codec
from nodewarden.state import IncidentStore
from tests.cli.test_incidents_cli import older
from tests.conftest import Invoke
from tests.render.test_html import parse
from tests.render.test_postmortem_drill import refused, undetected, unseen

DRILL_ID = "drill-20261126T080000Z-zone-down"
REFUSED_ID = "drill-20261126T075900Z-zone-down"


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    with IncidentStore.open(tmp_path) as store:
        store.save(older())
        store.save(unseen(undetected()))
        store.save(unseen(refused()))
    return tmp_path


def test_list_shows_each_drill_and_its_result(invoke: Invoke, state_dir: Path) -> None:
    listed = invoke("incidents", "list", "--state-dir", str(state_dir))
    assert listed.code == 0, listed.err
    header, *lines = listed.out.splitlines()
    assert header.split() == ["ID", "STATE", "IMPACT", "START", "MTTD", "MTTR", "NODES", "DRILL", "RESULT", "TITLE"]
    mttd, drill, title = header.index("MTTD"), header.index("DRILL"), header.index("TITLE")
    rows = {line.split()[0]: line for line in lines}
    assert rows[DRILL_ID][mttd:].startswith("not detected")
    assert rows[DRILL_ID][drill:title].split() == ["zone-down", "FAIL"]
    assert rows["inc-20261125T080000Z-batch"][drill:title].split() == ["-", "-"], "a real incident has no drill"


def test_list_drills_leaves_out_real_incidents(invoke: Invoke, state_dir: Path) -> None:
    listed = invoke("incidents", "list", "--drills", "--state-dir", str(state_dir))
    assert listed.code == 0, listed.err
    assert [line.split()[0] for line in listed.out.splitlines()[1:]] == [DRILL_ID, REFUSED_ID]


def test_list_drills_says_when_there_is_none(invoke: Invoke, tmp_path: Path) -> None:
    with IncidentStore.open(tmp_path) as store:
        store.save(older())
    listed = invoke("incidents", "list", "--drills", "--state-dir", str(tmp_path))
    assert (listed.code, listed.out) == (0, f"No drill incidents in {tmp_path}.\n")
    as_json = invoke("incidents", "list", "--drills", "-o", "json", "--state-dir", str(tmp_path))
    assert json.loads(as_json.out) == []


def test_list_as_json_carries_the_drill_and_its_result(invoke: Invoke, state_dir: Path) -> None:
    listed = invoke("incidents", "list", "-o", "json", "--state-dir", str(state_dir))
    assert listed.code == 0, listed.err
    found = {item["id"]: item for item in json.loads(listed.out)}
    assert found[DRILL_ID] | {"drill": "zone-down", "drillResult": "FAIL"} == found[DRILL_ID]
    assert found[DRILL_ID]["impactStart"] == "2026-11-26T08:00:00Z"
    assert found[DRILL_ID]["nodes"] == ["aks-apps-123-vmss000001", "aks-apps-123-vmss000002"]
    real = found["inc-20261125T080000Z-batch"]
    assert (real["drill"], real["drillResult"]) == (None, None)


def test_report_renders_a_drill_without_signals_in_every_format(invoke: Invoke, state_dir: Path) -> None:
    markdown = invoke("incidents", "report", DRILL_ID, "--state-dir", str(state_dir), "-o", "markdown")
    assert markdown.code == 0, markdown.err
    assert "## Drill verdict: FAILED" in markdown.out
    assert "| expectation | fault detected | detected | not detected | **FAIL** |" in markdown.out
    page = invoke("incidents", "report", DRILL_ID, "--state-dir", str(state_dir), "-o", "html")
    assert page.code == 0, page.err
    assert parse(page.out).mismatches == []
    assert '<h2>Drill verdict: <span class="fail">FAILED</span></h2>' in page.out
    as_json = invoke("incidents", "report", REFUSED_ID, "--state-dir", str(state_dir), "-o", "json")
    assert as_json.code == 0, as_json.err
    document = json.loads(as_json.out)["incident"]
    assert document["verdict"]["faultAt"] is None
    assert codec.incident_from_dict(document) == unseen(refused())


def test_show_prints_the_drill_verdict_check_by_check(invoke: Invoke, state_dir: Path) -> None:
    shown = invoke("incidents", "show", DRILL_ID, "--state-dir", str(state_dir))
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    start = lines.index("Drill zone-down: FAILED")
    checks = [line for line in lines[start + 1 :] if line.startswith(("  pass", "  FAIL"))]
    assert checks
    assert any(line.startswith("  FAIL") and "not detected" in line for line in checks)


def test_list_as_json_rounds_the_times_to_a_tenth(invoke: Invoke, tmp_path: Path) -> None:
    incident = older()
    detected = incident.impact_start + timedelta(seconds=20.043712)
    mitigated = incident.impact_start + timedelta(seconds=2037.073672)
    with IncidentStore.open(tmp_path) as store:
        store.save(replace(incident, detected_at=detected, mitigated_at=mitigated))
    listed = invoke("incidents", "list", "-o", "json", "--state-dir", str(tmp_path))
    [item] = json.loads(listed.out)
    assert (item["mttdSeconds"], item["mttrSeconds"]) == (20, 2037.1)
