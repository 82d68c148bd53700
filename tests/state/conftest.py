"""The two record backends, one contract: each test here runs against the SQLite journal in a state dir and
against the NodeRemediation and Incident objects in a twin's API server (deploy/crds/ installed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from lightkube import Client, codecs

from nodewarden.connection import connect
from nodewarden.state import IncidentStore, Journal
from nodewarden.state.cluster.incidents import ClusterIncidents
from nodewarden.state.cluster.journal import ClusterJournal
from nodewarden.state.cluster.resources import IncidentResource, NodeRemediation
from nodewarden.twin.service import Twin

CRDS = Path(__file__).resolve().parents[2] / "deploy" / "crds"
CRD_FILES = sorted(CRDS / name for name in yaml.safe_load((CRDS / "kustomization.yaml").read_text())["resources"])
BACKENDS = ["dir", "cluster"]

OpenJournal = Callable[[], Journal]  # another replica's view of the same record, opened now


def install_crds(kube: Client) -> None:
    """kubectl apply -k deploy/crds/, through lightkube (every file its kustomization.yaml lists)."""
    for path in CRD_FILES:
        for crd in codecs.load_all_yaml(path.read_text(encoding="utf-8")):
            kube.create(crd)


@pytest.fixture(scope="module")
def cluster_twin() -> Iterator[Twin]:
    with Twin("small") as twin:
        kube = connect(twin=twin.state_dir).kube
        assert kube is not None
        install_crds(kube)
        yield twin


def _empty(kube: Client) -> None:
    for resource in (NodeRemediation, IncidentResource):
        for obj in list(kube.list(resource)):
            assert obj.metadata is not None
            assert obj.metadata.name is not None
            kube.delete(resource, obj.metadata.name)


@pytest.fixture
def kube_of(cluster_twin: Twin) -> Iterator[Callable[[], Client]]:
    """A new client on the twin for each replica; the record starts empty for each test."""
    clients: list[Client] = []

    def new() -> Client:
        kube = connect(twin=cluster_twin.state_dir).kube
        assert kube is not None
        clients.append(kube)
        return kube

    _empty(new())
    yield new
    for kube in clients:
        kube.close()


@pytest.fixture(params=BACKENDS)
def open_journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenJournal]:
    """Opens a journal on the one record of this test; each call is another replica (its own local dir)."""
    opened: list[Journal] = []

    def open_dir() -> Journal:
        opened.append(Journal.open(tmp_path / "state"))
        return opened[-1]

    factory = open_dir
    if request.param == "cluster":
        new_kube: Callable[[], Client] = request.getfixturevalue("kube_of")

        def open_cluster() -> Journal:
            opened.append(ClusterJournal.open_in(tmp_path / f"replica-{len(opened)}", new_kube()))
            return opened[-1]

        factory = open_cluster
    yield factory
    for journal in opened:
        journal.close()


@pytest.fixture
def journal(open_journal: OpenJournal) -> Journal:
    return open_journal()


OpenIncidents = Callable[[], IncidentStore | ClusterIncidents]


@pytest.fixture(params=BACKENDS)
def open_incidents(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenIncidents]:
    """Opens an incident store on the one record of this test; each call is another process."""
    opened: list[IncidentStore] = []

    def open_dir() -> IncidentStore:
        opened.append(IncidentStore.open(tmp_path / "state"))
        return opened[-1]

    if request.param == "dir":
        yield open_dir
    else:
        new_kube: Callable[[], Client] = request.getfixturevalue("kube_of")
        yield lambda: ClusterIncidents(new_kube())
    for store in opened:
        store.close()
