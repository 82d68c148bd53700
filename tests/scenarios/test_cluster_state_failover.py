"""The record in the cluster outlives the replica that wrote it: `kill -9` of the leader right after its ARM
restart was sent, and the other replica, with an empty state dir of its own, takes the Lease, settles the
intent from the Activity Log and finishes the episode, with exactly one restart in the Activity Log.

Each cycle is a real `nodewarden run --once --apply --state cluster` process against the twin, as in
test_crash_safety.py; the replicas differ by --identity and each has its own (new, empty) --state-dir, so
anything they share went through the API server's NodeRemediation objects.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from nodewarden.connection import connect
from nodewarden.model.remediation import EpisodeState, Outcome, Step
from nodewarden.runtime.executor import FAILPOINT_VARIABLE
from nodewarden.state.cluster.remediations import ClusterSteps
from nodewarden.state.journal import HISTORY_LOOKBACK
from nodewarden.twin.service import Twin
from tests.scenarios.harness import harness
from tests.scenarios.test_crash_safety import PROCESS_TIMEOUT, STEP, restarts_started
from tests.state.conftest import install_crds

MAX_RUNS = 20


@pytest.fixture
def twin() -> Iterator[Twin]:
    with Twin("small", advance_on_poll=30) as running:
        kube = connect(twin=running.state_dir).kube
        assert kube is not None
        install_crds(kube)
        yield running


def replica_once(twin: Twin, state_dir: Path, identity: str, *, failpoint: str | None = None) -> int:
    """One cycle of one replica: `nodewarden run --once --apply --state cluster` with leader election."""
    env = {k: v for k, v in os.environ.items() if k != FAILPOINT_VARIABLE}
    if failpoint is not None:
        env[FAILPOINT_VARIABLE] = failpoint
    command = [
        sys.executable, "-m", "nodewarden", "run", "--once", "--apply", "--twin", str(twin.state_dir),
        "--state", "cluster", "--state-dir", str(state_dir), "--identity", identity, "--listen", "127.0.0.1:0",
        "--log-format", "json",
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=PROCESS_TIMEOUT, check=False)
    assert done.returncode in (0, -signal.SIGKILL), f"run --once exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.returncode


def restart_entries(twin: Twin, node: str) -> list[tuple[Outcome, str, str | None]]:
    """What the cluster's record holds for the node's restarts: (outcome, detail, leader)."""
    kube = connect(twin=twin.state_dir).kube
    assert kube is not None
    record = ClusterSteps(kube)
    record.resync()
    return [
        (e.outcome, e.detail, e.leader)
        for episode in record.history(twin.clock.now(), HISTORY_LOOKBACK).episodes
        if episode.node == node
        for e in episode.entries
        if e.step is Step.RESTART
    ]


def test_the_other_replica_finishes_a_restart_whose_leader_was_killed(twin: Twin, tmp_path: Path) -> None:
    node = sorted(n["metadata"]["name"] for n in twin.world.store.items("nodes") if "-apps-" in n["metadata"]["name"])[
        0
    ]
    twin.inject("instance-crash", target=node)

    # replica-a leads; cordon and drain in earlier cycles, then it dies right after ARM accepted the restart.
    for run in range(MAX_RUNS):
        twin.advance(STEP)
        if replica_once(twin, tmp_path / f"a-{run}", "replica-a", failpoint="after-call:restart") == -signal.SIGKILL:
            break
    else:
        raise AssertionError("replica-a never reached the restart")
    [(outcome, _, leader)] = restart_entries(twin, node)
    assert (outcome, leader) == (Outcome.PENDING, "replica-a")
    assert len(restarts_started(twin)) == 1

    # replica-b, each cycle from an empty state dir, waits out replica-a's Lease, then settles the intent.
    for run in range(MAX_RUNS):
        twin.advance(STEP)
        replica_once(twin, tmp_path / f"b-{run}", "replica-b")
        if restart_entries(twin, node)[0][0] is not Outcome.PENDING:
            break
    [(outcome, detail, _)] = restart_entries(twin, node)
    assert outcome is Outcome.SUCCEEDED, detail
    assert "found in the Activity Log after a restart" in detail
    assert len(restarts_started(twin)) == 1

    # replica-b, staying up, finishes the episode; still one restart.
    with ExitStack() as stack:
        h = harness(stack, "small", state_dir=tmp_path / "b-long", twin=twin, identity="replica-b", state="cluster")
        h.run_until(lambda r: h.closed(node, EpisodeState.RECOVERED), within=300)
        assert h.ready(node)
        assert not h.cordoned(node)
        assert [step for step, _ in h.steps(node)] == [Step.CORDON, Step.DRAIN, Step.RESTART, Step.UNCORDON]
    assert len(restarts_started(twin)) == 1
