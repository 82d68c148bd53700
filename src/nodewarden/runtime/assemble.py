"""Builds the running controller from a connection and options: caches, journal, executor, election, metrics."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from lightkube import Client

from nodewarden.act.events import EventRecorder
from nodewarden.connection import Connection, fenced
from nodewarden.errors import InputError
from nodewarden.heal.policy import Policy
from nodewarden.notify.notifier import Notifier
from nodewarden.observe.cache import Caches
from nodewarden.runtime.alerts import AlertInbox
from nodewarden.runtime.clock import Clock, ServerClock
from nodewarden.runtime.controller import Controller
from nodewarden.runtime.executor import Executor
from nodewarden.runtime.incident_keeper import IncidentKeeper
from nodewarden.runtime.leader import LeaderElector, Renewer, fence
from nodewarden.runtime.metrics import ControllerMetrics
from nodewarden.runtime.observer import REMEDIATION_KINDS, LiveObserver
from nodewarden.state import IncidentRecord, IncidentStore, Journal
from nodewarden.state.cluster import resources as cluster_resources
from nodewarden.state.cluster.incidents import ClusterIncidents
from nodewarden.state.cluster.journal import ClusterJournal
from nodewarden.state.record import RETENTION

SYNC_TIMEOUT = 60.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    apply: bool
    state_dir: Path
    leader_election: bool = True
    lease_namespace: str = "kube-system"
    identity: str = ""
    planning: bool = True  # False: detection and incidents only, no plan, nothing changed
    state: str = "auto"  # where the record lives: "cluster", "dir", or "auto" (`state_backend`)
    retention: timedelta = RETENTION


STATES = ("auto", "cluster", "dir")


def state_backend(choice: str, kube: Client) -> str:
    """Where the record lives: as chosen, or for "auto" the cluster when nodewarden runs in a pod of a cluster
    that serves its CRDs (deploy/crds/), else the state dir."""
    if choice not in STATES:
        raise InputError(f"--state: expected one of {', '.join(STATES)}, found {choice!r}")
    if choice != "auto":
        return choice
    in_cluster = bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
    return "cluster" if in_cluster and cluster_resources.serves(kube) else "dir"


def default_identity() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@contextmanager
def controller_for(
    connection: Connection, policy: Policy, options: Options, *, metrics: ControllerMetrics | None = None,
    clock: Clock | None = None, notifier: Notifier | None = None, inbox: AlertInbox | None = None,
) -> Iterator[Controller]:  # fmt: skip
    """A Controller wired to the live cluster; caches stopped and journal closed on exit."""
    kube = connection.kube
    if kube is None or connection.kube_config is None:
        raise InputError("nodewarden run needs a Kubernetes connection (--kubeconfig or --twin)")
    real_time = clock is None
    with ExitStack() as stack:
        if clock is None:
            server_clock = ServerClock(connection.kube_config)
            stack.callback(server_clock.close)
            server_clock.sync()
            clock = server_clock
        if inbox is not None:
            inbox.follow(clock.now)
        caches = Caches(kube, kinds=REMEDIATION_KINDS).start()
        stack.callback(caches.stop)
        if not caches.wait_synced(SYNC_TIMEOUT):
            failing = "; ".join(f"{c.name}: {c.stats.last_error}" for c in caches.caches.values() if not c.synced)
            raise InputError(f"the Kubernetes caches did not sync within {SYNC_TIMEOUT:g}s ({failing})")
        identity = options.identity or default_identity()
        # The Lease itself is read and written through the unfenced client; every change the controller
        # makes goes through clients that first check it still holds the Lease (connection.fenced).
        elector = (
            LeaderElector(kube, namespace=options.lease_namespace, identity=identity)
            if options.leader_election
            else None
        )
        acting = connection
        if elector is not None:
            acting = fenced(connection, fence(elector, clock))
            if acting.kube is not None:
                stack.callback(acting.kube.close)
            if real_time:  # on a driven clock time moves only between calls: the fence renews on demand
                stack.callback(Renewer(elector, clock.sync).start().stop)
        assert acting.kube is not None
        journal, store = _record(options, kube, acting.kube)
        stack.callback(journal.close)
        keeper = IncidentKeeper(
            journal, store, notifier=notifier, metrics=metrics, inbox=inbox, retention=options.retention
        )
        stack.callback(keeper.close)
        recorder = EventRecorder(acting.kube, instance=identity, now=clock.now)
        executor = Executor(acting, journal, clock, recorder=recorder, elector=elector)
        controller = Controller(
            observer=LiveObserver(connection, caches), journal=journal, executor=executor, policy=policy,
            clock=clock, apply=options.apply, elector=elector, metrics=metrics, recorder=recorder,
            on_cycle=keeper.update, planning=options.planning, retention=options.retention,
        )  # fmt: skip
        try:
            yield controller
        finally:
            if elector is not None and elector.is_leader:
                elector.release(clock.now())


def _record(options: Options, kube: Client, acting: Client) -> tuple[Journal, IncidentRecord]:
    """The journal and incident store for `options.state`. In the cluster both write through the fenced client
    (`acting`), so only the Lease holder changes the record; in a dir the incidents share the journal's file."""
    if state_backend(options.state, kube) == "cluster":
        log.info("record", extra={"state": "cluster", "local": str(options.state_dir)})
        return ClusterJournal.open_in(options.state_dir, acting), ClusterIncidents(acting)
    journal = Journal.open(options.state_dir)
    return journal, IncidentStore(journal)  # one connection for the journal and the incidents in its file
