"""Refusals the twin cannot produce on reads (403s), faked on the wire, and a kubeconfig that is not one."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.transport._requests_basic import RequestsTransportResponse
from azure.core.rest import HttpRequest
from azure.mgmt.core.exceptions import ARMErrorFormat
from lightkube import Client
from lightkube.config.kubeconfig import SingleConfig
from lightkube.config.models import Cluster, Context, User

from nodewarden import connection
from nodewarden.errors import InputError, PermissionDeniedError
from nodewarden.observe import live_azure, live_kube

_FORBIDDEN = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": 'nodes is forbidden: User "system:serviceaccount:ops:nodewarden" cannot list resource "nodes" in '
    'API group "" at the cluster scope',
    "reason": "Forbidden",
    "details": {"kind": "nodes"},
    "code": 403,
}


def _client(handler: httpx2.MockTransport) -> Client:
    config = SingleConfig(
        context_name="fake",
        context=Context(cluster="fake", user="fake"),
        cluster=Cluster(server="https://kube.example:443"),
        user=User(token="t"),
    )
    return Client(config, transport=handler)


def test_a_kubernetes_403_names_the_verb_and_resource() -> None:
    def respond(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/api/v1/nodes":
            return httpx2.Response(403, json=_FORBIDDEN)
        return httpx2.Response(200, json={"kind": "List", "apiVersion": "v1", "metadata": {}, "items": []})

    with pytest.raises(PermissionDeniedError) as refused:
        list(live_kube.list_exports(_client(httpx2.MockTransport(respond))))
    assert "denied list on nodes" in str(refused.value)
    assert 'cannot list resource "nodes"' in str(refused.value)
    assert "\n" not in str(refused.value)


def test_pages_are_followed_and_every_item_gets_kind_and_api_version() -> None:
    limits: list[str | None] = []

    def respond(request: httpx2.Request) -> httpx2.Response:
        limits.append(request.url.params.get("limit"))
        if request.url.params.get("continue") == "next":
            return httpx2.Response(
                200, json={"metadata": {"resourceVersion": "7"}, "items": [{"metadata": {"name": "b"}}]}
            )
        return httpx2.Response(
            200, json={"metadata": {"resourceVersion": "7", "continue": "next"}, "items": [{"metadata": {"name": "a"}}]}
        )

    nodes = next(e for e in live_kube.KUBE_EXPORTS if e.name == "nodes")
    items = live_kube.list_items(_client(httpx2.MockTransport(respond)), nodes)
    assert [item["metadata"]["name"] for item in items] == ["a", "b"]
    assert all(item["kind"] == "Node" and item["apiVersion"] == "v1" for item in items)
    assert limits == ["500", "500"]


def _arm_error(status: int, body: object) -> HttpResponseError:
    raw = requests.Response()
    raw.status_code = status
    raw._content = json.dumps(body).encode()
    raw.headers["Content-Type"] = "application/json"
    response = RequestsTransportResponse(HttpRequest("GET", "https://management.azure.com/x"), raw)  # type: ignore[no-untyped-call]
    return HttpResponseError(response=response, error_format=ARMErrorFormat)


def test_an_arm_403_names_the_missing_action_and_scope() -> None:
    error = _arm_error(
        403,
        {
            "error": {
                "code": "AuthorizationFailed",
                "message": "The client 'c' with object id 'o' does not have authorization to perform action "
                "'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read' over scope "
                "'/subscriptions/s/resourceGroups/MC_rg/providers/Microsoft.Compute/virtualMachineScaleSets/v' "
                "or the scope is invalid. If access was recently granted, please refresh your credentials.",
            }
        },
    )
    translated = live_azure.translate_azure_error(error, what="instances of scale set v")
    assert isinstance(translated, PermissionDeniedError)
    assert "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/read" in str(translated)
    assert "/resourceGroups/MC_rg/" in str(translated)


def test_other_exceptions_are_not_translated() -> None:
    assert live_azure.translate_azure_error(ValueError("bug"), what="x") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("{{{ nope: [", r"kubeconfig:\d+:\d+: not a kubeconfig"), ("", "expected a YAML mapping"), ("[]", "mapping")],
)
def test_a_kubeconfig_that_is_not_one_is_refused_in_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(text)
    with pytest.raises(InputError, match=expected):
        connection.kube_client(path)
