"""A twin hosted in this process with nodewarden's controller on its clock: what `drill run --on-twin`
and `nodewarden demo` run drills against."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from nodewarden.connection import Connection, connect
from nodewarden.demo.twin_host import SteppedTwin
from nodewarden.drill.inject import Injector, injector_for
from nodewarden.drill.probes import ControllerProbe
from nodewarden.errors import InputError
from nodewarden.heal.policy import Policy
from nodewarden.runtime.assemble import Options, controller_for
from nodewarden.runtime.clock import DrivenClock
from nodewarden.runtime.controller import Controller
from nodewarden.runtime.observer import LiveObserver
from nodewarden.state import FILE_NAME, IncidentStore, Journal
from nodewarden.twin.scenario import ScenarioError
from nodewarden.twin.service import TwinService

IDENTITY = "nodewarden-drill"
POLL_ADVANCE = 30.0  # twin seconds each SDK poll of a long-running ARM operation moves the clock


@dataclass
class Hosted:
    twin: TwinService
    connection: Connection
    controller: Controller
    ticker: SteppedTwin
    probe: ControllerProbe
    store: IncidentStore
    injector: Injector


def _start_after(state_dir: Path) -> datetime | None:
    """A twin start time a day past everything already journaled in `state_dir` (None: the twin's own).

    Every hosted twin starts from the same scenario; were its clock to start at the same moment each time,
    a second drill into the same state directory would replay the first one's times, reuse its incident
    ids and count its actions against the hourly rate budget.
    """
    if not (state_dir / FILE_NAME).is_file():
        return None
    # the writer's open: the hosted controller journals here next, so an older file is brought up to date now
    with Journal.open(state_dir) as journal, IncidentStore(journal) as store:
        moments = [e.outcome_at or e.intent_at for e in journal.entries()]
        moments += [i.resolved_at or i.detected_at for i in store.list()]
    if not moments:
        return None
    latest = max(moments)
    return (latest + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)


@contextmanager
def hosted(scenario: str, state_dir: Path, policy: Policy, *, speed: float | None) -> Iterator[Hosted]:
    """Start the twin (manual clock) and a controller that acts, journaling under `state_dir`."""
    with ExitStack() as stack:
        twin_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nodewarden-twin-")))
        try:
            twin = TwinService(
                scenario, state_dir=twin_dir, advance_on_poll=POLL_ADVANCE, start=_start_after(state_dir)
            )
        except ScenarioError as exc:
            raise InputError(str(exc)) from exc
        stack.enter_context(twin)
        connection = connect(twin=twin.state_dir)
        options = Options(apply=True, state_dir=state_dir, identity=IDENTITY)
        controller = stack.enter_context(controller_for(connection, policy, options, clock=DrivenClock(twin)))
        observer = controller.observer
        assert isinstance(observer, LiveObserver)
        store = IncidentStore(controller.journal)  # the controller's connection; it closes it
        yield Hosted(
            twin=twin,
            connection=connection,
            controller=controller,
            ticker=SteppedTwin(twin, observer.caches, speed=speed),
            probe=ControllerProbe(controller),
            store=store,
            injector=injector_for(connection, twin_dir=twin.state_dir),
        )
