"""The in-process transports to the twin (tests/support/twin_transport.py): real clients, the twin's route, no
socket. Each answer must be what the HTTPS server (src/nodewarden/twin/server.py) would have sent."""

from __future__ import annotations

import email.utils
import socket
import urllib.parse
from collections.abc import Iterator

import httpx2
import pytest
from azure.core.exceptions import ServiceRequestError
from azure.identity import ClientSecretCredential
from azure.mgmt.containerservice import ContainerServiceClient
from lightkube.core.exceptions import ApiError
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, Node

from nodewarden.connection import connect
from nodewarden.runtime.clock import ServerClock
from nodewarden.runtime.observer import scheduled_events
from nodewarden.twin.http import Request, Response
from nodewarden.twin.service import Twin
from tests.support.twin_transport import AzureTwinTransport, TwinTransport, kube_client, kube_config, twin_in_process


@pytest.fixture
def twin() -> Iterator[Twin]:
    """A twin that opens no socket; only the transports under test reach it."""
    running = Twin("small", advance_on_poll=30).start(listen=False)
    try:
        yield running
    finally:
        running.stop()


def test_a_get_reaches_the_route_and_answers_with_the_twins_date(twin: Twin) -> None:
    twin.advance(3600)
    transport = TwinTransport(twin.route, clock=twin.clock)
    with httpx2.Client(transport=transport, base_url=twin.base_url) as client:
        response = client.get("/api/v1/nodes", headers={"Authorization": f"Bearer {twin.admin_token}"})
    assert response.status_code == 200
    names = {item["metadata"]["name"] for item in response.json()["items"]}
    assert names == {node["metadata"]["name"] for node in twin.world.store.items("nodes")}
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert email.utils.parsedate_to_datetime(response.headers["Date"]) == twin.now().replace(microsecond=0)


def test_a_post_carries_its_body_to_the_twin(twin: Twin) -> None:
    with kube_client(twin) as client:
        created = client.create(Namespace(metadata=ObjectMeta(name="team-a", labels={"owner": "alice"})))
    stored = twin.world.store.get("namespaces", None, "team-a")
    assert stored["metadata"]["labels"]["owner"] == "alice"
    assert created.metadata is not None
    assert created.metadata.resourceVersion == stored["metadata"]["resourceVersion"]


def test_a_missing_object_is_a_404_with_a_status_body(twin: Twin) -> None:
    with kube_client(twin) as client, pytest.raises(ApiError) as raised:
        client.get(Node, "no-such-node")
    assert (raised.value.status.code, raised.value.status.reason) == (404, "NotFound")
    transport = TwinTransport(twin.route, clock=twin.clock)
    with httpx2.Client(transport=transport, base_url=twin.base_url) as client:
        body = client.get("/api/v1/nodes/no-such-node", headers={"Authorization": f"Bearer {twin.admin_token}"})
    assert (body.status_code, body.json()["kind"], body.json()["code"]) == (404, "Status", 404)


def test_lightkube_reads_a_watch_as_it_streams(twin: Twin) -> None:
    with kube_client(twin) as client:
        names = [str(node["metadata"]["name"]) for node in twin.world.store.items("nodes")]
        events = client.watch(Node)
        initial = [next(events) for _ in names]
        assert {(kind, obj.metadata.name if obj.metadata else None) for kind, obj in initial} == {
            ("ADDED", name) for name in names
        }
        # The stream is still open: a change made now arrives as the next chunk.
        client.patch(Node, names[0], {"spec": {"unschedulable": True}})
        kind, changed = next(events)
    assert (kind, changed.metadata.name if changed.metadata else None) == ("MODIFIED", names[0])
    assert changed.spec is not None
    assert changed.spec.unschedulable is True


def test_a_route_that_raises_is_the_servers_500() -> None:
    def broken(request: Request) -> Response:
        raise KeyError(request.path)

    with httpx2.Client(transport=TwinTransport(broken), base_url="https://twin.test") as client:
        response = client.get("/api/v1/nodes")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "TwinInternalError"


def test_the_azure_sdk_signs_in_reads_and_changes_arm_through_the_azure_transport(twin: Twin) -> None:
    settings = twin.azure_config()
    transport = AzureTwinTransport(twin.route, clock=twin.clock)
    credential = ClientSecretCredential(
        settings["tenantId"], settings["clientId"], settings["clientSecret"], authority=settings["authority"],
        disable_instance_discovery=True, transport=transport,
    )  # fmt: skip
    aks = ContainerServiceClient(credential, settings["subscriptionId"], base_url=twin.base_url, transport=transport)
    group, cluster = settings["resourceGroup"], settings["clusterName"]
    pool = aks.agent_pools.get(group, cluster, "apps")
    pool.enable_auto_scaling = False
    pool.min_count = pool.max_count = None
    pool.count = 10
    done = aks.agent_pools.begin_create_or_update(group, cluster, "apps", pool).result()
    assert (done.count, done.enable_auto_scaling) == (10, False)
    assert aks.agent_pools.get(group, cluster, "apps").count == 10


def test_in_process_routes_the_products_own_clients_and_opens_no_socket(socketless_twin: Twin) -> None:
    twin = socketless_twin
    twin.record_requests = True
    connection = connect(twin=twin.state_dir)
    assert connection.kube is not None
    assert connection.azure is not None
    target = connection.azure.target
    nodes = list(connection.kube.list(Node))
    pools = list(connection.azure.aks.agent_pools.list(target.resource_group, target.cluster_name))
    events = scheduled_events(connection.azure)
    port = urllib.parse.urlsplit(twin.base_url).port
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert len(nodes) == len(twin.world.store.items("nodes"))
    assert {p.name for p in pools} == {"system", "apps"}
    assert events["Events"] == []
    paths = {path for _, path, _ in twin.requests}
    assert {"/api/v1/nodes", "/metadata/scheduledevents"} <= paths
    assert any(path.endswith("/agentPools") for path in paths)


def test_in_process_gives_the_controllers_server_clock_the_twins_date(socketless_twin: Twin) -> None:
    """`ServerClock` builds its httpx2 client with lightkube's `client_adapter.Client`, not through a lightkube
    Client; a seam that missed it would leave it on local time without an error (runtime/clock.py)."""
    socketless_twin.advance(7200)
    clock = ServerClock(kube_config(socketless_twin))
    try:
        assert clock.sync() == socketless_twin.now().replace(microsecond=0)
    finally:
        clock.close()


def test_clients_left_running_after_the_twin_stopped_are_refused_as_by_a_closed_socket() -> None:
    """An ARM poller or a watch that outlives its test must fail, as it does once the HTTPS server is gone,
    rather than keep calling the stopped twin in the background for the rest of the session."""
    with twin_in_process("small") as twin:
        connection = connect(twin=twin.state_dir)
        assert connection.kube is not None
        assert connection.azure is not None
        target = connection.azure.target
        connection.kube.get(Node, twin.world.store.items("nodes")[0]["metadata"]["name"])
        connection.azure.aks.agent_pools.get(target.resource_group, target.cluster_name, "apps")
    with pytest.raises(httpx2.ConnectError):
        connection.kube.get(Node, "any")
    with pytest.raises(ServiceRequestError):
        connection.azure.aks.agent_pools.get(target.resource_group, target.cluster_name, "apps")
