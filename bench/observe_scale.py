"""How the list+watch caches cope with the twin's `large` scenario (5,000 nodes, 50,000 pods).

Targets from issue 4: the caches' initial sync of nodes + pods takes at most 2x a bare lightkube paged
list (`chunk_size=500`) of the same objects, measured in the same run; steady-state watch processing
of at least 5,000 events/s (`twin.advance(10)` makes every kubelet renew its Lease: 5,000 MODIFIED
events per round). Prints each figure with its target; exits 1 on a miss.

    .venv/bin/python bench/observe_scale.py [--scenario large] [--repeat 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from lightkube import Client

from nodewarden.connection import connect
from nodewarden.observe.cache import LEASES, NODE_LEASE_NAMESPACE, Caches, KubeCache
from nodewarden.observe.live_kube import CHUNK_SIZE, KUBE_EXPORTS, resource_type
from nodewarden.twin.service import Twin

NODES = next(export for export in KUBE_EXPORTS if export.name == "nodes")
PODS = next(export for export in KUBE_EXPORTS if export.name == "pods")
SYNC_TARGET = 2.0
EVENTS_TARGET = 5_000.0


def bare_list(client: Client) -> tuple[float, int]:
    began = time.perf_counter()
    nodes = list(client.list(resource_type(NODES), chunk_size=CHUNK_SIZE))
    pods = list(client.list(resource_type(PODS), namespace="*", chunk_size=CHUNK_SIZE))
    return time.perf_counter() - began, len(nodes) + len(pods)


def cache_sync(client: Client) -> tuple[float, int]:
    began = time.perf_counter()
    caches = Caches(client, kinds=("nodes", "pods")).start()
    if not caches.wait_synced(600):
        raise SystemExit("the caches did not sync within 600 s")
    elapsed = time.perf_counter() - began
    count = len(caches["nodes"]) + len(caches["pods"])
    caches.stop()
    return elapsed, count


def cache_sync_one_by_one(client: Client) -> float:
    """The same sync with one kind at a time, so the list is not helped by the two kinds running in parallel."""
    began = time.perf_counter()
    for export in (NODES, PODS):
        cache = KubeCache(client, export).start()
        if not cache.wait_synced(600):
            raise SystemExit(f"the {export.plural} cache did not sync within 600 s")
        cache.stop()
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="large")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    with Twin(args.scenario) as twin:
        print(f"twin {args.scenario} up in {time.perf_counter() - started:.1f} s", flush=True)
        connection = connect(twin=twin.state_dir, need_azure=False)
        client = connection.kube
        assert client is not None
        bare: list[float] = []
        synced: list[float] = []
        serial: list[float] = []
        for _ in range(args.repeat):  # interleaved, so both see the same warm-up and memory state
            seconds, bare_count = bare_list(client)
            bare.append(seconds)
            seconds, cache_count = cache_sync(client)
            synced.append(seconds)
            serial.append(cache_sync_one_by_one(client))
        if cache_count != bare_count:
            print(f"MISS: the caches hold {cache_count} objects, the bare list {bare_count}")
            return 1

        leases = KubeCache(client, LEASES, namespace=NODE_LEASE_NAMESPACE).start()
        assert leases.wait_synced(120)
        lease_count = len(leases)
        rates: list[float] = []
        for _ in range(args.rounds):
            before = leases.stats.events
            began = time.perf_counter()
            twin.advance(10)  # every kubelet renews its lease: one MODIFIED event each
            if not leases.wait_for(_events_reached(before + lease_count), 120):
                print(f"MISS: only {leases.stats.events - before} of {lease_count} lease events arrived")
                return 1
            rates.append((leases.stats.events - before) / (time.perf_counter() - began))
        leases.stop()

    ratio = max(min(synced), min(serial)) / min(bare)
    rate = min(rates)
    ok_sync = ratio <= SYNC_TARGET
    ok_rate = rate >= EVENTS_TARGET
    print(f"objects: {bare_count:,} (nodes + pods)")
    print(f"bare lightkube paged list: {', '.join(f'{s:.2f}' for s in bare)} s (best {min(bare):.2f} s)")
    print(f"cache initial sync:        {', '.join(f'{s:.2f}' for s in synced)} s (best {min(synced):.2f} s)")
    print(f"cache sync, one kind at a time: {', '.join(f'{s:.2f}' for s in serial)} s (best {min(serial):.2f} s)")
    print(
        f"sync / bare list (the slower of the two syncs): {ratio:.2f}x (target <= {SYNC_TARGET:.0f}x) "
        f"{'ok' if ok_sync else 'MISS'}"
    )
    print(
        f"watch events/s ({args.rounds} rounds of {lease_count:,} lease MODIFIED, end to end incl. the twin's writes): "
        f"{', '.join(f'{r:,.0f}' for r in rates)} (worst {rate:,.0f}; target >= {EVENTS_TARGET:,.0f}) "
        f"{'ok' if ok_rate else 'MISS'}"
    )
    return 0 if ok_sync and ok_rate else 1


def _events_reached(count: int) -> Callable[[KubeCache], bool]:
    return lambda cache: cache.stats.events >= count


if __name__ == "__main__":
    sys.exit(main())
