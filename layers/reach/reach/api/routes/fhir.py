"""Routes for /fhir/Appointment: a clinic's scheduling system sends FHIR R4 Appointments,
and Reach books, reschedules, cancels or closes the appointment they describe.

Every answer is an R4 OperationOutcome (application/fhir+json): what Reach did, or each
element at fault. Success answers carry no copy of the resource: it holds the patient's name
and number, and the clinic has it already (docs/facts.md#hipaa-minimum-necessary).

The body is read here, not by the resolver's JSON-only validation: the routes take no
``Body()`` parameter, so that validation never runs for them and stays as strict as it is
for every other route. The FHIR library is imported inside the request (``_receive``): the
API's cold start does not load it.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, Field

from reach.api.routes.common import _resolver, documented, services, tenant_id
from reach.api.schemas import ErrorBody
from reach.domain.errors import Conflict, InvalidInput, NotFound, ReachError
from reach.observability import build_metrics
from reach.services.fhir_appointments import (
    FhirAppointments,
    FhirOutcome,
    FhirRefusal,
    FhirResult,
)

if TYPE_CHECKING:
    from reach.api.fhir import Issue

router = Router()
metrics = build_metrics("reach-api")

FHIR_JSON = "application/fhir+json"
#: An R4 id (R4 datatypes.html#id); checked here because a path parameter is no resource.
_ID_PATTERN = r"^[A-Za-z0-9\-.]{1,64}$"


class OperationOutcomeIssue(BaseModel):
    severity: Literal["fatal", "error", "warning", "information"]
    code: str = Field(description="An R4 IssueType code, e.g. required, business-rule")
    diagnostics: str | None = None
    expression: list[str] | None = Field(
        default=None, description="The element at fault, e.g. Appointment.start"
    )


class OperationOutcomeView(BaseModel):
    """An R4 OperationOutcome, as this API writes it."""

    resourceType: Literal["OperationOutcome"]
    issue: list[OperationOutcomeIssue]


def _fhir(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {FHIR_JSON: {"model": OperationOutcomeView}}}


_RESPONSES: dict[int, OpenAPIResponse] = {
    200: _fhir(
        "Applied: updated, rescheduled, cancelled, closed, or nothing to change (the "
        "diagnostics say which)"
    ),
    400: _fhir(
        "Not an R4 Appointment: no body, not JSON, another resource type, or refused by the "
        "FHIR library (each issue names its element); on PUT, an id unlike the URL's"
    ),
    401: documented("No usable API key", ErrorBody),
    403: documented("Revoked API key", ErrorBody),
    404: _fhir("No such appointment for this tenant (it went while the request ran)"),
    409: _fhir("The appointment is closed in Reach (cancelled, completed, a no-show)"),
    415: _fhir("Content-Type is not application/fhir+json or application/json"),
    422: _fhir(
        "A rule Reach needs: a booked status, a start (and end), a mobile to text, a start in "
        "the future; the issue's expression names the element"
    ),
    503: _fhir("The change is stored but its event could not be published: send it again"),
}


@router.post(
    "/fhir/Appointment",
    summary="Book, reschedule, cancel or close an appointment from a FHIR R4 Appointment",
    description="The body is an R4 Appointment (application/fhir+json) with its own id: "
    "the same id again updates the same appointment. See the README's FHIR section.",
    responses={201: _fhir("Booked: a new appointment"), **_RESPONSES},
)
def create_fhir_appointment() -> Response[str]:
    return _receive(None)


@router.put(
    "/fhir/Appointment/<id>",
    summary="Create or update the appointment of a FHIR R4 Appointment by its id",
    description="The body is an R4 Appointment whose id is the URL's. See the README's FHIR "
    "section.",
    responses={201: _fhir("Booked: a new appointment"), **_RESPONSES},
)
def update_fhir_appointment(id: Annotated[str, Path()]) -> Response[str]:
    return _receive(id)


def _receive(path_id: str | None) -> Response[str]:
    from reach.api import fhir  # heavy: the FHIR models load for these routes only

    # Outside the FHIR answers: a request without a tenant is the authorizer's to refuse, in
    # the gateway's error shape (401), as on every route.
    tenant = tenant_id()
    try:
        if path_id is not None:
            _check_path_id(path_id)
        event = _resolver().current_event
        resource = fhir.read_appointment(
            event.decoded_body, event.headers.get("content-type"), path_id
        )
        outcome = FhirAppointments(services().appointments).apply(tenant, resource)
    except fhir.FhirInvalid as invalid:
        return _outcome(HTTPStatus.BAD_REQUEST, invalid.issues)
    except FhirRefusal as refusal:
        issue = fhir.Issue("error", refusal.code, refusal.diagnostics, refusal.expression)
        return _outcome(HTTPStatus(refusal.status), [issue])
    except UnicodeDecodeError:
        issue = fhir.Issue("error", "structure", "the body is not UTF-8 text", "Appointment")
        return _outcome(HTTPStatus.BAD_REQUEST, [issue])
    except ReachError as error:
        status, code = _status_of(error)
        return _outcome(status, [fhir.Issue("error", code, error.message, None)])
    return _applied(outcome, path_id)


def _check_path_id(path_id: str) -> None:
    if not re.fullmatch(_ID_PATTERN, path_id):
        raise FhirRefusal(
            HTTPStatus.BAD_REQUEST,
            "value",
            "Appointment.id",
            "the URL's id must be an R4 id: 1 to 64 letters, digits, '-' and '.'",
        )


def _applied(outcome: FhirOutcome, path_id: str | None) -> Response[str]:
    from reach.api.fhir import Issue

    appointment = outcome.appointment
    named = f"appointment {appointment.appointment_id}" if appointment else "no appointment"
    said = {
        FhirResult.CREATED: f"booked as {named}; its reminders are planned",
        FhirResult.UPDATED: f"updated {named}; a new start replans its reminders",
        FhirResult.CANCELLED: f"cancelled {named} and its reminders",
        FhirResult.CLOSED: f"closed {named}"
        + (f" as {appointment.status.value}" if appointment else ""),
        FhirResult.UNCHANGED: f"nothing to change for {named}",
        FhirResult.NOTHING_BOOKED: "nothing is booked under this id, so nothing changes",
    }[outcome.result]
    if outcome.result is FhirResult.CREATED:
        metrics.add_metric(name="AppointmentBooked", unit=MetricUnit.Count, value=1)
    if outcome.result is FhirResult.CANCELLED:
        metrics.add_metric(name="AppointmentCancelled", unit=MetricUnit.Count, value=1)
    status = HTTPStatus.CREATED if outcome.result is FhirResult.CREATED else HTTPStatus.OK
    return _outcome(status, [Issue("information", "informational", said, None)])


def _outcome(status: HTTPStatus, issues: tuple[Issue, ...] | list[Issue]) -> Response[str]:
    from reach.api.fhir import operation_outcome

    return Response(
        status_code=status.value, content_type=FHIR_JSON, body=operation_outcome(issues)
    )


# Matched in order, so a subclass comes before its base.
_STATUS: tuple[tuple[type[ReachError], HTTPStatus, str], ...] = (
    (InvalidInput, HTTPStatus.UNPROCESSABLE_ENTITY, "business-rule"),
    (NotFound, HTTPStatus.NOT_FOUND, "not-found"),
    (Conflict, HTTPStatus.CONFLICT, "conflict"),
)


def _status_of(error: ReachError) -> tuple[HTTPStatus, str]:
    for kind, status, code in _STATUS:
        if isinstance(error, kind):
            return status, code
    # The bus or a queue failed after the change was stored (EventPublishError): retryable.
    return HTTPStatus.SERVICE_UNAVAILABLE, "transient"
