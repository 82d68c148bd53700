"""Taints and tolerations: who may schedule onto, and stay on, a tainted node."""

from __future__ import annotations

from collections.abc import Iterable

from nodewarden.twin.kube.meta import Obj, parse_time

NO_SCHEDULE, PREFER_NO_SCHEDULE, NO_EXECUTE = "NoSchedule", "PreferNoSchedule", "NoExecute"
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
# Non-graceful node shutdown (GA in Kubernetes 1.28): set on a node known to be off, usually with value nodeshutdown.
OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"


def tolerates(toleration: Obj, taint: Obj) -> bool:
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    if toleration.get("operator", "Equal") == "Exists":
        return not toleration.get("key") or toleration.get("key") == taint.get("key")
    return bool(
        toleration.get("key") == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or "")
    )


def untolerated(tolerations: Iterable[Obj], taints: Iterable[Obj], effects: tuple[str, ...]) -> Obj | None:
    """The first taint with one of `effects` that no toleration covers, or None."""
    tolerations = list(tolerations)
    for taint in taints:
        if taint.get("effect") in effects and not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None


def eviction_time(tolerations: Iterable[Obj], no_execute: Iterable[Obj]) -> float | None:
    """When (POSIX seconds) NoExecute taints evict a pod: None if tolerated forever, 0 for at once."""
    tolerations = list(tolerations)
    due: float | None = None
    for taint in no_execute:
        matching = [t for t in tolerations if tolerates(t, taint)]
        if not matching:
            return 0.0
        bounded = [float(t["tolerationSeconds"]) for t in matching if t.get("tolerationSeconds") is not None]
        if len(bounded) < len(matching):
            continue  # one toleration without tolerationSeconds tolerates it forever
        added = parse_time(taint["timeAdded"]).timestamp() if taint.get("timeAdded") else 0.0
        when = added + max(0.0, min(bounded))
        due = when if due is None else min(due, when)
    return due
