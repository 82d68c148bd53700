"""`nodewarden twin serve|inject|advance|faults` as a user runs them, in a real subprocess."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lightkube import Client, KubeConfig
from lightkube.resources.core_v1 import Node

from tests.conftest import Invoke


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    state = tmp_path / "twin"
    process = subprocess.Popen(
        [sys.executable, "-m", "nodewarden", "twin", "serve", "--manual-clock", "--state-dir", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()  # blocks until the twin is up (or the process died)
    assert "serving at https://127.0.0.1:" in first, first + (process.stderr.read() if process.stderr else "")
    yield process, state
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def test_serve_writes_a_kubeconfig_azure_settings_and_a_ca_and_stops_cleanly_on_ctrl_c(
    served: tuple[subprocess.Popen[str], Path],
) -> None:
    process, state = served
    assert {"kubeconfig", "azure.json", "ca.pem", "twin.json"} <= {p.name for p in state.iterdir()}
    azure = json.loads((state / "azure.json").read_text())
    assert set(azure) == {
        "subscriptionId", "resourceGroup", "clusterName", "nodeResourceGroup", "location",
        "armEndpoint", "authority", "tenantId", "clientId", "clientSecret", "caBundle", "imdsEndpoint",
    }  # fmt: skip
    assert oct((state / "azure.json").stat().st_mode & 0o777) == "0o600"
    nodes = list(Client(KubeConfig.from_file(str(state / "kubeconfig"))).list(Node))
    assert len(nodes) == 12
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "twin stopped" in out
    assert not (state / "twin.json").exists()


def test_inject_and_advance_drive_a_running_twin(served: tuple[subprocess.Popen[str], Path], invoke: Invoke) -> None:
    _, state = served
    client = Client(KubeConfig.from_file(str(state / "kubeconfig")))
    victim = next(n.metadata.name for n in client.list(Node) if n.metadata and "-apps-" in (n.metadata.name or ""))
    assert victim is not None
    result = invoke("twin", "inject", "kubelet-hang", "--target", victim, "--state-dir", str(state))
    assert result.code == 0
    assert f"injected kubelet-hang into {victim}" in result.out
    assert invoke("twin", "advance", "70", "--state-dir", str(state)).code == 0
    node = client.get(Node, victim)
    conditions = node.status.conditions if node.status and node.status.conditions else []
    assert next(c.status for c in conditions if c.type == "Ready") == "Unknown"


def test_clear_takes_a_kubelet_hang_out_and_the_node_comes_back_ready(
    served: tuple[subprocess.Popen[str], Path], invoke: Invoke
) -> None:
    _, state = served
    client = Client(KubeConfig.from_file(str(state / "kubeconfig")))
    victim = next(n.metadata.name for n in client.list(Node) if n.metadata and "-apps-" in (n.metadata.name or ""))
    assert victim is not None
    assert invoke("twin", "inject", "kubelet-hang", "--target", victim, "--state-dir", str(state)).code == 0
    assert invoke("twin", "advance", "70", "--state-dir", str(state)).code == 0
    assert _ready(client, victim) == "Unknown"
    result = invoke("twin", "clear", "kubelet-hang", "--target", victim, "--state-dir", str(state))
    assert result.code == 0, result.err
    assert result.out == f"the kubelet on {victim} resumes\n"
    assert invoke("twin", "advance", "15", "--state-dir", str(state)).code == 0
    assert _ready(client, victim) == "True"
    result = invoke("twin", "clear", "--all", "--state-dir", str(state))
    assert (result.code, result.out) == (0, "nothing to clear: no fault is in\n")
    result = invoke("twin", "clear", "watch-drop", "--state-dir", str(state))
    assert result.code == 2
    assert "watch-drop has nothing to clear" in result.err
    result = invoke("twin", "clear", "--state-dir", str(state))
    assert result.code == 2
    assert "name a FAULT (with --target) or pass --all" in result.err


def _ready(client: Client, name: str) -> str:
    node = client.get(Node, name)
    conditions = node.status.conditions if node.status and node.status.conditions else []
    return next(c.status for c in conditions if c.type == "Ready")


def test_inject_refuses_an_unknown_fault_with_the_twins_reason(
    served: tuple[subprocess.Popen[str], Path], invoke: Invoke
) -> None:
    _, state = served
    result = invoke("twin", "inject", "meteor", "--state-dir", str(state))
    assert result.code == 2
    assert "no fault 'meteor'" in result.err


def test_inject_without_a_running_twin_says_so(tmp_path: Path, invoke: Invoke) -> None:
    result = invoke("twin", "inject", "watch-drop", "--state-dir", str(tmp_path))
    assert result.code == 2
    assert "no running twin here" in result.err


def test_faults_lists_the_catalogue(invoke: Invoke) -> None:
    result = invoke("twin", "faults")
    assert result.code == 0
    for name in ("instance-crash", "kubelet-hang", "zone-outage", "bad-image", "planned-maintenance", "watch-drop"):
        assert name in result.out


def test_serve_with_an_unknown_scenario_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("twin", "serve", "--scenario", "nope")
    assert result.code == 2
    assert "no such scenario file" in result.err
