"""`nodewarden node cordon|uncordon|drain|restart|reimage|redeploy|replace NODE`: the runbook commands.

Each command checks before acting (the node exists; for Azure actions its providerID maps to a
scale-set instance and nothing else is in flight on it), prints progress as it goes, and records an
Event on the Node. `--dry-run` says what would happen and changes nothing.

Exit codes: 0 the action succeeded (or the dry run found nothing in the way); 1 the action was
refused (instance or pool busy), failed (the ARM error code is printed) or timed out (what is left
is printed); 2 usage, input or permission errors (unknown node, unmappable providerID, missing
permission), via `nodewarden.cli.main.run`.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from nodewarden.act import azure_actions, kube_actions
from nodewarden.act.events import EventRecorder
from nodewarden.act.results import NodeAction
from nodewarden.cli.exit_codes import ExitCode
from nodewarden.cli.live_flags import (
    ConnectionFlags,
    with_connection_flags,
)
from nodewarden.errors import ActionError, ActionRefusedError, ArmOperationError

app = typer.Typer(help="Runbook actions on one node: cordon, drain, restart, reimage, redeploy, replace, delete.")

DRAIN_TIMEOUT = 600.0
AZURE_TIMEOUT = azure_actions.DEFAULT_TIMEOUT

NodeArg = Annotated[str, typer.Argument(help="The node's name (kubectl get nodes).", show_default=False)]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Say what would happen; change nothing.")]
Timeout = Annotated[
    float | None, typer.Option("--timeout", min=1, help="Give up after this many seconds (exit 1).", show_default=False)
]


def _say(line: str) -> None:
    typer.echo(line)


def _fail(exc: ActionError) -> typer.Exit:
    code = f" [{exc.code}]" if isinstance(exc, ArmOperationError) and exc.code else ""
    print(f"nodewarden: {exc}{code}", file=sys.stderr)
    return typer.Exit(ExitCode.ACTION_FAILED)


# -- Kubernetes ----------------------------------------------------------------------------------------


def _cordon(node: str, target: ConnectionFlags, *, dry_run: bool, on: bool) -> None:
    kube = target.kube()
    current = kube_actions.is_cordoned(kube_actions.get_node(kube, node))
    verb = "cordon" if on else "uncordon"
    if current == on:
        _say(f"{node} is already {'cordoned' if on else 'schedulable'}; nothing to do")
        return
    if dry_run:
        _say(f"would {verb} {node} (dry run: nothing changed)")
        return
    try:
        change = kube_actions.cordon if on else kube_actions.uncordon
        change(kube, node, recorder=EventRecorder(kube), note="nodewarden node " + verb)
    except ActionError as exc:
        raise _fail(exc) from exc
    _say(f"{node} {verb}ed")


@app.command("cordon")
@with_connection_flags
def cordon(
    node: NodeArg,
    dry_run: DryRun = False,
    *,
    flags: ConnectionFlags,
) -> None:
    """Mark the node unschedulable."""
    _cordon(
        node,
        flags,
        dry_run=dry_run,
        on=True,
    )


@app.command("uncordon")
@with_connection_flags
def uncordon(
    node: NodeArg,
    dry_run: DryRun = False,
    *,
    flags: ConnectionFlags,
) -> None:
    """Mark the node schedulable again."""
    _cordon(node, flags, dry_run=dry_run, on=False)


@app.command("delete")
@with_connection_flags
def delete(
    node: NodeArg,
    dry_run: DryRun = False,
    force: Annotated[bool, typer.Option("--force", help="Delete even with pods still bound to the node.")] = False,
    *,
    flags: ConnectionFlags,
) -> None:
    """Delete the Node object (drain it first; a running kubelet would register it again)."""
    kube = flags.kube()
    if dry_run:
        kube_actions.get_node(kube, node)
        _say(f"would delete node {node} (dry run: nothing changed)")
        return
    try:
        kube_actions.delete_node(kube, node, recorder=EventRecorder(kube), force=force)
    except ActionError as exc:
        raise _fail(exc) from exc
    _say(f"node {node} deleted")


@app.command("drain")
@with_connection_flags
def drain(
    node: NodeArg,
    dry_run: DryRun = False,
    timeout: Timeout = None,
    force: Annotated[
        bool, typer.Option("--force", help="Delete pods instead of evicting them: ignores PodDisruptionBudgets.")
    ] = False,
    grace_period: Annotated[
        int | None, typer.Option("--grace-period", min=0, help="Override the pods' termination grace period (s).")
    ] = None,
    *,
    flags: ConnectionFlags,
) -> None:
    """Cordon the node, evict its pods (not DaemonSet or mirror pods) and wait until they are gone."""
    kube = flags.kube()
    if dry_run:
        preview = kube_actions.preview_drain(kube, node)
        if not preview.cordoned:
            _say(f"would cordon {node}")
        _say(f"would {'delete' if force else 'evict'} {len(preview.evict)} pod(s): "
             + (", ".join(map(str, preview.evict)) or "none"))  # fmt: skip
        if preview.skip:
            _say(f"would skip {len(preview.skip)} DaemonSet/mirror pod(s): {', '.join(map(str, preview.skip))}")
        for blocker in preview.blockers if not force else ():
            _say(f"would wait: {blocker.describe()}")
        _say("dry run: nothing changed")
        return
    limit = timeout or DRAIN_TIMEOUT
    result = kube_actions.drain(
        kube,
        node,
        timeout=limit,
        grace_period=grace_period,
        force=force,
        recorder=EventRecorder(kube),
        progress=_say,
    )
    if not result.ok:
        print(
            f"nodewarden: drain of {node} timed out after {limit:g}s; still on the node: "
            + ", ".join(map(str, result.remaining)),
            file=sys.stderr,
        )
        for blocker in result.blockers:
            print(f"nodewarden: {blocker.describe()}", file=sys.stderr)
        raise typer.Exit(ExitCode.ACTION_FAILED)


# -- Azure ---------------------------------------------------------------------------------------------


def _instance_action(
    node: str, action: NodeAction, target: ConnectionFlags, *, dry_run: bool, timeout: float | None
) -> None:
    conn = target.connect(need_azure=True)
    assert conn.kube is not None
    assert conn.azure is not None
    ref = azure_actions.instance_of(kube_actions.get_node(conn.kube, node))
    _say(f"{node} is instance {ref.instance_id} of scale set {ref.vmss} (pool {ref.pool or '?'})")
    recorder = None if dry_run else EventRecorder(conn.kube)
    try:
        if dry_run:
            busy = azure_actions.in_flight(conn.azure, ref)
            if action is NodeAction.REPLACE and busy is None:
                busy = azure_actions.pool_busy(conn.azure, ref.pool)
            if busy is not None:
                raise ActionRefusedError(f"would refuse to {action.lower()} {node}: busy ({busy})")
            what = (
                f"deleteMachines {node} in pool {ref.pool}, then restore the pool's count"
                if action is NodeAction.REPLACE
                else f"{action.lower()} instance {ref.instance_id} of {ref.vmss}"
            )
            _say(f"would {what}; dry run: nothing changed")
            return
        limit = timeout or AZURE_TIMEOUT
        if action is NodeAction.REPLACE:
            result = azure_actions.replace(conn.azure, ref, timeout=limit, recorder=recorder, progress=_say)
        else:
            result = azure_actions.run_instance_action(
                conn.azure, ref, action, timeout=limit, recorder=recorder, progress=_say
            )
    except ActionError as exc:
        raise _fail(exc) from exc
    _say(
        f"{action.lower()} of {node} succeeded: operation(s) {', '.join(result.operation_ids)}, "
        f"correlation id {result.correlation_id}"
    )


def _azure_command(action: NodeAction, help_text: str) -> None:
    @with_connection_flags
    def command(
        node: NodeArg,
        dry_run: DryRun = False,
        timeout: Timeout = None,
        *,
        flags: ConnectionFlags,
    ) -> None:
        _instance_action(node, action, flags, dry_run=dry_run, timeout=timeout)

    command.__doc__ = help_text
    app.command(action.lower())(command)


_azure_command(NodeAction.RESTART, "Restart the node's scale-set instance (drain it first).")
_azure_command(NodeAction.REIMAGE, "Reimage the node's scale-set instance: a fresh OS disk (drain it first).")
_azure_command(NodeAction.REDEPLOY, "Redeploy the node's instance to another host (drain it first).")
_azure_command(NodeAction.DEALLOCATE, "Deallocate the node's scale-set instance (drain it first).")
_azure_command(NodeAction.START, "Start the node's deallocated or stopped scale-set instance.")
_azure_command(NodeAction.REPLACE, "Replace the node through AKS: deleteMachines, then restore the pool's count.")
