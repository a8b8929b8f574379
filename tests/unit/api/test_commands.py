"""A request body becomes the appointment service's command in one step."""

from __future__ import annotations

from datetime import UTC, datetime

from reach.api.schemas import CreateAppointmentRequest, UpdateAppointmentRequest
from reach.domain.models import AppointmentKind
from reach.services.appointments import AppointmentChanges, NewAppointment

STARTS = datetime(2026, 12, 3, 14, tzinfo=UTC)


def test_a_booking_becomes_a_new_appointment_with_every_field():
    request = CreateAppointmentRequest.model_validate(
        {
            "phone": "+12025550187",
            "starts_at": STARTS.isoformat(),
            "timezone": "America/New_York",
            "external_id": "visit-1",
            "first_name": " Ana ",
            "kind": "service_visit",
            "reminders": ["p1d"],
        }
    )

    assert request.to_command() == NewAppointment(
        phone="+12025550187",
        starts_at=STARTS,
        timezone="America/New_York",
        external_id="visit-1",
        first_name="Ana",
        kind=AppointmentKind.SERVICE_VISIT,
        language="en",
        reminders=["P1D"],
    )


def test_a_patch_keeps_absent_fields_unset_and_names_the_ones_sent_as_null():
    request = UpdateAppointmentRequest.model_validate(
        {"location": None, "first_name": "Ana", "version": 3}
    )

    assert request.to_command() == AppointmentChanges(
        first_name="Ana", expected_version=3, cleared=frozenset({"location"})
    )
