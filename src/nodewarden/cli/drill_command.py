"""`nodewarden drill run|check|faults`: rehearse a failure and verify detection and recovery against targets.

Three ways to run a drill:
- `--on-twin SCENARIO`: a twin hosted in this process, with a controller that acts, on the twin's clock;
- `--twin DIR` or a live cluster, beside a deployed `nodewarden run` (this process only detects);
- the same with `--with-controller`: this process also runs a controller that acts (it still takes part
  in leader election, so it does nothing while a deployed controller leads).
Exit 0 when the drill passed, 1 when it failed, 2 for a bad file, a refused fault or a usage error.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from nodewarden.cli import format_flag, terminal
from nodewarden.cli.exit_codes import ExitCode
from nodewarden.cli.live_flags import (
    ConnectionFlags,
    with_connection_flags,
)
from nodewarden.cli.run_command import PolicyOption, policy_from
from nodewarden.cli.stopping import stop_on_signals
from nodewarden.demo.hosted import hosted
from nodewarden.demo.progress import ProgressView
from nodewarden.drill import faults
from nodewarden.drill.inject import Injector, injector_for
from nodewarden.drill.probes import ControllerProbe, RealTime
from nodewarden.drill.runner import DrillRun, Probe, Ticker, run_drill
from nodewarden.drill.spec import DrillError, load_drill
from nodewarden.errors import InputError
from nodewarden.render.drill import verdict_json, verdict_table
from nodewarden.runtime.assemble import Options, controller_for
from nodewarden.state import IncidentRecord, IncidentStore
from nodewarden.state.cluster.incidents import ClusterIncidents

app = typer.Typer(help="Drills: inject a failure, verify detection and recovery against targets, undo it.")

StateDirOption = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="Journal and incident store, where the verdict is saved (default: nodewarden-state beside a live "
        "cluster, as `nodewarden run` uses; nodewarden-drills with --on-twin, so twin drills stay apart).",
    ),
]


StateOption = Annotated[
    str,
    typer.Option(
        "--state",
        help="Live: where the verdict is saved: dir (--state-dir) or cluster (the Incident objects a controller "
        "running with --state cluster keeps; the verdict joins its incident).",
    ),
]


@dataclass
class _Setup:
    probe: Probe
    ticker: Ticker
    injector: Injector
    store: IncidentRecord
    step: float


@app.command("run")
@format_flag.with_alias
@with_connection_flags
def run_command(
    file: Annotated[Path, typer.Argument(help="A Drill YAML file (see examples/drills/).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file, the scope and the steady state; inject nothing.")
    ] = False,
    on_twin: Annotated[
        str | None,
        typer.Option("--on-twin", help="Run on a twin hosted in this process: small, prod-3az, large or a file."),
    ] = None,
    speed: Annotated[
        float, typer.Option("--speed", min=0, help="With --on-twin: twin seconds per real second (0: flat out).")
    ] = 0.0,
    step: Annotated[float, typer.Option("--step", min=1, help="With --on-twin: twin seconds between cycles.")] = 5.0,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Live: seconds between cycles (cluster clock).")
    ] = 5.0,
    with_controller: Annotated[
        bool, typer.Option("--with-controller", help="Live: also run a controller that acts (enforce).")
    ] = False,
    policy: PolicyOption = None,
    state_dir: StateDirOption = None,
    state: StateOption = "dir",
    output_format: Annotated[str, format_flag.option("table or json.")] = "table",
    *,
    flags: ConnectionFlags,
) -> None:
    """Run a drill: steady state, fault, recovery measured against the expectations, rollback, verdict."""
    if output_format not in ("table", "json"):
        raise InputError(f"--format: expected table or json, found {output_format!r}")
    drill = load_drill(file)
    faults.checked(drill, source=str(file))  # the same validation as `drill check`, before anything starts
    state_dir = state_dir or Path("nodewarden-drills" if on_twin else "nodewarden-state")
    if on_twin and flags != ConnectionFlags():
        raise InputError("--on-twin hosts its own twin: drop --twin, --kubeconfig and the Azure flags")
    if state not in ("dir", "cluster") or (on_twin and state == "cluster"):
        raise InputError(f"--state: expected dir or cluster (cluster only beside a live cluster), found {state!r}")
    console = terminal.console(stderr=True)
    with (
        stop_on_signals() as stop,
        _setup(on_twin, flags, policy, state_dir, speed=speed, step=step, interval=interval,
               with_controller=with_controller, stop=stop, state=state) as setup,
        ProgressView(console) as view,
    ):  # fmt: skip
        try:
            outcome = run_drill(
                drill, probe=setup.probe, ticker=setup.ticker, injector=setup.injector, store=setup.store,
                step=setup.step, dry_run=dry_run, on_progress=view.update,
            )  # fmt: skip
        except DrillError as exc:  # the target as the cluster has it (no such pool, node or workload)
            raise DrillError(f"{file}: {exc}") from exc
    _print(outcome, output_format, "--kubeconfig …" if state == "cluster" else f"--state-dir {state_dir}",
           dry_run=dry_run)  # fmt: skip
    raise typer.Exit(ExitCode.OK if outcome.verdict.passed else ExitCode.DRILL_FAILED)


@contextmanager
def _setup(
    on_twin: str | None, flags: ConnectionFlags, policy: Path | None, state_dir: Path, *, speed: float, step: float,
    interval: float, with_controller: bool, stop: threading.Event, state: str = "dir",
) -> Iterator[_Setup]:  # fmt: skip
    chosen = policy_from(policy)
    if on_twin:
        with hosted(on_twin, state_dir, chosen, speed=speed or None) as env:
            yield _Setup(env.probe, env.ticker, env.injector, env.store, step)
        return
    connection = flags.connect()
    # the drill's own controller keeps its record in the dir: beside a deployed one it only detects
    options = Options(apply=with_controller, planning=with_controller, leader_election=with_controller,
                      state_dir=state_dir, identity="", state="dir")  # fmt: skip
    with ExitStack() as stack:
        controller = stack.enter_context(controller_for(connection, chosen, options))
        store: IncidentRecord
        if state == "cluster":
            assert connection.kube is not None
            store = ClusterIncidents(connection.kube)
        else:
            store = stack.enter_context(IncidentStore.open(state_dir))
        injector = injector_for(connection, twin_dir=flags.twin)
        yield _Setup(ControllerProbe(controller), RealTime(stop, controller.clock), injector, store, interval)


def _print(outcome: DrillRun, output_format: str, where: str, *, dry_run: bool) -> None:
    if output_format == "json":
        sys.stdout.write(verdict_json(outcome.verdict, incident=outcome.incident_id) + "\n")
        return
    out = terminal.console()
    if dry_run:
        out.print(f"dry run: would inject {outcome.planned}")
    out.print(verdict_table(outcome.verdict))
    if outcome.incident_id:
        out.print(f"report: nodewarden incidents report {outcome.incident_id} {where} -o markdown|html")


@app.command("check")
def check_command(file: Annotated[Path, typer.Argument(help="A Drill YAML file.")]) -> None:
    """Validate a drill file offline: schema and ranges, fault name and options, target and scope (as `run` does)."""
    drill = load_drill(file)
    kind = faults.checked(drill, source=str(file))
    typer.echo(f"{file}: drill {drill.metadata.name} is valid ({kind.name}, {kind.where.value} fault)")


@app.command("faults")
def faults_command() -> None:
    """List the faults a drill can inject: twin faults (need a twin) and API faults (any cluster)."""
    for kind in faults.CATALOGUE:
        typer.echo(f"{kind.name:<22} {kind.where.value:<5} target: {kind.target:<5} {kind.description}")
