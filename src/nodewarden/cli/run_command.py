"""`nodewarden run`: the long-running controller — detect, plan and (with --apply) remediate.

Dry-run unless `--apply` or the policy's `mode: enforce`: it then plans, journals and reports, and
changes nothing. Metrics and the probes (/livez, /readyz) listen on 127.0.0.1:9464 unless `--listen` says otherwise.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from nodewarden.cli.exit_codes import ExitCode
from nodewarden.cli.live_flags import (
    ConnectionFlags,
    with_connection_flags,
)
from nodewarden.cli.stopping import stop_on_signals
from nodewarden.errors import InputError
from nodewarden.heal.policy import Mode, Policy, default_policy, load_policy
from nodewarden.model.health import HealthState
from nodewarden.notify.config import load_notify_config
from nodewarden.notify.notifier import Notifier
from nodewarden.observe.prometheus import PrometheusClient
from nodewarden.runtime.alerts import AlertInbox
from nodewarden.runtime.assemble import STATES, Options, controller_for
from nodewarden.runtime.clock import SystemClock
from nodewarden.runtime.controller import CycleReport
from nodewarden.runtime.logs import logging_configured
from nodewarden.runtime.metrics import ControllerMetrics, MetricsServer, Readiness
from nodewarden.runtime.node_metrics import metrics_reader
from nodewarden.state.record import RETENTION

log = logging.getLogger("nodewarden.run")
ALERT_TOKEN_VARIABLE = "NODEWARDEN_ALERT_TOKEN"

PolicyOption = Annotated[
    Path | None, typer.Option("--policy", help="RemediationPolicy YAML (default: the built-in policy).")
]
IntervalOption = Annotated[
    float,
    typer.Option(
        "--interval",
        min=1,
        help="Seconds between cycles, on the cluster's clock (on a twin at --speed 10: a tenth in real time).",
    ),
]
PrometheusOption = Annotated[
    str | None, typer.Option("--prometheus", help="Prometheus base URL for node metrics (outliers, disk fill).")
]
LogFormatOption = Annotated[str, typer.Option("--log-format", help="text or json (JSON lines on stderr).")]


def policy_from(path: Path | None) -> Policy:
    return load_policy(path) if path is not None else default_policy()


@with_connection_flags
def run_command(
    apply: Annotated[
        bool, typer.Option("--apply", help="Act. Without it (and without mode: enforce) only plan.")
    ] = False,
    policy: PolicyOption = None,
    state_dir: Annotated[
        Path,
        typer.Option(
            "--state-dir",
            help="The journal's directory (created if needed); with --state cluster, the "
            "local part: signal log, Activity Log changes, node health, holds.",
        ),
    ] = Path("nodewarden-state"),
    state: Annotated[
        str,
        typer.Option(
            "--state",
            help="Where episodes, intents and incidents live: cluster (NodeRemediation and "
            "Incident objects; deploy/crds/), dir (--state-dir), or auto: the cluster when running in a pod "
            "and the CRDs are installed, else dir.",
        ),
    ] = "auto",
    retention_days: Annotated[
        int, typer.Option("--retention-days", min=1, help="Days closed episodes and resolved incidents are kept.")
    ] = RETENTION.days,
    listen: Annotated[str, typer.Option("--listen", help="host:port for /metrics, /livez and /readyz.")] = (
        "127.0.0.1:9464"
    ),
    log_format: LogFormatOption = "text",
    interval: IntervalOption = 10.0,
    once: Annotated[bool, typer.Option("--once", help="Run one cycle and exit.")] = False,
    identity: Annotated[str, typer.Option("--identity", help="Leader-election identity (default host-pid).")] = "",
    leader_election: Annotated[
        bool, typer.Option("--leader-election/--no-leader-election", help="Act only while holding the Lease.")
    ] = True,
    lease_namespace: Annotated[str, typer.Option("--lease-namespace", help="Namespace of the leader Lease.")] = (
        "kube-system"
    ),
    prometheus: PrometheusOption = None,
    notify_config: Annotated[
        Path | None, typer.Option("--notify-config", help="NotificationConfig YAML: Slack, Teams, PagerDuty, webhook.")
    ] = None,
    alert_token_file: Annotated[
        Path | None,
        typer.Option(
            "--alert-token-file",
            help="File holding the bearer token for /alerts/alertmanager and /alerts/azure-monitor "
            f"(or ${ALERT_TOKEN_VARIABLE}); without one, alert intake is off.",
        ),
    ] = None,
    *,
    flags: ConnectionFlags,
) -> None:
    """Watch the cluster and remediate failing nodes within the policy's guards (dry-run by default)."""
    if log_format not in ("text", "json"):
        raise InputError(f"--log-format: expected text or json, found {log_format!r}")
    chosen = policy_from(policy)
    applying = apply or chosen.spec.mode is Mode.ENFORCE
    connection = flags.connect()
    if applying and connection.azure is None:
        raise InputError("--apply needs Azure access to repair instances: add --twin, --azure-config or --subscription/"
                         "--resource-group/--cluster")  # fmt: skip
    notifier = Notifier(load_notify_config(notify_config), clock=SystemClock()) if notify_config else None
    token = _alert_token(alert_token_file)
    inbox = AlertInbox() if token else None
    metrics = ControllerMetrics()
    if state not in STATES:
        raise InputError(f"--state: expected one of {', '.join(STATES)}, found {state!r}")
    options = Options(apply=applying, state_dir=state_dir, leader_election=leader_election,
                      lease_namespace=lease_namespace, identity=identity, state=state,
                      retention=timedelta(days=retention_days))  # fmt: skip
    last: list[datetime] = []
    readiness = Readiness()
    with (
        logging_configured("json" if log_format == "json" else "text"),
        stop_on_signals() as stop,
        controller_for(connection, chosen, options, metrics=metrics, notifier=notifier, inbox=inbox) as controller,
    ):
        if prometheus:
            controller.node_metrics = metrics_reader(PrometheusClient(prometheus))
        server = MetricsServer(
            metrics,
            listen=listen,
            health=lambda: _alive(last),
            ready=readiness,
            alerts=inbox,
            alert_token=token,
            acting=lambda: controller.elector is None or controller.elector.is_leader,
        )
        server.start()
        log.info("started", extra={"mode": "enforce" if applying else "dry-run", "listen": listen,
                                   "state_dir": str(state_dir)})  # fmt: skip
        try:
            while True:
                report = controller.cycle()
                last[:] = [report.now]
                readiness.cycle_finished(synced=report.observation.synced, notes=report.observation.notes)
                _summarise(report)
                if once or stop.wait(controller.clock.real_seconds(interval)):
                    break
        finally:
            server.stop()
    raise typer.Exit(ExitCode.OK)


def _alert_token(path: Path | None) -> str | None:
    """The alert intake's bearer token, from a file (never a flag: flags show in `ps`) or the environment."""
    if path is None:
        return os.environ.get(ALERT_TOKEN_VARIABLE) or None
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise InputError(f"--alert-token-file {path}: {exc.strerror or exc}") from exc
    if not token:
        raise InputError(f"--alert-token-file {path}: the file is empty")
    return token


def _alive(last: list[datetime]) -> tuple[bool, str]:
    """Liveness: the loop runs (this answers only while it does); the API's failures are readiness's concern."""
    return True, f"last cycle at {last[0].isoformat()}" if last else "first cycle running"


def _summarise(report: CycleReport) -> None:
    for entry in report.executed:
        log.info(f"{entry.step.value.lower()} {entry.subject}: {entry.outcome.value}",
                 extra={"key": entry.key, "detail": entry.detail})  # fmt: skip
    log.info("cycle", extra=_cycle_fields(report))


def _cycle_fields(report: CycleReport) -> dict[str, object]:
    """The cycle line's counts. `unhealthy`: nodes detection does not call Healthy (Suspect, Unhealthy, Remediating,
    Failed; a Recovered node is up and only waiting to be called Healthy); `held`: nodes a hold kept from a step."""
    health = report.detection.health.values()
    unhealthy = [h for h in health if h.state not in (HealthState.HEALTHY, HealthState.RECOVERED)]
    held = {hold.node for hold in report.holds if hold.node is not None}
    return {"nodes": len(report.detection.health), "unhealthy": len(unhealthy), "held": len(held),
            "actions": len(report.plan.actions), "holds": len(report.holds), "leader": report.leader,
            "acting": report.acting}  # fmt: skip
