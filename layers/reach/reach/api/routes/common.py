"""What every router shares: the tenant from the authorizer, the services, documented errors."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel

from reach.api.schemas import ErrorBody
from reach.domain.errors import InvalidInput, Unauthorized

if TYPE_CHECKING:
    from reach.wiring import Services


# The resolver handling the current request. Routes are module-level Routers, and Powertools
# binds a Router to the last resolver that included it; reading the request through the
# resolver that is actually handling it keeps two resolvers in one process (two local stacks,
# a test's and the local run's) from answering with each other's services.
_RESOLVER: ContextVar[APIGatewayRestResolver] = ContextVar("reach_api_resolver")


def bind_request(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[object]:
    """Global middleware: the routes below read this request through ``app``."""
    token = _RESOLVER.set(app)
    try:
        return next_middleware(app)
    finally:
        _RESOLVER.reset(token)


def _resolver() -> APIGatewayRestResolver:
    try:
        return _RESOLVER.get()
    except LookupError:
        raise RuntimeError("a route ran outside a request (is bind_request registered?)") from None


def current_event() -> APIGatewayProxyEvent:
    """The request being handled (for a route that reads its body itself)."""
    return _resolver().current_event


def tenant_id() -> str:
    """The tenant, from the authorizer's context and nowhere else."""
    request_context = _resolver().current_event.raw_event.get("requestContext") or {}
    authorizer = request_context.get("authorizer") or {}
    tenant = authorizer.get("tenant_id") if isinstance(authorizer, dict) else None
    if not isinstance(tenant, str) or not tenant:
        raise Unauthorized("no tenant in the authorizer context")
    return tenant


def request_id() -> str:
    """API Gateway's id of this request (in its access log), or a fresh one."""
    request_context = _resolver().current_event.raw_event.get("requestContext") or {}
    value = request_context.get("requestId")
    return value if isinstance(value, str) and value else str(uuid.uuid4())


def refuse_repeated_query(
    app: APIGatewayRestResolver, next_middleware: NextMiddleware
) -> Response[object]:
    """Global middleware: a query parameter given twice (``limit=1&limit=5``) is refused,
    naming it; the validation would quietly keep one of the values."""
    repeated = app.current_event.raw_event.get("multiValueQueryStringParameters") or {}
    for name, values in repeated.items():
        if isinstance(values, list) and len(values) > 1:
            raise InvalidInput(name, "is given more than once")
    return next_middleware(app)


def whole_number_query(name: str) -> None:
    """Refuse an integer query parameter that pydantic read loosely: it takes "4.0", " 6" and
    "+6" for whole numbers. In a query string every value is text, so "6" is the way to write
    six, and anything else is refused, naming the parameter."""
    value = (_resolver().current_event.raw_event.get("queryStringParameters") or {}).get(name)
    if value is not None and not (value.isascii() and value.isdigit()):
        raise InvalidInput(name, "must be a whole number written in digits, e.g. 50")


def services() -> Services:
    built: Services = _resolver().context["services"]
    return built


def documented(description: str, model: type[BaseModel]) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": model}}}


def errors(not_found: str, more: Mapping[int, str] | None = None) -> dict[int, OpenAPIResponse]:
    """A route's error responses: 401, 403, 404 (described by ``not_found``), 422, and any
    ``more`` (status code -> description)."""
    described = {
        401: "No usable API key",
        403: "Revoked API key",
        404: not_found,
        422: "Invalid input; `fields` names each field at fault",
        **(more or {}),
    }
    return {status: documented(text, ErrorBody) for status, text in sorted(described.items())}


#: The answer to a paging token that is not one the listing issued: the client starts over.
BAD_NEXT_TOKEN: dict[int, OpenAPIResponse] = {
    400: documented(
        "`next_token` is not a token this listing issued (error `invalid_next_token`)", ErrorBody
    )
}
