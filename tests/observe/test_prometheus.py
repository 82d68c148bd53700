"""The Prometheus adapter against a small fake of the Prometheus HTTP API on loopback (the wire, not our code)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from nodewarden.errors import UnreachableError
from nodewarden.observe.prometheus import PrometheusClient, PrometheusError

AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
seen: list[dict[str, list[str]]] = []


class _FakePrometheus(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        seen.append(query)
        if query["query"][0] == "bad(":
            self._send(
                400,
                {"status": "error", "errorType": "bad_data", "error": "1:5: parse error: unclosed left parenthesis"},
            )
        elif url.path == "/api/v1/query":
            result = [{"metric": {"node": "aks-apps-0"}, "value": [float(query["time"][0]), "0.93"]}]
            self._send(200, {"status": "success", "data": {"resultType": "vector", "result": result}})
        else:
            start, step = float(query["start"][0]), float(query["step"][0])
            values = [[start + i * step, str(0.5 + i / 10)] for i in range(3)]
            result = [{"metric": {"node": "aks-apps-0"}, "values": values}]
            self._send(200, {"status": "success", "data": {"resultType": "matrix", "result": result}})

    def _send(self, status: int, body: object) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def prometheus() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakePrometheus)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_instant_query_returns_samples_with_labels_time_and_value(prometheus: str) -> None:
    samples = PrometheusClient(prometheus).query('node_memory_utilisation{node="aks-apps-0"}', at=AT)
    assert [(s.labels, s.at, s.value) for s in samples] == [({"node": "aks-apps-0"}, AT.timestamp(), 0.93)]
    assert seen[-1]["time"] == [f"{AT.timestamp():.3f}"]


def test_a_range_query_returns_series_of_points(prometheus: str) -> None:
    [series] = PrometheusClient(prometheus).query_range(
        "node_load1", start=AT, end=AT.replace(minute=5), step_seconds=60
    )
    assert series.labels == {"node": "aks-apps-0"}
    assert [v for _, v in series.points] == [0.5, 0.6, 0.7]
    assert seen[-1]["step"] == ["60"]


def test_bad_promql_surfaces_prometheus_own_message(prometheus: str) -> None:
    with pytest.raises(PrometheusError, match="unclosed left parenthesis"):
        PrometheusClient(prometheus).query("bad(", at=AT)


def test_an_unreachable_prometheus_says_which_flag_to_check() -> None:
    with pytest.raises(UnreachableError, match="check --prometheus"):
        PrometheusClient("http://127.0.0.1:9", timeout=2).query("up", at=AT)
