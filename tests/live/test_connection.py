"""Connecting to a cluster: the twin's state directory, kubeconfig, azure.json, and clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lightkube.resources.core_v1 import Node

from nodewarden.connection import Connection, connect
from nodewarden.errors import InputError
from nodewarden.twin.service import Twin


def test_a_twin_directory_gives_working_kubernetes_and_azure_clients(twin: Twin, connection: Connection) -> None:
    assert connection.kube is not None
    assert connection.azure is not None
    assert len(list(connection.kube.list(Node))) == 12
    target = connection.azure.target
    assert target.cluster_name == "aks-small"
    cluster = connection.azure.aks.managed_clusters.get(target.resource_group, target.cluster_name)
    assert cluster.name == "aks-small"
    assert target.node_resource_group is not None
    scale_sets = list(connection.azure.compute.virtual_machine_scale_sets.list(target.node_resource_group))
    assert len(scale_sets) == 2


def test_a_missing_kubeconfig_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--kubeconfig .*nope: no such file"):
        connect(kubeconfig=tmp_path / "nope", need_azure=False)


def test_azure_settings_must_say_which_cluster(tmp_path: Path) -> None:
    config = tmp_path / "azure.json"
    config.write_text(json.dumps({"subscriptionId": "s"}))
    with pytest.raises(InputError, match="missing --resource-group, --cluster"):
        connect(azure_config=config, need_kube=False)


def test_a_malformed_azure_config_names_line_and_column(tmp_path: Path) -> None:
    config = tmp_path / "azure.json"
    config.write_text('{"subscriptionId": }')
    with pytest.raises(InputError, match=r"azure\.json:1:20: invalid JSON"):
        connect(azure_config=config, need_kube=False)
