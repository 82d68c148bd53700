"""The twin's virtual clock: every timestamp, timer and HTTP `Date` header reads it.

Manual mode moves only when advanced (tests); speed mode runs at a multiple of real time (demos).
Timers fire in time order when the clock passes them, on the thread that advances it (manual) or on
the clock's own driver thread (speed mode), never one thread per timer.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@dataclass(order=True)
class _Timer:
    due: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    interval: float | None = field(default=None, compare=False)
    cancelled: bool = field(default=False, compare=False)


class TimerHandle:
    def __init__(self, timer: _Timer) -> None:
        self._timer = timer

    def cancel(self) -> None:
        self._timer.cancelled = True


class Clock:
    """Seconds since `start`, moved by `advance` (manual) or by real time × `speed`."""

    def __init__(self, *, start: datetime = EPOCH, speed: float | None = None) -> None:
        self._start = start
        self._elapsed = 0.0
        self._speed = speed
        self._timers: list[_Timer] = []
        self._seq = itertools.count()
        self._lock = threading.RLock()
        self._firing = threading.Lock()
        self._driver: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def manual(self) -> bool:
        return self._speed is None

    @property
    def speed(self) -> float | None:
        """Twin seconds per real second; None for a manual clock."""
        return self._speed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.elapsed())

    def elapsed(self) -> float:
        with self._lock:
            return self._elapsed

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        return self._schedule(self.elapsed() + max(0.0, delay), callback, None)

    def call_every(self, interval: float, callback: Callable[[], None], *, first: float | None = None) -> TimerHandle:
        start = self.elapsed() + (interval if first is None else first)
        return self._schedule(start, callback, interval)

    def _schedule(self, due: float, callback: Callable[[], None], interval: float | None) -> TimerHandle:
        timer = _Timer(due, next(self._seq), callback, interval)
        with self._lock:
            heapq.heappush(self._timers, timer)
        return TimerHandle(timer)

    def advance(self, seconds: float = 0.0, *, minutes: float = 0.0) -> None:
        """Move time forward, firing every timer due on the way, each at its own moment."""
        target = self.elapsed() + seconds + 60.0 * minutes
        self._run_until(target)

    def _run_until(self, target: float) -> None:
        with self._firing:
            while True:
                with self._lock:
                    if not self._timers or self._timers[0].due > target:
                        self._elapsed = max(self._elapsed, target)
                        return
                    timer = heapq.heappop(self._timers)
                    if timer.cancelled:
                        continue
                    self._elapsed = max(self._elapsed, timer.due)
                    if timer.interval is not None:
                        timer.due += timer.interval
                        timer.seq = next(self._seq)
                        heapq.heappush(self._timers, timer)
                timer.callback()

    def start(self) -> None:
        """In speed mode, drive the clock from real time on a background thread."""
        if self._speed is None or self._driver is not None:
            return
        speed = self._speed
        origin_real, origin_virtual = time.monotonic(), self.elapsed()

        def drive() -> None:
            while not self._stop.wait(0.05):
                self._run_until(origin_virtual + (time.monotonic() - origin_real) * speed)

        self._driver = threading.Thread(target=drive, name="twin-clock", daemon=True)
        self._driver.start()

    def stop(self) -> None:
        self._stop.set()
        if self._driver is not None:
            self._driver.join(timeout=2)
