"""Routes for /appointments. Each route: read the tenant, call one service method, shape."""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from reach.api.schemas import (
    AppointmentList,
    AppointmentView,
    CreateAppointmentRequest,
    ErrorBody,
    UpdateAppointmentRequest,
)
from reach.domain.errors import InvalidInput, Unauthorized
from reach.domain.models import AppointmentStatus
from reach.observability import build_metrics
from reach.services.appointments import AppointmentChanges, AppointmentService, NewAppointment

router = Router()
# Powertools Metrics instances share one buffer; the handler's log_metrics flushes it.
metrics = build_metrics("reach-api")

AppointmentId = Annotated[str, Path(min_length=5, max_length=64, pattern=r"^apt_[0-9a-f]{32}$")]


def _tenant_id() -> str:
    """The tenant, from the authorizer's context and nowhere else."""
    request_context = router.current_event.raw_event.get("requestContext") or {}
    authorizer = request_context.get("authorizer") or {}
    tenant_id = authorizer.get("tenant_id") if isinstance(authorizer, dict) else None
    if not isinstance(tenant_id, str) or not tenant_id:
        raise Unauthorized("no tenant in the authorizer context")
    return tenant_id


def _service() -> AppointmentService:
    service: AppointmentService = router.context["services"].appointments
    return service


def _documented(description: str, model: type[BaseModel]) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": model}}}


_ERRORS: dict[int, OpenAPIResponse] = {
    401: _documented("No usable API key", ErrorBody),
    403: _documented("Revoked API key", ErrorBody),
    404: _documented("No such appointment for this tenant", ErrorBody),
    409: _documented("Stale version, or the appointment is closed", ErrorBody),
    422: _documented("Invalid input; `fields` names each field at fault", ErrorBody),
}


@router.post(
    "/appointments",
    summary="Book an appointment and plan its reminders",
    responses={
        201: _documented("Booked", AppointmentView),
        200: _documented("An earlier booking with the same external_id", AppointmentView),
        **_ERRORS,
    },
)
def create_appointment(
    body: Annotated[CreateAppointmentRequest, Body()],
) -> Response[AppointmentView]:
    appointment, created = _service().create(
        _tenant_id(),
        NewAppointment(
            phone=body.phone,
            starts_at=body.starts_at,
            timezone=body.timezone,
            external_id=body.external_id,
            first_name=body.first_name,
            location=body.location,
            kind=body.kind,
            language=body.language,
            reminders=body.reminders,
        ),
    )
    if created:
        metrics.add_metric(name="AppointmentBooked", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=(HTTPStatus.CREATED if created else HTTPStatus.OK).value,
        content_type=content_types.APPLICATION_JSON,
        body=AppointmentView.of(appointment),
    )


@router.get(
    "/appointments",
    summary="List appointments by start time and status",
    responses={200: _documented("A page of appointments", AppointmentList), **_ERRORS},
)
def list_appointments(
    starts_from: Annotated[datetime | None, Query(alias="from")] = None,
    starts_to: Annotated[datetime | None, Query(alias="to")] = None,
    status: Annotated[AppointmentStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> AppointmentList:
    for name, value in (("from", starts_from), ("to", starts_to)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(name, "needs a UTC offset, e.g. 2026-03-08T00:00:00-05:00")
    page = _service().list_page(_tenant_id(), starts_from, starts_to, status, limit, next_token)
    return AppointmentList(
        items=[AppointmentView.of(a, with_reminders=False) for a in page.items],
        next_token=page.next_token,
    )


@router.get(
    "/appointments/<id>",
    summary="An appointment with its reminders",
    responses={200: _documented("The appointment", AppointmentView), **_ERRORS},
)
def get_appointment(id: AppointmentId) -> AppointmentView:
    return AppointmentView.of(_service().get(_tenant_id(), id))


@router.patch(
    "/appointments/<id>",
    summary="Reschedule or change details",
    responses={200: _documented("The changed appointment", AppointmentView), **_ERRORS},
)
def update_appointment(
    id: AppointmentId,
    body: Annotated[UpdateAppointmentRequest, Body()],
) -> AppointmentView:
    changes = AppointmentChanges(
        starts_at=body.starts_at,
        timezone=body.timezone,
        phone=body.phone,
        first_name=body.first_name,
        location=body.location,
        kind=body.kind,
        language=body.language,
        reminders=body.reminders,
        expected_version=body.version,
        cleared=frozenset(
            name
            for name in ("first_name", "location")
            if name in body.model_fields_set and getattr(body, name) is None
        ),
    )
    appointment = _service().change(_tenant_id(), id, changes)
    if body.starts_at is not None:
        metrics.add_metric(name="AppointmentRescheduled", unit=MetricUnit.Count, value=1)
    return AppointmentView.of(appointment)


@router.post(
    "/appointments/<id>/cancel",
    summary="Cancel an appointment and its reminders",
    responses={200: _documented("The cancelled appointment", AppointmentView), **_ERRORS},
)
def cancel_appointment(id: AppointmentId) -> AppointmentView:
    appointment = _service().cancel(_tenant_id(), id)
    metrics.add_metric(name="AppointmentCancelled", unit=MetricUnit.Count, value=1)
    return AppointmentView.of(appointment)
