"""Scenario 8: `kill -9` of the controller right after journaling an intent, and again right after the ARM
call returns: after a restart each action happens exactly once.

The controller is a real process here: every cycle is one `nodewarden run --once --apply` against the twin,
which runs in this process on its manual clock (the process reads `now` from the twin's Date header). The
executor's failpoints SIGKILL the process at the exact moment (`NODEWARDEN_FAILPOINT`); the next process
settles the orphaned intent from the journal and the Activity Log before it plans anything.

A `--once` process starts with no memory of earlier cycles, so it never sees a repaired node "healthy for
`stableFor`" (see `test_once_runs_alone_finish_a_remediation`); the crash part runs as separate processes,
and the in-process controller (the same code a long-running `nodewarden run` uses) finishes the episode
over the same journal, as a controller restarted for good would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from nodewarden.model.remediation import Episode, EpisodeState, JournalEntry, Outcome, Step
from nodewarden.runtime.executor import FAILPOINT_VARIABLE
from nodewarden.state import Journal, correlation_id_for
from nodewarden.twin.azure.activity import ActivityFilter
from nodewarden.twin.service import Twin
from tests.scenarios.harness import harness

RESTART = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action"
PROCESS_TIMEOUT = 120.0  # real seconds for one `run --once`; a cycle takes about two
STEP = 10.0  # twin seconds between two `run --once` processes
MAX_RUNS = 20


@pytest.fixture
def twin() -> Iterator[Twin]:
    with Twin("small", advance_on_poll=30) as running:
        yield running


def run_once(twin: Twin, journal_dir: Path, *, failpoint: str | None = None) -> subprocess.CompletedProcess[str]:
    """One controller process, one cycle: `nodewarden run --once --apply` against the twin."""
    env = {k: v for k, v in os.environ.items() if k != FAILPOINT_VARIABLE}
    if failpoint is not None:
        env[FAILPOINT_VARIABLE] = failpoint
    command = [
        sys.executable, "-m", "nodewarden", "run", "--once", "--apply", "--twin", str(twin.state_dir),
        "--state-dir", str(journal_dir), "--no-leader-election", "--listen", "127.0.0.1:0", "--log-format", "json",
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=PROCESS_TIMEOUT, check=False)
    assert done.returncode in (0, -signal.SIGKILL), f"run --once exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done


def episodes(twin: Twin, journal_dir: Path, node: str) -> list[Episode]:
    with Journal.open(journal_dir) as journal:
        return [e for e in journal.history(twin.clock.now()).episodes if e.node == node]


def entries(twin: Twin, journal_dir: Path, node: str, step: Step) -> list[JournalEntry]:
    return [e for episode in episodes(twin, journal_dir, node) for e in episode.entries if e.step is step]


def restarts_started(twin: Twin) -> list[dict[str, object]]:
    """Activity Log entries of restarts Azure accepted (one 'Started' per operation sent)."""
    return [
        e for e in twin.azure.activity.query(ActivityFilter())
        if e["operationName"]["value"].lower() == RESTART.lower() and e["status"]["value"] == "Started"
    ]  # fmt: skip


def drive(
    twin: Twin, journal_dir: Path, until: Callable[[subprocess.CompletedProcess[str]], bool], *,
    failpoint: str | None = None, runs: int = MAX_RUNS,
) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Advance the twin and run one controller process, again and again, until `until` holds."""
    for _ in range(runs):
        twin.advance(STEP)
        done = run_once(twin, journal_dir, failpoint=failpoint)
        if until(done):
            return done
    raise AssertionError(f"not done after {runs} runs of `run --once`")


@pytest.mark.parametrize(
    ("failpoint", "sent_before_the_kill"),
    [
        pytest.param("after-intent:restart", 0, id="killed-after-journaling-the-intent"),
        pytest.param("after-call:restart", 1, id="killed-after-the-arm-call-returned"),
    ],
)
def test_a_restart_killed_midway_happens_exactly_once(
    twin: Twin, tmp_path: Path, failpoint: str, sent_before_the_kill: int
) -> None:
    journal_dir = tmp_path / "journal"
    node = sorted(n["metadata"]["name"] for n in twin.world.store.items("nodes") if "-apps-" in n["metadata"]["name"])[
        0
    ]
    twin.inject("instance-crash", target=node)

    # Cordon and drain happen in earlier processes; the one that reaches the restart dies by SIGKILL.
    drive(twin, journal_dir, lambda done: done.returncode == -signal.SIGKILL, failpoint=failpoint)
    [intent] = entries(twin, journal_dir, node, Step.RESTART)
    assert intent.outcome is Outcome.PENDING, "the intent is journaled, its outcome is not"
    assert intent.correlation_id == correlation_id_for(intent.key)
    assert len(restarts_started(twin)) == sent_before_the_kill
    assert [(e.step, e.outcome) for e in episodes(twin, journal_dir, node)[0].entries] == [
        (Step.CORDON, Outcome.SUCCEEDED), (Step.DRAIN, Outcome.SUCCEEDED), (Step.RESTART, Outcome.PENDING),
    ]  # fmt: skip
    if sent_before_the_kill:  # as if the process died after the operation ended, before it posted the Event
        forget_event(twin, node, ("Restart", "OperationSucceeded"))

    # The next process settles the intent before it plans: sends the restart, or finds the one sent.
    drive(twin, journal_dir, lambda _: True)
    [settled] = entries(twin, journal_dir, node, Step.RESTART)
    assert settled.key == intent.key
    assert settled.outcome is Outcome.SUCCEEDED, settled.detail
    if sent_before_the_kill:
        assert "found in the Activity Log after a restart" in settled.detail
    [started] = restarts_started(twin)
    assert started["correlationId"] == intent.correlation_id, "the one restart is the journaled one"

    # More processes while the node comes back: none sends a second restart or journals another outcome.
    for _ in range(4):
        drive(twin, journal_dir, lambda _: True)
    assert len(restarts_started(twin)) == 1
    assert [e.outcome for e in entries(twin, journal_dir, node, Step.RESTART)] == [Outcome.SUCCEEDED]

    # A controller that stays up finishes the episode from the same journal, still with one restart.
    with ExitStack() as stack:
        h = harness(stack, "small", state_dir=journal_dir, twin=twin)
        h.run_until(lambda r: h.closed(node, EpisodeState.RECOVERED), within=300)
        assert h.ready(node)
        assert not h.cordoned(node)
    [episode] = episodes(twin, journal_dir, node)
    assert [(e.step, e.outcome) for e in episode.entries] == [
        (Step.CORDON, Outcome.SUCCEEDED), (Step.DRAIN, Outcome.SUCCEEDED), (Step.RESTART, Outcome.SUCCEEDED),
        (Step.UNCORDON, Outcome.SUCCEEDED),
    ]  # fmt: skip
    assert len(restarts_started(twin)) == 1
    # Each Event once: a step's Events are keyed by its journal key, and a restart found done in the Activity Log
    # posts the outcome Event its dead process could not.
    assert_each_event_once(twin, node, {("Restart", "OperationStarted"), ("Restart", "OperationSucceeded")})


def test_once_runs_alone_finish_a_remediation(twin: Twin, tmp_path: Path) -> None:
    journal_dir = tmp_path / "journal"
    node = sorted(n["metadata"]["name"] for n in twin.world.store.items("nodes") if "-apps-" in n["metadata"]["name"])[
        0
    ]
    twin.inject("instance-crash", target=node)
    drive(
        twin,
        journal_dir,
        lambda _: any(e.state is EpisodeState.RECOVERED for e in episodes(twin, journal_dir, node)),
        runs=12,
    )
    assert len(restarts_started(twin)) == 1


def nodewarden_events(twin: Twin, node: str) -> list[tuple[str, str]]:
    """(action, reason) of every Event nodewarden posted about the node."""
    return [
        (e.get("action", ""), e.get("reason", "")) for e in twin.world.store.items("events")
        if (e.get("regarding") or e.get("involvedObject") or {}).get("name") == node
        and (e.get("reportingController") or e.get("reportingComponent")) == "nodewarden"
    ]  # fmt: skip


def forget_event(twin: Twin, node: str, pair: tuple[str, str]) -> None:
    """Delete nodewarden's (action, reason) Event on the node, as if its process died before posting it."""
    for event in twin.world.store.items("events"):
        regarding = event.get("regarding") or event.get("involvedObject") or {}
        if regarding.get("name") == node and (event.get("action"), event.get("reason")) == pair:
            twin.world.store.delete("events", event["metadata"]["namespace"], event["metadata"]["name"])
    assert pair not in nodewarden_events(twin, node)


def assert_each_event_once(twin: Twin, node: str, expected: set[tuple[str, str]]) -> None:
    posted = nodewarden_events(twin, node)
    twice = {pair for pair in posted if posted.count(pair) > 1}
    assert not twice, f"posted more than once: {sorted(twice)} (all: {posted})"
    assert expected <= set(posted), posted


def test_a_drain_killed_midway_and_redone_posts_each_of_its_events_once(twin: Twin, tmp_path: Path) -> None:
    """After kill -9 and a restart, one node got a second Drain Event and another lost its OperationSucceeded
    (the restart case is in the test above): the drain redone after the kill posts none of its Events twice."""
    journal_dir = tmp_path / "journal"
    node = sorted(n["metadata"]["name"] for n in twin.world.store.items("nodes") if "-apps-" in n["metadata"]["name"])[
        0
    ]
    twin.inject("instance-crash", target=node)
    drive(twin, journal_dir, lambda done: done.returncode == -signal.SIGKILL, failpoint="after-call:drain")
    for _ in range(3):
        drive(twin, journal_dir, lambda _: True)
    [settled] = entries(twin, journal_dir, node, Step.DRAIN)
    assert settled.outcome is Outcome.SUCCEEDED, settled.detail
    expected = {("Drain", "Drain"), ("Restart", "OperationStarted"), ("Restart", "OperationSucceeded")}
    assert_each_event_once(twin, node, expected)
