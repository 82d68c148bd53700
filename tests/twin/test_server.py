"""The twin's HTTPS server: TLS with its own CA, twin-time Date headers, chunked streams."""

from __future__ import annotations

import http.client
import ssl

import pytest

from nodewarden.twin.clock import Clock
from nodewarden.twin.http import Request, Response
from nodewarden.twin.server import HttpsServer


def _route(request: Request) -> Response:
    if request.path == "/stream":
        return Response(200, headers={"Content-Type": "application/json"}, stream=iter([b'{"a":1}\n', b'{"b":2}\n']))
    if request.path == "/boom":
        raise RuntimeError("twin bug")
    return Response.json(200, {"path": request.path, "watch": request.arg("watch"), "base": request.base_url})


def _get(server: HttpsServer, path: str) -> http.client.HTTPResponse:
    context = ssl.create_default_context(cafile=str(server.ca_path))
    connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=5)
    connection.request("GET", path)
    return connection.getresponse()


def test_the_server_speaks_tls_trusted_by_its_own_ca_and_dates_responses_in_twin_time() -> None:
    clock = Clock()
    with HttpsServer(_route, clock=clock) as server:
        response = _get(server, "/api/v1/nodes?watch=1")
        assert response.status == 200
        assert response.read() == f'{{"path": "/api/v1/nodes", "watch": "1", "base": "{server.base_url}"}}'.encode()
        assert response.headers["Date"] == "Thu, 26 Nov 2026 08:00:00 GMT"
        clock.advance(seconds=90)
        assert _get(server, "/").headers["Date"] == "Thu, 26 Nov 2026 08:01:30 GMT"


def test_a_stream_is_sent_chunked_and_read_back_whole() -> None:
    with HttpsServer(_route) as server:
        response = _get(server, "/stream")
        assert response.headers["Transfer-Encoding"] == "chunked"
        assert response.read() == b'{"a":1}\n{"b":2}\n'


def test_a_route_that_raises_answers_500_instead_of_dropping_the_connection() -> None:
    with HttpsServer(_route) as server:
        response = _get(server, "/boom")
        assert response.status == 500
        assert b"TwinInternalError" in response.read()


def test_an_untrusting_client_is_refused() -> None:
    with HttpsServer(_route) as server:
        connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=ssl.create_default_context())
        with pytest.raises(ssl.SSLCertVerificationError):
            connection.request("GET", "/")
