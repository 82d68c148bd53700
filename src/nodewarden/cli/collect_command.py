"""`nodewarden collect --out DIR`: export a live cluster as the files az and kubectl would write.

Also holds the connection flags that `audit --live` shares, so both commands take the same options.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from nodewarden import connection
from nodewarden.cli.exit_codes import ExitCode
from nodewarden.observe import collect as collecting

_LIVE = "Live cluster"

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

    def connect(self) -> connection.Connection:
        return connection.connect(
            twin=self.twin,
            kubeconfig=self.kubeconfig,
            azure_config=self.azure_config,
            subscription=self.subscription,
            resource_group=self.resource_group,
            cluster=self.cluster,
            need_azure=self.names_azure,
        )


def collect_command(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the export files into (created if needed).")],
    twin: TwinOption = None,
    kubeconfig: KubeconfigOption = None,
    azure_config: AzureConfigOption = None,
    subscription: SubscriptionOption = None,
    resource_group: ResourceGroupOption = None,
    cluster: ClusterOption = None,
) -> None:
    """Export a live cluster as the az/kubectl JSON files `nodewarden audit DIR` reads."""
    flags = ConnectionFlags(twin, kubeconfig, azure_config, subscription, resource_group, cluster)
    summary = collecting.collect(flags.connect(), out)
    for note in summary.notes:
        print(f"nodewarden: {note}", file=sys.stderr)
    width = max((len(name) for name in summary.counts), default=0)
    for name, count in sorted(summary.counts.items()):
        typer.echo(f"{name:<{width}}  {count:>6}")
    typer.echo(f"wrote {len(summary.counts)} files to {out}")
    raise typer.Exit(ExitCode.OK)
