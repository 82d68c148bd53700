"""`nodewarden demo` end to end, flat out on the twin's clock: drills pass, reports exist and parse."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from nodewarden.demo import run as demo_run
from nodewarden.drill.spec import Drill
from tests.conftest import Invoke
from tests.render.test_html import parse


def test_the_demo_runs_both_drills_and_writes_every_report(invoke: Invoke, tmp_path: Path) -> None:
    out = tmp_path / "nodewarden-demo"
    ran = invoke("demo", "--speed", "0", "--output", str(out))
    assert ran.code == 0, ran.out + ran.err
    assert "audit: score" in ran.out
    assert "PASSED single-instance-crash" in ran.out
    assert "PASSED zone-outage" in ran.out
    assert "held (ZoneBreaker)" in ran.out
    assert f"reports in {out}/" in ran.out.replace("\n", "")

    audit = parse((out / "audit.html").read_text())
    assert audit.mismatches == []
    assert audit.open == []

    markdown = sorted((out / "incidents").glob("*.md"))
    pages = sorted((out / "incidents").glob("*.html"))
    assert [p.stem for p in markdown] == [p.stem for p in pages]
    verdicts = [m.read_text() for m in markdown if "## Drill verdict" in m.read_text()]
    assert len(verdicts) == 2
    assert all("## Drill verdict: PASSED" in text for text in verdicts)
    for page in pages:
        parsed = parse(page.read_text())
        assert parsed.mismatches == [], page
        assert parsed.open == [], page

    with sqlite3.connect(out / "journal.sqlite3") as journal:
        steps = {row[0] for row in journal.execute("SELECT step FROM entries")}
        documents = [json.loads(row[0]) for row in journal.execute("SELECT document FROM incidents")]
    assert {"Cordon", "Drain", "Restart", "Uncordon"} <= steps
    assert sorted(d["drill"] for d in documents if d.get("drill")) == ["single-instance-crash", "zone-outage"]


def test_the_demo_exits_1_when_a_drill_fails(invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = demo_run.packaged_drill

    def impatient(name: str) -> Drill:
        drill = shipped(name)
        expect = drill.spec.expect.model_copy(update={"time_to_detect": timedelta(seconds=1)})
        return drill.model_copy(update={"spec": drill.spec.model_copy(update={"expect": expect})})

    monkeypatch.setattr(demo_run, "packaged_drill", impatient)
    ran = invoke("demo", "--speed", "0", "--output", str(tmp_path / "out"))
    assert ran.code == 1
    assert "FAILED single-instance-crash" in ran.out
    assert "missed time to detect: wanted <= 1s, measured" in ran.out
