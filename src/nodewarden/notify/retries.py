"""When to try a delivery again, and how long to wait first.

Retried: 429 and 5xx (the receiver is busy or broken) and network errors. Not retried: any other 4xx,
which will fail the same way every time (a revoked webhook, a malformed payload). The delay doubles from
`initial` up to `cap`; a Retry-After the receiver sent wins when it asks for longer. No jitter: one
controller sends these, so there is no herd to spread, and fixed delays keep tests exact.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parsedate_to_datetime


def is_retryable(status: int) -> bool:
    return status == 429 or 500 <= status <= 599


def backoff_delay(attempt: int, *, initial: float, cap: float) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): initial, 2×, 4× … at most `cap`."""
    return min(cap, initial * 2.0 ** min(attempt - 1, 32))


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Retry-After as seconds from `now`: delta-seconds or an HTTP-date (RFC 9110 §10.2.3); None if unusable."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None or now.tzinfo is None:
        return None
    return max(0.0, (moment - now).total_seconds())
