"""`nodewarden notify check FILE` and `nodewarden notify schema`: the notification config."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nodewarden.notify.config import load_notify_config
from nodewarden.render import reference_pages

app = typer.Typer(help="The notification config: check yours, print its reference.", no_args_is_help=True)


@app.command("check")
def notify_check_command(
    path: Annotated[Path, typer.Argument(help="The NotificationConfig YAML file to validate.")],
) -> None:
    """Validate a notification config and read its secrets (env and files); exit 2 naming the field if wrong."""
    config = load_notify_config(path)
    sinks = ", ".join(f"{sink.name} ({sink.type.value})" for sink in config.spec.sinks) or "none"
    typer.echo(f"{path}: OK ({config.kind} {config.metadata.name}, sinks: {sinks})")


@app.command("schema")
def notify_schema_command() -> None:
    """Print the notification config's reference as Markdown (docs/notifications.md)."""
    typer.echo(reference_pages.render_notifications_reference(), nl=False)
