"""Connects to a live cluster: a lightkube client from a kubeconfig, Azure SDK clients from settings.

Where settings come from, most specific first: `--twin DIR` (the twin's kubeconfig and azure.json),
`--kubeconfig` / `KUBECONFIG` / in-cluster service account, and `--azure-config FILE` (the twin's
`azure.json` shape) or `--subscription/--resource-group/--cluster` with `DefaultAzureCredential`.
Only clients are built here; nothing is called.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from azure.core.credentials import TokenCredential
from azure.identity import ClientSecretCredential, DefaultAzureCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.monitor import MonitorManagementClient
from lightkube import Client, KubeConfig
from lightkube.config.kubeconfig import SingleConfig
from lightkube.core.exceptions import ConfigError as LightkubeConfigError

from nodewarden.errors import InputError

AZURE_KEYS = ("subscriptionId", "resourceGroup", "clusterName")


@dataclass(frozen=True)
class AzureTarget:
    """Which cluster, and how to reach ARM (the public cloud unless `base_url` says otherwise)."""

    subscription_id: str
    resource_group: str
    cluster_name: str
    node_resource_group: str | None = None
    base_url: str | None = None
    ca_bundle: str | None = None
    imds_url: str | None = None  # Scheduled Events: http://169.254.169.254 on a node; the twin serves its own


@dataclass
class AzureClients:
    target: AzureTarget
    compute: ComputeManagementClient
    aks: ContainerServiceClient
    monitor: MonitorManagementClient


@dataclass
class Connection:
    kube: Client | None
    azure: AzureClients | None
    kube_config: SingleConfig | None = None  # what `kube` was built from (for the API server's clock)


def connect(
    *,
    twin: Path | None = None,
    kubeconfig: Path | None = None,
    azure_config: Path | None = None,
    subscription: str | None = None,
    resource_group: str | None = None,
    cluster: str | None = None,
    need_kube: bool = True,
    need_azure: bool = True,
) -> Connection:
    flag = "--kubeconfig"
    if twin is not None:
        flag = "--kubeconfig" if kubeconfig else f"--twin {twin}:"
        kubeconfig = kubeconfig or twin / "kubeconfig"
        azure_config = azure_config or twin / "azure.json"
    config = kube_config(kubeconfig, flag=flag) if need_kube else None
    kube = Client(config, field_manager="nodewarden") if config is not None else None
    azure = (
        azure_clients(
            azure_config=azure_config, subscription=subscription, resource_group=resource_group, cluster=cluster
        )
        if need_azure
        else None
    )
    return Connection(kube=kube, azure=azure, kube_config=config)


def kube_client(kubeconfig: Path | None, *, flag: str = "--kubeconfig") -> Client:
    """From a kubeconfig file, else KUBECONFIG / ~/.kube/config / the in-cluster service account."""
    return Client(kube_config(kubeconfig, flag=flag), field_manager="nodewarden")


def kube_config(kubeconfig: Path | None, *, flag: str = "--kubeconfig") -> SingleConfig:
    """The current context of a kubeconfig file, else of KUBECONFIG / ~/.kube/config / the service account."""
    try:
        if kubeconfig is not None:
            _check_kubeconfig(kubeconfig, flag)
            config = KubeConfig.from_file(str(kubeconfig)).get()
        else:
            config = KubeConfig.from_env().get()
    except LightkubeConfigError as exc:
        raise InputError(
            f"no Kubernetes configuration: {exc} (pass --kubeconfig, set KUBECONFIG, or run in a pod)"
        ) from exc
    assert config is not None  # get() without a context name raises rather than return None
    return config


def _check_kubeconfig(path: Path, flag: str) -> None:
    """Refuse a kubeconfig that is not YAML or has no clusters, in one line, before lightkube reads it
    (lightkube lets a YAML error or an empty file escape as an exception of its own)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"{flag} {path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{flag} {path}: cannot read: {exc}") from exc
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputError(f"{flag} {path}{where}: not a kubeconfig: {problem}") from exc
    if not isinstance(config, dict) or not isinstance(config.get("clusters"), list) or not config["clusters"]:
        raise InputError(f"{flag} {path}: not a kubeconfig: expected a YAML mapping with 'clusters'")


def azure_clients(
    *, azure_config: Path | None, subscription: str | None, resource_group: str | None, cluster: str | None
) -> AzureClients:
    settings = _read_azure_config(azure_config) if azure_config else {}
    target = AzureTarget(
        subscription_id=subscription or settings.get("subscriptionId") or os.environ.get("AZURE_SUBSCRIPTION_ID", ""),
        resource_group=resource_group
        or settings.get("resourceGroup")
        or os.environ.get("NODEWARDEN_RESOURCE_GROUP", ""),
        cluster_name=cluster or settings.get("clusterName") or os.environ.get("NODEWARDEN_CLUSTER", ""),
        node_resource_group=settings.get("nodeResourceGroup"),
        base_url=settings.get("armEndpoint"),
        ca_bundle=settings.get("caBundle"),
        imds_url=settings.get("imdsEndpoint"),
    )
    missing = [flag for flag, value in (("--subscription", target.subscription_id), ("--resource-group",
               target.resource_group), ("--cluster", target.cluster_name)) if not value]  # fmt: skip
    if missing:
        raise InputError(f"which AKS cluster? missing {', '.join(missing)} (or --azure-config / --twin)")
    credential = _credential(settings, target)
    extra: dict[str, Any] = {}
    if target.base_url:
        extra["base_url"] = target.base_url
    if target.ca_bundle:
        extra["connection_verify"] = target.ca_bundle
    return AzureClients(
        target=target,
        compute=ComputeManagementClient(credential, target.subscription_id, **extra),
        aks=ContainerServiceClient(credential, target.subscription_id, **extra),
        monitor=MonitorManagementClient(credential, target.subscription_id, **extra),
    )


def _credential(settings: dict[str, str], target: AzureTarget) -> TokenCredential:
    if settings.get("clientSecret"):
        extra: dict[str, Any] = {}
        if settings.get("authority"):
            extra.update(authority=settings["authority"], disable_instance_discovery=True)
        if target.ca_bundle:
            extra["connection_verify"] = target.ca_bundle
        return ClientSecretCredential(settings["tenantId"], settings["clientId"], settings["clientSecret"], **extra)
    return DefaultAzureCredential()


def _read_azure_config(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"--azure-config {path}: no such file") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"--azure-config {path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise InputError(f"--azure-config {path}: expected a JSON object like the twin's azure.json")
    return {str(k): str(v) for k, v in data.items() if v is not None}
