"""Kubernetes Events (core/v1) from the twin's components, as kubectl describe and nodewarden read them.

Each component records under its real name (`source.component`: kubelet, node-controller,
default-scheduler, replicaset-controller …). Repeats of the same event on the same object bump
`count` and `lastTimestamp` instead of adding objects, and events expire after `ttl` seconds of twin
time (the apiserver's --event-ttl, 1 h), so a long-running twin does not grow without bound.
"""

from __future__ import annotations

import collections
import contextlib
import threading
from collections.abc import Iterator

from nodewarden.twin.clock import Clock
from nodewarden.twin.kube.errors import ApiError
from nodewarden.twin.kube.meta import Obj, rfc3339
from nodewarden.twin.kube.store import KubeStore

NORMAL, WARNING = "Normal", "Warning"


def reference(obj: Obj) -> Obj:
    """An ObjectReference to `obj`, as `involvedObject`."""
    metadata = obj["metadata"]
    ref = {
        "kind": obj["kind"],
        "apiVersion": obj["apiVersion"],
        "name": metadata["name"],
        "uid": metadata.get("uid", ""),
    }
    if metadata.get("namespace"):
        ref["namespace"] = metadata["namespace"]
    if metadata.get("resourceVersion"):
        ref["resourceVersion"] = metadata["resourceVersion"]
    return ref


class Recorder:
    def __init__(self, store: KubeStore, clock: Clock, *, ttl: float = 3600.0, enabled: bool = True) -> None:
        self._store = store
        self._clock = clock
        self.ttl = ttl
        self.enabled = enabled
        self._latest: dict[tuple[str, ...], tuple[str, str]] = {}  # dedup key → (namespace, name)
        self._expiry: collections.deque[tuple[float, str, str, tuple[str, ...]]] = collections.deque()
        self._sequence = 0
        self._lock = threading.RLock()  # components record from the clock's thread and from the lead's hooks

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """Record nothing inside (loading a scenario: a cluster that has run for days has no creation events)."""
        before, self.enabled = self.enabled, False
        try:
            yield
        finally:
            self.enabled = before

    def record(
        self,
        involved: Obj,
        reason: str,
        message: str,
        *,
        component: str,
        kind: str = NORMAL,
        host: str | None = None,
    ) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._record(involved, reason, message, component=component, kind=kind, host=host)

    def _record(self, involved: Obj, reason: str, message: str, *, component: str, kind: str, host: str | None) -> None:
        ref = reference(involved)
        namespace = ref.get("namespace") or "default"  # events about cluster-scoped objects live in default
        key = (namespace, ref["kind"], ref["name"], ref["uid"], reason, message, component)
        now = rfc3339(self._clock.now())
        existing = self._latest.get(key)
        if existing is not None:

            def bump(event: Obj) -> None:
                event["count"] = int(event.get("count", 1)) + 1
                event["lastTimestamp"] = now

            if self._store.mutate("events", existing[0], existing[1], bump) is not None:
                return
        self._sequence += 1
        # The apiserver's clients name events <object>.<unix nanoseconds in hex>; a sequence keeps them unique.
        stamp = int(self._clock.now().timestamp() * 1e9) + self._sequence
        source: Obj = {"component": component}
        if host:
            source["host"] = host
        event = {
            "metadata": {"name": f"{ref['name']}.{stamp:x}", "namespace": namespace},
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": kind,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": host or "",
        }
        try:
            created = self._store.create("events", event, copy=False)
        except ApiError:  # the namespace is gone: nothing to record into
            return
        self._latest[key] = (namespace, created["metadata"]["name"])
        self._expiry.append((self._clock.elapsed() + self.ttl, namespace, created["metadata"]["name"], key))

    def expire(self) -> None:
        """Delete events older than the TTL (counted from their first occurrence)."""
        now = self._clock.elapsed()
        with self._lock:
            self._expire(now)

    def _expire(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] <= now:
            _, namespace, name, key = self._expiry.popleft()
            if self._latest.get(key) == (namespace, name):
                del self._latest[key]
            with contextlib.suppress(ApiError):
                self._store.delete("events", namespace, name)
