"""The one HTTP seam under nodewarden's own small clients: Prometheus (`observe/prometheus.py`), IMDS
Scheduled Events (`runtime/observer.py`), the notification sinks (`notify/transport.py`) and the twin's
admin endpoint (`drill/inject.py`). lightkube and the Azure SDKs bring their own.

An `Endpoint` is a base URL and how to reach it: the CA bundle to trust (the system's store otherwise),
a timeout, and a transport a test may replace (`httpx2.MockTransport`). Failures become the hierarchy in
`nodewarden/errors.py` here, once: no answer at all (DNS, refused, TLS, timeout) is a `NoAnswerError`
(an `UnreachableError`), a 401 an `AuthenticationError`, a 403 a `PermissionDeniedError`, any other
error status the caller's error class carrying the body's own message. Messages name the endpoint by
scheme, host, port and path, never its user info or query string; a webhook's URL *is* its credential,
so such an endpoint (`secret_url`) is named by its name alone and its errors chain nothing.

Requests go to the transport directly rather than through an `httpx2.Client`, which logs every request's
URL at INFO and would put a webhook's credential in the log. Redirects are therefore answers, never
followed, so a body signed for one host never goes to another. Proxies come from the environment as
urllib reads them (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), as three of the four clients did before.
"""

from __future__ import annotations

import ssl
import urllib.parse
import urllib.request
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx2

from nodewarden.errors import AuthenticationError, InputError, PermissionDeniedError, UnreachableError

USER_AGENT = "nodewarden"
DETAIL_FIELDS = ("error", "message")  # Prometheus's error body; the twin's and a Kubernetes Status's
STATUS_ERRORS: dict[int, type[InputError]] = {401: AuthenticationError, 403: PermissionDeniedError}


class NoAnswerError(UnreachableError):
    """The request got no HTTP answer; `reason` names the failure's type (ConnectionRefusedError, …)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class Endpoint:
    """A base URL and how to reach it; `send` returns any HTTP answer, `call` only a 2xx's JSON body."""

    def __init__(
        self,
        base_url: str,
        *,
        name: str,
        hint: str = "",
        ca_bundle: str | None = None,
        timeout: float = 10.0,
        secret_url: bool = False,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.name = name
        self.hint = hint  # what to check when there is no answer, e.g. "check --prometheus"
        self.secret_url = secret_url
        self.timeout = httpx2.Timeout(timeout)
        self._transport = transport if transport is not None else self._real_transport(ca_bundle)

    def __enter__(self) -> Endpoint:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    def describe(self, path: str = "") -> str:
        """The endpoint for a message: its name, and its URL without user info or query unless that is secret."""
        if self.secret_url:
            return self.name
        parts = urllib.parse.urlsplit(self.base_url + path)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        netloc += f":{parts.port}" if parts.port else ""
        return f"{self.name} at {parts.scheme}://{netloc}{parts.path}"

    def send(
        self,
        method: str,
        path: str = "",
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx2.Response:
        """Any HTTP answer, read whole; NoAnswerError when there is none."""
        try:
            request = httpx2.Request(
                method,
                self.base_url + path,
                params=params,
                json=json,
                content=content,
                headers={"User-Agent": USER_AGENT, **(headers or {})},
                extensions={"timeout": self.timeout.as_dict()},
            )
            response = self._transport.handle_request(request)
            try:
                response.read()
            finally:
                response.close()
        except (httpx2.RequestError, httpx2.InvalidURL) as exc:
            raise self._no_answer(exc, path) from (None if self.secret_url else exc)
        response.request = request
        return response

    def call(
        self,
        method: str,
        path: str = "",
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        error: type[InputError] = InputError,
        about: str = "",
    ) -> Any:
        """The JSON body of a 2xx answer (an empty body is {}); otherwise `error`, or the 401/403 error.

        `about` is appended to every message in parentheses (Prometheus names the query it sent)."""
        response = self.send(method, path, params=params, json=json, headers=headers)
        suffix = f" ({about})" if about else ""
        where = self.describe(path)
        status = f"{response.status_code} {response.reason_phrase}".rstrip()
        if not response.is_success:
            kind = STATUS_ERRORS.get(response.status_code, error)
            raise kind(f"{where} answered {status}: {_detail(response) or response.reason_phrase}{suffix}")
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as exc:
            raise error(f"{where} answered {status} with a body that is not JSON{suffix}") from exc

    def _real_transport(self, ca_bundle: str | None) -> httpx2.HTTPTransport:
        parts = urllib.parse.urlsplit(self.base_url)
        verify: ssl.SSLContext | bool = True
        if parts.scheme == "https":  # plain HTTP (IMDS, a local Prometheus) loads no certificates
            try:
                verify = ssl.create_default_context(cafile=ca_bundle)
            except (OSError, ssl.SSLError) as exc:
                raise InputError(f"{self.describe()}: cannot load the CA bundle {ca_bundle}: {exc}") from exc
        return httpx2.HTTPTransport(verify=verify, proxy=environment_proxy(self.base_url))

    def _no_answer(self, exc: Exception, path: str) -> NoAnswerError:
        reason = type(_innermost(exc)).__name__
        if self.secret_url:  # the exception's text can hold the host: its type is enough to act on
            return NoAnswerError(f"cannot reach {self.name}: {reason}", reason=reason)
        text = str(exc).strip().splitlines()
        hint = f" ({self.hint})" if self.hint else ""
        return NoAnswerError(f"cannot reach {self.describe(path)}: {text[0] if text else reason}{hint}", reason=reason)


def environment_proxy(url: str) -> str | None:
    """The proxy urllib would use for `url`: `<scheme>_proxy` from the environment unless NO_PROXY names the host."""
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname or urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)


def _innermost(exc: BaseException) -> BaseException:
    """The first failure in the chain: httpx2 wraps httpcore's error, which wraps the socket's."""
    while (inner := exc.__cause__ or exc.__context__) is not None:
        exc = inner
    return exc


def _detail(response: httpx2.Response) -> str:
    """The answer's own explanation: the `error` or `message` field of a JSON body, if it has one."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        return next((body[key] for key in DETAIL_FIELDS if isinstance(body.get(key), str)), "")
    return ""
