"""Metrics over HTTP as Prometheus scrapes them, /healthz, and the --listen parser."""

from __future__ import annotations

import http.client
import ipaddress
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from nodewarden.errors import InputError
from nodewarden.model.health import HealthState, NodeHealth, Scope, Signal, SignalKind
from nodewarden.runtime.metrics import ControllerMetrics, MetricsServer, parse_listen

T0 = datetime(2026, 11, 26, 8, 0, 10, tzinfo=UTC)


class Health:
    """A health callback the test can flip."""

    def __init__(self) -> None:
        self.answer = (True, "")

    def __call__(self) -> tuple[bool, str]:
        return self.answer


@pytest.fixture
def health() -> Health:
    return Health()


@pytest.fixture
def server(health: Health) -> Iterator[MetricsServer]:
    running = MetricsServer(ControllerMetrics(), listen="127.0.0.1:0", health=health)
    running.start()
    yield running
    running.stop()


def get(server: MetricsServer, path: str) -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read().decode()
    finally:
        conn.close()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def node(name: str, state: HealthState, pool: str = "user") -> NodeHealth:
    return NodeHealth(node=name, state=state, since=T0, pool=pool)


def signal(kind: SignalKind, subject: str, scope: Scope = Scope.NODE) -> Signal:
    return Signal(kind=kind, scope=scope, subject=subject, since=T0, message="m")


def test_a_scrape_shows_health_signals_actions_holds_and_latencies(server: MetricsServer) -> None:
    metrics = server.metrics
    metrics.observe_health({"n1": node("n1", HealthState.HEALTHY), "n2": node("n2", HealthState.UNHEALTHY)})
    metrics.observe_signals(
        [
            signal(SignalKind.HEARTBEAT_STALE, "n2"),
            signal(SignalKind.READY_UNKNOWN, "n2"),
            signal(SignalKind.HEARTBEAT_STALE, "n3"),
            signal(SignalKind.ZONE_FAILURE, "eastus-1", Scope.ZONE),
        ]
    )
    metrics.actions.labels(step="Restart", outcome="succeeded").inc()
    metrics.holds.labels(reason="StormBreaker").inc(2)
    metrics.detection_latency.observe(22.5)
    metrics.recovery_latency.observe(400)
    metrics.journal_backlog.set(1)
    metrics.leader.set(1)
    metrics.last_cycle.set(T0.timestamp())
    metrics.cycle_seconds.observe(0.2)

    status, content_type, body = get(server, "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=")
    found = samples(body)
    assert found[("nodewarden_node_health_state", (("node", "n1"), ("pool", "user"), ("state", "Healthy")))] == 1
    assert found[("nodewarden_node_health_state", (("node", "n2"), ("pool", "user"), ("state", "Unhealthy")))] == 1
    assert found[("nodewarden_signals", (("kind", "HeartbeatStale"), ("scope", "node")))] == 2
    assert found[("nodewarden_signals", (("kind", "ZoneFailure"), ("scope", "zone")))] == 1
    assert found[("nodewarden_actions_total", (("outcome", "succeeded"), ("step", "Restart")))] == 1
    assert found[("nodewarden_holds_total", (("reason", "StormBreaker"),))] == 2
    assert found[("nodewarden_detection_seconds_bucket", (("le", "30.0"),))] == 1
    assert found[("nodewarden_detection_seconds_bucket", (("le", "20.0"),))] == 0
    assert found[("nodewarden_recovery_seconds_count", ())] == 1
    assert found[("nodewarden_journal_backlog", ())] == 1
    assert found[("nodewarden_leader", ())] == 1
    assert found[("nodewarden_last_cycle_timestamp_seconds", ())] == T0.timestamp()
    assert found[("nodewarden_cycle_seconds_count", ())] == 1


def test_observing_again_forgets_nodes_and_signals_that_went_away() -> None:
    metrics = ControllerMetrics()
    metrics.observe_health({"n1": node("n1", HealthState.SUSPECT), "n2": node("n2", HealthState.HEALTHY)})
    metrics.observe_signals([signal(SignalKind.NOT_READY, "n1")])
    metrics.observe_health({"n1": node("n1", HealthState.UNHEALTHY)})
    metrics.observe_signals([])
    found = samples(metrics.exposition().decode())
    states = {labels: value for (name, labels), value in found.items() if name == "nodewarden_node_health_state"}
    assert states == {(("node", "n1"), ("pool", "user"), ("state", "Unhealthy")): 1}
    assert not [name for name, _ in found if name == "nodewarden_signals"]


def test_each_metrics_object_has_its_own_registry() -> None:
    ControllerMetrics().leader.set(1)
    assert samples(ControllerMetrics().exposition().decode())[("nodewarden_leader", ())] == 0


def test_healthz_is_ok_while_healthy_and_503_with_the_reason_when_not(server: MetricsServer, health: Health) -> None:
    assert get(server, "/healthz") == (200, "text/plain; charset=utf-8", "ok\n")
    health.answer = (False, "last cycle 312 s ago (limit 120 s)")
    assert get(server, "/healthz")[::2] == (503, "last cycle 312 s ago (limit 120 s)\n")


def test_a_health_check_that_raises_is_unhealthy_not_a_crash(health: Health) -> None:
    def broken() -> tuple[bool, str]:
        raise RuntimeError("cache gone")

    server = MetricsServer(ControllerMetrics(), listen="127.0.0.1:0", health=broken)
    server.start()
    try:
        assert get(server, "/healthz")[::2] == (503, "health check failed: RuntimeError: cache gone\n")
    finally:
        server.stop()


def test_other_paths_are_not_found(server: MetricsServer) -> None:
    assert get(server, "/")[0] == 404
    assert get(server, "/metrics/extra")[0] == 404


def test_a_port_in_use_is_an_input_error_naming_listen(server: MetricsServer) -> None:
    with pytest.raises(InputError, match=rf"--listen 127.0.0.1:{server.port}: cannot listen"):
        MetricsServer(ControllerMetrics(), listen=f"127.0.0.1:{server.port}", health=Health())


ports = st.integers(min_value=0, max_value=65535)


@given(address=st.ip_addresses(v=4), port=ports)
def test_parse_listen_reads_ipv4_host_and_port(address: ipaddress.IPv4Address, port: int) -> None:
    assert parse_listen(f"{address}:{port}") == (str(address), port)


@given(address=st.ip_addresses(v=6), port=ports)
def test_parse_listen_reads_bracketed_ipv6_host_and_port(address: ipaddress.IPv6Address, port: int) -> None:
    assert parse_listen(f"[{address}]:{port}") == (str(address), port)


@given(port=ports)
def test_an_empty_host_means_localhost_never_all_interfaces(port: int) -> None:
    assert parse_listen(f":{port}") == ("127.0.0.1", port)


@given(text=st.text(max_size=40))
def test_parse_listen_accepts_or_names_the_flag_never_anything_else(text: str) -> None:
    error: InputError | None = None
    try:
        host, port = parse_listen(text)
    except InputError as exc:
        error = exc
    if error is not None:
        assert str(error).startswith(f"--listen {text!r}: expected HOST:PORT")
    else:
        assert 0 <= port <= 65535
        assert host


@pytest.mark.parametrize(
    "text",
    ["9464", "127.0.0.1", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:65536", "127.0.0.1:-1", "::1:9464",
     "[not-v6]:9464", "[127.0.0.1]:9464", "bad host:9464", "-dash:9464", "127.0.0.1:９４６４", ""],
)  # fmt: skip
def test_junk_listen_addresses_are_refused(text: str) -> None:
    with pytest.raises(InputError, match=r"^--listen .*: expected HOST:PORT"):
        parse_listen(text)


def test_host_names_are_accepted() -> None:
    assert parse_listen("localhost:9464") == ("localhost", 9464)
    assert parse_listen("0.0.0.0:9464") == ("0.0.0.0", 9464)
