"""`nodewarden incidents list|show|report` as a user runs them, on a state dir the store wrote."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import pytest

from nodewarden.incidents import codec
from nodewarden.model.incident import Incident
from nodewarden.state import IncidentStore
from tests.conftest import Invoke
from tests.render.test_html import parse
from tests.render.test_postmortem import HOSTILE_NODE, SECTIONS, hostile, zone_outage


def older() -> Incident:
    """A day-old incident in the batch pool, which HA001 fails in examples/cluster."""
    base = zone_outage()
    return dataclasses.replace(
        base,
        id="inc-20261125T080000Z-batch",
        title="batch nodes down",
        pool="batch",
        impact_start=base.impact_start - timedelta(days=1),
        signals=tuple(dataclasses.replace(s, pool="batch") for s in base.signals),
    )


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    with IncidentStore.open(tmp_path) as store:
        store.save(older())
        store.save(zone_outage())
    return tmp_path


def test_list_shows_the_newest_incident_first(invoke: Invoke, state_dir: Path) -> None:
    listed = invoke("incidents", "list", "--state-dir", str(state_dir))
    assert listed.code == 0, listed.err
    lines = listed.out.splitlines()
    assert lines[0].split() == ["ID", "STATE", "IMPACT", "START", "MTTD", "MTTR", "NODES", "TITLE"]
    assert lines[1].startswith("inc-20261126T080000Z-westeurope-1  resolved  2026-11-26 08:00:00 UTC  40 s")
    assert lines[2].startswith("inc-20261125T080000Z-batch")


def test_show_prints_times_causes_and_how_to_get_the_report(invoke: Invoke, state_dir: Path) -> None:
    shown = invoke("incidents", "show", "inc-20261126T080000Z-westeurope-1", "--state-dir", str(state_dir))
    assert shown.code == 0, shown.err
    assert "  MTTD      40 s" in shown.out
    assert "  0.80  zone-outage: failures clustered in westeurope-1" in shown.out
    assert "nodewarden incidents report inc-20261126T080000Z-westeurope-1" in shown.out


def test_an_unknown_id_exits_2_and_says_how_to_list(invoke: Invoke, state_dir: Path) -> None:
    shown = invoke("incidents", "report", "inc-nope", "--state-dir", str(state_dir))
    assert shown.code == 2
    assert shown.err == f"nodewarden: no incident inc-nope in {state_dir}; `nodewarden incidents list`\n"


def test_a_directory_without_a_journal_exits_2_and_stays_empty(invoke: Invoke, tmp_path: Path) -> None:
    listed = invoke("incidents", "list", "--state-dir", str(tmp_path / "elsewhere"))
    assert listed.code == 2
    assert "no journal.sqlite3 there" in listed.err
    assert not (tmp_path / "elsewhere").exists()


def test_report_writes_markdown_with_action_items_from_the_audit(invoke: Invoke, state_dir: Path) -> None:
    incident = "inc-20261125T080000Z-batch"
    out = state_dir / "postmortem.md"
    made = invoke(
        "incidents",
        "report",
        incident,
        "--state-dir",
        str(state_dir),
        "--audit",
        "examples/cluster",
        "--output",
        str(out),
    )
    assert made.code == 0, made.err
    assert made.out == ""
    text = out.read_text()
    assert [line[3:] for line in text.splitlines() if line.startswith("## ")] == SECTIONS
    assert "1. Spread pool batch across at least three availability zones" in text
    assert "HA001: pool batch spans zones [none]" in text, "the batch pool's HA001 finding is an action item"


def test_report_renders_html_and_json(invoke: Invoke, tmp_path: Path) -> None:
    with IncidentStore.open(tmp_path) as store:
        store.save(hostile())
    incident_id = hostile().id
    page = invoke("incidents", "report", incident_id, "--state-dir", str(tmp_path), "-o", "html")
    assert page.code == 0, page.err
    parsed = parse(page.out)
    assert "img" not in {name for name, _ in parsed.tags}
    assert HOSTILE_NODE in "".join(parsed.text)
    as_json = invoke("incidents", "report", incident_id, "--state-dir", str(tmp_path), "-o", "json")
    assert as_json.code == 0, as_json.err
    assert codec.incident_from_dict(json.loads(as_json.out)["incident"]) == hostile()
