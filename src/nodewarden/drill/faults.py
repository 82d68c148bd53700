"""The faults a drill can inject, and where one lands: the catalogue and target resolution, refusing the out-of-scope.

Twin faults (`Where.TWIN`) are the twin's own catalogue (`nodewarden twin faults`), reached through its admin
endpoint; the product never imports the twin, so the table is repeated here and a test keeps the two equal.
API faults (`Where.API`) are the ones an operator can cause safely on a real cluster through ARM and the
Kubernetes API. `check` judges what needs no cluster (the fault's name, options, target fields and scope) and is
the one validation `drill check` and `drill run` share; `resolve` runs it, then turns the fault and target into
the node, pool or zone it hits, and refuses (DrillError) anything outside the drill's scope before a single call
is made. Pure: a spec and a snapshot in.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from nodewarden.drill.spec import LONGEST, Drill, DrillError, DrillSpec, Scope, Target, zone_matches
from nodewarden.heal import durations
from nodewarden.model import aks, selectors
from nodewarden.model.kube import Node
from nodewarden.model.node_place import NodePlace
from nodewarden.model.snapshot import Snapshot

TargetKind = Literal["node", "pool", "zone", "none"]
TIMEOUT = "timeout_seconds"  # how long an API fault's ARM operation or drain may take (see inject.py)
GRACE = "grace_period_seconds"  # node-drain: the evicted pods' termination grace period
MOST_SECONDS = int(LONGEST.total_seconds())  # a drill waits at most a day (drill/spec.py); so do its options
# IMDS Scheduled Events' EventType, as the twin's `azure/scheduled_events.py` has them (a test keeps the two equal)
EVENT_TYPES = ("Freeze", "Reboot", "Redeploy", "Preempt", "Terminate")
CONDITION_STATUSES = ("True", "False", "Unknown")  # a node condition's status
FLAGS = ("true", "false", "on", "off", "yes", "no", "1", "0")  # how the twin's admin endpoint reads `on`
DEALLOCATE = "instance-deallocate"  # refused on pools with ephemeral OS disks (Azure cannot deallocate them)


class Where(StrEnum):
    TWIN = "twin"  # needs a twin (its admin endpoint)
    API = "api"  # any cluster, through ARM and the Kubernetes API


@dataclass(frozen=True)
class FaultKind:
    name: str
    target: TargetKind
    where: Where
    description: str
    undo: str  # what rolling the fault back does
    options: tuple[str, ...] = ()  # the keys spec.fault.options may hold


_RESTART = "restart the instance (start it if it is stopped) unless its node is Ready again"
_CLEAR = "report the condition False again"
_RATE = "the same fault with rate 0"

CATALOGUE: tuple[FaultKind, ...] = (
    FaultKind(
        "instance-crash", "node", Where.TWIN,
        "The VMSS instance under a node stops dead; its kubelet goes silent until the instance is restarted.",
        _RESTART,
    ),
    FaultKind(
        "kubelet-hang", "node", Where.TWIN,
        "The VM stays up but its kubelet stops heartbeating (no lease renewals, no status).", _RESTART,
    ),
    FaultKind(
        "disk-pressure", "node", Where.TWIN, "The kubelet reports DiskPressure (the node's disk is nearly full).",
        _CLEAR, ("status",),
    ),
    FaultKind(
        "kernel-deadlock", "node", Where.TWIN,
        "node-problem-detector reports KernelDeadlock, as it does for a hung task in the kernel.", _CLEAR, ("status",),
    ),
    FaultKind(
        "readonly-filesystem", "node", Where.TWIN,
        "node-problem-detector reports ReadonlyFilesystem: the root filesystem was remounted read-only.",
        _CLEAR, ("status",),
    ),
    FaultKind(
        "zone-outage", "zone", Where.TWIN,
        "Every instance in one availability zone goes down and operations there fail until zone-restore.",
        "zone-restore",
    ),
    FaultKind(
        "zone-restore", "zone", Where.TWIN, "Ends a zone outage: the zone's instances boot again.",
        "nothing: zone-restore is itself an undo",
    ),
    FaultKind(
        "bad-image", "pool", Where.TWIN,
        "Instances of the pool created or reimaged from now on never become Ready (a bad node image).",
        "bad-image with on=false", ("on",),
    ),
    FaultKind(
        "planned-maintenance", "node", Where.TWIN,
        "A Scheduled Event (Reboot by default) with a NotBefore deadline, then the platform reboots the instance.",
        "nothing: the Scheduled Event runs its course", ("event_type", "not_before_seconds"),
    ),
    FaultKind(
        "arm-throttle", "none", Where.TWIN,
        "ARM answers 429 with Retry-After and x-ms-ratelimit headers (option rate, default 1.0).", _RATE, ("rate",),
    ),
    FaultKind(
        "arm-errors", "none", Where.TWIN, "A share of ARM calls fail with 500/503 (option rate, default 0.2).",
        _RATE, ("rate",),
    ),
    FaultKind(
        "kube-errors", "none", Where.TWIN,
        "A share of Kubernetes API calls fail with 500/503 (option rate, default 0.2).", _RATE, ("rate",),
    ),
    FaultKind(
        "watch-drop", "none", Where.TWIN, "Every open Kubernetes watch is closed, as when an API server restarts.",
        "nothing: watches reconnect on their own",
    ),
    FaultKind(
        "instance-stop", "node", Where.API,
        "Power off the node's scale-set instance without a shutdown (skipShutdown), as a host failure would.",
        _RESTART, (TIMEOUT,),
    ),
    FaultKind(
        "instance-deallocate", "node", Where.API,
        "Deallocate the node's scale-set instance (not in pools with ephemeral OS disks: Azure can't).",
        "start the instance if it still exists and is not running", (TIMEOUT,),
    ),
    FaultKind(
        "node-drain", "node", Where.API,
        "Cordon the node and evict its pods through the Eviction API (PodDisruptionBudgets are respected).",
        "uncordon the node", (TIMEOUT, GRACE),
    ),
    FaultKind(
        "spot-eviction", "node", Where.API,
        "Simulate the eviction of a Spot instance (simulateEviction): a Preempt Scheduled Event, then eviction.",
        "start the instance if it still exists (Deallocate policy) and is not running",
    ),
)  # fmt: skip

BY_NAME = {kind.name: kind for kind in CATALOGUE}


def fault_kind(name: str) -> FaultKind:
    """The fault called `name`; DrillError names the nearest one and the known ones."""
    kind = BY_NAME.get(name)
    if kind is not None:
        return kind
    close = difflib.get_close_matches(name, BY_NAME, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise DrillError(f"spec.fault.type: no fault {name!r}; {hint}known: {', '.join(BY_NAME)}")


@dataclass(frozen=True)
class Resolved:
    """A fault pinned to what it hits."""

    kind: FaultKind
    nodes: tuple[str, ...]  # the nodes it affects, by name
    pool: str | None
    zone: str | None  # a zone label as the nodes carry it ("westeurope-1"), or as the drill wrote it
    target: str | None  # what is sent as the fault's target (node, pool or zone)
    description: str  # "instance-crash on aks-apps-12345678-vmss000002 (apps, zone 1)"


def check(spec: DrillSpec) -> FaultKind:
    """The drill's fault kind, once everything that needs no cluster is judged; DrillError naming the field if not.

    - the fault is in the catalogue, and its options are its own, each of the type and range it takes;
    - a fault on the whole cluster has no target; any other has one, with only the fields its kind reads;
    - a pool named in the target lies in `scope.pools`, a zone named in it in `scope.zones` (when listed);
    - a zone fault has `scope.zones`, since it hits every pool in the zone.
    What needs the cluster (does the pool, node or workload exist, is a node Ready) is `resolve`'s.
    """
    kind = fault_kind(spec.fault.type)
    _check_options(kind, spec.fault.options)
    target, scope = spec.fault.target, spec.scope
    if kind.target == "none":
        if target is not None:
            raise DrillError(f"spec.fault.target: {kind.name} acts on the whole cluster and takes no target")
        return kind
    if target is None:
        raise DrillError(f"spec.fault.target: {kind.name} needs a target ({_wanted(kind)})")
    _check_fields(kind, target)
    if kind.target == "zone" and not scope.zones:
        raise DrillError(
            f"spec.scope.zones: {kind.name} hits every pool in a zone, so the drill's scope must name its zones "
            f"(found none; {_scope_text(scope)})"
        )
    if target.pool and target.pool not in scope.pools:
        raise DrillError(
            f"spec.fault.target.pool: pool {target.pool} is outside the drill's scope ({_scope_text(scope)})"
        )
    if target.zone and not _in_scope_zone(scope, target.zone):
        raise DrillError(
            f"spec.fault.target.zone: zone {target.zone} is outside the drill's scope ({_scope_text(scope)})"
        )
    return kind


def checked(drill: Drill, *, source: str) -> FaultKind:
    """`check` for a drill read from `source`: what `drill check` and `drill run` both call before anything else."""
    try:
        return check(drill.spec)
    except DrillError as exc:
        raise DrillError(f"{source}: {exc}") from exc


def resolve(spec: DrillSpec, snapshot: Snapshot) -> Resolved:
    """Pin `spec.fault` to a node, pool or zone of `snapshot`; DrillError when it is unknown or out of scope.

    - node faults: `target.node`, or the first node by name that is Ready and schedulable among the scope's
      pools, narrowed by `target.pool`, `target.zone` and `target.hosting` (a node running a pod of that
      workload), and by `scope.zones`; `spot-eviction` picks only from Spot pools and refuses other nodes;
      `instance-deallocate` never picks from, and refuses, pools with ephemeral OS disks (naming the pool);
    - pool faults: `target.pool`, every node of it (its nodes must all lie in `scope.zones`, when listed);
    - zone faults: `target.zone`, which `scope.zones` must name; every node in the zone (all in scope pools);
    - faults on the whole cluster: no target, no nodes.
    """
    kind = check(spec)
    target = spec.fault.target
    places = snapshot.node_places
    if target is None:  # `check` lets only a fault on the whole cluster go without one
        return Resolved(kind, (), None, None, None, f"{kind.name} on the whole cluster")
    if kind.target == "pool":
        return _resolve_pool(kind, spec.scope, target, snapshot, places)
    if kind.target == "zone":
        return _resolve_zone(kind, spec.scope, target, places)
    return _resolve_node(kind, spec.scope, target, snapshot, places)


def _wanted(kind: FaultKind) -> str:
    if kind.target == "node":
        return "a node, or a pool, zone or workload to pick one from"
    return f"a {kind.target}"


def _check_options(kind: FaultKind, options: Mapping[str, Any]) -> None:
    """Only the fault's own options (a typo would be silently ignored), each of the type and range it takes, so a
    bad value is refused here rather than by the twin or ARM halfway through the drill."""
    unknown = sorted(set(options) - set(kind.options))
    if unknown:
        known = ", ".join(kind.options) if kind.options else "none"
        raise DrillError(f"spec.fault.options.{unknown[0]}: {kind.name} has no such option (known: {known})")
    for key, value in options.items():
        problem = OPTION_CHECKS[key](value)
        if problem is not None:
            raise DrillError(f"spec.fault.options.{key}: {problem}")


def _seconds(*, whole: bool) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:  # NaN is not >= 0
            return f"expected a number of seconds >= 0, found {durations.shown(value)}"
        if whole and not isinstance(value, int):
            return f"expected whole seconds, found {durations.shown(value)}"
        if value > MOST_SECONDS:
            return f"expected at most {MOST_SECONDS} seconds (a day), found {durations.shown(value)}"
        return None

    return check


def _one_of(names: tuple[str, ...], *, any_case: bool = False) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        text = str(value) if isinstance(value, bool | int) else value  # YAML reads on, no, 1 as bool or int
        if isinstance(text, str) and (text in names or (any_case and text.lower() in names)):
            return None
        return f"expected one of {', '.join(names)}, found {durations.shown(value)}"

    return check


def _rate(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        return f"expected a share of calls from 0 to 1, found {durations.shown(value)}"
    return None


# What each option takes: a check that returns the problem, or None. Every name in CATALOGUE's options has one.
OPTION_CHECKS: dict[str, Callable[[object], str | None]] = {
    TIMEOUT: _seconds(whole=False),
    GRACE: _seconds(whole=True),
    "not_before_seconds": _seconds(whole=True),
    "event_type": _one_of(EVENT_TYPES),
    "status": _one_of(CONDITION_STATUSES),
    "on": _one_of(FLAGS, any_case=True),
    "rate": _rate,
}


def _check_fields(kind: FaultKind, target: Target) -> None:
    """A pool fault takes only `pool`, a zone fault only `zone`: anything else would be silently ignored."""
    if kind.target == "node":
        return
    given = [name for name in ("node", "pool", "zone", "hosting") if getattr(target, name)]
    extra = [name for name in given if name != kind.target]
    if extra:
        raise DrillError(
            f"spec.fault.target.{extra[0]}: {kind.name} hits a whole {kind.target}; name only the {kind.target}"
        )


def _short(zone: str | None) -> str:
    return f"zone {zone.rsplit('-', 1)[-1]}" if zone else "no zone"


def _scope_text(scope: Scope) -> str:
    text = f"spec.scope.pools: {', '.join(scope.pools)}"
    return text + (f"; spec.scope.zones: {', '.join(scope.zones)}" if scope.zones else "")


def _in_scope_zone(scope: Scope, zone: str | None) -> bool:
    return not scope.zones or any(zone_matches(wanted, zone) for wanted in scope.zones)


def _pool_names(snapshot: Snapshot, places: Mapping[str, NodePlace]) -> list[str]:
    return sorted({pool.name for pool in snapshot.pools} | {f.pool for f in places.values() if f.pool})


def _check_pool(pool: str, snapshot: Snapshot, places: Mapping[str, NodePlace]) -> None:
    known = _pool_names(snapshot, places)
    if pool not in known:
        raise DrillError(f"spec.fault.target.pool: no pool {pool} in the cluster (pools: {', '.join(known)})")


# -- node faults -----------------------------------------------------------------------------------------


def _resolve_node(
    kind: FaultKind, scope: Scope, target: Target, snapshot: Snapshot, places: Mapping[str, NodePlace]
) -> Resolved:
    if target.pool:
        _check_pool(target.pool, snapshot, places)
    hosts = _hosts(target.hosting, snapshot) if target.hosting else None
    if target.node:
        place = _named_node(kind, scope, target, places, snapshot, hosts)
    else:
        place = _pick_node(kind, scope, target, places, snapshot, hosts)
    where = f"{place.pool}, {_short(place.zone)}"
    return Resolved(kind, (place.name,), place.pool, place.zone, place.name, f"{kind.name} on {place.name} ({where})")


def _named_node(
    kind: FaultKind, scope: Scope, target: Target, places: Mapping[str, NodePlace], snapshot: Snapshot,
    hosts: frozenset[str] | None,
) -> NodePlace:  # fmt: skip
    place = places.get(target.node or "")
    if place is None:
        raise DrillError(f"spec.fault.target.node: no node {target.node} in the cluster")
    if place.pool not in scope.pools:
        raise DrillError(
            f"spec.fault.target.node: node {place.name} is in pool {place.pool}, outside the drill's scope "
            f"({_scope_text(scope)})"
        )
    if not _in_scope_zone(scope, place.zone):
        raise DrillError(
            f"spec.fault.target.node: node {place.name} is in {_short(place.zone)}, outside the drill's scope "
            f"({_scope_text(scope)})"
        )
    if target.pool and place.pool != target.pool:
        raise DrillError(f"spec.fault.target: node {place.name} is in pool {place.pool}, not {target.pool}")
    if target.zone and not zone_matches(target.zone, place.zone):
        raise DrillError(f"spec.fault.target: node {place.name} is in {_short(place.zone)}, not zone {target.zone}")
    if hosts is not None and place.name not in hosts:
        raise DrillError(f"spec.fault.target: node {place.name} runs no pod of {target.hosting}")
    if kind.name == DEALLOCATE and _is_ephemeral(place, snapshot):
        raise DrillError(
            f"spec.fault.target.node: instance-deallocate cannot run on {place.name}: pool {place.pool} has ephemeral "
            "OS disks, which Azure refuses to deallocate (OperationNotAllowed); target a pool with managed OS disks, "
            "or use instance-stop"
        )
    if kind.name == "spot-eviction" and not _is_spot(place, snapshot):
        raise DrillError(
            f"spec.fault.target.node: spot-eviction needs a node of a Spot pool; {place.name} is in pool {place.pool}, "
            "which is not Spot"
        )
    return place


def _pick_node(
    kind: FaultKind, scope: Scope, target: Target, places: Mapping[str, NodePlace], snapshot: Snapshot,
    hosts: frozenset[str] | None,
) -> NodePlace:  # fmt: skip
    pools = (target.pool,) if target.pool else scope.pools
    spot_only = kind.name == "spot-eviction"
    managed_only = kind.name == DEALLOCATE
    candidates = sorted(
        (
            place for place in places.values()
            if place.pool in pools and _in_scope_zone(scope, place.zone)
            and (not target.zone or zone_matches(target.zone, place.zone))
            and (hosts is None or place.name in hosts)
            and (not spot_only or _is_spot(place, snapshot))
            and (not managed_only or not _is_ephemeral(place, snapshot))
            and _is_schedulable(snapshot.nodes_by_name[place.name])
        ),
        key=lambda place: place.name,
    )  # fmt: skip
    if candidates:
        return candidates[0]
    subject = f"pool {pools[0]} has" if len(pools) == 1 else f"pools {', '.join(pools)} have"
    where = f" in zone {target.zone}" if target.zone else (f" in zones {', '.join(scope.zones)}" if scope.zones else "")
    hosting = f" running a pod of {target.hosting}" if target.hosting else ""
    spot = " of a Spot pool" if spot_only else ""
    ephemeral = sorted({pool for pool in pools if _pool_is_ephemeral(pool, snapshot)}) if managed_only else []
    if ephemeral:
        raise DrillError(
            f"spec.fault.target: instance-deallocate cannot run on pool {', '.join(ephemeral)}: its instances have "
            "ephemeral OS disks, which Azure refuses to deallocate (OperationNotAllowed); target a pool with managed "
            "OS disks, or use instance-stop"
        )
    raise DrillError(f"spec.fault.target: {subject} no Ready, schedulable node{spot}{where}{hosting}")


def _hosts(hosting: str, snapshot: Snapshot) -> frozenset[str]:
    """The nodes running a pod of the workload `namespace/name` (matched by the workload's selector)."""
    namespace, _, name = hosting.partition("/")
    workload = next(
        (
            w
            for w in (*snapshot.workloads, *snapshot.daemonsets)
            if w.namespace == namespace and w.metadata.name == name
        ),
        None,
    )
    if workload is None:
        raise DrillError(f"spec.fault.target.hosting: no workload {hosting} in the cluster")
    return frozenset(
        pod.spec.node_name
        for pod in snapshot.pods_by_namespace.get(namespace, ())
        if pod.spec.node_name and selectors.matches(workload.spec.selector, pod.metadata.label_map)
    )


def _is_schedulable(node: Node) -> bool:
    """Ready and not cordoned: a node a fault can be shown to take away."""
    return node.ready and not node.spec.unschedulable


def _is_ephemeral(place: NodePlace, snapshot: Snapshot) -> bool:
    return place.pool is not None and _pool_is_ephemeral(place.pool, snapshot)


def _pool_is_ephemeral(name: str, snapshot: Snapshot) -> bool:
    """The agent pool's osDiskType is Ephemeral (unknown counts as not: ARM refuses the call then, naming why)."""
    pool = snapshot.pool(name)
    return pool is not None and (pool.os_disk_type or "").lower() == "ephemeral"


def _is_spot(place: NodePlace, snapshot: Snapshot) -> bool:
    if place.labels.get(aks.SPOT_LABEL, "").lower() == "spot":
        return True
    pool = snapshot.pool(place.pool) if place.pool else None
    return pool is not None and (pool.scale_set_priority or "").lower() == "spot"


# -- pool and zone faults --------------------------------------------------------------------------------


def _resolve_pool(
    kind: FaultKind, scope: Scope, target: Target, snapshot: Snapshot, places: Mapping[str, NodePlace]
) -> Resolved:
    pool = target.pool or ""
    _check_pool(pool, snapshot, places)
    members = sorted(f.name for f in places.values() if f.pool == pool)
    outside = _zones(f.zone for f in places.values() if f.pool == pool and not _in_scope_zone(scope, f.zone))
    if outside:
        raise DrillError(
            f"spec.fault.target.pool: {kind.name} hits every zone of pool {pool}, and its nodes in {outside} lie "
            f"outside the drill's scope ({_scope_text(scope)})"
        )
    description = f"{kind.name} on pool {pool} ({len(members)} nodes)"
    return Resolved(kind, tuple(members), pool, None, pool, description)


def _resolve_zone(kind: FaultKind, scope: Scope, target: Target, places: Mapping[str, NodePlace]) -> Resolved:
    zone = target.zone or ""  # `check` made sure it is named and in the scope's zones
    hit = sorted((f for f in places.values() if zone_matches(zone, f.zone)), key=lambda f: f.name)
    if not hit:
        known = _zones(f.zone for f in places.values())
        raise DrillError(f"spec.fault.target.zone: no node in zone {zone} (the nodes are in {known or 'no zone'})")
    outside = sorted({f.pool or "?" for f in hit if f.pool not in scope.pools})
    if outside:
        raise DrillError(
            f"spec.fault.target.zone: {kind.name} in zone {zone} would hit pool {', '.join(outside)}, outside the "
            f"drill's scope ({_scope_text(scope)})"
        )
    label = hit[0].zone or zone
    pools = ", ".join(sorted({f.pool or "?" for f in hit}))
    description = f"{kind.name} in {_short(label)} ({len(hit)} nodes of {pools})"
    return Resolved(kind, tuple(f.name for f in hit), None, label, label, description)


def _zones(zones: Iterable[str | None]) -> str:
    return ", ".join(sorted({_short(zone) for zone in zones}))
