"""Alert intake: Alertmanager and Azure Monitor payloads become node signals; the listener guards the door."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from nodewarden.errors import InputError
from nodewarden.model.health import SignalKind
from nodewarden.model.incident import SignalRecord
from nodewarden.runtime.alerts import (
    MAX_BODY,
    AlertInbox,
    AlertSource,
    Intake,
    PayloadError,
    parse_alertmanager,
    parse_azure_monitor,
    parse_payload,
)
from nodewarden.runtime.logs import redact
from nodewarden.runtime.metrics import ControllerMetrics, MetricsServer

T0 = datetime(2026, 11, 26, 8, 0, 10, tzinfo=UTC)
TOKEN = "s3cret-alert-token-7f2a"
NODE = "aks-user-12345678-vmss00000a"
VMSS_ID = (
    "/subscriptions/0000/resourceGroups/mc_rg_aks_eastus/providers/Microsoft.Compute/"
    "virtualMachineScaleSets/aks-user-12345678-vmss"
)


def am_alert(labels: dict[str, str], *, status: str = "firing", **extra: Any) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "KubeNodeNotReady", "severity": "critical", **labels},
        "annotations": {"summary": "Node is not ready", "description": "Ready=False for 5m"},
        "startsAt": "2026-11-26T07:58:00.739266876Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": "c6eadffa33fcdf37",
        **extra,
    }


def am_payload(*alerts: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="KubeNodeNotReady"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "nodewarden",
        "groupLabels": {"alertname": "KubeNodeNotReady"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def azure_payload(
    *,
    targets: list[str],
    items: list[str] | None = None,
    condition: str = "Fired",
    dimensions: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {
                "alertId": "/subscriptions/0000/providers/Microsoft.AlertsManagement/alerts/1234",
                "alertRule": "VmAvailabilityLow",
                "severity": "Sev1",
                "signalType": "Metric",
                "monitorCondition": condition,
                "monitoringService": "Platform",
                "alertTargetIDs": targets,
                "configurationItems": items if items is not None else [],
                "originAlertId": "abc",
                "firedDateTime": "2026-11-26T07:59:24.3713213Z",
                "resolvedDateTime": "2026-11-26T08:20:16.2246313Z" if condition == "Resolved" else None,
                "description": "VM availability below 1",
                "essentialsVersion": "1.0",
                "alertContextVersion": "1.0",
            },
            "alertContext": {
                "conditionType": "MultipleResourceMultipleMetricCriteria",
                "condition": {
                    "windowSize": "PT5M",
                    "allOf": [{"metricName": "VmAvailabilityMetric", "dimensions": dimensions or []}],
                },
            },
            "customProperties": None,
        },
    }


def intake(result: Intake | PayloadError) -> Intake:
    assert isinstance(result, Intake), result
    return result


# --- Alertmanager ---------------------------------------------------------------------------------


def test_an_alertmanager_alert_naming_a_node_becomes_a_node_problem_record() -> None:
    result = intake(parse_alertmanager(am_payload(am_alert({"node": NODE.upper()})), now=T0))
    assert result.ignored == 0
    (record,) = result.records
    assert record.kind is SignalKind.NODE_PROBLEM
    assert (record.subject, record.node, record.condition, record.source) == (
        NODE, NODE, "KubeNodeNotReady", "alertmanager"
    )  # fmt: skip
    assert record.since == datetime(2026, 11, 26, 7, 58, 0, 739266, tzinfo=UTC)
    assert record.first_seen == record.last_seen == T0
    assert "alertmanager: alertname=KubeNodeNotReady" in record.evidence
    assert "alertmanager: severity=critical" in record.evidence
    assert "alertmanager: summary=Node is not ready" in record.evidence
    assert "alertmanager: description=Ready=False for 5m" in record.evidence
    assert "alertmanager: startsAt=2026-11-26T07:58:00.739266876Z" in record.evidence
    assert record.message == f"alertmanager alert KubeNodeNotReady (critical) on {NODE}, firing: Node is not ready"


@pytest.mark.parametrize(
    ("desc", "labels", "node"),
    [
        ("kube-state-metrics names the node", {"node": NODE}, NODE),
        ("relabelled scrape target", {"kubernetes_node": NODE}, NODE),
        ("node-exporter's uname", {"nodename": NODE}, NODE),
        ("scrape target host with its port stripped", {"instance": f"{NODE}:9100"}, NODE),
        ("the node label wins over instance", {"instance": "other-host:9100", "node": NODE}, NODE),
        ("an IP instance names an address, not a node", {"instance": "10.224.0.4:9100"}, None),
        ("an IPv6 instance likewise", {"instance": "[fd00::4]:9100"}, None),
        ("a probed URL is no node", {"instance": "https://shop.example.com"}, None),
        ("no node label at all", {"namespace": "shop"}, None),
    ],
)
def test_the_node_is_read_from_the_node_labels(desc: str, labels: dict[str, str], node: str | None) -> None:
    result = intake(parse_alertmanager(am_payload(am_alert(labels)), now=T0))
    assert [r.node for r in result.records] == ([node] if node else []), desc
    assert result.ignored == (0 if node else 1), desc


def test_a_resolved_alertmanager_alert_ends_the_record_at_ends_at() -> None:
    resolved = am_alert({"node": NODE}, status="resolved", endsAt="2026-11-26T08:05:00Z")
    firing = am_alert({"node": "aks-user-12345678-vmss00000b"}, endsAt="2026-11-26T08:30:00Z")
    later = T0 + timedelta(minutes=10)
    first, second = intake(parse_alertmanager(am_payload(resolved, firing), now=later)).records
    assert first.last_seen == first.first_seen == datetime(2026, 11, 26, 8, 5, tzinfo=UTC)  # told after the end
    assert "alertmanager: status=resolved" in first.evidence
    assert "alertmanager: endsAt=2026-11-26T08:05:00Z" in first.evidence
    assert second.last_seen == later  # a firing alert's endsAt is only Alertmanager's resolve timeout


@pytest.mark.parametrize(
    ("desc", "payload", "message"),
    [
        ("not an object", [], "body: expected an object, found a list"),
        ("an old webhook version", {**am_payload(), "version": "3"},
         'version: expected "4" (Alertmanager webhook), found "3"'),
        ("alerts missing", {"version": "4"}, "alerts: expected a list, found null"),
        ("an alert that is a string", am_payload("x"),  # type: ignore[arg-type]
         "alerts[0]: expected an object, found a string"),
        ("a label that is a number", am_payload(am_alert({"node": 3})),  # type: ignore[dict-item]
         "alerts[0].labels.node: expected a string, found a number"),
        ("an unknown status", am_payload(am_alert({}, status="pending")),
         'alerts[0].status: expected "firing" or "resolved", found "pending"'),
        ("startsAt not a time", am_payload(am_alert({}, startsAt="yesterday")),
         'alerts[0].startsAt: expected an RFC 3339 time, found "yesterday"'),
    ],
)  # fmt: skip
def test_an_alertmanager_payload_of_the_wrong_shape_is_one_line_naming_the_field(
    desc: str, payload: object, message: str
) -> None:
    assert parse_alertmanager(payload, now=T0) == PayloadError(message), desc


# --- Azure Monitor --------------------------------------------------------------------------------


def test_an_azure_alert_on_a_scale_set_instance_names_its_node_and_instance() -> None:
    payload = azure_payload(targets=[f"{VMSS_ID}/virtualMachines/10".lower()], items=["aks-user-12345678-vmss_10"])
    (record,) = intake(parse_azure_monitor(payload, now=T0)).records
    assert (record.node, record.instance, record.condition, record.source) == (
        NODE, "aks-user-12345678-vmss/10", "VmAvailabilityLow", "azure-monitor"
    )  # fmt: skip
    assert record.since == datetime(2026, 11, 26, 7, 59, 24, 371321, tzinfo=UTC)
    assert record.last_seen == T0
    assert "azure-monitor: severity=Sev1" in record.evidence
    assert "azure-monitor: firedDateTime=2026-11-26T07:59:24.3713213Z" in record.evidence


def test_an_azure_alert_names_nodes_by_dimension_and_configuration_item_but_not_its_target() -> None:
    payload = azure_payload(
        targets=[VMSS_ID],  # a metric alert on the whole scale set
        items=["aks-user-12345678-vmss", "aks-user-12345678-vmss_3"],  # the target's own name is not a node
        dimensions=[{"name": "Computer", "value": "aks-user-12345678-vmss000001"},
                    {"name": "Region", "value": "eastus"}],
    )  # fmt: skip
    records = intake(parse_azure_monitor(payload, now=T0)).records
    assert [(r.node, r.instance) for r in records] == [
        ("aks-user-12345678-vmss000001", None),
        ("aks-user-12345678-vmss000003", "aks-user-12345678-vmss/3"),
    ]


def test_an_azure_alert_on_the_cluster_names_no_node_and_is_ignored() -> None:
    cluster = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/shop"
    assert parse_azure_monitor(azure_payload(targets=[cluster], items=["shop"]), now=T0) == Intake(ignored=1)


def test_a_resolved_azure_alert_ends_the_record_at_its_resolved_time() -> None:
    payload = azure_payload(targets=[f"{VMSS_ID}/virtualMachines/10"], condition="Resolved")
    (record,) = intake(parse_azure_monitor(payload, now=T0 + timedelta(hours=1))).records
    assert record.last_seen == record.first_seen == datetime(2026, 11, 26, 8, 20, 16, 224631, tzinfo=UTC)
    assert "azure-monitor: monitorCondition=Resolved" in record.evidence


@pytest.mark.parametrize(
    ("desc", "mutate", "message"),
    [
        ("another schema", lambda p: p.update(schemaId="Microsoft.Insights/activityLogs"),
         'schemaId: expected "azureMonitorCommonAlertSchema" (Azure Monitor common alert schema), '
         'found "Microsoft.Insights/activityLogs"'),
        ("no essentials", lambda p: p["data"].pop("essentials"), "data.essentials: expected an object, found null"),
        ("an unknown condition", lambda p: p["data"]["essentials"].update(monitorCondition="Open"),
         'data.essentials.monitorCondition: expected "Fired" or "Resolved", found "Open"'),
        ("no fired time", lambda p: p["data"]["essentials"].pop("firedDateTime"),
         "data.essentials.firedDateTime: expected an RFC 3339 time, found nothing"),
        ("targets not strings", lambda p: p["data"]["essentials"].update(alertTargetIDs=[1]),
         "data.essentials.alertTargetIDs[0]: expected a string, found a number"),
    ],
)  # fmt: skip
def test_an_azure_payload_of_the_wrong_shape_is_one_line_naming_the_field(desc: str, mutate: Any, message: str) -> None:
    payload = azure_payload(targets=[VMSS_ID])
    mutate(payload)
    assert parse_azure_monitor(payload, now=T0) == PayloadError(message), desc


# --- never raise ----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
label_keys = st.sampled_from(["node", "kubernetes_node", "nodename", "instance", "alertname", "severity", "job"])


def is_one_line(result: Intake | PayloadError) -> bool:
    return not isinstance(result, PayloadError) or (bool(result.message) and "\n" not in result.message)


@given(document=json_values)
def test_the_parsers_never_raise_on_any_json(document: object) -> None:
    for source in AlertSource:
        result = parse_payload(source, json.dumps(document).encode(), now=T0)
        assert is_one_line(result)


@given(body=st.binary(max_size=200))
def test_the_parsers_never_raise_on_any_bytes(body: bytes) -> None:
    for source in AlertSource:
        assert is_one_line(parse_payload(source, body, now=T0))


@given(
    labels=st.lists(st.dictionaries(label_keys, st.text(max_size=30)), max_size=5),
    starts=st.one_of(st.text(max_size=30), st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat)),
)
def test_every_well_formed_alert_is_a_record_or_counted_as_ignored(labels: list[dict[str, str]], starts: str) -> None:
    result = parse_alertmanager(am_payload(*(am_alert(each, startsAt=starts) for each in labels)), now=T0)
    if isinstance(result, PayloadError):
        assert result.message.startswith("alerts[0].startsAt: ")
    else:
        assert len(result.records) + result.ignored == len(labels)
        assert all(r.node == r.subject and r.first_seen <= r.last_seen for r in result.records)


def test_deep_nesting_is_a_payload_error_not_a_crash() -> None:
    assert parse_payload(AlertSource.ALERTMANAGER, b"[" * 100_000, now=T0) == PayloadError(
        "body: JSON nested too deeply"
    )


# --- the inbox ------------------------------------------------------------------------------------


def record(node: str, *, condition: str = "KubeNodeNotReady", last_seen: datetime = T0) -> SignalRecord:
    return SignalRecord(SignalKind.NODE_PROBLEM, node, T0, T0, last_seen, "m", node=node, condition=condition,
                        source="alertmanager")  # fmt: skip


def test_the_inbox_keeps_the_latest_copy_of_a_repeated_alert_and_empties_on_drain() -> None:
    inbox = AlertInbox()
    inbox.put([record("n1"), record("n2")])
    inbox.put([record("n1", last_seen=T0 + timedelta(minutes=5))])
    assert [(r.node, r.last_seen) for r in inbox.drain()] == [("n2", T0), ("n1", T0 + timedelta(minutes=5))]
    assert inbox.drain() == ()


def test_a_full_inbox_drops_the_oldest_and_counts_them() -> None:
    inbox = AlertInbox(limit=2)
    inbox.put(record(f"n{i}") for i in range(5))
    assert [r.node for r in inbox.drain()] == ["n3", "n4"]
    assert inbox.dropped == 3


def test_the_inbox_takes_puts_from_many_threads() -> None:
    inbox = AlertInbox()
    threads = [threading.Thread(target=inbox.put, args=([record(f"n{t}-{i}") for i in range(200)],)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(inbox.drain()) == 1600


# --- over HTTP ------------------------------------------------------------------------------------


@pytest.fixture
def inbox() -> AlertInbox:
    return AlertInbox(now=lambda: T0)


@pytest.fixture
def server(inbox: AlertInbox) -> Iterator[MetricsServer]:
    running = MetricsServer(ControllerMetrics(), listen="127.0.0.1:0", health=lambda: (True, ""), alerts=inbox,
                            alert_token=TOKEN)  # fmt: skip
    running.start()
    yield running
    running.stop()


def request(
    server: MetricsServer, path: str, body: object = None, *, token: str | None = TOKEN, method: str = "POST",
    raw: bytes | None = None,
) -> tuple[int, dict[str, str], str]:  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


def samples(server: MetricsServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(server.metrics.exposition().decode())
        for s in family.samples
    }


def test_alertmanager_alerts_over_http_land_in_the_inbox_and_non_node_ones_are_counted(
    server: MetricsServer, inbox: AlertInbox
) -> None:
    payload = am_payload(am_alert({"node": NODE}), am_alert({"instance": "https://shop.example.com"}))
    status, headers, body = request(server, "/alerts/alertmanager", payload)
    assert (status, json.loads(body)) == (200, {"accepted": 1, "ignored": 1})
    assert headers["Content-Type"] == "application/json"
    assert [(r.node, r.first_seen, r.source) for r in inbox.drain()] == [(NODE, T0, "alertmanager")]
    found = samples(server)
    assert found[("nodewarden_alerts_total", (("outcome", "signal"), ("source", "alertmanager")))] == 1
    assert found[("nodewarden_alerts_total", (("outcome", "ignored"), ("source", "alertmanager")))] == 1


def test_azure_monitor_alerts_over_http_land_in_the_inbox(server: MetricsServer, inbox: AlertInbox) -> None:
    payload = azure_payload(targets=[f"{VMSS_ID}/virtualMachines/10"])
    status, _, body = request(server, "/alerts/azure-monitor", payload)
    assert (status, json.loads(body)) == (200, {"accepted": 1, "ignored": 0})
    assert [(r.node, r.source) for r in inbox.drain()] == [(NODE, "azure-monitor")]


@pytest.mark.parametrize("path", ["/alerts/alertmanager", "/alerts/azure-monitor"])
@pytest.mark.parametrize(("desc", "token"), [("no header", None), ("wrong token", "guess"), ("empty", "")])
def test_a_missing_or_wrong_token_is_401_and_nothing_is_taken(
    server: MetricsServer, inbox: AlertInbox, path: str, desc: str, token: str | None
) -> None:
    status, headers, body = request(server, path, am_payload(am_alert({"node": NODE})), token=token)
    assert (status, body) == (401, "missing or wrong token in the Authorization header\n"), desc
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert len(inbox) == 0


def test_a_replica_that_does_not_lead_refuses_alerts_so_the_retry_can_reach_the_leader(inbox: AlertInbox) -> None:
    leading = [False]
    server = MetricsServer(ControllerMetrics(), listen="127.0.0.1:0", health=lambda: (True, ""), alerts=inbox,
                           alert_token=TOKEN, acting=lambda: leading[0])  # fmt: skip
    server.start()
    try:
        status, headers, body = request(server, "/alerts/alertmanager", am_payload(am_alert({"node": NODE})))
        assert (status, body) == (503, "this replica is not the leader: send again\n")
        assert (headers["Retry-After"], headers["Connection"]) == ("1", "close")
        assert len(inbox) == 0
        assert request(server, "/alerts/alertmanager", am_payload(am_alert({"node": NODE})), token="guess")[0] == 401
        leading[0] = True
        assert request(server, "/alerts/alertmanager", am_payload(am_alert({"node": NODE})))[0] == 200
        assert len(inbox) == 1
    finally:
        server.stop()


def test_a_rejection_is_logged_without_a_masked_word(server: MetricsServer, caplog: pytest.LogCaptureFixture) -> None:
    """The reason reads as written: the log's secret masking must find no credential in it."""
    with caplog.at_level(logging.WARNING):
        request(server, "/alerts/alertmanager", am_payload(), token="guess")
    [line] = [r for r in caplog.records if r.getMessage() == "alerts.rejected"]
    reason = line.__dict__["reason"]
    assert reason == "missing or wrong token in the Authorization header"
    assert redact(reason) == reason


def test_another_auth_scheme_carrying_the_token_is_401(server: MetricsServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("POST", "/alerts/alertmanager", body=b"{}", headers={"Authorization": f"Basic {TOKEN}"})
        assert conn.getresponse().status == 401
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("desc", "alerts", "token"),
    [("no token configured", AlertInbox(), None), ("no inbox", None, TOKEN), ("neither", None, None)],
)
def test_without_a_token_and_an_inbox_the_alert_paths_do_not_exist(
    desc: str, alerts: AlertInbox | None, token: str | None
) -> None:
    server = MetricsServer(ControllerMetrics(), listen="127.0.0.1:0", health=lambda: (True, ""), alerts=alerts,
                           alert_token=token)  # fmt: skip
    server.start()
    try:
        assert not server.takes_alerts
        for path in ("/alerts/alertmanager", "/alerts/azure-monitor"):
            assert request(server, path, am_payload(), token=token or "x")[0] == 404, desc
            assert request(server, path, method="GET")[0] == 404, desc
    finally:
        server.stop()


def test_an_empty_token_is_refused_at_start_not_accepted_silently() -> None:
    with pytest.raises(InputError, match=r"^alert token: empty"):
        MetricsServer(ControllerMetrics(), listen="127.0.0.1:0", health=lambda: (True, ""), alerts=AlertInbox(),
                      alert_token="  ")  # fmt: skip


def test_bad_json_and_wrong_shapes_are_400_with_one_line(server: MetricsServer, inbox: AlertInbox) -> None:
    status, _, body = request(server, "/alerts/alertmanager", raw=b'{"version": "4", "alerts": [')
    assert status == 400
    assert body.startswith("body: not JSON (")
    assert body.count("\n") == 1
    assert request(server, "/alerts/azure-monitor", am_payload())[::2] == (
        400, 'schemaId: expected "azureMonitorCommonAlertSchema" (Azure Monitor common alert schema), found nothing\n'
    )  # fmt: skip
    assert len(inbox) == 0
    assert (
        samples(server)[("nodewarden_alert_requests_rejected_total", (("source", "alertmanager"), ("status", "400")))]
        == 1
    )


def test_a_body_over_one_mebibyte_is_413_without_being_read(server: MetricsServer, inbox: AlertInbox) -> None:
    head = (
        f"POST /alerts/alertmanager HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head.encode() + b"[")  # the rest is never sent: the answer must not wait for it
        answer = sock.makefile("rb").read().decode()
    assert answer.startswith("HTTP/1.0 413 ")
    assert answer.endswith(f"body: {MAX_BODY + 1} bytes is more than the limit of {MAX_BODY}\n")
    assert len(inbox) == 0


def test_a_body_of_exactly_the_limit_is_read(server: MetricsServer) -> None:
    padding = " " * (MAX_BODY - len(json.dumps(am_payload())))
    status, _, _ = request(server, "/alerts/alertmanager", raw=(json.dumps(am_payload()) + padding).encode())
    assert status == 200


def test_get_on_an_alert_path_is_405_and_metrics_still_work(server: MetricsServer) -> None:
    status, headers, _ = request(server, "/alerts/alertmanager", method="GET")
    assert (status, headers["Allow"]) == (405, "POST")
    assert request(server, "/metrics", method="GET")[0] == 200
    assert request(server, "/elsewhere", {})[0] == 404


def test_the_token_is_never_logged(server: MetricsServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    request(server, "/alerts/alertmanager", am_payload(am_alert({"node": NODE})))
    request(server, "/alerts/alertmanager", am_payload(), token=TOKEN + "-wrong")
    request(server, f"/alerts/alertmanager?token={TOKEN}", raw=b"not json")
    logged = [str(vars(r)) for r in caplog.records if r.name.startswith("nodewarden")]
    assert any("alerts.received" in line for line in logged)
    assert any("alerts.rejected" in line for line in logged)
    assert not [line for line in logged if TOKEN in line]
