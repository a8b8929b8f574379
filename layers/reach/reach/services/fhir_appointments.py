"""FHIR R4 Appointments, once read and checked at the edge (``reach.api.fhir``), applied to
Reach's appointments: what each Appointment.status means here.

- ``booked``: book the appointment, or bring the booked one up to date (a changed ``start``
  reschedules it). Idempotent by the resource id: the id is the appointment's external id.
- ``cancelled``, and ``entered-in-error`` (the booking should never have existed): cancel it
  and its reminders. Nothing booked under the id: nothing to do, and the answer says so.
- ``noshow`` and ``fulfilled``: close the visit as a no-show, or as completed, like the API's
  own routes; their pending reminders are retired.
- ``arrived`` and ``checked-in``: the patient is there, so there is nothing left to remind
  them of; the appointment stays as it is, and the answer says so.
- ``proposed``, ``pending`` and ``waitlist``: not booked yet, so no reminder may go. Refused
  naming Appointment.status: the clinic sends the resource again once it is booked.

Every refusal names the element at fault: ``expressions`` maps the Reach field a service
error names (``starts_at``, ``phone``...) to the FHIR element it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from reach.data.appointments import ConcurrentChange
from reach.domain.errors import Conflict, InvalidInput, NotFound
from reach.domain.fhir_link import fhir_external_id
from reach.domain.models import Appointment, AppointmentStatus
from reach.services.appointments import (
    AppointmentChanges,
    AppointmentService,
    NewAppointment,
    appointment_id_for,
)

#: The statuses that book; those that close the visit with an outcome; those that leave it.
BOOKS = "booked"
CANCELS = frozenset({"cancelled", "entered-in-error"})
OUTCOMES = {"noshow": AppointmentStatus.NO_SHOW, "fulfilled": AppointmentStatus.COMPLETED}
KEEPS = frozenset({"arrived", "checked-in"})
NOT_BOOKED_YET = frozenset({"proposed", "pending", "waitlist"})
#: R4's AppointmentStatus value set: each is answered above.
R4_STATUSES = frozenset({BOOKS, *CANCELS, *OUTCOMES, *KEEPS, *NOT_BOOKED_YET})


class FhirResult(StrEnum):
    """What applying the resource did."""

    CREATED = "created"
    UPDATED = "updated"
    CANCELLED = "cancelled"
    CLOSED = "closed"
    UNCHANGED = "unchanged"
    NOTHING_BOOKED = "nothing_booked"


@dataclass(frozen=True)
class FhirAppointment:
    """An R4 Appointment as Reach reads it (validated by the FHIR library at the edge)."""

    resource_id: str
    status: str
    starts_at: datetime | None = None
    phone: str | None = None
    first_name: str | None = None
    timezone: str | None = None
    patient_participant: int | None = None
    #: Reach field -> the FHIR element it was read from, e.g. phone -> Appointment.contained[0]
    #: .telecom[1].value.
    expressions: Mapping[str, str] = field(default_factory=dict)

    def expression(self, reach_field: str | None) -> str:
        if reach_field is None:
            return "Appointment"
        return self.expressions.get(reach_field, f"Appointment.{reach_field}")


@dataclass(frozen=True)
class FhirOutcome:
    result: FhirResult
    appointment: Appointment | None


class FhirRefusal(Exception):
    """A resource Reach will not apply, naming the element: ``status`` is the HTTP status the
    route answers (422 a business rule, 409 a clash with what is stored, 404 unknown)."""

    def __init__(self, status: int, code: str, expression: str, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.expression = expression
        self.diagnostics = diagnostics


class FhirAppointments:
    """Applies FHIR Appointments to a tenant's appointments through ``AppointmentService``,
    so that booking rules (a textable mobile, a future start, consent) are the API's own."""

    def __init__(self, appointments: AppointmentService) -> None:
        self._appointments = appointments

    def apply(self, tenant_id: str, resource: FhirAppointment) -> FhirOutcome:
        try:
            return self._apply(tenant_id, resource)
        except InvalidInput as error:
            raise FhirRefusal(
                422, "business-rule", resource.expression(error.field), error.reason
            ) from None
        except ConcurrentChange as error:
            raise FhirRefusal(409, "conflict", "Appointment", error.message) from None
        except Conflict as error:
            # A closed appointment (cancelled, completed, a no-show) changes no more.
            raise FhirRefusal(409, "conflict", "Appointment.status", error.message) from None

    def _apply(self, tenant_id: str, resource: FhirAppointment) -> FhirOutcome:
        status = resource.status
        if status not in R4_STATUSES:
            # The library checks a code's form, not its value set.
            raise FhirRefusal(
                422,
                "code-invalid",
                "Appointment.status",
                f"'{status}' is not an R4 Appointment status",
            )
        if status in NOT_BOOKED_YET:
            raise FhirRefusal(
                422,
                "business-rule",
                "Appointment.status",
                f"'{status}' is not booked yet: Reach reminds of booked appointments; send the "
                "resource again once it is booked",
            )
        existing = self._existing(tenant_id, resource.resource_id)
        if status == BOOKS:
            return self._book(tenant_id, resource, existing)
        if existing is None:
            return FhirOutcome(FhirResult.NOTHING_BOOKED, None)
        if status in CANCELS:
            if existing.status is AppointmentStatus.CANCELLED:
                return FhirOutcome(FhirResult.UNCHANGED, existing)
            cancelled = self._appointments.cancel(tenant_id, existing.appointment_id)
            return FhirOutcome(FhirResult.CANCELLED, cancelled)
        if status in OUTCOMES:
            closed = self._appointments.close_visit(
                tenant_id, existing.appointment_id, OUTCOMES[status]
            )
            return FhirOutcome(FhirResult.CLOSED, closed)
        return FhirOutcome(FhirResult.UNCHANGED, existing)  # KEEPS

    def _book(
        self, tenant_id: str, resource: FhirAppointment, existing: Appointment | None
    ) -> FhirOutcome:
        if existing is None:
            try:
                booking = self._appointments.book(tenant_id, _new_appointment(resource))
            except Conflict as error:
                if error.field != "external_id":
                    raise
                # Another request with this id booked it first: this one is an update of it.
                existing = self._appointments.get(
                    tenant_id, appointment_id_for(tenant_id, fhir_external_id(resource.resource_id))
                )
            else:
                created = FhirResult.CREATED if booking.created else FhirResult.UNCHANGED
                return FhirOutcome(created, booking.appointment)
        if existing.is_closed:
            raise FhirRefusal(
                409,
                "conflict",
                "Appointment.status",
                f"the appointment is {existing.status.value} in Reach and can't be booked again; "
                "book it under a new Appointment.id",
            )
        changes = _changes(resource, existing)
        updated = self._appointments.change(tenant_id, existing.appointment_id, changes)
        result = FhirResult.UNCHANGED if updated.version == existing.version else FhirResult.UPDATED
        return FhirOutcome(result, updated)

    def _existing(self, tenant_id: str, resource_id: str) -> Appointment | None:
        appointment_id = appointment_id_for(tenant_id, fhir_external_id(resource_id))
        try:
            return self._appointments.get(tenant_id, appointment_id)
        except NotFound:
            return None


def _new_appointment(resource: FhirAppointment) -> NewAppointment:
    if resource.starts_at is None or resource.phone is None:
        raise AssertionError("a booked resource is read with its start and mobile")
    return NewAppointment(
        phone=resource.phone,
        starts_at=resource.starts_at,
        timezone=resource.timezone,
        external_id=fhir_external_id(resource.resource_id),
        first_name=resource.first_name,
        fhir_patient_participant=resource.patient_participant,
    )


def _changes(resource: FhirAppointment, existing: Appointment) -> AppointmentChanges:
    """A PUT replaces the resource: what it leaves out (a first name) is cleared. A start
    that did not move is not sent, so an unchanged resource of a started visit still
    applies; only a start that moves must be in the future."""
    starts_at = resource.starts_at if resource.starts_at != existing.starts_at else None
    return AppointmentChanges(
        starts_at=starts_at,
        timezone=resource.timezone,
        phone=resource.phone,
        first_name=resource.first_name,
        fhir_patient_participant=resource.patient_participant,
        cleared=frozenset() if resource.first_name else frozenset({"first_name"}),
    )
