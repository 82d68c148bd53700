"""Node metrics from Prometheus (optional, `--prometheus URL`): instant and range queries over its HTTP API.

`GET /api/v1/query?query=…&time=…` and `/api/v1/query_range?query=…&start=…&end=…&step=…` answer
`{"status": "success", "data": {"resultType": "vector"|"matrix", "result": [...]}}`
(prometheus.io/docs/prometheus/latest/querying/api). Only translation here: no decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx2

from nodewarden import http
from nodewarden.errors import InputError


@dataclass(frozen=True, slots=True)
class Sample:
    labels: dict[str, str]
    at: float  # Unix seconds
    value: float


@dataclass(frozen=True, slots=True)
class Series:
    labels: dict[str, str]
    points: tuple[tuple[float, float], ...]


class PrometheusError(InputError):
    """Prometheus refused the query (bad PromQL, or an error status); the message is Prometheus's own."""


class PrometheusClient:
    def __init__(
        self,
        base_url: str,
        *,
        ca_bundle: str | None = None,
        timeout: float = 10.0,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        self.endpoint = http.Endpoint(
            base_url.rstrip("/"), name="Prometheus", hint="check --prometheus", ca_bundle=ca_bundle, timeout=timeout,
            transport=transport,
        )  # fmt: skip

    def query(self, expr: str, *, at: datetime) -> list[Sample]:
        data = self._get("/api/v1/query", {"query": expr, "time": f"{at.timestamp():.3f}"})
        if data["resultType"] != "vector":
            raise PrometheusError(f"Prometheus answered a {data['resultType']} to an instant query: {expr}")
        return [
            Sample(dict(item["metric"]), float(item["value"][0]), float(item["value"][1])) for item in data["result"]
        ]

    def query_range(self, expr: str, *, start: datetime, end: datetime, step_seconds: float) -> list[Series]:
        params = {
            "query": expr,
            "start": f"{start.timestamp():.3f}",
            "end": f"{end.timestamp():.3f}",
            "step": f"{step_seconds:g}",
        }
        data = self._get("/api/v1/query_range", params)
        return [
            Series(dict(item["metric"]), tuple((float(t), float(v)) for t, v in item["values"]))
            for item in data["result"]
        ]

    def _get(self, path: str, params: dict[str, str]) -> Any:
        body = self.endpoint.call("GET", path, params=params, error=PrometheusError, about=params["query"])
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error", "query failed") if isinstance(body, dict) else "query failed"
            raise PrometheusError(f"{self.endpoint.describe(path)}: {error} ({params['query']})")
        return body["data"]
