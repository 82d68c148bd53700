"""Node metrics from Prometheus (optional, `--prometheus URL`): instant and range queries over its HTTP API.

`GET /api/v1/query?query=…&time=…` and `/api/v1/query_range?query=…&start=…&end=…&step=…` answer
`{"status": "success", "data": {"resultType": "vector"|"matrix", "result": [...]}}`
(prometheus.io/docs/prometheus/latest/querying/api). Only translation here: no decisions.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nodewarden.errors import InputError, UnreachableError


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
    def __init__(self, base_url: str, *, ca_bundle: str | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._context = ssl.create_default_context(cafile=ca_bundle) if base_url.startswith("https") else None

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
        url = f"{self.base_url}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout, context=self._context) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            body = _error_body(exc)
            raise PrometheusError(
                f"Prometheus at {self.base_url}: {body.get('error', exc.reason)} ({params['query']})"
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise UnreachableError(f"cannot reach Prometheus at {self.base_url}: {exc} (check --prometheus)") from exc
        if body.get("status") != "success":
            raise PrometheusError(
                f"Prometheus at {self.base_url}: {body.get('error', 'query failed')} ({params['query']})"
            )
        return body["data"]


def _error_body(exc: urllib.error.HTTPError) -> dict[str, Any]:
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
