"""Reading a live cluster survives ARM throttling and transient errors (the SDK retries, honouring Retry-After)."""

from __future__ import annotations

from nodewarden.connection import Connection
from nodewarden.observe import collect
from nodewarden.twin.service import Twin


def _instance_count(gathered: collect.Gathered) -> int:
    return sum(len(d.data) for d in gathered.documents if d.source.startswith("vmss-instances-"))


def _arm_requests(twin: Twin) -> int:
    return sum(1 for _, path, _ in twin.requests if path.startswith("/subscriptions/"))


def test_collect_survives_a_burst_of_429s_by_retrying_them(twin: Twin, connection: Connection) -> None:
    twin.record_requests = True
    collect.gather(connection)
    calm = _arm_requests(twin)
    twin.requests.clear()
    twin.azure.throttle(True, requests=3, retry_after=1)  # the next three ARM calls get 429 + Retry-After: 1
    gathered = collect.gather(connection)
    assert _instance_count(gathered) == 12
    assert _arm_requests(twin) == calm + 3  # each throttled call was retried once


def test_collect_survives_transient_arm_errors(twin: Twin, connection: Connection) -> None:
    twin.azure.arm_errors(0.3)
    gathered = collect.gather(connection)
    assert _instance_count(gathered) == 12
