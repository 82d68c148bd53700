"""`nodewarden watch`: detection only — a live health table, or signals as JSON lines (`-o json`)."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from typing import Annotated

import typer
from rich.console import Group
from rich.live import Live

from nodewarden.cli import format_flag, terminal
from nodewarden.cli.exit_codes import ExitCode
from nodewarden.cli.live_flags import (
    ConnectionFlags,
    with_connection_flags,
)
from nodewarden.cli.run_command import IntervalOption, PolicyOption, PrometheusOption, policy_from
from nodewarden.cli.stopping import stop_on_signals
from nodewarden.detect.engine import detect
from nodewarden.errors import InputError
from nodewarden.heal.detection import detect_settings
from nodewarden.model import operator_mark
from nodewarden.model.health import NodeHealth
from nodewarden.observe.cache import Caches
from nodewarden.observe.prometheus import PrometheusClient
from nodewarden.render.remediation import (
    health_table,
    operator_mark_json,
    operator_marks_table,
    render,
    signal_json,
    wide_signals_table,
)
from nodewarden.runtime.clock import ServerClock
from nodewarden.runtime.node_metrics import metrics_reader
from nodewarden.runtime.observer import REMEDIATION_KINDS, LiveObserver


@format_flag.with_alias
@with_connection_flags
def watch_command(
    output_format: Annotated[str, format_flag.option("table or json (JSON lines).")] = "table",
    interval: IntervalOption = 10.0,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    policy: PolicyOption = None,
    prometheus: PrometheusOption = None,
    *,
    flags: ConnectionFlags,
) -> None:
    """Detect failing nodes and print what is seen (detection only; nothing is changed)."""
    if output_format not in ("table", "json"):
        raise InputError(f"--format: expected table or json, found {output_format!r}")
    settings = detect_settings(policy_from(policy))
    connection = flags.connect()
    assert connection.kube is not None
    assert connection.kube_config is not None
    node_metrics = metrics_reader(PrometheusClient(prometheus)) if prometheus else None
    clock = ServerClock(connection.kube_config)
    health: dict[str, NodeHealth] = {}
    seen: set[tuple[str, str, str]] = set()
    live = output_format == "table" and sys.stdout.isatty() and not once  # redraw in place on a terminal
    with (
        stop_on_signals() as stop,
        Caches(connection.kube, kinds=REMEDIATION_KINDS) as caches,
        Live(console=terminal.console(), auto_refresh=False) if live else nullcontext() as screen,
    ):
        if not caches.wait_synced(60.0):
            raise InputError("the Kubernetes caches did not sync within 60s")
        observer = LiveObserver(connection, caches)
        while True:
            now = clock.sync()
            observation = observer.observe(now)
            metrics = node_metrics(now) if node_metrics is not None else None
            detection = detect(observation.snapshot, health, now, settings, metrics=metrics)
            health = detection.health
            marks = operator_mark.marks_on(observation.snapshot.nodes)
            if output_format == "json":
                for found in detection.signals:
                    key = (found.kind.value, found.subject, found.since.isoformat())
                    if key not in seen:
                        seen.add(key)
                        typer.echo(json.dumps(signal_json(found)))
                for node, mark in marks:
                    key = ("OperatorAction", node, mark.correlation_id)
                    if key not in seen and mark.is_live(now):
                        seen.add(key)
                        typer.echo(json.dumps(operator_mark_json(node, mark)))
            else:
                tables = (health_table(detection), wide_signals_table(detection), operator_marks_table(marks, now))
                if isinstance(screen, Live):
                    screen.update(Group(*[t for t in tables if t]))
                    screen.refresh()
                else:
                    typer.echo(render(*tables), nl=False)
            if once or stop.wait(clock.real_seconds(interval)):
                break
    clock.close()
    raise typer.Exit(ExitCode.OK)
