"""`nodewarden plan`: what `run` would do now, from a live cluster or from exported files. Changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from nodewarden.cli import format_flag
from nodewarden.cli.exit_codes import ExitCode
from nodewarden.cli.live_flags import (
    ConnectionFlags,
    parse_now,
    with_connection_flags,
)
from nodewarden.cli.run_command import PolicyOption, policy_from
from nodewarden.detect.engine import detect
from nodewarden.errors import InputError
from nodewarden.heal.detection import detect_settings, journal_states
from nodewarden.heal.planner import plan
from nodewarden.model.remediation import History
from nodewarden.observe.load import load_paths
from nodewarden.render.remediation import health_table, plan_json, plan_tables, render, wide_signals_table
from nodewarden.runtime.clock import ServerClock
from nodewarden.runtime.observer import observe_once
from nodewarden.state import Journal
from nodewarden.state.cluster import resources as cluster_resources
from nodewarden.state.cluster.remediations import ClusterSteps
from nodewarden.state.journal import HISTORY_LOOKBACK


@format_flag.with_alias
@with_connection_flags
def plan_command(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Exported files or folders (as for audit); omit for a live cluster.")
    ] = None,
    policy: PolicyOption = None,
    state_dir: Annotated[
        Path | None,
        typer.Option("--state-dir", help="Read the journal here (read-only): open remediations and node health."),
    ] = None,
    now: Annotated[str | None, typer.Option("--now", help="Plan as of this ISO-8601 time (files only).")] = None,
    output_format: Annotated[str, format_flag.option("table or json.")] = "table",
    *,
    flags: ConnectionFlags,
) -> None:
    """Print the actions and holds `nodewarden run` would decide now (nothing is changed)."""
    if output_format not in ("table", "json"):
        raise InputError(f"--format: expected table or json, found {output_format!r}")
    chosen = policy_from(policy)
    kube = None
    if paths:
        moment = parse_now(now)
        snapshot, observed_at, synced = load_paths(paths).snapshot, moment, True
    else:
        if now is not None:
            raise InputError("--now applies to exported files; a live cluster is planned at the API server's time")
        connection = flags.connect()
        kube = connection.kube
        assert connection.kube_config is not None
        clock = ServerClock(connection.kube_config)
        moment = clock.sync()
        clock.close()
        observation = observe_once(connection, moment)
        snapshot, observed_at, synced = observation.snapshot, observation.observed_at, observation.synced
    # What the controller's next cycle starts from: the journal's episodes and each node's health as its last
    # cycle left it (without that memory every node's state would start now, and a Recovered node be Healthy).
    # A live cluster where `nodewarden run --state cluster` keeps its record: its episodes, read (never written).
    history, previous = History(), {}
    if state_dir is not None:
        with Journal.open_readonly(state_dir) as journal:
            history, previous = journal.history(moment), journal.node_health(now=moment)
    elif kube is not None and cluster_resources.serves(kube):
        record = ClusterSteps(kube)
        record.resync()
        history = record.history(moment, HISTORY_LOOKBACK)
    remediating, failed = journal_states(snapshot, history)
    detection = detect(snapshot, previous, moment, detect_settings(chosen), remediating=remediating, failed=failed)
    decided = plan(snapshot, detection, history, chosen, moment, synced=synced, observed_at=observed_at)
    if output_format == "json":
        typer.echo(json.dumps(plan_json(decided, detection), indent=2))
    else:
        typer.echo(render(health_table(detection, all_nodes=False), wide_signals_table(detection),
                          *plan_tables(decided)), nl=False)  # fmt: skip
    raise typer.Exit(ExitCode.OK)
