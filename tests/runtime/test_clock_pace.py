"""A wait given in the cluster's seconds lasts as long in real time as the cluster's clock needs to move that much."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from nodewarden.runtime.clock import Pace

START = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def test_a_real_cluster_keeps_real_time_whatever_the_rounding_of_its_date_header() -> None:
    pace = Pace()
    pace.seen(START, 100.0)
    pace.seen(START + timedelta(seconds=3), 101.9)  # whole seconds: 3 s on the server in 1.9 s here
    assert pace.speed == 1.0


def test_a_twin_ten_times_faster_is_followed_once_its_clock_has_moved() -> None:
    pace = Pace()
    assert pace.speed == 1.0  # nothing seen: no shortcut
    pace.seen(START, 100.0)
    pace.seen(START + timedelta(seconds=21), 102.0)
    assert pace.speed == 10.0  # (21 - 1) / 2: the second lost to rounding is taken off


@given(
    speed=st.floats(min_value=0.5, max_value=500.0),
    real=st.floats(min_value=0.05, max_value=3600.0),
)
def test_the_pace_never_exceeds_the_true_one(speed: float, real: float) -> None:
    """Overestimating would shorten every wait below the interval the user asked for."""
    pace = Pace()
    pace.seen(START, 0.0)
    elapsed = int(speed * real)  # the Date header drops the fraction
    pace.seen(START + timedelta(seconds=elapsed), real)
    assert pace.speed <= max(1.0, speed)
    assert pace.speed == 1.0 or pace.speed >= Pace.FASTER
