"""The wire under the sinks: one HTTP POST, its status and its Retry-After, nothing else.

The stdlib, not httpx2: httpx2 logs every request's URL at INFO, and a Slack or Teams webhook URL *is*
the credential. Redirects are refused rather than followed, so a body signed for one host never goes to
another. `Send` is the seam tests replace; `post` is the real one.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.client import HTTPException

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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the 3xx surfaces as an HTTPError: a failed delivery, not a silent re-post


_OPENER = urllib.request.build_opener(_NoRedirect)


def post(outbound: Outbound) -> Reply:
    """POST the body; any HTTP answer is a Reply, anything else a SendError naming only the error's type."""
    headers = {"Content-Type": "application/json", "User-Agent": "nodewarden", **outbound.headers}
    request = urllib.request.Request(outbound.url, data=outbound.body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as response:
            return Reply(status=response.status, retry_after=response.headers.get("Retry-After"))
    except urllib.error.HTTPError as exc:
        with exc:
            return Reply(status=exc.code, retry_after=exc.headers.get("Retry-After") if exc.headers else None)
    except urllib.error.URLError as exc:  # its text can hold the host; the reason's type is enough to act on
        raise SendError(type(exc.reason).__name__ if isinstance(exc.reason, BaseException) else "URLError") from None
    except (OSError, HTTPException) as exc:
        raise SendError(type(exc).__name__) from None
