"""Reading the times written in Kubernetes objects, ARM documents and IMDS, forgivingly.

Kubernetes and ARM write RFC 3339 ("2026-11-26T08:00:10Z", sometimes with fractions); IMDS writes
Scheduled Events' NotBefore in RFC 1123 ("Thu, 26 Nov 2026 08:15:00 GMT"); the cluster autoscaler's
taint value is Unix seconds. Detection, incidents and drills read them all through here, and must
never fail on a bad time: it reads as unknown (None).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_time(text: str | None) -> datetime | None:
    """An aware UTC datetime from RFC 3339, RFC 1123 or Unix seconds; None when it is none of them."""
    if not text or not isinstance(text, str):
        return None
    text = text.strip()
    parsed = _rfc3339(text) or _rfc1123(text) or _unix(text)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def as_utc(moment: datetime) -> datetime:
    """`moment` as aware UTC; a naive datetime is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _rfc3339(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _rfc1123(text: str) -> datetime | None:
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def _unix(text: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(text), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None
