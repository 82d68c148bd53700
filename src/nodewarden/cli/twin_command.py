"""`nodewarden twin serve|inject|clear|advance|faults`: run the digital twin, poke it, list what can go wrong."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from nodewarden.drill import inject as drill_inject
from nodewarden.errors import InputError
from nodewarden.twin import faults as twin_faults
from nodewarden.twin.scenario import ScenarioError
from nodewarden.twin.service import TwinService

app = typer.Typer(help="The digital twin: a simulated AKS cluster speaking the Kubernetes and ARM protocols.")

DEFAULT_STATE_DIR = Path(".nodewarden-twin")


@app.command("serve")
def serve(
    scenario: Annotated[
        str, typer.Option("--scenario", help="small, prod-3az, large, or a scenario YAML file.")
    ] = "small",
    speed: Annotated[float, typer.Option("--speed", min=0.1, help="Twin seconds per real second.")] = 1.0,
    manual_clock: Annotated[
        bool, typer.Option("--manual-clock", help="Time moves only when advanced (nodewarden twin advance).")
    ] = False,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0 picks a free port.")] = 0,
    state_dir: Annotated[Path, typer.Option("--state-dir", help="Where kubeconfig, azure.json and ca.pem go.")] = (
        DEFAULT_STATE_DIR
    ),
    auto_repair: Annotated[
        bool | None,
        typer.Option("--auto-repair/--no-auto-repair", help="Emulate AKS node auto-repair (default: the scenario's)."),
    ] = None,
) -> None:
    """Start the twin on 127.0.0.1 and serve until Ctrl-C."""
    try:
        service = TwinService(
            scenario=scenario,
            speed=None if manual_clock else speed,
            port=port,
            state_dir=state_dir,
            auto_repair=auto_repair,
        )
    except ScenarioError as exc:
        raise InputError(str(exc)) from exc
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with service:
        kubeconfig = service.state_dir / "kubeconfig"
        typer.echo(f"twin {service.scenario.name} serving at {service.base_url} (clock: {service.clock_mode})")
        typer.echo(f"  export KUBECONFIG={kubeconfig.resolve()}")
        typer.echo(f"  Azure SDK settings: {(service.state_dir / 'azure.json').resolve()}")
        typer.echo(f"  CA bundle: {service.ca_path.resolve()}  (REQUESTS_CA_BUNDLE for the Azure SDK)")
        typer.echo(
            "  faults: nodewarden twin inject --state-dir ... FAULT --target ...; "
            "nodewarden twin clear FAULT --target ... (or --all); stop with Ctrl-C"
        )
        try:
            while not stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    typer.echo("twin stopped")


@app.command("inject")
def inject(
    fault: Annotated[str, typer.Argument(help="A fault name (see `nodewarden twin faults`).")],
    target: Annotated[str | None, typer.Option("--target", help="A node, pool or zone, as the fault needs.")] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", help="key=value passed to the fault; repeatable.")
    ] = None,
    state_dir: Annotated[Path, typer.Option("--state-dir")] = DEFAULT_STATE_DIR,
) -> None:
    """Inject a fault into a running twin."""
    options = dict(_pair(item) for item in option or [])
    drill_inject.admin_call(state_dir, "POST", "/twin/faults", {"fault": fault, "target": target, "options": options})
    typer.echo(f"injected {fault}" + (f" into {target}" if target else ""))


@app.command("clear")
def clear(
    fault: Annotated[
        str | None, typer.Argument(help="The fault to take out (see `nodewarden twin faults`).", show_default=False)
    ] = None,
    target: Annotated[str | None, typer.Option("--target", help="The node, pool or zone it was injected into.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Take out every fault still in.")] = False,
    state_dir: Annotated[Path, typer.Option("--state-dir")] = DEFAULT_STATE_DIR,
) -> None:
    """Take a fault out of a running twin as the world would heal (a hung kubelet resumes, a crashed VM reboots)."""
    if (fault is None) == (not every):
        raise InputError("twin clear: name a FAULT (with --target) or pass --all, not both")
    payload: dict[str, object] = {"all": True} if every else {"fault": fault, "target": target}
    answer = drill_inject.admin_call(state_dir, "POST", "/twin/faults/clear", payload)
    cleared = answer.get("cleared")
    lines = [str(line) for line in cleared] if isinstance(cleared, list) else []
    for line in lines or ["nothing to clear: no fault is in"]:
        typer.echo(line)


@app.command("advance")
def advance(
    seconds: Annotated[float, typer.Argument(min=0, help="Twin seconds to move a --manual-clock twin forward.")],
    state_dir: Annotated[Path, typer.Option("--state-dir")] = DEFAULT_STATE_DIR,
) -> None:
    """Move a manual-clock twin's time forward."""
    answer = drill_inject.admin_call(state_dir, "POST", "/twin/clock", {"advance": seconds})
    typer.echo(f"twin time is now {answer.get('now')}")


@app.command("faults")
def list_faults() -> None:
    """List the faults the twin can inject."""
    for fault in twin_faults.CATALOGUE:
        typer.echo(f"{fault.name:<22} target: {fault.target:<5} {fault.description}")


def _pair(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise InputError(f"--option: expected key=value, found {item!r}")
    return key, value
