"""API-level faults the world can switch on: a share of calls failing (`kube-errors`), dropped watches.

Deterministic: one seeded random decides which calls fail, so a test with the same seed and the
same call sequence sees the same failures.
"""

from __future__ import annotations

import random
import threading


class ApiFaults:
    def __init__(self, *, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._rate = 0.0

    @property
    def error_rate(self) -> float:
        return self._rate

    def set_error_rate(self, rate: float) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"error rate must be between 0 and 1, found {rate}")
        with self._lock:
            self._rate = rate

    def roll(self) -> int | None:
        """The status this call should fail with (500 or 503), or None to serve it."""
        with self._lock:
            if self._rate <= 0.0 or self._random.random() >= self._rate:
                return None
            return 503 if self._random.random() < 0.5 else 500
