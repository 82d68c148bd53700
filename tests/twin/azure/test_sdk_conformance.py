"""The real Azure SDKs against the twin over HTTPS: azure-identity, azure-mgmt-compute, azure-mgmt-containerservice.

SDK pollers wait in real time while the twin's time is virtual. Most tests run the twin's clock in
speed mode (600× real time: a 90 s restart takes 0.15 s); one runs a manual clock that the ARM
handler advances whenever an unfinished operation is polled (`advance_on_poll`). LROs answer
`Retry-After: 1`, so each long-running call costs about a second of real time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.rest import HttpRequest
from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice.models import AgentPoolDeleteMachinesParameter

from nodewarden.twin.azure import ArmApi, AzureState
from nodewarden.twin.clock import Clock
from nodewarden.twin.http import Request, Response
from nodewarden.twin.server import HttpsServer

from .conftest import CLIENT_ID, CLUSTER, NODE_RG, RG, SECRET, SUB, TENANT, build_identity, build_state


@dataclass
class Twin:
    clock: Clock
    state: AzureState
    api: ArmApi
    server: HttpsServer
    requests: list[Request] = field(default_factory=list)

    def route(self, request: Request) -> Response:
        self.requests.append(request)
        return self.api.handle(request)

    def credential(self, secret: str = SECRET) -> ClientSecretCredential:
        return ClientSecretCredential(
            TENANT,
            CLIENT_ID,
            secret,
            authority=self.server.base_url.removeprefix("https://"),
            disable_instance_discovery=True,
            connection_verify=str(self.server.ca_path),
        )

    def compute(self, *, retry_total: int = 10) -> ComputeManagementClient:
        return ComputeManagementClient(
            self.credential(),
            SUB,
            base_url=self.server.base_url,
            connection_verify=str(self.server.ca_path),
            polling_interval=0.05,
            retry_total=retry_total,
        )

    def aks(self) -> ContainerServiceClient:
        return ContainerServiceClient(
            self.credential(),
            SUB,
            base_url=self.server.base_url,
            connection_verify=str(self.server.ca_path),
            polling_interval=0.05,
        )

    @property
    def vmss(self) -> str:
        return self.state.pool("user").vmss_name


def _serve(clock: Clock, *, advance_on_poll: float = 0.0, enforce_expiry: bool = False) -> Iterator[Twin]:
    state = build_state(clock)
    # Speed mode races virtual time far ahead of the SDK's real-time token cache: judge no expiry by default.
    identity = build_identity(clock, enforce_expiry=enforce_expiry)
    api = ArmApi(state, clock, identity, page_size=4, advance_on_poll=advance_on_poll)
    holder: list[Twin] = []
    server = HttpsServer(lambda request: holder[0].route(request), clock=clock)
    twin = Twin(clock, state, api, server)
    holder.append(twin)
    server.start()
    clock.start()
    try:
        yield twin
    finally:
        clock.stop()
        server.stop()


@pytest.fixture
def twin() -> Iterator[Twin]:
    yield from _serve(Clock(speed=600))


def test_client_secret_credential_gets_a_token_from_the_twin_and_a_wrong_secret_is_refused(twin: Twin) -> None:
    token = twin.credential().get_token("https://management.azure.com/.default")
    assert token.token.count(".") == 2
    paths = [request.path for request in twin.requests]
    assert paths == [f"/{TENANT}/v2.0/.well-known/openid-configuration", f"/{TENANT}/oauth2/v2.0/token"]
    with pytest.raises(ClientAuthenticationError, match=r"invalid_client|AADSTS7000215"):
        twin.credential("wrong").get_token("https://management.azure.com/.default")


def test_compute_lists_instance_views_across_a_next_link_page(twin: Twin) -> None:
    vms = list(twin.compute().virtual_machine_scale_set_vms.list(NODE_RG, twin.vmss, expand="instanceView"))
    assert [vm.instance_id for vm in vms] == ["0", "1", "2", "3", "4", "5"]
    assert vms[5].instance_view is not None
    assert [status.code for status in vms[5].instance_view.statuses or []] == [
        "ProvisioningState/succeeded",
        "PowerState/running",
    ]
    assert vms[5].zones == ["3"]
    assert vms[5].latest_model_applied is True
    pages = [r for r in twin.requests if r.path.endswith("/virtualMachines")]
    assert [r.arg("$skiptoken") for r in pages] == [None, "4"]
    assert all(r.arg("$expand") == "instanceView" for r in pages)


def test_compute_reads_scale_sets_and_single_instance_views(twin: Twin) -> None:
    compute = twin.compute()
    sets = list(compute.virtual_machine_scale_sets.list(NODE_RG))
    assert [s.name for s in sets] == [twin.state.pool("system").vmss_name, twin.vmss]
    assert sets[1].tags == {**(sets[1].tags or {}), "aks-managed-poolName": "user"}
    assert sets[1].sku is not None
    assert sets[1].sku.capacity == 6
    assert len(list(compute.virtual_machine_scale_sets.list_all())) == 2
    view = compute.virtual_machine_scale_set_vms.get_instance_view(NODE_RG, twin.vmss, "2")
    assert view.computer_name == twin.state.instances("user")[2].computer_name


def test_a_restart_runs_to_completion_through_the_sdk_poller(twin: Twin) -> None:
    poller = twin.compute().virtual_machine_scale_set_vms.begin_restart(NODE_RG, twin.vmss, "1")
    assert poller.result() is None
    assert poller.status() == "Succeeded"
    log = twin.state.activity_log()
    assert [entry["status"]["value"] for entry in log] == ["Succeeded", "Started"]
    assert log[0]["caller"] == twin.api.identity.object_id
    assert twin.state.instances("user")[1].power == "running"


def test_a_batch_delete_sends_instance_ids_and_completes(twin: Twin) -> None:
    compute = twin.compute()
    compute.virtual_machine_scale_sets.begin_delete_instances(
        NODE_RG, twin.vmss, {"instanceIds": ["4", "5"]}, force_deletion=False
    ).result()
    assert [inst.instance_id for inst in twin.state.instances("user")] == [0, 1, 2, 3]


def test_an_operation_that_fails_in_a_zone_outage_raises_http_response_error(twin: Twin) -> None:
    twin.state.zone_outage("1")
    poller = twin.compute().virtual_machine_scale_set_vms.begin_reimage(NODE_RG, twin.vmss, "0")
    with pytest.raises(HttpResponseError) as failed:
        poller.result()
    assert failed.value.error is not None
    assert failed.value.error.code == "ZonalAllocationFailed"


def test_a_429_is_retried_by_the_sdk_retry_policy_and_surfaces_when_retries_are_off(twin: Twin) -> None:
    twin.state.throttle(True, requests=1, retry_after=1)
    scale_set = twin.compute().virtual_machine_scale_sets.get(NODE_RG, twin.vmss)
    assert scale_set.name == twin.vmss
    gets = [r for r in twin.requests if r.path.endswith(twin.vmss)]
    assert len(gets) == 2

    twin.state.throttle(True, requests=1, retry_after=1)
    with pytest.raises(HttpResponseError) as throttled:
        twin.compute(retry_total=0).virtual_machine_scale_sets.get(NODE_RG, twin.vmss)
    assert throttled.value.status_code == 429
    assert throttled.value.error is not None
    assert throttled.value.error.code == "OperationNotAllowed"
    response = cast(Any, throttled.value.response)
    assert response.headers["Retry-After"] == "1"


def test_container_service_reads_the_cluster_and_scales_a_pool_with_a_put(twin: Twin) -> None:
    aks = twin.aks()
    cluster = aks.managed_clusters.get(RG, CLUSTER)
    assert cluster.node_resource_group == NODE_RG
    assert [p.name for p in cluster.agent_pool_profiles or []] == ["system", "user"]
    assert [p.name for p in aks.agent_pools.list(RG, CLUSTER)] == ["system", "user"]
    pool = aks.agent_pools.get(RG, CLUSTER, "system")
    pool.count = 5
    scaled = aks.agent_pools.begin_create_or_update(RG, CLUSTER, "system", pool).result()
    assert scaled.count == 5
    assert scaled.provisioning_state == "Succeeded"
    assert len(twin.state.instances("system")) == 5


def test_container_service_lists_machines_and_deletes_one(twin: Twin) -> None:
    aks = twin.aks()
    machines = list(aks.machines.list(RG, CLUSTER, "user"))
    assert [m.name for m in machines] == [inst.computer_name for inst in twin.state.instances("user")]
    assert machines[0].properties is not None
    assert machines[0].properties.resource_id is not None
    assert machines[0].properties.resource_id.endswith(f"{twin.vmss}/virtualMachines/0")
    doomed = machines[0].name
    assert doomed is not None
    aks.agent_pools.begin_delete_machines(
        RG, CLUSTER, "user", AgentPoolDeleteMachinesParameter(machine_names=[doomed])
    ).result()
    assert aks.agent_pools.get(RG, CLUSTER, "user").count == 5


def test_the_activity_log_is_served_at_the_insights_path(twin: Twin) -> None:
    compute = twin.compute()
    compute.virtual_machine_scale_set_vms.begin_deallocate(NODE_RG, twin.vmss, "3", polling=False)
    start = twin.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    url = (
        f"/subscriptions/{SUB}/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01"
        f"&$filter=eventTimestamp ge '2026-11-26T00:00:00Z' and eventTimestamp le '{start[:4]}-12-31T00:00:00Z' "
        f"and resourceGroupName eq '{NODE_RG}'"
    )
    response = compute.send_request(HttpRequest("GET", url))
    response.raise_for_status()
    entries = response.json()["value"]
    assert entries[-1]["operationName"]["value"].endswith("/virtualMachines/deallocate/action")
    assert entries[-1]["status"]["value"] == "Started"


def test_a_manual_clock_advanced_by_polls_lets_the_sdk_poller_finish() -> None:
    clock = Clock()
    for twin in _serve(clock, advance_on_poll=180):
        twin.compute().virtual_machine_scale_set_vms.begin_redeploy(NODE_RG, twin.vmss, "2").result()
        assert clock.elapsed() == 360  # ARM reports running at 330 s: two polls of 180 s


def test_a_token_expired_in_twin_time_is_refused_with_a_401_the_sdk_surfaces() -> None:
    clock = Clock()
    for twin in _serve(clock, enforce_expiry=True):
        compute = twin.compute()
        assert compute.virtual_machine_scale_sets.get(NODE_RG, twin.vmss).name == twin.vmss
        clock.advance(minutes=61)  # the SDK still caches the token: it counts real time
        with pytest.raises(ClientAuthenticationError) as refused:
            compute.virtual_machine_scale_sets.get(NODE_RG, twin.vmss)
        assert refused.value.status_code == 401
        assert refused.value.error is not None
        assert refused.value.error.code == "ExpiredAuthenticationToken"
