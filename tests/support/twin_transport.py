"""The twin without sockets or TLS: its `route` called in-process by the real clients' own transports.

The twin serves Kubernetes, ARM, IMDS and its admin endpoint from one function, `TwinService.route`
(src/nodewarden/twin/service.py); src/nodewarden/twin/server.py only carries it over HTTPS. Where TLS,
sockets and the server are not the subject, tests skip them: `TwinTransport` is an httpx2 transport
(lightkube and nodewarden's `http.Endpoint`), `AzureTwinTransport` an azure-core one (the mgmt clients and
azure-identity). Both answer as the server does: its `Date` header in twin time, a 500 for a route that
raises, a watch as a stream of chunks.

`in_process(twin)` routes every client built while it is open to the twin, product clients included
(`connection.fenced` builds its own), by swapping each library's default transport for requests to the
twin's address only:

- lightkube: `client_adapter.Client`, the function lightkube builds its httpx2 client with
  (lightkube/config/client_adapter.py; `GenericClient.AdapterClient` holds it, `runtime/clock.py`'s
  `ServerClock` calls it), gets `ConnectionParams.transport`.
- azure-core: `RequestsTransport`, the default that `PipelineClient` and azure-identity's pipeline
  build when given no `transport=`.
- httpx2: `httpx2.HTTPTransport`, which `nodewarden.http.Endpoint` builds (IMDS, the twin admin endpoint).

Requests to any other address keep the real transport. The wire, TLS and least-privilege tests stay on
real HTTPS (tests/wire/test_http.py, tests/twin/test_server.py, tests/live/test_least_privilege*.py).
"""

from __future__ import annotations

import dataclasses
import email.utils
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

import httpx2
from azure.core.exceptions import ServiceRequestError
from azure.core.pipeline.transport import HttpTransport
from azure.core.pipeline.transport import _requests_basic as azure_requests
from azure.core.pipeline.transport._base import HttpClientTransportResponse
from azure.core.rest import HttpRequest as RestRequest
from azure.core.rest._http_response_impl import RestHttpClientTransportResponse
from lightkube import Client
from lightkube.config import client_adapter
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core.generic_client import GenericClient

from nodewarden.twin.clock import Clock
from nodewarden.twin.http import Request, Response
from nodewarden.twin.service import Twin

Route = Callable[[Request], Response]
AzureTransport = HttpTransport[Any, Any]


class TwinStoppedError(Exception):
    """The twin has stopped: each transport raises what its client gets from a refused connection."""


def answer(route: Route, request: Request) -> Response:
    """The route's answer, or the 500 the server sends when it raises (src/nodewarden/twin/server.py)."""
    try:
        return route(request)
    except TwinStoppedError:
        raise
    except Exception as exc:
        return Response.json(500, {"error": {"code": "TwinInternalError", "message": repr(exc)}})


def served_headers(response: Response, clock: Clock | None, *, length: int | None) -> list[tuple[str, str]]:
    """The route's headers plus those the server adds: `Date` (twin time) and a whole body's length."""
    now = clock.now() if clock is not None else None
    date = email.utils.format_datetime(now, usegmt=True) if now is not None else email.utils.formatdate(usegmt=True)
    headers = [("Date", date), *response.headers.items()]
    if length is not None:
        headers.append(("Content-Length", str(length)))
    return headers


class _Chunks(httpx2.SyncByteStream):
    """A streamed answer (a watch): chunks as the route yields them; closing the response ends the route's stream."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            if chunk:
                yield chunk

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if callable(close):
            close()


class TwinTransport(httpx2.BaseTransport):
    """An httpx2 transport that calls the twin's route in this process."""

    def __init__(self, route: Route, *, clock: Clock | None = None) -> None:
        self._route = route
        self._clock = clock

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        twin_request = Request.build(
            request.method,
            url.raw_path.decode("ascii"),
            dict(request.headers.items()),
            request.read(),
            f"{url.scheme}://{request.headers.get('host') or url.netloc.decode('ascii')}",
        )
        try:
            response = answer(self._route, twin_request)
        except TwinStoppedError as exc:
            raise httpx2.ConnectError(str(exc), request=request) from exc
        if response.stream is None:
            body = b"" if request.method == "HEAD" else response.body
            headers = served_headers(response, self._clock, length=len(response.body))
            return httpx2.Response(response.status, headers=headers, content=body, request=request)
        headers = served_headers(response, self._clock, length=None)
        return httpx2.Response(response.status, headers=headers, stream=_Chunks(response.stream), request=request)


class _Answered:
    """What azure-core's http.client-shaped responses read: status, reason, headers and a body."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.reason = httpx2.codes.get_reason_phrase(status)
        self._headers = headers
        self._body = body

    def getheaders(self) -> list[tuple[str, str]]:
        return self._headers

    def read(self) -> bytes:
        return self._body


class _AzureResponse(RestHttpClientTransportResponse):
    """azure-core's response over an http.client-shaped one, readable as a stream too (the mgmt clients ask
    for `stream=True` on a long-running operation's first request); the whole body is one chunk."""

    def iter_bytes(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.content

    def iter_raw(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.content


class AzureTwinTransport(HttpTransport[Any, Any]):
    """An azure-core transport that calls the twin's route in this process (ARM never streams: bodies are whole).

    Sleeps (Retry-After between polls) stay real: the twin already asks for 10 ms when polls move its clock."""

    def __init__(self, route: Route, *, clock: Clock | None = None) -> None:
        self._route = route
        self._clock = clock

    def send(self, request: Any, **kwargs: Any) -> Any:
        parts = urllib.parse.urlsplit(request.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {str(k): str(v) for k, v in request.headers.items()}
        twin_request = Request.build(
            request.method, target, headers, _azure_body(request), f"{parts.scheme}://{parts.netloc}"
        )
        try:
            response = answer(self._route, twin_request)
        except TwinStoppedError as exc:
            raise ServiceRequestError(str(exc)) from exc
        body = response.body if response.stream is None else b"".join(response.stream)
        answered = _Answered(response.status, served_headers(response, self._clock, length=len(body)), body)
        if isinstance(request, RestRequest):
            rest = _AzureResponse(request=request, internal_response=answered)  # type: ignore[no-untyped-call]
            rest.read()  # type: ignore[no-untyped-call]
            return rest
        return HttpClientTransportResponse(request, answered)  # type: ignore[no-untyped-call]

    def open(self) -> None:
        """Nothing to open: no session, no socket."""

    def close(self) -> None:
        """Nothing to close."""

    def __enter__(self) -> AzureTwinTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _azure_body(request: Any) -> bytes:
    """A request's body as bytes: JSON text, form fields (azure-identity's token requests) or none."""
    body = request.body
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, dict):
        return urllib.parse.urlencode(body).encode()
    raise TypeError(f"AzureTwinTransport sends bytes, text or form fields, not {type(body).__name__}")


# -- clients and the in-process seam ----------------------------------------------------------------


def kube_config(twin: Twin, *, context: str = "twin") -> SingleConfig:
    """A context of the twin's kubeconfig (`twin`: admin, `twin-read-only`)."""
    config = KubeConfig.from_file(str(twin.kubeconfig_path)).get(context_name=context)
    assert config is not None
    return config


def kube_client(twin: Twin, *, context: str = "twin", **options: Any) -> Client:
    """A real lightkube Client whose requests go through TwinTransport (lightkube's own `transport=`)."""
    transport = TwinTransport(twin.route, clock=twin.clock)
    return Client(kube_config(twin, context=context), field_manager="nodewarden", transport=transport, **options)


def _is_twin(url: str | httpx2.URL, netloc: str) -> bool:
    parts = urllib.parse.urlsplit(str(url))
    return parts.scheme == "https" and parts.netloc == netloc


class _RoutedHttpx(httpx2.BaseTransport):
    """The twin's address in-process, anything else through the transport it would have had."""

    def __init__(self, twin: TwinTransport, netloc: str, real: Callable[[], httpx2.BaseTransport]) -> None:
        self._twin = twin
        self._netloc = netloc
        self._make_real = real
        self._real: httpx2.BaseTransport | None = None

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if _is_twin(request.url, self._netloc):
            return self._twin.handle_request(request)
        if self._real is None:
            self._real = self._make_real()
        return self._real.handle_request(request)

    def close(self) -> None:
        if self._real is not None:
            self._real.close()


class _RoutedAzure(AzureTwinTransport):
    """The twin's address in-process, anything else through azure-core's RequestsTransport."""

    def __init__(self, route: Route, *, clock: Clock, netloc: str, real: Callable[[], AzureTransport]) -> None:
        super().__init__(route, clock=clock)
        self._netloc = netloc
        self._make_real = real
        self._real: AzureTransport | None = None

    def send(self, request: Any, **kwargs: Any) -> Any:
        if _is_twin(request.url, self._netloc):
            return super().send(request, **kwargs)
        if self._real is None:
            self._real = self._make_real()
        return self._real.send(request, **kwargs)

    def close(self) -> None:
        if self._real is not None:
            self._real.close()


@contextmanager
def in_process(twin: Twin) -> Iterator[Twin]:
    """While open, every lightkube, azure-core and httpx2 transport built for the twin's address calls its route.

    Once closed, those transports refuse as a stopped server's socket would: a client left running (a cache's
    watch, an abandoned ARM poller) fails instead of calling the twin for the rest of the test session."""
    netloc = urllib.parse.urlsplit(twin.base_url).netloc
    serving = True

    def route(request: Request) -> Response:
        if not serving:
            raise TwinStoppedError(f"the twin at {twin.base_url} has stopped")
        return twin.route(request)

    real_adapter = client_adapter.Client
    real_azure = azure_requests.RequestsTransport
    real_httpx = httpx2.HTTPTransport

    def lightkube_client(config: SingleConfig, params: client_adapter.ConnectionParams) -> httpx2.Client:
        if params.transport is None and _is_twin(config.cluster.server, netloc):
            params = dataclasses.replace(params, transport=TwinTransport(route, clock=twin.clock))
        return real_adapter(config, params)

    def azure_transport(**kwargs: Any) -> AzureTransport:
        return _RoutedAzure(route, clock=twin.clock, netloc=netloc, real=lambda: real_azure(**kwargs))

    def httpx_transport(*args: Any, **kwargs: Any) -> httpx2.BaseTransport:
        in_twin = TwinTransport(route, clock=twin.clock)
        return _RoutedHttpx(in_twin, netloc, lambda: real_httpx(*args, **kwargs))

    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(client_adapter, "Client", lightkube_client))
        stack.enter_context(mock.patch.object(GenericClient, "AdapterClient", staticmethod(lightkube_client)))
        stack.enter_context(mock.patch.object(azure_requests, "RequestsTransport", azure_transport))
        stack.enter_context(mock.patch.object(httpx2, "HTTPTransport", httpx_transport))
        try:
            yield twin
        finally:
            serving = False


@contextmanager
def twin_in_process(*args: Any, **kwargs: Any) -> Iterator[Twin]:
    """`Twin(*args, **kwargs)` that opens no socket, with `in_process` open around it."""
    twin = Twin(*args, **kwargs).start(listen=False)
    try:
        with in_process(twin):
            yield twin
    finally:
        twin.stop()
