"""Connects to a live cluster: a lightkube client from a kubeconfig, Azure SDK clients from settings.

Where settings come from, most specific first: `--twin DIR` (the twin's kubeconfig and azure.json),
`--kubeconfig` / `KUBECONFIG` / in-cluster service account, and `--azure-config FILE` (the twin's
`azure.json` shape) or `--subscription/--resource-group/--cluster` with `DefaultAzureCredential`.
Only clients are built here; nothing is called.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from azure.core.credentials import TokenCredential
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.core.rest import HttpRequest, HttpResponse
from azure.identity import ClientSecretCredential, DefaultAzureCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.resourcehealth import ResourceHealthMgmtClient
from lightkube import Client, KubeConfig
from lightkube.config.kubeconfig import SingleConfig
from lightkube.core.exceptions import ConfigError as LightkubeConfigError

from nodewarden import bounded_yaml
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
    credential: TokenCredential | None = None  # what the clients were built with, to build fenced ones
    health: ResourceHealthMgmtClient | None = None  # Resource Health (observe/resource_health.py)


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
    if kubeconfig is not None:
        document = _read_kubeconfig(kubeconfig, flag)
        try:  # lightkube takes the document as read here (bounded) and reports a broken structure as it finds it
            config = KubeConfig.from_dict(document, fname=str(kubeconfig)).get()
        except LightkubeConfigError as exc:
            raise InputError(f"{flag} {kubeconfig}: {exc}") from exc
        except (KeyError, TypeError, ValueError, AssertionError, AttributeError) as exc:
            raise InputError(f"{flag} {kubeconfig}: not a kubeconfig: {type(exc).__name__}: {exc}") from exc
    else:
        try:
            config = KubeConfig.from_env().get()
        except LightkubeConfigError as exc:
            raise InputError(
                f"no Kubernetes configuration: {exc} (pass --kubeconfig, set KUBECONFIG, or run in a pod)"
            ) from exc
    assert config is not None  # get() without a context name raises rather than return None
    return config


def _read_kubeconfig(path: Path, flag: str) -> dict[str, Any]:
    """The kubeconfig's document, read with nodewarden's bounded YAML loader; one line when it is not YAML or has
    no clusters (lightkube lets a YAML error or an empty file escape as an exception of its own)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"{flag} {path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{flag} {path}: cannot read: {exc}") from exc
    try:
        config = bounded_yaml.load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputError(f"{flag} {path}{where}: not a kubeconfig: {problem}") from exc
    if not isinstance(config, dict) or not isinstance(config.get("clusters"), list) or not config["clusters"]:
        raise InputError(f"{flag} {path}: not a kubeconfig: expected a YAML mapping with 'clusters'")
    return config


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
    return _azure_clients(target, _credential(settings, target))


def _azure_clients(target: AzureTarget, credential: TokenCredential, **extra: Any) -> AzureClients:
    if target.base_url:
        extra["base_url"] = target.base_url
    if target.ca_bundle:
        extra["connection_verify"] = target.ca_bundle
    return AzureClients(
        target=target,
        compute=ComputeManagementClient(credential, target.subscription_id, **extra),
        aks=ContainerServiceClient(credential, target.subscription_id, **extra),
        monitor=MonitorManagementClient(credential, target.subscription_id, **extra),
        credential=credential,
        health=ResourceHealthMgmtClient(credential, target.subscription_id, **extra),
    )


# -- the leader's fence --------------------------------------------------------------------------------

Guard = Callable[[str, str], None]  # (method, url) of a request about to be sent; raises to refuse it
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def fenced(connection: Connection, guard: Guard) -> Connection:
    """New clients like `connection`'s whose every request first passes `guard` (runtime/leader.py `fence`).

    The controller acts through these, so no code path can change the cluster without the leader check
    (runtime/leader.py `ensure`): Kubernetes requests through an httpx request hook, ARM requests through an
    Azure SDK policy that runs before each try, retries included. `connection` itself stays unfenced for the
    reads, the Lease and whatever else shares it (a drill's injector, runbook commands)."""
    kube = None
    if connection.kube_config is not None:
        kube = Client(connection.kube_config, field_manager="nodewarden")
        # lightkube offers no hook of its own; its httpx client runs request hooks right before sending.
        kube._client._client.event_hooks["request"].append(lambda request: guard(request.method, str(request.url)))
    azure = connection.azure
    if azure is not None:
        if azure.credential is None:  # never hand out unfenced clients as fenced ones
            raise ValueError("cannot fence Azure clients built without their credential (use azure_clients)")
        azure = _azure_clients(azure.target, azure.credential, per_retry_policies=[_FencePolicy(guard)])
    return Connection(kube=kube, azure=azure, kube_config=connection.kube_config)


class _FencePolicy(SansIOHTTPPolicy[HttpRequest, HttpResponse]):
    def __init__(self, guard: Guard) -> None:
        self._guard = guard

    def on_request(self, request: PipelineRequest[HttpRequest]) -> None:
        self._guard(request.http_request.method, request.http_request.url)


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
    except (ValueError, RecursionError) as exc:  # bad UTF-8, an integer too long to read, nesting too deep
        raise InputError(f"--azure-config {path}: not readable JSON: {type(exc).__name__}") from exc
    if not isinstance(data, dict):
        raise InputError(f"--azure-config {path}: expected a JSON object like the twin's azure.json")
    return {str(k): str(v) for k, v in data.items() if v is not None}
