"""Issue 17, items 1 and 2: no input gets a 5xx, and nothing is silently dropped or coerced.

Each request goes through the API function's handler under moto, as API Gateway would send it.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import replace
from datetime import datetime
from typing import Any

import boto3
import pytest
from pynamodb.exceptions import TransactWriteError
from test_api_conversations import in_days

from api_client import Api, encoded, refused, stored_items
from builders import PATIENT
from conftest import load_function
from reach.data.contacts import CONTACT_SK, ContactRepository, contact_pk
from reach.data.paging import PageTokens

BOOKING = {"phone": PATIENT, "timezone": "America/New_York"}


@pytest.fixture
def api(tenants, lambda_context) -> Api:
    return Api(load_function("api"), lambda_context, tenants[0])


# --- item 1: huge durations ------------------------------------------------------------------

HUGE = ["PT9999999999999999999999H", "P9999999999D", "P99999999999999999999W", "P9999999999Y"]


@pytest.mark.parametrize("offset", HUGE)
def test_a_booking_with_a_huge_reminder_offset_gets_a_422_naming_the_list_item(api, offset):
    # given a booking whose second reminder is too large for any date arithmetic
    body = {**BOOKING, "starts_at": in_days(5), "reminders": ["P1D", offset]}

    # when the clinic posts it
    status, error = api.call("POST", "/appointments", body=body)

    # then it is refused, naming reminders[1] and the 92-day maximum, and nothing is stored
    assert "92-day maximum" in refused(status, error, "reminders[1]")
    assert stored_items() == 0


@pytest.mark.parametrize("offset", HUGE)
def test_a_change_to_a_huge_reminder_offset_gets_a_422_and_changes_nothing(api, offset):
    # given a booked appointment
    booked = api.book()

    # when the clinic changes its reminders to a huge offset
    status, error = api.patch(booked["id"], body={"reminders": [offset]})

    # then the change is refused naming reminders[0], and the appointment is as it was
    refused(status, error, "reminders[0]")
    _, now = api.call("GET", "/appointments/{id}", params={"id": booked["id"]})
    assert now["version"] == 1


# --- item 1: next_token of the right tenant but the wrong shape ------------------------------


def signed(key: Any, scope: str) -> str:
    """``key`` sealed with this stack's own token key, as if the API had issued it: what gets
    past the signature to the shape checks."""
    sealed = PageTokens().seal(key, scope)
    assert sealed is not None
    return sealed


def unsealed(token: str) -> dict[str, Any]:
    """The start key a token carries (its payload is readable, only not changeable)."""
    payload = token.split(".")[1]
    key: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return key


def test_a_next_token_of_the_right_tenant_but_the_wrong_shape_gets_400_invalid_next_token(
    api, tenants
):
    # given a real page token, and keys of this tenant's listing bent out of shape
    for days in (3, 4):
        api.book(starts_at=in_days(days))
    window = {"from": [in_days(2)], "to": [in_days(6)]}
    _, page = api.call("GET", "/appointments", query={**window, "limit": ["1"]})
    real = unsealed(page["next_token"])
    bounds = "\n".join(datetime.fromisoformat(window[name][0]).isoformat() for name in window)
    scope = f"appointments\n{tenants[0]}\n{bounds}"
    tenant = {"S": tenants[0]}
    bent = [
        {"tenant_id": tenant},  # the range and table keys missing
        {**real, "starts_at": {"N": "1"}},  # a number where DynamoDB keeps a string
        {**real, "extra": {"S": "x"}},  # an attribute no start key has
        {**real, "starts_at": {"S": "not a time"}},
        {**real, "starts_at": {"S": "2020-01-01T00:00:00.000000+0000"}},  # outside from/to
        {**real, "pk": "not an attribute value"},
        {**real, "tenant_id": [tenants[0]]},
        [real],
    ]

    # when each is presented as next_token, signed as if the API had issued it
    for key in bent:
        status, error = api.call(
            "GET", "/appointments", query={**window, "next_token": [signed(key, scope)]}
        )

        # then it is a 400 invalid_next_token naming next_token, never a 5xx
        refused(status, error, "next_token", code=400)
        assert error["error"] == "invalid_next_token"


def test_a_callback_next_token_of_the_wrong_shape_gets_400_invalid_next_token(api, tenants):
    # given a start key of the tenant's open callbacks without its range and table keys
    bent = {"lookup_key": {"S": f"{tenants[0]}#callbacks#open"}}

    # when it is presented as next_token, signed as if the API had issued it
    scope = f"callbacks\n{tenants[0]}#callbacks#open"
    status, error = api.call("GET", "/callbacks", query={"next_token": [signed(bent, scope)]})

    # then it is refused as a token, not passed to DynamoDB
    refused(status, error, "next_token", code=400)
    assert error["error"] == "invalid_next_token"


# --- item 1: a body that is not UTF-8 ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "resource", "params"),
    [
        ("POST", "/appointments", None),
        ("PATCH", "/appointments/{id}", {"id": "apt_" + "0" * 32}),
        ("POST", "/contacts/{phone}/opt-out", {"phone": encoded(PATIENT)}),
    ],
)
def test_a_body_that_is_not_utf8_gets_a_422_naming_the_body(api, method, resource, params):
    # given a body in Latin-1, which API Gateway passes base64-encoded
    data = json.dumps({**BOOKING, "first_name": "JOSÉ"}, ensure_ascii=False).encode("latin-1")

    # when it is sent
    status, error = api.call(method, resource, params=params, data=data)

    # then it is refused in the one error shape, naming the body and the byte
    assert "not UTF-8" in refused(status, error, "body")
    assert stored_items() == 0


# --- item 1: lone surrogates, and consent only for stored bookings ---------------------------


@pytest.mark.parametrize("field", ["first_name", "location"])
def test_a_lone_surrogate_in_a_booking_gets_a_422_and_writes_nothing(api, tenants, field):
    # given a booking whose text holds a lone surrogate (valid JSON, not storable text)
    text = f'{{"phone": "{PATIENT}", "starts_at": "{in_days(5)}", "{field}": "Jo\\ud800"}}'

    # when the clinic posts it
    status, error = api.call("POST", "/appointments", text=text)

    # then it is a 422 naming the field; no appointment, and no consent record either
    assert "surrogate" in refused(status, error, field)
    assert stored_items() == 0
    assert ContactRepository().get(tenants[0], PATIENT).consent_source is None


@pytest.mark.parametrize("field", ["first_name", "location"])
def test_a_lone_surrogate_in_a_change_gets_a_422_not_a_409(api, field):
    booked = api.book()

    status, error = api.patch(booked["id"], text=f'{{"{field}": "\\udfff"}}')

    refused(status, error, field)


@pytest.mark.parametrize(
    ("resource", "body"),
    [
        ("/contacts/{phone}/opt-out", '{"note": "asked at the desk \\ud800"}'),
        ("/contacts/{phone}/opt-in", '{"evidence": "signed form \\ud800"}'),
    ],
)
def test_a_lone_surrogate_in_consent_notes_gets_a_422(api, resource, body):
    status, error = api.call("POST", resource, params={"phone": encoded(PATIENT)}, text=body)

    refused(status, error, "note" if "opt-out" in resource else "evidence")


def test_a_booking_that_fails_to_store_leaves_no_consent_record(api, tenants, monkeypatch):
    # given a store that refuses the booking for a reason other than a taken id
    from reach.data.appointments import AppointmentRepository

    def broken(self, appointment):
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(AppointmentRepository, "create", broken)

    # when the clinic books, it gets a 500 in the one error shape (issue 17, item 5)
    status, error = api.call("POST", "/appointments", body={**BOOKING, "starts_at": in_days(5)})
    assert (status, error["error"]) == (500, "internal_error")

    # then the recipient has no consent record from a booking that does not exist
    assert ContactRepository().get(tenants[0], PATIENT).consent_source is None


def test_a_stored_booking_still_records_the_recipients_first_consent(api, tenants):
    api.book()

    assert ContactRepository().get(tenants[0], PATIENT).consent_source == "booking"


def test_a_repeated_booking_records_consent_its_first_attempt_could_not(api, tenants):
    # given a booking stored, whose consent record was lost (its write failed after it)
    first = api.book(external_id="emr-7")
    boto3.client("dynamodb").delete_item(
        TableName=os.environ["TENANTS_TABLE"],
        Key={"pk": {"S": contact_pk(tenants[0], PATIENT)}, "sk": {"S": CONTACT_SK}},
    )
    assert ContactRepository().get(tenants[0], PATIENT).consent_source is None

    # when the clinic repeats the booking
    status, again = api.call(
        "POST", "/appointments", body={**BOOKING, "starts_at": in_days(5), "external_id": "emr-7"}
    )

    # then it gets the stored appointment, and the consent record is there now
    assert (status, again["id"]) == (200, first["id"])
    assert ContactRepository().get(tenants[0], PATIENT).consent_source == "booking"


# --- item 2: a body that is not a JSON object -------------------------------------------------

NOT_OBJECTS = [
    ("an array", "[%s, %s]"),
    ("null", "null"),
    ("a number", "42"),
    ("a string", '"hello"'),
    ("true", "true"),
]


@pytest.mark.parametrize(("kind", "template"), NOT_OBJECTS)
def test_a_booking_body_that_is_not_a_json_object_gets_a_422_and_books_nothing(api, kind, template):
    # given two bookings in an array (or any other JSON that is not an object)
    one = json.dumps({**BOOKING, "starts_at": in_days(5)})
    two = json.dumps({**BOOKING, "starts_at": in_days(6)})
    text = template % (one, two) if "%s" in template else template

    # when it is posted
    status, error = api.call("POST", "/appointments", text=text)

    # then it is refused naming the body, and neither booking is made
    assert refused(status, error, "body") == f"must be a JSON object {{...}}, not {kind}"
    assert stored_items() == 0


@pytest.mark.parametrize(
    ("method", "resource", "body"),
    [
        ("PATCH", "/appointments/{id}", [{"first_name": "Ann"}, {"first_name": "Bo"}]),
        ("POST", "/contacts/{phone}/opt-out", [{"note": "asked"}]),
        ("POST", "/contacts/{phone}/opt-out", []),
        ("POST", "/contacts/{phone}/opt-in", [{"evidence": "Signed the form today"}]),
        ("POST", "/callbacks/{id}/close", [{"outcome": "reached"}]),
    ],
)
def test_every_route_refuses_an_array_body_and_changes_nothing(
    api, tenants, method, resource, body
):
    booked = api.book(first_name="Cy")
    params = {
        "/appointments/{id}": {"id": booked["id"]},
        "/contacts/{phone}/opt-out": {"phone": encoded(PATIENT)},
        "/contacts/{phone}/opt-in": {"phone": encoded(PATIENT)},
        "/callbacks/{id}/close": {"id": "cb_" + "0" * 32},
    }[resource]

    status, error = api.call(method, resource, params=params, body=body)

    refused(status, error, "body")
    _, now = api.call("GET", "/appointments/{id}", params={"id": booked["id"]})
    assert (now["version"], now["first_name"]) == (1, "Cy")
    assert not ContactRepository().get(tenants[0], PATIENT).opted_out


def test_a_key_given_twice_in_a_body_gets_a_422_naming_it(api):
    text = f'{{"phone": "{PATIENT}", "phone": "+12025550199", "starts_at": "{in_days(5)}"}}'

    status, error = api.call("POST", "/appointments", text=text)

    assert refused(status, error, "phone") == "is given twice in one object"
    assert stored_items() == 0


# --- item 2: no loose types --------------------------------------------------------------------


#: Five days from now as seconds since 1970: a time the booking would accept as ISO 8601.
SOON = int(time.time()) + 5 * 86_400


# Named ids: the values depend on the clock, and test workers must collect the same names.
@pytest.mark.parametrize(
    "starts_at",
    [SOON, str(SOON), f"{SOON}.5", float(SOON), True],
    ids=["epoch-int", "epoch-string", "epoch-fraction-string", "epoch-float", "boolean"],
)
def test_a_booking_time_as_a_number_or_numeric_string_gets_a_422(api, starts_at):
    status, error = api.call("POST", "/appointments", body={**BOOKING, "starts_at": starts_at})

    assert "ISO 8601" in refused(status, error, "starts_at")
    assert stored_items() == 0


def test_a_change_of_time_as_an_epoch_number_gets_a_422(api):
    booked = api.book()

    status, error = api.patch(booked["id"], body={"starts_at": SOON})

    refused(status, error, "starts_at")


@pytest.mark.parametrize("version", ["1", True, 1.0, "one"])
def test_a_version_that_is_not_a_json_integer_gets_a_422(api, version):
    booked = api.book()

    status, error = api.patch(booked["id"], body={"first_name": "Di", "version": version})

    refused(status, error, "version")
    _, now = api.call("GET", "/appointments/{id}", params={"id": booked["id"]})
    assert now["first_name"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": ["0.5"]}, "from"),
        ({"from": [str(SOON)]}, "from"),
        ({"to": [str(SOON)]}, "to"),
        ({"limit": ["4.0"]}, "limit"),
        ({"limit": ["true"]}, "limit"),
        ({"limit": ["+6"]}, "limit"),
        ({"limit": [" 6"]}, "limit"),
        ({"limit": ["1", "5"]}, "limit"),
        ({"status": ["scheduled", "cancelled"]}, "status"),
    ],
)
def test_loose_list_queries_get_a_422_naming_the_parameter(api, query, field):
    status, error = api.call("GET", "/appointments", query=query)

    refused(status, error, field)


def test_a_limit_written_in_digits_is_an_integer_in_a_query_string(api):
    for days in (3, 4):
        api.book(starts_at=in_days(days))

    status, page = api.call(
        "GET", "/appointments", query={"from": [in_days(2)], "to": [in_days(6)], "limit": ["1"]}
    )

    assert status == 200
    assert len(page["items"]) == 1


@pytest.mark.parametrize("resource", ["/callbacks", "/appointments/{id}/messages"])
def test_a_fractional_limit_is_refused_on_the_other_listings(api, resource):
    booked = api.book()
    params = {"id": booked["id"]} if "{id}" in resource else None

    status, error = api.call("GET", resource, params=params, query={"limit": ["2.0"]})

    refused(status, error, "limit")


# --- item 1: a cancelled transaction is read by its reasons ------------------------------------


def test_a_transaction_cancelled_for_a_reason_other_than_a_condition_is_not_a_conflict(
    api, tenants
):
    # given a stored appointment, and copies DynamoDB cannot store (a lone surrogate)
    from reach.data.appointments import AlreadyExists, AppointmentRepository, ConcurrentChange

    repository = AppointmentRepository(due_shards=4)
    stored = repository.get(tenants[0], api.book()["id"])
    unstorable = replace(stored, first_name="\ud800")

    # when they are written as a new appointment and as a change
    # then the store's own error comes up, not "already exists" or "changed meanwhile"
    for write in (
        lambda: repository.create(replace(unstorable, appointment_id="apt_" + "1" * 32)),
        lambda: repository.save_changes(stored, replace(unstorable, version=2), [], []),
    ):
        with pytest.raises(TransactWriteError):
            write()

    # and a failed condition is still the conflict it always was
    with pytest.raises(AlreadyExists):
        repository.create(stored)
    with pytest.raises(ConcurrentChange):
        repository.save_changes(replace(stored, version=7), replace(stored, version=8), [], [])
