"""How a drill watches: one controller cycle per tick, and real time passing against a live cluster."""

from __future__ import annotations

import threading
from datetime import datetime

from nodewarden.drill.runner import DrillStoppedError
from nodewarden.runtime.clock import Clock
from nodewarden.runtime.controller import Controller, CycleReport


class ControllerProbe:
    """A controller's cycles: one that remediates (busy while an episode is open) or one that only detects."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller

    def cycle(self) -> CycleReport:
        return self.controller.cycle()

    def busy(self, now: datetime) -> bool:
        if not (self.controller.planning and self.controller.apply):
            return False
        return bool(self.controller.journal.history(now).open)


class RealTime:
    """Ticks in real time, `seconds` counted on the cluster's clock (a twin may run faster); `stop` (Ctrl-C,
    SIGTERM) ends the wait early and the drill rolls back."""

    def __init__(self, stop: threading.Event, clock: Clock) -> None:
        self.stop = stop
        self.clock = clock

    def wait(self, seconds: float) -> None:
        if self.stop.wait(self.clock.real_seconds(seconds)):
            raise DrillStoppedError
