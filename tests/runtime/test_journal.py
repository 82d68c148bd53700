"""The SQLite journal's own guarantees: its file, crashes, holds, evidence. What it shares with the cluster's
record (episodes, intents, outcomes) is in tests/state/test_steps_contract.py."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from nodewarden.errors import InputError
from nodewarden.model.incident import ChangeOrigin, ChangeRecord
from nodewarden.model.remediation import (
    Episode,
    Hold,
    HoldReason,
    JournalEntry,
    Outcome,
    Step,
)
from nodewarden.state import Journal, JournalError, correlation_id_for, database, steps
from tests.state.builders import T0, at


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal.open(tmp_path / "state") as opened:
        yield opened


def test_the_journal_file_and_its_directory_are_private(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "state"):
        pass
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "state" / database.FILE_NAME).stat().st_mode) == 0o600


def test_the_journal_runs_in_wal_mode_with_full_sync(journal: Journal) -> None:
    conn = journal._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_correlation_ids_are_deterministic_uuids_per_key() -> None:
    assert correlation_id_for("n@1/restart/1") == correlation_id_for("n@1/restart/1")
    assert correlation_id_for("n@1/restart/1") != correlation_id_for("n@1/restart/2")
    assert len(correlation_id_for("x")) == 36


def test_an_intent_survives_the_process_being_killed_right_after_it(tmp_path: Path) -> None:
    # A real crash: the child journals an intent and SIGKILLs itself before it can close anything.
    script = textwrap.dedent(
        f"""
        import os, signal
        from datetime import datetime, UTC
        from pathlib import Path
        from nodewarden.state import Journal
        from nodewarden.model.remediation import Episode, JournalEntry, Step
        journal = Journal.open(Path({str(tmp_path)!r}))
        now = datetime(2026, 11, 26, 8, 0, 10, tzinfo=UTC)
        journal.open_episode(Episode(id="n@1", node="n", opened_at=now))
        journal.intend(JournalEntry(key="n@1/restart/1", episode="n@1", step=Step.RESTART, subject="n",
                                    intent_at=now))
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert child.returncode == -9, child.stderr
    with Journal.open(tmp_path) as journal:
        (pending,) = journal.pending()
        assert (pending.key, pending.outcome) == ("n@1/restart/1", Outcome.PENDING)
        assert [e.id for e in journal.history(T0).open] == ["n@1"]


def test_a_failed_scale_out_is_not_a_compensation_to_undo() -> None:
    failed = JournalEntry(key="scale/p/z/scale/1", episode="scale/p/z", step=Step.SCALE, subject="p",
                          intent_at=T0, outcome=Outcome.FAILED, count=5)  # fmt: skip
    assert steps.outstanding_scale([failed]) == ()


def test_a_hold_is_new_once_per_ten_minutes_for_the_same_subject_reason_and_step(journal: Journal) -> None:
    storm = Hold(HoldReason.STORM, subject="user", message="9 of 20 unhealthy (limit 40%)", pool="user",
                 step=Step.RESTART)  # fmt: skip
    assert journal.hold(storm, at(0)) is True
    assert journal.hold(storm, at(30)) is False
    assert journal.hold(Hold(HoldReason.STORM, subject="user", message="m", step=Step.REIMAGE), at(31)) is True
    assert journal.hold(Hold(HoldReason.ZONE_BREAKER, subject="user", message="m", step=Step.RESTART), at(32))
    assert journal.hold(storm, at(599)) is False
    assert journal.hold(storm, at(601)) is True
    holds = journal.holds()
    assert [(when, hold.reason, hold.step) for when, hold in holds] == [
        (at(0), HoldReason.STORM, Step.RESTART),
        (at(31), HoldReason.STORM, Step.REIMAGE),
        (at(32), HoldReason.ZONE_BREAKER, Step.RESTART),
        (at(601), HoldReason.STORM, Step.RESTART),
    ]
    assert holds[0][1] == storm
    assert [h.reason for _, h in journal.holds(since=at(600))] == [HoldReason.STORM]


def test_a_corrupt_file_is_an_input_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / database.FILE_NAME
    path.write_bytes(b"this is not SQLite, it is a shopping list\n" * 100)
    with pytest.raises(InputError, match=rf"journal {path}: not a nodewarden journal or corrupt"):
        Journal.open(tmp_path)


def test_another_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / database.FILE_NAME
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE groceries (item TEXT)")
    conn.close()
    with pytest.raises(JournalError, match="not a nodewarden journal"):
        Journal.open(tmp_path)


def test_a_journal_from_a_newer_nodewarden_is_refused(tmp_path: Path) -> None:
    with Journal.open(tmp_path) as journal, journal._conn:
        journal._conn.execute("INSERT INTO schema_version VALUES (?)", (database.SCHEMA_VERSION + 1,))
    newer, current = database.SCHEMA_VERSION + 1, database.SCHEMA_VERSION
    with pytest.raises(JournalError, match=rf"newer nodewarden \(schema {newer}; this one reads up to {current}\)"):
        Journal.open(tmp_path)


def test_a_state_dir_that_cannot_be_created_is_an_input_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(JournalError, match=rf"--state-dir {blocker}/state: cannot create"):
        Journal.open(blocker / "state")


def test_naive_times_are_refused(journal: Journal) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        journal.open_episode(Episode(id="e", node="n", opened_at=datetime(2026, 1, 1)))


def test_an_operator_mark_seen_again_keeps_its_latest_expiry_and_others_changes_stay_as_first_kept(
    journal: Journal,
) -> None:
    """`nodewarden node restart` marks the node until the step's timeout, then moves the expiry to the step's end
    plus the time to come back; the kept mark must follow, or the controller excuses the node for too long."""
    mark = ChangeRecord(at(0), "alice@laptop", "nodewarden node restart", "node-a", "Marked", "c-op",
                        origin=ChangeOrigin.OPERATOR, actor="alice@laptop", until=at(2400))  # fmt: skip
    other = ChangeRecord(at(5), "bob@example.com", "vmss/write", "vmss", "Succeeded", "c-other")
    journal.record_changes([mark, other])
    journal.record_changes([replace(mark, until=at(900)), replace(other, caller="someone-else")])
    kept = {c.correlation_id: c for c in journal.changes()}
    assert kept["c-op"].until == at(900)
    assert kept["c-other"].caller == "bob@example.com"
