"""What a pool's `upgradeSettings.maxSurge` / `maxUnavailable` mean in nodes.

Both are an integer (`"5"`) or a percentage (`"33%"`) of the pool's size at upgrade time, fractional
nodes rounded up; an unset maxSurge means AKS's default, 10% on current API versions (older pools
surged one node). Shared by UP004 (is the surge big enough), AS003 (subnet IPs) and AS006 (quota).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from nodewarden.model.azure import AgentPool

DEFAULT_SURGE_PERCENT = 10

_VALUE = re.compile(r"^\s*(?P<amount>\d+)\s*(?P<percent>%?)\s*$")


@dataclass(frozen=True, slots=True)
class Amount:
    """A surge or unavailability setting: a node count or a share of the pool."""

    value: int
    percent: bool

    def nodes(self, pool_size: int) -> int:
        """How many nodes this means for a pool of `pool_size` nodes (percentages round up)."""
        if self.percent:
            return math.ceil(pool_size * self.value / 100)
        return self.value

    def __str__(self) -> str:
        return f"{self.value}%" if self.percent else str(self.value)


def parse_amount(text: str | int | None) -> Amount | None:
    """`"33%"` → 33 percent, `"1"` → 1 node; None when unset or not a number."""
    if text is None:
        return None
    match = _VALUE.match(str(text))
    if not match:
        return None
    return Amount(int(match["amount"]), bool(match["percent"]))


def surge_nodes(pool: AgentPool, pool_size: int) -> int:
    """Extra nodes an upgrade of a `pool_size`-node pool adds; unset or unreadable means the AKS default."""
    settings = pool.upgrade_settings
    amount = parse_amount(settings.max_surge if settings else None)
    if amount is None:
        amount = Amount(DEFAULT_SURGE_PERCENT, percent=True)
    return amount.nodes(pool_size)
