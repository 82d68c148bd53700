"""The twin through Debian's kubectl 1.20 (issue 25): the columns `kubectl get` prints, `-o wide`, and
`kubectl apply --dry-run=client`. One twin for the module; each test runs kubectl a few times."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nodewarden.twin.service import Twin
from tests.tools import kubectl_120

Kubectl = Callable[..., list[list[str]]]


@pytest.fixture(scope="module")
def twin() -> Iterator[Twin]:
    with Twin("small") as running:
        yield running


@pytest.fixture(scope="module")
def kubectl(twin: Twin, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    binary = str(kubectl_120())
    home = tmp_path_factory.mktemp("kubectl")
    env = {**os.environ, "KUBECONFIG": str(twin.kubeconfig_path), "HOME": str(home)}

    def run(*args: str) -> list[list[str]]:
        """kubectl's output as rows of cells (split on runs of two or more spaces); fails on a non-zero exit."""
        done = subprocess.run(
            [binary, "--cache-dir", str(home / "cache"), *args],
            capture_output=True, text=True, env=env, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return [[cell for cell in line.split("  ") if cell.strip()] for line in done.stdout.splitlines()]

    return run


def _strip(rows: list[list[str]]) -> list[list[str]]:
    return [[cell.strip() for cell in row] for row in rows]


def test_get_pdb_shows_the_budgets_columns(kubectl: Kubectl) -> None:
    """Before, `kubectl get pdb` showed only NAME and AGE."""
    rows = _strip(kubectl("get", "pdb", "-n", "shop"))
    assert rows[0] == ["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"]
    assert [row[:4] for row in rows[1:]] == [
        ["api", "2", "N/A", "1"],
        ["db", "N/A", "1", "1"],
        ["web", "N/A", "1", "1"],
    ]


def test_get_wide_adds_the_wide_columns_for_nodes_and_pods(kubectl: Kubectl) -> None:
    """Before, `-o wide` was ignored and nodes showed a MODE column the API server does not serve."""
    nodes = _strip(kubectl("get", "nodes"))
    assert nodes[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    wide = _strip(kubectl("get", "nodes", "-o", "wide"))
    assert wide[0] == [
        "NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION",
        "CONTAINER-RUNTIME",
    ]  # fmt: skip
    assert wide[1][5].startswith("10.")
    pods = _strip(kubectl("get", "pods", "-n", "shop", "-o", "wide"))
    assert pods[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
    db = next(row for row in pods if row[0] == "db-0")
    assert db[1:4] == ["1/1", "Running", "0"]
    assert db[6].startswith("aks-apps-")
    deployments = _strip(kubectl("get", "deployments", "-n", "shop", "-o", "wide"))
    assert deployments[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert next(row for row in deployments if row[0] == "web")[1:4] == ["6/6", "6", "6"]


def test_apply_dry_run_client_creates_and_configures_nothing(kubectl: Kubectl, twin: Twin, tmp_path: Path) -> None:
    manifest = tmp_path / "budgets.yaml"
    manifest.write_text(
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: extra, namespace: shop}\n"
        "spec: {maxUnavailable: 1, selector: {matchLabels: {app: web}}}\n---\n"
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web, namespace: shop}\n"
        "spec: {maxUnavailable: 2, selector: {matchLabels: {app: web}}}\n"
    )
    rows = kubectl("apply", "--dry-run=client", "-f", str(manifest))
    assert [" ".join(row) for row in rows] == [
        "poddisruptionbudget.policy/extra created (dry run)",
        "poddisruptionbudget.policy/web configured (dry run)",
    ]
    assert twin.world.store.peek("poddisruptionbudgets", "shop", "extra") is None
    web = twin.world.store.peek("poddisruptionbudgets", "shop", "web")
    assert web is not None
    assert web["spec"]["maxUnavailable"] == 1
