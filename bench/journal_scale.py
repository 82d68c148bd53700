"""Times the journal's per-cycle writes at 5,000 nodes against a bare SQLite upsert of the same rows.

Every controller cycle logs its signals (`Journal.record_signals`: one row per fact, seen again → only
`last_seen` moves) and saves each node's health (`Journal.save_health`: only the rows that changed). Both
run on the controller's thread, so they must stay a small part of a cycle. The unit tests check the
behaviour (one transaction, one row per fact, only changed rows); how long it takes depends on the
machine, so it is measured here, against a baseline taken in the same run on the same disk:

* baseline: `executemany` of the same 5,000 signal tuples as a plain `INSERT OR REPLACE` into a one-table
  WAL file with `synchronous=FULL`, one transaction (what any durable per-cycle write costs);
* signals: `record_signals` of 5,000 signals already logged (the steady state of a 5,000-node outage);
* health: `save_health` of 5,000 nodes of which 1 % changed since the last save.

Each `--repeat` times, interleaved, median reported. Targets: signals <= 4x baseline, health <= 1x baseline.
Exits 1 when a target is missed.

    .venv/bin/python bench/journal_scale.py [--nodes 5000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from nodewarden.model.health import HealthState, NodeHealth, Scope, Signal, SignalKind
from nodewarden.state import Journal

SIGNALS_TARGET = 4.0  # its rows carry nine more columns and JSON evidence, and a conflict rule
HEALTH_TARGET = 1.0
T0 = datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC)


def _signal(n: int) -> Signal:
    node = f"aks-user-12345678-vmss{n:06d}"
    return Signal(
        kind=SignalKind.HEARTBEAT_STALE, scope=Scope.NODE, subject=node, since=T0, message=f"{node}: lease stale",
        evidence=(f"Lease kube-node-lease/{node} renewed {T0.isoformat()}",), node=node, pool="user",
        zone="eastus-1", instance=f"aks-user-12345678-vmss/{n}", image="AKSUbuntu-2204gen2containerd-202611.01.0",
    )  # fmt: skip


def _health(signal: Signal) -> NodeHealth:
    assert signal.node is not None
    return NodeHealth(node=signal.node, state=HealthState.UNHEALTHY, since=T0, pool=signal.pool, zone=signal.zone,
                      instance=signal.instance, signals=(signal,), problem_since=T0, ready=False)  # fmt: skip


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def measure(folder: Path, nodes: int, repeat: int) -> dict[str, list[float]]:
    signals = [_signal(n) for n in range(nodes)]
    health = {h.node: h for h in map(_health, signals)}
    names = list(health)
    rows = [(s.kind.value, s.subject, s.since.isoformat(), s.message, s.evidence[0]) for s in signals]
    bare = sqlite3.connect(folder / "bare.sqlite3")
    bare.execute("PRAGMA journal_mode=WAL").fetchone()
    bare.execute("PRAGMA synchronous=FULL")
    bare.execute("CREATE TABLE t (kind TEXT, subject TEXT, since TEXT, message TEXT, evidence TEXT, "
                 "PRIMARY KEY (kind, subject, since))")  # fmt: skip

    def upsert_bare() -> None:
        with bare:
            bare.executemany("INSERT OR REPLACE INTO t VALUES (?, ?, ?, ?, ?)", rows)

    times: dict[str, list[float]] = {"baseline": [], "signals": [], "health": []}
    with Journal.open(folder / "state") as journal, bare:
        journal.record_signals(signals, T0)
        journal.save_health(health, now=T0)
        for round_ in range(1, repeat + 1):
            now = T0 + timedelta(seconds=10 * round_)

            times["baseline"].append(_timed(upsert_bare))
            times["signals"].append(_timed(partial(journal.record_signals, signals, now)))
            changed, some = dict(health), max(1, nodes // 100)  # 1 % of the nodes changed state this cycle
            for name in names[round_ * some % nodes :][:some]:
                changed[name] = replace(health[name], since=now)
            times["health"].append(_timed(partial(journal.save_health, changed, now=now)))
            health = changed
    bare.close()
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nodewarden-journal-bench-") as folder:
        times = measure(Path(folder), args.nodes, args.repeat)
    median = {name: statistics.median(values) for name, values in times.items()}
    missed = 0
    print(f"{args.nodes} nodes, {args.repeat} rounds, median seconds:")
    print(f"  baseline (bare upsert)  {median['baseline']:.4f}")
    for name, target in (("signals", SIGNALS_TARGET), ("health", HEALTH_TARGET)):
        ratio = median[name] / median["baseline"]
        ok = ratio <= target
        missed += not ok
        print(f"  {name:<22}  {median[name]:.4f}  {ratio:.2f}x (target <= {target:g}x) {'ok' if ok else 'MISSED'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
