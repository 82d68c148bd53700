"""A local HTTP receiver on 127.0.0.1:0 that records each request and answers from a script."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from nodewarden.model.incident import CauseKind, Hypothesis, Incident, IncidentState


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers with `script` in order (then 200s); `requests` holds what arrived."""

    url: str = ""
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)

    def answer(self, *statuses: int, headers: dict[str, str] | None = None) -> None:
        self.script.extend((status, headers or {}) for status in statuses)


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status, headers = receiver.script.pop(0) if receiver.script else (200, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class FakeClock:
    """Manual time: `sleep` records the wait and moves time on, so retries cost nothing real."""

    def __init__(self, start: datetime) -> None:
        self.moment = start
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.moment

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.moment += timedelta(seconds=seconds)


T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def incident(**changes: Any) -> Incident:
    base: dict[str, Any] = {
        "id": "inc-20261126-0800-zone1",
        "title": "Zone 1 outage in pool <user1> & @channel",
        "state": IncidentState.OPEN,
        "impact_start": T0,
        "detected_at": T0 + timedelta(seconds=45),
        "pool": "user1",
        "zone": "westeurope-1",
        "nodes": ("aks-user1-0", "aks-user1-1", "aks-user1-2", "aks-user1-3"),
        "hypotheses": (Hypothesis(CauseKind.ZONE_OUTAGE, 0.9, "failures clustered in zone 1"),),
    }
    return Incident(**{**base, **changes})
