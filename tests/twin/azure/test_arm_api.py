"""The ARM handler called directly with `Request.build`: paths, LRO headers, paging, errors, throttling."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from nodewarden.twin.azure import ArmApi, AzureState, Identity
from nodewarden.twin.clock import Clock
from nodewarden.twin.http import Request, Response

from .conftest import CLUSTER, NODE_RG, RG, SUB, build_identity

BASE = "https://127.0.0.1:8443"
AKS = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ContainerService/managedClusters/{CLUSTER}"
COMPUTE = f"/subscriptions/{SUB}/resourceGroups/{NODE_RG}/providers/Microsoft.Compute/virtualMachineScaleSets"


class Arm:
    """An ArmApi with a valid bearer token, called like a client would."""

    def __init__(self, state: AzureState, clock: Clock, identity: Identity, **options: Any) -> None:
        self.api = ArmApi(state, clock, identity, **options)
        self.token = identity.issue_token()

    def __call__(
        self, method: str, target: str, body: Any = None, *, version: str | None = "2026-04-01", **headers: str
    ) -> Response:
        if version is not None:
            target += ("&" if "?" in target else "?") + f"api-version={version}"
        raw = b"" if body is None else json.dumps(body).encode()
        sent = {"Authorization": f"Bearer {self.token}", **headers}
        return self.api.handle(Request.build(method, target, sent, raw, BASE))

    def follow(self, url: str) -> Response:
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == BASE
        return self.api.handle(
            Request.build("GET", f"{parts.path}?{parts.query}", {"Authorization": f"Bearer {self.token}"}, b"", BASE)
        )


def _json(response: Response) -> Any:
    return json.loads(response.body)


@pytest.fixture
def identity(clock: Clock) -> Identity:
    return build_identity(clock)


@pytest.fixture
def arm(state: AzureState, clock: Clock, identity: Identity) -> Arm:
    return Arm(state, clock, identity, page_size=4)


def _vmss(state: AzureState, pool: str = "user") -> str:
    return state.pool(pool).vmss_name


def test_the_managed_cluster_reads_like_az_aks_show(arm: Arm) -> None:
    response = arm("GET", AKS)
    assert response.status == 200
    assert response.headers["x-ms-request-id"]
    assert response.headers["x-ms-ratelimit-remaining-subscription-reads"] == "11999"
    cluster = _json(response)
    assert cluster["type"] == "Microsoft.ContainerService/ManagedClusters"
    assert cluster["sku"] == {"name": "Base", "tier": "Standard"}
    properties = cluster["properties"]
    assert properties["nodeResourceGroup"] == NODE_RG
    assert properties["kubernetesVersion"] == "1.33.7"
    profiles = {profile["name"]: profile for profile in properties["agentPoolProfiles"]}
    assert profiles["user"]["count"] == 6
    assert profiles["user"]["availabilityZones"] == ["1", "2", "3"]
    assert profiles["system"]["mode"] == "System"
    assert profiles["system"]["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]
    listed = _json(
        arm("GET", f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ContainerService/managedClusters")
    )
    assert [c["name"] for c in listed["value"]] == [CLUSTER]


def test_unknown_resources_get_arm_404_bodies(arm: Arm) -> None:
    missing = arm("GET", AKS.replace(CLUSTER, "other"))
    assert missing.status == 404
    assert _json(missing)["error"]["code"] == "ResourceNotFound"
    assert _json(arm("GET", f"{AKS}/agentPools/nope"))["error"]["code"] == "ResourceNotFound"
    assert _json(arm("GET", f"{COMPUTE}/nope"))["error"]["code"] == "ResourceNotFound"
    assert _json(arm("GET", AKS.replace(RG, "rg-other")))["error"]["code"] == "ResourceGroupNotFound"
    assert _json(arm("GET", AKS.replace(SUB, "sub-other")))["error"]["code"] == "SubscriptionNotFound"


def test_any_api_version_is_accepted_but_one_is_required(arm: Arm) -> None:
    assert arm("GET", AKS, version="2019-01-01").status == 200
    missing = arm("GET", AKS, version=None)
    assert missing.status == 400
    assert _json(missing)["error"]["code"] == "MissingApiVersionParameter"


def test_requests_without_a_valid_bearer_token_get_401_with_a_challenge(arm: Arm) -> None:
    response = arm.api.handle(Request.build("GET", f"{AKS}?api-version=1", {}, b"", BASE))
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith(
        'Bearer authorization_uri="https://login.microsoftonline.com/'
    )
    assert _json(response)["error"]["code"] == "AuthenticationFailed"
    forged = arm("GET", AKS, Authorization="Bearer abc.def.ghi")
    assert _json(forged)["error"]["code"] == "InvalidAuthenticationToken"


def test_agent_pools_list_get_and_machines_name_the_nodes(arm: Arm, state: AzureState) -> None:
    pools = _json(arm("GET", f"{AKS}/agentPools"))["value"]
    assert [pool["name"] for pool in pools] == ["system", "user"]
    user = _json(arm("GET", f"{AKS}/agentPools/user"))
    assert user["properties"]["count"] == 6
    assert user["properties"]["provisioningState"] == "Succeeded"
    machines = _json(arm("GET", f"{AKS}/agentPools/user/machines"))
    node = state.instances("user")[0]
    assert machines["value"][0]["name"] == node.computer_name
    assert machines["value"][0]["properties"]["resourceId"].endswith(
        f"/virtualMachineScaleSets/{_vmss(state)}/virtualMachines/0"
    )
    assert "nextLink" in machines
    one = _json(arm("GET", f"{AKS}/agentPools/user/machines/{node.computer_name}"))
    assert one["zones"] == ["1"]


def test_a_pool_put_scales_as_a_long_running_put(arm: Arm, state: AzureState, clock: Clock) -> None:
    response = arm("PUT", f"{AKS}/agentPools/system", {"properties": {"count": 5}})
    assert response.status == 200
    assert _json(response)["properties"]["provisioningState"] == "Scaling"
    assert _json(response)["properties"]["count"] == 5
    status_url = response.headers["Azure-AsyncOperation"]
    assert status_url.startswith(
        f"{BASE}/subscriptions/{SUB}/providers/Microsoft.ContainerService/locations/eastus/operations/"
    )
    assert "api-version=2026-04-01" in status_url
    assert int(response.headers["Retry-After"]) >= 1
    assert _json(arm.follow(status_url))["status"] == "InProgress"
    clock.advance(seconds=150)
    done = _json(arm.follow(status_url))
    assert done["status"] == "Succeeded"
    assert done["endTime"] > done["startTime"]
    assert _json(arm("GET", f"{AKS}/agentPools/system"))["properties"]["provisioningState"] == "Succeeded"
    assert len(state.instances("system")) == 5


def test_a_pool_put_changing_count_under_the_autoscaler_is_refused(arm: Arm, state: AzureState) -> None:
    arm("PUT", f"{AKS}/agentPools/user", {"properties": {"enableAutoScaling": True, "minCount": 3, "maxCount": 12}})
    refused = arm("PUT", f"{AKS}/agentPools/user", {"properties": {"count": 9}})
    assert refused.status == 400
    assert _json(refused)["error"]["code"] == "InvalidParameter"


def test_delete_machines_is_a_202_operation_with_a_location_monitor(arm: Arm, state: AzureState, clock: Clock) -> None:
    node = state.instances("user")[2].computer_name
    response = arm("POST", f"{AKS}/agentPools/user/deleteMachines", {"machineNames": [node]})
    assert response.status == 202
    assert response.body == b""
    monitor = response.headers["Location"]
    assert "/operationresults/" in monitor
    assert arm.follow(monitor).status == 202
    clock.advance(seconds=60)
    assert arm.follow(monitor).status == 204
    assert _json(arm("GET", f"{AKS}/agentPools/user"))["properties"]["count"] == 5


def test_scale_sets_are_listed_per_group_and_per_subscription(arm: Arm, state: AzureState) -> None:
    in_group = _json(arm("GET", COMPUTE))["value"]
    everywhere = _json(arm("GET", f"/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachineScaleSets"))["value"]
    assert [v["name"] for v in in_group] == [v["name"] for v in everywhere] == [_vmss(state, "system"), _vmss(state)]
    one = _json(arm("GET", f"{COMPUTE}/{_vmss(state)}"))
    assert one["tags"]["aks-managed-poolName"] == "user"
    assert one["sku"]["capacity"] == 6
    assert one["properties"]["orchestrationMode"] == "Uniform"
    assert one["properties"]["virtualMachineProfile"]["osProfile"]["computerNamePrefix"] == _vmss(state)
    assert _json(arm("GET", COMPUTE.replace(NODE_RG, RG)))["value"] == []


def test_vm_lists_page_with_absolute_next_links_and_expand_instance_view(arm: Arm, state: AzureState) -> None:
    first = _json(arm("GET", f"{COMPUTE}/{_vmss(state)}/virtualMachines?$expand=instanceView"))
    assert [vm["instanceId"] for vm in first["value"]] == ["0", "1", "2", "3"]
    statuses = first["value"][0]["properties"]["instanceView"]["statuses"]
    assert [s["code"] for s in statuses] == ["ProvisioningState/succeeded", "PowerState/running"]
    query = parse_qs(urlsplit(first["nextLink"]).query)
    assert query["$skiptoken"] == ["4"]
    assert query["$expand"] == ["instanceView"]
    assert query["api-version"] == ["2026-04-01"]
    second = _json(arm.follow(first["nextLink"]))
    assert [vm["instanceId"] for vm in second["value"]] == ["4", "5"]
    assert "nextLink" not in second
    plain = _json(arm("GET", f"{COMPUTE}/{_vmss(state)}/virtualMachines"))
    assert "instanceView" not in plain["value"][0]["properties"]


def test_a_single_vm_and_its_instance_view(arm: Arm, state: AzureState) -> None:
    vm = _json(arm("GET", f"{COMPUTE}/{_vmss(state)}/virtualMachines/4"))
    inst = state.instances("user")[4]
    assert vm["name"] == inst.vm_name
    assert vm["zones"] == ["2"]
    assert vm["properties"]["osProfile"]["computerName"] == inst.computer_name
    assert vm["properties"]["latestModelApplied"] is True
    view = _json(arm("GET", f"{COMPUTE}/{_vmss(state)}/virtualMachines/4/instanceView"))
    assert view["computerName"] == inst.computer_name
    missing = arm("GET", f"{COMPUTE}/{_vmss(state)}/virtualMachines/99")
    assert missing.status == 404


@pytest.mark.parametrize("segment", ["restart", "powerOff", "deallocate", "redeploy", "reimage", "reimageall"])
def test_per_instance_actions_are_202_operations_that_finish(
    arm: Arm, state: AzureState, clock: Clock, segment: str
) -> None:
    response = arm("POST", f"{COMPUTE}/{_vmss(state)}/virtualMachines/1/{segment}")
    assert response.status == 202
    status_url = response.headers["Azure-AsyncOperation"]
    assert "/providers/Microsoft.Compute/locations/eastus/operations/" in status_url
    assert "monitor=true" in response.headers["Location"]
    clock.advance(minutes=10)
    assert _json(arm.follow(status_url))["status"] == "Succeeded"
    assert arm.follow(response.headers["Location"]).status == 204


def test_a_vm_delete_and_batch_actions_with_lower_case_poweroff(arm: Arm, state: AzureState, clock: Clock) -> None:
    vmss = _vmss(state)
    assert arm("DELETE", f"{COMPUTE}/{vmss}/virtualMachines/5?forceDeletion=true").status == 202
    batch = arm("POST", f"{COMPUTE}/{vmss}/poweroff?skipShutdown=true", {"instanceIds": ["0", "1"]})
    assert batch.status == 202
    clock.advance(seconds=60)
    assert _json(arm.follow(batch.headers["Azure-AsyncOperation"]))["status"] == "Succeeded"
    codes = [inst.power for inst in state.instances("user")]
    assert codes == ["stopped", "stopped", "running", "running", "running"]
    started = arm("POST", f"{COMPUTE}/{vmss}/start")  # no body: every VM in the set
    clock.advance(seconds=120)
    assert _json(arm.follow(started.headers["Azure-AsyncOperation"]))["status"] == "Succeeded"
    assert {inst.power for inst in state.instances("user")} == {"running"}
    no_ids = arm("POST", f"{COMPUTE}/{vmss}/delete?forceDeletion=false")
    assert no_ids.status == 400
    deleted = arm("POST", f"{COMPUTE}/{vmss}/delete?forceDeletion=false", {"instanceIds": ["3", "4"]})
    clock.advance(seconds=60)
    assert _json(arm.follow(deleted.headers["Azure-AsyncOperation"]))["status"] == "Succeeded"
    assert [inst.instance_id for inst in state.instances("user")] == [0, 1, 2]


def test_an_operation_in_a_zone_outage_ends_failed_with_an_arm_error(arm: Arm, state: AzureState, clock: Clock) -> None:
    state.zone_outage("1")
    response = arm("POST", f"{COMPUTE}/{_vmss(state)}/virtualMachines/0/restart")
    clock.advance(seconds=30)
    status = _json(arm.follow(response.headers["Azure-AsyncOperation"]))
    assert status["status"] == "Failed"
    assert status["error"]["code"] == "ZonalAllocationFailed"
    monitor = arm.follow(response.headers["Location"])
    assert monitor.status == 409
    assert _json(monitor)["error"]["code"] == "ZonalAllocationFailed"


def test_restarting_a_deallocated_vm_is_refused_synchronously(arm: Arm, state: AzureState, clock: Clock) -> None:
    arm("POST", f"{COMPUTE}/{_vmss(state)}/virtualMachines/0/deallocate")
    clock.advance(seconds=60)
    refused = arm("POST", f"{COMPUTE}/{_vmss(state)}/virtualMachines/0/restart")
    assert refused.status == 409
    assert _json(refused)["error"]["code"] == "OperationNotAllowed"


def test_throttling_answers_429_with_retry_after_and_rate_limit_headers(arm: Arm, state: AzureState) -> None:
    state.throttle(True, requests=1, retry_after=3)
    throttled = arm("GET", f"{COMPUTE}/{_vmss(state)}/virtualMachines")
    assert throttled.status == 429
    assert throttled.headers["Retry-After"] == "3"
    assert "HighCostGetVMScaleSet30Min;0" in throttled.headers["x-ms-ratelimit-remaining-resource"]
    error = _json(throttled)["error"]
    assert error["code"] == "OperationNotAllowed"
    assert error["details"][0]["code"] == "TooManyRequests"
    assert error["innererror"] == {"internalErrorCode": "TooManyRequestsReceived"}
    after = arm("GET", f"{COMPUTE}/{_vmss(state)}/virtualMachines")
    assert after.status == 200
    assert after.headers["x-ms-ratelimit-remaining-resource"].startswith("Microsoft.Compute/HighCostGetVMScaleSet3Min;")
    write = arm("POST", f"{COMPUTE}/{_vmss(state)}/virtualMachines/0/restart")
    assert "x-ms-ratelimit-remaining-subscription-writes" in write.headers


def test_arm_errors_fail_a_share_of_requests_with_500_or_503(arm: Arm, state: AzureState) -> None:
    state.arm_errors(1.0)
    failed = arm("GET", AKS)
    assert failed.status in (500, 503)
    assert _json(failed)["error"]["code"] in ("InternalServerError", "ServiceUnavailable")
    state.arm_errors(0.0)
    assert arm("GET", AKS).status == 200


def test_the_activity_log_filters_by_time_group_resource_and_correlation(
    arm: Arm, state: AzureState, clock: Clock
) -> None:
    vmss = _vmss(state)
    arm("POST", f"{COMPUTE}/{vmss}/virtualMachines/0/restart", **{"x-ms-client-request-id": "nw-1"})
    clock.advance(minutes=5)
    arm("PUT", f"{AKS}/agentPools/system", {"properties": {"count": 4}})
    clock.advance(minutes=5)
    path = f"/subscriptions/{SUB}/providers/Microsoft.Insights/eventtypes/management/values"

    def query(extra: str = "") -> list[dict[str, Any]]:
        text = "eventTimestamp ge '2026-11-26T07:00:00Z' and eventTimestamp le '2026-11-26T09:00:00Z'" + extra
        page = _json(arm("GET", f"{path}?$filter={quote(text)}", version="2015-04-01"))
        return list(page["value"])

    everything = query()
    assert [e["status"]["value"] for e in everything] == ["Succeeded", "Started", "Succeeded", "Started"]
    in_node_rg = query(f" and resourceGroupName eq '{NODE_RG}'")
    assert {e["operationName"]["value"] for e in in_node_rg} == {
        "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action"
    }
    assert in_node_rg[0]["httpRequest"] == {"clientRequestId": "nw-1", "clientIpAddress": "127.0.0.1", "method": "POST"}
    assert in_node_rg[0]["caller"] == arm.api.identity.object_id
    assert in_node_rg[0]["claims"]["appid"] == arm.api.identity.client_id
    pool_id = f"{AKS}/agentPools/system"
    assert len(query(f" and resourceUri eq '{pool_id}'")) == 2
    correlation = everything[0]["correlationId"]
    assert {e["correlationId"] for e in query(f" and correlationId eq '{correlation}'")} == {correlation}
    late = "eventTimestamp ge '2026-11-26T08:00:30Z'"
    assert len(_json(arm("GET", f"{path}?$filter={quote(late)}"))["value"]) == 3
    bad = arm("GET", f"{path}?$filter={quote('status eq 1')}")
    assert bad.status == 400


def test_the_activity_log_pages_with_next_links(state: AzureState, clock: Clock, identity: Identity) -> None:
    arm = Arm(state, clock, identity, activity_page_size=3)
    for instance_id in range(3):
        arm("POST", f"{COMPUTE}/{_vmss(state)}/virtualMachines/{instance_id}/restart")
    clock.advance(minutes=3)
    path = f"/subscriptions/{SUB}/providers/Microsoft.Insights/eventtypes/management/values"
    since = quote("eventTimestamp ge '2026-11-26T07:00:00Z'")
    page = _json(arm("GET", f"{path}?$filter={since}"))
    seen = list(page["value"])
    while "nextLink" in page:
        page = _json(arm.follow(page["nextLink"]))
        seen.extend(page["value"])
    assert len(seen) == 6
    assert len({e["eventDataId"] for e in seen}) == 6


def test_advance_on_poll_moves_a_manual_clock_whenever_an_unfinished_operation_is_polled(
    state: AzureState, clock: Clock, identity: Identity
) -> None:
    arm = Arm(state, clock, identity, advance_on_poll=45)
    response = arm("POST", f"{COMPUTE}/{_vmss(state)}/virtualMachines/0/restart")
    assert _json(arm.follow(response.headers["Azure-AsyncOperation"]))["status"] == "InProgress"
    assert _json(arm.follow(response.headers["Azure-AsyncOperation"]))["status"] == "Succeeded"
    assert clock.elapsed() == 90


def test_a_managed_cluster_put_updates_settings_when_its_operation_completes(arm: Arm, clock: Clock) -> None:
    body = {"tags": {"team": "sre"}, "properties": {"autoUpgradeProfile": {"upgradeChannel": "patch"}}}
    response = arm("PUT", AKS, body)
    assert response.status == 200
    assert _json(response)["properties"]["provisioningState"] == "Updating"
    clock.advance(minutes=2)
    cluster = _json(arm("GET", AKS))
    assert cluster["properties"]["provisioningState"] == "Succeeded"
    assert cluster["properties"]["autoUpgradeProfile"] == {"upgradeChannel": "patch"}
    assert cluster["tags"] == {"team": "sre"}
