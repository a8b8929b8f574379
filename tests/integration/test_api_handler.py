"""The API function, invoked with events/*.json under moto, as API Gateway would call it."""

from __future__ import annotations

import copy
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest

from builders import local_day
from conftest import load_event, load_function
from reach.domain.errors import Conflict
from reach.services.appointments import AppointmentChanges

NEW_YORK = ZoneInfo("America/New_York")


def in_days(days: int, hour: int = 8, minute: int = 30) -> str:
    return local_day(days, hour, minute).isoformat()


class Api:
    """Calls the API handler with the sample events, as one tenant."""

    def __init__(self, module: Any, context: Any, tenant_id: str | None) -> None:
        self.module = module
        self.context = context
        self.tenant_id = tenant_id

    def as_tenant(self, tenant_id: str | None) -> Api:
        return Api(self.module, self.context, tenant_id)

    def call(
        self,
        sample: str,
        *,
        body: Any = None,
        raw_body: str | None = None,
        appointment_id: str | None = None,
        query: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        event = copy.deepcopy(load_event(sample))
        authorizer = event["requestContext"]["authorizer"]
        if self.tenant_id is None:
            event["requestContext"]["authorizer"] = {}
        else:
            authorizer["tenant_id"] = authorizer["principalId"] = self.tenant_id
        if body is not None:
            event["body"] = json.dumps(body)
        if raw_body is not None:
            event["body"] = raw_body
        if appointment_id is not None:
            old = event["pathParameters"]["id"]
            event["pathParameters"]["id"] = appointment_id
            event["path"] = event["path"].replace(old, appointment_id)
        if query is not None:
            event["queryStringParameters"] = query
            event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
        response = self.module.lambda_handler(event, self.context)
        return response["statusCode"], json.loads(response["body"])

    def book(self, **fields: Any) -> dict[str, Any]:
        body = {"phone": "(202) 555-0187", "starts_at": in_days(5), "timezone": "America/New_York"}
        status, appointment = self.call("api_create_appointment.json", body={**body, **fields})
        assert status == 201, appointment
        return appointment


@pytest.fixture
def api(tenants, lambda_context) -> Api:
    return Api(load_function("api"), lambda_context, tenants[0])


def test_booking_the_sample_event_plans_reminders_and_normalises_the_phone(api):
    # Given the sample booking, moved into the future
    body = json.loads(load_event("api_create_appointment.json")["body"])
    body["starts_at"] = in_days(9)

    # When the clinic posts it
    status, appointment = api.call("api_create_appointment.json", body=body)

    # Then it is stored with an E.164 phone and two pending reminders in local time
    assert status == 201
    assert appointment["id"].startswith("apt_")
    assert appointment["phone"] == "+12025550187"
    assert appointment["status"] == "scheduled"
    assert appointment["version"] == 1
    assert [r["offsets"] for r in appointment["reminders"]] == [["P1D"], ["PT2H"]]
    assert {r["status"] for r in appointment["reminders"]} == {"pending"}
    day_before = datetime.fromisoformat(appointment["reminders"][0]["send_at"])
    assert day_before.astimezone(NEW_YORK).time().isoformat() == "08:30:00"
    on_the_day = datetime.fromisoformat(appointment["reminders"][1]["send_at"])
    assert on_the_day.astimezone(NEW_YORK).time().isoformat() == "08:00:00"  # out of the night
    assert appointment["reminders"][1]["reason"] == "moved_out_of_quiet_hours"


def test_repeating_a_booking_with_its_external_id_returns_the_same_appointment(api):
    first = api.book(external_id="emr-1")

    # The same booking again, its phone written in E.164 this time: the same details.
    # (Other details under the same external_id get 409: tests/integration/test_api_repeats.py)
    status, again = api.call(
        "api_create_appointment.json",
        body={
            "phone": "+12025550187",
            "starts_at": in_days(5),
            "timezone": "America/New_York",
            "external_id": "emr-1",
        },
    )

    assert status == 200
    assert again["id"] == first["id"]
    assert again["starts_at"] == first["starts_at"]


def test_the_same_external_id_in_two_tenants_is_two_appointments(api, tenants):
    mine = api.book(external_id="shared-7")
    theirs = api.as_tenant(tenants[1]).book(external_id="shared-7", timezone="America/Chicago")

    assert mine["id"] != theirs["id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": None}, "phone"),
        ({"phone": "not a phone"}, "phone"),
        ({"phone": "+1 555"}, "phone"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"starts_at": "2027-03-15T08:30:00"}, "starts_at"),
        ({"starts_at": "2020-03-15T08:30:00-05:00"}, "starts_at"),
        ({"starts_at": "next tuesday"}, "starts_at"),
        ({"reminders": ["P1D", "tomorrow"]}, "reminders[1]"),
        ({"reminders": ["P1D"] * 6}, "reminders"),
        ({"kind": "surgery"}, "kind"),
        ({"language": "english"}, "language"),
        ({"first_name": "Ana\nDiagnosis: flu"}, "first_name"),
        ({"tenant_id": "ten_someone_else"}, "tenant_id"),
        ({"external_id": ""}, "external_id"),
    ],
)
def test_bad_input_gets_a_422_naming_the_field(api, change, field):
    body = {"phone": "(202) 555-0187", "starts_at": in_days(5), "timezone": "America/New_York"}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}

    status, error = api.call("api_create_appointment.json", body=body)

    assert status == 422
    assert error["error"] == "validation_error"
    assert field in [f["field"] for f in error["fields"]]
    assert field in error["message"]


def test_a_body_that_is_not_json_gets_a_422(api):
    status, error = api.call("api_create_appointment.json", raw_body="{not json")

    assert status == 422
    assert error["error"] == "validation_error"


def test_another_tenant_cannot_read_change_or_cancel_an_appointment(api, tenants):
    appointment = api.book()
    intruder = api.as_tenant(tenants[1])

    for sample, body in (
        ("api_get_appointment.json", None),
        ("api_update_appointment.json", {"starts_at": in_days(7)}),
        ("api_cancel_appointment.json", None),
    ):
        status, error = intruder.call(sample, body=body, appointment_id=appointment["id"])
        assert status == 404, sample
        assert error["error"] == "not_found"

    status, unchanged = api.call("api_get_appointment.json", appointment_id=appointment["id"])
    assert status == 200
    assert unchanged["version"] == 1
    assert unchanged["status"] == "scheduled"


def test_without_a_tenant_from_the_authorizer_nothing_is_served(api):
    status, error = api.as_tenant(None).call("api_create_appointment.json")

    assert status == 401
    assert error["error"] == "unauthorized"


def test_rescheduling_replaces_pending_reminders_and_needs_a_new_confirmation(api):
    appointment = api.book()

    status, moved = api.call(
        "api_update_appointment.json",
        body={"starts_at": in_days(8, 15, 0)},
        appointment_id=appointment["id"],
    )

    assert status == 200
    assert moved["version"] == 2
    assert moved["status"] == "scheduled"
    old = [r for r in moved["reminders"] if r["version"] == 1]
    new = [r for r in moved["reminders"] if r["version"] == 2]
    assert [(r["status"], r["reason"]) for r in old] == [("cancelled", "rescheduled")] * 2
    assert [r["status"] for r in new] == ["pending", "pending"]
    assert datetime.fromisoformat(new[1]["send_at"]).astimezone(NEW_YORK).hour == 13


def test_a_detail_change_keeps_the_plan_and_a_stale_version_gets_409(api):
    appointment = api.book(first_name="Ana")

    status, changed = api.call(
        "api_update_appointment.json",
        body={"first_name": None, "location": "12 Main St", "version": 1},
        appointment_id=appointment["id"],
    )
    assert status == 200
    assert changed["first_name"] is None
    assert changed["location"] == "12 Main St"
    assert [r["id"] for r in changed["reminders"]] == ["1.1", "1.2"]
    assert {r["status"] for r in changed["reminders"]} == {"pending"}

    status, error = api.call(
        "api_update_appointment.json",
        body={"location": "elsewhere", "version": 1},
        appointment_id=appointment["id"],
    )
    assert status == 409
    assert "version" in error["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "body"), ({"starts_at": None}, "starts_at"), ({"version": 0}, "version")],
)
def test_an_empty_or_null_patch_is_refused(api, body, field):
    appointment = api.book()

    status, error = api.call(
        "api_update_appointment.json", body=body, appointment_id=appointment["id"]
    )

    assert status == 422
    assert field in [f["field"] for f in error["fields"]]


def test_cancelling_cancels_pending_reminders_and_is_idempotent(api):
    appointment = api.book()

    status, cancelled = api.call("api_cancel_appointment.json", appointment_id=appointment["id"])
    status_again, again = api.call("api_cancel_appointment.json", appointment_id=appointment["id"])

    assert (status, status_again) == (200, 200)
    assert cancelled["status"] == "cancelled"
    assert [(r["status"], r["reason"]) for r in cancelled["reminders"]] == [
        ("cancelled", "appointment_cancelled")
    ] * 2
    assert again["version"] == cancelled["version"]

    status, error = api.call(
        "api_update_appointment.json",
        body={"starts_at": in_days(9)},
        appointment_id=appointment["id"],
    )
    assert status == 409
    assert "cancelled" in error["message"]


def test_only_pending_reminders_sit_in_the_due_index(api, aws):
    kept = api.book()
    cancelled = api.book()
    api.call("api_cancel_appointment.json", appointment_id=cancelled["id"])

    table = aws.settings.appointments_table
    items = boto3.client("dynamodb").scan(TableName=table, IndexName="due")["Items"]

    assert sorted(item["sk"]["S"] for item in items) == [
        "appointment#reminder#1.1",
        "appointment#reminder#1.2",
    ]
    assert {item["appointment_id"]["S"] for item in items} == {kept["id"]}


def test_listing_pages_through_a_time_range_and_filters_by_status(api, tenants):
    booked = [api.book(starts_at=in_days(days)) for days in (3, 4, 5)]
    api.call("api_cancel_appointment.json", appointment_id=booked[1]["id"])
    api.as_tenant(tenants[1]).book(timezone="America/Chicago")
    window = {"from": in_days(2), "to": in_days(6)}

    seen: list[str] = []
    token = None
    for _ in range(5):
        query = {**window, "limit": "2", **({"next_token": token} if token else {})}
        status, page = api.call("api_list_appointments.json", query=query)
        assert status == 200
        seen += [item["id"] for item in page["items"]]
        assert all("reminders" not in item for item in page["items"])
        token = page["next_token"]
        if token is None:
            break

    assert seen == [a["id"] for a in booked]
    status, scheduled = api.call(
        "api_list_appointments.json", query={**window, "status": "scheduled"}
    )
    assert [a["id"] for a in scheduled["items"]] == [booked[0]["id"], booked[2]["id"]]
    status, cancelled = api.call(
        "api_list_appointments.json", query={**window, "status": "cancelled"}
    )
    assert [a["id"] for a in cancelled["items"]] == [booked[1]["id"]]


def test_a_page_token_cannot_be_replayed_by_another_tenant_or_forged(api, tenants):
    for days in (3, 4):
        api.book(starts_at=in_days(days))
    window = {"from": in_days(2), "to": in_days(6)}
    _, page = api.call("api_list_appointments.json", query={**window, "limit": "1"})

    other = api.as_tenant(tenants[1])
    for token in (page["next_token"], "bm90IGpzb24=", "%%%"):
        status, error = other.call(
            "api_list_appointments.json", query={**window, "next_token": token}
        )
        # 400, not 422 (issue 17): a token is not a field to fix but a listing to restart
        assert (status, error["error"]) == (400, "invalid_next_token")
        assert error["fields"][0]["field"] == "next_token"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"from": "2027-03-01T00:00:00"}, "from"),
        ({"status": "lost"}, "status"),
        ({"limit": "1000"}, "limit"),
        ({"from": "2027-03-10T00:00:00Z", "to": "2027-03-01T00:00:00Z"}, "to"),
    ],
)
def test_bad_list_queries_get_a_422_naming_the_parameter(api, query, field):
    status, error = api.call("api_list_appointments.json", query=query)

    assert status == 422
    assert field in [f["field"] for f in error["fields"]]


def test_an_unknown_appointment_is_404_and_a_malformed_id_is_422(api):
    status, _ = api.call("api_get_appointment.json", appointment_id="apt_" + "0" * 32)
    assert status == 404

    status, error = api.call("api_get_appointment.json", appointment_id="apt_x")
    assert status == 422
    assert error["fields"][0]["field"] == "id"


@pytest.mark.usefixtures("atomic_requests")
def test_concurrent_reschedules_leave_exactly_one_pending_plan(api, aws):
    # Given one appointment, and four clinic systems rescheduling it at the same moment (each
    # a separate Lambda container: one service call per thread; a Powertools resolver keeps
    # the current event on a module-level router, so handlers themselves are one per process)
    appointment = api.book()
    results: list[str] = []

    def reschedule(days: int) -> None:
        changes = AppointmentChanges(starts_at=datetime.fromisoformat(in_days(days)))
        try:
            aws.appointments.change(api.tenant_id, appointment["id"], changes)
            results.append("applied")
        except Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=reschedule, args=(d,)) for d in (6, 7, 8, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then every change either applied or gave up with a conflict, and only the final version
    # has pending reminders, all for the final start time
    assert len(results) == 4
    assert "applied" in results
    _, final = api.call("api_get_appointment.json", appointment_id=appointment["id"])
    assert final["version"] == 1 + results.count("applied")
    pending = [r for r in final["reminders"] if r["status"] == "pending"]
    assert {r["version"] for r in pending} == {final["version"]}
    assert len(pending) == 2
    start = datetime.fromisoformat(final["starts_at"])
    assert all(datetime.fromisoformat(r["send_at"]) < start for r in pending)
    cancelled = [r for r in final["reminders"] if r["status"] == "cancelled"]
    assert len(cancelled) == 2 * (final["version"] - 1)
    assert datetime.now(UTC) < start


@pytest.mark.usefixtures("atomic_requests")
def test_concurrent_detail_changes_never_lose_an_update(api, aws):
    # Given two systems changing different details of one appointment at once
    appointment = api.book()
    changes = [
        AppointmentChanges(first_name=f"Name{n}")
        if n % 2
        else AppointmentChanges(location=f"Room {n}")
        for n in range(6)
    ]
    outcomes: list[str] = []

    def apply(change: AppointmentChanges) -> None:
        try:
            aws.appointments.change(api.tenant_id, appointment["id"], change)
            outcomes.append("applied")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=apply, args=(c,)) for c in changes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then each applied change produced its own version: none overwrote another unseen
    _, final = api.call("api_get_appointment.json", appointment_id=appointment["id"])
    assert final["version"] == 1 + outcomes.count("applied")


def test_an_unknown_route_answers_in_the_api_error_shape(api):
    event = copy.deepcopy(load_event("api_get_appointment.json"))
    event.update(path="/patients", resource="/patients", pathParameters=None)

    response = api.module.lambda_handler(event, api.context)

    assert response["statusCode"] == 404
    assert json.loads(response["body"]) == {"error": "not_found", "message": "no such route"}


def test_without_a_timezone_the_tenants_default_zone_plans_the_reminders(api, tenants):
    # Given the cable company, whose default zone is America/Chicago
    cable = api.as_tenant(tenants[1])
    chicago = ZoneInfo("America/Chicago")
    day = (datetime.now(chicago) + timedelta(days=4)).date()
    start = datetime(day.year, day.month, day.day, 13, 0, tzinfo=chicago)

    # When it books without naming a zone
    status, appointment = cable.call(
        "api_create_appointment.json",
        body={"phone": "(312) 555-0123", "starts_at": start.isoformat(), "reminders": ["P1D"]},
    )

    # Then the appointment lives in Chicago time and P1D is 13:00 Chicago the day before
    assert status == 201
    assert appointment["timezone"] == "America/Chicago"
    assert appointment["phone"] == "+13125550123"
    send_at = datetime.fromisoformat(appointment["reminders"][0]["send_at"])
    assert send_at.astimezone(chicago).time().isoformat() == "13:00:00"
    assert (start.date() - send_at.astimezone(chicago).date()).days == 1
