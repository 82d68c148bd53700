"""Parsers for the policy's durations (`30s`, `10m`, `1h30m`, plain seconds) and shares (`40%`, `0.4`).

They sit under the policy and drill schemas: each raises `ValueError` with a message pydantic turns into a
field error, and each has a formatter that writes the canonical spelling back (for `policy show`).
`within` bounds a field's durations, so no value a file may hold overflows date arithmetic
(`heal/policy.py` and `drill/spec.py` give every duration field its range).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_DURATION = re.compile(r"(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?", re.ASCII)
_SECONDS = re.compile(r"\d+", re.ASCII)
_PERCENT = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*%", re.ASCII)
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e-?\d+)?", re.IGNORECASE | re.ASCII)

DURATION_HINT = "a duration like 30s, 10m, 1h30m or whole seconds"
SHARE_HINT = "a share like 40% or 0.4 (between 0 and 1)"
_LONGEST_TEXT = 32  # characters: a longer duration spelling is refused before it is parsed
_LONGEST_SHOWN = 100  # characters of a refused value an error message repeats


def shown(value: object) -> str:
    """`value` for an error message, cut short: a hostile file may hold a number thousands of digits long."""
    text = repr(value)
    return text if len(text) <= _LONGEST_SHOWN else f"{text[:_LONGEST_SHOWN]}… ({len(text)} characters)"


def parse_duration(value: object) -> timedelta:
    """`30s`, `10m`, `1h`, `1h30m`, `90` or 90 → a timedelta; anything else raises ValueError."""
    if isinstance(value, timedelta):
        return value
    try:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return timedelta(seconds=value)
        if isinstance(value, str) and len(value) <= _LONGEST_TEXT:
            text = value.strip()
            if _SECONDS.fullmatch(text):
                return timedelta(seconds=int(text))
            match = _DURATION.fullmatch(text)
            if text and match:
                parts = {unit: int(match.group(unit) or 0) for unit in ("h", "m", "s")}
                return timedelta(hours=parts["h"], minutes=parts["m"], seconds=parts["s"])
    except OverflowError:  # past timedelta's 999,999,999 days: refused like any value out of range
        pass
    raise ValueError(f"expected {DURATION_HINT}, found {shown(value)}")


@dataclass(frozen=True)
class Within:
    """A validator for a duration field: `low` ≤ value ≤ `high`, else ValueError in the field's own spelling.

    A dataclass rather than a closure so the bounds can be read back: docs/policy.md states them
    (`render/reference.py`)."""

    low: timedelta
    high: timedelta

    def __call__(self, value: timedelta) -> timedelta:
        if not self.low <= value <= self.high:
            raise ValueError(f"expected a duration {self.bounds}, found {format_duration(value)}")
        return value

    @property
    def bounds(self) -> str:
        return f"from {format_duration(self.low)} to {format_duration(self.high)}"


def within(low: timedelta, high: timedelta) -> Within:
    """The validator that bounds a duration field (see `Within`)."""
    return Within(low, high)


def format_duration(value: timedelta) -> str:
    """The canonical spelling: `1h30m`, `45s`, `0s`."""
    total = int(value.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{seconds}s" if seconds else "")
    return text or "0s"


def parse_share(value: object) -> float:
    """`40%`, `0.4` or 0.4 → 0.4; outside 0–1 (0–100 %) or anything else raises ValueError."""
    share: float | None = None
    if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1):
        share = float(value)  # an int outside 0–1 is refused as is: one too large would overflow float()
    elif isinstance(value, str):
        text = value.strip()
        percent = _PERCENT.fullmatch(text)
        if percent:
            share = float(percent.group("n")) / 100
        elif _NUMBER.fullmatch(text):
            share = float(text)
    if share is None or not 0.0 <= share <= 1.0:
        raise ValueError(f"expected {SHARE_HINT}, found {shown(value)}")
    return share


def format_share(value: float) -> str:
    """The canonical spelling: a percentage (`40%`, `12.5%`)."""
    return f"{round(value * 100, 9):.12g}%"
