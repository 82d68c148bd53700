"""How the twin copes with the `large` scenario (5,000 nodes, 50,000 pods).

Targets from issue 3: loads in under a minute, serves the full node list in under 2 s, simulates
heartbeats without a thread per node. Prints each figure with its target; the node list is also
shown against a bare `json.loads` of the same NodeList body, measured in the same run.

    .venv/bin/python bench/twin_scale.py [--scenario large]
"""

from __future__ import annotations

import argparse
import json
import resource
import ssl
import sys
import threading
import time
import urllib.request

from lightkube import Client, KubeConfig
from lightkube.resources.core_v1 import Node

from nodewarden.twin.service import Twin


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="large")
    args = parser.parse_args()

    started = time.perf_counter()
    with Twin(args.scenario) as twin:
        load = time.perf_counter() - started
        threads = threading.active_count()
        client = Client(KubeConfig.from_file(str(twin.kubeconfig_path)))
        began = time.perf_counter()
        nodes = list(client.list(Node, chunk_size=500))
        listing = time.perf_counter() - began

        request = urllib.request.Request(
            f"{twin.base_url}/api/v1/nodes", headers={"Authorization": f"Bearer {twin.admin_token}"}
        )
        context = ssl.create_default_context(cafile=str(twin.ca_path))
        with urllib.request.urlopen(request, context=context) as response:
            body = response.read()
        began = time.perf_counter()
        json.loads(body)
        parse = time.perf_counter() - began

        began = time.perf_counter()
        twin.advance(60)
        heartbeat = time.perf_counter() - began
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rows = [
        ("load the scenario", f"{load:.1f} s", "< 60 s", load < 60),
        ("list all nodes (lightkube, pages of 500)", f"{listing:.2f} s", "< 2 s", listing < 2),
        ("  bare json.loads of the NodeList body", f"{parse:.2f} s", f"ratio {listing / parse:.1f}x", True),
        ("simulate 60 s (6 lease rounds, 12 monitor passes)", f"{heartbeat:.2f} s", "-", True),
        ("threads while serving", str(threads), "no thread per node", threads < 20),
        ("peak RSS", f"{peak_mb:.0f} MB", "-", True),
    ]
    print(f"twin scenario {args.scenario}: {len(nodes)} nodes")
    for label, value, target, met in rows:
        print(f"  {label:<52} {value:>9}  {target:<20} {'ok' if met else 'MISSED'}")
    return 0 if all(met for *_, met in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
