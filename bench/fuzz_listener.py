"""Throws random requests at the controller's listener and tabulates what came back (issue 17).

A `MetricsServer` with alert intake on runs in this process, logging `--log-format json` lines into a
buffer; stderr is captured too. Each case family sends `--cases` requests built from a seeded random source:

* junk: random bytes, no HTTP at all;
* request-line: mangled methods, paths, versions (blank, four words, HTTP/0.9, HTTP/2, 70 KiB paths);
* headers: random names and values, 101 headers, 70 KiB header lines, bad Content-Length;
* alert-json: authorized alert posts with random JSON, half of them near-valid payloads with mutated fields;
* alert-bytes: authorized alert posts with random bytes, deep nesting and 5,000-digit numbers as bodies;
* hostile-alerts: the cases issue 17 names (a node dimension ending in 5,000 digits, `startsAt: 9999-…`);
* reset: a request, then the client resets the connection before its answer (SO_LINGER 0).

For each family the table counts answers by status class, no answer (the server closed without a status
line), connection drops seen by the client, and afterwards: tracebacks on stderr, log lines that are not
JSON, log lines that span more than one line, and whether `/livez` still answers 200. Targets: no
traceback, no non-JSON line, no answer without a status line (except `reset`, where nobody waits for one),
server up. Exits 1 when a target is missed.

    .venv/bin/python bench/fuzz_listener.py [--cases 2000] [--seed 17]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import socket
import struct
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from nodewarden.runtime import logs
from nodewarden.runtime.alerts import AlertInbox
from nodewarden.runtime.metrics import ControllerMetrics, MetricsServer, Readiness

TOKEN = "fuzz-token-0123456789"
NOW = datetime(2026, 11, 26, 8, 0, 10, tzinfo=UTC)
VMSS = "aks-user-12345678-vmss"
METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "get", "BREW", "G\x00T", "", "GET GET"]
PATHS = ["/metrics", "/livez", "/readyz", "/healthz", "/alerts/alertmanager", "/alerts/azure-monitor", "*", "",
         "//alerts/alertmanager", "/alerts/alertmanager?x=1", "/../../etc/passwd", "/%00",
         "/" + "a" * 70000]  # fmt: skip
VERSIONS = ["HTTP/1.0", "HTTP/1.1", "HTTP/2.0", "HTTP/0.9", "HTTP/1", "HTTP/x.y", "HTTP/1.1 extra", "", "http/1.1"]
ROUTES = ["/alerts/alertmanager", "/alerts/azure-monitor"]

Case = Callable[[random.Random], tuple[bytes, bool]]  # (raw request, reset instead of reading the answer)


def random_text(rng: random.Random, size: int) -> str:
    return "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0, 0x2FF), rng.randrange(0, 0x10FFFF)]))
                   for _ in range(size))  # fmt: skip


def random_json(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False, 0, -1, 10**30, 1e308, 3.5])
    if kind in (2, 3, 4):
        return random_text(rng, rng.randrange(20))
    if kind in (5, 6):
        return {random_text(rng, rng.randrange(8)): random_json(rng, depth + 1) for _ in range(rng.randrange(4))}
    return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]


def alertmanager(starts: str = "2026-11-26T07:58:00Z", node: str = f"{VMSS}00000a") -> dict[str, object]:
    return {"version": "4", "alerts": [{"status": "firing", "labels": {"alertname": "NodeDown", "node": node},
                                        "annotations": {}, "startsAt": starts}]}  # fmt: skip


def azure(value: str, fired: str = "2026-11-26T07:59:24Z") -> dict[str, object]:
    return {"schemaId": "azureMonitorCommonAlertSchema", "data": {
        "essentials": {"alertRule": "r", "monitorCondition": "Fired", "firedDateTime": fired},
        "alertContext": {"condition": {"allOf": [{"dimensions": [{"name": "node", "value": value}]}]}}}}  # fmt: skip


def mutate(rng: random.Random, document: object) -> object:
    """Replace one value somewhere in `document` with random JSON."""
    if isinstance(document, dict) and document:
        key = rng.choice(list(document))
        return {**document, key: mutate(rng, document[key]) if rng.random() < 0.6 else random_json(rng)}
    if isinstance(document, list) and document:
        index = rng.randrange(len(document))
        return [*document[:index], mutate(rng, document[index]), *document[index + 1 :]]
    return random_json(rng)


def post(route: str, body: bytes, *, token: str = TOKEN, length: str | None = None) -> bytes:
    size = str(len(body)) if length is None else length
    return (f"POST {route} HTTP/1.1\r\nAuthorization: Bearer {token}\r\nContent-Length: {size}\r\n\r\n").encode() + body


def junk(rng: random.Random) -> tuple[bytes, bool]:
    return rng.randbytes(rng.randrange(1, 400)), False


def request_line(rng: random.Random) -> tuple[bytes, bool]:
    line = f"{rng.choice(METHODS)} {rng.choice([*PATHS, random_text(rng, 30)])} {rng.choice(VERSIONS)}".strip()
    return line.encode("utf-8", "surrogatepass") + b"\r\n\r\n", False


def headers(rng: random.Random) -> tuple[bytes, bool]:
    lines = [f"{random_text(rng, rng.randrange(1, 12)).replace(':', '')}: {random_text(rng, rng.randrange(40))}"
             for _ in range(rng.randrange(6))]  # fmt: skip
    lines = [line.replace("\r", "").replace("\n", "") for line in lines]
    choice = rng.randrange(5)
    if choice == 0:
        lines += ["X: y"] * 101
    elif choice == 1:
        lines.append("X: " + "a" * 70000)
    elif choice == 2:
        lines.append(f"Content-Length: {rng.choice(['-1', '1e3', '99999999999999', ' 5', '٥', 'abc'])}")
    raw = f"{rng.choice(['GET', 'POST'])} {rng.choice(PATHS[:6])} HTTP/1.1\r\n" + "".join(f"{h}\r\n" for h in lines)
    return raw.encode("utf-8", "surrogatepass") + b"\r\n" + (b"{}" if rng.random() < 0.3 else b""), False


def alert_json(rng: random.Random) -> tuple[bytes, bool]:
    route = rng.choice(ROUTES)
    if rng.random() < 0.5:
        document = random_json(rng)
    else:
        document = mutate(rng, alertmanager() if route == ROUTES[0] else azure(f"{VMSS}_{rng.randrange(100)}"))
    return post(route, json.dumps(document).encode()), False


def alert_bytes(rng: random.Random) -> tuple[bytes, bool]:
    body = rng.choice([rng.randbytes(rng.randrange(300)), b"[" * rng.randrange(1000, 200_000),
                       b'{"version": "4", "alerts": [' + b"9" * rng.randrange(4000, 20000) + b"]}",
                       b'{"a": "\xff\xfe"}', b"\x00" * 100])  # fmt: skip
    length = rng.choice([None, None, str(len(body) + 10), str(max(0, len(body) - 1))])
    return post(rng.choice(ROUTES), body, length=length), False


def hostile_alerts(rng: random.Random) -> tuple[bytes, bool]:
    digits = "9" * rng.randrange(4300, 6000)
    document = rng.choice([azure(f"{VMSS}_{digits}"), azure(f"aks-node{digits}"),
                           alertmanager("9999-12-31T23:59:59Z"), alertmanager("1970-01-01T00:00:00Z"),
                           azure(f"{VMSS}_1", fired="9999-12-31T23:59:59Z"), alertmanager(node=f"{VMSS}_{digits}"),
                           alertmanager("2026-11-26T07:58:00+99:99")])  # fmt: skip
    return post(rng.choice(ROUTES) if "version" not in document else ROUTES[0], json.dumps(document).encode()), False


def reset(rng: random.Random) -> tuple[bytes, bool]:
    return rng.choice([b"GET /metrics HTTP/1.0\r\n\r\n", b"GET /livez HTTP/1.1\r\n", post(ROUTES[0], b"{}")]), True


FAMILIES: dict[str, Case] = {
    "junk": junk,
    "request-line": request_line,
    "headers": headers,
    "alert-json": alert_json,
    "alert-bytes": alert_bytes,
    "hostile-alerts": hostile_alerts,
    "reset": reset,
}


def send(port: int, raw: bytes, *, reset_after: bool) -> str:
    """One case: its outcome, "2xx" … "5xx", "no answer", "dropped" or "reset by client"."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        try:
            conn.sendall(raw)
            if reset_after:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return "reset by client"
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered (and closed) before it read everything: read what it said
        answer = b""
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except OSError:
            return "dropped" if not answer else _status(answer)
        return _status(answer)


def _status(answer: bytes) -> str:
    if answer.startswith(b"HTTP/1.") and answer[9:10] in (b"1", b"2", b"3", b"4", b"5"):
        return f"{answer[9:10].decode()}xx"
    return "no answer"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000, help="requests per case family")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    log_stream, stderr = io.StringIO(), io.StringIO()
    logs.configure_logging("json", "INFO", stream=log_stream)
    server = MetricsServer(ControllerMetrics(), listen="127.0.0.1:0", health=lambda: (True, "loop running"),
                           ready=Readiness(), alerts=AlertInbox(now=lambda: NOW), alert_token=TOKEN)  # fmt: skip
    server.start()
    rows: list[tuple[str, int, Counter[str], int, int, int, bool]] = []
    try:
        for name, case in FAMILIES.items():
            rng = random.Random(f"{args.seed}-{name}")
            outcomes: Counter[str] = Counter()
            log_start = log_stream.tell()
            with contextlib.redirect_stderr(stderr):
                stderr_start = stderr.tell()
                for _ in range(args.cases):
                    raw, reset_after = case(rng)
                    outcomes[send(server.port, raw, reset_after=reset_after)] += 1
                up = send(server.port, b"GET /livez HTTP/1.0\r\n\r\n", reset_after=False) == "2xx"
                tracebacks = stderr.getvalue()[stderr_start:].count("Traceback")
            written = log_stream.getvalue()[log_start:].splitlines()
            non_json = sum(1 for line in written if not _is_json_object(line))
            with_exc = sum(1 for line in written if _is_json_object(line) and "exc" in json.loads(line))
            rows.append((name, args.cases, outcomes, tracebacks, non_json, with_exc, up))
    finally:
        server.stop()
        logs.configure_logging("text", "INFO")
    print(_table(rows))
    failed = [row for row in rows if row[3] or row[4] or row[5] or not row[6] or (row[0] != "reset" and
              (row[2]["no answer"] or row[2]["dropped"]))]  # fmt: skip
    if failed:
        print(f"targets missed by: {', '.join(row[0] for row in failed)}", file=sys.stderr)
    return 1 if failed else 0


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _table(rows: list[tuple[str, int, Counter[str], int, int, int, bool]]) -> str:
    head = ("family", "cases", "2xx", "4xx", "5xx", "no answer", "dropped", "reset", "tracebacks", "non-JSON log",
            "log exc", "server up")  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, cases, outcomes, tracebacks, non_json, with_exc, up in rows:
        cells = (name, cases, outcomes["2xx"], outcomes["4xx"], outcomes["5xx"], outcomes["no answer"],
                 outcomes["dropped"], outcomes["reset by client"], tracebacks, non_json, with_exc,
                 "yes" if up else "NO")  # fmt: skip
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
