"""The cost of keeping the record in the cluster (NodeRemediation objects) at 5,000 nodes and 500 open episodes.

Two figures, against the twin's `large` scenario (5,000 nodes) with deploy/crds/ installed:

* API writes per episode: one typical episode (cordon, drain, restart, uncordon, closed) through
  `ClusterJournal`, counting the requests that change something (POST, PUT, PATCH, DELETE).
* The store's cost per cycle, with 500 open episodes of four steps each: the leader reads its history from
  memory (`history`); a follower, or a replica that starts to lead, lists the objects again (`refresh`).
  Baseline, measured in the same run: the list of the 5,000 Nodes every replica's cache makes at start
  (lightkube, 500 per page), and the SQLite journal's `history` over the same 500 episodes.

Median of `--repeat` rounds. Targets: a refresh <= 1x the node list; the leader's history <= 1x SQLite's.
Exits 1 when a target is missed.

    .venv/bin/python bench/cluster_store.py [--scenario large] [--episodes 500] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lightkube import codecs
from lightkube.resources.core_v1 import Node

from nodewarden.connection import connect
from nodewarden.model.remediation import Episode, EpisodeState, JournalEntry, Outcome, Step
from nodewarden.state import Journal
from nodewarden.state.cluster.journal import ClusterJournal
from nodewarden.twin.service import Twin

CRDS = Path(__file__).resolve().parents[1] / "deploy" / "crds"
REFRESH_TARGET = 1.0
HISTORY_TARGET = 1.0
T0 = datetime(2026, 12, 7, 8, 0, 0, tzinfo=UTC)
STEPS = (Step.CORDON, Step.DRAIN, Step.RESTART, Step.UNCORDON)
WRITING = ("POST", "PUT", "PATCH", "DELETE")


def _episode(journal: Journal, n: int, *, close: bool) -> None:
    node = f"aks-user-12345678-vmss{n:06d}"
    episode = Episode(id=f"{node}@{T0:%Y%m%dT%H%M%SZ}", node=node, opened_at=T0, pool="user", zone="eastus-1")
    journal.open_episode(episode)
    for s, step in enumerate(STEPS):
        at = T0 + timedelta(seconds=60 * s)
        key = f"{episode.id}/{step.value.lower()}/1"
        journal.intend(JournalEntry(key=key, episode=episode.id, step=step, subject=node, intent_at=at, node=node))
        journal.record(key, Outcome.SUCCEEDED, at + timedelta(seconds=30), "done")
    if close:
        journal.close_episode(episode.id, EpisodeState.RECOVERED, T0 + timedelta(minutes=5), "Ready")


def _median(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="large")
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with Twin(args.scenario) as twin, tempfile.TemporaryDirectory() as scratch:
        kube = connect(twin=twin.state_dir).kube
        assert kube is not None
        for path in sorted(p for p in CRDS.glob("*.yaml") if p.name != "kustomization.yaml"):
            for crd in codecs.load_all_yaml(path.read_text(encoding="utf-8")):
                kube.create(crd)
        cluster = ClusterJournal.open_in(Path(scratch) / "cluster", kube)
        local = Journal.open(Path(scratch) / "dir")

        twin.record_requests = True
        _episode(cluster, 0, close=True)
        writes = [(method, url) for method, url, _ in twin.requests if method in WRITING]
        twin.record_requests = False
        print(f"API writes per episode ({len(STEPS)} steps, closed): {len(writes)}")
        for method, url in writes:
            print(f"  {method} {url.split('?')[0]}")

        for n in range(1, args.episodes + 1):
            _episode(cluster, n, close=False)
            _episode(local, n, close=False)
        now = T0 + timedelta(hours=1)
        node_list = _median(lambda: list(kube.list(Node, chunk_size=500)), args.repeat)
        refresh = _median(cluster.refresh, args.repeat)
        leader = _median(lambda: cluster.history(now), args.repeat)
        sqlite = _median(lambda: local.history(now), args.repeat)
        assert len(cluster.history(now).open) == args.episodes
        print(f"baseline: list of {args.scenario}'s Nodes (lightkube, 500 per page): {node_list * 1000:.1f} ms")
        print(f"follower refresh, {args.episodes} open episodes: {refresh * 1000:.1f} ms, {refresh / node_list:.2f}x"
              f" (target <= {REFRESH_TARGET:g}x)")  # fmt: skip
        print(f"baseline: SQLite journal history, {args.episodes} open episodes: {sqlite * 1000:.1f} ms")
        print(f"leader history from memory: {leader * 1000:.1f} ms, {leader / sqlite:.2f}x"
              f" (target <= {HISTORY_TARGET:g}x)")  # fmt: skip
        missed = refresh / node_list > REFRESH_TARGET or leader / sqlite > HISTORY_TARGET
        cluster.close()
        local.close()
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
