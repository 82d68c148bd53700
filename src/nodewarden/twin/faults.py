"""The fault catalogue: what can go wrong in the twin, and how each fault is applied to the world.

Each fault is one small function plus metadata, injectable from a scenario schedule, from
`nodewarden twin inject`, or from the Python API (`twin.inject("instance-crash", target=node)`).
A fault that lasts until someone ends it also has a `clear` (`nodewarden twin clear`, `twin.clear(...)`),
which takes it out as the world would heal: the platform reboots a crashed VM, a hung kubelet resumes,
a condition goes False, a rate goes to 0. The world remembers which of those are in (`World.active_faults`)
so `clear_all` can take every one out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from nodewarden.twin.world import World

TargetKind = Literal["node", "pool", "zone", "none"]
Options = Mapping[str, Any]
Clear = Callable[["World", str], str]  # takes the fault out of a resolved target; says what it did


class FaultError(Exception):
    """An unknown fault, a missing or unknown target, or a bad option."""


@dataclass(frozen=True)
class Fault:
    name: str
    target: TargetKind
    description: str
    apply: Callable[[World, str | None, Options], None]
    clear: Clear | None = None  # None: it ends on its own, or it is itself an end (zone-restore)


def _node_condition(kind: str, reason: str, message: str) -> Callable[[World, str | None, Options], None]:
    def apply(world: World, target: str | None, options: Options) -> None:
        world.kube.set_condition(world.node(target), kind, str(options.get("status", "True")), reason, message)

    return apply


def _condition_gone(kind: str, reason: str, message: str) -> Clear:
    """The condition reported False, with the reason node-problem-detector (or the kubelet) gives then."""

    def clear(world: World, target: str) -> str:
        world.kube.set_condition(target, kind, "False", reason, message)
        return f"{kind} is False on {target}"

    return clear


def _heal_instance(world: World, target: str) -> str:
    if not world.azure.heal(world.instance_of(target)):
        return f"nothing to clear: {target}'s instance has not crashed"
    return f"the platform reboots {target}'s instance (service healing)"


def _kubelet_resumes(world: World, target: str) -> str:
    world.kube.recover(target)
    return f"the kubelet on {target} resumes"


def _rate_off(name: str, switch: Callable[[World], None]) -> Clear:
    def clear(world: World, target: str) -> str:
        switch(world)
        return f"{name} off (rate 0)"

    return clear


def _bad_image_off(world: World, target: str) -> str:
    world.azure.bad_image(target, on=False)
    return f"bad-image off for pool {target}"


def _zone_back(world: World, target: str) -> str:
    world.azure.zone_restore(target)
    return f"zone {target} restored"


def _rate(options: Options, default: float) -> float:
    value = float(options.get("rate", default))
    if not 0.0 <= value <= 1.0:
        raise FaultError(f"rate must be between 0 and 1, found {value}")
    return value


def _flag(value: object) -> bool:
    """An option that is on or off: JSON true/false, or `on=false` from the command line."""
    if isinstance(value, str):
        if value.strip().lower() in ("true", "1", "yes", "on"):
            return True
        if value.strip().lower() in ("false", "0", "no", "off"):
            return False
        raise FaultError(f"expected true or false, found {value!r}")
    return bool(value)


def _planned_maintenance(world: World, target: str | None, options: Options) -> None:
    world.azure.planned_maintenance(
        world.instance_of(target),
        event_type=str(options.get("event_type", "Reboot")),
        not_before_seconds=int(options.get("not_before_seconds", 900)),
    )


CATALOGUE: tuple[Fault, ...] = (
    Fault(
        "instance-crash",
        "node",
        "The VMSS instance under a node stops dead; its kubelet goes silent until the instance is restarted.",
        lambda world, target, options: world.azure.crash(world.instance_of(target)),
        _heal_instance,
    ),
    Fault(
        "kubelet-hang",
        "node",
        "The VM stays up but its kubelet stops heartbeating (no lease renewals, no status).",
        lambda world, target, options: world.kube.kubelet_hang(world.node(target)),
        _kubelet_resumes,
    ),
    Fault(
        "disk-pressure",
        "node",
        "The kubelet reports DiskPressure (the node's disk is nearly full).",
        _node_condition("DiskPressure", "KubeletHasDiskPressure", "kubelet has disk pressure"),
        _condition_gone("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ),
    Fault(
        "kernel-deadlock",
        "node",
        "node-problem-detector reports KernelDeadlock, as it does for a hung task in the kernel.",
        _node_condition("KernelDeadlock", "DockerHung", "kernel: INFO: task docker blocked for more than 120 seconds."),
        _condition_gone("KernelDeadlock", "KernelHasNoDeadlock", "kernel has no deadlock"),
    ),
    Fault(
        "readonly-filesystem",
        "node",
        "node-problem-detector reports ReadonlyFilesystem: the root filesystem was remounted read-only.",
        _node_condition("ReadonlyFilesystem", "FilesystemIsReadOnly", "Filesystem is read-only"),
        _condition_gone("ReadonlyFilesystem", "FilesystemIsNotReadOnly", "Filesystem is not read-only"),
    ),
    Fault(
        "zone-outage",
        "zone",
        "Every instance in one availability zone goes down and operations there fail until zone-restore.",
        lambda world, target, options: world.azure.zone_outage(world.zone(target)),
        _zone_back,
    ),
    Fault(
        "zone-restore",
        "zone",
        "Ends a zone outage: the zone's instances boot again.",
        lambda world, target, options: world.azure.zone_restore(world.zone(target)),
    ),
    Fault(
        "bad-image",
        "pool",
        "Instances of the pool created or reimaged from now on never become Ready (a bad node image).",
        lambda world, target, options: world.azure.bad_image(world.pool(target), on=_flag(options.get("on", True))),
        _bad_image_off,
    ),
    Fault(
        "planned-maintenance",
        "node",
        "A Scheduled Event (Reboot by default) with a NotBefore deadline, then the platform reboots the instance.",
        lambda world, target, options: _planned_maintenance(world, target, options),
    ),
    Fault(
        "arm-throttle",
        "none",
        "ARM answers 429 with Retry-After and x-ms-ratelimit headers (option rate, default 1.0).",
        lambda world, target, options: world.azure.throttle(_rate(options, 1.0)),
        _rate_off("arm-throttle", lambda world: world.azure.throttle(0.0)),
    ),
    Fault(
        "arm-errors",
        "none",
        "A share of ARM calls fail with 500/503 (option rate, default 0.2).",
        lambda world, target, options: world.azure.arm_errors(_rate(options, 0.2)),
        _rate_off("arm-errors", lambda world: world.azure.arm_errors(0.0)),
    ),
    Fault(
        "kube-errors",
        "none",
        "A share of Kubernetes API calls fail with 500/503 (option rate, default 0.2).",
        lambda world, target, options: world.kube.error_rate(_rate(options, 0.2)),
        _rate_off("kube-errors", lambda world: world.kube.error_rate(0.0)),
    ),
    Fault(
        "watch-drop",
        "none",
        "Every open Kubernetes watch is closed, as when an API server restarts.",
        lambda world, target, options: world.kube.drop_watches(),
    ),
)

BY_NAME = {fault.name: fault for fault in CATALOGUE}


def _fault(name: str, target: str | None) -> Fault:
    fault = BY_NAME.get(name)
    if fault is None:
        raise FaultError(f"no fault {name!r}; known: {', '.join(BY_NAME)}")
    if fault.target != "none" and not target:
        raise FaultError(f"fault {name} needs --target (a {fault.target})")
    return fault


def _resolve(world: World, fault: Fault, target: str | None) -> str:
    """The target as the world names it (a node by name, a zone by number), "" for a fault without one."""
    resolvers = {"node": world.node, "zone": world.zone, "pool": world.pool}
    return resolvers[fault.target](target) if fault.target in resolvers else ""


def inject(world: World, name: str, target: str | None = None, options: Options | None = None) -> None:
    fault = _fault(name, target)
    fault.apply(world, target, options or {})
    if name == "zone-restore":  # the end of a zone outage, injected as a fault of its own
        world.active_faults.pop(("zone-outage", _resolve(world, fault, target)), None)
    elif fault.clear is not None:
        world.active_faults[(name, _resolve(world, fault, target))] = None


def clear(world: World, name: str, target: str | None = None) -> str:
    """Take one fault out of its target; a sentence saying what happened."""
    fault = _fault(name, target)
    if fault.clear is None:
        raise FaultError(f"fault {name} has nothing to clear: it ends on its own or is itself an end")
    resolved = _resolve(world, fault, target)
    world.active_faults.pop((name, resolved), None)
    return fault.clear(world, resolved)


def clear_all(world: World) -> list[str]:
    """Take out every fault that is still in, oldest first; one sentence each."""
    done = []
    for name, target in list(world.active_faults):
        try:
            done.append(clear(world, name, target or None))
        except FaultError as exc:  # its target is gone (a node deleted meanwhile): nothing left to clear
            world.active_faults.pop((name, target), None)
            done.append(f"nothing to clear for {name} on {target}: {exc}")
    return done
