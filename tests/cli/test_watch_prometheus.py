"""`nodewarden watch --prometheus URL`: node metrics from the Prometheus HTTP API become signals.

A loopback fake of the Prometheus API answers the node-exporter queries for the twin's nodes: one node's
CPU far above its pool's, and one node's disk filling up along a straight line.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from nodewarden.twin.service import Twin
from tests.conftest import Invoke

NODES: list[str] = []
HOT, FILLING = 0, 1  # indexes into the apps nodes


class _Prometheus(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        expr = query["query"][0]
        if url.path == "/api/v1/query":
            at = float(query["time"][0])
            result = [{"metric": {"node": node}, "value": [at, str(_value(expr, i))]} for i, node in enumerate(NODES)]
            body = {"status": "success", "data": {"resultType": "vector", "result": result}}
        else:
            start, end, step = (float(query[k][0]) for k in ("start", "end", "step"))
            points = int((end - start) // step) + 1
            result = [
                {
                    "metric": {"node": node},
                    "values": [[start + k * step, str(_disk(i, k, points))] for k in range(points)],
                }
                for i, node in enumerate(NODES)
            ]
            body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _value(expr: str, index: int) -> float:
    if "node_cpu_seconds_total" in expr:
        return 0.97 if index == HOT else 0.20 + index / 1000
    if "node_filesystem" in expr:
        return 0.90 if index == FILLING else 0.30
    return 0.40 + index / 1000


def _disk(index: int, k: int, points: int) -> float:
    """The filling node climbs from 60 % to 90 % over the hour: full in about 20 minutes more."""
    return 0.60 + 0.30 * k / (points - 1) if index == FILLING else 0.30


@pytest.fixture
def prometheus() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Prometheus)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_watch_turns_node_metrics_into_outlier_and_disk_fill_signals(invoke: Invoke, prometheus: str) -> None:
    with Twin("small") as twin:
        NODES[:] = sorted(
            n["metadata"]["name"] for n in twin.world.store.items("nodes") if "-apps-" in n["metadata"]["name"]
        )
        watched = invoke("watch", "--twin", str(twin.state_dir), "--once", "-o", "json", "--prometheus", prometheus)
    assert watched.code == 0, watched.err
    signals = [json.loads(line) for line in watched.out.splitlines()]
    outliers = [s for s in signals if s["kind"] == "MetricOutlier"]
    assert [s["node"] for s in outliers] == [NODES[HOT]]
    filling = [s for s in signals if s["kind"] == "DiskFillPredicted"]
    assert [s["node"] for s in filling] == [NODES[FILLING]]
    assert 0 < filling[0]["value"] < 3600, "full within the hour at this rate"
