"""Kubernetes node actions: cordon, uncordon, taint, untaint, annotate and a PDB-aware drain.

These are the changes an operator makes with kubectl, made through the same API calls (a
strategic-merge patch of the Node, the pods/eviction subresource) and reported as Events on the
Node (`events.EventRecorder`). Nothing here decides whether to act; callers (the CLI, the planner's
executor) do. API errors are translated at this boundary into `nodewarden.errors`, and lightkube's
objects into the model's (`as_model_pod`, `read_node`), whose predicates (a pod's readiness, mirror
and DaemonSet pods, label selectors: model/kube.py, model/selectors.py) are the only definitions.

Time is an input to `drain`: it waits with `wait(seconds)` and reads `monotonic()`, which default to
real time; a twin test passes `wait=twin.advance, monotonic=twin.clock.elapsed`, so pods terminate
because twin time moves, and the timeout is measured in twin seconds.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx2
from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.models.meta_v1 import DeleteOptions, LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import ReplicaSet
from lightkube.resources.core_v1 import Node, Pod
from lightkube.resources.policy_v1 import PodDisruptionBudget

from nodewarden.act.events import EventRecorder
from nodewarden.act.results import Blocker, DrainResult, EventReason, NodeAction, PodRef
from nodewarden.errors import ActionError, ActionRefusedError, NotFoundError
from nodewarden.model import kube as model
from nodewarden.model import selectors
from nodewarden.observe import live_kube

log = logging.getLogger(__name__)

POLL_INTERVAL = 2.0  # seconds between checks that evicted pods are gone (kubectl drain polls every 1 s)
RETRY_FIRST = 5.0  # first wait after a 429 when the apiserver gives no retryAfterSeconds
RETRY_MAX = 30.0  # cap of the exponential backoff on repeated 429s for the same pod
CONFLICT_RETRIES = 5  # reads and patches of a node's taints before a 409 Conflict is reported
_BUDGET_IN_MESSAGE = re.compile(r"disruption budget (?P<name>[^\s]+) needs")

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# -- errors at the boundary ----------------------------------------------------------------------------


def translate(exc: Exception, *, verb: str, resource: str, name: str = "") -> Exception:
    """An ApiError or transport error as the nodewarden error a user can act on."""
    what = f"{resource} {name}".strip()
    if isinstance(exc, ApiError):
        code, message = exc.status.code, exc.status.message or ""
        if code == 404:
            return NotFoundError(f"{what}: not found in the cluster")
        if code in (401, 403):  # credentials and permissions read the same for reading and acting
            return live_kube.translate_api_error(exc, verb=verb, resource=resource)
        return ActionError(f"{verb} {what} failed: HTTP {code}: {message}")
    if isinstance(exc, httpx2.TransportError):
        return live_kube.translate_transport_error(exc)
    return exc


def _get_node(kube: Client, name: str) -> Node:
    try:
        return kube.get(Node, name)
    except (ApiError, httpx2.TransportError) as exc:
        raise translate(exc, verb="get", resource="node", name=name) from exc


def read_node(kube: Client, name: str) -> model.Node:
    """The Node as the model sees it (its readiness, labels, providerID)."""
    return as_model_node(_get_node(kube, name))


def as_model_node(node: Node) -> model.Node:
    """A lightkube Node as the model's Node: the fields the model reads."""
    spec, status = node.spec, node.status
    conditions = [
        model.NodeCondition(type=c.type, status=c.status) for c in (status.conditions if status else None) or []
    ]
    return model.Node(
        metadata=_model_meta(node.metadata),
        spec=model.NodeSpec(
            providerID=spec.providerID if spec else None, unschedulable=spec.unschedulable if spec else None
        ),
        status=model.NodeStatus(conditions=conditions),
    )


def as_model_pod(pod: Pod) -> model.Pod:
    """A lightkube Pod as the model's Pod: the fields its predicates read (owners, annotations, status)."""
    status = pod.status
    conditions = [
        model.PodCondition(type=c.type, status=c.status) for c in (status.conditions if status else None) or []
    ]
    return model.Pod(
        metadata=_model_meta(pod.metadata),
        status=model.PodStatus(phase=status.phase if status else None, conditions=conditions),
    )


def _model_meta(meta: ObjectMeta | None) -> model.ObjectMeta:
    if meta is None:
        return model.ObjectMeta()
    owners = [
        model.OwnerReference(kind=owner.kind, name=owner.name, controller=owner.controller)
        for owner in meta.ownerReferences or []
    ]
    deleted = meta.deletionTimestamp
    return model.ObjectMeta(
        name=meta.name or "",
        namespace=meta.namespace,
        uid=meta.uid,
        labels=meta.labels,
        annotations=meta.annotations,
        owner_references=owners,
        deletion_timestamp=deleted.isoformat() if deleted is not None else None,
    )


def as_model_selector(selector: LabelSelector | None) -> model.LabelSelector | None:
    if selector is None:
        return None
    expressions = [
        model.LabelSelectorRequirement(key=e.key, operator=e.operator, values=e.values)
        for e in selector.matchExpressions or []
    ]
    return model.LabelSelector(match_labels=selector.matchLabels, match_expressions=expressions)


def _patch_node(kube: Client, name: str, patch: Mapping[str, Any]) -> Node:
    try:
        return kube.patch(Node, name, dict(patch))
    except (ApiError, httpx2.TransportError) as exc:
        raise translate(exc, verb="patch", resource="nodes", name=name) from exc


# -- cordon, taints, annotations ---------------------------------------------------------------------


def _is_cordoned(node: Node) -> bool:
    return bool(node.spec and node.spec.unschedulable)


def cordon(kube: Client, name: str, *, recorder: EventRecorder | None = None, note: str = "") -> bool:
    """Mark the node unschedulable; returns False when it already was (nothing sent, no Event)."""
    return _set_unschedulable(kube, name, True, recorder=recorder, note=note)


def uncordon(kube: Client, name: str, *, recorder: EventRecorder | None = None, note: str = "") -> bool:
    """Mark the node schedulable again; returns False when it already was."""
    return _set_unschedulable(kube, name, False, recorder=recorder, note=note)


def _set_unschedulable(kube: Client, name: str, value: bool, *, recorder: EventRecorder | None, note: str) -> bool:
    node = _get_node(kube, name)
    if _is_cordoned(node) == value:
        return False
    # `null` removes the field, as kubectl uncordon does (an absent field and false mean the same).
    patched = _patch_node(kube, name, {"spec": {"unschedulable": True if value else None}})
    if recorder is not None:
        action = NodeAction.CORDON if value else NodeAction.UNCORDON
        reason = EventReason.CORDON if value else EventReason.UNCORDON
        text = "marked unschedulable" if value else "marked schedulable"
        recorder.record(
            patched, action=action, reason=reason, note=f"nodewarden {text}" + (f": {note}" if note else "")
        )
    return True


def taint(
    kube: Client, name: str, *, key: str, effect: str, value: str | None = None, recorder: EventRecorder | None = None
) -> bool:
    """Add or update the taint `key[=value]:effect`; returns False when the node already had it."""
    wanted = {"key": key, "effect": effect, **({"value": value} if value is not None else {})}

    def add(current: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        # kubectl and the node controller stamp a NoExecute taint with timeAdded: still the same taint
        if any({k: v for k, v in taint.items() if k != "timeAdded"} == wanted for taint in current):
            return None
        return [t for t in current if not (t.get("key") == key and t.get("effect") == effect)] + [wanted]

    patched = _change_taints(kube, name, add)
    if patched is not None and recorder is not None:
        text = f"{key}={value}:{effect}" if value is not None else f"{key}:{effect}"
        recorder.record(patched, action=NodeAction.TAINT, reason=EventReason.TAINT, note=f"nodewarden added {text}")
    return patched is not None


def untaint(
    kube: Client, name: str, *, key: str, effect: str | None = None, recorder: EventRecorder | None = None
) -> bool:
    """Remove taints with `key` (and `effect`, if given); returns False when there were none."""

    def remove(current: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        kept = [t for t in current if not (t.get("key") == key and (effect is None or t.get("effect") == effect))]
        return None if len(kept) == len(current) else kept

    patched = _change_taints(kube, name, remove)
    if patched is not None and recorder is not None:
        recorder.record(
            patched, action=NodeAction.UNTAINT, reason=EventReason.UNTAINT, note=f"nodewarden removed taint {key}"
        )
    return patched is not None


def _change_taints(
    kube: Client, name: str, change: Callable[[list[dict[str, Any]]], list[dict[str, Any]] | None]
) -> Node | None:
    """Apply `change` to the node's taints (None: nothing to do); the patched node, or None when unchanged.

    spec.taints has no patch strategy: a strategic-merge patch replaces the list, so it is sent whole with
    the resourceVersion it was read at. When someone else changed the node meanwhile (409 Conflict: the
    node lifecycle controller adds and removes its own taints, the kubelet its status), read it again and
    retry, as client-go's RetryOnConflict does.
    """
    attempts = 0
    while True:
        attempts += 1
        node = _get_node(kube, name)
        current = [t.to_dict() for t in (node.spec.taints if node.spec and node.spec.taints else [])]
        taints = change(current)
        if taints is None:
            return None
        assert node.metadata is not None
        patch = {"metadata": {"resourceVersion": node.metadata.resourceVersion}, "spec": {"taints": taints}}
        try:
            return kube.patch(Node, name, patch)
        except ApiError as exc:
            if exc.status.code == 409 and attempts < CONFLICT_RETRIES:
                continue
            raise translate(exc, verb="patch", resource="nodes", name=name) from exc
        except httpx2.TransportError as exc:
            raise translate(exc, verb="patch", resource="nodes", name=name) from exc


def annotate(
    kube: Client, name: str, annotations: Mapping[str, str | None], *, recorder: EventRecorder | None = None
) -> Node:
    """Set annotations (a value of None removes the key)."""
    patched = _patch_node(kube, name, {"metadata": {"annotations": dict(annotations)}})
    if recorder is not None:
        keys = ", ".join(sorted(annotations))
        recorder.record(patched, action=NodeAction.ANNOTATE, reason=EventReason.ANNOTATE, note=f"annotated {keys}")
    return patched


def delete_node(kube: Client, name: str, *, recorder: EventRecorder | None = None, force: bool = False) -> None:
    """Delete the Node object (for an instance that is gone for good: its kubelet would re-register it).

    Refused while pods other than DaemonSet and mirror pods are still bound to it (drain first), unless
    `force`; the refusal and the deletion are both recorded on the node.
    """
    node = _get_node(kube, name)
    workloads = [_ref(p) for p in pods_on_node(kube, name) if not as_model_pod(p).belongs_to_node]
    if workloads and not force:
        note = f"refusing to delete node {name}: {len(workloads)} pod(s) still on it (drain first): " + ", ".join(
            str(ref) for ref in workloads[:5]
        )
        if recorder is not None:
            recorder.record(node, action=NodeAction.DELETE, reason=EventReason.DELETE_REFUSED, note=note, warning=True)
        raise ActionRefusedError(note)
    if recorder is not None:
        recorder.record(
            node, action=NodeAction.DELETE, reason=EventReason.DELETE_NODE, note=f"nodewarden deleted {name}"
        )
    try:
        kube.delete(Node, name)
    except (ApiError, httpx2.TransportError) as exc:
        raise translate(exc, verb="delete", resource="nodes") from exc


# -- drain ---------------------------------------------------------------------------------------------


def _ref(pod: Pod) -> PodRef:
    assert pod.metadata is not None
    return PodRef(pod.metadata.namespace or "", pod.metadata.name or "")


def pods_on_node(kube: Client, node: str) -> list[Pod]:
    try:
        return list(kube.list(Pod, namespace="*", fields={"spec.nodeName": node}))
    except (ApiError, httpx2.TransportError) as exc:
        raise translate(exc, verb="list", resource="pods") from exc


def covers(pdb: PodDisruptionBudget, labels: Mapping[str, str]) -> bool:
    """The budget's selector matches the labels (model/selectors.py: an unknown operator matches nothing)."""
    return pdb.spec is not None and selectors.matches(as_model_selector(pdb.spec.selector), labels)


def workload_of(kube: Client, pod: Pod) -> str:
    """`Kind/namespace/name` of the workload behind a pod: Pod → ReplicaSet → Deployment, or its direct owner."""
    assert pod.metadata is not None
    namespace = pod.metadata.namespace or ""
    owner = next((o for o in pod.metadata.ownerReferences or [] if o.controller), None)
    if owner is None:
        return ""
    if owner.kind == "ReplicaSet":
        try:
            replica_set = kube.get(ReplicaSet, owner.name, namespace=namespace)
        except (ApiError, httpx2.TransportError):
            return f"ReplicaSet/{namespace}/{owner.name}"
        parent = next(
            (o for o in (replica_set.metadata.ownerReferences if replica_set.metadata else None) or [] if o.controller),
            None,
        )
        if parent is not None:
            return f"{parent.kind}/{namespace}/{parent.name}"
    return f"{owner.kind}/{namespace}/{owner.name}"


def blocking_budget(kube: Client, pod: Pod, message: str) -> str:
    """The PDB named by the 429's cause, else the one whose selector matches the pod's labels."""
    named = _BUDGET_IN_MESSAGE.search(message)
    if named:
        return named.group("name")
    assert pod.metadata is not None
    labels = pod.metadata.labels or {}
    try:
        budgets = list(kube.list(PodDisruptionBudget, namespace=pod.metadata.namespace or ""))
    except (ApiError, httpx2.TransportError):
        return ""
    for pdb in budgets:
        if covers(pdb, labels) and pdb.metadata is not None:
            return pdb.metadata.name or ""
    return ""


def _refusal(exc: ApiError) -> tuple[str, float | None]:
    """The cause message of a refused eviction and the apiserver's retryAfterSeconds."""
    status = exc.status
    details = status.details
    causes = [c.message for c in (details.causes if details and details.causes else []) if c.message]
    retry = float(details.retryAfterSeconds) if details and details.retryAfterSeconds else None
    return ("; ".join(causes) or status.message or f"HTTP {status.code}", retry)


@dataclass
class _Target:
    pod: Pod
    uid: str
    accepted: bool = False
    attempts: int = 0
    next_try: float = 0.0
    blocker: Blocker | None = None


@dataclass
class _DrainState:
    targets: dict[PodRef, _Target] = field(default_factory=dict)
    announced: set[str] = field(default_factory=set)  # blocking budgets already reported


def drain(
    kube: Client,
    name: str,
    *,
    timeout: float,
    grace_period: int | None = None,
    force: bool = False,
    recorder: EventRecorder | None = None,
    progress: Progress = _quiet,
    wait: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    poll_interval: float = POLL_INTERVAL,
    skip_terminating: bool = False,
) -> DrainResult:
    """Cordon, then evict every pod on the node except DaemonSet and mirror pods, and wait until they are gone.

    - 429 (a PodDisruptionBudget says no): retry that pod with backoff; report the budget and the
      workload behind it once per budget (progress line and a `DrainBlocked` Event).
    - `force=True` deletes the pods instead of evicting them: budgets are not consulted.
    - Gives up after `timeout` seconds (of `monotonic`) with a result naming the pods still there.
    - `skip_terminating=True` (for a node whose kubelet is gone) counts a pod as gone once it is
      terminating or no longer Ready: nothing on the node can finish deleting it, its controller already
      replaces it (kubectl drain's --skip-wait-for-delete-timeout does the same), and a budget that refuses
      to evict a pod which is already down protects nothing.
    """
    started = monotonic()
    node = _get_node(kube, name)
    if cordon(kube, name, recorder=recorder, note="before drain"):
        progress(f"cordoned {name}")
    state = _DrainState()
    skipped: list[PodRef] = []
    for pod in pods_on_node(kube, name):
        ref = _ref(pod)
        if as_model_pod(pod).belongs_to_node:
            skipped.append(ref)
            continue
        assert pod.metadata is not None
        state.targets[ref] = _Target(pod=pod, uid=pod.metadata.uid or "")
    how = "deleting (forced)" if force else "evicting"
    progress(f"{how} {len(state.targets)} pod(s) from {name}; skipping {len(skipped)} DaemonSet/mirror pod(s)")
    if recorder is not None:
        recorder.record(
            node,
            action=NodeAction.DRAIN,
            reason=EventReason.DRAIN,
            note=f"nodewarden {how} {len(state.targets)} pod(s)" + (" with force" if force else ""),
            warning=force,
        )
    while True:
        now = monotonic()
        for ref, target in state.targets.items():
            if not target.accepted and target.next_try <= now:
                _remove(kube, ref, target, state, grace_period=grace_period, force=force, now=now,
                        node=node, recorder=recorder, progress=progress)  # fmt: skip
        remaining = _still_there(kube, name, state, skip_terminating=skip_terminating)
        if not remaining:
            progress(f"drained {name}: {len(state.targets)} pod(s) gone")
            if recorder is not None:
                recorder.record(
                    node, action=NodeAction.DRAIN, reason=EventReason.DRAINED,
                    note=f"all {len(state.targets)} evicted pod(s) are gone",
                )  # fmt: skip
            return _result(name, state, skipped, remaining, timed_out=False, forced=force)
        left = timeout - (monotonic() - started)
        if left <= 0:
            result = _result(name, state, skipped, remaining, timed_out=True, forced=force)
            listing = ", ".join(str(ref) for ref in result.remaining)
            why = "; ".join(b.describe() for b in result.blockers)
            progress(f"timed out after {timeout:g}s, still on the node: {listing}" + (f" ({why})" if why else ""))
            if recorder is not None:
                note = f"drain timed out after {timeout:g}s; still on the node: {listing}" + (f"; {why}" if why else "")
                recorder.record(
                    node, action=NodeAction.DRAIN, reason=EventReason.DRAIN_TIMED_OUT, warning=True, note=note
                )
            return result
        due = [t.next_try - monotonic() for t in state.targets.values() if not t.accepted]
        wait(max(0.001, min([poll_interval, left, *[d for d in due if d > 0]])))


def _remove(
    kube: Client,
    ref: PodRef,
    target: _Target,
    state: _DrainState,
    *,
    grace_period: int | None,
    force: bool,
    now: float,
    node: Node,
    recorder: EventRecorder | None,
    progress: Progress,
) -> None:
    try:
        if force:
            kube.delete(Pod, ref.name, namespace=ref.namespace, grace_period=grace_period)
        else:
            options = DeleteOptions(gracePeriodSeconds=grace_period) if grace_period is not None else None
            eviction = Pod.Eviction(metadata=ObjectMeta(name=ref.name, namespace=ref.namespace), deleteOptions=options)
            kube.create(eviction, name=ref.name, namespace=ref.namespace)
    except ApiError as exc:
        code = exc.status.code
        if code == 404:
            target.accepted = True  # already gone
            return
        if code in (401, 403):
            raise translate(exc, verb="create", resource="pods/eviction", name=str(ref)) from exc
        message, retry_after = _refusal(exc)
        target.attempts += 1
        base = retry_after or RETRY_FIRST
        target.next_try = now + min(RETRY_MAX, base * 2 ** (target.attempts - 1))
        budget = blocking_budget(kube, target.pod, message) if code == 429 else ""
        workload = workload_of(kube, target.pod)
        target.blocker = Blocker(pod=ref, budget=budget, workload=workload, message=message)
        key = budget or message
        if key not in state.announced:
            state.announced.add(key)
            progress(f"blocked: {target.blocker.describe()}; retrying")
            if recorder is not None:
                recorder.record(
                    node, action=NodeAction.DRAIN, reason=EventReason.DRAIN_BLOCKED, warning=True,
                    note=target.blocker.describe(),
                )  # fmt: skip
        return
    except httpx2.TransportError as exc:
        raise translate(exc, verb="evict", resource="pod", name=str(ref)) from exc
    target.accepted = True
    target.blocker = None
    progress(f"{'deleted' if force else 'evicted'} {ref}")


def _still_there(kube: Client, node: str, state: _DrainState, *, skip_terminating: bool) -> list[PodRef]:
    """Our target pods still on the node (same uid: a StatefulSet pod recreated elsewhere is not ours)."""
    present = {
        (_ref(pod), pod.metadata.uid if pod.metadata else "")
        for pod in pods_on_node(kube, node)
        # Pod.ready is False for a pod being deleted: terminating pods count as gone too.
        if not (skip_terminating and not as_model_pod(pod).ready)
    }
    return [ref for ref, target in state.targets.items() if (ref, target.uid) in present]


def _result(
    name: str,
    state: _DrainState,
    skipped: Iterable[PodRef],
    remaining: Iterable[PodRef],
    *,
    timed_out: bool,
    forced: bool,
) -> DrainResult:
    return DrainResult(
        node=name,
        evicted=tuple(ref for ref, t in state.targets.items() if t.accepted),
        skipped=tuple(skipped),
        remaining=tuple(remaining),
        blockers=tuple(t.blocker for t in state.targets.values() if t.blocker is not None and not t.accepted),
        timed_out=timed_out,
        forced=forced,
    )


@dataclass(frozen=True)
class BudgetImpact:
    """A PodDisruptionBudget over pods on the node: how many of them run there, how many disruptions it allows."""

    namespace: str
    name: str
    pods_here: int
    allowed: int  # status.disruptionsAllowed as read

    @property
    def violated(self) -> bool:
        """Losing all its pods on the node at once (the VM restarts, is reimaged, moves or stops) exceeds it."""
        return self.pods_here > self.allowed

    def describe(self) -> str:
        return (
            f"PodDisruptionBudget {self.namespace}/{self.name} (allows {self.allowed} disruption(s), "
            f"{self.pods_here} of its pod(s) on the node)"
        )


@dataclass(frozen=True)
class DrainPreview:
    """What `drain` would do now, read without changing anything (for --dry-run, and for the instance actions'
    check of what stopping the VM would disrupt)."""

    node: str
    cordoned: bool
    evict: tuple[PodRef, ...]
    skip: tuple[PodRef, ...]
    blockers: tuple[Blocker, ...]  # budgets with no disruption left that match a pod to evict
    workloads: tuple[str, ...] = ()  # `workload_of` each pod in `evict`, in the same order
    budgets: tuple[BudgetImpact, ...] = ()  # every budget over a pod in `evict`


def preview_drain(kube: Client, name: str) -> DrainPreview:
    node = _get_node(kube, name)
    evict: list[Pod] = []
    skip: list[PodRef] = []
    for pod in pods_on_node(kube, name):
        if as_model_pod(pod).belongs_to_node:
            skip.append(_ref(pod))
        else:
            evict.append(pod)
    blockers: list[Blocker] = []
    budgets: dict[str, list[PodDisruptionBudget]] = {}
    covered: dict[tuple[str, str], int] = {}  # (namespace, budget) → pods to evict it covers
    allowed_by: dict[tuple[str, str], int] = {}
    workloads = tuple(workload_of(kube, pod) for pod in evict)
    for pod, workload in zip(evict, workloads, strict=True):
        ref = _ref(pod)
        if ref.namespace not in budgets:
            try:
                budgets[ref.namespace] = list(kube.list(PodDisruptionBudget, namespace=ref.namespace))
            except (ApiError, httpx2.TransportError) as exc:
                raise translate(exc, verb="list", resource="poddisruptionbudgets") from exc
        labels = (pod.metadata.labels if pod.metadata else None) or {}
        for pdb in budgets[ref.namespace]:
            if not covers(pdb, labels):
                continue
            assert pdb.metadata is not None
            allowed = (pdb.status.disruptionsAllowed if pdb.status else None) or 0
            key = (ref.namespace, pdb.metadata.name or "")
            covered[key] = covered.get(key, 0) + 1
            allowed_by[key] = allowed
            if allowed <= 0:
                blockers.append(
                    Blocker(
                        pod=ref, budget=pdb.metadata.name or "", workload=workload,
                        message=f"disruptionsAllowed is {allowed}",
                    )
                )  # fmt: skip
    return DrainPreview(
        node=name,
        cordoned=_is_cordoned(node),
        evict=tuple(_ref(pod) for pod in evict),
        skip=tuple(skip),
        blockers=tuple(blockers),
        workloads=workloads,
        budgets=tuple(
            BudgetImpact(ns, budget, count, allowed_by[(ns, budget)]) for (ns, budget), count in covered.items()
        ),
    )
