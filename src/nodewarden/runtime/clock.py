"""Where the controller's `now` comes from: the API server's clock, so local skew cannot age data.

`ServerClock` reads the `Date` header of a cheap request (`GET /version`) once per cycle and keeps the
offset to the local clock. Against the twin that header is the twin's virtual time, so the controller
runs on twin time with no special case — even on a twin running faster than real time, since the
offset is taken afresh each cycle. It never goes backwards (the header has whole seconds).

Waits are in the server's seconds too: `real_seconds` turns them into real ones at the pace the server's
clock has kept since the first read, so `--interval 10` is ten cluster seconds on a real cluster and on a twin
running ten times faster alike (there it waits one real second).
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

    def real_seconds(self, seconds: float) -> float:
        """How long to wait in real time for `seconds` of this clock to pass."""
        ...


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

    def real_seconds(self, seconds: float) -> float:
        return seconds


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sync(self) -> datetime:
        return self.now()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def real_seconds(self, seconds: float) -> float:
        return seconds


class ServerClock:
    """The API server's time: local time plus the offset seen in its last `Date` header."""

    RESYNC = 30.0  # real seconds between reads of the server's Date

    def __init__(self, config: SingleConfig) -> None:
        self._http = client_adapter.Client(config, ConnectionParams(timeout=httpx2.Timeout(10)))
        self._offset = timedelta()
        self._synced_at: float | None = None
        self._last: datetime | None = None
        self._pace = Pace()

    def sync(self) -> datetime:
        """Read the server's Date once; on failure keep the last offset (the caller's reads will fail loudly)."""
        local = datetime.now(UTC)
        try:
            header = self._http.get("/version").headers.get("date")
        except httpx2.HTTPError:
            return local + self._offset
        if header:
            server = parsedate_to_datetime(header)
            self._offset = server - local
            self._synced_at = time.monotonic()
            self._pace.seen(server, self._synced_at)
        return self._forward(local + self._offset)

    def now(self) -> datetime:
        if self._synced_at is None or time.monotonic() - self._synced_at > self.RESYNC:
            return self.sync()
        return self._forward(datetime.now(UTC) + self._offset)

    def _forward(self, moment: datetime) -> datetime:
        self._last = moment if self._last is None else max(self._last, moment)
        return self._last

    def real_seconds(self, seconds: float) -> float:
        """`seconds` of the server's time, in real seconds at the pace its clock has kept."""
        return seconds / self._pace.speed

    def sleep(self, seconds: float) -> None:
        time.sleep(self.real_seconds(seconds))

    def close(self) -> None:
        self._http.close()


class Pace:
    """How many server seconds pass per real second, from the first and the latest read of the server's clock.

    The `Date` header has whole seconds, so the server's part is taken one second short: the pace is never
    overestimated. A real API server keeps real time: anything under `FASTER` is taken as 1, so rounding and
    network jitter never shorten a wait.
    """

    FASTER = 1.5

    def __init__(self) -> None:
        self._first: tuple[datetime, float] | None = None
        self.speed = 1.0

    def seen(self, server: datetime, monotonic: float) -> None:
        if self._first is None:
            self._first = (server, monotonic)
            return
        start, started = self._first
        real = monotonic - started
        if real > 0:
            at_least = ((server - start).total_seconds() - 1.0) / real
            self.speed = at_least if at_least >= self.FASTER else 1.0
