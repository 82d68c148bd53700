"""Prometheus metrics, health probes and alert intake for the controller, on 127.0.0.1:9464 unless told otherwise.

The controller loop sets the numbers after each cycle; a scrape only reads them. With an `AlertInbox` and
a bearer token, `POST /alerts/alertmanager` and `POST /alerts/azure-monitor` take alerts in (see
`runtime/alerts.py`); without a token those paths answer 404 like any unknown path: intake is never open
to anyone who can reach the port, and an operator turns it on by choosing a secret. Every metric lives on
the instance's own CollectorRegistry, not prometheus-client's global one, so a test (or two controllers
in one process) can have as many as it likes. Listening on localhost by default: the endpoint names
nodes and pools, and a cluster operator opts in to exposing it (`--listen 0.0.0.0:9464`).

Probes: `/livez` (and `/healthz`, its older name) answers whether the loop runs; `/readyz` whether the
controller can see the cluster (`Readiness`): it fails once several cycles in a row could not read the
Kubernetes API or ARM, and recovers with the first cycle that could. Liveness does not follow the API:
restarting a controller because the API server is down mends nothing and drops its caches.

Hostile input: whatever a client sends, the listener answers it (or the client went away) and logs one
line; it never writes a traceback, which would break a `--log-format json` stream. Request lines and
header lines are bounded by the standard library (64 KiB each, at most 100 headers: 414, 431 or 400),
bodies are read only on the alert routes and only up to `alerts.MAX_BODY`, each socket read or write waits
at most `REQUEST_TIMEOUT`, and at most `MAX_CONNECTIONS` requests are served at once (beyond: 503).
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import logging
import re
import socket
import sys
import threading
from collections import Counter as Tally
from collections.abc import Callable, Mapping, Sequence
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from nodewarden.errors import InputError
from nodewarden.model.health import NodeHealth, Signal
from nodewarden.notify.notifier import Delivery, Outcome
from nodewarden.runtime import alerts, logs

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:9464"  # 9464: the port OpenTelemetry's Prometheus exporter uses
DEFAULT_HOST = "127.0.0.1"

# Detection is expected in tens of seconds (lease age > 2 intervals); AKS auto-repair takes 5 minutes or more.
DETECTION_BUCKETS = (5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0)
# Recovery spans a restart (minutes) to a replacement (up to an hour or more).
RECOVERY_BUCKETS = (60.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0, 7200.0)
CYCLE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
STOP_POLL = 0.05  # seconds between checks for stop(): a stop (and each test's teardown) waits at most this long
REQUEST_TIMEOUT = 10.0  # seconds a client may take to send its request: a stalled sender must not hold a thread
MAX_CONNECTIONS = 64  # requests served at once: Prometheus, the kubelet's probes and alert senders need a handful
FAILING_CYCLES = 3  # cycles in a row without the API before /readyz fails: one failed read is a blip, three a fault
ALERT_ROUTES = {f"/alerts/{source.value}": source for source in alerts.AlertSource}

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"  # RFC 1123 host name label
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")


class ControllerMetrics:
    """Every metric the controller exports, on one private registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.node_state = Gauge(
            "nodewarden_node_health_state", "1 for each node's current health state.", ("node", "pool", "state"),
            registry=r,
        )  # fmt: skip
        self.signals = Gauge("nodewarden_signals", "Current signals by kind and scope.", ("kind", "scope"), registry=r)
        self.actions = Counter(
            "nodewarden_actions", "Remediation steps carried out, by step and outcome.", ("step", "outcome"),
            registry=r,
        )  # fmt: skip
        self.holds = Counter("nodewarden_holds", "New holds (not repeats), by reason.", ("reason",), registry=r)
        self.detection_latency = Histogram(
            "nodewarden_detection_seconds", "From a node's first problem signal's start to detection.",
            buckets=DETECTION_BUCKETS, registry=r,
        )  # fmt: skip
        self.recovery_latency = Histogram(
            "nodewarden_recovery_seconds", "From the start of remediation to the node's recovery.",
            buckets=RECOVERY_BUCKETS, registry=r,
        )  # fmt: skip
        self.journal_backlog = Gauge("nodewarden_journal_backlog", "Journaled intents without outcome.", registry=r)
        self.leader = Gauge("nodewarden_leader", "1 while this replica holds the leader Lease.", registry=r)
        self.last_cycle = Gauge(
            "nodewarden_last_cycle_timestamp_seconds", "Unix time of the last completed cycle.", registry=r
        )
        self.cycle_seconds = Histogram(
            "nodewarden_cycle_seconds", "Wall time of one observe-detect-plan-act cycle.", buckets=CYCLE_BUCKETS,
            registry=r,
        )  # fmt: skip
        self.alerts = Counter(
            "nodewarden_alerts", "Alerts taken in, by source and outcome (signal: names a node; ignored: names none).",
            ("source", "outcome"), registry=r,
        )  # fmt: skip
        self.alert_rejections = Counter(
            "nodewarden_alert_requests_rejected", "Alert requests refused, by source and HTTP status.",
            ("source", "status"), registry=r,
        )  # fmt: skip
        self.notifications = Counter(
            "nodewarden_notifications", "Incident notifications by sink and outcome (sent, failed after retries, "
            "dropped over the rate limit).", ("sink", "outcome"), registry=r,
        )  # fmt: skip

    def observe_health(self, health: Mapping[str, NodeHealth]) -> None:
        """Replace the node states: nodes that went away disappear from the metric."""
        self.node_state.clear()
        for name, node in health.items():
            self.node_state.labels(node=name, pool=node.pool or "", state=node.state.value).set(1)

    def observe_signals(self, signals: Sequence[Signal]) -> None:
        """Replace the signal counts: a kind no longer seen disappears from the metric."""
        self.signals.clear()
        for (kind, scope), count in Tally((s.kind.value, s.scope.value) for s in signals).items():
            self.signals.labels(kind=kind, scope=scope).set(count)

    def expect_sinks(self, sinks: Sequence[str]) -> None:
        """Start each sink's counts at 0, so the first failure is an increase a rate() or increase() can see."""
        for sink in sinks:
            for outcome in Outcome:
                self.notifications.labels(sink=sink, outcome=outcome.value)

    def count_delivery(self, delivery: Delivery) -> None:
        self.notifications.labels(sink=delivery.sink, outcome=delivery.outcome.value).inc()

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)


class Readiness:
    """Whether the controller can see the cluster, from what each cycle could read; thread-safe.

    Not ready before the first cycle that read everything (Kubernetes caches synced and, with Azure, the ARM
    read done: `Observation.synced`), nor once `failing_cycles` cycles in a row could not; ready again after
    the next cycle that could. Callable: `(ready, reason)`, as `MetricsServer` asks it.
    """

    def __init__(self, *, failing_cycles: int = FAILING_CYCLES) -> None:
        self._failing_cycles = failing_cycles
        self._lock = threading.Lock()
        self._seen_synced = False
        self._failed = 0  # cycles in a row that could not read everything
        self._why = ""

    def cycle_finished(self, *, synced: bool, notes: Sequence[str] = ()) -> None:
        """Count one cycle: `synced` as its observation says, `notes` for the reason shown when not ready."""
        with self._lock:
            if synced:
                self._seen_synced, self._failed, self._why = True, 0, ""
            else:
                self._failed += 1
                self._why = notes[0] if notes else "Kubernetes caches not synced"

    def __call__(self) -> tuple[bool, str]:
        with self._lock:
            if self._failed >= self._failing_cycles:
                return False, f"the API failed in the last {self._failed} cycles: {self._why}"
            if not self._seen_synced:
                return False, f"no cycle has read the cluster yet{': ' + self._why if self._why else ''}"
            return True, "ok"


class MetricsServer:
    """`GET /metrics`, `/livez` (`/healthz`), `/readyz` and, with an inbox and a token, `POST /alerts/...`.

    Alert requests: no token configured → 404; missing or wrong bearer token → 401; a replica that does not
    lead (`acting` says no) → 503 with Retry-After, closing the connection; no Content-Length →
    411; a body over 1 MiB → 413 (not read); not JSON or the wrong shape → 400 with one line; else 200
    with `{"accepted": n, "ignored": m}`. Anything else is 404; a failure inside the listener is 500 with
    one log line. `health` answers `/livez` and `/healthz`; `ready` answers `/readyz` (`health` without it).
    """

    def __init__(
        self,
        metrics: ControllerMetrics,
        *,
        listen: str = DEFAULT_LISTEN,
        health: Callable[[], tuple[bool, str]],
        ready: Callable[[], tuple[bool, str]] | None = None,
        alerts: alerts.AlertInbox | None = None,
        alert_token: str | None = None,
        acting: Callable[[], bool] | None = None,
    ) -> None:
        if alert_token is not None and not alert_token.strip():
            raise InputError("alert token: empty; set a secret, or none to turn alert intake off")
        self.metrics = metrics
        self.host, port = parse_listen(listen)
        self._health = health
        self._ready = ready or health
        self.alerts = alerts
        self._acting = acting
        self._alert_token = alert_token.encode() if alert_token is not None and alerts is not None else None
        server_class = _Server6 if ":" in self.host else _Server
        try:
            self._server = server_class((self.host, port), self._handler())
        except OSError as exc:
            raise InputError(f"--listen {listen}: cannot listen: {exc.strerror or exc}") from exc
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port listened on (the one the OS chose when `listen` ends in `:0`)."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": STOP_POLL}, name="nodewarden-metrics",
            daemon=True,
        )  # fmt: skip
        self._thread.start()
        intake = "on" if self.takes_alerts else "off" if self.alerts is None else "off (no alert token)"
        log.info("metrics.listening", extra={"host": self.host, "port": self.port, "alert_intake": intake})

    @property
    def takes_alerts(self) -> bool:
        """Whether `POST /alerts/...` is served: only with both an inbox and a token."""
        return self.alerts is not None and self._alert_token is not None

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def healthz(self) -> tuple[bool, str]:
        """The liveness callback, never raising: a failing check is itself unhealthy."""
        return _ask(self._health)

    def readyz(self) -> tuple[bool, str]:
        """The readiness callback, never raising."""
        return _ask(self._ready)

    def receive_alerts(
        self, source: alerts.AlertSource, headers: Message, body: BufferedIOBase
    ) -> tuple[int, str, dict[str, str]]:
        """Answer one alert request: (status, one-line or JSON body, extra headers). Never logs the token."""
        inbox = self.alerts
        if inbox is None or self._alert_token is None:
            return 404, "not found", {}
        if not self._is_authorized(headers.get("Authorization")):
            return self._reject(
                source, 401, "missing or wrong token in the Authorization header",
                {"WWW-Authenticate": 'Bearer realm="nodewarden"'},
            )  # fmt: skip
        if self._acting is not None and not self._acting():
            # Alerts reach one replica through the Service; only the leader's cycles take them in. A follower
            # refuses, and closes the connection so the sender's retry may land on the leader.
            return self._reject(
                source, 503, "this replica is not the leader: send again", {"Retry-After": "1", "Connection": "close"}
            )
        length_text = headers.get("Content-Length")
        if length_text is None:
            return self._reject(source, 411, "Content-Length required")
        if not (length_text.isascii() and length_text.isdigit()):
            return self._reject(source, 400, "Content-Length: expected a number of bytes")
        length = int(length_text)
        if length > alerts.MAX_BODY:
            return self._reject(source, 413, f"body: {length} bytes is more than the limit of {alerts.MAX_BODY}")
        try:
            data = body.read(length)
        except TimeoutError:
            return self._reject(source, 408, f"body: not sent within {REQUEST_TIMEOUT:g} s")
        if len(data) < length:
            return self._reject(source, 400, f"body: {len(data)} bytes, Content-Length said {length}")
        result = alerts.parse_payload(source, data, now=inbox.now())
        if isinstance(result, alerts.PayloadError):
            return self._reject(source, 400, result.message)
        inbox.put(result.records)
        self.metrics.alerts.labels(source=source.value, outcome="signal").inc(len(result.records))
        self.metrics.alerts.labels(source=source.value, outcome="ignored").inc(result.ignored)
        log.info(
            "alerts.received",
            extra={"source": source.value, "signals": len(result.records), "ignored": result.ignored,
                   "nodes": sorted({record.subject for record in result.records})},
        )  # fmt: skip
        return 200, json.dumps({"accepted": len(result.records), "ignored": result.ignored}), {}

    def _is_authorized(self, header: str | None) -> bool:
        scheme, _, credentials = (header or "").strip().partition(" ")
        if self._alert_token is None or scheme.lower() != "bearer":
            return False
        # Headers arrive decoded as Latin-1: encoding back recovers the bytes the client sent.
        return hmac.compare_digest(credentials.strip().encode("latin-1"), self._alert_token)

    def _reject(
        self, source: alerts.AlertSource, status: int, why: str, headers: dict[str, str] | None = None
    ) -> tuple[int, str, dict[str, str]]:
        self.metrics.alert_rejections.labels(source=source.value, status=str(status)).inc()
        log.warning("alerts.rejected", extra={"source": source.value, "status": status, "reason": why})
        return status, why, headers or {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            timeout = REQUEST_TIMEOUT

            def parse_request(self) -> bool:
                line: bytes = self.raw_requestline  # type: ignore[attr-defined]  # set by handle_one_request
                if not str(line, "iso-8859-1").split():  # no words (as parse_request splits): it would close mutely
                    self.command, self.requestline, self.request_version = "", "", self.default_request_version
                    self.send_error(400, "Bad request: empty request line")
                    return False
                return super().parse_request()

            def send_response_only(self, code: int, message: str | None = None) -> None:
                # Never the standard library's HTTP/0.9 answer, which has no status line (errors included): a
                # client, or a probe, could not tell a refusal from a page.
                if self.request_version == "HTTP/0.9":
                    self.request_version = "HTTP/1.0"
                super().send_response_only(code, message)

            def handle_one_request(self) -> None:
                """One request, whatever happens in it: a client gone is one line, a failure one line and a 500."""
                try:
                    super().handle_one_request()
                except (ConnectionError, TimeoutError) as exc:  # reset, broken pipe, stalled: nobody to answer
                    self.close_connection = True
                    log.info("metrics.client_gone", extra=_request_fields(self, exc))
                except Exception as exc:
                    self.close_connection = True
                    log.warning("metrics.request_failed", extra=_request_fields(self, exc))
                    if not self._headers_sent:
                        with contextlib.suppress(OSError):  # the client is gone too; the line above says what failed
                            self._send(500, b"internal error\n", "text/plain; charset=utf-8")

            def do_POST(self) -> None:
                source = ALERT_ROUTES.get(self.path.split("?", 1)[0])
                if source is None:
                    self._send(404, b"not found\n", "text/plain; charset=utf-8")
                    return
                status, text, headers = server.receive_alerts(source, self.headers, self.rfile)
                if status == 200:
                    self._send(200, text.encode(), "application/json")
                else:
                    self._send(status, (text + "\n").encode(), "text/plain; charset=utf-8", headers)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path in ALERT_ROUTES and server.takes_alerts:
                    self._send(405, b"method not allowed: POST alerts here\n", "text/plain; charset=utf-8",
                               {"Allow": "POST"})  # fmt: skip
                elif path == "/metrics":
                    self._send(200, server.metrics.exposition(), CONTENT_TYPE_LATEST)
                elif path in PROBES:
                    ok, reason = server.readyz() if path == "/readyz" else server.healthz()
                    body = "ok" if ok else reason or "unhealthy"
                    self._send(200 if ok else 503, (logs.one_line(body) + "\n").encode(), "text/plain; charset=utf-8")
                else:
                    self._send(404, b"not found: try /metrics, /livez or /readyz\n", "text/plain; charset=utf-8")

            _headers_sent = False

            def _send(
                self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None
            ) -> None:
                self._headers_sent = True
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                # Masked here too, not only by the handler's filter: a sender may put a secret in the query.
                log.debug("metrics.request", extra={"request": logs.one_line(format % args)})

            def log_error(self, format: str, *args: object) -> None:
                # the standard library's refusals (bad request line, too many or too long headers, bad method)
                log.warning("metrics.bad_request", extra={"client": self.client_address[0],
                                                          "reason": logs.one_line(format % args)})  # fmt: skip

        return Handler


PROBES = frozenset({"/livez", "/healthz", "/readyz"})
_BUSY = b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nbusy\n"


class _Server(ThreadingHTTPServer):
    """A thread per request, at most `MAX_CONNECTIONS` at once; whatever escapes a request is one log line."""

    request_queue_size = MAX_CONNECTIONS  # socketserver's 5 drops the SYNs of a burst of probes and scrapes

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            log.warning("metrics.busy", extra={"client": str(client_address[0]), "limit": MAX_CONNECTIONS})
            try:
                request.settimeout(1.0)
                request.sendall(_BUSY)
            except OSError:
                pass  # a client that cannot take 60 bytes is gone; the line above says it was refused
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()  # no thread started to release it
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Instead of socketserver's traceback on stderr: one line (a client gone after its answer, mostly)."""
        error = sys.exc_info()[1]
        level = logging.INFO if isinstance(error, ConnectionError | TimeoutError) else logging.WARNING
        log.log(level, "metrics.connection_failed",
                extra={"client": str(client_address[0]), "error": _error_text(error)})  # fmt: skip


class _Server6(_Server):
    address_family = socket.AF_INET6


def _ask(check: Callable[[], tuple[bool, str]]) -> tuple[bool, str]:
    """A probe's callback, never raising: a failing check is itself a failure."""
    try:
        return check()
    except Exception as exc:
        return False, f"health check failed: {type(exc).__name__}: {exc}"


def _request_fields(handler: BaseHTTPRequestHandler, error: BaseException) -> dict[str, object]:
    """The log fields of a failed request: who, what and why, never its headers or body."""
    return {
        "client": str(handler.client_address[0]),
        "method": getattr(handler, "command", None),
        "path": logs.one_line(getattr(handler, "path", "") or "", limit=200),
        "error": _error_text(error),
    }


def _error_text(error: BaseException | None) -> str:
    return "unknown" if error is None else logs.one_line(f"{type(error).__name__}: {error}", limit=300)


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` → (host, port). "127.0.0.1:9464", "[::1]:9464", "localhost:9464"; ":9464" means localhost
    (never all interfaces by accident); port 0 lets the OS choose. Anything else: InputError naming --listen."""
    host, sep, port_text = text.rpartition(":")
    if not sep:
        raise _bad_listen(text, "no port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if not _is_ip(host, version=6):
            raise _bad_listen(text, f"{host!r} is not an IPv6 address")
    elif ":" in host:
        raise _bad_listen(text, "put an IPv6 address in brackets, e.g. [::1]:9464")
    elif host and not (_is_ip(host, version=4) or _HOSTNAME.match(host)):
        raise _bad_listen(text, f"{host!r} is not an IP address or host name")
    if not port_text.isascii() or not port_text.isdigit() or int(port_text) > 65535:
        raise _bad_listen(text, f"port {port_text!r} is not a number from 0 to 65535")
    return host or DEFAULT_HOST, int(port_text)


def _is_ip(text: str, *, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def _bad_listen(text: str, why: str) -> InputError:
    return InputError(f"--listen {text!r}: expected HOST:PORT such as 127.0.0.1:9464 or [::1]:9464 ({why})")
