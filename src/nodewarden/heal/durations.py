"""Parsers for the policy's durations (`30s`, `10m`, `1h30m`, plain seconds) and shares (`40%`, `0.4`).

They sit under the policy schema: each raises `ValueError` with a message pydantic turns into a
field error, and each has a formatter that writes the canonical spelling back (for `policy show`).
"""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?", re.ASCII)
_SECONDS = re.compile(r"\d+", re.ASCII)
_PERCENT = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*%", re.ASCII)
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e-?\d+)?", re.IGNORECASE | re.ASCII)

DURATION_HINT = "a duration like 30s, 10m, 1h30m or whole seconds"
SHARE_HINT = "a share like 40% or 0.4 (between 0 and 1)"


def parse_duration(value: object) -> timedelta:
    """`30s`, `10m`, `1h`, `1h30m`, `90` or 90 → a timedelta; anything else raises ValueError."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip()
        if _SECONDS.fullmatch(text):
            return timedelta(seconds=int(text))
        match = _DURATION.fullmatch(text)
        if text and match:
            parts = {unit: int(match.group(unit) or 0) for unit in ("h", "m", "s")}
            return timedelta(hours=parts["h"], minutes=parts["m"], seconds=parts["s"])
    raise ValueError(f"expected {DURATION_HINT}, found {value!r}")


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
    if isinstance(value, int | float) and not isinstance(value, bool):
        share = float(value)
    elif isinstance(value, str):
        text = value.strip()
        percent = _PERCENT.fullmatch(text)
        if percent:
            share = float(percent.group("n")) / 100
        elif _NUMBER.fullmatch(text):
            share = float(text)
    if share is None or not 0.0 <= share <= 1.0:
        raise ValueError(f"expected {SHARE_HINT}, found {value!r}")
    return share


def format_share(value: float) -> str:
    """The canonical spelling: a percentage (`40%`, `12.5%`)."""
    return f"{round(value * 100, 9):.12g}%"
