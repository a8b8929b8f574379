"""The local API's HTTP server: turns HTTP requests into gateway calls and back."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO, cast
from urllib.parse import parse_qsl, urlsplit

from reach_tools.local.gateway import HttpRequest, LocalGateway

# Largest body read; the API's own bodies are a few hundred bytes.
MAX_BODY_BYTES = 1_000_000

#: A local-only route (not part of the API, no authorizer): request body -> status, JSON body.
type LocalRoute = Callable[[bytes], tuple[int, bytes]]


def error_body(error: str, message: str) -> bytes:
    """The API's one error shape, for answers the front gives itself."""
    return json.dumps({"error": error, "message": message}).encode()


def too_large() -> tuple[int, list[tuple[str, str]], bytes]:
    """API Gateway refuses a payload over its limit (DEFAULT_4XX in the template's shape)."""
    body = error_body("payload_too_large", f"the body is over {MAX_BODY_BYTES} bytes")
    return 413, [("Content-Type", "application/json")], body


class _FrontServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        gateway: LocalGateway,
        access_log: TextIO | None,
        local_routes: Mapping[tuple[str, str], LocalRoute],
    ) -> None:
        super().__init__(address, _GatewayRequestHandler)
        self.gateway = gateway
        self.access_log = access_log
        self.local_routes = local_routes


class _GatewayRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "reach-local"

    def _forward(self) -> None:
        began = time.perf_counter()
        server = cast(_FrontServer, self.server)
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._answer(*too_large())
            self.close_connection = True  # the body is left unread
            return
        request = HttpRequest(
            method=self.command,
            path=url.path or "/",
            query=parse_qsl(url.query, keep_blank_values=True),
            headers=list(self.headers.items()),
            body=self.rfile.read(length) if length else b"",
            source_ip=self.client_address[0],
        )
        local = server.local_routes.get((request.method, request.path))
        if local is not None:
            status, body = local(request.body)
            headers: list[tuple[str, str]] = [("Content-Type", "application/json")]
        else:
            response = server.gateway.handle(request)
            status, body, headers = response.status, response.body, list(response.headers)
        self._answer(status, headers, body)
        if server.access_log is not None:
            elapsed = (time.perf_counter() - began) * 1000
            server.access_log.write(f"{self.command} {self.path} -> {status} ({elapsed:.0f} ms)\n")
            server.access_log.flush()

    def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def __getattr__(self, name: str) -> Any:
        # Every method (TRACE, QUERY, ...) goes to the gateway, which routes it to the
        # function: a known route answers 405 with Allow there, as in AWS. http.server would
        # answer 501 in HTML.
        if name.startswith("do_"):
            return self._forward
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # http.server's own refusals (a malformed request line, headers too long) in the
        # API's JSON error shape rather than its HTML page.
        status = HTTPStatus(code)
        error = status.phrase.lower().replace(" ", "_").replace("-", "_")
        self.close_connection = True
        self._answer(
            code,
            [("Content-Type", "application/json"), ("Connection", "close")],
            error_body(error, message or status.description or status.phrase),
        )

    def log_message(self, format: str, *args: object) -> None:
        # The access log above is the one line per request; http.server's own goes to stderr.
        return


class HttpFront:
    """A threading HTTP server on 127.0.0.1 in front of a LocalGateway."""

    def __init__(
        self,
        gateway: LocalGateway,
        port: int = 0,
        host: str = "127.0.0.1",
        access_log: TextIO | None = None,
        local_routes: Mapping[tuple[str, str], LocalRoute] | None = None,
    ) -> None:
        self._served = ServedInBackground(
            _FrontServer((host, port), gateway, access_log, local_routes or {}),
            "reach-local-http",
        )

    @property
    def url(self) -> str:
        return self._served.address

    def start(self) -> None:
        self._served.start()

    def stop(self) -> None:
        self._served.stop()


class ServedInBackground:
    """An HTTP server answering on a daemon thread until ``stop`` (the local API front, the
    console)."""

    def __init__(self, server: ThreadingHTTPServer, name: str) -> None:
        self._server = server
        # A short poll keeps stop() quick: shutdown waits for the loop's next poll.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True
        )

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
