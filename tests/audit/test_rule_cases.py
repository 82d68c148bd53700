"""Every rule runs against its case files: tests/audit/cases/<ID>/<pass|fail|notevaluated>-<what>.yaml.

A case file is multi-document YAML (or one JSON document) shaped like real az/kubectl output. Its first
document may be an `expect:` header:

    expect:
      targets: [Deployment/shop/web]     # exact finding target keys (fail cases)
      severity: medium                   # every finding has this severity
      message: "spans zones"             # a substring of every finding message
      reason: "location"                 # a substring of the not-evaluated reason
      params: {min_zones: 3}             # threshold overrides
      now: 2026-11-26T00:00:00Z          # the audit's clock (default below)
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from nodewarden.audit import engine
from nodewarden.audit.catalog import Catalog, RuleContext, default_catalog
from nodewarden.audit.params import AuditParams
from nodewarden.model.findings import Outcome
from nodewarden.observe.files import Document
from nodewarden.observe.load import load_documents

CASES = Path(__file__).parent / "cases"
DEFAULT_NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
OUTCOMES = {"pass": Outcome.PASS, "fail": Outcome.FAIL, "notevaluated": Outcome.NOT_EVALUATED}


def _case_files() -> list[Path]:
    return sorted(p for p in CASES.glob("*/*") if p.suffix in (".yaml", ".yml", ".json"))


def _split(path: Path) -> tuple[dict[str, Any], list[Any]]:
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    if docs and isinstance(docs[0], dict) and set(docs[0]) == {"expect"}:
        return docs[0]["expect"] or {}, docs[1:]
    return {}, docs


def _run(path: Path) -> tuple[dict[str, Any], Any]:
    rule_id = path.parent.name
    expect, docs = _split(path)
    loaded = load_documents(Document(f"{path.name}#{i}", doc) for i, doc in enumerate(docs))
    now = expect.get("now", DEFAULT_NOW)
    if isinstance(now, str):
        now = datetime.fromisoformat(now)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    context = RuleContext(params=AuditParams(**expect.get("params", {})), now=now)
    catalog = Catalog([default_catalog().get(rule_id)])
    report = engine.run_audit(loaded.snapshot, catalog=catalog, context=context)
    return expect, report.rules[0].result


@pytest.mark.parametrize("path", _case_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_rule_case(path: Path) -> None:
    expected_outcome = OUTCOMES[path.stem.split("-", 1)[0]]
    expect, result = _run(path)
    assert result.outcome is expected_outcome, (result.outcome, result.reason, result.findings)
    if "targets" in expect:
        assert sorted(f.target.key for f in result.findings) == sorted(expect["targets"])
    if "severity" in expect:
        assert {f.severity.value for f in result.findings} == {expect["severity"]}
    if "message" in expect:
        assert all(expect["message"] in f.message for f in result.findings), [f.message for f in result.findings]
    if "reason" in expect:
        assert expect["reason"] in (result.reason or "")
    if expected_outcome is Outcome.FAIL:
        assert result.findings


def test_every_rule_has_a_passing_and_a_failing_case() -> None:
    stems: dict[str, set[str]] = {}
    for path in _case_files():
        stems.setdefault(path.parent.name, set()).add(path.stem.split("-", 1)[0])
    untested = [r.meta.id for r in default_catalog() if not {"pass", "fail"} <= stems.get(r.meta.id, set())]
    assert not untested, f"rules without both a pass and a fail case: {untested}"


def test_case_folders_name_real_rules() -> None:
    ids = set(default_catalog().ids())
    assert {p.parent.name for p in _case_files()} <= ids
    assert all(p.stem.split("-", 1)[0] in OUTCOMES for p in _case_files())


def test_catalog_is_complete() -> None:
    catalog: Catalog = default_catalog()
    assert len(catalog) == 72
    assert sum(1 for r in catalog if r.meta.profile.value == "core") == 64
