"""Scenarios load by name or file, reject typos by field, and expand into manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodewarden.twin.manifests import scenario_manifests
from nodewarden.twin.scenario import BUILT_IN, ScenarioError, load_scenario


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_built_in_scenario_loads(name: str) -> None:
    scenario = load_scenario(name)
    assert scenario.name == name
    assert scenario.pools


def test_the_built_in_scenarios_have_the_sizes_the_issue_asks_for() -> None:
    small, prod, large = (load_scenario(name) for name in ("small", "prod-3az", "large"))
    assert 10 <= sum(p.count for p in small.pools) <= 14
    assert [p.mode for p in prod.pools] == ["System", "User", "User"]
    assert all(p.zones == ["1", "2", "3"] for p in prod.pools)
    assert 25 <= sum(w.copies for w in prod.workloads) <= 40
    assert sum(p.count for p in large.pools) == 5000
    assert sum(w.replicas * w.copies for w in large.workloads) == 50_000


def test_a_typo_in_a_scenario_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: x\npools:\n  - {name: apps, vmSzie: Standard_D4ds_v5}\n")
    with pytest.raises(ScenarioError, match=r"s\.yaml: pools\.0\.vmSzie: Extra inputs are not permitted"):
        load_scenario(path)


def test_a_missing_scenario_file_says_which_are_built_in(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="built-in scenarios: small, prod-3az, large"):
        load_scenario(tmp_path / "nope.yaml")


def test_workloads_expand_into_namespaces_controllers_and_pdbs() -> None:
    manifests = list(scenario_manifests(load_scenario("small")))
    kinds = [m["kind"] for m in manifests]
    assert kinds[:2] == ["Namespace", "Namespace"]
    web = next(m for m in manifests if m["kind"] == "Deployment" and m["metadata"]["name"] == "web")
    assert web["spec"]["replicas"] == 6
    assert web["spec"]["template"]["spec"]["nodeSelector"] == {"kubernetes.azure.com/agentpool": "apps"}
    pdbs = {m["metadata"]["name"]: m["spec"] for m in manifests if m["kind"] == "PodDisruptionBudget"}
    assert pdbs["web"]["maxUnavailable"] == 1
    assert pdbs["api"]["minAvailable"] == 2
    assert "worker" not in pdbs


def test_copies_are_spread_over_numbered_namespaces() -> None:
    manifests = list(scenario_manifests(load_scenario("large")))
    deployments = [m for m in manifests if m["kind"] == "Deployment"]
    namespaces = [m for m in manifests if m["kind"] == "Namespace"]
    assert len(deployments) == 5000
    assert len(namespaces) == 100
    assert deployments[101]["metadata"] == {"name": "svc-0101", "namespace": "team-001"}
