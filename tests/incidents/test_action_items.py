"""A zone outage's action items: one per rule, naming what it fails on, not one per workload (issue 25)."""

from __future__ import annotations

import dataclasses

from nodewarden.incidents import actions
from nodewarden.model.findings import Finding, Severity, Target
from tests.render.test_postmortem import zone_outage

WORKLOADS = tuple(Target(kind="Deployment", name=f"svc-{i:04d}", namespace="platform") for i in range(23))
POOLS = tuple(Target(kind="agentPool", name=name) for name in ("apps", "data", "system"))


def test_a_rule_failing_on_many_workloads_is_one_item_listing_a_few_of_them() -> None:
    incident = dataclasses.replace(zone_outage(), pool=None, workloads=tuple(t.key for t in WORKLOADS), hypotheses=())
    incident = dataclasses.replace(incident, signals=tuple(dataclasses.replace(s, pool=None) for s in incident.signals))
    findings = [
        *(Finding("WL008", Severity.MEDIUM, t, f"Deployment {t.namespace}/{t.name} has no spread") for t in WORKLOADS),
        *(Finding("RG005", Severity.LOW, t, f"Deployment {t.namespace}/{t.name} sets no priority") for t in WORKLOADS),
        Finding("WL001", Severity.HIGH, WORKLOADS[0], "Deployment platform/svc-0000: spec.replicas is 1"),
    ]
    items = actions.action_items(incident, findings)
    assert [item.split(":")[0] for item in items] == ["WL001", "WL008", "RG005"]
    assert items[0].startswith("WL001: Deployment platform/svc-0000: spec.replicas is 1 — kubectl scale")
    assert items[1].startswith(
        "WL008: Multi-replica workloads spread across nodes, not met by 23 workloads (platform/svc-0000, "
        "platform/svc-0001, platform/svc-0002, platform/svc-0003, platform/svc-0004 and 18 more) — Add "
    )
    assert "RG005: Application workloads name a priority class, not met by 23 workloads" in items[2]


def test_pools_are_counted_as_pools_and_all_named_when_few() -> None:
    incident = dataclasses.replace(zone_outage(), pool=None, hypotheses=())
    incident = dataclasses.replace(
        incident,
        signals=tuple(dataclasses.replace(s, pool=p.name) for s, p in zip(incident.signals * 2, POOLS, strict=False)),
    )
    findings = [Finding("HA014", Severity.MEDIUM, t, f"Linux pool {t.name} has osSku Ubuntu") for t in POOLS]
    (item,) = actions.action_items(incident, findings)
    assert item.startswith("HA014: Linux node pools run Azure Linux, not met by 3 pools (apps, data, system) — az aks")
