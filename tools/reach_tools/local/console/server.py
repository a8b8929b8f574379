"""The console's HTTP server, beside the local API in ``reach-local serve``'s process.

GET  /console                 the page
GET  /console/panels/<name>   one panel's HTML fragment (the page polls these)
POST /console/answer          {"from", "to", "body"}: text Reach as that phone, through the
                              inbound topic, queue and function (LocalPhone.reply)
POST /console/clock           {"advance": "15m" | "1h" | "1d"}: fast-forward the demo clock
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import phonenumbers

from reach_tools.local.console import panels
from reach_tools.local.console.clock import SPANS, fast_forward
from reach_tools.local.console.markup import Html
from reach_tools.local.console.reader import ConsoleReader
from reach_tools.local.http_front import ServedInBackground
from reach_tools.local.stack import LocalReach

MAX_BODY_BYTES = 10_000
#: How often the page polls its panels.
POLL_MS = 1500

type Answer = tuple[int, str, bytes]


def problem(status: int, message: str, fields: dict[str, str]) -> Answer:
    """The API's one error shape, naming each field at fault."""
    body = {
        "error": "validation_error",
        "message": message,
        "fields": [{"field": name, "message": why} for name, why in fields.items()],
    }
    return status, "application/json", json.dumps(body).encode()


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw or b"null")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _e164_problem(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "required: a phone number in E.164, like +12025550187"
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return "not a phone number in E.164, like +12025550187"
    if phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) != value:
        return "not a phone number in E.164, like +12025550187"
    return None


def answer_problems(request: dict[str, Any] | None) -> dict[str, str]:
    """What is wrong with an answer box's request, by field (nothing is coerced)."""
    if request is None:
        return {"body": 'send a JSON object {"from", "to", "body"}'}
    problems = {
        name: why
        for name in ("from", "to")
        if (why := _e164_problem(request.get(name))) is not None
    }
    body = request.get("body")
    if not isinstance(body, str) or not body.strip():
        problems["body"] = "required: the text to send"
    return problems


class Console:
    """The console's routes over one LocalReach (answers: status, content type, body)."""

    def __init__(self, reach: LocalReach, poll_ms: int = POLL_MS) -> None:
        self._reach = reach
        self._reader = ConsoleReader(reach)
        self._poll_ms = poll_ms
        self._renderers: dict[str, Callable[[], Html]] = {
            "conversations": lambda: panels.conversations(
                self._reader.conversations(self._reader.appointments()),
                [t.sender_number for t in self._reader.tenants()],
            ),
            "appointments": lambda: panels.appointments(self._reader.appointments()),
            "notices": lambda: panels.notices(self._reader.notices(self._reader.appointments())),
            "campaigns": lambda: panels.campaigns(self._reader.campaigns()),
            "surveys": lambda: panels.surveys(self._reader.surveys()),
            "events": lambda: panels.events(self._reader.events()),
            "clock": self._clock_panel,
        }

    def get(self, path: str) -> Answer:
        if path in ("/console", "/console/"):
            return 200, "text/html; charset=utf-8", panels.page(self._poll_ms).encode()
        name = path.removeprefix("/console/panels/")
        renderer = self._renderers.get(name) if name != path else None
        if renderer is None:
            return (
                404,
                "application/json",
                json.dumps(
                    {"error": "not_found", "message": f"no console page at {path}"}
                ).encode(),
            )
        return 200, "text/html; charset=utf-8", renderer().encode()

    def post(self, path: str, body: bytes) -> Answer:
        if path == "/console/answer":
            return self.answer(body)
        if path == "/console/clock":
            return self.advance(body)
        return (
            404,
            "application/json",
            json.dumps({"error": "not_found", "message": f"no console action at {path}"}).encode(),
        )

    def answer(self, raw: bytes) -> Answer:
        request = _json_object(raw)
        problems = answer_problems(request)
        if problems or request is None:
            return problem(422, "the answer cannot be sent as it is", problems)
        if self._reader.tenant_for_number(request["to"]) is None:
            return problem(422, "no tenant texts from that number", {"to": "not a tenant's number"})
        self._reader.remember_phone(request["from"])
        report = self._reach.phone.reply(request["from"], request["to"], request["body"])
        answer = {
            "inbound_message_id": report.inbound_message_id,
            "answers": [a.body for a in report.answers],
            "retried": report.retried,
        }
        return 200, "application/json", json.dumps(answer).encode()

    def advance(self, raw: bytes) -> Answer:
        request = _json_object(raw)
        span = SPANS.get(str((request or {}).get("advance")))
        if span is None:
            return problem(
                422, "say how far to move the clock", {"advance": f"one of {', '.join(SPANS)}"}
            )
        now, ticks = fast_forward(self._reach, span)
        return (
            200,
            "application/json",
            json.dumps({"now": now.isoformat(), "ticks": ticks}).encode(),
        )

    def _clock_panel(self) -> Html:
        tenants = self._reader.tenants()
        zone = tenants[0].timezone if tenants else "UTC"
        return panels.clock(self._reach.clock(), zone)


class _Server(ThreadingHTTPServer):
    # stop() waits for the requests in flight, so none reads a stack already stopped; one
    # request a connection (HTTP/1.0) so an open page holds no thread that stop() waits for.
    daemon_threads = False

    def __init__(self, address: tuple[str, int], console: Console) -> None:
        super().__init__(address, _Handler)
        self.console = console
        # One request at a time reads or moves the stack: moto and the clock are shared.
        self.lock = threading.Lock()

    def handle_error(self, request: object, client_address: object) -> None:
        # A page closed while its poll was answered is no error worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server_version = "reach-console"

    def do_GET(self) -> None:
        server = cast(_Server, self.server)
        with server.lock:
            self._send(*server.console.get(self.path.split("?", 1)[0]))

    def do_POST(self) -> None:
        server = cast(_Server, self.server)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(
                *problem(413, "the body is too large", {"body": f"over {MAX_BODY_BYTES} bytes"})
            )
            return
        body = self.rfile.read(length) if length else b""
        with server.lock:
            self._send(*server.console.post(self.path.split("?", 1)[0], body))

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # The page polls every panel every second or two: no line per request.
        return


class ConsoleServer:
    """The console on 127.0.0.1 only: it shows phone numbers in full."""

    def __init__(self, reach: LocalReach, port: int = 0, poll_ms: int = POLL_MS) -> None:
        self._served = ServedInBackground(
            _Server(("127.0.0.1", port), Console(reach, poll_ms)), "reach-local-console"
        )

    @property
    def url(self) -> str:
        return f"{self._served.address}/console"

    def start(self) -> None:
        self._served.start()

    def stop(self) -> None:
        self._served.stop()
