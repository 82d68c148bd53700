"""The controller's listener under hostile input: every request is answered (or the client is gone) with one log
line, never a traceback; alert times are bounded by the controller's clock; readiness follows the API, liveness
the loop (issue 17)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import socket
import struct
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nodewarden.runtime import alerts, logs
from nodewarden.runtime.alerts import AlertInbox, AlertSource, Intake, PayloadError, parse_payload
from nodewarden.runtime.metrics import ControllerMetrics, MetricsServer, Readiness

T0 = datetime(2026, 11, 26, 8, 0, 10, tzinfo=UTC)
TOKEN = "s3cret-alert-token-7f2a"
VMSS = "aks-user-12345678-vmss"
STATUS_LINE = re.compile(rb"^HTTP/1\.[01] ([245])\d\d ")


class Lines(logging.Handler):
    """Every record nodewarden's listener logs, formatted as `--log-format json` writes it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logs.JsonFormatter())
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))

    def take(self) -> list[logging.LogRecord]:
        records, self.records = self.records, []
        return records


@pytest.fixture(scope="module")
def lines() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger("nodewarden.runtime")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


class Gate:
    """A readiness callback that blocks until the test opens it: the answer is written after the client left."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.opened = threading.Event()

    def __call__(self) -> tuple[bool, str]:
        self.asked.set()
        self.opened.wait(10)
        return True, "ok"


@pytest.fixture(scope="module")
def gate() -> Gate:
    return Gate()


@pytest.fixture(scope="module")
def listener(gate: Gate) -> Iterator[MetricsServer]:
    inbox = AlertInbox(now=lambda: T0)
    running = MetricsServer(ControllerMetrics(), listen="127.0.0.1:0", health=lambda: (True, "loop running"),
                            ready=gate, alerts=inbox, alert_token=TOKEN)  # fmt: skip
    running.start()
    yield running
    running.stop()


def exchange(server: MetricsServer, raw: bytes) -> bytes:
    """Send `raw`, close the sending side and read the answer to its end ("" when the server said nothing)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as conn:
        with contextlib.suppress(OSError):  # the server may answer (and close) before it read everything
            conn.sendall(raw)
            conn.shutdown(socket.SHUT_WR)
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := conn.recv(65536):
                answer += chunk
        return answer


def post(server: MetricsServer, path: str, body: bytes, *, token: str = TOKEN) -> tuple[int, str]:
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
    answer = exchange(server, head + body)
    status = int(answer.split(b" ", 2)[1])
    return status, answer.partition(b"\r\n\r\n")[2].decode()


def is_alive(server: MetricsServer) -> bool:
    return exchange(server, b"GET /livez HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 200 ")


def azure_alert(*dimensions: str, fired: str = "2026-11-26T07:59:24Z") -> dict[str, Any]:
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {"alertRule": "vm-availability", "severity": "Sev1", "monitorCondition": "Fired",
                           "firedDateTime": fired, "alertTargetIDs": [], "configurationItems": []},
            "alertContext": {"condition": {"allOf": [
                {"metricName": "VmAvailabilityMetric", "dimensions": [{"name": "node", "value": v} for v in dimensions]}
            ]}},
        },
    }  # fmt: skip


def am_alert(starts: str, *, status: str = "firing", ends: str = "0001-01-01T00:00:00Z") -> dict[str, Any]:
    return {
        "version": "4",
        "alerts": [{"status": status, "labels": {"alertname": "KubeNodeNotReady", "node": f"{VMSS}00000a"},
                    "annotations": {}, "startsAt": starts, "endsAt": ends}],
    }  # fmt: skip


# --- the cases the fuzzer found -------------------------------------------------------------------------------


def test_an_azure_alert_whose_node_dimension_ends_in_5000_digits_is_answered_not_dropped(
    listener: MetricsServer, lines: Lines, capfd: pytest.CaptureFixture[str]
) -> None:
    # The story: `<vmss>_<5,000 digits>` reads as a scale-set VM name; turning the id into the node's base-36
    # suffix called int() past Python's 4,300-digit limit, and the ValueError dropped the connection.
    for value in (f"{VMSS}_" + "9" * 5000, "aks-node" + "7" * 5000):
        status, body = post(listener, "/alerts/azure-monitor", json.dumps(azure_alert(value)).encode())
        assert (status, json.loads(body)) == (200, {"accepted": 0, "ignored": 1})
    assert "Traceback" not in capfd.readouterr().err
    assert is_alive(listener)


def test_an_azure_vm_name_with_a_real_instance_id_still_names_its_node(listener: MetricsServer) -> None:
    status, body = post(listener, "/alerts/azure-monitor", json.dumps(azure_alert(f"{VMSS}_37")).encode())
    assert (status, json.loads(body)) == (200, {"accepted": 1, "ignored": 0})


def test_a_client_that_resets_before_its_answer_is_one_log_line_not_a_traceback(
    listener: MetricsServer, gate: Gate, lines: Lines, capfd: pytest.CaptureFixture[str]
) -> None:
    lines.take()
    gate.asked.clear()
    conn = socket.create_connection(("127.0.0.1", listener.port), timeout=10)
    conn.sendall(b"GET /readyz HTTP/1.0\r\n\r\n")
    assert gate.asked.wait(10)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
    conn.close()
    gate.opened.set()  # the server writes its answer now, to a connection that is gone
    try:
        assert is_alive(listener)
    finally:
        gate.opened.clear()
    gone = [r for r in lines.take() if r.getMessage() == "metrics.client_gone"]
    assert len(gone) == 1
    assert getattr(gone[0], "path", None) == "/readyz"
    assert gone[0].exc_info is None
    assert "Traceback" not in capfd.readouterr().err


def test_an_answer_the_listener_cannot_build_is_a_500_and_one_line(lines: Lines) -> None:
    def broken() -> tuple[bool, str]:
        raise AssertionError("not a health check failure: a bug")  # escapes _ask, which catches Exception only

    metrics = ControllerMetrics()
    metrics.exposition = lambda: (_ for _ in ()).throw(RuntimeError("registry gone"))  # type: ignore[method-assign]
    server = MetricsServer(metrics, listen="127.0.0.1:0", health=broken)
    server.start()
    try:
        lines.take()
        answer = exchange(server, b"GET /metrics HTTP/1.0\r\n\r\n")
        assert answer.startswith(b"HTTP/1.0 500 ")
        [record] = [r for r in lines.take() if r.levelno >= logging.WARNING]
        assert (record.getMessage(), getattr(record, "error", None)) == (
            "metrics.request_failed",
            "RuntimeError: registry gone",
        )
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("desc", "raw", "status"),
    [
        ("blank request line", b"\r\n\r\n", b"400"),
        ("a request line of separators str.split() drops", b"\x1c\x1d", b"400"),
        ("four words", b"GET /a b HTTP/1.1\r\n\r\n", b"400"),
        ("HTTP/0.9 is answered with a status line", b"GET /livez\r\n\r\n", b"200"),
        ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", b"505"),
        ("unknown method", b"BREW /metrics HTTP/1.1\r\n\r\n", b"501"),
        ("a header line over 64 KiB", b"GET /livez HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", b"431"),
        ("101 headers", b"GET /livez HTTP/1.1\r\n" + b"X: y\r\n" * 101 + b"\r\n", b"431"),
        ("a request line over 64 KiB", b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", b"414"),
        ("body over the limit", b"POST /alerts/alertmanager HTTP/1.1\r\nAuthorization: Bearer " + TOKEN.encode()
         + f"\r\nContent-Length: {alerts.MAX_BODY + 1}\r\n\r\n".encode(), b"413"),
        ("negative length", b"POST /alerts/alertmanager HTTP/1.1\r\nAuthorization: Bearer " + TOKEN.encode()
         + b"\r\nContent-Length: -1\r\n\r\n", b"400"),
        ("body shorter than its length", b"POST /alerts/alertmanager HTTP/1.1\r\nAuthorization: Bearer "
         + TOKEN.encode() + b"\r\nContent-Length: 10\r\n\r\n{}", b"400"),
    ],
)  # fmt: skip
def test_malformed_requests_get_a_status_line_and_one_log_line(
    listener: MetricsServer, lines: Lines, desc: str, raw: bytes, status: bytes
) -> None:
    lines.take()
    answer = exchange(listener, raw)
    assert answer[9:12] == status, answer[:80]
    if status.startswith((b"4", b"5")):
        warnings = [r for r in lines.take() if r.levelno >= logging.WARNING]
        assert len(warnings) == 1
        assert "\n" not in lines.format(warnings[0])


# --- alert times ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("desc", "payload", "expected"),
    [
        ("alertmanager: a start in year 9999 is refused", am_alert("9999-12-31T23:59:59Z"),
         'alerts[0].startsAt: "9999-12-31T23:59:59Z" is 2912113 days after the controller\'s clock'),
        ("alertmanager: an end an hour ahead is refused",
         am_alert("2026-11-26T07:00:00Z", status="resolved", ends="2026-11-26T09:00:10Z"),
         'alerts[0].endsAt: "2026-11-26T09:00:10Z" is 1 hour after'),
        ("azure: a fired time a day ahead is refused", azure_alert(f"{VMSS}_1", fired="2026-11-27T08:00:10Z"),
         'data.essentials.firedDateTime: "2026-11-27T08:00:10Z" is 1 day after'),
    ],
)  # fmt: skip
def test_alert_times_ahead_of_the_controller_clock_are_refused_naming_the_field(
    desc: str, payload: dict[str, Any], expected: str
) -> None:
    source = AlertSource.ALERTMANAGER if "version" in payload else AlertSource.AZURE_MONITOR
    result = parse_payload(source, json.dumps(payload).encode(), now=T0)
    assert isinstance(result, PayloadError)
    assert result.message.startswith(expected)


def test_alert_times_within_the_clock_skew_are_taken() -> None:
    ahead = (T0 + alerts.MAX_CLOCK_SKEW).isoformat()
    result = parse_payload(AlertSource.ALERTMANAGER, json.dumps(am_alert(ahead)).encode(), now=T0)
    assert isinstance(result, Intake)
    assert len(result.records) == 1


@pytest.mark.parametrize("source", list(AlertSource))
def test_alerts_that_started_more_than_a_day_before_the_clock_are_ignored_not_kept(source: AlertSource) -> None:
    # The story: a 1970 start became an incident whose time to detect was 973,113 s.
    old = (T0 - alerts.MAX_ALERT_AGE - timedelta(seconds=1)).isoformat()
    payload = am_alert(old) if source is AlertSource.ALERTMANAGER else azure_alert(f"{VMSS}_1", fired=old)
    assert parse_payload(source, json.dumps(payload).encode(), now=T0) == Intake(ignored=1)
    recent = (T0 - alerts.MAX_ALERT_AGE).isoformat()
    payload = am_alert(recent) if source is AlertSource.ALERTMANAGER else azure_alert(f"{VMSS}_1", fired=recent)
    result = parse_payload(source, json.dumps(payload).encode(), now=T0)
    assert isinstance(result, Intake)
    assert len(result.records) == 1


# --- readiness and liveness -----------------------------------------------------------------------------------


def test_readiness_fails_after_three_failing_cycles_and_comes_back_with_the_first_good_one() -> None:
    ready = Readiness(failing_cycles=3)
    assert ready() == (False, "no cycle has read the cluster yet")
    ready.cycle_finished(synced=True)
    assert ready() == (True, "ok")
    for _ in range(2):
        ready.cycle_finished(synced=False, notes=("Azure not read this cycle: ARM 503",))
        assert ready()[0], "one or two failed reads are a blip"
    ready.cycle_finished(synced=False, notes=("Azure not read this cycle: ARM 503",))
    assert ready() == (False, "the API failed in the last 3 cycles: Azure not read this cycle: ARM 503")
    ready.cycle_finished(synced=True)
    assert ready() == (True, "ok")


def test_readyz_follows_readiness_while_livez_and_healthz_stay_up() -> None:
    ready = Readiness(failing_cycles=2)
    server = MetricsServer(ControllerMetrics(), listen="127.0.0.1:0", health=lambda: (True, "loop running"),
                           ready=ready)  # fmt: skip
    server.start()
    try:
        status = {path: exchange(server, f"GET {path} HTTP/1.0\r\n\r\n".encode())[9:12] for path in ("/readyz",)}
        assert status == {"/readyz": b"503"}
        ready.cycle_finished(synced=True)
        for _ in range(2):
            ready.cycle_finished(synced=False)
        answers = {p: exchange(server, f"GET {p} HTTP/1.0\r\n\r\n".encode()) for p in ("/readyz", "/livez", "/healthz")}
        assert answers["/readyz"].startswith(b"HTTP/1.0 503 ")
        assert answers["/readyz"].endswith(b"the API failed in the last 2 cycles: Kubernetes caches not synced\n")
        assert answers["/livez"].startswith(b"HTTP/1.0 200 ")
        assert answers["/healthz"].startswith(b"HTTP/1.0 200 ")
        ready.cycle_finished(synced=True)
        assert exchange(server, b"GET /readyz HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 200 ")
    finally:
        server.stop()


# --- random requests ------------------------------------------------------------------------------------------

_TOKENS = st.sampled_from([f"Bearer {TOKEN}", "Bearer wrong", "", "Basic Zm9vOmJhcg==", "Bearer " + TOKEN + "\x00"])
_HEADER_NAME = st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"), min_size=1,
                       max_size=20)  # fmt: skip
_HEADER_VALUE = st.text(st.characters(min_codepoint=0, max_codepoint=255, exclude_characters="\r\n"), max_size=80)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
_BODIES = st.one_of(
    st.binary(max_size=300),
    _JSON.map(lambda value: json.dumps(value).encode()),
    st.sampled_from([json.dumps(am_alert("9999-12-31T23:59:59Z")).encode(),
                     json.dumps(azure_alert(f"{VMSS}_" + "9" * 5000)).encode(),
                     b"[" * 100_000, b'{"version": "4", "alerts": [' + b"1" * 5000 + b"]}"]),
)  # fmt: skip
_PATHS = st.one_of(
    st.sampled_from(["/alerts/alertmanager", "/alerts/azure-monitor", "/metrics", "/livez", "/readyz", "/healthz",
                     "*", "//alerts/alertmanager", "/alerts/alertmanager?token=x"]),
    st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_characters="\r\n"), max_size=40),
)  # fmt: skip


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    method = draw(st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "get", "G\x00T"]))
    path = draw(_PATHS)
    version = draw(st.sampled_from(["HTTP/1.0", "HTTP/1.1", "HTTP/1.1", "HTTP/9.9", "HTTP/1", "HTTP/x.y", ""]))
    body = draw(_BODIES)
    headers = [("Authorization", draw(_TOKENS))]
    length = draw(st.sampled_from([str(len(body)), str(len(body)), None, "-1", "1e3", "99999999999", " 12", "١٢"]))
    if length is not None:
        headers.append(("Content-Length", length))
    headers += draw(st.lists(st.tuples(_HEADER_NAME, _HEADER_VALUE), max_size=5))
    head = f"{method} {path} {version}".rstrip() + "\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n"
    return head.encode("utf-8", "surrogatepass") + body


@settings(
    max_examples=40, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)  # bench/fuzz_listener.py runs thousands
@given(raw=requests())
def test_random_requests_are_answered_with_one_line_each_and_never_a_traceback(
    listener: MetricsServer, lines: Lines, raw: bytes
) -> None:
    lines.take()
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        answer = exchange(listener, raw)
        alive = is_alive(listener)
    assert alive, "the listener keeps serving"
    assert "Traceback" not in stderr.getvalue()
    assert stderr.getvalue() == ""
    match = STATUS_LINE.match(answer)
    assert match is not None, f"no status line: {answer[:80]!r}"
    failures = [r for r in lines.take() if r.levelno >= logging.WARNING]
    assert all(r.exc_info is None for r in failures)
    assert all("\n" not in lines.format(r) for r in failures)
    if match.group(1) == b"5":
        assert len(failures) == 1
    else:
        assert len(failures) <= 1
