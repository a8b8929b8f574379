"""Who a booking may text (issue #17 item 3): the API function refuses numbers no text can
reach, and tells the clinic at booking when the recipient has opted out."""

from __future__ import annotations

from typing import Any

import pytest

from api_client import Api
from builders import CLINIC_NUMBER, PATIENT, local_day
from conftest import load_function
from reach.data.tables import NUMBER_SK, SenderNumberItem, number_pk

#: The second tenant's sending number (tests/conftest.py, ``tenants``).
OTHER_TENANT_NUMBER = "+13125550100"
UK_MOBILE = "+447911123456"


@pytest.fixture
def api(tenants, lambda_context) -> Api:
    return Api(load_function("api"), lambda_context, tenants[0])


def booking(phone: str, **fields: Any) -> dict[str, Any]:
    return {
        "phone": phone,
        "starts_at": local_day(5, 15).isoformat(),
        "timezone": "America/New_York",
        **fields,
    }


def refused_naming_phone(status: int, body: dict[str, Any], reason: str) -> None:
    assert status == 422, body
    assert body["error"] == "validation_error"
    assert [field["field"] for field in body["fields"]] == ["phone"]
    assert reason in body["fields"][0]["message"]


def booked_count(api: Api) -> int:
    status, page = api.call("GET", "/appointments")
    assert status == 200, page
    return len(page["items"])


@pytest.mark.parametrize(
    ("phone", "reason"),
    [
        ("+1 800 555 0100", "toll-free"),
        ("(888) 555-0100", "toll-free"),
        ("+44 909 879 0000", "premium-rate"),
        ("+44 20 7946 0000", "landline"),
        ("+1 202 555 0187 ext. 12", "extension (12)"),
        ("(202) 555-0187 x7", "extension (7)"),
        (CLINIC_NUMBER, "your own sending number"),
        ("(202) 555-0143", "your own sending number"),
        (OTHER_TENANT_NUMBER, "a number Reach sends from"),
    ],
)
def test_given_a_number_no_text_can_reach_when_booked_then_422_names_phone_and_nothing_is_booked(
    api, phone, reason
):
    status, body = api.call("POST", "/appointments", body=booking(phone))

    refused_naming_phone(status, body, reason)
    assert booked_count(api) == 0
    status, contact = api.contact(PATIENT)
    assert contact["consent_source"] is None


def test_given_another_number_the_tenant_owns_when_booked_then_it_is_refused_as_its_own(
    api, tenants
):
    # Given a second number claimed by the clinic in the tenants table's number lookup
    SenderNumberItem(pk=number_pk("+12025550144"), sk=NUMBER_SK, tenant_id=tenants[0]).save()

    status, body = api.call("POST", "/appointments", body=booking("+12025550144"))

    refused_naming_phone(status, body, "your own sending number")
    assert booked_count(api) == 0


@pytest.mark.parametrize(
    ("phone", "reason"),
    [
        ("+44 20 7946 0000", "landline"),
        ("+1 888 555 0100", "toll-free"),
        ("+1 202 555 0199 ext. 3", "extension"),
        (CLINIC_NUMBER, "your own sending number"),
    ],
)
def test_given_a_booking_when_its_phone_is_changed_to_an_unreachable_number_then_422_and_unchanged(
    api, phone, reason
):
    appointment = api.book()

    status, body = api.call(
        "PATCH", "/appointments/{id}", params={"id": appointment["id"]}, body={"phone": phone}
    )

    refused_naming_phone(status, body, reason)
    assert api.appointment(appointment["id"])["phone"] == PATIENT
    assert api.appointment(appointment["id"])["version"] == appointment["version"]


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("(202) 555-0187", PATIENT),  # US: fixed line or mobile, the plan cannot tell
        ("+44 7911 123456", UK_MOBILE),
    ],
)
def test_given_a_number_that_takes_texts_when_booked_then_it_is_booked_opted_in(
    api, phone, expected
):
    status, appointment = api.call("POST", "/appointments", body=booking(phone))

    assert status == 201, appointment
    assert appointment["phone"] == expected
    assert appointment["consent"] == "opted_in"


def test_given_an_opted_out_number_when_booked_then_it_is_booked_and_the_answer_says_opted_out(
    api,
):
    # Given a recipient who opted out of the clinic's texts
    status, _ = api.opt_out(PATIENT)
    assert status == 200

    # When the clinic books them, then again with the same external_id
    status, booked = api.call("POST", "/appointments", body=booking(PATIENT, external_id="b-1"))
    again_status, again = api.call(
        "POST", "/appointments", body=booking(PATIENT, external_id="b-1")
    )

    # Then the booking stands, and every answer about it says so before the day
    assert status == 201, booked
    assert booked["consent"] == "opted_out"
    assert (again_status, again["consent"]) == (200, "opted_out")
    assert api.appointment(booked["id"])["consent"] == "opted_out"
    status, contact = api.contact(PATIENT)
    assert contact["opted_out"] is True  # the booking did not turn consent back on


def test_given_a_booking_when_read_changed_or_listed_then_single_answers_carry_consent(api):
    appointment = api.book()
    api.opt_out(PATIENT)

    status, changed = api.call(
        "PATCH", "/appointments/{id}", params={"id": appointment["id"]}, body={"first_name": "Bo"}
    )
    _, page = api.call("GET", "/appointments")

    assert appointment["consent"] == "opted_in"
    assert (status, changed["consent"]) == (200, "opted_out")
    assert api.appointment(appointment["id"])["consent"] == "opted_out"
    # A list reads no consent records: one read per item would cost a call each
    assert page["items"][0].get("consent") is None


def test_given_a_booking_when_moved_to_an_opted_out_number_then_the_answer_says_opted_out(api):
    appointment = api.book()
    api.opt_out(UK_MOBILE)

    status, changed = api.call(
        "PATCH", "/appointments/{id}", params={"id": appointment["id"]}, body={"phone": UK_MOBILE}
    )

    assert status == 200, changed
    assert (changed["phone"], changed["consent"]) == (UK_MOBILE, "opted_out")
