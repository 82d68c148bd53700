"""Leader election against the twin's API server: one of two replicas acts; the other takes over."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from lightkube import Client, KubeConfig
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.resources.coordination_v1 import Lease

from nodewarden.connection import connect
from nodewarden.errors import LeaseLostError
from nodewarden.runtime import leader
from nodewarden.runtime.leader import LEASE_DURATION, RENEW_DEADLINE, LeaderElector, Renewer, may_act
from nodewarden.twin.service import Twin


@pytest.fixture
def twin() -> Iterator[Twin]:
    with Twin("small") as running:
        yield running


@pytest.fixture
def kube(twin: Twin) -> Client:
    client = connect(twin=twin.state_dir, need_azure=False).kube
    assert client is not None
    return client


def electors(kube: Client, **options: object) -> tuple[LeaderElector, LeaderElector]:
    return (
        LeaderElector(kube, identity="replica-a", **options),  # type: ignore[arg-type]
        LeaderElector(kube, identity="replica-b", **options),  # type: ignore[arg-type]
    )


def lease(kube: Client, namespace: str = "kube-system") -> Lease:
    return kube.get(Lease, "nodewarden", namespace=namespace)


def test_of_two_replicas_the_first_to_tick_leads_and_the_other_waits(twin: Twin, kube: Client) -> None:
    a, b = electors(kube)
    assert a.tick(twin.clock.now()) is True
    assert b.tick(twin.clock.now()) is False
    assert (a.is_leader, b.is_leader, b.holder, b.last_error) == (True, False, "replica-a", None)
    spec = lease(kube).spec
    assert spec is not None
    assert (spec.holderIdentity, spec.leaseDurationSeconds, spec.leaseTransitions) == ("replica-a", 15, 0)


def test_the_leader_renews_and_keeps_the_lease_past_its_duration(twin: Twin, kube: Client) -> None:
    a, b = electors(kube)
    a.tick(twin.clock.now())
    for _ in range(5):
        twin.advance(10)
        assert a.tick(twin.clock.now()) is True
        assert b.tick(twin.clock.now()) is False
    spec = lease(kube).spec
    assert spec is not None
    assert spec.renewTime is not None
    assert spec.renewTime == twin.clock.now()
    assert spec.leaseTransitions == 0


def test_the_other_replica_takes_over_once_the_leader_stops_renewing(twin: Twin, kube: Client) -> None:
    a, b = electors(kube)
    a.tick(twin.clock.now())
    twin.advance(10)
    assert b.tick(twin.clock.now()) is False  # 10 s of 15: still a's
    twin.advance(10)  # a died: 20 s since its last renewal
    assert b.tick(twin.clock.now()) is True
    assert a.tick(twin.clock.now()) is False  # a comes back: b holds a fresh lease
    assert a.holder == "replica-b"
    spec = lease(kube).spec
    assert spec is not None
    assert (spec.holderIdentity, spec.leaseTransitions, spec.acquireTime) == ("replica-b", 1, twin.clock.now())


def test_release_hands_over_at_once(twin: Twin, kube: Client) -> None:
    a, b = electors(kube)
    a.tick(twin.clock.now())
    a.release(twin.clock.now())
    assert a.is_leader is False
    assert b.tick(twin.clock.now()) is True  # no waiting for the 15 s to run out
    spec = lease(kube).spec
    assert spec is not None
    assert (spec.holderIdentity, spec.leaseTransitions) == ("replica-b", 1)


def test_lease_times_are_written_as_micro_time(twin: Twin, kube: Client) -> None:
    a, _ = electors(kube)
    a.tick(twin.clock.now())  # the twin's clock starts on a whole second: lightkube alone would drop ".000000"
    stored = twin.world.store.peek("leases", "kube-system", "nodewarden")
    assert stored is not None
    assert stored["spec"]["renewTime"].endswith(".000000Z"), stored["spec"]
    assert stored["spec"]["acquireTime"].endswith(".000000Z"), stored["spec"]


class StaleReads:
    """A client whose reads of the Lease return what it was at first: the replica read just before the other
    one wrote."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._first: Lease | None = None

    def get(self, *args: object, **kwargs: object) -> Lease:
        if self._first is None:
            self._first = self._client.get(*args, **kwargs)  # type: ignore[call-overload]
        return self._first

    def replace(self, obj: Lease) -> Lease:
        return self._client.replace(obj)


def test_a_lost_race_is_a_conflict_not_an_error(twin: Twin, kube: Client) -> None:
    a, b = electors(kube)
    a.tick(twin.clock.now())
    twin.advance(20)  # a stopped renewing; b and c both see it expired
    c = LeaderElector(StaleReads(kube), identity="replica-c")  # type: ignore[arg-type]
    c._client.get(Lease, "nodewarden", namespace="kube-system")  # c reads …
    assert b.tick(twin.clock.now()) is True  # … b takes the lease …
    assert c.tick(twin.clock.now()) is False  # … and c's write of what it read is refused with 409
    assert c.last_error is None
    assert lease(kube).spec.holderIdentity == "replica-b"  # type: ignore[union-attr]


def test_a_missing_namespace_means_not_leader_with_the_reason(twin: Twin, kube: Client) -> None:
    elector = LeaderElector(kube, identity="replica-a", namespace="nodewarden")
    assert elector.tick(twin.clock.now()) is False
    assert elector.last_error is not None
    assert elector.last_error.startswith("lease nodewarden/nodewarden: 404")


def test_api_errors_stop_us_leading_only_after_the_renew_deadline_and_are_never_raised(
    twin: Twin, kube: Client
) -> None:
    a, _ = electors(kube)
    assert a.tick(twin.clock.now()) is True
    twin.inject("kube-errors", rate=1.0)
    twin.advance(9)
    assert a.tick(twin.clock.now()) is True, "9 s after the last renewal: within client-go's 10 s renew deadline"
    assert a.last_error is not None
    twin.advance(1)
    assert a.tick(twin.clock.now()) is False, "10 s without a renewal: we stop acting, 5 s before anyone may take over"
    assert a.last_error is not None
    assert re.match(r"lease kube-system/nodewarden: 50[03] ", a.last_error), a.last_error
    twin.inject("kube-errors", rate=0.0)
    assert a.tick(twin.clock.now()) is True  # still ours: it renews and leads again
    assert a.last_error is None


def test_an_unreachable_api_server_never_raises_out_of_tick(twin: Twin, tmp_path: Path) -> None:
    config = yaml.safe_load((twin.state_dir / "kubeconfig").read_text())
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{port}"
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(config))
    elector = LeaderElector(Client(KubeConfig.from_file(str(tmp_path / "kubeconfig"))), identity="replica-a")
    assert elector.tick(twin.clock.now()) is False
    assert elector.last_error is not None
    assert elector.last_error.startswith("lease kube-system/nodewarden: ConnectError"), elector.last_error


# -- the fence, renewal on demand and the Renewer (issue 12, item 2) ------------------------------------------


def test_the_fence_refuses_a_follower_with_the_holder_named(twin: Twin, kube: Client) -> None:
    a, b = electors(kube)
    a.tick(twin.clock.now())
    b.tick(twin.clock.now())
    a.ensure(twin.clock.now())
    with pytest.raises(
        LeaseLostError, match=r"replica-b does not hold the Lease kube-system/nodewarden \(holder: replica-a\)"
    ):
        b.ensure(twin.clock.now())


def test_the_fence_renews_a_lease_that_is_due_and_lets_the_call_through(twin: Twin, kube: Client) -> None:
    a, b = electors(kube)
    a.tick(twin.clock.now())
    twin.advance(14)  # a's loop was busy: 14 of the Lease's 15 s gone, past the 10 s renew deadline
    a.ensure(twin.clock.now())  # still ours on the server: renewed, then allowed
    assert lease(kube).spec.renewTime == twin.clock.now()  # type: ignore[union-attr]
    twin.advance(14)
    assert b.tick(twin.clock.now()) is False, "renewed 14 s ago: not b's to take"


def test_the_fence_refuses_once_another_replica_took_the_lease(twin: Twin, kube: Client) -> None:
    a, b = electors(kube)
    a.tick(twin.clock.now())
    twin.advance(20)
    assert b.tick(twin.clock.now()) is True  # a stalled past the Lease: b took it
    assert a.is_leader, "a has not looked yet"
    with pytest.raises(LeaseLostError, match="replica-a lost the Lease kube-system/nodewarden"):
        a.ensure(twin.clock.now())
    assert not a.is_leader
    assert a.holder == "replica-b"


def test_the_fence_refuses_after_the_renew_deadline_when_the_api_fails(twin: Twin, kube: Client) -> None:
    a, _ = electors(kube)
    a.tick(twin.clock.now())
    twin.inject("kube-errors", rate=1.0)
    twin.advance(6)
    a.ensure(twin.clock.now())  # the renewal failed, but 6 s is within the deadline: still safe to act
    twin.advance(4)
    with pytest.raises(LeaseLostError, match=r"50[03]"):
        a.ensure(twin.clock.now())


def test_a_renewal_survives_api_errors_by_retrying(twin: Twin, kube: Client) -> None:
    a = LeaderElector(kube, identity="replica-a", attempts=20)
    a.tick(twin.clock.now())
    twin.inject("kube-errors", rate=0.5)
    for _ in range(10):
        twin.advance(5)
        assert a.tick(twin.clock.now()) is True
        stored = twin.world.store.peek("leases", "kube-system", "nodewarden")  # not through the failing API
        assert stored is not None
        assert datetime.fromisoformat(stored["spec"]["renewTime"]) == twin.clock.now()


def test_the_renewer_keeps_the_lease_while_the_loop_is_busy(twin: Twin, kube: Client) -> None:
    a = LeaderElector(kube, identity="replica-a", retry_period=0.01)
    b = LeaderElector(kube, identity="replica-b")
    a.tick(twin.clock.now())
    renewer = Renewer(a, twin.clock.now).start()
    try:
        for _ in range(4):  # a's loop never ticks: one long drain
            twin.advance(8)
            moment = twin.clock.now()
            deadline = time.monotonic() + 10.0
            while lease(kube).spec.renewTime != moment:  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "the renewer did not renew"
                time.sleep(0.01)  # polling the renewer thread for a condition, bounded above
            assert b.tick(twin.clock.now()) is False
    finally:
        renewer.stop()
    assert lease(kube).spec.leaseTransitions == 0  # type: ignore[union-attr]


@settings(max_examples=200, deadline=None)
@given(
    renewed=st.datetimes(timezones=st.just(UTC)),
    elapsed=st.floats(min_value=0, max_value=60, allow_nan=False),
    skew=st.floats(min_value=0, max_value=LEASE_DURATION - RENEW_DEADLINE, exclude_max=True, allow_nan=False),
)
def test_a_leader_never_acts_when_another_replica_could_take_the_lease(
    renewed: datetime, elapsed: float, skew: float
) -> None:
    """While may_act holds, a rival whose clock runs up to the margin ahead still sees the Lease as valid."""
    now = renewed + timedelta(seconds=elapsed)
    spec = LeaseSpec(holderIdentity="a", leaseDurationSeconds=int(LEASE_DURATION), renewTime=renewed)
    if may_act(renewed, now=now, renew_deadline=RENEW_DEADLINE):
        assert not leader.is_expired(spec, now + timedelta(seconds=skew), default=LEASE_DURATION)
