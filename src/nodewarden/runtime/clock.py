"""Where the controller's `now` comes from: the API server's clock, so local skew cannot age data.

`ServerClock` reads the `Date` header of a cheap request (`GET /version`) once per cycle and keeps the
offset to the local clock. Against the twin that header is the twin's virtual time, so the controller
runs on twin time with no special case — even on a twin running faster than real time, since the
offset is taken afresh each cycle. It never goes backwards (the header has whole seconds).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol

import httpx2
from lightkube.config import client_adapter
from lightkube.config.client_adapter import ConnectionParams
from lightkube.config.kubeconfig import SingleConfig


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sync(self) -> datetime:
        """`now`, read afresh from the source of truth; the controller calls it once per cycle."""
        ...

    def sleep(self, seconds: float) -> None: ...


class Driven(Protocol):
    """A simulated world with its own clock (the twin): read its time, move it on."""

    def now(self) -> datetime: ...

    def advance(self, seconds: float) -> None: ...


class DrivenClock:
    """The controller on a simulated clock: `now` reads it and `sleep` advances it (tests, benches, demos)."""

    def __init__(self, world: Driven) -> None:
        self.world = world

    def now(self) -> datetime:
        return self.world.now()

    def sync(self) -> datetime:
        return self.world.now()

    def sleep(self, seconds: float) -> None:
        self.world.advance(seconds)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sync(self) -> datetime:
        return self.now()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class ServerClock:
    """The API server's time: local time plus the offset seen in its last `Date` header."""

    RESYNC = 30.0  # real seconds between reads of the server's Date

    def __init__(self, config: SingleConfig) -> None:
        self._http = client_adapter.Client(config, ConnectionParams(timeout=httpx2.Timeout(10)))
        self._offset = timedelta()
        self._synced_at: float | None = None
        self._last: datetime | None = None

    def sync(self) -> datetime:
        """Read the server's Date once; on failure keep the last offset (the caller's reads will fail loudly)."""
        local = datetime.now(UTC)
        try:
            header = self._http.get("/version").headers.get("date")
        except httpx2.HTTPError:
            return local + self._offset
        if header:
            self._offset = parsedate_to_datetime(header) - local
            self._synced_at = time.monotonic()
        return self._forward(local + self._offset)

    def now(self) -> datetime:
        if self._synced_at is None or time.monotonic() - self._synced_at > self.RESYNC:
            return self.sync()
        return self._forward(datetime.now(UTC) + self._offset)

    def _forward(self, moment: datetime) -> datetime:
        self._last = moment if self._last is None else max(self._last, moment)
        return self._last

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def close(self) -> None:
        self._http.close()
