"""The whole twin through the real clients, on a manual clock: the issue's physics scenarios.

lightkube reads the Kubernetes side, azure-mgmt-compute drives the Azure side, and time moves only
when the test advances it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient
from lightkube import Client, KubeConfig
from lightkube.resources.core_v1 import Node, Pod

from nodewarden.twin.service import Twin


@pytest.fixture
def twin() -> Iterator[Twin]:
    with Twin("small", advance_on_poll=30) as running:
        yield running


@pytest.fixture
def kube(twin: Twin) -> Client:
    return Client(KubeConfig.from_file(str(twin.kubeconfig_path)))


def _compute(twin: Twin) -> tuple[ComputeManagementClient, dict[str, str]]:
    config = json.loads((twin.state_dir / "azure.json").read_text())
    credential = ClientSecretCredential(
        config["tenantId"],
        config["clientId"],
        config["clientSecret"],
        authority=config["authority"],
        disable_instance_discovery=True,
        connection_verify=config["caBundle"],
    )
    client = ComputeManagementClient(
        credential,
        config["subscriptionId"],
        base_url=config["armEndpoint"],
        connection_verify=config["caBundle"],
        polling_interval=0.01,
    )
    return client, config


def _vm(twin: Twin, config: dict[str, str], node: str) -> tuple[str, str, str]:
    """(resource group, scale set, instance id) of the instance under `node`, as the compute SDK takes them."""
    instance = twin.azure.instance(node)
    return config["nodeResourceGroup"], instance.pool.vmss_name, str(instance.instance_id)


def _name(obj: Node | Pod) -> str:
    assert obj.metadata is not None
    assert obj.metadata.name is not None
    return obj.metadata.name


def _taint_keys(kube: Client, name: str) -> set[str]:
    spec = kube.get(Node, name).spec
    return {t.key for t in (spec.taints if spec and spec.taints else [])}


def _zone(node: Node) -> str:
    assert node.metadata is not None
    return str((node.metadata.labels or {})["topology.kubernetes.io/zone"])


def _ready(kube: Client, name: str) -> str:
    node = kube.get(Node, name)
    conditions = node.status.conditions if node.status and node.status.conditions else []
    return next(c.status for c in conditions if c.type == "Ready")


def _busy_apps_node(kube: Client) -> str:
    """An apps node with pods on it."""
    counts: dict[str, int] = {}
    for pod in kube.list(Pod, namespace="*"):
        if pod.spec and pod.spec.nodeName and "-apps-" in pod.spec.nodeName:
            counts[pod.spec.nodeName] = counts.get(pod.spec.nodeName, 0) + 1
    return max(counts, key=lambda name: counts[name])


def _running_pods(kube: Client) -> dict[str, str]:
    """Running pods that are not being deleted, by name, with their node."""
    return {
        _name(pod): pod.spec.nodeName
        for pod in kube.list(Pod, namespace="*")
        if pod.metadata
        and not pod.metadata.deletionTimestamp
        and pod.spec
        and pod.status
        and pod.status.phase == "Running"
        and pod.spec.nodeName
    }


def test_the_small_scenario_starts_with_every_node_ready_and_every_pod_running(twin: Twin, kube: Client) -> None:
    nodes = list(kube.list(Node))
    assert len(nodes) == 12
    assert all(_ready(kube, _name(n)) == "True" for n in nodes)
    assert len(_running_pods(kube)) == 14


def test_a_crash_makes_the_node_unknown_after_the_grace_period_and_its_pods_move_after_300_s(
    twin: Twin, kube: Client
) -> None:
    victim = _busy_apps_node(kube)
    before = _running_pods(kube)
    twin.inject("instance-crash", target=victim)
    twin.advance(30)
    assert _ready(kube, victim) == "True"  # the lease is younger than the 50 s grace period
    twin.advance(40)
    assert _ready(kube, victim) == "Unknown"
    assert "node.kubernetes.io/unreachable" in _taint_keys(kube, victim)
    assert victim in _running_pods(kube).values()  # pods stay until the NoExecute toleration runs out
    twin.advance(310)
    # The taint manager deletes them; with the kubelet gone they stay Terminating (as in Kubernetes),
    # while their controllers start replacements elsewhere. A StatefulSet waits for its pod to be gone.
    on_victim = [p for p in kube.list(Pod, namespace="*") if p.spec and p.spec.nodeName == victim]
    assert on_victim
    assert all(p.metadata and p.metadata.deletionTimestamp for p in on_victim)
    stateful = sum(1 for p in on_victim if p.metadata and p.metadata.name and p.metadata.name.startswith("db-"))
    after = _running_pods(kube)
    assert victim not in after.values()
    assert len(after) == len(before) - stateful


def test_a_restart_through_the_compute_sdk_brings_a_crashed_node_back(twin: Twin, kube: Client) -> None:
    victim = _busy_apps_node(kube)
    twin.inject("instance-crash", target=victim)
    twin.advance(70)
    assert _ready(kube, victim) == "Unknown"
    compute, config = _compute(twin)
    compute.virtual_machine_scale_set_vms.begin_restart(*_vm(twin, config, victim)).result()
    twin.advance(60)
    assert _ready(kube, victim) == "True"
    assert "node.kubernetes.io/unreachable" not in _taint_keys(kube, victim)


def test_a_zone_outage_touches_only_that_zone(twin: Twin, kube: Client) -> None:
    twin.inject("zone-outage", target="westeurope-2")
    twin.advance(70)
    by_zone: dict[str, set[str]] = {}
    for node in kube.list(Node):
        by_zone.setdefault(_zone(node), set()).add(_ready(kube, _name(node)))
    assert by_zone == {"westeurope-1": {"True"}, "westeurope-2": {"Unknown"}, "westeurope-3": {"True"}}


def test_a_bad_image_keeps_a_reimaged_node_not_ready(twin: Twin, kube: Client) -> None:
    victim = _busy_apps_node(kube)
    twin.inject("bad-image", target="apps")
    compute, config = _compute(twin)
    compute.virtual_machine_scale_set_vms.begin_reimage(*_vm(twin, config, victim)).result()
    twin.advance(600)
    assert _ready(kube, victim) == "False"
    assert all(_ready(kube, _name(n)) == "True" for n in kube.list(Node) if _name(n) != victim)


@pytest.mark.parametrize(("given", "on"), [("false", False), ("off", False), ("true", True), (False, False)])
def test_bad_image_takes_on_as_the_command_line_spells_it(twin: Twin, given: object, on: bool) -> None:
    twin.inject("bad-image", target="apps", on=given)
    assert twin.azure.pool("apps").bad_image is on


def test_a_kubelet_hang_leaves_the_instance_running(twin: Twin, kube: Client) -> None:
    victim = _busy_apps_node(kube)
    twin.inject("kubelet-hang", target=victim)
    twin.advance(70)
    assert _ready(kube, victim) == "Unknown"
    compute, config = _compute(twin)
    view = compute.virtual_machine_scale_set_vms.get_instance_view(*_vm(twin, config, victim))
    assert "PowerState/running" in {s.code for s in view.statuses or []}


def test_an_unknown_fault_or_target_is_refused_clearly(twin: Twin) -> None:
    from nodewarden.twin.faults import FaultError

    with pytest.raises(FaultError, match="no fault 'meteor'"):
        twin.inject("meteor")
    with pytest.raises(FaultError, match="needs --target"):
        twin.inject("instance-crash")
    with pytest.raises(FaultError, match="no zone"):
        twin.inject("zone-outage", target="westeurope-9")


def _condition(kube: Client, name: str, kind: str) -> str | None:
    node = kube.get(Node, name)
    conditions = node.status.conditions if node.status and node.status.conditions else []
    return next((c.status for c in conditions if c.type == kind), None)


def test_disk_pressure_survives_a_restart_but_not_a_reimage(twin: Twin, kube: Client) -> None:
    victim = _busy_apps_node(kube)
    twin.inject("disk-pressure", target=victim)
    twin.advance(10)
    assert _condition(kube, victim, "DiskPressure") == "True"
    twin.azure.act("restart", victim)
    twin.advance(120)
    assert _ready(kube, victim) == "True"
    assert _condition(kube, victim, "DiskPressure") == "True"  # a full disk is still full after a reboot
    twin.azure.act("reimage", victim)
    twin.advance(300)
    assert _ready(kube, victim) == "True"
    assert _condition(kube, victim, "DiskPressure") == "False"


def _imds(twin: Twin, method: str, path: str, body: bytes | None = None, metadata: bool = True) -> tuple[int, bytes]:
    import http.client
    import ssl

    connection = http.client.HTTPSConnection(
        "127.0.0.1", int(twin.base_url.rsplit(":", 1)[1]), context=ssl.create_default_context(cafile=str(twin.ca_path))
    )
    connection.request(method, path, body=body, headers={"Metadata": "true"} if metadata else {})
    response = connection.getresponse()
    return response.status, response.read()


def test_planned_maintenance_posts_a_scheduled_event_then_reboots_at_not_before(twin: Twin, kube: Client) -> None:
    victim = _busy_apps_node(kube)
    twin.inject("planned-maintenance", target=victim, not_before_seconds=900)
    status, body = _imds(twin, "GET", f"/metadata/scheduledevents?api-version=2020-07-01&vm={victim}")
    assert status == 200
    events = json.loads(body)["Events"]
    assert [e["EventType"] for e in events] == ["Reboot"]
    assert events[0]["EventStatus"] == "Scheduled"
    assert events[0]["NotBefore"]
    assert _imds(twin, "GET", "/metadata/scheduledevents", metadata=False)[0] == 400
    twin.advance(800)
    assert _ready(kube, victim) == "True"  # nothing happens before NotBefore
    twin.advance(165)
    assert _ready(kube, victim) == "Unknown"  # the platform reboot began at NotBefore (t = 900 s)
    twin.advance(60)
    assert _ready(kube, victim) == "True"


def test_a_scheduled_event_can_be_approved_early_through_imds(twin: Twin, kube: Client) -> None:
    victim = _busy_apps_node(kube)
    twin.inject("planned-maintenance", target=victim, not_before_seconds=900)
    event_id = json.loads(_imds(twin, "GET", f"/metadata/scheduledevents?vm={victim}")[1])["Events"][0]["EventId"]
    body = json.dumps({"StartRequests": [{"EventId": event_id}]}).encode()
    assert _imds(twin, "POST", "/metadata/scheduledevents", body)[0] == 200
    twin.advance(70)
    assert _ready(kube, victim) == "Unknown"  # the reboot started at once, not at NotBefore


def test_arm_throttle_makes_the_compute_sdk_see_429_with_retry_after(twin: Twin) -> None:
    from azure.core.exceptions import HttpResponseError

    compute, config = _compute(twin)
    twin.inject("arm-throttle")
    strict = ComputeManagementClient(
        compute._config.credential,
        config["subscriptionId"],
        base_url=config["armEndpoint"],
        connection_verify=config["caBundle"],
        retry_total=0,
    )
    with pytest.raises(HttpResponseError) as caught:
        list(strict.virtual_machine_scale_sets.list(config["nodeResourceGroup"]))
    assert caught.value.status_code == 429
    assert caught.value.response is not None
    assert int(caught.value.response.headers["Retry-After"]) >= 1  # type: ignore[attr-defined]


def test_kube_errors_make_the_api_answer_5xx(twin: Twin, kube: Client) -> None:
    from lightkube import ApiError

    twin.inject("kube-errors", rate=1.0)
    with pytest.raises(ApiError) as caught:
        list(kube.list(Node))
    assert caught.value.status.code in (500, 503)
    twin.inject("kube-errors", rate=0.0)
    assert len(list(kube.list(Node))) == 12


def test_watch_drop_ends_an_open_watch_stream(twin: Twin) -> None:
    # lightkube and the official client reconnect on their own, so read the raw stream to see it end.
    import http.client
    import ssl
    import threading

    context = ssl.create_default_context(cafile=str(twin.ca_path))
    connection = http.client.HTTPSConnection("127.0.0.1", int(twin.base_url.rsplit(":", 1)[1]), context=context)
    connection.request("GET", "/api/v1/nodes?watch=1", headers={"Authorization": f"Bearer {twin.admin_token}"})
    response = connection.getresponse()
    assert response.status == 200
    lines: list[bytes] = []
    ended = threading.Event()

    def read() -> None:
        while line := response.readline():
            lines.append(line)
        ended.set()

    threading.Thread(target=read, daemon=True).start()
    twin.inject("watch-drop")
    assert ended.wait(timeout=10), "the watch stream should end when the twin drops it"
    assert len(lines) >= 12  # the synthetic ADDED events for every node came first


def test_a_fault_target_may_name_the_instance_instead_of_the_node(twin: Twin, kube: Client) -> None:
    victim = _busy_apps_node(kube)
    instance = twin.azure.instance(victim)
    twin.inject("kubelet-hang", target=f"{instance.pool.vmss_name}_{instance.instance_id}")  # the ARM VM name
    twin.advance(70)
    assert _ready(kube, victim) == "Unknown"
