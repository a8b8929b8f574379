"""The local API as a WSGI application: the HTTP front without its socket, for in-process
clients such as the fuzzing run (tests/integration/test_api_fuzz.py). Requests go through
the same LocalGateway (authorizer, routing, gateway responses) as `reach-local serve`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from reach_tools.local.gateway import HttpRequest, LocalGateway
from reach_tools.local.http_front import MAX_BODY_BYTES, too_large

type StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def wsgi_app(gateway: LocalGateway) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY_BYTES:
            status, headers, body = too_large()
        else:
            response = gateway.handle(_request(environ, length))
            status, headers, body = response.status, list(response.headers), response.body
        start_response(f"{status} {_REASONS.get(status, 'Status')}", headers)
        return [body]

    return app


def _request(environ: dict[str, Any], length: int) -> HttpRequest:
    # PATH_INFO is already percent-decoded; the gateway wants the path as sent.
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    path = urlsplit(raw).path if raw else quote(str(environ.get("PATH_INFO") or "/"))
    headers = [
        (name[5:].replace("_", "-").title(), str(value))
        for name, value in environ.items()
        if name.startswith("HTTP_")
    ]
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(name):
            headers.append((name.replace("_", "-").title(), str(environ[name])))
    return HttpRequest(
        method=str(environ["REQUEST_METHOD"]),
        path=path or "/",
        query=parse_qsl(str(environ.get("QUERY_STRING") or ""), keep_blank_values=True),
        headers=headers,
        body=environ["wsgi.input"].read(length) if length else b"",
    )


_REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
