"""Putting a drill's fault into the cluster and taking it out again: the injectors (I/O; faults.py decides).

API faults go through the product's own adapters (`act.azure_actions`, `act.kube_actions`), so they work on
a real cluster and on the twin alike; each ARM call carries a fresh correlation id (a GUID, as ARM expects)
that the injector remembers, so the drill's own operations can be found in the Activity Log. Twin faults
go to the twin's admin endpoint (`twin.json` in its state directory). `undo` rolls a fault back once,
says in one sentence what it did, and answers "nothing to undo: …" when there is nothing left; a rollback
that fails returns the failure instead of raising, so the drill still reaches a verdict.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from azure.core.exceptions import AzureError
from lightkube import Client

from nodewarden import http
from nodewarden.act import azure_actions, kube_actions
from nodewarden.act.azure_actions import InstanceRef
from nodewarden.act.results import NodeAction
from nodewarden.connection import AzureClients, Connection
from nodewarden.drill.faults import GRACE, TIMEOUT, FaultKind, Resolved, Where
from nodewarden.errors import InputError, NodewardenError, NotFoundError
from nodewarden.model.snapshot import Snapshot

log = logging.getLogger(__name__)

ADMIN_FILE = "twin.json"  # nodewarden.twin.service.ADMIN_FILE, repeated: the product does not import the twin
ARM_TIMEOUT = 600.0  # seconds a fault's ARM operation may take (power off and deallocate take a minute or two)
DRAIN_TIMEOUT = 0.0  # node-drain evicts once and returns: the drill measures what follows, it does not wait
ADMIN_TIMEOUT = 10.0  # seconds for one call to the twin's admin endpoint
API_FAULTS = ("instance-stop", "instance-deallocate", "node-drain", "spot-eviction")
CONDITIONS = {"disk-pressure": "DiskPressure", "kernel-deadlock": "KernelDeadlock",
              "readonly-filesystem": "ReadonlyFilesystem"}  # fmt: skip
DOWN = ("stopping", "stopped", "deallocating", "deallocated")  # PowerState/<state> of an instance that is off

Options = Mapping[str, Any]


class Injector(Protocol):
    """What the runner calls: options come from `spec.fault.options`, already checked by `faults.resolve`."""

    def inject(self, resolved: Resolved, options: Options) -> None: ...

    def undo(self, resolved: Resolved, options: Options, snapshot: Snapshot) -> str: ...


def injector_for(connection: Connection, *, twin_dir: Path | None) -> Injector:
    """API faults through `connection`; twin faults too when `twin_dir` names a running twin's state directory."""
    return ClusterInjector(connection, twin_dir=twin_dir)


# -- the twin's admin endpoint ----------------------------------------------------------------------------


def admin_call(state_dir: Path, method: str, path: str, payload: dict[str, object]) -> dict[str, object]:
    """One authenticated call to a running twin's admin endpoint; InputError when there is none or it refuses."""
    admin_file = state_dir / ADMIN_FILE
    try:
        admin = json.loads(admin_file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{admin_file}: no running twin here (start one with nodewarden twin serve)") from exc
    twin = http.Endpoint(
        admin["url"], name="the twin", hint="is it still running?", ca_bundle=admin["caBundle"], timeout=ADMIN_TIMEOUT
    )
    with twin:
        answer = twin.call(method, path, json=payload, headers={"Authorization": f"Bearer {admin['token']}"})
    return dict(answer)


# -- the injector ---------------------------------------------------------------------------------------------


class ClusterInjector:
    """Injects and undoes one drill's fault; remembers the instances it touched and what it already undid."""

    def __init__(self, connection: Connection, *, twin_dir: Path | None) -> None:
        self.connection = connection
        self.twin_dir = twin_dir
        self._instances: dict[str, InstanceRef] = {}  # node → instance, kept for undo after the node is gone
        self._undone: dict[tuple[str, str | None], str] = {}
        self.correlation_ids: list[str] = []  # of every ARM call it made, to find them in the Activity Log

    def correlation_id(self) -> str:
        """A fresh ARM correlation id (a GUID, as ARM expects), remembered."""
        self.correlation_ids.append(str(uuid.uuid4()))
        return self.correlation_ids[-1]

    def inject(self, resolved: Resolved, options: Options) -> None:
        kind = resolved.kind
        log.info("drill.inject", extra={"fault": kind.name, "target": resolved.target, "nodes": list(resolved.nodes)})
        if kind.where is Where.TWIN:
            self.twin_fault(kind.name, resolved.target, dict(options))
            return
        INJECTORS[kind.name](self, resolved, options)

    def undo(self, resolved: Resolved, options: Options, snapshot: Snapshot) -> str:
        key = (resolved.kind.name, resolved.target)
        if key in self._undone:
            return f"nothing to undo: already rolled back ({self._undone[key]})"
        try:
            done = UNDOERS[resolved.kind.name](self, resolved, snapshot)
        except NodewardenError as exc:
            log.warning("drill.undo_failed", extra={"fault": resolved.kind.name, "error": str(exc)})
            return f"rollback failed: {exc}; undo it by hand: {resolved.kind.undo}"
        log.info("drill.undo", extra={"fault": resolved.kind.name, "target": resolved.target, "detail": done})
        if not done.startswith("nothing to undo"):
            self._undone[key] = done
        return done

    # -- clients ------------------------------------------------------------------------------------------

    def twin_fault(self, name: str, target: str | None, options: dict[str, object]) -> None:
        if self.twin_dir is None:
            real = ", ".join(API_FAULTS)
            raise InputError(f"fault {name} needs the digital twin (--twin DIR); on a real cluster use one of {real}")
        admin_call(self.twin_dir, "POST", "/twin/faults", {"fault": name, "target": target, "options": options})

    def azure(self, kind: FaultKind) -> AzureClients:
        if self.connection.azure is None:
            raise InputError(f"fault {kind.name} needs Azure access (--azure-config, --subscription … or --twin)")
        return self.connection.azure

    def kube(self, kind: FaultKind) -> Client:
        if self.connection.kube is None:
            raise InputError(f"fault {kind.name} needs Kubernetes access (--kubeconfig or --twin)")
        return self.connection.kube

    def instance(self, kind: FaultKind, node: str) -> InstanceRef:
        """The node's instance, as seen when the fault went in, else read now (NotFoundError: node gone)."""
        if node not in self._instances:
            self._instances[node] = azure_actions.instance_of(kube_actions.read_node(self.kube(kind), node))
        return self._instances[node]


def _node(resolved: Resolved) -> str:
    return resolved.nodes[0]


# -- API faults -------------------------------------------------------------------------------------------


def _power_action(action: NodeAction) -> Callable[[ClusterInjector, Resolved, Options], None]:
    def inject(injector: ClusterInjector, resolved: Resolved, options: Options) -> None:
        ref = injector.instance(resolved.kind, _node(resolved))
        azure_actions.run_instance_action(
            injector.azure(resolved.kind), ref, action, timeout=float(options.get(TIMEOUT, ARM_TIMEOUT)),
            correlation_id=injector.correlation_id(),
        )  # fmt: skip

    return inject


def _drain(injector: ClusterInjector, resolved: Resolved, options: Options) -> None:
    grace = options.get(GRACE)
    result = kube_actions.drain(
        injector.kube(resolved.kind), _node(resolved), timeout=float(options.get(TIMEOUT, DRAIN_TIMEOUT)),
        grace_period=None if grace is None else int(grace),
    )  # fmt: skip
    log.info(
        "drill.drain",
        extra={"node": result.node, "evicted": len(result.evicted), "remaining": len(result.remaining),
               "blocked": [b.describe() for b in result.blockers]},
    )  # fmt: skip


def _simulate_eviction(injector: ClusterInjector, resolved: Resolved, options: Options) -> None:
    ref = injector.instance(resolved.kind, _node(resolved))
    azure = injector.azure(resolved.kind)
    try:
        azure.compute.virtual_machine_scale_set_vms.simulate_eviction(
            ref.resource_group,
            ref.vmss,
            ref.instance_id,
            headers={"x-ms-correlation-request-id": injector.correlation_id()},
        )
    except AzureError as exc:
        raise azure_actions.translate(
            exc, doing=f"simulate the eviction of {ref.node} ({ref.vmss}/virtualMachines/{ref.instance_id})",
            permission="Microsoft.Compute/virtualMachineScaleSets/virtualMachines/simulateEviction/action",
        ) from exc  # fmt: skip


INJECTORS: dict[str, Callable[[ClusterInjector, Resolved, Options], None]] = {
    "instance-stop": _power_action(NodeAction.POWER_OFF),
    "instance-deallocate": _power_action(NodeAction.DEALLOCATE),
    "node-drain": _drain,
    "spot-eviction": _simulate_eviction,
}


# -- undo -----------------------------------------------------------------------------------------------------


def _is_ready(snapshot: Snapshot, node: str) -> bool:
    found = snapshot.nodes_by_name.get(node)
    return found is not None and found.ready


def _bring_back(injector: ClusterInjector, resolved: Resolved, snapshot: Snapshot, *, restart: bool) -> str:
    """Start the node's instance when it is off; with `restart`, restart it when it runs but its node is not Ready."""
    kind, node = resolved.kind, _node(resolved)
    try:
        ref = injector.instance(kind, node)
    except NotFoundError:
        return f"nothing to undo: node {node} no longer exists"
    azure = injector.azure(kind)
    where = f"{ref.vmss}/virtualMachines/{ref.instance_id}"
    try:
        state = azure_actions.instance_state(azure, ref)
    except NotFoundError:
        return f"nothing to undo: instance {where} of node {node} no longer exists"
    if state.busy is not None:
        return f"nothing to undo: an operation is already running on {node}'s instance ({state.busy})"
    if state.power in DOWN:
        action, done = NodeAction.START, f"started instance {where} of node {node} (it was {state.power})"
    elif restart and not _is_ready(snapshot, node):
        action, done = NodeAction.RESTART, f"restarted instance {where} of node {node} (the node was not Ready)"
    else:
        why = "its node is Ready" if restart else f"it is {state.power}"
        return f"nothing to undo: instance {where} of node {node} runs and {why}"
    azure_actions.run_instance_action(azure, ref, action, timeout=ARM_TIMEOUT, correlation_id=injector.correlation_id())
    return done


def _restart_unless_ready(injector: ClusterInjector, resolved: Resolved, snapshot: Snapshot) -> str:
    return _bring_back(injector, resolved, snapshot, restart=True)


def _start_if_off(injector: ClusterInjector, resolved: Resolved, snapshot: Snapshot) -> str:
    return _bring_back(injector, resolved, snapshot, restart=False)


def _uncordon(injector: ClusterInjector, resolved: Resolved, snapshot: Snapshot) -> str:
    node = _node(resolved)
    try:
        changed = kube_actions.uncordon(injector.kube(resolved.kind), node)
    except NotFoundError:
        return f"nothing to undo: node {node} no longer exists"
    return f"uncordoned {node}" if changed else f"nothing to undo: {node} is schedulable"


def _clear_condition(injector: ClusterInjector, resolved: Resolved, snapshot: Snapshot) -> str:
    node, condition = _node(resolved), CONDITIONS[resolved.kind.name]
    found = snapshot.nodes_by_name.get(node)
    if found is None:
        return f"nothing to undo: node {node} no longer exists"
    conditions = (found.status.conditions if found.status else None) or ()
    if not any(c.type == condition and c.status == "True" for c in conditions):
        return f"nothing to undo: {node} does not report {condition}"
    injector.twin_fault(resolved.kind.name, node, {"status": "False"})
    return f"{condition} cleared on {node}"


def _restore_zone(injector: ClusterInjector, resolved: Resolved, snapshot: Snapshot) -> str:
    injector.twin_fault("zone-restore", resolved.target, {})
    return f"zone-restore {(resolved.target or '').rsplit('-', 1)[-1]}"


def _good_image(injector: ClusterInjector, resolved: Resolved, snapshot: Snapshot) -> str:
    injector.twin_fault("bad-image", resolved.target, {"on": False})
    return f"bad-image off for pool {resolved.target}"


def _rate_zero(injector: ClusterInjector, resolved: Resolved, snapshot: Snapshot) -> str:
    injector.twin_fault(resolved.kind.name, None, {"rate": 0})
    return f"{resolved.kind.name} off (rate 0)"


def _nothing(injector: ClusterInjector, resolved: Resolved, snapshot: Snapshot) -> str:
    """Faults that end on their own: the catalogue says why there is nothing to undo."""
    return f"nothing to undo: {resolved.kind.undo.removeprefix('nothing: ')}"


UNDOERS: dict[str, Callable[[ClusterInjector, Resolved, Snapshot], str]] = {
    "instance-crash": _restart_unless_ready,
    "kubelet-hang": _restart_unless_ready,
    "instance-stop": _restart_unless_ready,
    "instance-deallocate": _start_if_off,
    "spot-eviction": _start_if_off,
    "disk-pressure": _clear_condition,
    "kernel-deadlock": _clear_condition,
    "readonly-filesystem": _clear_condition,
    "zone-outage": _restore_zone,
    "zone-restore": _nothing,
    "bad-image": _good_image,
    "arm-throttle": _rate_zero,
    "arm-errors": _rate_zero,
    "kube-errors": _rate_zero,
    "node-drain": _uncordon,
    "planned-maintenance": _nothing,
    "watch-drop": _nothing,
}
