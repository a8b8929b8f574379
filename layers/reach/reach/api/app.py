"""The API resolver: routes, validation and error mapping, with no AWS clients of its own."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
    OpenAPIResponseValidationMiddleware,
)

from reach.api.errors import NotJson, register_error_handlers
from reach.api.routes import (
    appointments,
    callbacks,
    campaigns,
    contacts,
    fhir,
    imports,
    lists,
    surveys,
)
from reach.api.routes.common import bind_request, refuse_repeated_query
from reach.domain.errors import InvalidInput

API_TITLE = "Reach clinic API"
API_VERSION = "1.0.0"


def build_resolver(logger: Logger) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=json_object)
    # Powertools builds its validation middlewares on the first route unless the resolver has
    # them already: ours reads only JSON bodies.
    app._request_validation_middleware = JsonBodyValidation()
    app._response_validation_middleware = OpenAPIResponseValidationMiddleware(
        validation_serializer=app._serializer,
        has_response_validation_error=app._has_response_validation_error,
    )
    app.use(middlewares=[bind_request, refuse_repeated_query])
    app.include_router(appointments.router)
    app.include_router(callbacks.router)
    app.include_router(campaigns.router)
    app.include_router(contacts.router)
    app.include_router(lists.router)
    app.include_router(imports.router)
    app.include_router(fhir.router)
    app.include_router(surveys.router)
    register_error_handlers(app, logger)
    return app


class JsonBodyValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, reading a body as JSON only. Powertools also reads
    forms (whose body then comes back as a field name in the errors, phone number and all)
    and multipart bodies (a missing boundary raises past its own error handling). Every
    body this API takes is a JSON object: anything else is refused with 415."""

    def _get_body(self, app: Any) -> dict[str, Any]:
        content_type = str(app.current_event.headers.get("content-type") or "").strip()
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type and media_type != "application/json":
            raise NotJson(content_type)
        body: dict[str, Any] = app.current_event.json_body
        return body


def json_object(text: str) -> dict[str, Any]:
    """Every body this API takes is one JSON object. Powertools, given an array, validates its
    first element and drops the rest; given null or a number, it reports a missing field.
    Both are refused here, before any route runs, and so is a key given twice (JSON keeps
    the last one silently). Text that is not JSON at all is refused naming where it stops
    being JSON."""
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            "body",
            f"is not valid JSON: {error.msg.lower()} at line {error.lineno}, column {error.colno}",
        ) from None
    if not isinstance(value, dict):
        raise InvalidInput("body", f"must be a JSON object {{...}}, not {_json_kind(value)}")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise InvalidInput(key, "is given twice in one object")
        seen[key] = value
    return seen


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return "a number"


def openapi_json(logger: Logger) -> str:
    """The OpenAPI document generated from the routes and schemas, with the bodies that
    routes read themselves (a CSV import) described where Powertools cannot."""
    generated = build_resolver(logger).get_openapi_json_schema(
        title=API_TITLE,
        version=API_VERSION,
        description=(
            "Book, reschedule and cancel appointments; Reach plans and sends reminders. "
            "Read each appointment's conversation, work the callback requests, and keep "
            "recipients' consent."
        ),
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},  # type: ignore[dict-item]
        security=[{"bearer": []}],
    )
    document = json.loads(generated)
    for (path, method), body in imports.REQUEST_BODIES.items():
        document["paths"][path][method]["requestBody"] = body
    return json.dumps(document, indent=2)
