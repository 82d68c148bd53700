"""The wire under the sinks: one HTTP POST, its status and its Retry-After, nothing else.

A Slack or Teams webhook URL *is* the credential, so it goes through `nodewarden/http.py` as a secret
URL: never logged, never in an error, and a redirect is an answer rather than followed, so a body signed
for one host never goes to another. `Send` is the seam tests replace; `post` is the real one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from nodewarden import http

TIMEOUT = 10.0  # seconds per attempt; a notification is not worth stalling a control cycle for longer


@dataclass(frozen=True)
class Outbound:
    """One request a sink wants sent. The URL, headers and body may all carry secrets: kept out of repr."""

    sink: str
    url: str = field(repr=False)
    body: bytes = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Reply:
    status: int
    retry_after: str | None = None  # the raw Retry-After header, if the receiver sent one


class SendError(Exception):
    """The request did not get an HTTP answer (DNS, refused, reset, timeout). Carries no URL."""


Send = Callable[[Outbound], Reply]


def post(outbound: Outbound) -> Reply:
    """POST the body; any HTTP answer is a Reply, anything else a SendError naming only the error's type."""
    headers = {"Content-Type": "application/json", **outbound.headers}
    try:
        with http.Endpoint(outbound.url, name=f"sink {outbound.sink}", secret_url=True, timeout=TIMEOUT) as endpoint:
            response = endpoint.send("POST", content=outbound.body, headers=headers)
    except http.NoAnswerError as exc:
        raise SendError(exc.reason) from None
    return Reply(status=response.status_code, retry_after=response.headers.get("Retry-After"))
