"""Times one planning cycle (detect + plan, the pure core) for a 5,000-node cluster with 10 % of nodes unhealthy.

The cluster comes from `bench/audit_scale.py`'s generator, built in memory: by default 5,000 nodes
in 21 pools, ~10 pods per node, their Deployments and StatefulSets, PDBs, the pools, scale sets and
VMSS instances, plus one kubelet Lease per node. Every tenth node (10 %, spread over every pool) is
unhealthy: half have a Lease last renewed 2 minutes ago (a hung kubelet, before the node controller
notices), the other half also have Ready=Unknown ("Kubelet stopped posting node status.").

In this process, interleaved, `--repeat` times each (median reported):

* parse: `json.loads` of the node list as `kubectl get nodes -o json` prints it (the baseline);
* load: `observe.load.load_documents` of every document (a cold observation: every object validated;
  reported, not part of the cycle target);
* observe: the controller observer's steady state (`runtime.observer.IncrementalValidator`): the same
  documents again after changing 1 % of the pods (each a new dict with a new resourceVersion, as the
  watch delivers them), so only those pods and the Azure documents are validated;
* detect: `detect.engine.detect(snapshot, previous, now, settings)` with last cycle's health as
  `previous` (steady state; the first, cold call is reported too);
* plan: `heal.planner.plan(snapshot, detection, history, policy, now)` with an empty journal history
  and the built-in policy in enforce mode.

Target: detect + plan <= 1x parse. `--profile` runs detect and plan under cProfile and prints the top
functions.

    .venv/bin/python bench/plan_scale.py [--nodes 5000] [--repeat 5] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/plan_scale.py`: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import audit_scale
from nodewarden.detect.engine import detect
from nodewarden.heal.detection import detect_settings
from nodewarden.heal.planner import plan as make_plan
from nodewarden.heal.policy import Policy, parse_policy
from nodewarden.model.health import Detection, HealthState, NodeHealth
from nodewarden.model.remediation import History, Plan
from nodewarden.model.snapshot import Snapshot
from nodewarden.observe import load
from nodewarden.observe.files import Document
from nodewarden.runtime.observer import IncrementalValidator

RATIO_TARGET = 1.0
UNHEALTHY_EVERY = 10  # every tenth node: 10 %
CHANGED_EVERY = 100  # pods changed between two observations: 1 %
NOW = audit_scale.EXPORTED_AT + timedelta(seconds=30)
Json = dict[str, Any]


def default_enforce_policy() -> Policy:
    import yaml

    from nodewarden.cli.policy_command import policy_show

    document = yaml.safe_load(policy_show(None))
    document["spec"]["mode"] = "enforce"
    return parse_policy(yaml.safe_dump(document), source="built-in policy, enforce")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def lease(name: str, renewed: datetime) -> Json:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": name,
            "namespace": "kube-node-lease",
            "uid": audit_scale.stable_uuid("lease", name),
            "resourceVersion": "1",
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Node", "name": name, "uid": audit_scale.stable_uuid("n", name)}
            ],
        },
        "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": _stamp(renewed)},
    }


def _unknown(node: Json, since: datetime) -> None:
    for condition in node["status"]["conditions"]:
        if condition["type"] in ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure"):
            condition.update(
                status="Unknown",
                reason="NodeStatusUnknown",
                message="Kubelet stopped posting node status.",
                lastTransitionTime=audit_scale.stamp(since),
            )


@dataclass(frozen=True)
class Cluster:
    documents: list[Document]
    nodes_text: str  # `kubectl get nodes -o json`
    node_count: int
    pod_count: int
    pdb_count: int
    unhealthy: frozenset[str]


def build(nodes: int) -> Cluster:
    """The synthetic cluster as the documents the observer hands the loader, and the node list's text."""
    plan = audit_scale.make_plan(nodes)
    index = audit_scale.NodeIndex(plan)
    node_objects = [audit_scale.node(index, n) for n in range(plan.node_count)]
    leases, unhealthy = [], set()
    for n, obj in enumerate(node_objects):
        name = obj["metadata"]["name"]
        renewed = NOW - timedelta(seconds=3 + n % 7)
        if n % UNHEALTHY_EVERY == UNHEALTHY_EVERY // 2:
            unhealthy.add(name)
            renewed = NOW - timedelta(minutes=2)
            if n % (2 * UNHEALTHY_EVERY) < UNHEALTHY_EVERY:
                _unknown(obj, NOW - timedelta(seconds=70))
        for condition in obj["status"]["conditions"]:
            condition["lastHeartbeatTime"] = audit_scale.stamp(min(renewed, NOW))
        leases.append(lease(name, renewed))
    workloads = plan.workloads
    pods = [audit_scale.pod(w, o, index) for w in workloads for o in range(w.replicas)]
    pdbs = [audit_scale.pdb(w) for w in workloads if w.has_pdb]
    kube: dict[str, list[Json]] = {
        "k8s-nodes.json": node_objects,
        "k8s-leases.json": leases,
        "k8s-pods.json": pods,
        "k8s-pdb.json": pdbs,
        "k8s-deployments.json": [audit_scale.workload_object(w) for w in workloads if w.kind == "Deployment"],
        "k8s-statefulsets.json": [audit_scale.workload_object(w) for w in workloads if w.kind == "StatefulSet"],
        "k8s-namespaces.json": audit_scale.namespaced_objects(plan)["k8s-namespaces.json"],
    }
    documents = [Document(source=name, data=_kubectl_list(items)) for name, items in kube.items()]
    azure = audit_scale.small_azure_files(plan)
    for name in ("aks.json", "nodepools.json", "vmss.json"):
        documents.append(Document(source=name, data=azure[name]))
    instances = [audit_scale.instance(pool, i) for pool, i in index.entries]
    documents.append(Document(source="vmss-instances.json", data=instances))
    nodes_text = json.dumps(_kubectl_list(node_objects), indent=4)
    return Cluster(documents, nodes_text, len(node_objects), len(pods), len(pdbs), frozenset(unhealthy))


def _kubectl_list(items: list[Json]) -> Json:
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


@dataclass(frozen=True)
class Cycle:
    snapshot: Snapshot
    policy: Policy
    previous: dict[str, NodeHealth]

    def detect(self) -> Detection:
        return detect(self.snapshot, self.previous, NOW, detect_settings(self.policy))

    def plan(self, detection: Detection) -> Plan:
        return make_plan(self.snapshot, detection, History(), self.policy, NOW, synced=True, observed_at=NOW)


def prepare(cluster: Cluster, policy: Policy) -> tuple[Cycle, float]:
    """Load the snapshot and run one cold detection, so `previous` is last cycle's health; (cycle, cold s)."""
    snapshot = load.load_documents(cluster.documents).snapshot
    settings = detect_settings(policy)
    began = time.perf_counter()
    first = detect(snapshot, {}, NOW - timedelta(seconds=5), settings)
    cold = time.perf_counter() - began
    return Cycle(snapshot, policy, dict(first.health)), cold


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    value = fn()
    return time.perf_counter() - began, value


def change_pods(cluster: Cluster, round_: int) -> int:
    """Replace 1 % of the pods with changed copies carrying a new resourceVersion; how many changed."""
    pods: list[Json] = next(d for d in cluster.documents if d.source == "k8s-pods.json").data["items"]
    changed = 0
    for i in range(round_ % CHANGED_EVERY, len(pods), CHANGED_EVERY):
        pod = pods[i]
        metadata = pod["metadata"]
        version = str(int(metadata["resourceVersion"]) + 1_000_000)
        labels = {**metadata.get("labels", {}), "bench-round": str(round_)}
        pods[i] = {**pod, "metadata": {**metadata, "resourceVersion": version, "labels": labels}}
        changed += 1
    return changed


@dataclass(frozen=True)
class Timings:
    parse: float
    load: float
    observe: float
    detect: float
    plan: float
    cold_detect: float

    @property
    def cycle(self) -> float:
        return self.detect + self.plan

    @property
    def ratio(self) -> float:
        return self.cycle / self.parse

    @property
    def ok(self) -> bool:
        return self.ratio <= RATIO_TARGET


@dataclass(frozen=True)
class Outcome:
    unhealthy: int  # nodes detection calls Unhealthy (or Suspect)
    actions: int
    holds: int
    action_steps: dict[str, int]
    hold_reasons: dict[str, int]


def measure(cluster: Cluster, *, repeat: int) -> tuple[Timings, Outcome]:
    policy = default_enforce_policy()
    cycle, cold = prepare(cluster, policy)
    samples: dict[str, list[float]] = {"parse": [], "load": [], "observe": [], "detect": [], "plan": []}
    validator = IncrementalValidator()
    validator.load(cluster.documents)
    detection: Detection | None = None
    planned: Plan | None = None
    for _ in range(repeat):
        gc.collect()
        seconds, _ = _timed(lambda: json.loads(cluster.nodes_text))
        samples["parse"].append(seconds)
        gc.collect()
        seconds, _ = _timed(lambda: load.load_documents(cluster.documents))
        samples["load"].append(seconds)
        change_pods(cluster, len(samples["observe"]))
        gc.collect()
        seconds, _ = _timed(lambda: validator.load(cluster.documents))
        samples["observe"].append(seconds)
        gc.collect()
        seconds, detection = _timed(cycle.detect)
        samples["detect"].append(seconds)
        assert detection is not None
        seconds, planned = _timed(partial(cycle.plan, detection))
        samples["plan"].append(seconds)
    assert detection is not None
    assert planned is not None
    median = {key: statistics.median(values) for key, values in samples.items()}
    timings = Timings(median["parse"], median["load"], median["observe"], median["detect"], median["plan"], cold)
    bad = [h for h in detection.health.values() if h.state in (HealthState.UNHEALTHY, HealthState.SUSPECT)]
    steps: dict[str, int] = {}
    for action in planned.actions:
        steps[action.step.value] = steps.get(action.step.value, 0) + 1
    reasons: dict[str, int] = {}
    for hold in planned.holds:
        reasons[hold.reason.value] = reasons.get(hold.reason.value, 0) + 1
    return timings, Outcome(len(bad), len(planned.actions), len(planned.holds), steps, reasons)


def profile(cluster: Cluster, *, top: int = 20) -> str:
    cycle, _ = prepare(cluster, default_enforce_policy())
    profiler = cProfile.Profile()
    profiler.enable()
    cycle.plan(cycle.detect())
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return text.getvalue()


def render(cluster: Cluster, timings: Timings, outcome: Outcome) -> str:
    ms = 1000.0
    lines = [
        f"{cluster.node_count:,} nodes, {cluster.pod_count:,} pods, {cluster.pdb_count:,} PDBs, "
        f"{len(cluster.unhealthy):,} nodes made unhealthy ({len(cluster.unhealthy) / cluster.node_count:.0%}); "
        f"node list {len(cluster.nodes_text) / 1e6:.1f} MB",
        f"{'parse (json.loads of kubectl get nodes -o json)':52} {timings.parse * ms:9.1f} ms",
        f"{'load (observe.load.load_documents, every input)':52} {timings.load * ms:9.1f} ms",
        f"{'observe (steady state: 1 % of pods changed)':52} {timings.observe * ms:9.1f} ms",
        f"{'detect (steady state)':52} {timings.detect * ms:9.1f} ms",
        f"{'detect (cold: no previous health)':52} {timings.cold_detect * ms:9.1f} ms",
        f"{'plan':52} {timings.plan * ms:9.1f} ms",
        f"{'cycle = detect + plan':52} {timings.cycle * ms:9.1f} ms",
        "",
        f"detected {outcome.unhealthy} unhealthy/suspect; planned {outcome.actions} actions "
        f"{outcome.action_steps} and {outcome.holds} holds {outcome.hold_reasons}",
        f"cycle/parse ratio {timings.ratio:.2f}x (target <= {RATIO_TARGET:.0f}x): "
        + ("met" if timings.ok else "MISSED"),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--nodes", type=int, default=5000, help="cluster size (pods ~10x)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each measurement (median reported)")
    parser.add_argument("--profile", action="store_true", help="also profile one detect + plan under cProfile")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    cluster = build(args.nodes)
    print(f"built in {time.perf_counter() - began:.1f} s")
    timings, outcome = measure(cluster, repeat=args.repeat)
    print(render(cluster, timings, outcome))
    if args.profile:
        print(profile(cluster))
    return 0 if timings.ok else 1


if __name__ == "__main__":
    sys.exit(main())
