"""A twin in this process, its clock stepped by the drill loop, with the controller's caches kept in step.

After each step of twin time, `settle` waits (a condition, not a sleep) until every cache holds exactly
the objects, at the resourceVersions, that the twin's store holds, so a cycle never reads a world that
is half a step old. `speed` paces the steps against real time (60: a minute of twin time per second);
None runs them back to back.
"""

from __future__ import annotations

import time
from typing import Any

from nodewarden.errors import InputError
from nodewarden.observe.cache import Caches
from nodewarden.twin.service import TwinService

SETTLE_TIMEOUT = 20.0  # real seconds a cache may take to catch up with the twin


def settle(twin: TwinService, caches: Caches, timeout: float = SETTLE_TIMEOUT) -> None:
    """Wait until every cache holds what the twin's store holds."""
    for name, cache in caches.caches.items():
        resource, namespace = cache.export.plural, cache.namespace  # the twin stores each kind by its plural

        def caught_up(c: Any, resource: str = resource, namespace: str | None = namespace) -> bool:
            wanted = {_key(o): o["metadata"]["resourceVersion"] for o in twin.world.store.items(resource, namespace)}
            return bool(c.synced) and wanted == {_key(o): o["metadata"]["resourceVersion"] for o in c.items()}

        if not cache.wait_for(caught_up, timeout):
            raise InputError(f"the {name} cache did not catch up with the twin within {timeout:g}s")


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


class SteppedTwin:
    """The drill's ticker on an in-process twin with a manual clock."""

    def __init__(self, twin: TwinService, caches: Caches, *, speed: float | None = None) -> None:
        self.twin = twin
        self.caches = caches
        self.speed = speed
        self._last = time.monotonic()

    def wait(self, seconds: float) -> None:
        if self.speed:
            behind = self._last + seconds / self.speed - time.monotonic()
            if behind > 0:
                time.sleep(behind)  # pacing a demo for people to watch, not waiting for a condition
        self._last = time.monotonic()
        self.twin.advance(seconds)
        settle(self.twin, self.caches)
