"""The one place where domain errors become HTTP responses."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from reach.api.schemas import ErrorBody, FieldError
from reach.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidToken,
    NotFound,
    ReachError,
    Unauthorized,
)
from reach.ports.events import EventPublishError

# Matched in order, so a subclass comes before its base.
_STATUS: dict[type[ReachError], HTTPStatus] = {
    InvalidToken: HTTPStatus.BAD_REQUEST,
    InvalidInput: HTTPStatus.UNPROCESSABLE_ENTITY,
    NotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    Unauthorized: HTTPStatus.UNAUTHORIZED,
    Forbidden: HTTPStatus.FORBIDDEN,
    # The bus failed after the change was stored: the client cannot fix it by changing input.
    EventPublishError: HTTPStatus.SERVICE_UNAVAILABLE,
}
_SOURCES = {"body", "query", "path", "header", "cookie"}

#: What a value of a patterned field looks like, said in words instead of its pattern.
PATTERN_WORDS: dict[str, str] = {
    "id": "must be an id this API issued, e.g. apt_ or cb_ and 32 hexadecimal digits",
    "external_id": "must be 1 to 128 visible ASCII characters, without spaces",
}
# Pydantic's wording, reworded as the rest of the API speaks: "must be ...".
_LIBRARY_WORDING = (
    (re.compile(r"^Input should be a valid dictionary or object.*$"), "must be a JSON object"),
    (re.compile(r"^Input should be a valid dictionary.*$"), "must be a JSON object"),
    (re.compile(r"^(Input|String|List|Value) should (be|have) "), "must be "),
    (re.compile(r"^Field required$"), "is required"),
    (re.compile(r"^Extra inputs are not permitted$"), "is not a field of this request"),
    (re.compile(r"^Input should be "), "must be "),
)


class NotJson(Exception):
    """A request body that is not JSON (a form, multipart, plain text): every body this API
    takes is a JSON object."""

    def __init__(self, content_type: str, *, expected: str = "application/json") -> None:
        super().__init__(content_type)
        self.content_type = content_type
        #: What the route takes instead (a list import also takes text/csv).
        self.expected = expected


def json_response(
    status: HTTPStatus, body: ErrorBody, headers: Mapping[str, str] | None = None
) -> Response[str]:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump_json(exclude_none=True),
        headers=dict(headers or {}),
    )


def reworded(problem: Mapping[str, Any], field: str) -> str:
    """A validation problem in the API's words: no pattern, no library phrasing."""
    kind = problem.get("type")
    if kind == "string_pattern_mismatch":
        return PATTERN_WORDS.get(field.rsplit(".", 1)[-1], "is not in the form this field takes")
    if kind in _LENGTH_BOUNDS:
        return _length_words(problem, _LENGTH_BOUNDS[kind])
    message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
    for pattern, words in _LIBRARY_WORDING:
        message = pattern.sub(words, message)
    return message


_LENGTH_BOUNDS = {
    "too_long": ("at most", "max_length"),
    "string_too_long": ("at most", "max_length"),
    "too_short": ("at least", "min_length"),
    "string_too_short": ("at least", "min_length"),
}


def _length_words(problem: Mapping[str, Any], bound: tuple[str, str]) -> str:
    """A length limit in the value's own unit: a string's characters, a list's items
    (pydantic speaks of "items" for a string whose check ran after a validator)."""
    words, key = bound
    limit = (problem.get("ctx") or {}).get(key, "?")
    if isinstance(problem.get("input"), str):
        return f"must be {words} {limit} characters long"
    return f"must have {words} {limit} items"


def field_path(location: Sequence[Any]) -> str:
    """('body', 'reminders', 1) -> 'reminders[1]'; ('query', 'from') -> 'from'."""
    parts = list(location)
    if parts and parts[0] in _SOURCES and len(parts) > 1:
        parts = parts[1:]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def register_error_handlers(app: APIGatewayRestResolver, logger: Logger) -> None:
    @app.exception_handler(RequestValidationError)
    def _invalid_request(error: RequestValidationError) -> Response[str]:
        fields = []
        for problem in error.errors():
            field = field_path(problem.get("loc", ()))
            fields.append(FieldError(field=field, message=reworded(problem, field)))
        summary = "; ".join(f"{f.field}: {f.message}" for f in fields)
        logger.info("request rejected", extra={"fields": [f.field for f in fields]})
        return json_response(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            ErrorBody(error="validation_error", message=summary, fields=fields),
        )

    @app.exception_handler(NotJson)
    def _not_json(error: NotJson) -> Response[str]:
        reason = f"must be {error.expected}, not {error.content_type[:60]!r}"
        return _refused(
            logger,
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type",
            reason,
        )

    @app.exception_handler(Exception)
    def _fault(error: Exception) -> Response[str]:
        # Ours, not the client's: logged with its traceback, answered in the one error shape
        # (API Gateway would otherwise answer 502 with its own body).
        logger.exception("request failed")
        return _internal_error()

    @app.exception_handler(UnicodeDecodeError)
    def _undecodable_body(error: UnicodeDecodeError) -> Response[str]:
        # API Gateway passes a body that is not UTF-8 base64-encoded, and Powertools decodes
        # it as UTF-8 when a route reads it. JSON must be UTF-8 (RFC 8259, section 8.1).
        if not _body_is_undecodable(app.current_event.raw_event):
            logger.exception("request failed")  # not the client's body: a fault of ours
            return _internal_error()
        reason = f"is not UTF-8 text (byte 0x{error.object[error.start]:02x} at {error.start})"
        return _refused(logger, HTTPStatus.UNPROCESSABLE_ENTITY, "validation_error", "body", reason)

    @app.not_found
    def _no_route(_: Exception) -> Response[str]:
        event = app.current_event
        allowed = allowed_methods(app, event.path)
        if not allowed:
            return json_response(
                HTTPStatus.NOT_FOUND, ErrorBody(error="not_found", message="no such route")
            )
        method = event.http_method.upper()[:16]
        return json_response(
            HTTPStatus.METHOD_NOT_ALLOWED,
            ErrorBody(
                error="method_not_allowed",
                message=f"{method} is not a method of this route; it takes {', '.join(allowed)}",
            ),
            headers={"Allow": ", ".join(allowed)},
        )

    @app.exception_handler(ReachError)
    def _domain_error(error: ReachError) -> Response[str]:
        status = next(
            (code for kind, code in _STATUS.items() if isinstance(error, kind)),
            HTTPStatus.BAD_REQUEST,
        )
        # An invalid value, or a conflict with what is stored, names the field at fault.
        fields = (
            [FieldError(field=error.field, message=error.reason)]
            if isinstance(error, InvalidInput | Conflict) and error.field is not None
            else None
        )
        return json_response(
            status, ErrorBody(error=error.code, message=error.message, fields=fields)
        )


def allowed_methods(app: APIGatewayRestResolver, path: str) -> list[str]:
    """The methods the resolver routes for ``path`` (none: no such route)."""
    # Powertools keeps its route table private; the 405 tests notice if that changes.
    routes = [*app._static_routes, *app._dynamic_routes]
    return sorted({route.method for route in routes if route.rule.match(path)})


def _refused(
    logger: Logger, status: HTTPStatus, error: str, field: str, reason: str
) -> Response[str]:
    """A refusal naming one field, logged without the request's content."""
    logger.info("request rejected", extra={"fields": [field]})
    return json_response(
        status,
        ErrorBody(
            error=error,
            message=f"{field}: {reason}",
            fields=[FieldError(field=field, message=reason)],
        ),
    )


def _internal_error() -> Response[str]:
    return json_response(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        ErrorBody(error="internal_error", message="the request failed on our side; try again"),
    )


def _body_is_undecodable(event: dict[str, Any]) -> bool:
    body = event.get("body")
    if not event.get("isBase64Encoded") or not isinstance(body, str):
        return False
    try:
        base64.b64decode(body.encode()).decode()
    except UnicodeDecodeError:
        return True
    except ValueError:
        return False
    return False
