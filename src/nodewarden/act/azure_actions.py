"""Azure node actions: restart, reimage, redeploy, deallocate or start a node's scale-set instance, and
replace a node through AKS (`deleteMachines`, then restore the pool's count).

Each action is an ARM long-running operation, started with our own `x-ms-correlation-request-id`
(so the Activity Log entries can be found by it), followed to its end within a timeout, and reported
as an `ActionResult` carrying the operation id (the last segment of the `Azure-AsyncOperation` URL).
Before starting, the instance view is read: an instance whose provisioning state is not terminal
(`aks.is_in_progress`: updating, creating, deleting …) already has an operation in flight, and a second
one would preempt it, so nodewarden refuses (`ActionRefusedError`). SDK errors are translated here into
`nodewarden.errors`, carrying the ARM error code.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.core.polling import LROPoller

from nodewarden.act.events import EventRecorder
from nodewarden.act.results import ActionResult, EventReason, NodeAction
from nodewarden.connection import AzureClients
from nodewarden.errors import (
    ActionRefusedError,
    ActionTimedOutError,
    ArmOperationError,
    InputError,
    MappingError,
    NodewardenError,
    NotFoundError,
    PermissionDeniedError,
)
from nodewarden.model import aks
from nodewarden.model import kube as model

DEFAULT_TIMEOUT = 1800.0  # seconds; reimage and redeploy take minutes, AKS auto-repair allows up to an hour

_VM = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"
_ARM_ACTIONS = {
    NodeAction.RESTART: ("begin_restart", f"{_VM}/restart/action"),
    NodeAction.REIMAGE: ("begin_reimage", f"{_VM}/reimage/action"),
    NodeAction.REDEPLOY: ("begin_redeploy", f"{_VM}/redeploy/action"),
    NodeAction.POWER_OFF: ("begin_power_off", f"{_VM}/powerOff/action"),
    NodeAction.DEALLOCATE: ("begin_deallocate", f"{_VM}/deallocate/action"),
    NodeAction.START: ("begin_start", f"{_VM}/start/action"),
}
_ARM_KEYWORDS: dict[NodeAction, dict[str, Any]] = {NodeAction.POWER_OFF: {"skip_shutdown": True}}  # no guest shutdown
INSTANCE_ACTIONS = tuple(_ARM_ACTIONS)

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class InstanceRef:
    """A node's VMSS instance, from its providerID, plus the AKS pool it belongs to."""

    node: str
    subscription: str
    resource_group: str
    vmss: str
    instance_id: str
    pool: str

    @property
    def arm_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Compute/virtualMachineScaleSets/{self.vmss}/virtualMachines/{self.instance_id}"
        )


def instance_of(node: model.Node) -> InstanceRef:
    """Map a Node to its scale-set instance; MappingError says why it cannot be mapped."""
    name = node.metadata.name or ""
    provider_id = node.spec.provider_id or ""
    if not provider_id:
        raise MappingError(f"node {name}: no spec.providerID, so no Azure instance to act on")
    parsed = aks.parse_provider_id(provider_id)
    if parsed is None:
        raise MappingError(
            f"node {name}: spec.providerID {provider_id!r} is not a VMSS instance "
            "(expected azure:///subscriptions/…/virtualMachineScaleSets/<vmss>/virtualMachines/<id>)"
        )
    pool = aks.pool_of(node.metadata.label_map) or aks.pool_from_vmss(parsed.vmss)
    return InstanceRef(node=name, pool=pool, **asdict(parsed))


# -- errors at the boundary ----------------------------------------------------------------------------


def translate(exc: AzureError, *, doing: str, permission: str, **ids: str) -> Exception:
    """An Azure SDK error as the nodewarden error a user can act on (one line, with the ARM code)."""
    code, message = _code_and_message(exc)
    status = getattr(exc, "status_code", None)
    if isinstance(exc, ClientAuthenticationError) or status == 401:
        return PermissionDeniedError(f"ARM rejected the credentials while trying to {doing}: {message}")
    if status == 403:
        return PermissionDeniedError(f"ARM refused to {doing}: missing permission '{permission}' ({code}: {message})")
    if isinstance(exc, ResourceNotFoundError) or status == 404:
        return NotFoundError(f"cannot {doing}: not found ({code}: {message})")
    if isinstance(exc, ServiceRequestError):
        return InputError(f"cannot reach ARM to {doing}: {exc.message}")
    return ArmOperationError(f"{doing} failed: {code}: {message}", code=code, **ids)


def _code_and_message(exc: AzureError) -> tuple[str, str]:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None) or getattr(exc, "reason", None) or type(exc).__name__
    message = getattr(error, "message", None) or str(exc.message or exc).splitlines()[0]
    return str(code), str(message)


# -- tracked operations --------------------------------------------------------------------------------


@dataclass
class _Tracked:
    operation_id: str
    request_id: str


def _start(begin: Callable[..., LROPoller[Any]], *args: Any, correlation_id: str) -> tuple[LROPoller[Any], _Tracked]:
    poller = begin(*args, headers={"x-ms-correlation-request-id": correlation_id})
    headers = _initial_headers(poller)
    url = headers.get("Azure-AsyncOperation") or headers.get("Location") or ""
    operation_id = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] if url else ""
    return poller, _Tracked(operation_id=operation_id, request_id=headers.get("x-ms-request-id", ""))


def _initial_headers(poller: LROPoller[Any]) -> dict[str, str]:
    # azure-core keeps the initial response on the polling method (LROBasePolling._initial_response);
    # not public API, so read it defensively: without it we still have the correlation id.
    initial = getattr(poller.polling_method(), "_initial_response", None)
    response = getattr(initial, "http_response", None)
    headers = getattr(response, "headers", None)
    return dict(headers) if headers is not None else {}


def _finish(poller: LROPoller[Any], *, timeout: float, doing: str, tracked: _Tracked, correlation_id: str) -> None:
    try:
        poller.result(timeout=max(0.0, timeout))
    except AzureError as exc:
        raise translate(
            exc, doing=doing, permission="", operation_id=tracked.operation_id, correlation_id=correlation_id
        ) from exc
    if not poller.done():
        raise ActionTimedOutError(
            f"{doing}: operation {tracked.operation_id or '?'} still {poller.status()} after {timeout:g}s "
            f"(correlation id {correlation_id}); it continues in Azure"
        )


# -- instance actions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceState:
    """What an instance view says: the power state (`running`, `stopped`, `deallocated` …, lower case) and
    the provisioning state of an operation in flight on it (None when it is idle)."""

    power: str
    busy: str | None


def instance_state(azure: AzureClients, ref: InstanceRef) -> InstanceState:
    """Read the instance view once; NotFoundError when the instance is gone."""
    try:
        view = azure.compute.virtual_machine_scale_set_vms.get_instance_view(
            ref.resource_group, ref.vmss, ref.instance_id
        )
    except AzureError as exc:
        raise translate(
            exc,
            doing=f"read the instance view of {ref.vmss}/{ref.instance_id}",
            permission=f"{_VM}/instanceView/read",
        ) from exc
    power, busy = "unknown", None
    for status in view.statuses or []:
        code = (status.code or "").lower()
        if code.startswith("powerstate/"):
            power = code.split("/", 1)[1]
        elif busy is None and code.startswith("provisioningstate/") and aks.is_in_progress(code.split("/", 1)[1]):
            busy = status.code
    return InstanceState(power, busy)


def in_flight(azure: AzureClients, ref: InstanceRef) -> str | None:
    """The provisioning state of an operation in flight on the instance, or None when it is idle."""
    return instance_state(azure, ref).busy


def run_instance_action(
    azure: AzureClients,
    ref: InstanceRef,
    action: NodeAction,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    recorder: EventRecorder | None = None,
    progress: Progress = _quiet,
    correlation_id: str | None = None,
) -> ActionResult:
    """Restart/reimage/redeploy/power off/deallocate/start one instance and wait for the operation to end.

    Raises ActionRefusedError (another operation in flight), ArmOperationError (ARM refused or the
    operation failed: `.code` is the ARM error code), ActionTimedOutError, or an InputError subclass.
    """
    if action not in _ARM_ACTIONS:
        raise InputError(f"{action} is not an instance action; expected one of {', '.join(INSTANCE_ACTIONS)}")
    method, permission = _ARM_ACTIONS[action]
    target = f"{ref.vmss}/virtualMachines/{ref.instance_id}"
    busy = in_flight(azure, ref)
    if busy is not None:
        message = f"refused to {action.lower()} {ref.node}: instance {target} is busy ({busy}); try again when it ends"
        _event(recorder, ref.node, action, EventReason.REFUSED_BUSY, message, warning=True)
        raise ActionRefusedError(message)
    correlation_id = correlation_id or str(uuid.uuid4())
    doing = f"{action.lower()} {ref.node} ({target})"
    begin = functools.partial(
        getattr(azure.compute.virtual_machine_scale_set_vms, method), **_ARM_KEYWORDS.get(action, {})
    )
    try:
        poller, tracked = _start(begin, ref.resource_group, ref.vmss, ref.instance_id, correlation_id=correlation_id)
    except AzureError as exc:
        error = translate(exc, doing=doing, permission=permission, correlation_id=correlation_id)
        _event(recorder, ref.node, action, EventReason.OPERATION_FAILED, str(error), warning=True)
        raise error from exc
    progress(f"{action.lower()} of {target} started: operation {tracked.operation_id}, correlation {correlation_id}")
    started = f"{action} of {target} started (operation {tracked.operation_id}, correlation {correlation_id})"
    _event(recorder, ref.node, action, EventReason.OPERATION_STARTED, started)
    try:
        _finish(poller, timeout=timeout, doing=doing, tracked=tracked, correlation_id=correlation_id)
    except ActionTimedOutError as exc:
        _event(recorder, ref.node, action, EventReason.OPERATION_TIMED_OUT, str(exc), warning=True)
        raise
    except ArmOperationError as exc:
        _event(recorder, ref.node, action, EventReason.OPERATION_FAILED, str(exc), warning=True)
        raise
    progress(f"{action.lower()} of {target} succeeded")
    _event(recorder, ref.node, action, EventReason.OPERATION_SUCCEEDED,
           f"{action} of {target} succeeded (operation {tracked.operation_id})")  # fmt: skip
    return ActionResult(
        action=action,
        node=ref.node,
        target=ref.arm_id,
        succeeded=True,
        operation_ids=(tracked.operation_id,),
        correlation_id=correlation_id,
        request_ids=(tracked.request_id,),
    )


def _event(
    recorder: EventRecorder | None,
    node: str,
    action: NodeAction,
    reason: EventReason,
    note: str,
    *,
    warning: bool = False,
) -> None:
    if recorder is not None:
        recorder.record(node, action=action, reason=reason, note=note, warning=warning)


# -- replace through AKS -------------------------------------------------------------------------------


def pool_busy(azure: AzureClients, pool: str) -> str | None:
    """The pool's provisioning state while an operation is in progress on it (scaling, upgrading …), else None
    (Succeeded, Failed and Canceled are settled: model/aks.py)."""
    state = _get_pool(azure, pool).provisioning_state
    return str(state) if aks.is_in_progress(state) else None


def cannot_deallocate(azure: AzureClients, pool: str | None) -> str | None:
    """Why Azure would refuse to deallocate an instance of `pool` (its OS disks are ephemeral: they live on the
    host, so a deallocated VM would lose them), else None."""
    if pool is None:
        return None
    disk = _get_pool(azure, pool).os_disk_type  # the SDK's OSDiskType enum, whose str() is not its value
    if str(getattr(disk, "value", disk) or "").lower() == "ephemeral":
        return f"pool {pool} has ephemeral OS disks, which Azure cannot deallocate: restart, reimage or replace instead"
    return None


def _get_pool(azure: AzureClients, pool: str) -> Any:
    target = azure.target
    try:
        return azure.aks.agent_pools.get(target.resource_group, target.cluster_name, pool)
    except AzureError as exc:
        raise translate(
            exc,
            doing=f"read agent pool {pool} of {target.cluster_name}",
            permission="Microsoft.ContainerService/managedClusters/agentPools/read",
        ) from exc


@dataclass(frozen=True)
class ReplacePlan:
    """What `replace` does for one node, read from its pool: the dry run prints it, `replace` follows it.

    A pool without the cluster autoscaler gets its count back with a pool PUT. On an autoscaled pool AKS
    refuses a manual count (the twin answers as AKS does), so the count is left to the autoscaler, which
    adds a node only for pods that cannot be scheduled, within minCount..maxCount; it does not scale a pool
    up to its minimum by itself, so a pool that falls below minCount stays there until pods are pending.
    """

    node: str
    pool: str
    count: int
    autoscale: bool
    min_count: int | None = None
    max_count: int | None = None

    @property
    def restores_count(self) -> bool:
        return not self.autoscale

    @property
    def below_minimum(self) -> bool:
        return self.autoscale and self.min_count is not None and self.count - 1 < self.min_count

    def delete_step(self) -> str:
        return f"deleteMachines {self.node} in pool {self.pool} (count {self.count} → {self.count - 1})"

    def count_step(self) -> str:
        """The second step, as a sentence: the pool PUT, or why the count is left alone."""
        if self.restores_count:
            return f"restore pool {self.pool} to {self.count} nodes"
        bounds = f"{self.min_count if self.min_count is not None else '?'}–{self.max_count or '?'}"
        sentence = (
            f"pool {self.pool} autoscales ({bounds} nodes): AKS takes no manual count, so it is left at "
            f"{self.count - 1}; the cluster autoscaler adds a node back only when pods cannot be scheduled"
        )
        if self.below_minimum:
            sentence += (
                f". {self.count - 1} is below the pool's minimum of {self.min_count}, and the autoscaler does not "
                "scale up to its minimum by itself"
            )
        return sentence


def replace_plan(azure: AzureClients, ref: InstanceRef) -> ReplacePlan:
    """Read the node's pool and say what `replace` would do (raises MappingError without a pool)."""
    if not ref.pool:
        raise MappingError(f"node {ref.node}: cannot tell its agent pool (no {aks.POOL_LABEL} label)")
    return _plan(ref, _get_pool(azure, ref.pool))


def _plan(ref: InstanceRef, pool: Any) -> ReplacePlan:
    return ReplacePlan(
        node=ref.node,
        pool=ref.pool,
        count=int(pool.count or 0),
        autoscale=bool(pool.enable_auto_scaling),
        min_count=pool.min_count,
        max_count=pool.max_count,
    )


def replace(
    azure: AzureClients,
    ref: InstanceRef,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    recorder: EventRecorder | None = None,
    progress: Progress = _quiet,
    monotonic: Callable[[], float] = time.monotonic,
    correlation_id: str | None = None,
) -> ActionResult:
    """Delete the node's machine with AKS `deleteMachines`, then put the pool's count back with a pool PUT, as
    `ReplacePlan` says (on an autoscaled pool the count is left to the autoscaler; the result's steps say so).
    """
    deadline = monotonic() + timeout
    target = azure.target
    action = NodeAction.REPLACE
    if not ref.pool:
        raise MappingError(f"node {ref.node}: cannot tell its agent pool (no {aks.POOL_LABEL} label)")
    pool = _get_pool(azure, ref.pool)
    plan = _plan(ref, pool)
    busy = in_flight(azure, ref)
    if aks.is_in_progress(pool.provisioning_state) or busy is not None:
        why = f"pool {ref.pool} is {pool.provisioning_state}" if busy is None else f"instance is busy ({busy})"
        message = f"refused to replace {ref.node}: {why}; try again when it ends"
        _event(recorder, ref.node, action, EventReason.REFUSED_BUSY, message, warning=True)
        raise ActionRefusedError(message)
    count = plan.count
    correlation_id = correlation_id or str(uuid.uuid4())
    operations: list[str] = []
    requests: list[str] = []
    steps: list[str] = []
    doing = f"delete machine {ref.node} from pool {ref.pool}"
    _event(recorder, ref.node, action, EventReason.OPERATION_STARTED,
           f"replacing: {plan.delete_step()}, then {plan.count_step()}")  # fmt: skip
    try:
        poller, tracked = _start(
            azure.aks.agent_pools.begin_delete_machines,
            target.resource_group,
            target.cluster_name,
            ref.pool,
            {"machineNames": [ref.node]},
            correlation_id=correlation_id,
        )
    except AzureError as exc:
        error = translate(
            exc,
            doing=doing,
            permission="Microsoft.ContainerService/managedClusters/agentPools/deleteMachines/action",
            correlation_id=correlation_id,
        )
        _event(recorder, ref.node, action, EventReason.OPERATION_FAILED, str(error), warning=True)
        raise error from exc
    operations.append(tracked.operation_id)
    requests.append(tracked.request_id)
    progress(f"deleteMachines {ref.node} started: operation {tracked.operation_id}")
    _finish_or_event(poller, recorder, ref, deadline - monotonic(), doing, tracked, correlation_id)
    steps.append(f"deleted machine {ref.node} (operation {tracked.operation_id})")
    progress(steps[-1])
    if not plan.restores_count:
        steps.append(plan.count_step())
        progress(steps[-1])
    else:
        doing = f"restore pool {ref.pool} to {count} nodes"
        try:
            poller, tracked = _put_count(azure, ref.pool, _get_pool(azure, ref.pool), count, correlation_id, doing)
        except NodewardenError as error:
            _event(recorder, ref.node, action, EventReason.OPERATION_FAILED, str(error), warning=True)
            raise
        operations.append(tracked.operation_id)
        requests.append(tracked.request_id)
        progress(f"scale {ref.pool} back to {count} started: operation {tracked.operation_id}")
        _finish_or_event(poller, recorder, ref, deadline - monotonic(), doing, tracked, correlation_id)
        steps.append(f"pool {ref.pool} restored to {count} nodes (operation {tracked.operation_id})")
        progress(steps[-1])
    _event(recorder, ref.node, action, EventReason.OPERATION_SUCCEEDED, "; ".join(steps))
    return ActionResult(
        action=action,
        node=ref.node,
        target=f"{target.cluster_name}/agentPools/{ref.pool}",
        succeeded=True,
        operation_ids=tuple(operations),
        correlation_id=correlation_id,
        request_ids=tuple(requests),
        steps=tuple(steps),
    )


def _put_count(
    azure: AzureClients, pool: str, body: Any, count: int, correlation_id: str, doing: str
) -> tuple[LROPoller[Any], _Tracked]:
    """Start the pool PUT that sets `body`'s (the pool as read) node count: how AKS takes a count."""
    target = azure.target
    body.count = count
    try:
        return _start(
            azure.aks.agent_pools.begin_create_or_update,
            target.resource_group,
            target.cluster_name,
            pool,
            body,
            correlation_id=correlation_id,
        )
    except AzureError as exc:
        raise translate(
            exc,
            doing=doing,
            permission="Microsoft.ContainerService/managedClusters/agentPools/write",
            correlation_id=correlation_id,
        ) from exc


def _finish_or_event(
    poller: LROPoller[Any],
    recorder: EventRecorder | None,
    ref: InstanceRef,
    timeout: float,
    doing: str,
    tracked: _Tracked,
    correlation_id: str,
) -> None:
    try:
        _finish(poller, timeout=timeout, doing=doing, tracked=tracked, correlation_id=correlation_id)
    except ActionTimedOutError as exc:
        _event(recorder, ref.node, NodeAction.REPLACE, EventReason.OPERATION_TIMED_OUT, str(exc), warning=True)
        raise
    except ArmOperationError as exc:
        _event(recorder, ref.node, NodeAction.REPLACE, EventReason.OPERATION_FAILED, str(exc), warning=True)
        raise


def scale_pool(
    azure: AzureClients,
    pool: str,
    count: int,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    correlation_id: str | None = None,
    progress: Progress = _quiet,
    wait: bool = True,
) -> ActionResult:
    """Set an agent pool's node count with a pool PUT (zone compensation, and undoing it); with `wait=False`
    return once ARM has accepted it (the pool shows the operation in its provisioning state meanwhile)."""
    target = azure.target
    correlation_id = correlation_id or str(uuid.uuid4())
    body = _get_pool(azure, pool)
    if body.enable_auto_scaling:
        raise ActionRefusedError(f"refused to scale pool {pool}: the cluster autoscaler owns its count")
    doing = f"scale pool {pool} to {count} nodes"
    poller, tracked = _put_count(azure, pool, body, count, correlation_id, doing)
    progress(f"{doing} started: operation {tracked.operation_id}")
    if wait:
        _finish(poller, timeout=timeout, doing=doing, tracked=tracked, correlation_id=correlation_id)
    done = f"pool {pool} set to {count} nodes" if wait else f"pool {pool} scaling to {count} nodes"
    return ActionResult(
        action=NodeAction.SCALE,
        node="",
        target=f"{target.cluster_name}/agentPools/{pool}",
        succeeded=True,
        operation_ids=(tracked.operation_id,),
        correlation_id=correlation_id,
        request_ids=(tracked.request_id,),
        steps=(f"{done} (operation {tracked.operation_id})",),
    )
