"""Remediation on the twin: nodewarden (default policy, enforce) against the twin's AKS auto-repair alone.

Runs issue 5's scenarios 1 (instance crash), 2 (kubelet hang), 4 (zone outage) and 6 (a drain blocked
by a PodDisruptionBudget) on the `small` scenario, on the twin's manual clock, twice each in the same run:

* nodewarden: the real controller (caches, journal, executor, events, leader election) in-process with
  the built-in policy in enforce mode, one cycle every `--step` seconds of twin time, the twin's AKS
  auto-repair OFF;
* aks: the twin's emulation of AKS node auto-repair alone (`Twin(..., auto_repair=True)`), no nodewarden.

How each figure is measured (twin time, seconds after the fault was injected):

* detect: nodewarden — the first cycle whose detection holds a signal about a faulted node (`signal`)
  and the first cycle that calls one Unhealthy (`detect`); aks — the first auto-repair action: its
  first Event from `aks-auto-repair` or its first Activity Log entry by caller `aks-remediator`,
  whichever is earlier.
* restore: capacity is whole when every workload of the scenario has `replicas` pods that are Running,
  Ready, not terminating and on a VM that is really up (the twin's kubelet truth: a crashed VM's pods
  still look Ready to Kubernetes for ~50 s). A sampler on the twin's clock checks this every second of
  twin time (also while the executor waits on a drain or an ARM poll); `restore` is when capacity was
  last whole again after being lost (0 if it was never lost). Runs end when capacity is whole, every
  faulted node is Ready again (in the API and in the twin's truth: its kubelet up, not hung) and
  (nodewarden) no remediation episode is open, or at `--horizon`.
* pods disrupted: workload pods present at the fault that were deleted or evicted by anyone before
  the end (drain evictions, the taint manager's evictions, ...).
* PDB violations: budget-covered pods that were healthy (as for capacity) at one sample and at the
  next were deleted, terminating or on a VM that went down, on a node being worked on (cordoned — only
  nodewarden cordons in these runs — or with an ARM operation running on its instance), while their
  budget had no disruption to spare (healthy − desiredHealthy <= 0 at the previous sample, less the
  pods already disrupted in the same sample). The fault's own damage is never counted (its pods were not
  healthy any more, or their node was not being worked on). The twin's Eviction API enforces budgets,
  so a violation means deleting, force-evicting or rebooting away a pod the budget needed.
* ARM: `arm-ops` = operations started in the Activity Log by the remediator (nodewarden's identity or
  `aks-remediator`); `arm-http` = HTTP requests nodewarden sent to the twin's ARM endpoint
  (`twin.record_requests`), reads included; `arm-writes` = those that are not GETs. AKS's emulation
  acts inside the twin, without HTTP, so it has no arm-http.

Scenario 4 restores the zone `--zone-restore` seconds after the outage (both runs). Scenario 6 tightens
the `api` budget to minAvailable 3 (of 3 replicas: no disruption allowed) and hangs the kubelet of a
node running an `api` pod.

    .venv/bin/python bench/remediation_scenarios.py [--scenarios 1,2,4,6] [--step 5] [--horizon 3600]

Exits 1 when a target is missed (detect and restore >= 3x faster than AKS alone, zero PDB violations).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from nodewarden.connection import connect
from nodewarden.demo.twin_host import settle
from nodewarden.heal.policy import Policy, parse_policy
from nodewarden.model.health import HealthState
from nodewarden.runtime.assemble import Options, controller_for
from nodewarden.runtime.clock import DrivenClock
from nodewarden.runtime.controller import Controller, CycleReport
from nodewarden.runtime.observer import LiveObserver
from nodewarden.twin.azure.activity import ActivityFilter
from nodewarden.twin.service import Twin

RATIO_TARGET = 3.0
SCENARIO = "small"
POOL = "apps"
IDENTITY = "bench-controller"
AKS_CALLER = "aks-remediator"
AKS_COMPONENT = "aks-auto-repair"
SAMPLE_EVERY = 1.0
Obj = dict[str, Any]


def default_enforce_policy() -> Policy:
    """The built-in policy with `mode: enforce` and nothing else changed."""
    import yaml

    from nodewarden.cli.policy_command import policy_show

    document = yaml.safe_load(policy_show(None))
    document["spec"]["mode"] = "enforce"
    return parse_policy(yaml.safe_dump(document), source="built-in policy, enforce")


# --- scenarios -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    inject: Callable[[Twin, float], list[str]]  # (twin, zone_restore seconds) → the faulted nodes
    prepare: Callable[[Twin], None] | None = None  # before the fault (and before the clock starts counting)


def _pool_nodes(twin: Twin, pool: str = POOL) -> list[str]:
    return sorted(
        n["metadata"]["name"]
        for n in twin.world.store.items("nodes")
        if n["metadata"].get("labels", {}).get("kubernetes.azure.com/agentpool") == pool
    )


def _instance_crash(twin: Twin, _: float) -> list[str]:
    node = _pool_nodes(twin)[0]
    twin.inject("instance-crash", target=node)
    return [node]


def _kubelet_hang(twin: Twin, _: float) -> list[str]:
    node = _pool_nodes(twin)[1]
    twin.inject("kubelet-hang", target=node)
    return [node]


def _zone_outage(twin: Twin, restore_after: float) -> list[str]:
    zone = "1"
    down = sorted(i.computer_name for i in twin.azure.instances() if i.zone == zone)
    twin.inject("zone-outage", target=zone)
    twin.clock.call_later(restore_after, lambda: twin.inject("zone-restore", target=zone))
    return down


def _tighten_api_budget(twin: Twin) -> None:
    """`shop/api` may lose no pod: minAvailable 3 of its 3 replicas."""

    def tighten(pdb: Obj) -> None:
        pdb["spec"].pop("maxUnavailable", None)
        pdb["spec"]["minAvailable"] = 3

    twin.world.store.mutate("poddisruptionbudgets", "shop", "api", tighten, touches=("spec",))
    twin.advance(SAMPLE_EVERY)  # the disruption controller recomputes the budget's status


def _pdb_blocked_drain(twin: Twin, _: float) -> list[str]:
    """The kubelet of a node running an `api` pod hangs (its budget was tightened by `prepare`)."""
    hosts = sorted(
        p["spec"]["nodeName"]
        for p in twin.world.store.items("pods", "shop")
        if p["metadata"].get("labels", {}).get("app") == "api" and p.get("spec", {}).get("nodeName")
    )
    node = next(n for n in hosts if n in _pool_nodes(twin))
    twin.inject("kubelet-hang", target=node)
    return [node]


SCENARIOS = {
    "1": Scenario("1", "instance crash", _instance_crash),
    "2": Scenario("2", "kubelet hang", _kubelet_hang),
    "4": Scenario("4", "zone outage", _zone_outage),
    "6": Scenario("6", "drain blocked by a PDB", _pdb_blocked_drain, _tighten_api_budget),
}


# --- measuring -------------------------------------------------------------------------------------


@dataclass
class Result:
    scenario: str
    who: str  # "nodewarden" | "aks"
    signal_s: float | None  # first signal about a faulted node (nodewarden only)
    detect_s: float | None
    restore_s: float | None  # None: capacity still short at the end
    pods_disrupted: int
    pdb_violations: int
    violations: tuple[str, ...]
    arm_ops: int
    arm_http: int | None
    arm_writes: int | None
    ended_s: float
    finished: bool  # ended by the stop condition, not by the horizon
    notes: tuple[str, ...] = ()
    wall_s: float = 0.0


@dataclass
class Sampler:
    """Samples capacity and budgets on the twin's clock; everything in seconds after the fault."""

    twin: Twin
    fault_at: float
    workloads: dict[tuple[str, str], int]  # (namespace, app label) → replicas
    whole: bool = True
    lost_at: float | None = None
    restored_at: float | None = None
    violations: list[str] = field(default_factory=list)  # "ns/budget: pod on node at t s"
    present_at_fault: set[str] = field(default_factory=set)
    disrupted: set[str] = field(default_factory=set)
    _healthy_before: dict[str, Obj] = field(default_factory=dict)  # uid → pod, healthy at the last sample
    _spare_before: dict[tuple[str, str], int] = field(default_factory=dict)  # budget → healthy − desiredHealthy

    def start(self) -> Sampler:
        pods = self._workload_pods()
        self.present_at_fault = {p["metadata"]["uid"] for p in pods}
        self._remember(pods)
        self.twin.clock.call_every(SAMPLE_EVERY, self.sample, first=0.0)
        return self

    def elapsed(self) -> float:
        return self.twin.clock.elapsed() - self.fault_at

    def _up(self, node: str) -> bool:
        kubelet = self.twin.kube.kubelets.get(node)
        return kubelet is not None and kubelet.up

    def _healthy(self, pod: Obj) -> bool:
        status = pod.get("status", {})
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        node = pod.get("spec", {}).get("nodeName")
        return (
            ready
            and status.get("phase") == "Running"
            and not pod["metadata"].get("deletionTimestamp")
            and bool(node)
            and self._up(str(node))
        )

    def _worked_on(self, node: str) -> bool:
        """Cordoned (only nodewarden cordons in these runs) or an ARM operation is running on its instance."""
        obj = self.twin.world.store.peek("nodes", None, node)
        if obj is not None and obj.get("spec", {}).get("unschedulable"):
            return True
        try:
            return self.twin.azure.instance(node).part is not None
        except (KeyError, LookupError):
            return False

    def _workload_pods(self) -> list[Obj]:
        return [
            p
            for namespace in {ns for ns, _ in self.workloads}
            for p in self.twin.world.store.items("pods", namespace)
            if (namespace, p["metadata"].get("labels", {}).get("app", "")) in self.workloads
        ]

    def _budgets_of(self, pod: Obj) -> list[tuple[str, str]]:
        namespace, labels = pod["metadata"]["namespace"], pod["metadata"].get("labels", {})
        return [
            (namespace, pdb["metadata"]["name"])
            for pdb in self.twin.world.store.items("poddisruptionbudgets", namespace)
            if all(
                labels.get(k) == v for k, v in ((pdb["spec"].get("selector") or {}).get("matchLabels") or {}).items()
            )
        ]

    def _remember(self, pods: list[Obj]) -> None:
        healthy = {p["metadata"]["uid"]: p for p in pods if self._healthy(p)}
        spare: dict[tuple[str, str], int] = {}
        for pdb in self.twin.world.store.items("poddisruptionbudgets"):
            spare[(pdb["metadata"]["namespace"], pdb["metadata"]["name"])] = -int(
                pdb.get("status", {}).get("desiredHealthy", 0)
            )
        for pod in healthy.values():
            for key in self._budgets_of(pod):
                spare[key] = spare.get(key, 0) + 1
        self._healthy_before, self._spare_before = healthy, spare

    def sample(self) -> None:
        pods = self._workload_pods()
        now = self.elapsed()
        alive = {p["metadata"]["uid"] for p in pods if not p["metadata"].get("deletionTimestamp")}
        self.disrupted |= self.present_at_fault - alive
        self._check_budgets({p["metadata"]["uid"]: p for p in pods}, now)
        counts: dict[tuple[str, str], int] = {}
        for pod in pods:
            if self._healthy(pod):
                key = (pod["metadata"]["namespace"], pod["metadata"]["labels"]["app"])
                counts[key] = counts.get(key, 0) + 1
        whole = all(counts.get(key, 0) >= replicas for key, replicas in self.workloads.items())
        if self.whole and not whole:
            self.lost_at = now
        if whole and not self.whole:
            self.restored_at = now
        self.whole = whole
        self._remember(pods)

    def _check_budgets(self, by_uid: dict[str, Obj], now: float) -> None:
        """A healthy budget-covered pod that was deleted, evicted or lost its VM on a node being worked on,
        while its budget had no disruption to spare, is a violation (the fault's own damage never is)."""
        spare = dict(self._spare_before)
        for uid, before in self._healthy_before.items():
            after = by_uid.get(uid)
            node = str(before["spec"]["nodeName"])
            gone = after is None or bool(after["metadata"].get("deletionTimestamp")) or not self._up(node)
            if not gone or not self._worked_on(node):
                continue
            for key in self._budgets_of(before):
                if spare.get(key, 0) <= 0:
                    self.violations.append(f"{key[0]}/{key[1]}: {before['metadata']['name']} on {node} at {now:.0f}s")
                spare[key] = spare.get(key, 0) - 1

    @property
    def restore_s(self) -> float | None:
        if not self.whole:
            return None
        return self.restored_at if self.restored_at is not None else 0.0


def _workloads(twin: Twin) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for w in twin.scenario.workloads:
        if w.kind == "DaemonSet":
            continue
        names = [w.name] if w.copies == 1 else [f"{w.name}-{i}" for i in range(w.copies)]
        found.update({(w.namespace, name): w.replicas for name in names})
    return found


def _node_ready(twin: Twin, name: str) -> bool:
    """Ready in the API and really healthy (the twin's kubelet truth: up, not hung, good image)."""
    node = twin.world.store.peek("nodes", None, name)
    conditions = (node or {}).get("status", {}).get("conditions") or []
    listed = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return listed and twin.kube.kubelets.is_ready(name)


def _started(twin: Twin, caller: str | None = None, *, not_caller: str | None = None) -> list[Obj]:
    entries = twin.azure.activity.query(ActivityFilter(caller=caller))
    return [
        e
        for e in entries
        if e["status"]["value"] == "Started" and (not_caller is None or e.get("caller") != not_caller)
    ]


def _arm_http(twin: Twin) -> tuple[int, int]:
    arm = [(method, path) for method, path, _ in twin.requests if path.lower().startswith("/subscriptions")]
    return len(arm), sum(1 for method, _ in arm if method != "GET")


@contextmanager
def _fresh_twin(auto_repair: bool) -> Iterator[Twin]:
    with Twin(SCENARIO, advance_on_poll=30, auto_repair=auto_repair) as twin:
        yield twin


def run_nodewarden(scenario: Scenario, *, step: float, horizon: float, zone_restore: float) -> Result:
    began = time.perf_counter()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as state:
        twin = stack.enter_context(_fresh_twin(auto_repair=False))
        connection = connect(twin=twin.state_dir)
        options = Options(apply=True, state_dir=Path(state), identity=IDENTITY)
        controller: Controller = stack.enter_context(
            controller_for(connection, default_enforce_policy(), options, clock=DrivenClock(twin))
        )
        observer = controller.observer
        assert isinstance(observer, LiveObserver)

        def cycle(seconds: float) -> CycleReport:
            if seconds:
                twin.advance(seconds)
            settle(twin, observer.caches)
            return controller.cycle()

        if scenario.prepare is not None:
            scenario.prepare(twin)
        cycle(0)
        twin.record_requests = True
        fault_at, fault_time = twin.clock.elapsed(), twin.clock.now()
        faulted = scenario.inject(twin, zone_restore)

        def open_episodes() -> bool:
            return bool(controller.journal.history(twin.clock.now()).open)

        sampler = Sampler(twin, fault_at, _workloads(twin)).start()
        signal_s = detect_s = None
        finished = False
        while sampler.elapsed() < horizon:
            report = cycle(step)
            at = (report.now - fault_time).total_seconds()
            if signal_s is None and any(s.node in faulted for s in report.detection.signals):
                signal_s = at
            unhealthy = [n for n in faulted if _state(report, n) is HealthState.UNHEALTHY]
            if detect_s is None and unhealthy:
                detect_s = at
            if sampler.whole and all(_node_ready(twin, n) for n in faulted) and not open_episodes():
                finished = True
                break
        sampler.sample()
        history = controller.journal.history(twin.clock.now())
        notes = [
            f"{e.node}: {e.state.value} [" + ", ".join(f"{x.step.value}:{x.outcome.value}" for x in e.entries) + "]"
            for e in history.episodes
        ]
        http, writes = _arm_http(twin)
        return Result(
            scenario.key, "nodewarden", signal_s, detect_s, sampler.restore_s, len(sampler.disrupted),
            len(sampler.violations), tuple(sampler.violations), len(_started(twin, not_caller=AKS_CALLER)),
            http, writes, sampler.elapsed(), finished, tuple(notes), time.perf_counter() - began,
        )  # fmt: skip


def _state(report: CycleReport, node: str) -> HealthState | None:
    health = report.detection.health.get(node)
    return None if health is None else health.state


def run_aks(scenario: Scenario, *, step: float, horizon: float, zone_restore: float) -> Result:
    began = time.perf_counter()
    with _fresh_twin(auto_repair=True) as twin:
        if scenario.prepare is not None:
            scenario.prepare(twin)
        fault_at = twin.clock.elapsed()
        faulted = scenario.inject(twin, zone_restore)
        fault_time = twin.clock.now()
        sampler = Sampler(twin, fault_at, _workloads(twin)).start()
        detect_s = None
        finished = False
        while sampler.elapsed() < horizon:
            twin.advance(step)
            if detect_s is None:
                detect_s = _aks_first_action(twin, fault_time)
            if sampler.whole and all(_node_ready(twin, n) for n in faulted):
                finished = True
                break
        sampler.sample()
        ops = _started(twin, AKS_CALLER)
        notes = [f"{e['operationName']['value'].rsplit('/', 2)[-2]} {e['resourceId'].rsplit('/', 1)[-1]}" for e in ops]
        return Result(
            scenario.key, "aks", None, detect_s, sampler.restore_s, len(sampler.disrupted),
            len(sampler.violations), tuple(sampler.violations), len(ops), None, None, sampler.elapsed(), finished,
            tuple(notes), time.perf_counter() - began,
        )  # fmt: skip


def _aks_first_action(twin: Twin, since: datetime) -> float | None:
    """Seconds from `since` to auto-repair's first Event or Activity Log entry, whichever came first."""
    moments: list[datetime] = []
    for event in twin.world.store.items("events"):
        source = event.get("reportingController") or event.get("reportingComponent") or ""
        source = source or (event.get("source") or {}).get("component", "")
        stamp = event.get("eventTime") or event.get("firstTimestamp") or event.get("lastTimestamp")
        if source == AKS_COMPONENT and stamp:
            moments.append(datetime.fromisoformat(str(stamp).replace("Z", "+00:00")))
    for entry in _started(twin, AKS_CALLER):
        moments.append(datetime.fromisoformat(str(entry["eventTimestamp"]).replace("Z", "+00:00")))
    moments = [m for m in moments if m >= since]
    return None if not moments else (min(moments) - since).total_seconds()


# --- reporting -------------------------------------------------------------------------------------


def _fmt(value: float | int | None, width: int) -> str:
    if value is None:
        return f"{'-':>{width}}"
    return f"{value:>{width}.0f}" if isinstance(value, float) else f"{value:>{width}}"


def render_table(results: Sequence[Result]) -> str:
    head = (
        f"{'scenario':26} {'who':10} {'signal s':>8} {'detect s':>8} {'restore s':>9} {'pods':>5} "
        f"{'PDB viol':>8} {'arm-ops':>7} {'arm-http':>8} {'arm-writes':>10} {'ended s':>7}"
    )
    lines = [head]
    for r in results:
        title = f"{r.scenario} {SCENARIOS[r.scenario].title}"
        lines.append(
            f"{title:26} {r.who:10} {_fmt(r.signal_s, 8)} {_fmt(r.detect_s, 8)} {_fmt(r.restore_s, 9)} "
            f"{r.pods_disrupted:>5} {r.pdb_violations:>8} {r.arm_ops:>7} {_fmt(r.arm_http, 8)} "
            f"{_fmt(r.arm_writes, 10)} {_fmt(r.ended_s, 7)}" + ("" if r.finished else "  (horizon)")
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class Ratio:
    scenario: str
    detect: float | None  # aks / nodewarden; None when either is missing
    restore: float | None
    violations: int

    @property
    def ok(self) -> bool:
        return (
            self.detect is not None
            and self.detect >= RATIO_TARGET
            and self.restore is not None
            and self.restore >= RATIO_TARGET
            and self.violations == 0
        )


def _ratio(aks: float | None, ours: float | None) -> float | None:
    if aks is None or ours is None:
        return None
    if ours <= 0:
        return float("inf") if aks > 0 else 1.0
    return aks / ours


def judge(results: Sequence[Result]) -> list[Ratio]:
    by = {(r.scenario, r.who): r for r in results}
    ratios = []
    for key in dict.fromkeys(r.scenario for r in results):
        ours, aks = by.get((key, "nodewarden")), by.get((key, "aks"))
        if ours is None or aks is None:
            continue
        ratios.append(
            Ratio(key, _ratio(aks.detect_s, ours.detect_s), _ratio(aks.restore_s, ours.restore_s), ours.pdb_violations)
        )
    return ratios


def render_ratios(ratios: Sequence[Ratio]) -> str:
    def show(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1f}x"

    lines = [f"AKS auto-repair alone / nodewarden (target >= {RATIO_TARGET:.0f}x, zero PDB violations):"]
    for r in ratios:
        lines.append(
            f"  {r.scenario} {SCENARIOS[r.scenario].title:24} detect {show(r.detect):>7}  restore {show(r.restore):>7}"
            f"  violations {r.violations}  " + ("met" if r.ok else "MISSED")
        )
    return "\n".join(lines)


def run(keys: Sequence[str], *, step: float, horizon: float, zone_restore: float) -> list[Result]:
    results = []
    for key in keys:
        scenario = SCENARIOS[key]
        results.append(run_nodewarden(scenario, step=step, horizon=horizon, zone_restore=zone_restore))
        results.append(run_aks(scenario, step=step, horizon=horizon, zone_restore=zone_restore))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--scenarios", default="1,2,4,6", help="comma-separated: 1, 2, 4, 6")
    parser.add_argument("--step", type=float, default=5.0, help="twin seconds between controller cycles")
    parser.add_argument("--horizon", type=float, default=3600.0, help="twin seconds after the fault at most")
    parser.add_argument("--zone-restore", type=float, default=1200.0, help="scenario 4: zone back after (s)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--verbose", "-v", action="store_true", help="print each run's episodes / AKS operations")
    args = parser.parse_args(argv)
    keys = [k.strip() for k in args.scenarios.split(",") if k.strip()]
    unknown = [k for k in keys if k not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    results = run(keys, step=args.step, horizon=args.horizon, zone_restore=args.zone_restore)
    print(render_table(results))
    print()
    ratios = judge(results)
    print(render_ratios(ratios))
    if args.verbose:
        for r in results:
            print(f"\n{r.scenario} {r.who} ({r.wall_s:.1f} s wall):")
            for note in (*r.notes, *(f"PDB violation {v}" for v in r.violations)):
                print(f"  {note}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n", encoding="utf-8")
    return 0 if all(r.ok for r in ratios) else 1


if __name__ == "__main__":
    sys.exit(main())
