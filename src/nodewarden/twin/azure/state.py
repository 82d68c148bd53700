"""The Azure side of the twin: one AKS cluster, its agent pools, their scale sets and instances.

Everything that happens to an instance is a lifecycle driven by clock timers (no threads): an action
takes the guest down, ARM reports the VM running some time later (the operation succeeds), the guest
boots, and the kubelet registers. The Kubernetes side learns about it only through hooks:
`on_boot(spec, healthy)` when a guest comes up and `on_down(node_name)` when it goes down
(`on_removed(node_name)` when the instance is gone for good). Hooks run after the state's lock is
released, so they may call back into the state.

Faults (crash, zone outage, bad image, planned maintenance, throttling, errors) are methods here;
the HTTP surface (arm_api.py) only translates requests into these calls.
"""

from __future__ import annotations

import copy
import functools
import random
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from nodewarden.twin.azure import operations, resource_health
from nodewarden.twin.azure.activity import ActivityFilter, ActivityLog
from nodewarden.twin.azure.fleet import Action, Guest, Instance, Origin, Pool, Timings
from nodewarden.twin.azure.naming import Scope, vm_capacity
from nodewarden.twin.azure.operations import Operation
from nodewarden.twin.azure.scheduled_events import ScheduledEvent, ScheduledEvents
from nodewarden.twin.azure.wire import ArmError, not_found
from nodewarden.twin.clock import Clock
from nodewarden.twin.machines import MachineSpec

BootHook = Callable[[MachineSpec, bool], None]
NodeHook = Callable[[str], None]

DEFAULT_TENANT = "00000000-0000-0000-0000-0000000a11ce"
SPOT_TAINT = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"
EVICTION_POLICIES = ("Delete", "Deallocate")  # scaleSetEvictionPolicy of a Spot pool
# Seconds between a Preempt Scheduled Event and the eviction (Azure docs, "Scheduled Events": Preempt 30 s).
PREEMPT_NOTICE = 30.0
OS_DISK_TYPES = ("Ephemeral", "Managed")  # an agent pool's osDiskType
# Compute's refusal to deallocate an instance with an ephemeral OS disk (learn.microsoft.com, "Ephemeral OS disks"
# FAQ: "There's no option of Stop-Deallocate for Ephemeral VMs"); the code is ARM's, the wording [MEM].
EPHEMERAL_DEALLOCATE = (
    "Operation 'deallocate' is not supported for VMs or VM Scale Set instances using an ephemeral OS disk."
)

# Actions that reboot the guest and so end with a boot; their durations come from Timings.
_REBOOTS = (Action.RESTART, Action.REDEPLOY, Action.REIMAGE, Action.REIMAGE_ALL)
_NEEDS_RUNNING = (Action.RESTART, Action.REDEPLOY)
_LOCALIZED = {
    Action.RESTART: "Restart",
    Action.START: "Start",
    Action.POWER_OFF: "Power Off",
    Action.DEALLOCATE: "Deallocate",
    Action.REDEPLOY: "Redeploy",
    Action.REIMAGE: "Reimage",
    Action.REIMAGE_ALL: "Reimage All",
    Action.DELETE: "Delete",
}
_VMSS_TYPE = "Microsoft.Compute/virtualMachineScaleSets"
_VM_TYPE = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"
_POOL_TYPE = "Microsoft.ContainerService/managedClusters/agentPools"
_CLUSTER_TYPE = "Microsoft.ContainerService/managedClusters"


class AzureState:
    """One managed cluster with its node resource group; thread-safe behind one re-entrant lock."""

    def __init__(
        self,
        clock: Clock,
        *,
        subscription_id: str,
        resource_group: str,
        cluster_name: str,
        location: str,
        node_resource_group: str | None = None,
        kubernetes_version: str = "1.33.7",
        tier: str = "Standard",
        timings: Timings = Timings(),  # noqa: B008 - frozen dataclass, safe as a default
        tenant_id: str = DEFAULT_TENANT,
        cluster_properties: Mapping[str, Any] | None = None,
        seed: int = 0,
    ) -> None:
        self.clock = clock
        self.scope = Scope(
            subscription_id=subscription_id,
            resource_group=resource_group,
            cluster_name=cluster_name,
            location=location,
            node_resource_group=node_resource_group or f"MC_{resource_group}_{cluster_name}_{location}",
            tenant_id=tenant_id,
        )
        self.timings = timings
        self.kubernetes_version = kubernetes_version
        self.tier = tier
        self.created_at = clock.now()
        self.cluster_provisioning = "Succeeded"
        self.cluster_properties: dict[str, Any] = copy.deepcopy(dict(cluster_properties or {}))
        self.cluster_tags: dict[str, str] = {}
        self.activity = ActivityLog(subscription_id=subscription_id, tenant_id=tenant_id)
        self.events = ScheduledEvents()
        self._lock = threading.RLock()
        self._depth = 0
        self._pending: list[Callable[[], None]] = []
        self._pools: dict[str, Pool] = {}
        self._operations: dict[str, Operation] = {}
        self._boot_hooks: list[BootHook] = []
        self._down_hooks: list[NodeHook] = []
        self._removed_hooks: list[NodeHook] = []
        self._zones_down: set[str] = set()
        self._rng = random.Random(seed)
        self._throttle_rate = 0.0
        self._throttle_budget: int | None = None
        self.throttle_retry_after = 5
        self._error_rate = 0.0
        self._failure_rate = 0.0

    # -- locking and hooks -------------------------------------------------------------------------

    @property
    def lock(self) -> threading.RLock:
        """Hold it to read several records consistently (the HTTP handler renders under it)."""
        return self._lock

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """The lock, plus hook calls deferred until the outermost holder lets go."""
        calls: list[Callable[[], None]] = []
        try:
            with self._lock:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                    if self._depth == 0:
                        calls, self._pending = self._pending, []
        finally:
            for call in calls:
                call()

    def on_boot(self, hook: BootHook, *, replay: bool = True) -> None:
        """Register `hook(spec, healthy)`; with `replay`, call it now for every guest already up."""
        with self._transaction():
            self._boot_hooks.append(hook)
            if replay:
                for inst in self._all_instances():
                    if inst.guest is Guest.UP:
                        spec, healthy = self.machine_spec(inst), inst.healthy_image
                        self._pending.append(functools.partial(hook, spec, healthy))

    def on_down(self, hook: NodeHook) -> None:
        with self._lock:
            self._down_hooks.append(hook)

    def on_removed(self, hook: NodeHook) -> None:
        """Called when an instance is deleted (scale-in, deleteMachines, VM delete): its Node should go."""
        with self._lock:
            self._removed_hooks.append(hook)

    def _emit_boot(self, inst: Instance) -> None:
        spec, healthy = self.machine_spec(inst), inst.healthy_image
        self._pending.extend(functools.partial(hook, spec, healthy) for hook in self._boot_hooks)

    def _emit_node(self, hooks: list[NodeHook], name: str) -> None:
        self._pending.extend(functools.partial(hook, name) for hook in hooks)

    # -- setup and reads ---------------------------------------------------------------------------

    def add_pool(
        self,
        name: str,
        *,
        mode: str,
        vm_size: str,
        zones: Sequence[str],
        count: int,
        min_count: int | None = None,
        max_count: int | None = None,
        autoscale: bool = False,
        node_image_version: str,
        os_sku: str = "Ubuntu",
        max_pods: int = 110,
        taints: Sequence[str] = (),
        spot: bool = False,
        eviction_policy: str = "Delete",
        labels: Mapping[str, str] | None = None,
        os_disk_type: str = "Ephemeral",
    ) -> Pool:
        """A pool whose `count` instances are already up (a cluster that existed before the twin started)."""
        with self._transaction():
            if name.lower() in self._pools:
                raise ValueError(f"pool {name!r} already exists")
            if eviction_policy not in EVICTION_POLICIES:
                raise ValueError(
                    f"eviction_policy must be one of {', '.join(EVICTION_POLICIES)}, found {eviction_policy!r}"
                )
            if os_disk_type not in OS_DISK_TYPES:
                raise ValueError(f"os_disk_type must be one of {', '.join(OS_DISK_TYPES)}, found {os_disk_type!r}")
            pool = Pool(
                name=name,
                vmss_name=self.scope.vmss_name(name),
                mode=mode.capitalize(),
                vm_size=vm_size,
                zones=tuple(str(zone) for zone in zones),
                count=count,
                min_count=min_count,
                max_count=max_count,
                autoscale=autoscale,
                node_image_version=node_image_version,
                os_sku=os_sku,
                max_pods=max_pods,
                taints=tuple(taints),
                spot=spot,
                labels=dict(labels or {}),
                kubernetes_version=self.kubernetes_version,
                created_at=self.clock.now(),
                unique_id=str(uuid.UUID(int=self._rng.getrandbits(128))),
                eviction_policy=eviction_policy,
                os_disk_type=os_disk_type,
            )
            self._pools[name.lower()] = pool
            for index in range(count):  # round-robin over the zones (balanced, and O(n) for 5,000 nodes)
                zone = pool.zones[index % len(pool.zones)] if pool.zones else None
                inst = self._new_instance(pool, zone)
                inst.provisioning, inst.power, inst.guest = "succeeded", "running", Guest.UP
                self._emit_boot(inst)
            return pool

    def pools(self) -> list[Pool]:
        with self._lock:
            return list(self._pools.values())

    def pool(self, name: str) -> Pool:
        with self._lock:
            pool = self._pools.get(name.lower())
            if pool is None:
                raise not_found(_POOL_TYPE, f"{self.scope.cluster_name}/{name}", self.scope.resource_group)
            return pool

    def scale_set(self, vmss_name: str) -> Pool:
        """The pool behind a scale set, by the scale set's name."""
        with self._lock:
            for pool in self._pools.values():
                if pool.vmss_name.lower() == vmss_name.lower():
                    return pool
            raise not_found(_VMSS_TYPE, vmss_name, self.scope.node_resource_group)

    def vm(self, vmss_name: str, instance_id: str) -> Instance:
        with self._lock:
            pool = self.scale_set(vmss_name)
            inst = pool.instances.get(int(instance_id)) if instance_id.isdigit() else None
            if inst is None:
                raise not_found(
                    f"{_VMSS_TYPE}/virtualMachines", f"{vmss_name}/{instance_id}", self.scope.node_resource_group
                )
            return inst

    def instance(self, key: str | Instance) -> Instance:
        """An instance by node (computer) name, ARM VM name `<vmss>_<id>`, ARM id or provider ID."""
        with self._lock:
            if isinstance(key, Instance):
                if not self._alive(key):
                    raise KeyError(f"instance {key.vm_name} no longer exists")
                return key
            wanted = key.lower()
            for inst in self._all_instances():
                names = (inst.computer_name, inst.vm_name, self.scope.vm_id(inst.pool.vmss_name, inst.instance_id))
                if wanted in (name.lower() for name in names) or wanted == self.provider_id(inst).lower():
                    return inst
            raise KeyError(f"no instance named {key!r}")

    def instances(self, pool: str | None = None) -> list[Instance]:
        with self._lock:
            if pool is not None:
                return sorted(self.pool(pool).instances.values(), key=lambda inst: inst.instance_id)
            return list(self._all_instances())

    def operation(self, operation_id: str) -> Operation | None:
        with self._lock:
            return self._operations.get(operation_id)

    def provider_id(self, inst: Instance) -> str:
        return self.scope.provider_id(inst.pool.vmss_name, inst.instance_id)

    def machine_spec(self, inst: Instance) -> MachineSpec:
        pool = inst.pool
        cpu, memory = vm_capacity(pool.vm_size)
        taints = pool.taints + ((SPOT_TAINT,) if pool.spot and SPOT_TAINT not in pool.taints else ())
        return MachineSpec(
            node_name=inst.computer_name,
            provider_id=self.provider_id(inst),
            pool=pool.name,
            mode=pool.mode.lower(),
            region=self.scope.location,
            zone=f"{self.scope.location}-{inst.zone}" if inst.zone else "0",
            vm_size=pool.vm_size,
            image_version=inst.image_version,
            os_sku=pool.os_sku,
            cpu_millis=cpu,
            memory_mib=memory,
            max_pods=pool.max_pods,
            kubelet_version=f"v{pool.kubernetes_version}",
            taints=taints,
            spot=pool.spot,
            labels=dict(pool.labels),
        )

    def machines(self) -> list[tuple[MachineSpec, bool]]:
        """Every guest that is up now, with its health: what a freshly wired Kubernetes side should hold."""
        with self._lock:
            return [(self.machine_spec(i), i.healthy_image) for i in self._all_instances() if i.guest is Guest.UP]

    def zones_down(self) -> set[str]:
        with self._lock:
            return set(self._zones_down)

    def activity_log(self, selection: ActivityFilter | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return self.activity.query(selection or ActivityFilter())

    def scheduled_events(self, instance: str | Instance | None = None) -> dict[str, Any]:
        """The Scheduled Events document as IMDS serves it on `instance` (every VM of its scale set sees
        the events of its placement group); all events when `instance` is None."""
        with self._lock:
            if instance is None:
                return self.events.document()
            pool = self.instance(instance).pool
            return self.events.document({inst.vm_name for inst in pool.instances.values()})

    def availability_status(self, inst: Instance) -> dict[str, Any]:
        """Resource Health's `current` availabilityStatuses document of one instance (resource_health.py)."""
        with self._lock:
            frozen = self.events.started("Freeze", inst.vm_name)
            return resource_health.availability_status(self.scope, inst, now=self.clock.now(), frozen=frozen)

    def _all_instances(self) -> Iterator[Instance]:
        for pool in self._pools.values():
            yield from sorted(pool.instances.values(), key=lambda inst: inst.instance_id)

    def _alive(self, inst: Instance) -> bool:
        return inst.pool.instances.get(inst.instance_id) is inst

    # -- operations --------------------------------------------------------------------------------

    def _new_operation(
        self,
        *,
        provider: str,
        name: str,
        localized: str,
        resource_id: str,
        resource_group: str,
        resource_type: str,
        origin: Origin,
    ) -> Operation:
        op = Operation(
            id=str(uuid.uuid4()),
            provider=provider,
            operation_name=name,
            localized_name=localized,
            resource_id=resource_id,
            resource_group=resource_group,
            resource_type=resource_type,
            origin=origin,
            started_at=self.clock.now(),
            correlation_id=origin.correlation_id or str(uuid.uuid4()),
        )
        self._operations[op.id] = op
        self.activity.record(op, now=op.started_at)
        return op

    def _finish_part(self, op: Operation | None, error: dict[str, Any] | None = None) -> None:
        if op is None or op.done:
            return
        if error is not None and op.error is None:
            op.error = error
        op.remaining -= 1
        if op.remaining <= 0:
            self._finish_operation(op)

    def _finish_operation(self, op: Operation) -> None:
        op.status = "Failed" if op.error is not None else "Succeeded"
        op.ended_at = self.clock.now()
        self.activity.record(op, now=op.ended_at)
        for callback in op.on_done:
            callback(op)

    def _finish_soon(self, op: Operation) -> None:
        """An operation with no parts still completes asynchronously, as ARM's do."""
        self._detached_part(op, self.timings.noop)

    def _locked(self, fn: Callable[[], None]) -> None:
        with self._transaction():
            fn()

    def _after(self, inst: Instance, delay: float, fn: Callable[[], None]) -> None:
        """Run `fn` after `delay` unless the instance has since started another lifecycle or is gone."""
        epoch = inst.epoch

        def fire() -> None:
            with self._transaction():
                if inst.epoch == epoch and self._alive(inst):
                    fn()

        self.clock.call_later(delay, fire)

    def _claim(self, inst: Instance, op: Operation | None) -> None:
        """Make `op` the instance's in-flight operation, preempting the one before (as Compute does)."""
        previous, inst.part = inst.part, op
        inst.epoch += 1
        if previous is not None and previous is not op:
            self._finish_part(previous, operations.preempted())
        if op is not None:
            op.remaining += 1

    def _detached_part(self, op: Operation, delay: float, error: dict[str, Any] | None = None) -> None:
        """A part that ends after `delay` without touching the instance: a no-op, or doomed to fail."""
        op.remaining += 1
        self.clock.call_later(delay, lambda: self._locked(lambda: self._finish_part(op, error)))

    def _doom(self, op: Operation, error: dict[str, Any]) -> None:
        """A part that fails after a while (zone down, injected failure); the instance is left as it was."""
        self._detached_part(op, self.timings.failure, error)

    def _go_down(self, inst: Instance) -> None:
        if inst.guest is Guest.UP:
            self._emit_node(self._down_hooks, inst.computer_name)
        inst.guest = Guest.DOWN

    def _set(self, inst: Instance, *, provisioning: str | None = None, power: str | None = None) -> None:
        if provisioning is not None:
            inst.provisioning = provisioning
        if power is not None:
            inst.power = power
        inst.status_time = self.clock.now()

    def _bring_up(self, inst: Instance, total: float, op: Operation | None) -> None:
        """ARM reports running `boot` seconds before `total`; the kubelet registers at `total`."""
        azure_part = max(0.0, total - self.timings.boot)

        def running() -> None:
            self._set(inst, provisioning="succeeded", power="running")
            inst.failure_reason = None
            inst.guest = Guest.DOWN if inst.crashed else Guest.BOOTING
            if inst.part is op:
                inst.part = None
            self._finish_part(op)

        def booted() -> None:
            if inst.guest is Guest.BOOTING and not inst.crashed and not inst.zone_down:
                inst.guest = Guest.UP
                self._emit_boot(inst)

        self._after(inst, azure_part, running)
        self._after(inst, total, booted)

    def _settle(self, inst: Instance, delay: float, op: Operation | None, *, power: str) -> None:
        def settled() -> None:
            self._set(inst, provisioning="succeeded", power=power)
            if inst.part is op:
                inst.part = None
            self._finish_part(op)

        self._after(inst, delay, settled)

    def _check_allowed(self, action: Action, inst: Instance) -> None:
        if action is Action.DEALLOCATE and inst.pool.ephemeral:
            raise ArmError(409, "OperationNotAllowed", EPHEMERAL_DEALLOCATE)
        if inst.provisioning == "deleting":
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"Operation '{action}' is not allowed on VM '{inst.vm_name}' since it is being deleted.",
            )
        if action in _NEEDS_RUNNING and inst.power in ("stopped", "deallocated", "deallocating", "stopping"):
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"Operation '{action}' is not allowed on VM '{inst.vm_name}' since the VM is {inst.power}.",
            )
        if action is Action.POWER_OFF and inst.power in ("deallocated", "deallocating"):
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"Operation 'powerOff' is not allowed on VM '{inst.vm_name}' since the VM is deallocated.",
            )

    def _run(self, action: Action, inst: Instance, op: Operation | None) -> None:
        """Start `action`'s lifecycle on one instance, as part of `op` (None: the platform acting on its own)."""
        if op is not None and inst.zone_down:
            self._doom(op, operations.zone_unavailable(self.scope.location, inst.zone or ""))
            return
        if op is not None and self._failure_rate and self._rng.random() < self._failure_rate:
            self._doom(op, operations.internal_error())
            return
        t = self.timings
        if (
            (action is Action.START and inst.power in ("running", "starting"))
            or (action is Action.DEALLOCATE and inst.power == "deallocated")
            or (action is Action.POWER_OFF and inst.power == "stopped")
        ):
            # Nothing to do: the operation still completes, and whatever the instance is doing goes on.
            if op is not None:
                self._detached_part(op, t.noop)
            return
        self._claim(inst, op)
        inst.cause = "user" if op is not None else "platform"
        self._go_down(inst)
        if action in _REBOOTS or action is Action.START:
            inst.crashed = False
            inst.fresh_disk = action in (Action.REIMAGE, Action.REIMAGE_ALL)
            if action in (Action.REIMAGE, Action.REIMAGE_ALL):
                inst.image_version = inst.pool.node_image_version
                inst.healthy_image = not inst.pool.bad_image
            self._set(inst, provisioning="updating", power="starting")
            total = {
                Action.RESTART: t.restart,
                Action.REDEPLOY: t.redeploy,
                Action.REIMAGE: t.reimage,
                Action.REIMAGE_ALL: t.reimage,
                Action.START: t.start,
            }[action]
            self._bring_up(inst, total, op)
        elif action is Action.POWER_OFF:
            self._set(inst, provisioning="updating", power="stopping")
            self._settle(inst, t.power_off, op, power="stopped")
        elif action is Action.DEALLOCATE:
            self._set(inst, provisioning="updating", power="deallocating")
            self._settle(inst, t.deallocate, op, power="deallocated")
        else:  # DELETE
            self._set(inst, provisioning="deleting", power="stopping")

            def removed() -> None:
                if inst.part is op:
                    inst.part = None
                del inst.pool.instances[inst.instance_id]
                self._emit_node(self._removed_hooks, inst.computer_name)
                self._finish_part(op)

            self._after(inst, t.delete, removed)

    def act(
        self,
        action: Action | str,
        instance: str | Instance,
        *,
        origin: Origin = Origin(),  # noqa: B008 - frozen dataclass
    ) -> Operation:
        """Python-API shortcut for a per-instance action: `state.act("restart", "aks-…-vmss000001")`."""
        with self._transaction():
            inst = self.instance(instance)
            return self.instance_action(Action(action), inst.pool.vmss_name, str(inst.instance_id), origin=origin)

    def instance_action(self, action: Action, vmss_name: str, instance_id: str, *, origin: Origin) -> Operation:
        """`POST .../virtualMachines/{id}/{action}` (or DELETE): one instance, one operation."""
        with self._transaction():
            inst = self.vm(vmss_name, instance_id)
            self._check_allowed(action, inst)
            name = f"{_VM_TYPE}/delete" if action is Action.DELETE else f"{_VM_TYPE}/{action.value}/action"
            op = self._new_operation(
                provider="Microsoft.Compute",
                name=name,
                localized=f"{_LOCALIZED[action]} Virtual Machine Scale Set VM",
                resource_id=self.scope.vm_id(inst.pool.vmss_name, inst.instance_id),
                resource_group=self.scope.node_resource_group,
                resource_type=_VM_TYPE,
                origin=origin,
            )
            if action is Action.DELETE:
                inst.pool.count = max(0, inst.pool.count - 1)
            self._run(action, inst, op)
            return op

    def simulate_eviction(self, vmss_name: str, instance_id: str, *, origin: Origin) -> dict[str, Any]:
        """`POST .../virtualMachines/{id}/simulateEviction`: no operation to poll (ARM answers 204 at once), then
        a Preempt Scheduled Event and, at its NotBefore, the eviction per the pool's policy. Returns the event."""
        with self._transaction():
            inst = self.vm(vmss_name, instance_id)
            why = None if inst.pool.spot else "it is not a Spot VM"
            if why is None and inst.provisioning == "deleting":
                why = "it is being deleted"
            elif why is None and inst.power not in ("running", "starting"):
                why = f"the VM is {inst.power}"
            if why is not None:
                raise ArmError(
                    409,
                    "OperationNotAllowed",
                    f"Operation 'simulateEviction' is not allowed on VM '{inst.vm_name}' since {why}.",
                )
            op = self._new_operation(
                provider="Microsoft.Compute",
                name=f"{_VM_TYPE}/simulateEviction/action",
                localized="Simulate Eviction Virtual Machine Scale Set VM",
                resource_id=self.scope.vm_id(inst.pool.vmss_name, inst.instance_id),
                resource_group=self.scope.node_resource_group,
                resource_type=_VM_TYPE,
                origin=origin,
            )
            self._finish_operation(op)
            return self.planned_maintenance(inst, event_type="Preempt", not_before_seconds=PREEMPT_NOTICE)

    def batch_action(
        self, action: Action, vmss_name: str, instance_ids: Sequence[str] | None, *, origin: Origin
    ) -> Operation:
        """`POST .../virtualMachineScaleSets/{vmss}/{action}` with `{"instanceIds": [...]}` (omitted: all VMs)."""
        with self._transaction():
            pool = self.scale_set(vmss_name)
            if instance_ids is None:
                if action is Action.DELETE:
                    raise ArmError(400, "InvalidParameter", "Required parameter 'instanceIds' is missing (null).")
                targets = sorted(pool.instances.values(), key=lambda inst: inst.instance_id)
            else:
                targets = [self.vm(vmss_name, str(i)) for i in dict.fromkeys(str(i) for i in instance_ids)]
            for inst in targets:
                self._check_allowed(action, inst)
            op = self._new_operation(
                provider="Microsoft.Compute",
                name=f"{_VMSS_TYPE}/{action.value}/action",
                localized=f"{_LOCALIZED[action]} Virtual Machine Scale Set",
                resource_id=self.scope.vmss_id(pool.vmss_name),
                resource_group=self.scope.node_resource_group,
                resource_type=_VMSS_TYPE,
                origin=origin,
            )
            if action is Action.DELETE:
                pool.count = max(0, pool.count - len(targets))
            for inst in targets:
                self._run(action, inst, op)
            if op.remaining == 0:
                self._finish_soon(op)
            return op

    # -- pools -------------------------------------------------------------------------------------

    def _pool_operation(self, pool: Pool, *, name: str, localized: str, origin: Origin) -> Operation:
        op = self._new_operation(
            provider="Microsoft.ContainerService",
            name=name,
            localized=localized,
            resource_id=self.scope.pool_id(pool.name),
            resource_group=self.scope.resource_group,
            resource_type=_POOL_TYPE,
            origin=origin,
        )
        pool.provisioning = "Scaling"

        def done(op: Operation) -> None:
            pool.provisioning = "Succeeded" if op.status == "Succeeded" else "Failed"

        op.on_done.append(done)
        return op

    def scale_pool(
        self,
        pool_name: str,
        count: int,
        *,
        origin: Origin = Origin(),  # noqa: B008 - frozen dataclass
        autoscale: bool | None = None,
        min_count: int | None = None,
        max_count: int | None = None,
    ) -> Operation:
        """Set the pool's count: new instances are created (zone-balanced), surplus ones deleted."""
        with self._transaction():
            pool = self.pool(pool_name)
            if count < 0:
                raise ArmError(
                    400, "InvalidParameter", f"The value of parameter agentPoolProfile.count is invalid: {count}."
                )
            op = self._pool_operation(
                pool,
                name=f"{_POOL_TYPE}/write",
                localized="Create or Update Agent Pool",
                origin=origin,
            )
            if autoscale is not None:
                pool.autoscale = autoscale
            pool.min_count = min_count if min_count is not None else pool.min_count
            pool.max_count = max_count if max_count is not None else pool.max_count
            pool.count = count
            current = [inst for inst in pool.instances.values() if inst.provisioning != "deleting"]
            for _ in range(count - len(current)):
                self._create(pool, op)
            for inst in self._scale_in_victims(pool, len(current) - count):
                self._run(Action.DELETE, inst, op)
            if op.remaining == 0:
                self._finish_soon(op)
            return op

    def delete_machines(self, pool_name: str, machine_names: Sequence[str], *, origin: Origin) -> Operation:
        """AKS `deleteMachines`: delete these machines (node names) and lower the pool's count."""
        with self._transaction():
            pool = self.pool(pool_name)
            by_name = {inst.computer_name.lower(): inst for inst in pool.instances.values()}
            targets = []
            for machine in dict.fromkeys(machine_names):
                inst = by_name.get(machine.lower())
                if inst is None:
                    raise ArmError(
                        400, "InvalidParameter", f"Machine '{machine}' is not found in agent pool '{pool.name}'."
                    )
                targets.append(inst)
            op = self._pool_operation(
                pool,
                name=f"{_POOL_TYPE}/deleteMachines/action",
                localized="Delete Machines in Agent Pool",
                origin=origin,
            )
            pool.count = max(0, pool.count - len(targets))
            for inst in targets:
                if inst.provisioning != "deleting":
                    self._run(Action.DELETE, inst, op)
            if op.remaining == 0:
                self._finish_soon(op)
            return op

    def update_cluster(
        self,
        *,
        properties: Mapping[str, Any],
        tags: Mapping[str, str] | None,
        origin: Origin = Origin(method="PUT"),  # noqa: B008 - frozen dataclass
    ) -> Operation:
        """A managed-cluster PUT: settings merge in when the operation completes (`Updating` until then)."""
        with self._transaction():
            op = self._new_operation(
                provider="Microsoft.ContainerService",
                name=f"{_CLUSTER_TYPE}/write",
                localized="Create or Update Managed Cluster",
                resource_id=self.scope.cluster_id,
                resource_group=self.scope.resource_group,
                resource_type=_CLUSTER_TYPE,
                origin=origin,
            )
            self.cluster_provisioning = "Updating"
            settings = copy.deepcopy(dict(properties))

            def apply() -> None:
                self.cluster_properties.update(settings)
                if tags is not None:
                    self.cluster_tags = dict(tags)
                self.cluster_provisioning = "Succeeded"
                self._finish_part(op)

            op.remaining += 1
            self.clock.call_later(self.timings.cluster_update, lambda: self._locked(apply))
            return op

    def _new_instance(self, pool: Pool, zone: str | None) -> Instance:
        inst = Instance(
            pool=pool,
            instance_id=pool.next_instance_id,
            zone=zone,
            vm_id=str(uuid.UUID(int=self._rng.getrandbits(128))),
            created_at=self.clock.now(),
            image_version=pool.node_image_version,
            healthy_image=not pool.bad_image,
            status_time=self.clock.now(),
        )
        pool.next_instance_id += 1
        pool.instances[inst.instance_id] = inst
        return inst

    def _create(self, pool: Pool, op: Operation) -> None:
        zone = self._pick_zone(pool, avoid_down=True)
        inst = self._new_instance(pool, zone)
        if zone is not None and zone in self._zones_down:
            inst.zone_down = True
            self._set(inst, provisioning="failed", power="stopped")
            inst.failure_reason = "ZonalAllocationFailed"
            self._doom(op, operations.zone_unavailable(self.scope.location, zone))
            return
        self._claim(inst, op)
        self._bring_up(inst, self.timings.create, op)

    def _pick_zone(self, pool: Pool, *, avoid_down: bool) -> str | None:
        """The zone with the fewest instances (VMSS best-effort zone balance), skipping zones that are down."""
        if not pool.zones:
            return None
        candidates = [zone for zone in pool.zones if not (avoid_down and zone in self._zones_down)] or list(pool.zones)
        load = dict.fromkeys(candidates, 0)
        for inst in pool.instances.values():
            if inst.zone in load and inst.provisioning != "deleting":
                load[inst.zone] += 1
        return min(candidates, key=lambda zone: (load[zone], pool.zones.index(zone)))

    def _scale_in_victims(self, pool: Pool, surplus: int) -> list[Instance]:
        """VMSS default scale-in policy: keep zones balanced, then remove the highest instance id."""
        remaining = [inst for inst in pool.instances.values() if inst.provisioning != "deleting"]
        victims: list[Instance] = []
        for _ in range(max(0, surplus)):
            per_zone: dict[str | None, list[Instance]] = {}
            for inst in remaining:
                per_zone.setdefault(inst.zone, []).append(inst)
            fullest = max(per_zone.values(), key=lambda group: (len(group), max(i.instance_id for i in group)))
            victim = max(fullest, key=lambda inst: inst.instance_id)
            victims.append(victim)
            remaining.remove(victim)
        return victims

    # -- faults ------------------------------------------------------------------------------------

    def crash(self, instance: str | Instance, *, recover_after: float | None = None) -> None:
        """The guest dies (kernel panic, host failure): ARM still says running, the kubelet goes silent.
        It stays down until a restart, reimage, redeploy or start — or `recover_after` seconds of
        service healing."""
        with self._transaction():
            inst = self.instance(instance)
            inst.crashed = True
            inst.cause = "platform"
            self._go_down(inst)
            inst.status_time = self.clock.now()
            if recover_after is not None:
                self.clock.call_later(recover_after, lambda: self._locked(lambda: self._heal(inst)))

    def heal(self, instance: str | Instance) -> bool:
        """Service healing now, for a crashed instance (`twin clear instance-crash`); False when it has not crashed."""
        with self._transaction():
            inst = self.instance(instance)
            if not inst.crashed:
                return False
            self._heal(inst)
            return True

    def _heal(self, inst: Instance) -> None:
        """Service healing: the platform reboots a VM it found broken."""
        if self._alive(inst) and inst.crashed and inst.power in ("running", "starting"):
            self._platform(Action.RESTART, inst)

    def _platform(self, action: Action, inst: Instance) -> None:
        """The platform acts on its own: no operation, no Activity Log entry."""
        if not self._alive(inst) or inst.zone_down or inst.provisioning == "deleting":
            return
        if action is Action.DELETE:
            inst.pool.count = max(0, inst.pool.count - 1)
        self._run(action, inst, None)

    def _zone(self, zone: str | int) -> str:
        text = str(zone)
        prefix = f"{self.scope.location}-"
        return text[len(prefix) :] if text.lower().startswith(prefix.lower()) else text

    def zone_outage(self, zone: str | int) -> None:
        """Every instance in the zone goes down; in-flight operations there fail; new ones fail until restore."""
        with self._transaction():
            zone = self._zone(zone)
            self._zones_down.add(zone)
            for inst in self._all_instances():
                if inst.zone != zone:
                    continue
                inst.zone_down = True
                inst.epoch += 1
                inst.power = {"stopping": "stopped", "deallocating": "deallocated", "starting": "running"}.get(
                    inst.power, inst.power
                )
                if inst.part is not None:
                    op, inst.part = inst.part, None
                    self._set(inst, provisioning="failed")
                    inst.failure_reason = "ZonalAllocationFailed"
                    self._finish_part(op, operations.zone_unavailable(self.scope.location, zone))
                self._go_down(inst)
                inst.status_time = self.clock.now()

    def zone_restore(self, zone: str | int) -> None:
        """The zone comes back: its running VMs are rebooted by the platform and their kubelets return."""
        with self._transaction():
            zone = self._zone(zone)
            self._zones_down.discard(zone)
            for inst in list(self._all_instances()):
                if inst.zone != zone or not inst.zone_down:
                    continue
                inst.zone_down = False
                if inst.power == "running" and inst.provisioning != "deleting":
                    self._run(Action.RESTART, inst, None)

    def bad_image(self, pool: str, on: bool = True, *, image_version: str | None = None) -> None:
        """Instances of `pool` created or reimaged from now on never become Ready. With `image_version`, the
        pool's node image moves to it (a bad rollout); switching off moves it back."""
        with self._lock:
            target = self.pool(pool)
            target.bad_image = on
            if on and image_version is not None:
                target.good_image_version = target.node_image_version
                target.node_image_version = image_version
            elif not on and target.good_image_version is not None:
                target.node_image_version, target.good_image_version = target.good_image_version, None

    def planned_maintenance(
        self, instance: str | Instance, event_type: str = "Reboot", not_before_seconds: float = 900
    ) -> dict[str, Any]:
        """Post a Scheduled Event for the instance; at NotBefore the platform carries it out. Returns the event."""
        with self._lock:
            inst = self.instance(instance)
            duration = {
                "Reboot": int(self.timings.restart),
                "Redeploy": int(self.timings.redeploy),
                "Freeze": 5,
            }.get(event_type, -1)
            not_before = self.clock.now() + timedelta(seconds=not_before_seconds)
            event = self.events.schedule(event_type, inst.vm_name, not_before, duration)
            self.clock.call_later(not_before_seconds, lambda: self._locked(lambda: self._begin_event(event)))
            return event.document()

    def approve_event(self, event_id: str) -> None:
        """`POST /metadata/scheduledevents` StartRequests: the VM lets the event start before NotBefore."""
        with self._transaction():
            event = self.events.get(event_id)
            if event is not None:
                self._begin_event(event)

    def _begin_event(self, event: ScheduledEvent) -> None:
        if self.events.get(event.event_id) is not event or event.status != "Scheduled":
            return
        self.events.mark_started(event)
        try:
            inst = self.instance(event.vm_name)
        except KeyError:
            self.events.remove(event)
            return
        evict = Action.DEALLOCATE if inst.pool.eviction_policy == "Deallocate" else Action.DELETE
        action = {
            "Reboot": Action.RESTART,
            "Redeploy": Action.REDEPLOY,
            "Preempt": evict,  # a Spot eviction, per the pool's eviction policy
            "Terminate": Action.DELETE,
        }
        if event.event_type in action:
            self._platform(action[event.event_type], inst)
            if event.event_type in ("Reboot", "Redeploy"):  # maintenance; a Preempt or Terminate is not planned
                inst.cause = "planned"
        lasts = max(1.0, float(event.duration_seconds if event.duration_seconds > 0 else self.timings.delete))
        self.clock.call_later(lasts, lambda: self._locked(lambda: self.events.remove(event)))

    def throttle(self, rate_or_on: float | bool, *, requests: int | None = None, retry_after: int = 5) -> None:
        """ARM answers 429 to this share of requests (True = all, False/0 = none); `requests` limits how many."""
        with self._lock:
            self._throttle_rate = float(rate_or_on)
            self._throttle_budget = requests
            self.throttle_retry_after = max(1, retry_after)

    def arm_errors(self, rate: float) -> None:
        """This share of ARM requests fails with 500 or 503 (transient; the SDK retries them)."""
        with self._lock:
            self._error_rate = rate

    def fail_operations(self, rate: float) -> None:
        """This share of accepted instance operations ends `Failed` (InternalExecutionError)."""
        with self._lock:
            self._failure_rate = rate

    def draw_throttle(self) -> bool:
        """Should this request be throttled? Consumes the `requests` budget of `throttle`."""
        with self._lock:
            if self._throttle_rate <= 0 or self._rng.random() >= self._throttle_rate:
                return False
            if self._throttle_budget is not None:
                if self._throttle_budget <= 0:
                    return False
                self._throttle_budget -= 1
            return True

    def draw_error(self) -> bool:
        with self._lock:
            return self._error_rate > 0 and self._rng.random() < self._error_rate

    def now(self) -> datetime:
        return self.clock.now()
