"""How names are listed in one line of a message, a hold or a verdict."""

from __future__ import annotations

from collections.abc import Iterable

SHOWN = 5  # names listed before "and N more"


def short_list(items: Iterable[str], *, separator: str = ", ") -> str:
    """At most SHOWN items, in the order given, then "and N more"."""
    listed = list(items)
    text = separator.join(listed[:SHOWN])
    return f"{text} and {len(listed) - SHOWN} more" if len(listed) > SHOWN else text
