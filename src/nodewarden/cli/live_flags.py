"""The live-cluster flags every live command takes (`audit --live`, `collect`, `node …`), in one place."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from lightkube import Client

from nodewarden import connection
from nodewarden.errors import InputError

_LIVE = "Live cluster"
R = TypeVar("R")

TwinOption = Annotated[
    Path | None,
    typer.Option("--twin", help="The twin's state folder (its kubeconfig and azure.json).", rich_help_panel=_LIVE),
]
KubeconfigOption = Annotated[
    Path | None,
    typer.Option("--kubeconfig", help="Kubeconfig file (default: KUBECONFIG, ~/.kube/config).", rich_help_panel=_LIVE),
]
AzureConfigOption = Annotated[
    Path | None,
    typer.Option("--azure-config", help="Azure settings file in the twin's azure.json shape.", rich_help_panel=_LIVE),
]
SubscriptionOption = Annotated[
    str | None, typer.Option("--subscription", help="Azure subscription ID.", rich_help_panel=_LIVE)
]
ResourceGroupOption = Annotated[
    str | None, typer.Option("--resource-group", "-g", help="The cluster's resource group.", rich_help_panel=_LIVE)
]
ClusterOption = Annotated[str | None, typer.Option("--cluster", help="The AKS cluster's name.", rich_help_panel=_LIVE)]


@dataclass(frozen=True, slots=True)
class ConnectionFlags:
    """The live-cluster flags as given; `connect()` builds the clients (nothing is called yet)."""

    twin: Path | None = None
    kubeconfig: Path | None = None
    azure_config: Path | None = None
    subscription: str | None = None
    resource_group: str | None = None
    cluster: str | None = None

    @property
    def names_azure(self) -> bool:
        """Azure is read when any flag says which cluster; otherwise only Kubernetes is."""
        return any((self.twin, self.azure_config, self.subscription, self.resource_group, self.cluster))

    def kube(self) -> Client:
        """Only the Kubernetes client, for commands that never touch Azure."""
        kube = self.connect(need_azure=False).kube
        assert kube is not None  # connect() builds it whenever need_kube (the default)
        return kube

    def connect(self, *, need_azure: bool | None = None) -> connection.Connection:
        """Clients for the flags; Azure too when `need_azure`, or by default when a flag names a cluster."""
        return connection.connect(
            twin=self.twin,
            kubeconfig=self.kubeconfig,
            azure_config=self.azure_config,
            subscription=self.subscription,
            resource_group=self.resource_group,
            cluster=self.cluster,
            need_azure=self.names_azure if need_azure is None else need_azure,
        )


_FLAG_OPTIONS: dict[str, object] = {
    "twin": TwinOption,
    "kubeconfig": KubeconfigOption,
    "azure_config": AzureConfigOption,
    "subscription": SubscriptionOption,
    "resource_group": ResourceGroupOption,
    "cluster": ClusterOption,
}


def with_connection_flags(command: Callable[..., R]) -> Callable[..., R]:
    """Give a typer command the six live-cluster flags; it receives them as one `flags: ConnectionFlags`.

    Typer reads a command's parameters from its signature, so the wrapper shows the command's own
    parameters (less `flags`) followed by the six options, and packs their values before calling it.
    """
    signature = inspect.signature(command, eval_str=True)
    own = [parameter for parameter in signature.parameters.values() if parameter.name != "flags"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=option)
        for name, option in _FLAG_OPTIONS.items()
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        flags = ConnectionFlags(**{name: kwargs.pop(name) for name in _FLAG_OPTIONS})
        return command(*args, flags=flags, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*own, *added])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *added]} | {"return": signature.return_annotation}
    return wrapper


def parse_now(value: str | None) -> datetime:
    """`--now`: an ISO-8601 time (UTC when no offset is given), or the current time when not given."""
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"--now: expected an ISO-8601 time such as 2026-11-26T12:00:00Z, found {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
