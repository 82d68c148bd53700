"""The fault catalogue: what can go wrong in the twin, and how each fault is applied to the world.

Each fault is one small function plus metadata, injectable from a scenario schedule, from
`nodewarden twin inject`, or from the Python API (`twin.inject("instance-crash", target=node)`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from nodewarden.twin.world import World

TargetKind = Literal["node", "pool", "zone", "none"]
Options = Mapping[str, Any]


class FaultError(Exception):
    """An unknown fault, a missing or unknown target, or a bad option."""


@dataclass(frozen=True)
class Fault:
    name: str
    target: TargetKind
    description: str
    apply: Callable[[World, str | None, Options], None]


def _node_condition(kind: str, reason: str, message: str) -> Callable[[World, str | None, Options], None]:
    def apply(world: World, target: str | None, options: Options) -> None:
        world.kube.set_condition(world.node(target), kind, str(options.get("status", "True")), reason, message)

    return apply


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
    ),
    Fault(
        "kubelet-hang",
        "node",
        "The VM stays up but its kubelet stops heartbeating (no lease renewals, no status).",
        lambda world, target, options: world.kube.kubelet_hang(world.node(target)),
    ),
    Fault(
        "disk-pressure",
        "node",
        "The kubelet reports DiskPressure (the node's disk is nearly full).",
        _node_condition("DiskPressure", "KubeletHasDiskPressure", "kubelet has disk pressure"),
    ),
    Fault(
        "kernel-deadlock",
        "node",
        "node-problem-detector reports KernelDeadlock, as it does for a hung task in the kernel.",
        _node_condition("KernelDeadlock", "DockerHung", "kernel: INFO: task docker blocked for more than 120 seconds."),
    ),
    Fault(
        "readonly-filesystem",
        "node",
        "node-problem-detector reports ReadonlyFilesystem: the root filesystem was remounted read-only.",
        _node_condition("ReadonlyFilesystem", "FilesystemIsReadOnly", "Filesystem is read-only"),
    ),
    Fault(
        "zone-outage",
        "zone",
        "Every instance in one availability zone goes down and operations there fail until zone-restore.",
        lambda world, target, options: world.azure.zone_outage(world.zone(target)),
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
    ),
    Fault(
        "arm-errors",
        "none",
        "A share of ARM calls fail with 500/503 (option rate, default 0.2).",
        lambda world, target, options: world.azure.arm_errors(_rate(options, 0.2)),
    ),
    Fault(
        "kube-errors",
        "none",
        "A share of Kubernetes API calls fail with 500/503 (option rate, default 0.2).",
        lambda world, target, options: world.kube.error_rate(_rate(options, 0.2)),
    ),
    Fault(
        "watch-drop",
        "none",
        "Every open Kubernetes watch is closed, as when an API server restarts.",
        lambda world, target, options: world.kube.drop_watches(),
    ),
)

BY_NAME = {fault.name: fault for fault in CATALOGUE}


def inject(world: World, name: str, target: str | None = None, options: Options | None = None) -> None:
    fault = BY_NAME.get(name)
    if fault is None:
        raise FaultError(f"no fault {name!r}; known: {', '.join(BY_NAME)}")
    if fault.target != "none" and not target:
        raise FaultError(f"fault {name} needs --target (a {fault.target})")
    fault.apply(world, target, options or {})
