"""Kubernetes Events on the Node for every action nodewarden takes and every one it declines.

An operator running `kubectl describe node` (or `kubectl events --for node/X`) sees what nodewarden
did, why, and what held it back, next to the kubelet's and the node controller's own events.
Events are events.k8s.io/v1 with `reportingController: nodewarden`; against an apiserver that does
not serve that group (404) the recorder falls back to core/v1 once and stays there.

Recording is best effort: a failed Event never fails the action it describes (it is logged).

An Event about a journaled step is keyed like the journal: its name derives from the step's journal key,
the action and the reason, so the same step posting the same Event again — redone after a crash, or
settled by another replica — gets 409 AlreadyExists, which counts as done. Exactly one Event per
(step, reason) on the node, however often the step is resumed. `for_step(key)` gives the executor a
recorder that keys every Event the act/ adapters post during that step.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import UTC, datetime

import httpx2
from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.models.core_v1 import EventSource, ObjectReference
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Event as CoreEvent
from lightkube.resources.core_v1 import Node
from lightkube.resources.events_v1 import Event

log = logging.getLogger(__name__)

CONTROLLER = "nodewarden"
NODE_EVENT_NAMESPACE = "default"  # where Node events live: the kubelet and node controller put them there too
NORMAL, WARNING = "Normal", "Warning"


def _system_now() -> datetime:
    return datetime.now(UTC)


class EventRecorder:
    """Posts one Event per call on a Node; `now` is injectable so twin tests can use twin time."""

    def __init__(
        self,
        kube: Client,
        *,
        instance: str | None = None,
        now: Callable[[], datetime] = _system_now,
    ) -> None:
        self._kube = kube
        self._instance = instance or f"{CONTROLLER}-{socket.gethostname()}-{os.getpid()}"
        self._now = now
        self.core_fallback = False  # set once the apiserver answered 404 for events.k8s.io/v1
        # Node references by name, so an action that removes the node (replace) can still report on it.
        self._refs: dict[str, ObjectReference] = {}
        self._step: str | None = None  # the journal key every Event is keyed by (for_step)

    def for_step(self, key: str) -> EventRecorder:
        """A recorder whose every Event is keyed by the journal key `key` (see the module docstring)."""
        keyed = copy.copy(self)  # shares the client and the node references
        keyed._step = key
        return keyed

    def record(
        self,
        node: Node | str,
        *,
        action: str,  # a NodeAction or a remediation Step
        reason: str,  # an EventReason or a HoldReason
        note: str,
        warning: bool = False,
        key: str | None = None,  # a journal key: the Event is posted once per (key, action, reason)
    ) -> None:
        ref = self._reference(node)
        if ref is None:
            return
        now = self._now()
        key = key or self._step
        if key is not None:
            name = event_name(ref.name or "", key=key, action=str(action), reason=str(reason))
        else:
            # client-go's naming (<object>.<hex nanoseconds>), plus a random suffix: two events in one clock tick
            # (a twin's manual clock, a coarse system clock, two recorders) must not collide.
            name = f"{ref.name}.{int(now.timestamp() * 1e9):x}{secrets.token_hex(3)}"
        kind = WARNING if warning else NORMAL
        note = note[:1024]  # the apiserver's limit on events.k8s.io/v1 note
        try:
            if not self.core_fallback:
                try:
                    self._kube.create(
                        Event(
                            metadata=ObjectMeta(name=name, namespace=NODE_EVENT_NAMESPACE),
                            eventTime=now,
                            action=str(action),
                            reason=str(reason),
                            note=note,
                            type=kind,
                            regarding=ref,
                            reportingController=CONTROLLER,
                            reportingInstance=self._instance,
                        )
                    )
                    return
                except ApiError as exc:
                    if exc.status.code != 404:
                        raise
                    log.warning("events.fallback reason=%s", "events.k8s.io/v1 not served; using core/v1")
                    self.core_fallback = True
            self._kube.create(
                CoreEvent(
                    metadata=ObjectMeta(name=name, namespace=NODE_EVENT_NAMESPACE),
                    involvedObject=ref,
                    action=str(action),
                    reason=str(reason),
                    message=note,
                    type=kind,
                    source=EventSource(component=CONTROLLER),
                    reportingComponent=CONTROLLER,
                    reportingInstance=self._instance,
                    firstTimestamp=now,
                    lastTimestamp=now,
                    count=1,
                )
            )
        except ApiError as exc:
            if exc.status.code == 409 and key is not None:
                log.debug("event.already_recorded node=%s reason=%s key=%s", ref.name, reason, key)
                return
            log.warning("event.not_recorded node=%s reason=%s error=%s", ref.name, reason, exc)
        except httpx2.HTTPError as exc:
            log.warning("event.not_recorded node=%s reason=%s error=%s", ref.name, reason, exc)

    def _reference(self, node: Node | str) -> ObjectReference | None:
        if isinstance(node, str) and node in self._refs:
            return self._refs[node]
        if isinstance(node, str):
            try:
                node = self._kube.get(Node, node)
            except (ApiError, httpx2.HTTPError) as exc:
                log.warning("event.no_node node=%s error=%s", node, exc)
                return None
        metadata = node.metadata
        assert metadata is not None
        assert metadata.name is not None
        ref = ObjectReference(apiVersion="v1", kind="Node", name=metadata.name, uid=metadata.uid)
        self._refs[metadata.name] = ref
        return ref


def event_name(node: str, *, key: str, action: str, reason: str) -> str:
    """The name of the one Event a journaled step posts for (action, reason): `<node>.<16 hex digits>`."""
    digest = hashlib.sha256(f"{key}\x00{action}\x00{reason}".encode()).hexdigest()[:16]
    return f"{node}.{digest}"
