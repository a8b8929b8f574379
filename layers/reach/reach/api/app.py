"""The API resolver: routes, validation and error mapping, with no AWS clients of its own."""

from __future__ import annotations

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from reach.api.errors import register_error_handlers
from reach.api.routes import appointments, callbacks, contacts
from reach.api.routes.common import bind_request

API_TITLE = "Reach clinic API"
API_VERSION = "1.0.0"


def build_resolver(logger: Logger) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    app.use(middlewares=[bind_request])
    app.include_router(appointments.router)
    app.include_router(callbacks.router)
    app.include_router(contacts.router)
    register_error_handlers(app, logger)
    return app


def openapi_json(logger: Logger) -> str:
    """The OpenAPI document generated from the routes and schemas."""
    return build_resolver(logger).get_openapi_json_schema(
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
