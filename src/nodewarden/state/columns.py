"""How values are written in the state file's columns, for every record family alike.

Times are ISO-8601 UTC text with microseconds (one fixed width, so text order is time order in SQL and the
file reads well in `sqlite3`); an absent value is NULL.
"""

from __future__ import annotations

from datetime import UTC, datetime


def text(moment: datetime) -> str:
    """ISO-8601 in UTC with microseconds: one fixed width, so text order is time order in SQL."""
    if moment.tzinfo is None:
        raise ValueError(f"journal times must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def optional_text(moment: datetime | None) -> str | None:
    return None if moment is None else text(moment)


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def optional_moment(value: object) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def optional_int(value: object) -> int | None:
    return None if value is None else int(str(value))
