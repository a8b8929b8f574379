"""Field-service visits through the API handler (issue #12): arrival windows, a technician,
reminders at a local time of day, and closing a visit with its outcome."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest

from api_client import Api, refused, stored_items
from builders import PATIENT, local_day, take_all, tap_bus
from conftest import load_event, load_function

CHICAGO = ZoneInfo("America/Chicago")


def opens(days: int = 5, hour: int = 8) -> datetime:
    """``hour`` o'clock Chicago time, ``days`` ahead."""
    return local_day(days, hour).astimezone(CHICAGO).replace(hour=hour, minute=0)


def visit(**fields: Any) -> dict[str, Any]:
    start = opens()
    return {
        "phone": PATIENT,
        "kind": "service_visit",
        "timezone": "America/Chicago",
        "starts_at": start.isoformat(),
        "window_ends_at": (start + timedelta(hours=4)).isoformat(),
        "technician_name": "Luis",
        **fields,
    }


@pytest.fixture
def api(tenants, lambda_context) -> Api:
    return Api(load_function("api"), lambda_context, tenants[1])


@pytest.fixture
def outcomes(aws) -> Any:
    queue_url = tap_bus(
        aws.settings.event_bus_name,
        rule="outcomes",
        queue="visit-outcomes",
        pattern={"detail-type": ["AppointmentCompleted", "AppointmentNoShow"]},
    )
    return lambda: take_all(boto3.client("sqs"), queue_url)


def test_a_service_visit_keeps_its_window_and_technician_and_get_returns_them(api):
    status, booked = api.call("POST", "/appointments", body=visit())

    assert status == 201, booked
    again = api.appointment(booked["id"])
    assert datetime.fromisoformat(again["window_ends_at"]) == opens() + timedelta(hours=4)
    assert again["window_ends_at"].endswith("-06:00")  # said in the visit's own zone
    assert again["technician_name"] == "Luis"
    assert again["customer_status"] is None


def test_a_service_visit_is_reminded_the_evening_before_and_the_morning_of_by_default(api):
    status, booked = api.call(
        "POST",
        "/appointments",
        body=visit(starts_at=opens(hour=9).isoformat(), window_ends_at=opens(hour=13).isoformat()),
    )

    assert status == 201, booked
    assert booked["reminder_offsets"] == ["P1D@18:00", "@07:30"]
    local = [datetime.fromisoformat(r["send_at"]) for r in booked["reminders"]]
    assert [(t.hour, t.minute) for t in local] == [(18, 0), (8, 0)]  # 07:30 is quiet until 8
    assert local[1].date() == opens().date()


def test_reminders_at_a_local_time_are_accepted_in_a_booking(api):
    status, booked = api.call(
        "POST", "/appointments", body=visit(reminders=["p2d@17:30", "@08:15"])
    )

    assert status == 201, booked
    assert booked["reminder_offsets"] == ["P2D@17:30", "@08:15"]
    evening, morning = booked["reminders"]
    sends = datetime.fromisoformat(evening["send_at"])
    assert (sends.date(), sends.hour, sends.minute) == (opens().date() - timedelta(days=2), 17, 30)
    # 08:15 is after the window opens at 08:00: never sent
    assert (morning["status"], morning["reason"], morning["send_at"]) == (
        "skipped",
        "after_start",
        None,
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "clinic_visit"}, "window_ends_at"),
        ({"kind": "clinic_visit", "window_ends_at": None}, "technician_name"),
        ({"window_ends_at": opens().isoformat()}, "window_ends_at"),
        ({"window_ends_at": (opens() + timedelta(hours=13)).isoformat()}, "window_ends_at"),
        ({"window_ends_at": "2026-12-08T12:00:00"}, "window_ends_at"),
        ({"window_ends_at": 1796745600}, "window_ends_at"),
        ({"technician_name": "Luis\nRamirez"}, "technician_name"),
        ({"technician_name": ""}, "technician_name"),
        ({"reminders": ["@7:30"]}, "reminders[0]"),
        ({"reminders": ["P0D@07:30"]}, "reminders[0]"),
    ],
    ids=[
        "window-on-clinic-visit",
        "technician-on-clinic-visit",
        "empty-window",
        "window-over-12h",
        "window-without-offset",
        "window-as-number",
        "technician-line-break",
        "technician-empty",
        "local-time-without-two-digits",
        "local-time-zero-days",
    ],
)
def test_a_booking_with_a_window_technician_or_local_time_that_does_not_fit_is_refused(
    api, fields, field
):
    before = stored_items()
    body = {k: v for k, v in visit(**fields).items() if v is not None}

    status, error = api.call("POST", "/appointments", body=body)

    refused(status, error, field)
    assert stored_items() == before


def test_a_patch_moves_the_window_and_refuses_one_the_new_start_leaves_invalid(api):
    booked = api.book(**visit())
    later = opens(days=6)

    status, error = api.patch(booked["id"], body={"starts_at": later.isoformat()})
    refused(status, error, "window_ends_at")

    status, moved = api.patch(
        booked["id"],
        body={
            "starts_at": later.isoformat(),
            "window_ends_at": (later + timedelta(hours=2)).isoformat(),
            "technician_name": "Ana",
        },
    )
    assert status == 200, moved
    assert datetime.fromisoformat(moved["window_ends_at"]) == later + timedelta(hours=2)
    assert moved["technician_name"] == "Ana"

    status, cleared = api.patch(
        booked["id"], body={"window_ends_at": None, "technician_name": None}
    )
    assert status == 200, cleared
    assert (cleared["window_ends_at"], cleared["technician_name"]) == (None, None)


def test_a_patch_to_a_clinic_visit_is_refused_while_the_window_is_set(api):
    booked = api.book(**visit())

    status, error = api.patch(booked["id"], body={"kind": "clinic_visit"})

    refused(status, error, "window_ends_at")
    assert api.appointment(booked["id"])["kind"] == "service_visit"


@pytest.mark.parametrize(
    ("route", "status_after", "event"),
    [
        ("/appointments/{id}/complete", "completed", "AppointmentCompleted"),
        ("/appointments/{id}/no-show", "no_show", "AppointmentNoShow"),
    ],
)
def test_closing_a_visit_retires_its_reminders_and_emits_its_outcome_once(
    api, outcomes, route, status_after, event
):
    booked = api.book(**visit())

    status, closed = api.call("POST", route, params={"id": booked["id"]})
    status_again, again = api.call("POST", route, params={"id": booked["id"]})

    assert (status, status_again) == (200, 200)
    assert closed["status"] == again["status"] == status_after
    assert again["version"] == closed["version"] == booked["version"] + 1
    was_pending = [r["id"] for r in booked["reminders"] if r["status"] == "pending"]
    assert was_pending
    assert [(r["status"], r["reason"]) for r in closed["reminders"] if r["id"] in was_pending] == [
        ("cancelled", f"appointment_{status_after}")
    ] * len(was_pending)
    received = outcomes()
    assert {e["detail-type"] for e in received} == {event}
    assert {e["detail"]["event_id"] for e in received} == {received[0]["detail"]["event_id"]}
    detail = received[0]["detail"]
    assert detail["appointment_id"] == booked["id"]
    assert detail["kind"] == "service_visit"
    assert not {"phone", "body", "text"} & set(detail)


def test_a_clinic_visit_can_be_completed_too(lambda_context, tenants):
    clinic = Api(load_function("api"), lambda_context, tenants[0])
    booked = clinic.book()

    status, closed = clinic.call("POST", "/appointments/{id}/complete", params={"id": booked["id"]})

    assert status == 200, closed
    assert closed["status"] == "completed"


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("/appointments/{id}/complete", "/appointments/{id}/no-show"),
        ("/appointments/{id}/no-show", "/appointments/{id}/complete"),
        ("/appointments/{id}/cancel", "/appointments/{id}/complete"),
        ("/appointments/{id}/cancel", "/appointments/{id}/no-show"),
    ],
    ids=[
        "completed-to-no-show",
        "no-show-to-completed",
        "cancelled-completed",
        "cancelled-no-show",
    ],
)
def test_a_closed_visit_cannot_take_another_outcome(api, outcomes, first, then):
    booked = api.book(**visit())
    api.call("POST", first, params={"id": booked["id"]})
    before = api.appointment(booked["id"])
    outcomes()

    status, error = api.call("POST", then, params={"id": booked["id"]})

    assert status == 409, error
    assert error["error"] == "conflict"
    assert api.appointment(booked["id"]) == before
    assert outcomes() == []


def test_an_outcome_for_an_unknown_or_another_tenants_visit_is_not_found(api, tenants):
    booked = api.book(**visit())

    status, error = api.as_tenant(tenants[0]).call(
        "POST", "/appointments/{id}/complete", params={"id": booked["id"]}
    )

    assert status == 404, error
    assert api.appointment(booked["id"])["status"] == "scheduled"


@pytest.mark.parametrize(
    "sample", ["api_complete_appointment.json", "api_no_show_appointment.json"]
)
def test_the_outcome_sample_events_are_served(api, sample, lambda_context):
    booked = api.book(**visit())
    event = copy.deepcopy(load_event(sample))
    old = event["pathParameters"]["id"]
    event["pathParameters"]["id"] = booked["id"]
    event["path"] = event["path"].replace(old, booked["id"])
    event["requestContext"]["authorizer"]["tenant_id"] = api.tenant_id

    response = api.module.lambda_handler(event, lambda_context)

    assert response["statusCode"] == 200, response["body"]


def test_the_service_visit_sample_booking_is_served(api, lambda_context):
    event = copy.deepcopy(load_event("api_create_service_visit.json"))
    event["requestContext"]["authorizer"]["tenant_id"] = api.tenant_id
    body = json.loads(event["body"])
    start = opens()
    body.update(
        starts_at=start.isoformat(), window_ends_at=(start + timedelta(hours=4)).isoformat()
    )
    event["body"] = json.dumps(body)

    response = api.module.lambda_handler(event, lambda_context)

    assert response["statusCode"] == 201, response["body"]
    booked = json.loads(response["body"])
    assert (booked["technician_name"], booked["reminder_offsets"]) == (
        "Luis",
        ["P1D@18:00", "@07:30"],
    )


def test_a_repeated_service_booking_is_the_same_one_and_another_window_is_a_conflict(api):
    body = visit(external_id="wo-1")
    status, first = api.call("POST", "/appointments", body=body)
    assert status == 201, first

    status, again = api.call("POST", "/appointments", body=body)
    assert (status, again["id"]) == (200, first["id"])

    moved = {**body, "window_ends_at": (opens() + timedelta(hours=2)).isoformat()}
    status, error = api.call("POST", "/appointments", body=moved)
    assert "window_ends_at" in refused(status, error, "external_id", code=409)
