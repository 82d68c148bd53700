"""HTTPS for the twin: one threaded server, a trustme CA, HTTP/1.1 with chunked streams for watches.

Real clients insist on TLS (azure-core's bearer-token policy refuses plain http), so
the twin always serves HTTPS with a CA of its own, written to `ca_path` for clients to trust.
"""

from __future__ import annotations

import email.utils
import ssl
import tempfile
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme

from nodewarden.twin.clock import Clock
from nodewarden.twin.http import Request, Response

Route = Callable[[Request], Response]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], route: Route, clock: Clock | None) -> None:
        super().__init__(address, _Handler)
        self.route = route
        self.clock = clock
        self.open_streams = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: without this each answer waits ~40 ms
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a watch-heavy client would flood stderr."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header in twin time, so clients that trust the server's clock see the twin's."""
        if self.server.clock is None:
            return super().date_time_string(timestamp)
        return email.utils.format_datetime(self.server.clock.now(), usegmt=True)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
        request = Request.build(self.command, self.path, dict(self.headers.items()), body, f"https://{host}")
        try:
            response = self.server.route(request)
        except Exception as exc:
            response = Response.json(500, {"error": {"code": "TwinInternalError", "message": repr(exc)}})
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.stream is None:
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for chunk in response.stream:
                if chunk:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        finally:
            close = getattr(response.stream, "close", None)
            if callable(close):
                close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve  # noqa: N815 - stdlib dispatch names


class HttpsServer:
    """Serve `route` over HTTPS on 127.0.0.1 (port 0 picks a free one)."""

    def __init__(
        self,
        route: Route,
        *,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        cert_dir: Path | None = None,
    ) -> None:
        self._temp = None if cert_dir is not None else tempfile.TemporaryDirectory(prefix="nodewarden-twin-")
        self.cert_dir = cert_dir or Path(self._temp.name)  # type: ignore[union-attr]
        self.cert_dir.mkdir(parents=True, exist_ok=True)
        authority = trustme.CA(organization_name="nodewarden twin")
        certificate = authority.issue_cert("127.0.0.1", "localhost", "::1")
        self.ca_path = self.cert_dir / "ca.pem"
        authority.cert_pem.write_to_path(str(self.ca_path))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certificate.configure_cert(context)
        self._server = _Server((host, port), route, clock)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self, *, listen: bool = True) -> HttpsServer:
        """Serve on a thread; `listen=False` closes the socket instead, for callers that call the route in-process."""
        if not listen:
            self._server.server_close()
            return self
        self._thread = threading.Thread(target=self._server.serve_forever, name="twin-https", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for serve_forever, which a server never started never ran
            self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._temp is not None:
            self._temp.cleanup()

    def __enter__(self) -> HttpsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
