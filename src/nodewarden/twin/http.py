"""The twin's HTTP surface as plain data: a Request in, a Response out. The server does the sockets."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string, percent-decoding left to the handler
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # keys lower-case
    body: bytes
    base_url: str  # scheme://host:port as the client addressed the server, for LRO and nextLink URLs

    @classmethod
    def build(cls, method: str, target: str, headers: Mapping[str, str], body: bytes, base_url: str) -> Request:
        parts = urlsplit(target)
        return cls(
            method=method.upper(),
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
            base_url=base_url,
        )

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    """A whole body, or `stream` (chunked transfer: a watch) when the length is not known up front."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterator[bytes] | None = None

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
        merged = {"Content-Type": "application/json", **(headers or {})}
        return cls(status, json.dumps(payload).encode(), merged)

    @classmethod
    def empty(cls, status: int, headers: Mapping[str, str] | None = None) -> Response:
        return cls(status, b"", dict(headers or {}))


def parse_bool(value: str | None) -> bool:
    """Query booleans as Go's strconv.ParseBool reads them (kubernetes_asyncio sends `True`)."""
    return value in ("1", "t", "T", "TRUE", "true", "True")
