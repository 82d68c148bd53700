"""The scale benchmark's generator keeps writing files the loader recognises, in the numbers it promises.

Runs the generator at 20 nodes (no timing: timings belong to `bench/audit_scale.py` itself).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import audit_scale
from nodewarden.model.inputs import Input
from nodewarden.observe.load import load_paths

NODES = 20


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("scale")
    return folder, audit_scale.generate(folder, nodes=NODES)


def test_generated_cluster_loads_with_the_planned_counts(generated: tuple[Path, dict[str, int]]) -> None:
    folder, counts = generated
    plan = audit_scale.make_plan(NODES)
    loaded = load_paths([folder])
    snap = loaded.snapshot

    assert loaded.notes == ()
    assert len(snap.nodes) == len(snap.instances) == plan.node_count == NODES
    assert len(snap.pods) == plan.pod_count == NODES * audit_scale.PODS_PER_NODE
    assert len(snap.workloads) == len(plan.workloads) == NODES * audit_scale.WORKLOADS_PER_NODE
    assert len(snap.pools) == len(snap.scale_sets) == len(plan.pools)
    assert snap.cluster is not None
    assert snap.cluster.agent_pool_profiles is not None
    assert len(snap.cluster.agent_pool_profiles) == len(plan.pools)
    assert len(snap.pdbs) == counts["k8s-pdb.json"] > 0
    assert len(snap.hpas) == counts["k8s-hpa.json"] > 0
    assert len(snap.services) == len(snap.endpoint_slices) == counts["k8s-services.json"] > 0
    assert len(snap.pvcs) == counts["k8s-pvc.json"] > 0
    assert len(snap.namespaces) == counts["k8s-namespaces.json"]
    assert len(snap.subnets) == 1
    assert len(snap.maintenance_configs) == 2


def test_generated_cluster_feeds_every_audited_input(generated: tuple[Path, dict[str, int]]) -> None:
    folder, _ = generated
    inputs = load_paths([folder]).snapshot.inputs
    # not audited: remediation reads leases, events and Scheduled Events
    not_generated = {Input.DAEMONSETS, Input.VELERO_SCHEDULES, Input.ACTIVITY_LOG, Input.LEASES, Input.EVENTS}
    not_generated.add(Input.SCHEDULED_EVENTS)
    # read by capacity classes, fencing and detection, not audited
    not_generated |= {Input.PERSISTENT_VOLUMES, Input.VOLUME_ATTACHMENTS, Input.RESOURCE_HEALTH}
    assert set(Input) - not_generated <= inputs


def test_generated_pods_are_realistically_sized(generated: tuple[Path, dict[str, int]]) -> None:
    folder, _ = generated
    items = json.loads((folder / "k8s-pods.json").read_text(encoding="utf-8"))["items"]
    compact = [len(json.dumps(item, separators=(",", ":"))) for item in items]
    assert 2_000 <= sum(compact) / len(compact) <= 4_000


def test_a_target_is_missed_when_the_audit_is_too_slow_or_too_big() -> None:
    def summary(label: str, seconds: float, peak: int) -> audit_scale.Summary:
        return audit_scale.Summary(label, (audit_scale.Sample(seconds, peak, 0),))

    parse = summary("parse", 10.0, 900_000_000)
    assert audit_scale.judge(parse, summary("audit", 30.0, 1_000_000_000)).ok
    assert not audit_scale.judge(parse, summary("audit", 30.1, 500_000_000)).ratio_ok
    assert not audit_scale.judge(parse, summary("audit", 12.0, 1_000_000_001)).peak_ok
