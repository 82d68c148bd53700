"""Property tests for the policy's duration and share parsers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodewarden.heal import durations

seconds = st.integers(min_value=0, max_value=10 * 24 * 3600)


@given(total=seconds)
def test_durations_round_trip_through_their_canonical_spelling(total: int) -> None:
    value = timedelta(seconds=total)
    text = durations.format_duration(value)
    assert durations.parse_duration(text) == value
    assert durations.format_duration(durations.parse_duration(text)) == text


@given(h=st.integers(0, 99), m=st.integers(0, 59), s=st.integers(0, 59))
def test_hours_minutes_and_seconds_add_up(h: int, m: int, s: int) -> None:
    text = (f"{h}h" if h else "") + (f"{m}m" if m else "") + (f"{s}s" if s or not (h or m) else "")
    assert durations.parse_duration(text) == timedelta(hours=h, minutes=m, seconds=s)


@given(total=seconds)
def test_plain_seconds_are_seconds(total: int) -> None:
    assert durations.parse_duration(total) == durations.parse_duration(str(total)) == timedelta(seconds=total)


def _is_duration(text: str) -> bool:
    text = text.strip()
    return bool(text) and ((text.isascii() and text.isdigit()) or bool(re.fullmatch(r"(\d+h)?(\d+m)?(\d+s)?", text)))


@given(junk=st.text(max_size=8).filter(lambda t: not _is_duration(t)))
def test_junk_durations_are_rejected_with_the_expected_form(junk: str) -> None:
    with pytest.raises(ValueError, match="expected a duration like 30s, 10m, 1h30m") as raised:
        durations.parse_duration(junk)
    assert repr(junk) in str(raised.value)


@pytest.mark.parametrize("value", [-1, True, 1.5, "1d", "10 m", "m", "1m1h", None])
def test_other_duration_spellings_are_rejected(value: object) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        durations.parse_duration(value)


@given(percent=st.integers(0, 10000))
def test_shares_round_trip_through_percentages(percent: int) -> None:
    share = percent / 10000
    text = durations.format_share(share)
    assert text.endswith("%")
    assert durations.parse_share(text) == pytest.approx(share, abs=1e-12)
    assert durations.format_share(durations.parse_share(text)) == text


@given(share=st.floats(0, 1))
def test_a_fraction_and_its_percentage_agree(share: float) -> None:
    assert durations.parse_share(share) == durations.parse_share(str(share)) == share


@pytest.mark.parametrize("value", ["40", "140%", -0.1, 1.5, "forty", "", True, None])
def test_shares_outside_zero_to_one_are_rejected(value: object) -> None:
    with pytest.raises(ValueError, match=r"expected a share like 40% or 0\.4"):
        durations.parse_share(value)
