"""Runs the real controller (caches, journal, executor, events) against a twin on its manual clock.

`step(seconds)` moves twin time, waits until every cache holds exactly what the twin's store holds
(a condition, not a sleep), then runs one controller cycle. Drains and ARM operations that wait do so
on the twin's clock too: the executor sleeps by advancing it, SDK polls advance it (advance_on_poll).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from nodewarden.act.events import CONTROLLER as REPORTER
from nodewarden.connection import Connection, connect
from nodewarden.demo import twin_host
from nodewarden.heal.policy import Policy, parse_policy
from nodewarden.model.remediation import Episode, EpisodeState, Outcome, Step
from nodewarden.notify.notifier import Notifier
from nodewarden.observe.cache import Caches
from nodewarden.runtime.alerts import AlertInbox
from nodewarden.runtime.assemble import Options, controller_for
from nodewarden.runtime.clock import DrivenClock
from nodewarden.runtime.controller import Controller, CycleReport
from nodewarden.runtime.metrics import ControllerMetrics
from nodewarden.runtime.observer import LiveObserver
from nodewarden.twin.azure.activity import ActivityFilter
from nodewarden.twin.service import Twin
from tests.support import twin_transport


def enforce(**spec: Any) -> Policy:
    """The default policy in enforce mode, with `spec` keys replaced (camelCase, as in the YAML)."""
    import yaml

    document = yaml.safe_load(_default_yaml())
    document["spec"].update({"mode": "enforce", **spec})
    return parse_policy(yaml.safe_dump(document), source="test policy")


def _default_yaml() -> str:
    from nodewarden.cli.policy_command import policy_show

    return policy_show(None)


@dataclass
class Harness:
    twin: Twin
    connection: Connection
    controller: Controller
    metrics: ControllerMetrics
    reports: list[CycleReport] = field(default_factory=list)

    def metric(self, name: str, **labels: str) -> float:
        """A sample's value from the controller's /metrics exposition (0 when absent)."""
        for family in text_string_to_metric_families(self.metrics.exposition().decode()):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    return float(sample.value)
        return 0.0

    @property
    def caches(self) -> Caches:
        observer = self.controller.observer
        assert isinstance(observer, LiveObserver)
        return observer.caches

    def settle(self) -> None:
        twin_host.settle(self.twin, self.caches)

    def step(self, seconds: float = 5.0) -> CycleReport:
        if seconds:
            self.twin.advance(seconds)
        self.settle()
        report = self.controller.cycle()
        self.reports.append(report)
        return report

    def run_until(self, done: Callable[[CycleReport], bool], *, within: float, step: float = 5.0) -> CycleReport:
        start = self.twin.clock.now()
        while True:
            report = self.step(step)
            if done(report):
                return report
            elapsed = (self.twin.clock.now() - start).total_seconds()
            assert elapsed <= within, f"not done within {within:g}s of twin time"

    # -- reading the outcome --------------------------------------------------------------------

    def node(self, name: str) -> dict[str, Any]:
        return self.twin.world.store.get("nodes", None, name)

    def nodes(self, pool: str) -> list[str]:
        return sorted(
            n["metadata"]["name"]
            for n in self.twin.world.store.items("nodes")
            if n["metadata"].get("labels", {}).get("kubernetes.azure.com/agentpool") == pool
        )

    def ready(self, name: str) -> bool:
        node = self.twin.world.store.peek("nodes", None, name)
        if node is None:
            return False
        conditions = node.get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def ready_status(self, name: str) -> str:
        conditions = self.node(name).get("status", {}).get("conditions", [])
        return next((c["status"] for c in conditions if c["type"] == "Ready"), "")

    def pods_on(self, name: str) -> list[str]:
        return [p["metadata"]["name"] for p in self.twin.world.store.items("pods") if p["spec"].get("nodeName") == name]

    def renewed_since(self, name: str, moment: datetime) -> bool:
        """The node's kubelet renewed its Lease after `moment` (it is alive again)."""
        lease = self.twin.world.store.peek("leases", "kube-node-lease", name)
        renewed = (lease or {}).get("spec", {}).get("renewTime")
        return bool(renewed) and datetime.fromisoformat(renewed) > moment

    def cordoned(self, name: str) -> bool:
        return bool(self.node(name).get("spec", {}).get("unschedulable"))

    def episodes(self, node: str | None = None) -> list[Episode]:
        history = self.controller.journal.history(self.twin.clock.now())
        return [e for e in history.episodes if node is None or e.node == node]

    def steps(self, node: str) -> list[tuple[Step, Outcome]]:
        return [(e.step, e.outcome) for episode in self.episodes(node) for e in episode.entries]

    def closed(self, node: str, state: EpisodeState) -> bool:
        return any(e.state is state for e in self.episodes(node))

    def events(self, node: str) -> list[tuple[str, str]]:
        """(action, reason) of every Event nodewarden posted about the node, oldest first."""
        found = []
        for event in self.twin.world.store.items("events"):
            regarding = event.get("regarding") or event.get("involvedObject") or {}
            if (
                regarding.get("name") == node
                and (event.get("reportingController") or event.get("reportingComponent")) == REPORTER
            ):
                found.append((event.get("eventTime") or "", event.get("action", ""), event.get("reason", "")))
        return [(action, reason) for _, action, reason in sorted(found)]

    def arm_operations(self, operation: str) -> list[dict[str, Any]]:
        """Activity Log entries for an operation name (e.g. .../virtualMachines/restart/action), started."""
        log = self.twin.azure.activity.query(ActivityFilter())
        return [
            e for e in log
            if e["operationName"]["value"].lower() == operation.lower() and e["status"]["value"] == "Started"
        ]  # fmt: skip


def manual_count(h: Harness, pool: str) -> None:
    """Take the pool off the cluster autoscaler (the twin has none), so its count can be set, as an operator would."""
    azure = h.connection.azure
    assert azure is not None
    target = azure.target
    body = azure.aks.agent_pools.get(target.resource_group, target.cluster_name, pool)
    body.enable_auto_scaling = False
    body.min_count = None
    body.max_count = None
    azure.aks.agent_pools.begin_create_or_update(target.resource_group, target.cluster_name, pool, body).result()


def harness(
    stack: ExitStack, scenario: str, policy: Policy | None = None, *, state_dir: Path, auto_repair: bool | None = None,
    identity: str = "test-controller", twin: Twin | None = None, notifier: Notifier | None = None,
    inbox: AlertInbox | None = None, state: str = "dir", in_process: bool = False,
) -> Harness:  # fmt: skip
    """`in_process`: the twin opens no socket and every client calls its route (tests/support/twin_transport.py)."""
    if twin is None:
        start = twin_transport.twin_in_process if in_process else Twin
        twin = stack.enter_context(start(scenario, advance_on_poll=30, auto_repair=auto_repair))
    connection = connect(twin=twin.state_dir)
    options = Options(apply=True, state_dir=state_dir, identity=identity, state=state)
    metrics = ControllerMetrics()
    controller = stack.enter_context(
        controller_for(
            connection,
            policy or enforce(),
            options,
            clock=DrivenClock(twin),
            metrics=metrics,
            notifier=notifier,
            inbox=inbox,
        )
    )
    return Harness(twin, connection, controller, metrics)


def iterate(h: Harness, seconds: float, step: float = 5.0) -> Iterator[CycleReport]:
    elapsed = 0.0
    while elapsed < seconds:
        elapsed += step
        yield h.step(step)
