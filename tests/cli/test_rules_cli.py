"""`nodewarden rules` lists the catalog; docs/rules.md is generated from the same metadata."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Invoke

DOCS = Path(__file__).parents[2] / "docs" / "rules.md"


def test_rules_json_lists_every_rule_with_its_metadata(invoke: Invoke) -> None:
    result = invoke("rules", "-o", "json")
    assert result.code == 0
    rules = json.loads(result.out)
    assert len(rules) == 72
    for entry in rules:
        assert entry["title"]
        assert entry["rationale"]
        assert entry["fix"]
        assert entry["severity"] in {"critical", "high", "medium", "low", "info"}


def test_rules_table_names_every_rule(invoke: Invoke) -> None:
    result = invoke("rules", "--format", "table")
    assert result.code == 0
    assert "HA001" in result.out


def test_docs_rules_md_is_current(invoke: Invoke) -> None:
    result = invoke("rules", "-o", "markdown")
    assert result.code == 0
    assert DOCS.read_text(encoding="utf-8") == result.out, "docs/rules.md is stale: run `make docs`"


def test_an_unknown_rules_format_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("rules", "-o", "xml")
    assert result.code == 2
    assert "--format: expected one of table, json, markdown" in result.err
