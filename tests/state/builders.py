"""Episodes and journal entries for the record's tests (both stores, and the SQLite journal's own)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nodewarden.model.health import SignalKind
from nodewarden.model.remediation import Episode, JournalEntry, Step
from nodewarden.state import Journal

T0 = datetime(2026, 11, 26, 8, 0, 10, tzinfo=UTC)
NODE = "aks-user-12345678-vmss000001"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def episode(node: str = NODE, *, opened: datetime = T0, id_: str | None = None) -> Episode:
    return Episode(
        id=id_ or f"{node}@{opened:%Y%m%dT%H%M%SZ}",
        node=node,
        opened_at=opened,
        pool="user",
        zone="eastus-1",
        instance="aks-user-12345678-vmss/1",
        image="AKSUbuntu-2204gen2containerd-202611.01.0",
        causes=(SignalKind.HEARTBEAT_STALE, SignalKind.READY_UNKNOWN),
    )


def entry(
    ep: Episode, step: Step, *, attempt: int = 1, when: datetime = T0, detail: str = "", leader: str | None = None
) -> JournalEntry:
    key = f"{ep.id}/{step.value.lower()}/{attempt}"
    return JournalEntry(key=key, episode=ep.id, step=step, subject=ep.node, intent_at=when, node=ep.node,
                        pool=ep.pool, detail=detail, leader=leader,
                        lease_transitions=None if leader is None else 3)  # fmt: skip


def opened_with_a_cordon(journal: Journal, nodes: int) -> list[Episode]:
    """`nodes` episodes, node-0 … opened a second apart, each with a cordon intended as it opened."""
    episodes = [episode(f"node-{i}", opened=at(i)) for i in range(nodes)]
    for ep in episodes:
        journal.open_episode(ep)
        journal.intend(entry(ep, Step.CORDON, when=ep.opened_at))
    return episodes
