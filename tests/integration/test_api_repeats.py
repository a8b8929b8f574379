"""Repeated requests through the API handler: the exact same request again is answered as the
first was (idempotent), and a repeat with other details is refused with 409 naming the field,
instead of being answered 200 while its details are dropped (issue #17, item 2)."""

from __future__ import annotations

from typing import Any

import pytest

from api_client import Api
from builders import PATIENT, local_day
from conftest import load_function

OTHER_PATIENT = "+12025550199"
EVIDENCE = "Signed the SMS consent form at the front desk today"


def in_days(days: int, hour: int = 15, minute: int = 0) -> str:
    return local_day(days, hour, minute).isoformat()


@pytest.fixture
def api(tenants, lambda_context) -> Api:
    return Api(load_function("api"), lambda_context, tenants[0])


def _booking(**fields: Any) -> dict[str, Any]:
    return {
        "phone": PATIENT,
        "starts_at": in_days(5),
        "timezone": "America/New_York",
        "external_id": "emr-9",
        **fields,
    }


def _appointments(api: Api) -> list[dict[str, Any]]:
    _, page = api.call("GET", "/appointments", query={"status": "scheduled"})
    return page["items"]


# --- a booking under an external_id already used ------------------------------------------


def test_a_booking_whose_external_id_belongs_to_a_cancelled_appointment_gets_409_naming_it(api):
    # given a booking that was cancelled
    first = api.book(**_booking())
    api.call("POST", "/appointments/{id}/cancel", params={"id": first["id"]})

    # when the scheduling system books again under the same external_id
    status, error = api.call("POST", "/appointments", body=_booking(starts_at=in_days(8)))

    # then it is refused, naming external_id and the cancelled appointment
    assert status == 409
    assert error["error"] == "conflict"
    assert [f["field"] for f in error["fields"]] == ["external_id"]
    assert first["id"] in error["message"]
    assert "cancelled" in error["message"]
    # and nothing new was booked, the cancelled appointment is unchanged
    assert _appointments(api) == []
    assert api.appointment(first["id"])["status"] == "cancelled"


def test_the_same_body_for_a_cancelled_appointment_is_refused_too(api):
    # A repeat of a cancelled booking is most likely a new booking meant to replace it.
    first = api.book(**_booking())
    api.call("POST", "/appointments/{id}/cancel", params={"id": first["id"]})

    status, error = api.call("POST", "/appointments", body=_booking())

    assert status == 409
    assert error["fields"][0]["field"] == "external_id"
    assert first["id"] in error["fields"][0]["message"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"starts_at": in_days(6)}, "starts_at"),
        ({"phone": OTHER_PATIENT}, "phone"),
        ({"timezone": "America/Chicago"}, "timezone"),
        ({"kind": "service_visit"}, "kind"),
        ({"language": "es"}, "language"),
        ({"first_name": "Rosa"}, "first_name"),
        ({"location": "12 Main St"}, "location"),
        ({"reminders": ["PT3H"]}, "reminders"),
    ],
)
def test_a_booking_whose_external_id_belongs_to_one_with_other_details_gets_409(api, change, named):
    # given a booking under an external_id
    first = api.book(**_booking())

    # when another booking comes with the same external_id but other details
    status, error = api.call("POST", "/appointments", body=_booking(**change))

    # then it is refused, naming external_id, the appointment and the differing field
    assert status == 409, error
    assert error["error"] == "conflict"
    [field] = error["fields"]
    assert field["field"] == "external_id"
    assert first["id"] in field["message"]
    assert named in field["message"]
    assert error["message"] == f"external_id: {field['message']}"
    # and the stored appointment is as it was
    assert api.appointment(first["id"]) == first


def test_a_booking_that_drops_a_first_name_it_had_is_other_details(api):
    first = api.book(**_booking(first_name="Ana"))

    status, error = api.call("POST", "/appointments", body=_booking())

    assert status == 409
    assert "first_name" in error["message"]
    assert api.appointment(first["id"])["first_name"] == "Ana"


def test_the_same_booking_again_returns_the_stored_appointment_whatever_the_phone_format(api):
    first = api.book(**_booking(first_name="Ana", reminders=["PT2H", "P1D"]))

    status, again = api.call(
        "POST",
        "/appointments",
        body=_booking(phone="(202) 555-0187", first_name="Ana", reminders=["PT2H", "P1D"]),
    )

    assert status == 200
    assert again == first


def test_a_repeat_that_left_the_defaults_out_still_finds_its_booking_after_they_change(
    api, aws, tenants
):
    # given a booking that took the tenant's default time zone and reminders
    body = {"phone": PATIENT, "starts_at": in_days(5), "external_id": "emr-10"}
    status, first = api.call("POST", "/appointments", body=body)
    assert status == 201
    # when the tenant's defaults change and the same body is sent again
    aws.admin.update_tenant(tenants[0], timezone="America/Chicago", reminder_offsets=("P3D",))
    status, again = api.call("POST", "/appointments", body=body)

    # then it is the same booking: what the request left out is not compared
    assert status == 200
    assert again["id"] == first["id"]
    assert again["reminder_offsets"] == first["reminder_offsets"] == ["P1D", "PT2H"]


def test_a_rescheduled_booking_sent_again_as_first_booked_gets_409(api):
    # The appointment moved since (a PATCH): the old booking no longer describes it.
    first = api.book(**_booking())
    api.call(
        "PATCH", "/appointments/{id}", params={"id": first["id"]}, body={"starts_at": in_days(7)}
    )

    status, error = api.call("POST", "/appointments", body=_booking())

    assert status == 409
    assert "starts_at" in error["message"]
