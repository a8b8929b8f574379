"""Repeated requests through the API handler: the exact same request again is answered as the
first was (idempotent), and a repeat with other details is refused with 409 naming the field,
instead of being answered 200 while its details are dropped (issue #17, item 2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api_client import Api
from builders import PATIENT, local_day
from conftest import load_function
from reach.data.callbacks import CallbackRepository
from reach.data.contacts import ContactRepository
from reach.domain.callbacks import Callback

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


# --- consent changes repeated -------------------------------------------------------------


def test_opting_out_again_with_the_same_note_is_answered_as_the_first_time(api):
    _, first = api.opt_out(PATIENT, {"note": "Asked at the desk"})

    status, again = api.opt_out(PATIENT, {"note": "Asked at the desk"})

    assert status == 200
    assert again["consent_note"] == "Asked at the desk"
    assert again["consent_changed_at"] == first["consent_changed_at"]


def test_opting_out_again_without_a_note_drops_nothing_and_is_200(api):
    api.opt_out(PATIENT, {"note": "Asked at the desk"})

    status, again = api.opt_out(PATIENT)

    assert status == 200
    assert again["consent_note"] == "Asked at the desk"


def test_opting_out_again_with_another_note_gets_409_naming_note(api):
    # given a recipient the clinic opted out with a note
    api.opt_out(PATIENT, {"note": "Asked at the desk"})
    _, first = api.contact(PATIENT)

    # when it opts them out again with another note
    status, error = api.opt_out(PATIENT, {"note": "Asked again by phone"})

    # then the note is not dropped quietly: 409 naming it, and the first record stands
    assert status == 409, error
    assert error["error"] == "conflict"
    assert [f["field"] for f in error["fields"]] == ["note"]
    assert "already opted out" in error["message"]
    assert api.contact(PATIENT) == (200, first)


def test_an_api_opt_out_with_a_note_of_a_number_that_texted_stop_gets_409(api, tenants):
    # given a recipient who opted out by text
    ContactRepository().opt_out(tenants[0], PATIENT, "sms:STOP", datetime.now(UTC))

    # when the clinic opts them out with a note, the record (by text) stands and says so
    status, error = api.opt_out(PATIENT, {"note": "Called to confirm"})

    assert status == 409
    assert error["fields"][0]["field"] == "note"
    assert "sms_keyword" in error["message"]
    # while an opt-out without a note is simply answered: they are opted out
    status, contact = api.opt_out(PATIENT)
    assert (status, contact["opted_out"], contact["consent_source"]) == (200, True, "sms_keyword")


def test_opting_in_again_with_the_same_evidence_is_200_and_with_other_evidence_409(api):
    api.opt_out(PATIENT)
    status, first = api.opt_in(PATIENT, {"evidence": EVIDENCE})
    assert status == 200

    status_same, same = api.opt_in(PATIENT, {"evidence": EVIDENCE})
    status_other, error = api.opt_in(PATIENT, {"evidence": "Consent form signed again"})

    assert status_same == 200
    assert same["consent_changed_at"] == first["consent_changed_at"]
    assert status_other == 409
    assert error["error"] == "conflict"
    assert [f["field"] for f in error["fields"]] == ["evidence"]
    _, stored = api.contact(PATIENT)
    assert stored["consent_note"] == EVIDENCE


# --- callbacks closed again ---------------------------------------------------------------


@pytest.fixture
def closed_callback(api, tenants) -> str:
    requested = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    callback, _ = CallbackRepository().open_callback(
        Callback(
            tenant_id=tenants[0],
            callback_id=f"cb_{7:032x}",
            phone=PATIENT,
            appointment_id=None,
            status="open",
            requested_at=requested,
            expected_by=requested + timedelta(hours=2),
            inbound_message_id="in-7",
        )
    )
    status, _ = _close(api, callback.callback_id, {"outcome": "reached", "note": "Moved"})
    assert status == 200
    return callback.callback_id


def _close(api: Api, callback_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return api.call("POST", "/callbacks/{id}/close", params={"id": callback_id}, body=body)


@pytest.mark.parametrize(
    "body", [{"outcome": "reached", "note": "Moved"}, {"outcome": "reached"}], ids=str
)
def test_closing_a_callback_again_the_same_way_is_200(api, closed_callback, body):
    status, again = _close(api, closed_callback, body)

    assert status == 200
    assert (again["outcome"], again["note"]) == ("reached", "Moved")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "no_answer"}, "outcome"),
        ({"outcome": "reached", "note": "Moved to Friday"}, "note"),
    ],
)
def test_closing_a_callback_again_differently_gets_409_naming_the_field(
    api, closed_callback, body, field
):
    status, error = _close(api, closed_callback, body)

    assert status == 409, error
    assert error["error"] == "conflict"
    assert [f["field"] for f in error["fields"]] == [field]
    _, stored = api.call("GET", "/callbacks/{id}", params={"id": closed_callback})
    assert (stored["outcome"], stored["note"]) == ("reached", "Moved")


# --- cancel takes no body ------------------------------------------------------------------


def test_cancelling_a_cancelled_appointment_again_is_harmless(api):
    # POST /appointments/{id}/cancel carries no details, so a repeat can drop none.
    appointment = api.book()
    _, first = api.call("POST", "/appointments/{id}/cancel", params={"id": appointment["id"]})

    status, again = api.call("POST", "/appointments/{id}/cancel", params={"id": appointment["id"]})

    assert status == 200
    assert again == first
