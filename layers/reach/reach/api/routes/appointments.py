"""Routes for /appointments. Each route: read the tenant, call one service method, shape."""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.metrics import MetricUnit

from reach.api.routes.common import (
    BAD_NEXT_TOKEN,
    documented,
    errors,
    services,
    tenant_id,
    whole_number_query,
)
from reach.api.schemas import (
    AppointmentList,
    AppointmentView,
    CreateAppointmentRequest,
    IsoTimestamp,
    MessageList,
    MessageOrder,
    MessageView,
    NoticeRequestBody,
    NoticeView,
    UpdateAppointmentRequest,
)
from reach.domain.errors import InvalidInput
from reach.domain.models import Appointment, AppointmentStatus
from reach.observability import build_metrics
from reach.services.appointments import AppointmentService

router = Router()
# Powertools Metrics instances share one buffer; the handler's log_metrics flushes it.
metrics = build_metrics("reach-api")

AppointmentId = Annotated[str, Path(min_length=5, max_length=64, pattern=r"^apt_[0-9a-f]{32}$")]


def _service() -> AppointmentService:
    return services().appointments


_ERRORS = errors(
    "No such appointment for this tenant",
    {
        409: "Stale version, or the appointment is closed; for a booking, its `external_id` "
        "belongs to a cancelled appointment or to one with other details (`fields` names "
        "external_id, the message the appointment)"
    },
)


@router.post(
    "/appointments",
    summary="Book an appointment and plan its reminders",
    responses={
        201: documented("Booked", AppointmentView),
        200: documented("An earlier booking with the same external_id", AppointmentView),
        **_ERRORS,
    },
)
def create_appointment(
    body: Annotated[CreateAppointmentRequest, Body()],
) -> Response[AppointmentView]:
    booking = _service().book(tenant_id(), body.to_command())
    if booking.created:
        metrics.add_metric(name="AppointmentBooked", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=(HTTPStatus.CREATED if booking.created else HTTPStatus.OK).value,
        content_type=content_types.APPLICATION_JSON,
        body=AppointmentView.of(booking.appointment, opted_out=booking.opted_out),
    )


@router.get(
    "/appointments",
    summary="List appointments by start time and status",
    responses={
        200: documented("A page of appointments", AppointmentList),
        **BAD_NEXT_TOKEN,
        **_ERRORS,
    },
)
def list_appointments(
    starts_from: Annotated[Annotated[datetime, IsoTimestamp] | None, Query(alias="from")] = None,
    starts_to: Annotated[Annotated[datetime, IsoTimestamp] | None, Query(alias="to")] = None,
    status: Annotated[AppointmentStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> AppointmentList:
    whole_number_query("limit")
    for name, value in (("from", starts_from), ("to", starts_to)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(name, "needs a UTC offset, e.g. 2026-03-08T00:00:00-05:00")
    page = _service().list_page(tenant_id(), starts_from, starts_to, status, limit, next_token)
    return AppointmentList(
        items=[AppointmentView.of(a, with_reminders=False) for a in page.items],
        next_token=page.next_token,
    )


@router.get(
    "/appointments/<id>",
    summary="An appointment with its reminders",
    responses={200: documented("The appointment", AppointmentView), **_ERRORS},
)
def get_appointment(id: AppointmentId) -> AppointmentView:
    return _with_consent(_service().get(tenant_id(), id))


@router.patch(
    "/appointments/<id>",
    summary="Reschedule or change details",
    responses={200: documented("The changed appointment", AppointmentView), **_ERRORS},
)
def update_appointment(
    id: AppointmentId,
    body: Annotated[UpdateAppointmentRequest, Body()],
) -> AppointmentView:
    appointment = _service().change(tenant_id(), id, body.to_command())
    if body.starts_at is not None:
        metrics.add_metric(name="AppointmentRescheduled", unit=MetricUnit.Count, value=1)
    return _with_consent(appointment)


def _with_consent(appointment: Appointment) -> AppointmentView:
    """A single appointment with its recipient's consent: one more read (GetItem), so lists
    and cancellations leave it out."""
    opted_out = _service().opted_out(appointment.tenant_id, appointment.phone)
    return AppointmentView.of(appointment, opted_out=opted_out)


@router.post(
    "/appointments/<id>/cancel",
    summary="Cancel an appointment and its reminders",
    responses={200: documented("The cancelled appointment", AppointmentView), **_ERRORS},
)
def cancel_appointment(id: AppointmentId) -> AppointmentView:
    appointment = _service().cancel(tenant_id(), id)
    metrics.add_metric(name="AppointmentCancelled", unit=MetricUnit.Count, value=1)
    return AppointmentView.of(appointment)


_OUTCOME_ERRORS = errors(
    "No such appointment for this tenant",
    {409: "The visit is closed otherwise: cancelled, or closed with the other outcome"},
)


@router.post(
    "/appointments/<id>/complete",
    summary="Close a visit as completed; its pending reminders are retired",
    responses={200: documented("The completed appointment", AppointmentView), **_OUTCOME_ERRORS},
)
def complete_appointment(id: AppointmentId) -> AppointmentView:
    appointment = _service().close_visit(tenant_id(), id, AppointmentStatus.COMPLETED)
    metrics.add_metric(name="AppointmentCompleted", unit=MetricUnit.Count, value=1)
    return AppointmentView.of(appointment)


@router.post(
    "/appointments/<id>/no-show",
    summary="Close a visit as a no-show; its pending reminders are retired",
    responses={200: documented("The appointment, a no-show", AppointmentView), **_OUTCOME_ERRORS},
)
def no_show_appointment(id: AppointmentId) -> AppointmentView:
    appointment = _service().close_visit(tenant_id(), id, AppointmentStatus.NO_SHOW)
    metrics.add_metric(name="AppointmentNoShow", unit=MetricUnit.Count, value=1)
    return AppointmentView.of(appointment)


_NOTICE_ERRORS = errors(
    "No such appointment for this tenant",
    {
        409: "No notice was sent: the appointment is closed (`appointment_closed`), the "
        "recipient opted out (`opted_out`), or it is the recipient's quiet hours "
        "(`quiet_hours`; the message says until when: a notice is never held). Asked with "
        "`Prefer: respond-async`, only `appointment_closed` is answered here; the rest end "
        "the notice `skipped` with a `NoticeSkipped` event",
    },
)


@router.post(
    "/appointments/<id>/notices",
    summary="Tell the customer the technician is on the way, or running late; sent at once",
    responses={
        202: documented("Accepted: the notice is queued for sending", NoticeView),
        200: documented(
            "A repeat (the same Idempotency-Key, or the same type with an ETA within 5 "
            "minutes of the type's latest notice): the first notice, not sent again",
            NoticeView,
        ),
        **_NOTICE_ERRORS,
    },
)
def create_notice(
    id: AppointmentId,
    body: Annotated[NoticeRequestBody, Body()],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=128,
            pattern=r"^[\x21-\x7e]+$",
            description="Repeating a request with the same key answers with the first notice",
        ),
    ] = None,
    prefer: Annotated[
        str | None,
        Header(
            alias="Prefer",
            max_length=512,
            description="`respond-async` (RFC 7240): answer after one write, without reading "
            "the visit. The sender then makes the other checks, and a notice it does not send "
            "ends `skipped` with a `NoticeSkipped` event (`opted_out`, `quiet_hours`, "
            "`repeat`, `too_long`); the answer's `eta` is in UTC. Other preferences are "
            "ignored",
        ),
    ] = None,
) -> Response[NoticeView]:
    wait = not _prefers_async(prefer)
    asked = services().notices.ask(tenant_id(), id, body.to_request(), idempotency_key, wait=wait)
    if asked.created:
        metrics.add_metric(name="NoticeAsked", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=(HTTPStatus.ACCEPTED if asked.created else HTTPStatus.OK).value,
        content_type=content_types.APPLICATION_JSON,
        body=NoticeView.of(asked.notice, asked.zone or "UTC"),
        headers={} if wait else {"Preference-Applied": "respond-async"},
    )


def _prefers_async(prefer: str | None) -> bool:
    """Whether a ``Prefer`` header (RFC 7240: comma-separated preferences, each a token with
    an optional ``=value`` and ``;`` parameters) asks for ``respond-async``."""
    if not prefer:
        return False
    tokens = {part.split(";")[0].split("=")[0].strip().lower() for part in prefer.split(",")}
    return "respond-async" in tokens


@router.get(
    "/appointments/<id>/messages",
    summary="The appointment's conversation: reminders, notices, replies and answers, oldest "
    "first "
    "(or newest first), a page at a time",
    responses={
        200: documented("A page of the conversation", MessageList),
        **BAD_NEXT_TOKEN,
        **errors("No such appointment for this tenant"),
    },
)
def list_messages(
    id: AppointmentId,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    order: Annotated[MessageOrder, Query()] = MessageOrder.OLDEST,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> MessageList:
    whole_number_query("limit")
    thread = services().threads.of_appointment(
        tenant_id(), id, limit, next_token, newest_first=order is MessageOrder.NEWEST
    )
    return MessageList(
        items=[MessageView.of(m, thread.timezone) for m in thread.messages],
        next_token=thread.next_token,
    )
