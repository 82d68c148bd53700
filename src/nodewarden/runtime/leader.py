"""Leader election on a coordination.k8s.io/v1 Lease, the way client-go's leaderelection does it.

Two replicas run; only the one holding the Lease acts (design.md, guard 6). The loop calls `tick(now)`
once per cycle with the API server's time, so the election runs on the same clock as everything else
and a test drives it with the twin's clock. Every write replaces the Lease at the resourceVersion just
read: if another replica wrote in between, the API server answers 409 and we are not the leader.
A broken API never raises out of `tick`; it only stops us acting until the Lease can be read again.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.coordination_v1 import Lease

log = logging.getLogger(__name__)

# kube-system exists in every cluster; a `nodewarden` namespace exists only once nodewarden is deployed there,
# and the API server refuses a Lease in a namespace that does not exist (the twin does too).
DEFAULT_NAMESPACE = "kube-system"
DEFAULT_NAME = "nodewarden"


class LeaderElector:
    """Holds (or waits for) one Lease. Not thread-safe: call it from the controller loop only."""

    def __init__(
        self,
        client: Client,
        *,
        name: str = DEFAULT_NAME,
        namespace: str = DEFAULT_NAMESPACE,
        identity: str,
        lease_duration: float = 15.0,
    ) -> None:
        if not identity:
            raise ValueError("a leader elector needs a non-empty identity")
        self._client = client
        self.name = name
        self.namespace = namespace
        self.identity = identity
        self.lease_duration = lease_duration
        self._is_leader = False
        self._holder: str | None = None
        self.last_error: str | None = None

    @property
    def is_leader(self) -> bool:
        return self._is_leader

    @property
    def holder(self) -> str | None:
        """The holder's identity at the last successful read or write (None: nobody, or not known yet)."""
        return self._holder

    @property
    def _where(self) -> str:
        return f"{self.namespace}/{self.name}"

    def tick(self, now: datetime) -> bool:
        """Acquire the Lease or renew it. True while we are the leader; never raises for API errors.

        - no Lease: create it, holding it;
        - ours: renew (renewTime = now);
        - nobody's (empty holder) or expired (renewTime + leaseDurationSeconds < now): take it over,
          setting acquireTime and counting a transition;
        - another's, still valid: not the leader;
        - 409 Conflict on a write: another replica won the race: not the leader this tick;
        - any other error: not the leader this tick, `last_error` says why.
        """
        was_leader, had_error = self._is_leader, self.last_error
        try:
            self._is_leader = self._try(now)
            self.last_error = None
        except ApiError as exc:
            self._is_leader = False
            if exc.status.code != 409:
                self.last_error = f"lease {self._where}: {exc.status.code} {exc.status.message}"
        except Exception as exc:  # transport errors (httpx), anything lightkube lets through: stop acting
            self._is_leader = False
            self.last_error = f"lease {self._where}: {type(exc).__name__}: {exc}"
        if self._is_leader != was_leader:
            event = "leader.acquired" if self._is_leader else "leader.lost"
            log.info(event, extra={"identity": self.identity, "holder": self._holder, "lease": self._where})
        if self.last_error and self.last_error != had_error:  # once per new error, not once per cycle
            log.warning("leader.error", extra={"identity": self.identity, "error": self.last_error})
        return self._is_leader

    def release(self, now: datetime) -> None:
        """On a clean shutdown: clear holderIdentity so the other replica takes over at its next tick."""
        if not self._is_leader:
            return
        self._is_leader = False
        try:
            lease = self._client.get(Lease, self.name, namespace=self.namespace)
            spec = lease.spec or LeaseSpec()
            if spec.holderIdentity != self.identity:
                self._holder = spec.holderIdentity or None
                return
            lease.spec = LeaseSpec(
                holderIdentity=None,
                leaseDurationSeconds=1,
                acquireTime=_micro(now),
                renewTime=_micro(now),
                leaseTransitions=spec.leaseTransitions or 0,
            )
            self._client.replace(lease)
            self._holder = None
            log.info("leader.released", extra={"identity": self.identity})
        except Exception as exc:  # the Lease then simply expires
            self.last_error = f"lease {self._where}: release failed: {exc}"

    def _try(self, now: datetime) -> bool:
        try:
            lease = self._client.get(Lease, self.name, namespace=self.namespace)
        except ApiError as exc:
            if exc.status.code != 404:
                raise
            self._client.create(
                Lease(
                    metadata=ObjectMeta(name=self.name, namespace=self.namespace),
                    spec=self._spec(now, acquired=now, transitions=0),
                )
            )
            self._holder = self.identity
            return True
        spec = lease.spec or LeaseSpec()
        holder = spec.holderIdentity or None
        self._holder = holder
        if holder == self.identity:
            acquired = _utc(spec.acquireTime) if spec.acquireTime else now
            lease.spec = self._spec(now, acquired=acquired, transitions=spec.leaseTransitions or 0)
        elif holder is None or _expired(spec, now, default=self.lease_duration):
            lease.spec = self._spec(now, acquired=now, transitions=(spec.leaseTransitions or 0) + 1)
        else:
            return False
        self._client.replace(lease)  # carries the resourceVersion we read: 409 if someone wrote since
        self._holder = self.identity
        return True

    def _spec(self, now: datetime, *, acquired: datetime, transitions: int) -> LeaseSpec:
        return LeaseSpec(
            holderIdentity=self.identity,
            leaseDurationSeconds=math.ceil(self.lease_duration),
            acquireTime=_micro(acquired),
            renewTime=_micro(now),
            leaseTransitions=transitions,
        )


def _expired(spec: LeaseSpec, now: datetime, *, default: float) -> bool:
    if spec.renewTime is None:
        return True
    duration = spec.leaseDurationSeconds if spec.leaseDurationSeconds is not None else default
    return _utc(spec.renewTime) + timedelta(seconds=duration) < now


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _micro(moment: datetime) -> Any:
    """metav1.MicroTime as the API server parses it ("…T08:00:10.000000Z"). lightkube would write a datetime
    without its fraction when the microseconds are zero, which the API server's RFC3339Micro parser rejects,
    so the field gets the text itself (typed Any: lightkube's model declares a datetime)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
