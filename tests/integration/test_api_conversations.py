"""The API function's conversation, callback and consent routes, invoked under moto as API
Gateway would call them, with domain events delivered by an EventBridge rule to SQS."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest

from api_client import Api
from builders import PATIENT, local_day, take_all, tap_bus
from conftest import load_function
from reach.data.callbacks import CallbackRepository
from reach.data.messages import MessageRepository
from reach.domain.callbacks import Callback
from reach.domain.message import Message, MessageKind, MessageStatus, Thread
from reach.settings import Settings, SettingsError
from reach.wiring import build_services

NEW_YORK = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
OTHER_PATIENT = "+12025550199"
EVIDENCE = "Signed the SMS consent form at the front desk today"


def in_days(days: int, hour: int = 15, minute: int = 0) -> str:
    return local_day(days, hour, minute).isoformat()


@dataclass
class Bus:
    """What a clinic subscribed to the Reach bus receives (a rule delivering to SQS)."""

    sqs: Any
    queue_url: str

    def received(self) -> list[dict[str, Any]]:
        return take_all(self.sqs, self.queue_url)


@pytest.fixture
def bus(aws) -> Bus:
    queue_url = tap_bus(
        aws.settings.event_bus_name,
        rule="consent",
        queue="clinic-consent-events",
        pattern={"detail-type": ["OptedOut", "OptedIn"]},
        target_id="queue",
    )
    return Bus(boto3.client("sqs"), queue_url)


@pytest.fixture
def api(tenants, lambda_context) -> Api:
    return Api(load_function("api"), lambda_context, tenants[0])


def _message(
    message_id: str,
    kind: MessageKind,
    at: datetime,
    *,
    status: MessageStatus,
    body: str,
    **fields: Any,
) -> Message:
    return Message(
        message_id=message_id,
        kind=kind,
        phone=PATIENT,
        body=body,
        status=status,
        created_at=at,
        updated_at=at + timedelta(seconds=2),
        **fields,
    )


# --- Conversation ------------------------------------------------------------------------


@pytest.fixture
def conversation(api) -> tuple[dict[str, Any], list[Message]]:
    """A booked appointment with a reminder sent, the patient's reply and our answer, stored
    out of order; and a message of another appointment of the same patient."""
    appointment = api.book()
    thread = Thread(api.tenant_id, appointment["id"], PATIENT)
    sent_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    reminder = _message(
        "msg_reminder",
        MessageKind.REMINDER,
        sent_at,
        status=MessageStatus.SENT,
        body="Riverside Family Clinic: reminder of your visit. Reply 1 to confirm.",
        parts=1,
        encoding="GSM-7",
        provider="sns",
        reminder_id="1.1",
    )
    reply = _message(
        "msg_reply",
        MessageKind.INBOUND,
        sent_at + timedelta(minutes=7),
        status=MessageStatus.RECEIVED,
        body="1",
        intent="confirm",
        inbound_message_id="in-1",
    )
    answer = _message(
        "msg_answer",
        MessageKind.ANSWER,
        sent_at + timedelta(minutes=7, seconds=1),
        status=MessageStatus.FAILED,
        body="Thanks, you're confirmed.",
        intent="confirmed",
        reason="carrier_unreachable",
        parts=1,
        encoding="GSM-7",
    )
    conversations = MessageRepository()
    for message in (answer, reminder, reply):
        assert conversations.add(thread, message)
    elsewhere = api.book(starts_at=in_days(9))
    conversations.add(
        Thread(api.tenant_id, elsewhere["id"], PATIENT),
        _message(
            "msg_elsewhere",
            MessageKind.INBOUND,
            sent_at,
            status=MessageStatus.RECEIVED,
            body="late",
        ),
    )
    conversations.add(
        Thread(api.tenant_id, None, PATIENT),
        _message(
            "msg_no_appointment",
            MessageKind.INBOUND,
            sent_at,
            status=MessageStatus.RECEIVED,
            body="hi",
        ),
    )
    return appointment, [reminder, reply, answer]


def test_the_conversation_reads_both_directions_oldest_first_in_the_appointment_zone(
    api, conversation
):
    appointment, stored = conversation

    # when the clinic reads the appointment's messages
    status, page = api.call("GET", "/appointments/{id}/messages", params={"id": appointment["id"]})

    # then it gets this appointment's three messages in time order, and no other thread's
    assert status == 200
    assert [m["id"] for m in page["items"]] == ["msg_reminder", "msg_reply", "msg_answer"]
    reminder, reply, answer = page["items"]
    assert reminder == {
        "id": "msg_reminder",
        "kind": "reminder",
        "direction": "outbound",
        "status": "sent",
        "reason": None,
        "body": stored[0].body,
        "parts": 1,
        "encoding": "GSM-7",
        "intent": None,
        "reminder_id": "1.1",
        "created_at": reminder["created_at"],
        "updated_at": reminder["updated_at"],
        "status_at": None,
    }
    assert [m["kind"] for m in page["items"]] == ["reminder", "inbound", "answer"]
    assert (reply["direction"], reply["status"], reply["intent"], reply["body"]) == (
        "inbound",
        "received",
        "confirm",
        "1",
    )
    assert reply["reminder_id"] is None
    assert (answer["status"], answer["reason"], answer["intent"]) == (
        "failed",
        "carrier_unreachable",
        "confirmed",
    )
    # times are the stored instants, written with the appointment's (New York) offset
    for view, record in zip(page["items"], stored, strict=True):
        created = datetime.fromisoformat(view["created_at"])
        assert created == record.created_at
        assert created.utcoffset() == record.created_at.astimezone(NEW_YORK).utcoffset()
        assert datetime.fromisoformat(view["updated_at"]) == record.updated_at


def test_the_conversation_limit_keeps_the_oldest_and_is_bounded(api, conversation):
    appointment, _ = conversation

    status, page = api.call(
        "GET",
        "/appointments/{id}/messages",
        params={"id": appointment["id"]},
        query={"limit": "2"},
    )

    assert status == 200
    assert [m["id"] for m in page["items"]] == ["msg_reminder", "msg_reply"]
    for limit in ("0", "501", "many"):
        status, error = api.call(
            "GET",
            "/appointments/{id}/messages",
            params={"id": appointment["id"]},
            query={"limit": limit},
        )
        assert status == 422, limit
        assert [f["field"] for f in error["fields"]] == ["limit"]


def test_an_appointment_without_messages_has_an_empty_conversation(api):
    appointment = api.book()

    status, page = api.call("GET", "/appointments/{id}/messages", params={"id": appointment["id"]})

    assert (status, page) == (200, {"items": [], "next_token": None})


def test_another_tenants_or_an_unknown_appointment_has_no_conversation(api, tenants, conversation):
    appointment, _ = conversation
    intruder = api.as_tenant(tenants[1])

    for who, appointment_id in (
        (intruder, appointment["id"]),
        (api, "apt_" + "0" * 32),
    ):
        status, error = who.call(
            "GET", "/appointments/{id}/messages", params={"id": appointment_id}
        )
        assert status == 404
        assert error["error"] == "not_found"

    status, error = api.call("GET", "/appointments/{id}/messages", params={"id": "apt_x"})
    assert status == 422
    assert error["fields"][0]["field"] == "id"


# --- Callbacks ---------------------------------------------------------------------------


def _request_callback(
    tenant_id: str, n: int, phone: str, appointment_id: str | None, minutes_ago: int
) -> Callback:
    requested = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    callback, created = CallbackRepository().open_callback(
        Callback(
            tenant_id=tenant_id,
            callback_id=f"cb_{n:032x}",
            phone=phone,
            appointment_id=appointment_id,
            status="open",
            requested_at=requested,
            expected_by=requested + timedelta(hours=2),
            inbound_message_id=f"in-{n}",
        )
    )
    assert created
    return callback


@pytest.fixture
def callbacks(api, tenants) -> tuple[Callback, Callback, Callback]:
    """Two open requests of the clinic (the older about an appointment) and one of the cable
    company."""
    appointment = api.book()
    older = _request_callback(tenants[0], 1, PATIENT, appointment["id"], minutes_ago=30)
    newer = _request_callback(tenants[0], 2, OTHER_PATIENT, None, minutes_ago=5)
    theirs = _request_callback(tenants[1], 3, "+13125550123", None, minutes_ago=10)
    return older, newer, theirs


def test_open_callbacks_are_listed_oldest_first_in_pages_of_the_tenants_own(api, callbacks):
    older, newer, _ = callbacks

    # when the clinic pages through its open requests one at a time
    seen: list[dict[str, Any]] = []
    token = None
    for _ in range(4):
        query = {"limit": "1", **({"next_token": token} if token else {})}
        status, page = api.call("GET", "/callbacks", query=query)
        assert status == 200, page
        seen += page["items"]
        token = page["next_token"]
        if token is None:
            break

    # then it sees its two requests, oldest first, and never the cable company's
    assert [c["id"] for c in seen] == [older.callback_id, newer.callback_id]
    first = seen[0]
    assert first == {
        "id": older.callback_id,
        "phone": PATIENT,
        "appointment_id": older.appointment_id,
        "status": "open",
        "requested_at": first["requested_at"],
        "expected_by": first["expected_by"],
        "closed_at": None,
        "outcome": None,
        "note": None,
    }
    requested = datetime.fromisoformat(first["requested_at"])
    assert requested == older.requested_at
    assert requested.utcoffset() == older.requested_at.astimezone(NEW_YORK).utcoffset()
    assert datetime.fromisoformat(first["expected_by"]) == older.expected_by
    assert seen[1]["appointment_id"] is None
    # open is the default; nothing is closed yet
    _, default = api.call("GET", "/callbacks")
    assert [c["id"] for c in default["items"]] == [older.callback_id, newer.callback_id]
    _, closed = api.call("GET", "/callbacks", query={"status": "closed"})
    assert closed == {"items": [], "next_token": None}


def test_a_callback_page_token_is_refused_by_another_tenant_or_listing(api, tenants, callbacks):
    _, page = api.call("GET", "/callbacks", query={"limit": "1"})
    assert page["next_token"]

    for who, query in (
        (api.as_tenant(tenants[1]), {"next_token": page["next_token"]}),
        (api, {"status": "closed", "next_token": page["next_token"]}),
        (api, {"next_token": "bm90IGpzb24="}),
        (api, {"next_token": "%%%"}),
    ):
        status, error = who.call("GET", "/callbacks", query=query)
        # 400, not 422 (issue 17): a token is not a field to fix but a listing to restart
        assert (status, error["error"]) == (400, "invalid_next_token"), query
        assert [f["field"] for f in error["fields"]] == ["next_token"]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"status": "pending"}, "status"), ({"limit": "0"}, "limit"), ({"limit": "101"}, "limit")],
)
def test_bad_callback_queries_get_a_422_naming_the_parameter(api, query, field):
    status, error = api.call("GET", "/callbacks", query=query)

    assert status == 422
    assert [f["field"] for f in error["fields"]] == [field]


def test_a_callback_is_read_by_its_own_tenant_only(api, tenants, callbacks):
    older, _, theirs = callbacks

    status, callback = api.call("GET", "/callbacks/{id}", params={"id": older.callback_id})
    assert status == 200
    assert (callback["id"], callback["phone"], callback["status"]) == (
        older.callback_id,
        PATIENT,
        "open",
    )

    for callback_id in (theirs.callback_id, f"cb_{99:032x}"):
        status, error = api.call("GET", "/callbacks/{id}", params={"id": callback_id})
        assert status == 404
        assert error["error"] == "not_found"
    for malformed in ("cb_x", "apt_" + "0" * 32, "cb_" + "AB" * 16):
        status, error = api.call("GET", "/callbacks/{id}", params={"id": malformed})
        assert status == 422, malformed
        assert error["fields"][0]["field"] == "id"


def test_closing_a_callback_records_the_outcome_once_and_moves_it_to_closed(api, callbacks):
    older, newer, _ = callbacks

    # when the clinic closes the older request, then closes it again differently
    status, closed = api.call(
        "POST",
        "/callbacks/{id}/close",
        params={"id": older.callback_id},
        body={"outcome": "reached", "note": "  Moved to Thursday.\nWill bring forms.  "},
    )
    status_again, again = api.call(
        "POST",
        "/callbacks/{id}/close",
        params={"id": older.callback_id},
        body={"outcome": "reached"},
    )

    # then the first close holds: outcome, trimmed note and time; the repeat changes nothing
    # (a repeat with another outcome is refused: tests/integration/test_api_repeats.py)
    assert (status, status_again) == (200, 200)
    assert closed["status"] == "closed"
    assert closed["outcome"] == "reached"
    assert closed["note"] == "Moved to Thursday.\nWill bring forms."
    closed_at = datetime.fromisoformat(closed["closed_at"])
    assert abs(datetime.now(UTC) - closed_at) < timedelta(minutes=1)
    assert again == closed
    # and it has left the open list for the closed one
    _, open_page = api.call("GET", "/callbacks")
    assert [c["id"] for c in open_page["items"]] == [newer.callback_id]
    _, closed_page = api.call("GET", "/callbacks", query={"status": "closed"})
    assert [c["id"] for c in closed_page["items"]] == [older.callback_id]
    # and the patient may ask for a call again (their open-request guard was freed)
    _request_callback(api.tenant_id, 4, PATIENT, None, minutes_ago=0)


def test_another_tenant_cannot_close_a_callback(api, tenants, callbacks):
    older, _, _ = callbacks

    status, error = api.as_tenant(tenants[1]).call(
        "POST", "/callbacks/{id}/close", params={"id": older.callback_id}, body={"outcome": "other"}
    )

    assert status == 404
    assert error["error"] == "not_found"
    _, unchanged = api.call("GET", "/callbacks/{id}", params={"id": older.callback_id})
    assert unchanged["status"] == "open"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "called"}, "outcome"),
        ({}, "outcome"),
        ({"outcome": "reached", "note": "x" * 501}, "note"),
        ({"outcome": "reached", "note": "bell\x07"}, "note"),
        ({"outcome": "reached", "note": "   "}, "note"),
        ({"outcome": "reached", "status": "open"}, "status"),
    ],
)
def test_a_bad_close_gets_a_422_naming_the_field_and_closes_nothing(api, callbacks, body, field):
    older, _, _ = callbacks

    status, error = api.call(
        "POST", "/callbacks/{id}/close", params={"id": older.callback_id}, body=body
    )

    assert status == 422
    assert field in [f["field"] for f in error["fields"]]
    _, unchanged = api.call("GET", "/callbacks/{id}", params={"id": older.callback_id})
    assert unchanged["status"] == "open"


# --- Consent -----------------------------------------------------------------------------


def test_a_number_never_seen_is_opted_in_without_a_consent_record(api):
    for written in (PATIENT, "(202) 555-0187", "2025550187"):
        status, contact = api.contact(written)

        assert status == 200, written
        assert contact == {
            "phone": PATIENT,
            "opted_out": False,
            "consent_source": None,
            "consent_changed_at": None,
            "consent_note": None,
        }


def test_a_booking_records_where_consent_came_from(api):
    before = datetime.now(UTC)

    api.book()

    status, contact = api.contact(PATIENT)
    assert status == 200
    assert contact["opted_out"] is False
    assert contact["consent_source"] == "booking"
    changed = datetime.fromisoformat(contact["consent_changed_at"])
    assert before <= changed <= datetime.now(UTC)
    assert changed.utcoffset() == changed.astimezone(NEW_YORK).utcoffset()


def test_a_repeated_booking_keeps_the_first_consent_record(api):
    api.book(external_id="emr-1")
    _, first = api.contact(PATIENT)

    status, _ = api.call(
        "POST",
        "/appointments",
        body={"phone": PATIENT, "starts_at": in_days(5), "external_id": "emr-1"},
    )
    api.book(starts_at=in_days(8))

    assert status == 200
    _, after = api.contact(PATIENT)
    assert after == first


def test_changing_an_appointments_phone_records_consent_for_the_new_number(api):
    appointment = api.book()

    status, changed = api.call(
        "PATCH",
        "/appointments/{id}",
        params={"id": appointment["id"]},
        body={"phone": "(202) 555-0199"},
    )

    assert status == 200
    assert changed["phone"] == OTHER_PATIENT
    _, contact = api.contact(OTHER_PATIENT)
    assert contact["consent_source"] == "booking"


def _reminder_states(api: Api, appointment_id: str) -> list[tuple[str, str | None]]:
    return [(r["status"], r["reason"]) for r in api.appointment(appointment_id)["reminders"]]


def test_opting_out_skips_the_numbers_pending_reminders_and_tells_the_clinic(api, bus):
    # given two upcoming appointments for the patient and one for someone else
    mine = [api.book(starts_at=in_days(days)) for days in (4, 6)]
    theirs = api.book(OTHER_PATIENT)

    # when the clinic opts the patient out (as they asked on the phone)
    status, contact = api.opt_out(PATIENT, {"note": "Asked at the desk to stop texts"})

    # then the record says so, and every pending reminder of the patient is skipped
    assert status == 200
    assert contact["phone"] == PATIENT
    assert contact["opted_out"] is True
    assert contact["consent_source"] == "api"
    assert contact["reminders_skipped"] == 4
    for appointment in mine:
        assert _reminder_states(api, appointment["id"]) == [("skipped", "opted_out")] * 2
    assert {s for s, _ in _reminder_states(api, theirs["id"])} == {"pending"}
    _, stored = api.contact(PATIENT)
    assert stored == {k: v for k, v in contact.items() if k != "reminders_skipped"}
    # and the clinic's systems hear OptedOut, with ids and no phone number
    [event] = bus.received()
    assert event["source"] == "reach"
    assert event["detail-type"] == "OptedOut"
    assert event["detail"]["tenant_id"] == api.tenant_id
    assert event["detail"]["request_id"].startswith(f"req-{api.tenant_id}-")
    assert event["detail"]["source"] == "api"
    assert "2025550187" not in json.dumps(event)


def test_opting_out_twice_changes_nothing_the_second_time(api, bus):
    api.book()
    api.opt_out(PATIENT)
    _, first = api.contact(PATIENT)
    [published] = bus.received()

    status, again = api.opt_out(PATIENT)

    assert status == 200
    assert again["opted_out"] is True
    assert again["reminders_skipped"] == 0
    assert again["consent_changed_at"] == first["consent_changed_at"]
    # The event is published again (a retry after a failed publish must not lose it), under
    # the id of the one change, so subscribers that dedupe on event_id see it once
    [republished] = bus.received()
    assert republished["detail"]["event_id"] == published["detail"]["event_id"]


def test_a_booking_never_opts_an_opted_out_number_back_in(api):
    api.opt_out(PATIENT)
    _, opted_out = api.contact(PATIENT)

    api.book(starts_at=in_days(7))

    _, contact = api.contact(PATIENT)
    assert contact == opted_out
    assert contact["opted_out"] is True
    assert contact["consent_source"] == "api"


def test_opting_in_with_evidence_resumes_the_skipped_reminders(api, bus):
    appointments = [api.book(starts_at=in_days(days)) for days in (4, 6)]
    api.opt_out(PATIENT)
    bus.received()

    status, contact = api.opt_in(PATIENT, {"evidence": EVIDENCE})

    assert status == 200
    assert contact["opted_out"] is False
    assert contact["consent_source"] == "api"
    assert contact["reminders_resumed"] == 4
    for appointment in appointments:
        assert _reminder_states(api, appointment["id"]) == [("pending", "resumed_opt_in")] * 2
    [event] = bus.received()
    assert event["detail-type"] == "OptedIn"
    assert event["detail"]["tenant_id"] == api.tenant_id
    assert EVIDENCE not in json.dumps(event)
    # and the dispatcher will find them again: they are back in the due index
    due = boto3.client("dynamodb").scan(
        TableName=Settings.from_env().appointments_table, IndexName="due"
    )["Items"]
    assert {i["appointment_id"]["S"] for i in due} == {a["id"] for a in appointments}


@pytest.mark.parametrize(
    "body",
    [
        None,
        {},
        {"evidence": None},
        {"evidence": "ok"},
        {"evidence": "   no   "},
        {"evidence": "x" * 501},
        {"evidence": "form\x00signed"},
        {"evidence": EVIDENCE, "source": "sms"},
    ],
)
def test_opting_in_without_usable_evidence_gets_a_422_and_changes_nothing(api, body):
    api.book()
    api.opt_out(PATIENT)

    status, error = api.opt_in(PATIENT, body)

    assert status == 422
    fields = [f["field"] for f in error["fields"]]
    # no body at all names the body, which the document says is required (issue 17, item 6)
    expected = ["body"] if body is None else ["source"] if "source" in body else ["evidence"]
    assert fields == expected
    _, contact = api.contact(PATIENT)
    assert contact["opted_out"] is True


@pytest.mark.parametrize("phone", ["not-a-phone", "%2B1555", "%2B1202555018", "0"])
def test_an_invalid_phone_gets_a_422_naming_phone(api, phone):
    for method, resource, body in (
        ("GET", "/contacts/{phone}", None),
        ("POST", "/contacts/{phone}/opt-out", None),
        ("POST", "/contacts/{phone}/opt-in", {"evidence": EVIDENCE}),
    ):
        status, error = api.call(method, resource, params={"phone": phone}, body=body)

        assert status == 422, (resource, phone)
        assert [f["field"] for f in error["fields"]] == ["phone"]


def test_consent_is_per_tenant(api, tenants, bus):
    # given the clinic's patient opted out with the clinic
    appointment = api.book()
    api.opt_out(PATIENT)
    cable = api.as_tenant(tenants[1])

    # then the cable company sees a number it has never heard of
    status, seen = cable.contact(PATIENT)
    assert status == 200
    assert (seen["opted_out"], seen["consent_source"]) == (False, None)

    # and its own opt-out and opt-in of that number leave the clinic's record alone
    _, before = api.contact(PATIENT)
    assert cable.opt_out(PATIENT)[1]["opted_out"] is True
    status, opted_in = cable.opt_in(PATIENT, {"evidence": EVIDENCE})
    assert (status, opted_in["opted_out"], opted_in["reminders_resumed"]) == (200, False, 0)
    _, after = api.contact(PATIENT)
    assert after == before
    assert after["opted_out"] is True
    assert _reminder_states(api, appointment["id"]) == [("skipped", "opted_out")] * 2
    assert {e["detail"]["tenant_id"] for e in bus.received()} == {tenants[0], tenants[1]}


def test_the_cable_companys_national_numbers_read_in_its_own_country(api, tenants):
    cable = api.as_tenant(tenants[1])

    status, contact = cable.contact("(312) 555-0123")

    assert status == 200
    assert contact["phone"] == "+13125550123"
    cable.opt_out("+13125550123")
    _, opted_out = cable.contact("3125550123")
    changed = datetime.fromisoformat(opted_out["consent_changed_at"])
    assert changed.utcoffset() == changed.astimezone(CHICAGO).utcoffset()


def test_without_an_event_bus_reads_work_and_a_consent_change_names_the_variable(
    aws, tenants, monkeypatch
):
    # given services built from an environment without EVENT_BUS_NAME (the authorizer's)
    monkeypatch.delenv("EVENT_BUS_NAME")
    services = build_services(Settings.from_env())

    # then nothing needs the bus until an event is published
    assert services.contacts.get(tenants[0], PATIENT).opted_out is False
    with pytest.raises(SettingsError, match="EVENT_BUS_NAME"):
        services.consent.opt_out(
            tenants[0], PATIENT, "api", datetime.now(UTC), cause={"request_id": "req-1"}
        )


def test_an_opt_out_the_bus_refuses_is_kept_and_answered_with_a_503(api, aws):
    # given the event bus is gone (deleted by hand, say)
    api.book()
    boto3.client("events").delete_event_bus(Name=aws.settings.event_bus_name)

    # when the clinic opts the patient out
    status, error = api.opt_out(PATIENT)

    # then the client hears that the event was not published, and the opt-out still holds
    assert status == 503
    assert error["error"] == "event_publish_error"
    _, contact = api.contact(PATIENT)
    assert contact["opted_out"] is True


def test_the_evidence_of_new_consent_is_kept_with_the_record(api):
    api.opt_out(PATIENT)

    status, contact = api.opt_in(
        PATIENT, {"evidence": "signed consent form at the front desk, 2026-11-28"}
    )

    assert status == 200, contact
    assert contact["consent_source"] == "api"
    assert contact["consent_note"] == "signed consent form at the front desk, 2026-11-28"
    assert api.contact(PATIENT)[1]["consent_note"] == contact["consent_note"]
