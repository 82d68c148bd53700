"""The steps' record (episodes, intents, outcomes) behaves the same in a state dir and in the cluster, and
what one replica wrote is what the next one reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from nodewarden.model.remediation import Episode, EpisodeState, JournalEntry, Outcome, Step
from nodewarden.state import Journal, correlation_id_for
from tests.state.builders import T0, at, entry, episode, opened_with_a_cordon
from tests.state.conftest import OpenJournal


def test_an_episode_and_its_steps_are_what_the_next_replica_reads(open_journal: OpenJournal) -> None:
    ep = episode()
    writer = open_journal()
    writer.open_episode(ep)
    writer.intend(entry(ep, Step.CORDON, when=at(1)))
    writer.record(f"{ep.id}/cordon/1", Outcome.SUCCEEDED, at(2), "cordoned")
    writer.intend(entry(ep, Step.DRAIN, when=at(3), detail="timeout=600"))
    writer.record(f"{ep.id}/drain/1", Outcome.FAILED, at(60), "blocked by PDB web/web-pdb")
    writer.intend(entry(ep, Step.RESTART, when=at(61), leader="replica-a"))
    (found,) = open_journal().history(at(62)).episodes
    assert found == replace(ep, entries=found.entries)
    cordon, drain, restart = found.entries
    assert (cordon.step, cordon.outcome, cordon.outcome_at, cordon.detail) == (
        Step.CORDON, Outcome.SUCCEEDED, at(2), "cordoned"
    )  # fmt: skip
    assert drain.detail == "timeout=600; blocked by PDB web/web-pdb"
    assert drain.correlation_id == correlation_id_for(drain.key)
    assert (restart.outcome, restart.leader, restart.lease_transitions) == (Outcome.PENDING, "replica-a", 3)
    assert [e.key for e in open_journal().pending()] == [restart.key]


def test_intending_the_same_key_twice_returns_the_first_row_and_writes_nothing(journal: Journal) -> None:
    ep = episode()
    journal.open_episode(ep)
    first = journal.intend(entry(ep, Step.RESTART, when=at(1)))
    journal.record(first.key, Outcome.SUCCEEDED, at(30))
    again = journal.intend(entry(ep, Step.RESTART, when=at(99)))
    assert again.intent_at == at(1)
    assert again.outcome is Outcome.SUCCEEDED
    assert len(journal.entries()) == 1


def test_a_replica_intending_a_key_another_already_journaled_gets_the_first(open_journal: OpenJournal) -> None:
    ep = episode()
    first, second = open_journal(), open_journal()
    first.open_episode(ep)
    first.intend(entry(ep, Step.RESTART, when=at(1)))
    second.refresh()
    second.open_episode(ep)
    again = second.intend(entry(ep, Step.RESTART, when=at(5)))
    assert again.intent_at == at(1)
    assert len(open_journal().entries()) == 1


def test_opening_an_episode_twice_keeps_the_first(journal: Journal) -> None:
    journal.open_episode(episode())
    journal.open_episode(replace(episode(), pool="other"))
    (kept,) = journal.history(at(1)).episodes
    assert kept.pool == "user"


def test_pending_lists_intents_without_outcome_and_backlog_counts_them(journal: Journal) -> None:
    ep = episode()
    journal.open_episode(ep)
    journal.intend(entry(ep, Step.CORDON))
    journal.intend(entry(ep, Step.DRAIN, when=at(1)))
    journal.record(f"{ep.id}/cordon/1", Outcome.SUCCEEDED, at(1))
    assert [e.step for e in journal.pending()] == [Step.DRAIN]
    assert journal.backlog() == 1


def test_recording_an_unknown_key_or_closing_an_unknown_episode_is_a_bug(journal: Journal) -> None:
    with pytest.raises(LookupError, match="no intent"):
        journal.record("nope", Outcome.SUCCEEDED, T0)
    with pytest.raises(LookupError, match="no episode"):
        journal.close_episode("nope", EpisodeState.RECOVERED, T0, "")


def test_history_keeps_open_episodes_and_those_closed_within_the_look_back(open_journal: OpenJournal) -> None:
    journal = open_journal()
    old, recent, _ = opened_with_a_cordon(journal, 3)
    journal.close_episode(old.id, EpisodeState.RECOVERED, at(10), "node Ready again")
    journal.close_episode(recent.id, EpisodeState.FAILED, at(3600), "ladder exhausted")
    now = at(10) + timedelta(hours=24, seconds=1)
    for reader in (journal, open_journal()):
        history = reader.history(now)
        assert [e.node for e in history.episodes] == ["node-1", "node-2"]
        failed = history.episodes[0]
        assert (failed.state, failed.closed_at, failed.note) == (EpisodeState.FAILED, at(3600), "ladder exhausted")
        assert [e.node for e in history.open] == ["node-2"]
        assert history.episodes[1].entries[0].step is Step.CORDON
        assert [e.node for e in reader.history(now, lookback=timedelta(hours=48)).episodes] == [
            "node-0", "node-1", "node-2"
        ]  # fmt: skip


def test_a_scale_out_is_outstanding_until_a_later_scale_in_its_episode_succeeds(open_journal: OpenJournal) -> None:
    journal = open_journal()
    ep = Episode(id="scale/user/20261126T080010Z", node="user", opened_at=T0, pool="user")
    journal.open_episode(ep)
    out = JournalEntry(key=f"{ep.id}/scale/1", episode=ep.id, step=Step.SCALE, subject="user", intent_at=at(1),
                       pool="user", count=5, detail="from=3")  # fmt: skip
    journal.intend(out)
    assert [e.key for e in journal.history(at(2)).scale_entries] == [out.key]
    journal.record(out.key, Outcome.SUCCEEDED, at(60), "provisioned")
    (outstanding,) = open_journal().history(at(61)).scale_entries
    assert (outstanding.count, outstanding.detail) == (5, "from=3; provisioned")
    back = JournalEntry(key=f"{ep.id}/scale/2", episode=ep.id, step=Step.SCALE, subject="user",
                        intent_at=at(3600), pool="user", count=3)  # fmt: skip
    journal.intend(back)
    journal.record(back.key, Outcome.FAILED, at(3601), "OperationNotAllowed")
    assert [e.key for e in journal.history(at(3602)).scale_entries] == [out.key]  # a failed undo undoes nothing
    retry = replace(back, key=f"{ep.id}/scale/3", intent_at=at(3700))
    journal.intend(retry)
    assert journal.history(at(3701)).scale_entries == ()


def test_entries_since_filters_by_intent_time_and_keep_journal_order(journal: Journal) -> None:
    first, second = episode("node-a"), episode("node-b", opened=at(1))
    journal.open_episode(first)
    journal.open_episode(second)
    journal.intend(entry(first, Step.CORDON, when=at(0)))
    journal.intend(entry(second, Step.CORDON, when=at(2)))
    journal.intend(entry(first, Step.DRAIN, when=at(10)))
    assert [(e.subject, e.step) for e in journal.entries()] == [
        ("node-a", Step.CORDON), ("node-b", Step.CORDON), ("node-a", Step.DRAIN)
    ]  # fmt: skip
    assert [e.step for e in journal.entries(since=at(5))] == [Step.DRAIN]


def test_episodes_closed_longer_ago_than_the_retention_are_forgotten(open_journal: OpenJournal) -> None:
    journal = open_journal()
    done, recent, _ = opened_with_a_cordon(journal, 3)
    journal.close_episode(done.id, EpisodeState.RECOVERED, at(60), "Ready")
    journal.close_episode(recent.id, EpisodeState.RECOVERED, at(86_400 * 20), "Ready")
    now = at(86_400 * 31)
    assert journal.expire(now, timedelta(days=30)) == 1
    later = open_journal()
    assert [e.node for e in later.history(now, lookback=timedelta(days=365)).episodes] == ["node-1", "node-2"]
    assert {e.subject for e in later.entries()} == {"node-1", "node-2"}
