"""Leader election on a coordination.k8s.io/v1 Lease, the way client-go's leaderelection does it.

Two or more replicas run; only the one holding the Lease acts (docs/architecture.md, "Runtime"). Every
write replaces the Lease at the resourceVersion just read: if another replica wrote in between, the API
server answers 409 and we are not the leader. All times are the API server's (the controller's Clock), so the election
runs on the same clock as everything else and a test drives it with the twin's clock.

Holding the Lease is checked right before every mutating call, not once per cycle: `ensure(now)` is the
fence the controller's clients call (connection.fenced). We act only while our last renewal is younger
than `renew_deadline` (client-go: 10 s of a 15 s Lease), which leaves a margin before another replica
may take over; a fence check that finds the renewal older than half that renews first. Renewal does not
wait for the next cycle either: a `Renewer` thread renews every `retry_period` while a long drain or an
ARM operation blocks the loop. A failed renewal is retried, and we let go only once the deadline passes.
A broken API never raises out of `tick`; it only stops us acting until the Lease can be read again.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.coordination_v1 import Lease

from nodewarden.connection import READ_METHODS, Guard
from nodewarden.errors import LeaseLostError
from nodewarden.runtime.clock import Clock

log = logging.getLogger(__name__)

# kube-system exists in every cluster; a `nodewarden` namespace exists only once nodewarden is deployed there,
# and the API server refuses a Lease in a namespace that does not exist (the twin does too).
DEFAULT_NAMESPACE = "kube-system"
DEFAULT_NAME = "nodewarden"
# client-go's defaults (leaderelection.LeaderElectionConfig, as kube-controller-manager sets them).
LEASE_DURATION = 15.0  # another replica may take the Lease this long after our last renewal
RENEW_DEADLINE = 10.0  # we stop acting this long after our last renewal: 5 s of margin for skew and calls in flight
RETRY_PERIOD = 2.0  # between two renewals by the Renewer
ATTEMPTS = 3  # tries per renewal before it counts as failed (on a manual clock no time passes between them)


class LeaderElector:
    """Holds (or waits for) one Lease. Thread-safe: the loop, the fence and the Renewer share it."""

    def __init__(
        self,
        client: Client,
        *,
        name: str = DEFAULT_NAME,
        namespace: str = DEFAULT_NAMESPACE,
        identity: str,
        lease_duration: float = LEASE_DURATION,
        renew_deadline: float = RENEW_DEADLINE,
        retry_period: float = RETRY_PERIOD,
        attempts: int = ATTEMPTS,
    ) -> None:
        if not identity:
            raise ValueError("a leader elector needs a non-empty identity")
        if not 0 < renew_deadline < lease_duration:
            raise ValueError(f"renew_deadline must be in (0, lease_duration); found {renew_deadline:g}")
        self._client = client
        self.name = name
        self.namespace = namespace
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.attempts = max(1, attempts)
        self._lock = threading.RLock()
        self._is_leader = False
        self._holder: str | None = None
        self._renewed_at: datetime | None = None  # the renewTime of our last successful write
        self._transitions: int | None = None
        self.last_error: str | None = None

    @property
    def is_leader(self) -> bool:
        return self._is_leader

    @property
    def holder(self) -> str | None:
        """The holder's identity at the last successful read or write (None: nobody, or not known yet)."""
        return self._holder

    @property
    def transitions(self) -> int | None:
        """The Lease's leaseTransitions at the last successful read or write."""
        return self._transitions

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
        - any other error, `attempts` times in a row: `last_error` says why; a leader stays leader until
          `renew_deadline` has passed since its last renewal (client-go), a follower stays a follower.
        """
        with self._lock:
            was_leader, had_error = self._is_leader, self.last_error
            for _ in range(self.attempts):
                try:
                    self._is_leader = self._try(now)
                    self.last_error = None
                    break
                except ApiError as exc:
                    if exc.status.code == 409:
                        self._is_leader = False
                        self.last_error = None
                        break
                    self.last_error = f"lease {self._where}: {exc.status.code} {exc.status.message}"
                except Exception as exc:  # transport errors (httpx), anything lightkube lets through
                    self.last_error = f"lease {self._where}: {type(exc).__name__}: {exc}"
            else:
                self._is_leader = self._is_leader and self._valid(now)
            self._log(was_leader, had_error)
            return self._is_leader

    def holds(self, now: datetime) -> bool:
        """We are the leader and renewed recently enough to act at `now` (before `renew_deadline` runs out)."""
        with self._lock:
            return self._is_leader and self._valid(now)

    def ensure(self, now: datetime) -> None:
        """The fence: return if we may make a mutating call at `now`, else raise LeaseLostError.

        Renews first when the last renewal is older than half the deadline, so a call made after a long wait
        (a drain's, an ARM poll's) goes out on a fresh Lease or not at all."""
        with self._lock:
            if not self._is_leader:
                raise LeaseLostError(
                    f"refused a change: {self.identity} does not hold the Lease {self._where} (holder: {self._holder})"
                )
            self.refresh(now)
            if not self.holds(now):
                raise LeaseLostError(
                    f"refused a change: {self.identity} lost the Lease {self._where} "
                    f"(holder: {self._holder}; {self.last_error or 'taken over'})"
                )

    def refresh(self, now: datetime) -> None:
        """Renew if we lead and the last renewal is older than half the deadline; never raises. Called before
        every read the controller makes while acting, so the Lease is renewed as time passes in a long drain
        or ARM poll even on a manual clock, where no Renewer runs."""
        with self._lock:
            due = self._renewed_at is not None and (now - self._renewed_at).total_seconds() >= self.renew_deadline / 2
            if self._is_leader and due:
                self.tick(now)

    def release(self, now: datetime) -> None:
        """On a clean shutdown: clear holderIdentity so the other replica takes over at its next tick."""
        with self._lock:
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

    def _valid(self, now: datetime) -> bool:
        return may_act(self._renewed_at, now=now, renew_deadline=self.renew_deadline)

    def _log(self, was_leader: bool, had_error: str | None) -> None:
        if self._is_leader != was_leader:
            event = "leader.acquired" if self._is_leader else "leader.lost"
            log.info(event, extra={"identity": self.identity, "holder": self._holder, "lease": self._where,
                                   "transitions": self._transitions})  # fmt: skip
        if self.last_error and self.last_error != had_error:  # once per new error, not once per cycle
            log.warning("leader.error", extra={"identity": self.identity, "error": self.last_error})

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
            self._held(now, transitions=0)
            return True
        spec = lease.spec or LeaseSpec()
        holder = spec.holderIdentity or None
        self._holder = holder
        self._transitions = spec.leaseTransitions or 0
        if holder == self.identity:
            # Still ours, even if it ran out: nobody wrote it since (or the replace below answers 409).
            acquired = _utc(spec.acquireTime) if spec.acquireTime else now
            transitions = spec.leaseTransitions or 0
        elif holder is None or is_expired(spec, now, default=self.lease_duration):
            acquired, transitions = now, (spec.leaseTransitions or 0) + 1
        else:
            self._renewed_at = None
            return False
        lease.spec = self._spec(now, acquired=acquired, transitions=transitions)
        self._client.replace(lease)  # carries the resourceVersion we read: 409 if someone wrote since
        self._held(now, transitions=transitions)
        return True

    def _held(self, now: datetime, *, transitions: int) -> None:
        self._holder = self.identity
        self._renewed_at = now
        self._transitions = transitions

    def _spec(self, now: datetime, *, acquired: datetime, transitions: int) -> LeaseSpec:
        return LeaseSpec(
            holderIdentity=self.identity,
            leaseDurationSeconds=math.ceil(self.lease_duration),
            acquireTime=_micro(acquired),
            renewTime=_micro(now),
            leaseTransitions=transitions,
        )


def fence(elector: LeaderElector, clock: Clock) -> Guard:
    """The check the controller's clients run before each request (connection.fenced): a change goes out
    only while we hold the Lease at the API server's time, read afresh; a read renews it when due."""

    def guard(method: str, url: str) -> None:
        if method.upper() in READ_METHODS:
            elector.refresh(clock.now())
        else:
            elector.ensure(clock.sync())

    return guard


class Renewer:
    """Renews the Lease every `retry_period` of server time while we lead, however long a cycle takes.

    `sync` reads the API server's time afresh. Against a twin running faster than real time the wait is
    scaled by the speed seen so far (server seconds per real second), so renewals keep pace with the Lease.
    Only a process on real time starts one; on a manual clock the fence's renewal on demand is enough.
    """

    def __init__(self, elector: LeaderElector, sync: Callable[[], datetime]) -> None:
        self._elector = elector
        self._sync = sync
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-renewer-{elector.identity}", daemon=True)

    def start(self) -> Renewer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10.0)

    def _run(self) -> None:
        started, origin = time.monotonic(), self._sync()
        wait = self._elector.retry_period
        while not self._stop.wait(wait):
            try:
                now = self._sync()
                if self._elector.is_leader:
                    self._elector.tick(now)
            except Exception as exc:  # a dead renewer would leave only the fence; keep renewing
                log.warning("leader.renewer_error", extra={"identity": self._elector.identity, "error": str(exc)})
                continue
            real = time.monotonic() - started
            speed = max(1.0, (now - origin).total_seconds() / real) if real > 0 else 1.0
            wait = self._elector.retry_period / speed


def may_act(renewed_at: datetime | None, *, now: datetime, renew_deadline: float) -> bool:
    """A leader may change something at `now` only while its last renewal is younger than `renew_deadline`.

    Another replica takes the Lease only once it is `lease_duration` old on its clock, so the difference is
    the margin for clock skew between replicas and for a call still in flight when the Lease runs out."""
    return renewed_at is not None and (now - renewed_at).total_seconds() < renew_deadline


def is_expired(spec: LeaseSpec, now: datetime, *, default: float) -> bool:
    """Another replica may take the Lease at `now`: its renewTime + leaseDurationSeconds has passed."""
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
