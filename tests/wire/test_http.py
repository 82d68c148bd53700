"""The HTTP seam (`nodewarden/http.py`) on an in-process transport: what it sends, and how every failure
becomes one of nodewarden's errors, named without secrets."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pytest

from nodewarden import http
from nodewarden.errors import AuthenticationError, InputError, PermissionDeniedError, UnreachableError
from nodewarden.observe.prometheus import PrometheusClient, PrometheusError

Handler = Callable[[httpx2.Request], httpx2.Response]
BASE = "https://user:hunter2@prometheus.example:9090"


def endpoint(handler: Handler, *, secret_url: bool = False, base: str = BASE) -> http.Endpoint:
    return http.Endpoint(base, name="Prometheus", hint="check --prometheus", secret_url=secret_url,
                         transport=httpx2.MockTransport(handler))  # fmt: skip


def refuse(request: httpx2.Request) -> httpx2.Response:
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError as exc:
        raise httpx2.ConnectError(f"[Errno 111] Connection refused to {request.url.host}", request=request) from exc


def test_a_call_sends_params_json_and_headers_and_returns_the_json_body() -> None:
    seen: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"ok": True})

    body = endpoint(answer).call("POST", "/twin/faults", params={"q": "up"}, json={"fault": "x"},
                                 headers={"Authorization": "Bearer t"})  # fmt: skip
    assert body == {"ok": True}
    [request] = seen
    assert (request.method, request.url.path, request.url.params["q"]) == ("POST", "/twin/faults", "up")
    assert json.loads(request.content) == {"fault": "x"}
    assert (request.headers["Authorization"], request.headers["User-Agent"]) == ("Bearer t", "nodewarden")


def test_an_empty_success_body_is_an_empty_object() -> None:
    assert endpoint(lambda _: httpx2.Response(204)).call("POST", "/twin/clock") == {}


@pytest.mark.parametrize(
    ("desc", "status", "body", "error", "message"),
    [
        ("401 is an authentication error", 401, {"message": "token expired"}, AuthenticationError,
         "Prometheus at https://prometheus.example:9090/api/v1/query answered 401 Unauthorized: token expired (up)"),
        ("403 is a permission error", 403, {}, PermissionDeniedError,
         "Prometheus at https://prometheus.example:9090/api/v1/query answered 403 Forbidden: Forbidden (up)"),
        ("other statuses are the caller's error with the body's own words", 400, {"error": "parse error"},
         PrometheusError,
         "Prometheus at https://prometheus.example:9090/api/v1/query answered 400 Bad Request: parse error (up)"),
    ],
)  # fmt: skip
def test_an_error_status_becomes_the_hierarchy_s_error_naming_the_url_without_secrets(
    desc: str, status: int, body: dict[str, str], error: type[InputError], message: str
) -> None:
    answer = endpoint(lambda _: httpx2.Response(status, json=body))
    with pytest.raises(error) as raised:
        answer.call("GET", "/api/v1/query", params={"token": "s3cret"}, error=PrometheusError, about="up")
    assert str(raised.value) == message, desc  # neither the password nor the query's token


def test_a_success_that_is_not_json_is_the_caller_s_error() -> None:
    with pytest.raises(PrometheusError, match="answered 200 OK with a body that is not JSON"):
        endpoint(lambda _: httpx2.Response(200, text="<html>")).call("GET", "/", error=PrometheusError)


def test_a_redirect_is_an_answer_not_followed() -> None:
    seen: list[str] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(str(request.url))
        return httpx2.Response(302, headers={"Location": "https://elsewhere.example/"})

    assert endpoint(answer).send("POST", content=b"{}").status_code == 302
    assert len(seen) == 1


def test_no_answer_names_the_endpoint_its_failure_and_what_to_check() -> None:
    with pytest.raises(http.NoAnswerError) as raised:
        endpoint(refuse).call("GET", "/api/v1/query?token=s3cret")
    assert isinstance(raised.value, UnreachableError)
    assert raised.value.reason == "ConnectionRefusedError"
    assert str(raised.value) == (
        "cannot reach Prometheus at https://prometheus.example:9090/api/v1/query: "
        "[Errno 111] Connection refused to prometheus.example (check --prometheus)"
    )
    assert isinstance(raised.value.__cause__, httpx2.ConnectError)


def test_a_secret_url_is_named_by_its_name_alone_and_chains_nothing() -> None:
    with pytest.raises(http.NoAnswerError) as raised:
        endpoint(refuse, secret_url=True, base="https://hooks.example/services/T0/B0/SECRET").send("POST")
    assert str(raised.value) == "cannot reach Prometheus: ConnectionRefusedError"
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_a_real_refused_connection_is_named_by_the_socket_s_error() -> None:
    with pytest.raises(http.NoAnswerError) as raised, http.Endpoint("http://127.0.0.1:9", name="x", timeout=2) as e:
        e.send("GET")
    assert raised.value.reason == "ConnectionRefusedError"


def test_a_ca_bundle_that_cannot_be_read_is_an_input_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "ca.pem"
    with pytest.raises(
        InputError, match=re.escape(f"the twin at https://twin.example/: cannot load the CA bundle {missing}")
    ):
        http.Endpoint("https://twin.example/", name="the twin", ca_bundle=str(missing))


@pytest.mark.parametrize(
    ("desc", "url", "proxy"),
    [
        ("the scheme's proxy", "https://hooks.example/x", "http://proxy.example:3128"),
        ("no proxy for a host NO_PROXY names", "http://169.254.169.254/metadata", None),
    ],
)
def test_proxies_come_from_the_environment_as_urllib_reads_them(
    desc: str, url: str, proxy: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("http_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("no_proxy", "169.254.169.254")
    assert http.environment_proxy(url) == proxy, desc


def test_prometheus_speaks_through_the_seam_and_a_401_is_an_authentication_error() -> None:
    """Before the seam Prometheus turned every error status into a PrometheusError, while the other
    clients of `nodewarden/http.py` named 401 and 403 as such; a 401 from Prometheus now says so too."""
    at = datetime(2026, 11, 26, 12, tzinfo=UTC)
    client = PrometheusClient(BASE, transport=httpx2.MockTransport(lambda _: httpx2.Response(401)))
    with pytest.raises(
        AuthenticationError, match=re.escape("Prometheus at https://prometheus.example:9090/api/v1/query")
    ):
        client.query("up", at=at)


def test_prometheus_answering_html_is_a_prometheus_error_rather_than_a_json_traceback() -> None:
    at = datetime(2026, 11, 26, 12, tzinfo=UTC)
    client = PrometheusClient(BASE, transport=httpx2.MockTransport(lambda _: httpx2.Response(200, text="<html>")))
    with pytest.raises(PrometheusError, match="not JSON \\(up\\)"):
        client.query("up", at=at)
