"""A watch as the wire carries it: newline-delimited `{"type", "object"}` events in a chunked body.

Real time, not twin time, bounds a stream (`timeoutSeconds`, bookmark spacing): the client waits in
real time whatever the twin's clock does. The stream wakes on every write to its resource and on
`close_watches` (the `watch-drop` fault), and ends with a BOOKMARK at the timeout when bookmarks
were asked for. A watch that falls behind the compacted log gets an ERROR event with a 410 Status,
then the stream closes (Kubernetes docs, "API concepts", efficient detection of changes).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from nodewarden.twin.kube.convert import to_wire
from nodewarden.twin.kube.errors import ApiError
from nodewarden.twin.kube.meta import Obj
from nodewarden.twin.kube.resources import ResourceType
from nodewarden.twin.kube.store import Watch

INITIAL_EVENTS_END = "k8s.io/initial-events-end"
_BATCH = 200  # events per chunk while replaying a large initial state


def line(kind: str, obj: Obj) -> bytes:
    return json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"


def error_line(error: ApiError) -> bytes:
    return line("ERROR", error.status)


def bookmark(rtype: ResourceType, resource_version: str, *, initial_end: bool = False) -> bytes:
    metadata: Obj = {"resourceVersion": resource_version}
    if initial_end:
        metadata["annotations"] = {INITIAL_EVENTS_END: "true"}
    return line("BOOKMARK", {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": metadata})


def stream(
    watch: Watch,
    rtype: ResourceType,
    *,
    timeout: float,
    bookmarks: bool,
    bookmark_interval: float,
    initial_end_bookmark: bool = False,
    poll_interval: float = 1.0,
) -> Iterator[bytes]:
    deadline = time.monotonic() + timeout
    try:
        batch: list[bytes] = []
        for obj in watch.initial:
            batch.append(line("ADDED", to_wire(rtype, obj)))
            if len(batch) >= _BATCH:
                yield b"".join(batch)
                batch = []
        if batch:
            yield b"".join(batch)
        if initial_end_bookmark:
            yield bookmark(rtype, watch.resource_version, initial_end=True)
        next_bookmark = time.monotonic() + bookmark_interval
        while True:
            now = time.monotonic()
            if now >= deadline:
                if bookmarks:
                    yield bookmark(rtype, watch.resource_version)
                return
            wait = min(deadline - now, poll_interval, max(0.0, next_bookmark - now) if bookmarks else poll_interval)
            try:
                events = watch.poll(wait)
            except ApiError as error:
                yield error_line(error)
                return
            if events is None:
                return
            if events:
                yield b"".join(line(kind, to_wire(rtype, obj)) for kind, obj in events)
            if bookmarks and time.monotonic() >= next_bookmark:
                yield bookmark(rtype, watch.resource_version)
                next_bookmark = time.monotonic() + bookmark_interval
    finally:
        watch.close()
