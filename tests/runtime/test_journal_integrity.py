"""The journal file is never damaged by a reader; only a writer migrates; node health survives a restart.

Issue 12, item 1: `Journal.__init__` created the file with `os.close(os.open(path, ...))`. On Linux closing
any descriptor of a file drops every POSIX lock the process holds on it, so a second open in the controller's
process (`IncidentStore.open`) silently released the controller's WAL locks; the next process to close the
file believed itself the last one, checkpointed and deleted the live -wal/-shm under the controller, whose
later writes then went to deleted files and were lost at `kill -9`.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nodewarden.model.health import HealthState, NodeHealth, Scope, Signal, SignalKind
from nodewarden.model.incident import ChangeRecord
from nodewarden.state import IncidentStore, Journal, JournalError, database, node_health
from tests.conftest import Invoke

T0 = datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def change(n: int) -> ChangeRecord:
    return ChangeRecord(at(n), "alice@example.com", "vmss/write", f"vmss/{n}", "Succeeded", correlation_id=f"c-{n}")


def deleted_links(state_dir: Path) -> list[str]:
    """This process's descriptors into `state_dir` whose file was unlinked under it."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed meanwhile (the listing's own descriptor)
        if target.startswith(str(state_dir)) and target.endswith("(deleted)"):
            found.append(target)
    return found


def open_and_close_elsewhere(path: Path) -> None:
    """Another process reads the file and closes it, as `nodewarden incidents list` does."""
    script = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('SELECT COUNT(*) FROM changes'); c.close()"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.mark.parametrize(
    "other_open",
    [
        pytest.param(IncidentStore.open, id="a-second-writer-in-the-process"),
        pytest.param(IncidentStore.open_readonly, id="a-reader-in-the-process"),
        pytest.param(Journal.open_readonly, id="a-journal-reader-in-the-process"),
    ],
)
def test_opening_the_journal_again_in_the_writers_process_keeps_the_writers_locks(
    state: Path, other_open: Callable[[Path], AbstractContextManager[object]]
) -> None:
    with Journal.open(state) as writer:
        writer.record_changes([change(1)])
        with other_open(state):
            pass
        # With its locks gone, the writer looks absent: this close would checkpoint and delete -wal and -shm.
        open_and_close_elsewhere(state / database.FILE_NAME)
        assert deleted_links(state) == []
        assert (state / f"{database.FILE_NAME}-wal").exists()
        writer.record_changes([change(2)])
        with Journal.open_readonly(state) as reader:
            assert [c.correlation_id for c in reader.changes()] == ["c-1", "c-2"], "the writer's rows are in the file"


def test_the_controllers_incident_store_shares_the_journals_connection(state: Path) -> None:
    with Journal.open(state) as journal:
        store = IncidentStore(journal)
        store.close()  # the store did not open the journal, so it leaves it open
        journal.record_changes([change(1)])
        assert store.list() == []


def test_a_reader_never_creates_a_journal(state: Path) -> None:
    state.mkdir()
    with pytest.raises(JournalError, match=rf"--state-dir {state}: no journal.sqlite3 there; `nodewarden run"):
        Journal.open_readonly(state)
    with pytest.raises(JournalError, match=r"no journal\.sqlite3 there"):
        IncidentStore.open_readonly(state)
    assert list(state.iterdir()) == []


def journal_at(state: Path, version: int) -> Path:
    """A journal file as an older nodewarden left it."""
    state.mkdir(mode=0o700)
    path = state / database.FILE_NAME
    with sqlite3.connect(path) as conn:
        conn.executescript("".join(database._MIGRATIONS[:version]) + f"INSERT INTO schema_version VALUES ({version});")
    conn.close()
    return path


def test_a_reader_refuses_an_older_journal_and_leaves_it_as_it_was(state: Path) -> None:
    path = journal_at(state, 3)
    before = path.read_bytes()
    with pytest.raises(JournalError, match=r"older nodewarden \(schema 3; this one reads 4\); start `nodewarden run"):
        Journal.open_readonly(state)
    assert path.read_bytes() == before
    with Journal.open(state) as writer:  # the writer brings it up to date
        writer.save_health({}, now=T0)
    with Journal.open_readonly(state) as reader:
        assert reader.node_health(now=T0) == {}


def test_a_reader_refuses_a_newer_journal(state: Path) -> None:
    with Journal.open(state) as journal, journal._conn:
        journal._conn.execute("INSERT INTO schema_version VALUES (?)", (database.SCHEMA_VERSION + 1,))
    with pytest.raises(JournalError, match=r"newer nodewarden"):
        Journal.open_readonly(state)


def test_a_reader_cannot_write(state: Path) -> None:
    with Journal.open(state):
        pass
    with Journal.open_readonly(state) as reader, pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.record_changes([change(1)])


def test_writers_that_start_at_once_migrate_the_file_once(state: Path) -> None:
    """Schema 3's ALTER TABLEs cannot run twice: each writer re-reads the version under the write lock."""
    journal_at(state, 2)
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def open_writer() -> None:
        start.wait()
        try:
            Journal.open(state).close()
        except BaseException as exc:  # reported below, with every thread's
            errors.append(exc)

    threads = [threading.Thread(target=open_writer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with Journal.open_readonly(state) as reader, reader.connection() as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")]
    assert versions == [2, database.SCHEMA_VERSION]


# -- node health ------------------------------------------------------------------------------------------


def health(name: str, *, state: HealthState = HealthState.HEALTHY, since: datetime = T0) -> NodeHealth:
    signals: tuple[Signal, ...] = ()
    if state is not HealthState.HEALTHY:
        signals = (
            Signal(SignalKind.NODE_PROBLEM, Scope.NODE, name, since, f"{name}: KernelDeadlock",
                   evidence=("node condition KernelDeadlock=True",), node=name, pool="apps", zone="westeurope-1",
                   instance="aks-apps-vmss/1", condition="KernelDeadlock", value=1.5),
        )  # fmt: skip
    return NodeHealth(
        node=name, state=state, since=since, pool="apps", zone="westeurope-1", image="img-1",
        instance="aks-apps-vmss/1", signals=signals, problem_since=since if signals else None,
        clear_since=None if signals else since, ready=not signals, ready_flips=(at(1), at(2)),
    )  # fmt: skip


@pytest.fixture
def journal(state: Path) -> Iterator[Journal]:
    with Journal.open(state) as opened:
        yield opened


def test_node_health_survives_the_process_and_is_read_by_a_reader(journal: Journal, state: Path) -> None:
    saved = {"a": health("a"), "b": health("b", state=HealthState.UNHEALTHY, since=at(5))}
    journal.save_health(saved, now=at(10))
    with Journal.open_readonly(state) as reader:
        assert reader.node_health(now=at(20)) == saved


def test_only_changed_health_is_written_and_gone_nodes_are_forgotten(journal: Journal) -> None:
    nodes = {f"n{i}": health(f"n{i}") for i in range(50)}
    journal.save_health(nodes, now=at(10))
    written = journal._conn.total_changes
    nodes["n7"] = replace(nodes["n7"], state=HealthState.SUSPECT, since=at(20))
    del nodes["n9"]
    journal.save_health(nodes, now=at(20))
    assert journal._conn.total_changes - written == 3, "n7 updated, n9 deleted, the save time moved"
    assert journal.node_health(now=at(20)) == nodes


def test_a_restarted_writer_writes_only_what_changed_since_the_file(journal: Journal, state: Path) -> None:
    nodes = {f"n{i}": health(f"n{i}") for i in range(20)}
    journal.save_health(nodes, now=at(10))
    journal.close()
    with Journal.open(state) as again:
        before = again._conn.total_changes
        again.save_health(nodes, now=at(20))
        assert again._conn.total_changes - before == 1, "only the save time"


def test_a_replica_leading_again_rereads_the_health_another_replica_saved_meanwhile(
    journal: Journal, state: Path
) -> None:
    """Two replicas share the state dir and only the leader saves health. When a leads again after b led, its
    memory of what it saved last is stale: compared with it, a's unchanged rows would not be written and the
    file would keep b's; `reread` compares with the file instead."""
    mine = {"n1": health("n1"), "n2": health("n2")}
    journal.save_health(mine, now=at(10))
    with Journal.open(state) as other:
        other.save_health({**mine, "n2": health("n2", state=HealthState.UNHEALTHY, since=at(15))}, now=at(20))
    journal.save_health(mine, now=at(30), reread=True)
    assert journal.node_health(now=at(30)) == mine


def test_health_saved_long_ago_is_not_carried_on(journal: Journal) -> None:
    journal.save_health({"a": health("a")}, now=T0)
    assert journal.node_health(now=T0 + node_health.HEALTH_FRESH) == {"a": health("a")}
    assert journal.node_health(now=T0 + node_health.HEALTH_FRESH + timedelta(seconds=1)) == {}


def test_no_health_before_the_first_save(journal: Journal) -> None:
    assert journal.node_health(now=T0) == {}


# -- readers on the command line -----------------------------------------------------------------------


def test_plan_and_incidents_on_a_directory_without_a_journal_exit_2_and_create_nothing(
    invoke: Invoke, state: Path
) -> None:
    planned = invoke("plan", "examples/cluster", "--now", "2026-11-26T12:00:00Z", "--state-dir", str(state))
    listed = invoke("incidents", "list", "--state-dir", str(state))
    for outcome in (planned, listed):
        assert outcome.code == 2
        assert outcome.err == (
            f"nodewarden: --state-dir {state}: no journal.sqlite3 there; "
            f"`nodewarden run --state-dir {state}` keeps it\n"
        )
    assert not state.exists()


def test_readers_on_an_older_journal_exit_2_in_one_line_and_leave_it_as_it_was(invoke: Invoke, state: Path) -> None:
    path = journal_at(state, 3)
    before = path.read_bytes()
    planned = invoke("plan", "examples/cluster", "--now", "2026-11-26T12:00:00Z", "--state-dir", str(state))
    listed = invoke("incidents", "list", "--state-dir", str(state))
    for outcome in (planned, listed):
        assert outcome.code == 2
        assert outcome.err.count("\n") == 1
        assert "older nodewarden (schema 3; this one reads 4); start `nodewarden run" in outcome.err
    assert path.read_bytes() == before
