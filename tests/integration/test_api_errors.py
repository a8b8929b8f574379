"""Issue 17, item 5: one error shape for every 4xx and 5xx, readable messages, and lists that
leave out what they do not carry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_api_conversations import in_days

from api_client import Api, encoded, refused, stored_items
from builders import PATIENT
from conftest import load_function

APPOINTMENT_ID = "apt_" + "0" * 32
BOOKING = {"phone": PATIENT, "timezone": "America/New_York"}


@pytest.fixture
def api(tenants, lambda_context) -> Api:
    return Api(load_function("api"), lambda_context, tenants[0])


def _one_shape(response: dict[str, Any]) -> dict[str, Any]:
    """The body of an error answer, after checking it is the one error shape in JSON."""
    body: dict[str, Any] = json.loads(response["body"])
    assert set(body) <= {"error", "message", "fields"}, body
    assert isinstance(body["error"], str)
    assert isinstance(body["message"], str)
    return body


def _header(response: dict[str, Any], name: str) -> str | None:
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    multi = {k.lower(): v for k, v in (response.get("multiValueHeaders") or {}).items()}
    if name.lower() in multi:
        return ", ".join(multi[name.lower()])
    return headers.get(name.lower())


@pytest.mark.parametrize(
    ("method", "resource", "params", "allowed"),
    [
        ("DELETE", "/appointments", None, "GET, POST"),
        ("PUT", "/appointments/{id}", {"id": APPOINTMENT_ID}, "GET, PATCH"),
        ("GET", "/appointments/{id}/cancel", {"id": APPOINTMENT_ID}, "POST"),
        ("TRACE", "/callbacks", None, "GET"),
        ("PUT", "/contacts/{phone}", {"phone": encoded(PATIENT)}, "DELETE, GET"),
    ],
)
def test_an_unsupported_method_gets_405_with_an_allow_header(
    api, method, resource, params, allowed
):
    response = api.response(method, resource, params=params)

    assert response["statusCode"] == 405
    assert _header(response, "Allow") == allowed
    assert _one_shape(response)["error"] == "method_not_allowed"


def test_an_unknown_route_is_still_404_in_the_one_shape(api):
    response = api.response("GET", "/appointment")

    assert response["statusCode"] == 404
    assert _one_shape(response)["error"] == "not_found"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data",  # no boundary: raised inside Powertools' validation before
        "multipart/form-data; boundary=x",
        "text/plain",
        "application/xml",
    ],
)
def test_a_body_that_is_not_json_gets_415_in_the_one_shape_and_never_echoes_the_body(
    api, content_type
):
    # given a booking written as a form, with the phone number in it
    text = f"phone={encoded(PATIENT)}&starts_at={in_days(5)}&timezone=America%2FNew_York"

    response = api.response(
        "POST", "/appointments", text=text, headers={"Content-Type": content_type}
    )

    # then it is refused as a media type, naming the header, and the body is nowhere in it
    assert response["statusCode"] == 415
    error = _one_shape(response)
    assert error["error"] == "unsupported_media_type"
    assert [f["field"] for f in error["fields"]] == ["Content-Type"]
    assert "phone" not in response["body"]
    assert "2025550187" not in response["body"]
    assert stored_items() == 0


def test_json_with_a_charset_is_still_json(api):
    status, appointment = api.call(
        "POST",
        "/appointments",
        body={**BOOKING, "starts_at": in_days(5)},
        headers={"Content-Type": "application/json; charset=utf-8"},
    )

    assert status == 201, appointment


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"phone": "+12025550187",\n "starts_at": }', "line 2, column 15"),
        ('{"phone": "+12025550187" "x": 1}', "line 1, column 26"),
        ('{"phone": "+1202', "line 1, column 11"),
        ("", None),
    ],
)
def test_malformed_json_is_refused_naming_its_line_and_column(api, text, where):
    status, error = api.call("POST", "/appointments", text=text)

    if where is None:  # an empty body is a missing body, not malformed JSON
        assert status == 422, error
        return
    message = refused(status, error, "body")
    assert "is not valid JSON: " in message
    assert where in message


def test_a_null_starts_at_in_a_patch_names_starts_at_not_the_body(api):
    booked = api.book()

    status, error = api.patch(booked["id"], body={"starts_at": None})

    assert "may not be null" in refused(status, error, "starts_at")


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"location": "x" * 130}, "location", "must be at most 120 characters long"),
        ({"external_id": "has space"}, "external_id", "visible ASCII characters"),
        ({"reminders": ["P1D"] * 6}, "reminders", "must have at most 5 items"),
        ({"surname": "Diaz"}, "surname", "is not a field of this request"),
    ],
)
def test_refusals_speak_the_apis_words_not_the_librarys(api, body, field, words):
    status, error = api.call(
        "POST", "/appointments", body={**BOOKING, "starts_at": in_days(5), **body}
    )

    message = refused(status, error, field)
    assert words in message
    for library in ("Input should", "String should", "List should", "after validation", "^"):
        assert library not in error["message"]


def test_a_path_id_of_the_wrong_form_is_refused_in_words_not_a_pattern(api):
    status, error = api.call("GET", "/appointments/{id}", params={"id": "apt_x"})

    message = refused(status, error, "id")
    assert "[0-9a-f]" not in message
    assert "32 hexadecimal digits" in message


def test_a_fault_of_ours_gets_500_in_the_one_shape(api, monkeypatch):
    from reach.services.appointments import AppointmentService

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("DynamoDB is down")

    monkeypatch.setattr(AppointmentService, "get", broken)

    response = api.response("GET", "/appointments/{id}", params={"id": APPOINTMENT_ID})

    assert response["statusCode"] == 500
    error = _one_shape(response)
    assert error["error"] == "internal_error"
    assert "DynamoDB" not in response["body"]


def test_a_list_leaves_out_the_reminders_and_consent_it_does_not_carry(api):
    booked = api.book()

    status, page = api.call(
        "GET", "/appointments", query={"from": in_days(0, 0), "to": in_days(20)}
    )

    assert status == 200, page
    (item,) = page["items"]
    assert "reminders" not in item
    assert "consent" not in item
    single = api.appointment(booked["id"])
    assert single["consent"] == "opted_in"
    assert single["reminders"]
    # what the list does carry it says the same way as a single read
    assert {k: v for k, v in single.items() if k not in ("reminders", "consent")} == item
