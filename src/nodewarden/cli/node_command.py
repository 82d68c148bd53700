"""`nodewarden node cordon|uncordon|drain|restart|reimage|redeploy|replace NODE`: the runbook commands.

Each command checks before acting (the node exists; for Azure actions its providerID maps to a
scale-set instance and nothing else is in flight on it), prints progress as it goes, and records an
Event on the Node. `--dry-run` says what would happen and changes nothing.

`drain` and the instance actions first mark the node (annotation `nodewarden.io/operator-action`:
step, actor, reason, time, expiry and a correlation id, which every ARM call of the command carries).
A running controller holds the node (OperatorAction) while the mark lives and records the action as
an operator's, not as a failure or someone else's change. The mark expires after the step's timeout
plus `COME_BACK` (10 minutes for the node to rejoin); once the step ends, the expiry is brought
forward to the end plus `COME_BACK`. Times are the API server's, as the controller's are.

`restart`, `reimage`, `redeploy`, `deallocate` and `replace` stop (or delete) the VM under the node, and
with it every pod on it, without asking any PodDisruptionBudget. As `kubectl drain` refuses without
flags, they refuse while pods a drain would evict (not DaemonSet or mirror pods) still run there, naming
how many, their workloads and the budgets that losing them all at once would violate; `--force` goes
ahead and says what it disrupts, `--dry-run` says what would be disrupted. Only `start` has no check.

Exit codes: 0 the action succeeded (or the dry run found nothing in the way); 1 the action was
refused (instance or pool busy), failed (the ARM error code is printed) or timed out (what is left
is printed); 2 usage, input or permission errors (unknown node, unmappable providerID, missing
permission, pods still on the node without --force), via `nodewarden.cli.main.run`.
"""

from __future__ import annotations

import getpass
import socket
import sys
import uuid
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated

import typer
from lightkube import Client

from nodewarden.act import azure_actions, kube_actions
from nodewarden.act.events import EventRecorder
from nodewarden.act.results import NodeAction
from nodewarden.cli.exit_codes import ExitCode
from nodewarden.cli.live_flags import (
    ConnectionFlags,
    with_connection_flags,
)
from nodewarden.connection import Connection
from nodewarden.errors import ActionError, ActionRefusedError, ArmOperationError, InputError, NotFoundError
from nodewarden.model import operator_mark
from nodewarden.model.operator_mark import OperatorMark
from nodewarden.render import terminal_text
from nodewarden.runtime.clock import ServerClock, SystemClock

app = typer.Typer(help="Runbook actions on one node: cordon, drain, restart, reimage, redeploy, replace, delete.")

DRAIN_TIMEOUT = 600.0
AZURE_TIMEOUT = azure_actions.DEFAULT_TIMEOUT

NodeArg = Annotated[str, typer.Argument(help="The node's name (kubectl get nodes).", show_default=False)]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Say what would happen; change nothing.")]
Timeout = Annotated[
    float | None, typer.Option("--timeout", min=1, help="Give up after this many seconds (exit 1).", show_default=False)
]
Reason = Annotated[
    str, typer.Option("--reason", help="Why you act: kept in the node's mark, the journal and incident reports.")
]
Actor = Annotated[
    str,
    typer.Option(
        "--actor",
        help="Who acts, as recorded in the node's mark (default: your local user@host).",
        show_default=False,
    ),
]


def _say(line: str) -> None:
    typer.echo(terminal_text.printable(line))


def default_actor() -> str:
    """The local user@host, naming the person behind a command that does not say who acts."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _mark(conn: Connection, node: str, step: NodeAction, *, actor: str, reason: str, timeout: float) -> OperatorMark:
    """Mark the node as being acted on by a person (see the module docstring) before the step starts."""
    assert conn.kube is not None
    at = _server_now(conn)
    mark = OperatorMark(
        step=step.value,
        actor=actor or default_actor(),
        reason=reason,
        at=at,
        expires=operator_mark.mark_expiry(at, step_timeout=timedelta(seconds=timeout)),
        correlation_id=str(uuid.uuid4()),
    )
    _write_mark(conn.kube, node, mark)
    _say(f"marked {node} for the controller: {mark.describe()}")
    return mark


def _settle_mark(conn: Connection, node: str, mark: OperatorMark, *, refused: bool = False) -> None:
    """The step ended: the node now has COME_BACK to rejoin, not what was left of the step's timeout; a
    refused step did nothing, so its mark expires now and the controller is free again."""
    assert conn.kube is not None
    now = _server_now(conn)
    expires = max(mark.at, now) if refused else min(mark.expires, now + operator_mark.COME_BACK)
    try:
        _write_mark(conn.kube, node, replace(mark, expires=expires))
    except (ActionError, NotFoundError) as exc:  # the node may be gone (replace); the first mark expires on its own
        print(f"nodewarden: could not update the mark on {node}: {exc}", file=sys.stderr)


def _write_mark(kube: Client, node: str, mark: OperatorMark) -> None:
    value = operator_mark.to_annotation(mark)
    kube_actions.annotate(kube, node, {operator_mark.ANNOTATION: value}, recorder=EventRecorder(kube))


def _server_now(conn: Connection) -> datetime:
    """The API server's time (the controller's clock; the twin's virtual time), else the local clock."""
    if conn.kube_config is None:
        return SystemClock().now()
    clock = ServerClock(conn.kube_config)
    try:
        return clock.sync()
    finally:
        clock.close()


def _fail(exc: ActionError) -> typer.Exit:
    code = f" [{exc.code}]" if isinstance(exc, ArmOperationError) and exc.code else ""
    print(f"nodewarden: {exc}{code}", file=sys.stderr)
    return typer.Exit(ExitCode.ACTION_FAILED)


# -- Kubernetes ----------------------------------------------------------------------------------------


def _cordon(node: str, target: ConnectionFlags, *, dry_run: bool, on: bool) -> None:
    kube = target.kube()
    current = kube_actions.read_node(kube, node).cordoned
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
        kube_actions.read_node(kube, node)
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
    reason: Reason = "",
    actor: Actor = "",
    *,
    flags: ConnectionFlags,
) -> None:
    """Mark the node, cordon it, evict its pods (not DaemonSet or mirror pods) and wait until they are gone."""
    conn = flags.connect(need_azure=False)
    kube = conn.kube
    assert kube is not None
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
    kube_actions.read_node(kube, node)  # an unknown node is a usage error, before anything is written
    mark = _mark(conn, node, NodeAction.DRAIN, actor=actor, reason=reason, timeout=limit)
    try:
        result = kube_actions.drain(
            kube,
            node,
            timeout=limit,
            grace_period=grace_period,
            force=force,
            recorder=EventRecorder(kube),
            progress=_say,
        )
    finally:
        _settle_mark(conn, node, mark)
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

STOPS_PODS = (NodeAction.RESTART, NodeAction.REIMAGE, NodeAction.REDEPLOY, NodeAction.DEALLOCATE, NodeAction.REPLACE)


def _disruption(kube: Client, node: str) -> str | None:
    """What stopping the node's VM disrupts, in one sentence; None when a drain would evict nothing."""
    preview = kube_actions.preview_drain(kube, node)
    if not preview.evict:
        return None
    counts = Counter(workload or str(pod) for workload, pod in zip(preview.workloads, preview.evict, strict=True))
    workloads = ", ".join(f"{workload} ×{count}" if count > 1 else workload for workload, count in counts.items())
    violated = [budget.describe() for budget in preview.budgets if budget.violated]
    budgets = "; it would violate " + ", ".join(violated) if violated else "; no PodDisruptionBudget would be violated"
    return f"{len(preview.evict)} pod(s) that a drain would evict still run on {node}: {workloads}{budgets}"


def _check_pods(kube: Client, node: str, action: NodeAction, *, force: bool, dry_run: bool) -> None:
    """Refuse (InputError, exit 2) to stop a VM whose pods a drain would evict, unless `force`."""
    disrupted = _disruption(kube, node)
    if disrupted is None:
        return
    verb = action.lower()
    if not force:
        refuse = f"would refuse to {verb}" if dry_run else f"refusing to {verb}"
        raise InputError(f"{refuse} {node}: {disrupted}; drain it first (nodewarden node drain {node}) or pass --force")
    _say(f"{'would disrupt' if dry_run else f'--force: {verb} disrupts'} {disrupted}")


def _instance_action(
    node: str,
    action: NodeAction,
    target: ConnectionFlags,
    *,
    dry_run: bool,
    timeout: float | None,
    force: bool = False,
    actor: str = "",
    reason: str = "",
) -> None:
    conn = target.connect(need_azure=True)
    assert conn.kube is not None
    assert conn.azure is not None
    ref = azure_actions.instance_of(kube_actions.read_node(conn.kube, node))
    _say(f"{node} is instance {ref.instance_id} of scale set {ref.vmss} (pool {ref.pool or '?'})")
    if action in STOPS_PODS:
        _check_pods(conn.kube, node, action, force=force, dry_run=dry_run)
    recorder = None if dry_run else EventRecorder(conn.kube)
    try:
        why_not = azure_actions.cannot_deallocate(conn.azure, ref.pool) if action is NodeAction.DEALLOCATE else None
        if why_not is not None:
            raise ActionRefusedError(f"{'would refuse' if dry_run else 'refusing'} to deallocate {node}: {why_not}")
        if dry_run:
            busy = azure_actions.in_flight(conn.azure, ref)
            if action is NodeAction.REPLACE and busy is None:
                busy = azure_actions.pool_busy(conn.azure, ref.pool)
            if busy is not None:
                raise ActionRefusedError(f"would refuse to {action.lower()} {node}: busy ({busy})")
            if action is NodeAction.REPLACE:  # the plan `azure_actions.replace` follows
                plan = azure_actions.replace_plan(conn.azure, ref)
                _say(f"would {plan.delete_step()}")
                _say(f"then: {plan.count_step()}")
                _say("dry run: nothing changed")
                return
            _say(f"would {action.lower()} instance {ref.instance_id} of {ref.vmss}; dry run: nothing changed")
            return
        limit = timeout or AZURE_TIMEOUT
        mark = _mark(conn, node, action, actor=actor, reason=reason, timeout=limit)
        try:
            if action is NodeAction.REPLACE:
                result = azure_actions.replace(
                    conn.azure, ref, timeout=limit, recorder=recorder, progress=_say,
                    correlation_id=mark.correlation_id,
                )  # fmt: skip
            else:
                result = azure_actions.run_instance_action(
                    conn.azure, ref, action, timeout=limit, recorder=recorder, progress=_say,
                    correlation_id=mark.correlation_id,
                )  # fmt: skip
        except ActionRefusedError:
            _settle_mark(conn, node, mark, refused=True)
            raise
        except BaseException:  # failed, timed out or interrupted: the instance may still be mid-operation
            _settle_mark(conn, node, mark)
            raise
        _settle_mark(conn, node, mark)
    except ActionError as exc:
        raise _fail(exc) from exc
    _say(
        f"{action.lower()} of {node} succeeded: operation(s) {', '.join(result.operation_ids)}, "
        f"correlation id {result.correlation_id}"
    )


Force = Annotated[
    bool,
    typer.Option("--force", help="Go ahead although pods a drain would evict still run on the node (they stop)."),
]
_REFUSES = " Refused while pods a drain would evict still run on the node: drain it first, or pass --force."


def _azure_command(action: NodeAction, help_text: str) -> None:
    @with_connection_flags
    def command(
        node: NodeArg,
        dry_run: DryRun = False,
        timeout: Timeout = None,
        reason: Reason = "",
        actor: Actor = "",
        *,
        flags: ConnectionFlags,
    ) -> None:
        _instance_action(node, action, flags, dry_run=dry_run, timeout=timeout, actor=actor, reason=reason)

    @with_connection_flags
    def stopping_command(
        node: NodeArg,
        dry_run: DryRun = False,
        force: Force = False,
        timeout: Timeout = None,
        reason: Reason = "",
        actor: Actor = "",
        *,
        flags: ConnectionFlags,
    ) -> None:
        _instance_action(node, action, flags, dry_run=dry_run, timeout=timeout, force=force, actor=actor, reason=reason)

    chosen = stopping_command if action in STOPS_PODS else command
    chosen.__doc__ = (
        f"{help_text}{_REFUSES if action in STOPS_PODS else ''} "
        "Marks the node first: the controller holds it until it is back."
    )
    app.command(action.lower())(chosen)


_azure_command(NodeAction.RESTART, "Restart the node's scale-set instance.")
_azure_command(NodeAction.REIMAGE, "Reimage the node's scale-set instance: a fresh OS disk.")
_azure_command(NodeAction.REDEPLOY, "Redeploy the node's instance to another host.")
_azure_command(NodeAction.DEALLOCATE, "Deallocate the node's scale-set instance.")
_azure_command(NodeAction.START, "Start the node's deallocated or stopped scale-set instance.")
_azure_command(
    NodeAction.REPLACE,
    "Replace the node through AKS: deleteMachines, then restore the pool's count (an autoscaled pool's count is "
    "left to the cluster autoscaler).",
)
