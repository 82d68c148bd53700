"""`collect` writes what az and kubectl would; auditing that folder equals `audit --live` (against the twin)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from nodewarden.connection import Connection
from nodewarden.observe import collect, load
from nodewarden.twin.service import Twin
from tests.conftest import Invoke, Outcome

NOW = "2026-11-26T12:00:00Z"


def test_collect_writes_the_readme_files_and_every_one_is_recognised(
    tmp_path: Path, twin: Twin, connection: Connection
) -> None:
    summary = collect.collect(connection, tmp_path / "export")
    written = sorted(p.name for p in (tmp_path / "export").iterdir())
    assert written == sorted(summary.counts)
    assert {"aks.json", "nodepools.json", "vmss.json", "k8s-nodes.json", "k8s-pdb.json", "k8s-pods.json"} <= set(
        written
    )
    scale_sets = [entry["name"] for entry in json.loads((tmp_path / "export" / "vmss.json").read_text())]
    assert [name for name in written if name.startswith("vmss-instances-")] == sorted(
        f"vmss-instances-{name}.json" for name in scale_sets
    )
    assert summary.counts["k8s-nodes.json"] == 12
    assert summary.counts["nodepools.json"] == 2
    assert sum(count for name, count in summary.counts.items() if name.startswith("vmss-instances-")) == 12
    assert any("velero" in note for note in summary.notes)  # the twin serves no Velero CRD: skipped, said so
    assert not any(name.startswith(".") for name in written)  # no temporary file left behind

    loaded = load.load_paths([tmp_path / "export"])
    assert loaded.notes == ()  # nothing "not recognised", nothing ignored
    assert len(loaded.snapshot.nodes) == 12
    assert len(loaded.snapshot.instances) == 12
    assert {pool.name for pool in loaded.snapshot.pools} == {"system", "apps"}


def test_collected_files_have_the_shape_kubectl_and_az_print(tmp_path: Path, connection: Connection) -> None:
    collect.collect(connection, tmp_path)
    nodes = json.loads((tmp_path / "k8s-nodes.json").read_text())
    assert nodes["apiVersion"] == "v1"
    assert nodes["kind"] == "List"
    assert nodes["metadata"] == {"resourceVersion": ""}
    assert all(item["apiVersion"] == "v1" and item["kind"] == "Node" for item in nodes["items"])
    pdbs = json.loads((tmp_path / "k8s-pdb.json").read_text())
    assert {item["apiVersion"] for item in pdbs["items"]} == {"policy/v1"}
    aks = json.loads((tmp_path / "aks.json").read_text())
    assert "properties" not in aks  # az flattens ARM's properties
    assert aks["enableRbac"] is True
    assert aks["resourceGroup"] == "rg-twin"
    pools = json.loads((tmp_path / "nodepools.json").read_text())
    assert {pool["typePropertiesType"] for pool in pools} == {"VirtualMachineScaleSets"}
    instances = next(tmp_path.glob("vmss-instances-*.json"))
    first = json.loads(instances.read_text())[0]
    assert first["instanceView"]["statuses"]
    assert first["instanceId"]


def _report(out: Outcome) -> dict[str, Any]:
    assert out.code in (0, 1), out.err
    report: dict[str, Any] = json.loads(out.out)
    report.pop("generatedAt", None)
    report.pop("sources", None)
    return report


def test_the_audit_of_a_collected_folder_equals_the_live_audit(
    tmp_path: Path, twin: Twin, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    collected = invoke("collect", "--out", str(tmp_path / "export"), "--twin", str(twin.state_dir))
    assert collected.code == 0, collected.err
    assert "k8s-nodes.json" in collected.out
    assert "velero" in collected.err

    live = invoke("audit", "--live", "--twin", str(twin.state_dir), "-o", "json", "--now", NOW)
    monkeypatch.chdir(tmp_path / "export")  # so findings name files as the live audit does: "k8s-pdb.json"
    from_files = invoke("audit", ".", "-o", "json", "--now", NOW)
    assert _report(live) == _report(from_files)
    findings = [finding for rule in _report(live)["rules"] for finding in rule["findings"]]
    assert findings
    assert {finding["source"] for finding in findings} <= {path.name for path in Path().iterdir()} | {None}


def test_the_audit_still_reads_files_only(tmp_path: Path, connection: Connection, invoke: Invoke) -> None:
    collect.collect(connection, tmp_path)
    out = invoke("audit", str(tmp_path), "-o", "json", "--now", NOW)
    assert out.code in (0, 1)
    assert json.loads(out.out)["rules"]


def test_audit_needs_paths_or_live_and_not_both(tmp_path: Path, twin: Twin, invoke: Invoke) -> None:
    nothing = invoke("audit")
    assert nothing.code == 2
    assert "--live" in nothing.err
    both = invoke("audit", str(tmp_path), "--live", "--twin", str(twin.state_dir))
    assert both.code == 2
    assert "not both" in both.err
    flag_alone = invoke("audit", str(tmp_path), "--kubeconfig", str(tmp_path / "k"))
    assert flag_alone.code == 2
    assert "need --live" in flag_alone.err


def _kubeconfig(twin: Twin, tmp_path: Path, *, server: str | None = None, token: str | None = None) -> Path:
    config = yaml.safe_load((twin.state_dir / "kubeconfig").read_text())
    if server is not None:
        config["clusters"][0]["cluster"]["server"] = server
    if token is not None:
        for user in config["users"]:
            user["user"]["token"] = token
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def _one_line(out: Outcome) -> str:
    assert out.code == 2, (out.code, out.out, out.err)
    lines = out.err.strip().splitlines()
    assert len(lines) == 1, out.err
    assert "Traceback" not in out.err
    return lines[0]


def test_a_wrong_kubernetes_token_is_one_line_naming_the_credentials(
    tmp_path: Path, twin: Twin, invoke: Invoke
) -> None:
    kubeconfig = _kubeconfig(twin, tmp_path, token="not-a-token")
    line = _one_line(invoke("collect", "--out", str(tmp_path / "o"), "--kubeconfig", str(kubeconfig)))
    assert "401" in line
    assert "kubeconfig" in line


def test_an_unreachable_api_server_is_one_line_naming_it(tmp_path: Path, twin: Twin, invoke: Invoke) -> None:
    kubeconfig = _kubeconfig(twin, tmp_path, server="https://127.0.0.1:9")  # discard port: nothing listens
    line = _one_line(invoke("audit", "--live", "--kubeconfig", str(kubeconfig)))
    assert "cannot reach" in line
    assert "127.0.0.1:9" in line


def test_a_missing_kubeconfig_is_one_line(tmp_path: Path, invoke: Invoke) -> None:
    line = _one_line(invoke("audit", "--live", "--kubeconfig", str(tmp_path / "nope")))
    assert "no such file" in line


def test_a_kubeconfig_that_is_not_yaml_is_one_line(tmp_path: Path, invoke: Invoke) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("{{{ not: [yaml")
    line = _one_line(invoke("collect", "--out", str(tmp_path / "o"), "--kubeconfig", str(kubeconfig)))
    assert "not a kubeconfig" in line


def test_a_cluster_that_does_not_exist_is_one_line_naming_it(tmp_path: Path, twin: Twin, invoke: Invoke) -> None:
    line = _one_line(
        invoke("collect", "--out", str(tmp_path / "o"), "--twin", str(twin.state_dir), "--cluster", "nope")
    )
    assert "nope" in line
    assert "not found" in line


def test_a_resource_group_that_does_not_exist_is_one_line_naming_it(tmp_path: Path, twin: Twin, invoke: Invoke) -> None:
    line = _one_line(
        invoke("audit", "--live", "--twin", str(twin.state_dir), "--resource-group", "rg-gone", "-o", "json")
    )
    assert "rg-gone" in line
    assert "not found" in line


def test_a_refused_azure_secret_is_one_line(tmp_path: Path, twin: Twin, invoke: Invoke) -> None:
    settings = json.loads((twin.state_dir / "azure.json").read_text())
    settings["clientSecret"] = "wrong"
    config = tmp_path / "azure.json"
    config.write_text(json.dumps(settings))
    line = _one_line(
        invoke("collect", "--out", str(tmp_path / "o"), "--twin", str(twin.state_dir), "--azure-config", str(config))
    )
    assert "Azure credentials" in line
