"""Issue 12, item 1: readers beside a running controller never take its journal from under it.

The story: with `nodewarden run --apply --state-dir S` running, `nodewarden incidents list --state-dir S`
left the controller's `journal.sqlite3-wal` and `-shm` open but deleted (`/proc/PID/fd` said "(deleted)"),
and after a `kill -9` the journal held no episode although the controller had logged Cordon, Drain and
Restart. The controller itself had dropped its own WAL locks (`os.close(os.open(...))` when its incident
store opened the file a second time), so the reader's close believed itself last, checkpointed and
deleted the files the controller went on writing to.

Here the controller is a real `nodewarden run --apply` process against a twin in this process (manual
clock, moved by this test); two nodes' instances crash; while it remediates them, every round runs the
readers (`incidents list/show/report`, `plan --state-dir`) and a second writer saving a drill verdict,
and looks at the controller's descriptors. Then `kill -9`: every step it logged as done must be in the
journal with that outcome.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from nodewarden.model.remediation import Outcome, Step
from nodewarden.state import IncidentStore, Journal, JournalError
from nodewarden.twin.service import Twin
from tests.cli.test_incidents_cli import older
from tests.conftest import Invoke
from tests.render.test_postmortem_drill import verdict

WALL_LIMIT = 90.0  # real seconds for the whole remediation; it takes about 20 on an idle machine
STEP = 10.0  # twin seconds per round


@pytest.fixture
def twin() -> Iterator[Twin]:
    with Twin("small", advance_on_poll=30) as running:
        yield running


def deleted_links(pid: int, state_dir: Path) -> list[str]:
    """The process's descriptors into `state_dir` whose file was unlinked under it."""
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed meanwhile
        if target.startswith(str(state_dir)) and target.endswith("(deleted)"):
            found.append(target)
    return found


def logged_done(log: Path) -> dict[str, tuple[str, str]]:
    """(step, outcome) of every action the controller logged as finished, by journal key."""
    done = {}
    for line in log.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by the kill
        if record.get("msg") == "action.end":
            done[record["key"]] = (record["step"], record["outcome"])
    return done


def restarted(done: dict[str, tuple[str, str]]) -> int:
    return sum(1 for step, outcome in done.values() if (step, outcome) == (Step.RESTART, Outcome.SUCCEEDED))


def last_cycle(state: Path) -> datetime | None:
    """When the controller's latest cycle ran (twin time): each cycle saves node health, stamped."""
    try:
        with Journal.open_readonly(state) as journal, journal.connection() as conn:
            row = conn.execute("SELECT at FROM health_saved").fetchone()
    except JournalError:
        return None  # not created, or not migrated, yet
    return None if row is None else datetime.fromisoformat(row[0])


def wait_for_cycle(controller: subprocess.Popen[bytes], state: Path, moment: datetime, deadline: float) -> None:
    """Until the controller has run a cycle at `moment` or later (bounded by `deadline`, real time)."""
    while (seen := last_cycle(state)) is None or seen < moment:
        assert time.monotonic() < deadline, f"no controller cycle at {moment} within {WALL_LIMIT:g}s (last: {seen})"
        with contextlib.suppress(subprocess.TimeoutExpired):
            controller.wait(timeout=0.05)  # a poll interval, and it notices the process dying
        assert controller.returncode is None, "the controller exited"


def test_readers_and_a_second_writer_never_delete_the_controllers_journal_or_lose_its_steps(
    twin: Twin, tmp_path: Path, invoke: Invoke
) -> None:
    state = tmp_path / "state"
    log = tmp_path / "run.log"
    apps = sorted(n["metadata"]["name"] for n in twin.world.store.items("nodes") if "-apps-" in n["metadata"]["name"])
    command = [
        sys.executable, "-m", "nodewarden", "run", "--apply", "--twin", str(twin.state_dir), "--state-dir", str(state),
        "--no-leader-election", "--listen", "127.0.0.1:0", "--log-format", "json", "--interval", "1",
    ]  # fmt: skip
    with log.open("w") as stderr:
        controller = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + WALL_LIMIT  # a bound on waiting for the process, never an assertion on speed
        wait_for_cycle(controller, state, twin.now(), deadline)
        for node in apps[:2]:
            twin.inject("instance-crash", target=node)

        rounds = 0
        while restarted(logged_done(log)) < 2:
            assert time.monotonic() < deadline, f"not both restarts within {WALL_LIMIT:g}s: {logged_done(log)}"
            twin.advance(STEP)
            wait_for_cycle(controller, state, twin.now(), deadline)  # one round per controller cycle
            rounds += 1
            listed = invoke("incidents", "list", "--state-dir", str(state), "-o", "json")
            assert listed.code == 0, listed.err
            ids = [i["id"] for i in json.loads(listed.out)]
            if ids:
                assert invoke("incidents", "show", ids[0], "--state-dir", str(state)).code == 0
                assert invoke("incidents", "report", ids[0], "--state-dir", str(state), "-o", "json").code == 0
            planned = invoke("plan", "--twin", str(twin.state_dir), "--state-dir", str(state), "-o", "json")
            assert planned.code == 0, planned.err
            with IncidentStore.open(state) as drill:  # a drill saving its verdict: a second writer
                drill.save(dataclasses.replace(older(), id=f"inc-drill-{rounds}", verdict=verdict()))
            assert deleted_links(controller.pid, state) == []
        assert rounds >= 5, "the readers ran beside many cycles"
        assert deleted_links(controller.pid, state) == []
    finally:
        controller.send_signal(signal.SIGKILL)
        controller.wait(timeout=60)

    done = logged_done(log)
    assert {step for step, _ in done.values()} >= {Step.CORDON.value, Step.DRAIN.value, Step.RESTART.value}
    with Journal.open_readonly(state) as journal:
        journaled = {e.key: (e.step.value, e.outcome.value) for e in journal.entries()}
    assert {key: journaled.get(key) for key in done} == done, "every step logged as done is in the journal"
    assert all(outcome != Outcome.PENDING.value for _, outcome in done.values())
