"""Prometheus metrics and `/healthz` for the controller, served on 127.0.0.1:9464 unless told otherwise.

The controller loop sets the numbers after each cycle; a scrape only reads them. Every metric lives on
the instance's own CollectorRegistry, not prometheus-client's global one, so a test (or two controllers
in one process) can have as many as it likes. Listening on localhost by default: the endpoint names
nodes and pools, and a cluster operator opts in to exposing it (`--listen 0.0.0.0:9464`).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import threading
from collections import Counter as Tally
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from nodewarden.errors import InputError
from nodewarden.model.health import NodeHealth, Signal

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:9464"  # 9464: the port OpenTelemetry's Prometheus exporter uses
DEFAULT_HOST = "127.0.0.1"

# Detection is expected in tens of seconds (lease age > 2 intervals); AKS auto-repair takes 5 minutes or more.
DETECTION_BUCKETS = (5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0)
# Recovery spans a restart (minutes) to a replacement (up to an hour or more).
RECOVERY_BUCKETS = (60.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0, 7200.0)
CYCLE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

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

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)


class MetricsServer:
    """`GET /metrics` and `GET /healthz` on a daemon thread; anything else is 404."""

    def __init__(
        self,
        metrics: ControllerMetrics,
        *,
        listen: str = DEFAULT_LISTEN,
        health: Callable[[], tuple[bool, str]],
    ) -> None:
        self.metrics = metrics
        self.host, port = parse_listen(listen)
        self._health = health
        server_class = _Server6 if ":" in self.host else ThreadingHTTPServer
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
        self._thread = threading.Thread(target=self._server.serve_forever, name="nodewarden-metrics", daemon=True)
        self._thread.start()
        log.info("metrics.listening", extra={"host": self.host, "port": self.port})

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def healthz(self) -> tuple[bool, str]:
        """The health callback, never raising: a failing check is itself unhealthy."""
        try:
            return self._health()
        except Exception as exc:
            return False, f"health check failed: {type(exc).__name__}: {exc}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, server.metrics.exposition(), CONTENT_TYPE_LATEST)
                elif path == "/healthz":
                    ok, reason = server.healthz()
                    body = "ok" if ok else reason or "unhealthy"
                    self._send(200 if ok else 503, (body + "\n").encode(), "text/plain; charset=utf-8")
                else:
                    self._send(404, b"not found: try /metrics or /healthz\n", "text/plain; charset=utf-8")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("metrics.request", extra={"request": format % args})

        return Handler


class _Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


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
