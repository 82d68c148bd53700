"""The twin's storage kinds through Debian's kubectl 1.20: `get pv,pvc,volumeattachments` and `get storageclasses`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.tools import kubectl_120
from tests.twin.zonal import zonal_twin


def _rows(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split("  ") if cell.strip()] for line in text.splitlines()]


def test_kubectl_120_gets_volumes_claims_attachments_and_classes(tmp_path: Path) -> None:
    binary = str(kubectl_120())
    with zonal_twin() as twin:
        env = {**os.environ, "KUBECONFIG": str(twin.kubeconfig_path), "HOME": str(tmp_path)}

        def kubectl(*args: str) -> str:
            done = subprocess.run(
                [binary, "--cache-dir", str(tmp_path / "cache"), *args],
                capture_output=True, text=True, env=env, timeout=60, check=False,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            return done.stdout

        output = kubectl("get", "pv,pvc,volumeattachments", "-A")
        classes = _rows(kubectl("get", "storageclasses"))
        volumes = {v["metadata"]["name"]: v for v in twin.world.store.items("persistentvolumes")}
    blocks = [_rows(block) for block in output.strip().split("\n\n")]
    pv, pvc, va = blocks
    assert pv[0] == [
        "NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS", "REASON", "AGE",
    ]  # fmt: skip
    assert sorted(row[5:7] for row in pv[1:]) == [
        ["data/data-ledger-0", "managed-csi"],
        ["data/data-queue-0", "managed-csi-premium-zrs"],
    ]
    assert {row[0].removeprefix("persistentvolume/") for row in pv[1:]} == set(volumes)
    assert all(row[1:5] == ["64Gi", "RWO", "Delete", "Bound"] for row in pv[1:])
    assert pvc[0][:7] == ["NAMESPACE", "NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS"]
    assert sorted(row[1:3] for row in pvc[1:]) == [
        ["persistentvolumeclaim/data-ledger-0", "Bound"],
        ["persistentvolumeclaim/data-queue-0", "Bound"],
    ]
    assert va[0][-6:] == ["NAME", "ATTACHER", "PV", "NODE", "ATTACHED", "AGE"]  # kubectl 1.20 adds NAMESPACE with -A
    assert sorted(row[-4] for row in va[1:]) == sorted(volumes)
    assert all(row[-5] == "disk.csi.azure.com" and row[-2] == "true" for row in va[1:])
    assert classes[0] == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"]
    assert [row[0] for row in classes[1:]] == [
        "azurefile-csi", "managed-csi", "managed-csi-premium", "managed-csi-premium-zrs",
    ]  # fmt: skip
