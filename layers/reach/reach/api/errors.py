"""The one place where domain errors become HTTP responses."""

from __future__ import annotations

import base64
from collections.abc import Sequence
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


def json_response(status: HTTPStatus, body: ErrorBody) -> Response[str]:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump_json(exclude_none=True),
    )


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
            message = str(problem.get("msg", "invalid"))
            if problem.get("type") == "json_invalid":
                message = "the body is not valid JSON"
            message = message.removeprefix("Value error, ")
            fields.append(FieldError(field=field_path(problem.get("loc", ())), message=message))
        summary = "; ".join(f"{f.field}: {f.message}" for f in fields)
        logger.info("request rejected", extra={"fields": [f.field for f in fields]})
        return json_response(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            ErrorBody(error="validation_error", message=summary, fields=fields),
        )

    @app.exception_handler(UnicodeDecodeError)
    def _undecodable_body(error: UnicodeDecodeError) -> Response[str]:
        # API Gateway passes a body that is not UTF-8 base64-encoded, and Powertools decodes
        # it as UTF-8 when a route reads it. JSON must be UTF-8 (RFC 8259, section 8.1).
        if not _body_is_undecodable(app.current_event.raw_event):
            raise error  # not the client's body: a fault of ours, not a 4xx
        reason = f"is not UTF-8 text (byte 0x{error.object[error.start]:02x} at {error.start})"
        logger.info("request rejected", extra={"fields": ["body"]})
        return json_response(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            ErrorBody(
                error="validation_error",
                message=f"body: {reason}",
                fields=[FieldError(field="body", message=reason)],
            ),
        )

    @app.not_found
    def _no_route(_: Exception) -> Response[str]:
        return json_response(
            HTTPStatus.NOT_FOUND, ErrorBody(error="not_found", message="no such route")
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
