"""Node metrics for detection, read through the Prometheus HTTP API (node-exporter series).

Each series is a used share between 0 and 1, keyed by node name: the `node` label where the scrape
config sets one (AKS managed Prometheus does), else `instance` without its port.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from nodewarden.detect.metrics import Metric, NodeMetrics
from nodewarden.errors import InputError
from nodewarden.observe.prometheus import PrometheusClient

log = logging.getLogger(__name__)

QUERIES = {
    Metric.CPU: '1 - avg by (node, instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))',
    Metric.MEMORY: "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
    Metric.DISK: '1 - node_filesystem_avail_bytes{mountpoint="/"} / node_filesystem_size_bytes{mountpoint="/"}',
}
DISK_HISTORY = timedelta(hours=1)
DISK_STEP = 60.0


def node_of(labels: dict[str, str]) -> str | None:
    name = labels.get("node") or labels.get("instance")
    return name.rsplit(":", 1)[0] if name and ":" in name and not name.startswith("[") else name


def metrics_reader(client: PrometheusClient) -> Callable[[datetime], NodeMetrics | None]:
    """Reads node metrics each cycle; when Prometheus fails, detection goes on without them (logged)."""

    def read(now: datetime) -> NodeMetrics | None:
        try:
            return read_node_metrics(client, now)
        except InputError as exc:
            log.warning("metrics.unavailable", extra={"error": str(exc)})
            return None

    return read


def read_node_metrics(client: PrometheusClient, now: datetime) -> NodeMetrics:
    current: dict[Metric, dict[str, float]] = {}
    for metric, expr in QUERIES.items():
        values: dict[str, float] = {}
        for sample in client.query(expr, at=now):
            node = node_of(sample.labels)
            if node:
                values[node] = sample.value
        current[metric] = values
    disk_used: dict[str, list[tuple[datetime, float]]] = {}
    for series in client.query_range(QUERIES[Metric.DISK], start=now - DISK_HISTORY, end=now, step_seconds=DISK_STEP):
        node = node_of(series.labels)
        if node:
            disk_used[node] = [(datetime.fromtimestamp(at, UTC), value) for at, value in series.points]
    return NodeMetrics(current=current, disk_used=disk_used)
