"""A token bucket per sink, so an incident storm cannot flood a channel or exhaust a PagerDuty quota.

The bucket starts full (`capacity` messages at once) and refills `capacity` tokens a minute. Time comes
in as `now`, so the twin's clock drives it in tests and a clock that steps back cannot mint tokens.
"""

from __future__ import annotations

from datetime import datetime


class TokenBucket:
    def __init__(self, *, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.tokens = float(per_minute)
        self._refill_per_second = per_minute / 60.0
        self._updated: datetime | None = None

    def take(self, *, now: datetime) -> bool:
        """Spend one token if there is one; False means the message should be dropped."""
        if self._updated is not None:
            elapsed = max(0.0, (now - self._updated).total_seconds())
            self.tokens = min(self.capacity, self.tokens + elapsed * self._refill_per_second)
        self._updated = now if self._updated is None else max(now, self._updated)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
