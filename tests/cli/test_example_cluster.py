"""The bundled example (what `make demo` audits) keeps showing a mix of findings in every category."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke

ROOT = Path(__file__).parents[2]
EXAMPLE = [
    str(ROOT / "examples" / "cluster"),
    "--waivers",
    str(ROOT / "examples" / "waivers.yaml"),
    "--config",
    str(ROOT / "examples" / "config.yaml"),
    "--now",
    "2026-11-26T12:00:00Z",
]


def test_the_example_has_findings_and_passes_in_every_category(invoke: Invoke) -> None:
    result = invoke("audit", *EXAMPLE, "-o", "json")
    assert result.code == 1
    report = json.loads(result.out)
    by_category: dict[str, Counter[str]] = {}
    for entry in report["rules"]:
        by_category.setdefault(entry["category"], Counter())[entry["outcome"]] += 1
    assert set(by_category) == {"HA", "UP", "AS", "RG", "WL", "SEC", "MON", "DR", "VM"}
    assert all(counts["fail"] >= 1 for counts in by_category.values()), by_category
    assert sum(counts["pass"] for counts in by_category.values()) >= 20
    assert "not recognised" not in result.err


def test_the_example_shows_a_waived_finding_and_an_expired_waiver(invoke: Invoke) -> None:
    report = json.loads(invoke("audit", *EXAMPLE, "-o", "json").out)
    findings = [f for entry in report["rules"] for f in entry["findings"]]
    sources = {f["waiver"]["source"] for f in findings if f["waived"]}
    assert "annotation nodewarden.io/waive" in sources
    assert any(source.endswith("waivers.yaml") for source in sources)
    assert any("waiver expired on 2026-09-30" in note for note in report["notes"])


def test_no_annotation_waivers_reopens_annotation_waived_findings(invoke: Invoke) -> None:
    with_annotations = json.loads(invoke("audit", *EXAMPLE, "-o", "json").out)
    without = json.loads(invoke("audit", *EXAMPLE, "-o", "json", "--no-annotation-waivers").out)

    def annotation_waived(report: Any) -> int:
        findings = [f for entry in report["rules"] for f in entry["findings"]]
        return sum(1 for f in findings if f["waived"] and f["waiver"]["source"].startswith("annotation"))

    assert annotation_waived(with_annotations) >= 1
    assert annotation_waived(without) == 0


@pytest.mark.parametrize("fmt", ["table", "sarif", "junit", "markdown", "html"])
def test_every_format_renders_the_example(invoke: Invoke, fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"report.{fmt}"
    result = invoke("audit", *EXAMPLE, "-o", fmt, "--output", str(out))
    assert result.code == 1
    text = out.read_text(encoding="utf-8")
    assert "aks-prod-weu" in text
