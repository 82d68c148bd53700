"""The pure parts of retrying: which statuses, how long, and Retry-After in both of its forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodewarden.notify.retries import backoff_delay, is_retryable, parse_retry_after
from nodewarden.notify.throttle import TokenBucket

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "retry"),
    [(429, True), (500, True), (503, True), (599, True), (400, False), (401, False), (404, False), (301, False)],
)
def test_only_throttling_and_server_errors_are_retried(status: int, retry: bool) -> None:
    assert is_retryable(status) is retry


def test_the_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_delay(n, initial=1.0, cap=30.0) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff_delay(10_000, initial=1.0, cap=30.0) == 30.0


@pytest.mark.parametrize(
    ("desc", "value", "seconds"),
    [
        ("delta seconds", "120", 120.0),
        ("padded", " 5 ", 5.0),
        ("http date ahead", format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        ("http date past", format_datetime(NOW - timedelta(seconds=90), usegmt=True), 0.0),
        ("absent", None, None),
        ("garbage", "soon", None),
        ("negative", "-5", None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(desc: str, value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds, desc


@given(st.text(max_size=60))
def test_retry_after_never_raises_and_never_asks_for_negative_time(value: str) -> None:
    seconds = parse_retry_after(value, now=NOW)
    assert seconds is None or seconds >= 0


@given(st.integers(min_value=0, max_value=10**9))
def test_retry_after_delta_seconds_round_trip(value: int) -> None:
    assert parse_retry_after(str(value), now=NOW) == float(value)


def test_the_bucket_refills_with_time_and_a_clock_stepping_back_mints_nothing() -> None:
    bucket = TokenBucket(per_minute=2)
    assert [bucket.take(now=NOW) for _ in range(3)] == [True, True, False]
    assert bucket.take(now=NOW - timedelta(minutes=5)) is False
    assert bucket.take(now=NOW + timedelta(seconds=29)) is False
    assert bucket.take(now=NOW + timedelta(seconds=31)) is True
    assert bucket.take(now=NOW + timedelta(hours=1)) is True
    assert bucket.tokens == 1.0  # never more than a full bucket
