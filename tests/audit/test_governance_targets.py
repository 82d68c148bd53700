"""Namespace findings (RG003) carry the waiver annotation of the real Namespace object."""

from __future__ import annotations

from datetime import UTC, datetime

from nodewarden.audit import engine
from nodewarden.audit.catalog import Catalog, RuleContext, default_catalog
from nodewarden.audit.params import AuditParams
from nodewarden.audit.report import AuditReport
from nodewarden.model.findings import Outcome
from nodewarden.observe.files import Document
from nodewarden.observe.load import load_documents

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _audit(rule_id: str, *docs: object) -> AuditReport:
    snapshot = load_documents(Document(f"doc#{i}", d) for i, d in enumerate(docs)).snapshot
    catalog = Catalog([default_catalog().get(rule_id)])
    return engine.run_audit(snapshot, catalog=catalog, context=RuleContext(params=AuditParams(), now=NOW))


def test_namespace_without_quota_is_waived_by_its_own_annotation() -> None:
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "sandbox",
            "annotations": {"nodewarden.io/waive": "RG003", "nodewarden.io/waive-reason": "throwaway"},
        },
    }
    quotas = {"apiVersion": "v1", "kind": "ResourceQuotaList", "items": []}
    result = _audit("RG003", namespace, quotas).rules[0].result
    assert result.outcome is Outcome.WAIVED
    assert [f.target.key for f in result.findings] == ["Namespace/sandbox"]


def test_namespace_known_only_from_workloads_gets_a_plain_target() -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}}
    quotas = {"apiVersion": "v1", "kind": "ResourceQuotaList", "items": []}
    result = _audit("RG003", deployment, quotas).rules[0].result
    assert result.outcome is Outcome.FAIL
    assert result.findings[0].target.annotation_waiver is None
