"""POST /appointments/{id}/notices through the API handler (issue 12, item 3): the answer,
the refusals in the one error shape, and the notice the table's stream hands the sender."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from api_client import Api, refused
from builders import PATIENT, new_tenant
from conftest import load_event, load_function
from reach.data.contacts import ContactRepository
from reach.ports.send_queue import QueuedReminder
from reach.services.sending import Delivery, SendOutcome
from reach.wiring import build_sender
from stand_ins import NoticeStream

CHICAGO = ZoneInfo("America/Chicago")
NOTICES = "/appointments/{id}/notices"


@pytest.fixture
def api(cable_company, lambda_context) -> Api:
    return Api(load_function("api"), lambda_context, cable_company.tenant_id)


def book_visit(api: Api, **fields: Any) -> dict[str, Any]:
    starts = (datetime.now(UTC) + timedelta(days=1)).astimezone(CHICAGO)
    starts = starts.replace(hour=9, minute=0, second=0, microsecond=0)
    return api.book(
        kind="service_visit",
        timezone="America/Chicago",
        starts_at=starts.isoformat(),
        window_ends_at=(starts + timedelta(hours=4)).isoformat(),
        technician_name="Luis",
        **fields,
    )


def notice(api: Api, appointment_id: str, body: Any, **request: Any) -> tuple[int, Any]:
    return api.call("POST", NOTICES, params={"id": appointment_id}, body=body, **request)


def queued(aws) -> list[QueuedReminder]:
    """What the sender is handed: the new notices on the appointments table's stream."""
    stream, handed = NoticeStream(aws), []
    while (delivery := stream.receive()) is not None:
        handed.append(delivery[0])
    return handed


def test_a_notice_answers_202_with_its_message_and_is_handed_to_the_sender(aws, api, clock, sms):
    booked = book_visit(api)

    status, body = notice(
        api, booked["id"], {"type": "on_the_way", "eta_minutes": 25, "link": "https://t.example/1"}
    )

    assert status == 202, body
    assert set(body) == {"id", "type", "status", "eta", "link", "created_at"}
    assert (body["type"], body["status"]) == ("on_the_way", "queued")
    eta = datetime.fromisoformat(body["eta"])
    assert timedelta(minutes=24) < eta - datetime.now(UTC) <= timedelta(minutes=25)
    assert body["eta"].endswith(("-05:00", "-06:00"))  # said in the visit's own zone
    [message] = queued(aws)
    assert (message.kind, message.reminder_id, message.phone) == ("notice", body["id"], PATIENT)
    # The sender sends it like any text; the conversation shows its kind
    sender = build_sender(aws.settings, clock=clock, sleep=clock.sleep, sms=sms)
    assert sender.send_all([Delivery(message)])[0].outcome is SendOutcome.SENT
    assert "is on the way, arriving around" in sms.sent[0].body
    status, conversation = api.call(
        "GET", "/appointments/{id}/messages", params={"id": booked["id"]}
    )
    assert [(m["kind"], m["reminder_id"]) for m in conversation["items"]] == [("notice", None)]
    # and the notice is not one of the appointment's reminders
    assert api.appointment(booked["id"])["reminders"] == booked["reminders"]


def test_a_notice_to_an_opted_out_customer_answers_409_opted_out_and_queues_nothing(aws, api):
    booked = book_visit(api)
    ContactRepository().mark_opted_out(api.tenant_id, PATIENT, "keyword", datetime.now(UTC))

    status, error = notice(api, booked["id"], {"type": "on_the_way", "eta_minutes": 25})

    assert status == 409, error
    assert error["error"] == "opted_out"
    assert "opted out" in error["message"]
    assert queued(aws) == []


@pytest.mark.parametrize("close", ["cancel", "complete", "no-show"])
def test_a_notice_on_a_closed_visit_answers_409(aws, api, close):
    booked = book_visit(api)
    status, _ = api.call("POST", f"/appointments/{{id}}/{close}", params={"id": booked["id"]})
    assert status == 200

    status, error = notice(api, booked["id"], {"type": "delayed", "eta_minutes": 45})

    assert status == 409, error
    assert error["error"] == "appointment_closed"
    assert queued(aws) == []


def test_a_notice_in_the_recipients_quiet_hours_answers_409_with_when_it_could_go(
    aws, cable_company, lambda_context
):
    hour = datetime.now(CHICAGO).hour
    quiet = f"{hour:02d}:00-{(hour + 2) % 24:02d}:00"
    tenant = new_tenant(
        aws, "Night Cable", timezone="America/Chicago", number="+13125550111", quiet_hours=quiet
    )
    api = Api(load_function("api"), lambda_context, tenant.tenant_id)
    booked = book_visit(api)

    status, error = notice(api, booked["id"], {"type": "on_the_way", "eta_minutes": 25})

    assert status == 409, error
    assert error["error"] == "quiet_hours"
    until = datetime.now(CHICAGO).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    assert until.isoformat() in error["message"]
    assert queued(aws) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "on_the_way", "eta_minutes": 25, "link": "http://t.example/1"}, "link"),
        ({"type": "on_the_way", "eta_minutes": 25, "link": "ftp://t.example/file"}, "link"),
        ({"type": "on_the_way", "eta_minutes": 25, "link": "https://t.example/a b"}, "link"),
        ({"type": "on_the_way", "eta_minutes": 25, "eta": "2099-01-01T10:00:00Z"}, "eta_minutes"),
        ({"type": "on_the_way"}, "eta"),
        ({"type": "on_the_way", "eta_minutes": "25"}, "eta_minutes"),
        ({"type": "on_the_way", "eta_minutes": 0}, "eta_minutes"),
        ({"type": "on_the_way", "eta": "2001-01-01T10:00:00-06:00"}, "eta"),
        ({"type": "on_the_way", "eta": "2026-01-01T10:00:00"}, "eta"),
        ({"type": "arrived", "eta_minutes": 5}, "type"),
        ({"type": "on_the_way", "eta_minutes": 5, "note": "hi"}, "note"),
    ],
)
def test_a_bad_notice_is_refused_naming_the_field(aws, api, body, field):
    booked = book_visit(api)

    status, error = notice(api, booked["id"], body)

    refused(status, error, field)
    assert queued(aws) == []


def test_the_same_idempotency_key_answers_with_the_first_notice(aws, api):
    booked = book_visit(api)
    key = {"Idempotency-Key": "dispatch-7781"}

    first = notice(api, booked["id"], {"type": "on_the_way", "eta_minutes": 25}, headers=key)
    again = notice(api, booked["id"], {"type": "on_the_way", "eta_minutes": 50}, headers=key)

    assert (first[0], again[0]) == (202, 200)
    assert again[1] == first[1]
    assert len(queued(aws)) == 1


def test_a_bad_idempotency_key_is_refused_naming_it(aws, api):
    booked = book_visit(api)

    status, error = notice(
        api,
        booked["id"],
        {"type": "on_the_way", "eta_minutes": 25},
        headers={"Idempotency-Key": "x" * 129},
    )

    assert status == 422, error
    # Header names are case-insensitive; the API names them in lower case.
    assert [f["field"] for f in error["fields"]] == ["idempotency-key"]


def test_another_tenants_appointment_answers_404(aws, api, clinic):
    booked = book_visit(api)

    status, error = notice(
        api.as_tenant(clinic.tenant_id), booked["id"], {"type": "on_the_way", "eta_minutes": 25}
    )

    assert status == 404, error
    assert queued(aws) == []


def test_the_notice_sample_event_is_served(aws, api, lambda_context):
    booked = book_visit(api)
    event = copy.deepcopy(load_event("api_create_notice.json"))
    old = event["pathParameters"]["id"]
    event["pathParameters"]["id"] = booked["id"]
    event["path"] = event["path"].replace(old, booked["id"])
    event["requestContext"]["authorizer"]["tenant_id"] = api.tenant_id

    first = api.module.lambda_handler(event, lambda_context)
    again = api.module.lambda_handler(event, lambda_context)

    assert first["statusCode"] == 202, first["body"]
    # the sample carries an Idempotency-Key: replaying it answers with the same notice
    assert again["statusCode"] == 200, again["body"]
    assert json.loads(again["body"])["id"] == json.loads(first["body"])["id"]
    assert len(queued(aws)) == 1


def answer_headers(response: dict[str, Any]) -> dict[str, list[str]]:
    """The answer's headers, as API Gateway's REST proxy takes them (several values each)."""
    return {
        **{k: [v] for k, v in (response.get("headers") or {}).items()},
        **(response.get("multiValueHeaders") or {}),
    }


@pytest.mark.parametrize(
    "prefer", ["respond-async", "wait=10, respond-async", "Respond-Async; x=1", "return=minimal"]
)
def test_prefer_respond_async_answers_after_one_write_and_says_it_applied(aws, api, prefer):
    booked = book_visit(api)
    ContactRepository().mark_opted_out(api.tenant_id, PATIENT, "keyword", datetime.now(UTC))
    applied = "respond-async" in prefer.lower()

    response = api.response(
        "POST",
        NOTICES,
        params={"id": booked["id"]},
        body={"type": "on_the_way", "eta_minutes": 25},
        headers={"Prefer": prefer},
    )

    if not applied:  # another preference is ignored: the answer waits for every check
        assert response["statusCode"] == 409
        assert json.loads(response["body"])["error"] == "opted_out"
        assert "Preference-Applied" not in answer_headers(response)
        assert queued(aws) == []
        return
    # Not read: the opt-out is the sender's to find, and the ETA is said in UTC
    assert response["statusCode"] == 202, response["body"]
    assert answer_headers(response)["Preference-Applied"] == ["respond-async"]
    body = json.loads(response["body"])
    assert (body["type"], body["status"]) == ("on_the_way", "queued")
    assert body["eta"].endswith("Z")
    [handed] = queued(aws)
    assert (handed.reminder_id, handed.phone) == (body["id"], None)


def test_prefer_respond_async_still_refuses_a_closed_visit_and_an_unknown_one(aws, api):
    booked = book_visit(api)
    assert api.call("POST", "/appointments/{id}/cancel", params={"id": booked["id"]})[0] == 200
    prefer = {"Prefer": "respond-async"}

    closed = notice(api, booked["id"], {"type": "on_the_way", "eta_minutes": 25}, headers=prefer)
    unknown = notice(api, "apt_" + "0" * 32, {"type": "delayed", "eta_minutes": 5}, headers=prefer)

    assert closed == (409, {"error": "appointment_closed", "message": closed[1]["message"]})
    assert unknown[0] == 404
    assert queued(aws) == []


def test_a_prefer_header_too_long_is_refused_naming_it(aws, api):
    booked = book_visit(api)

    status, error = notice(
        api,
        booked["id"],
        {"type": "on_the_way", "eta_minutes": 25},
        headers={"Prefer": "respond-async, " + "x" * 512},
    )

    assert "512" in refused(status, error, "prefer")
    assert queued(aws) == []
