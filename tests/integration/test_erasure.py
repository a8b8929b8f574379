"""Erasure (issue #15, item 3): DELETE /contacts/{phone} erases a person's data for the
tenant, keeps only what the consent record needs, says so, emits ContactErased and is
idempotent; a later booking brings nothing back and texts no opted-out number."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from api_client import Api, encoded
from builders import PATIENT, a_list, book, local_day, new_tenant
from conftest import load_function
from reach.adapters.events_fake import RecordingPublisher
from reach.data.appointments import AppointmentRepository, ConcurrentChange
from reach.data.callbacks import CallbackRepository
from reach.data.campaigns import CampaignRepository
from reach.data.consent_log import ConsentLog
from reach.data.invites import member_thread_id
from reach.data.lists import ListRepository
from reach.data.numbers import NumberRepository
from reach.data.recipients import recipient_item
from reach.data.reminders import ReminderKey
from reach.domain.callbacks import Callback
from reach.domain.campaigns import Campaign, CampaignStatus
from reach.domain.conversation import PendingChoice
from reach.domain.lists import ConsentSource, MemberConsent, MemberStatus
from reach.domain.message import Message, MessageKind, MessageStatus, Thread
from reach.domain.models import AppointmentKind
from reach.domain.numbers import OriginationType, Throughput
from reach.ports.events import EventType
from reach.services.erasure import ErasureService
from reach.services.membership import Joiner, Membership
from reach.services.sending.campaign import CampaignKind
from reach.wiring import build_dispatcher, build_services
from reach_tools.demo_clock import DemoClock
from stand_ins import MemoryQueue, TimedSms, drain, make_sender, tick

AT = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def text(n: int, body: str, kind: MessageKind = MessageKind.REMINDER) -> Message:
    status = MessageStatus.RECEIVED if kind is MessageKind.INBOUND else MessageStatus.SENT
    return Message(f"m{n}", kind, PATIENT, body, status, AT + timedelta(minutes=n), AT, parts=1)


@pytest.fixture
def person(aws, clinic):
    """A patient with a booking (named), texts both ways in its thread and their own thread,
    a pending question, a callback request's note, and an opt-out."""
    visit = book(aws, clinic, first_name="Ana")
    thread = Thread(clinic.tenant_id, visit.appointment_id, PATIENT)
    aws.messages.add(thread, text(1, "Hi Ana, your visit is tomorrow"))
    aws.messages.add(thread, text(2, "I have a rash, can I come later?", MessageKind.INBOUND))
    aws.messages.add(
        Thread(clinic.tenant_id, None, PATIENT), text(3, "who is this", MessageKind.INBOUND)
    )
    aws.contacts.ask_choice(
        clinic.tenant_id, PATIENT, PendingChoice((visit.appointment_id,), "confirm", None, AT)
    )
    aws.recipients.opt_out(
        clinic.tenant_id, PATIENT, source="api", cause={"r": "1"}, note="asked by phone"
    )
    return clinic, visit


@pytest.fixture
def api(person, lambda_context) -> Api:
    return Api(load_function("api"), lambda_context, person[0].tenant_id)


def erase(api: Api, phone: str = PATIENT):
    return api.call("DELETE", "/contacts/{phone}", params={"phone": encoded(phone)})


def test_erasing_a_contact_removes_texts_names_and_state_and_keeps_the_opt_out(aws, api, person):
    clinic, visit = person

    status, body = erase(api)

    assert status == 200, body
    assert body["phone"] == PATIENT
    assert body["opted_out"] is True
    assert body["erased"] == {
        "conversation_state": 1, "names": 1, "message_bodies": 3, "callback_notes": 0,
        "list_memberships": 0, "list_message_bodies": 0,
        "campaign_recipients": 0, "campaign_message_bodies": 0,
        "survey_answers": 0, "survey_message_bodies": 0,
    }  # fmt: skip
    assert {k["field"] for k in body["kept"]} >= {"phone", "opted_out", "consent_source"}
    assert all(k["reason"] for k in body["kept"])
    assert aws.appointments.get(clinic.tenant_id, visit.appointment_id).first_name is None
    threads = [
        Thread(clinic.tenant_id, visit.appointment_id, PATIENT),
        Thread(clinic.tenant_id, None, PATIENT),
    ]
    for thread in threads:
        assert [m.body for m in aws.messages.thread(thread)] == [None] * len(
            aws.messages.thread(thread)
        )
        assert aws.messages.thread(thread)
    contact = aws.contacts.get(clinic.tenant_id, PATIENT)
    assert (contact.opted_out, contact.consent_source) == (True, "api")
    assert contact.consent_note is None
    assert aws.contacts.conversation_state(clinic.tenant_id, PATIENT).pending is None


def test_erasing_again_answers_the_same_shape_with_nothing_erased(api):
    first = erase(api)[1]

    status, again = erase(api)

    assert status == 200
    assert again["erased"] == {name: 0 for name in first["erased"]}
    assert again["kept"] == first["kept"]
    assert again["phone"] == first["phone"]


def test_contact_erased_carries_ids_and_counts_but_no_phone(aws, person):
    clinic, _ = person
    events = RecordingPublisher()
    services = build_services(aws.settings, events=events)
    stores = services.erasure.erasers  # the same erasers the API runs
    service = ErasureService(services.recipients, stores, events, services.clock)

    service.erase(clinic.tenant_id, PATIENT, request_id="req-1")

    (event,) = events.events
    assert event.type is EventType.CONTACT_ERASED
    detail = event.detail()
    assert detail["request_id"] == "req-1"
    assert detail["erased_message_bodies"] == 3
    assert PATIENT not in str(detail)
    assert PATIENT[1:] not in str(detail)


def test_a_later_booking_brings_nothing_back_and_texts_no_opted_out_number(aws, person, clock, sms):
    clinic, visit = person
    service = ErasureService(
        aws.recipients,
        aws.erasure.erasers,
        RecordingPublisher(),
        aws.clock,
    )
    service.erase(clinic.tenant_id, PATIENT, request_id="req-2")

    again = book(
        aws, clinic, first_name="Ana", clock=clock, starts_at=clock() + timedelta(hours=30)
    )
    clock.set(clock() + timedelta(hours=7))
    queue = MemoryQueue()
    tick(aws, queue, clock())
    drain(queue, make_sender(aws, sms, clock))

    assert sms.sent_to(PATIENT) == []
    assert aws.appointments.get(clinic.tenant_id, visit.appointment_id).first_name is None
    old = aws.messages.thread(Thread(clinic.tenant_id, visit.appointment_id, PATIENT))
    assert all(m.body is None for m in old)
    assert aws.contacts.conversation_state(clinic.tenant_id, PATIENT).pending is None
    assert again.first_name == "Ana"


def test_a_reminder_planned_before_erasure_still_goes_without_the_name(aws, clinic, clock, sms):
    # given a named booking of a contact who never opted out
    visit = book(
        aws, clinic, first_name="Zed", clock=clock, starts_at=clock() + timedelta(hours=30)
    )
    services = ErasureService(
        aws.recipients,
        aws.erasure.erasers,
        RecordingPublisher(),
        aws.clock,
    )
    # when the contact is erased, then the reminder is due
    services.erase(clinic.tenant_id, PATIENT, request_id="req-3")
    clock.set(clock() + timedelta(hours=7))
    queue = MemoryQueue()
    tick(aws, queue, clock())
    drain(queue, make_sender(aws, sms, clock))

    # then the erasure did not make the plan stale: it went, and without the name
    (sent,) = sms.sent_to(PATIENT)
    assert "Zed" not in sent.body
    assert aws.appointments.get(clinic.tenant_id, visit.appointment_id).first_name is None


def test_erasing_a_number_that_is_not_one_is_refused_naming_phone(api):
    status, body = erase(api, "not-a-phone")
    assert status == 422, body
    assert body["error"] == "validation_error"
    assert [f["field"] for f in body["fields"]] == ["phone"]


def test_a_change_read_before_erasure_cannot_write_the_name_back(aws, clinic):
    # given a booking read by a change (a reschedule) that has not written yet
    visit = book(aws, clinic, first_name="Ana")
    read = aws.appointments.get(clinic.tenant_id, visit.appointment_id)
    moved = replace(read, starts_at=read.starts_at + timedelta(hours=1), version=read.version + 1)

    # when the contact is erased meanwhile
    aws.erasure.erase(clinic.tenant_id, PATIENT, request_id="req-4")

    # then the change's write fails its version check (its caller re-reads), and the name
    # stays erased
    with pytest.raises(ConcurrentChange):
        AppointmentRepository(aws.settings.due_shards).save_changes(read, moved, [], [])
    assert aws.appointments.get(clinic.tenant_id, visit.appointment_id).first_name is None


def test_notes_on_the_contacts_callbacks_are_erased_and_other_callers_notes_kept(aws, clinic):
    for n, phone in ((1, PATIENT), (2, "+12025550111")):
        CallbackRepository().open_callback(
            Callback(
                clinic.tenant_id,
                f"cb_{n:032x}",
                phone,
                None,
                "open",
                AT,
                AT + timedelta(hours=2),
                f"in-cb-{n}",
            )
        )
        aws.callbacks.close(clinic.tenant_id, f"cb_{n:032x}", "reached", "has a rash")

    erased = aws.erasure.erase(clinic.tenant_id, PATIENT, request_id="req-5").erased

    assert erased["callback_notes"] == 1
    assert aws.callbacks.get(clinic.tenant_id, f"cb_{1:032x}").callback.note is None
    assert aws.callbacks.get(clinic.tenant_id, f"cb_{2:032x}").callback.note == "has a rash"


def test_a_service_visits_address_is_erased_and_a_clinics_location_kept(aws, clinic):
    home = book(aws, clinic, first_name=None, kind=AppointmentKind.SERVICE_VISIT,
                location="12 Elm St", window_ends_at=local_day(3, 18))  # fmt: skip
    office = book(aws, clinic, first_name=None, location="Riverside Clinic, 1 Main St", days=4)

    erased = aws.erasure.erase(clinic.tenant_id, PATIENT, request_id="req-6").erased

    assert erased["names"] == 1
    assert aws.appointments.get(clinic.tenant_id, home.appointment_id).location is None
    kept = aws.appointments.get(clinic.tenant_id, office.appointment_id).location
    assert kept == "Riverside Clinic, 1 Main St"


def test_a_booking_made_while_erasing_keeps_its_own_name_and_brings_no_old_data_back(aws, person):
    clinic, visit = person
    with ThreadPoolExecutor(max_workers=2) as pool:
        erasing = pool.submit(aws.erasure.erase, clinic.tenant_id, PATIENT, request_id="req-7")
        booking = pool.submit(book, aws, clinic, first_name="Bea", days=6)
        erased, new = erasing.result(), booking.result()

    assert erased.erased["message_bodies"] == 3
    assert aws.appointments.get(clinic.tenant_id, visit.appointment_id).first_name is None
    old = aws.messages.thread(Thread(clinic.tenant_id, visit.appointment_id, PATIENT))
    assert all(m.body is None for m in old)
    # The new booking is new data: erased if the eraser reached it, else kept as given.
    assert aws.appointments.get(clinic.tenant_id, new.appointment_id).first_name in (None, "Bea")
    assert aws.contacts.get(clinic.tenant_id, PATIENT).opted_out


def test_erasing_a_contact_forgets_list_names_and_invitation_texts_and_keeps_the_consent(
    aws, api, person
):
    clinic, _ = person
    lists = ListRepository()
    plist = a_list(tenant_id=clinic.tenant_id, double_opt_in=True)
    lists.create(plist)
    other = a_list(tenant_id=clinic.tenant_id, list_id="closures", keyword="CLOSURES")
    lists.create(other)
    consent = MemberConsent(ConsentSource.PAPER_FORM, AT, evidence="signed form 12")
    joiner = Joiner(PATIENT, consent, "request_id=r1", first_name="Ana", timezone="America/Chicago")
    Membership(lists).add(plist, joiner, clinic.name, AT)
    thread = Thread(clinic.tenant_id, member_thread_id(plist.list_id, PATIENT), PATIENT)
    aws.messages.add(thread, text(4, "Riverside: reply YES to join Pantry alerts"))
    history = ConsentLog().history(clinic.tenant_id, PATIENT)

    status, body = erase(api)

    assert status == 200, body
    assert (body["erased"]["list_memberships"], body["erased"]["list_message_bodies"]) == (1, 1)
    member = lists.member(clinic.tenant_id, plist.list_id, PATIENT)
    assert (member.first_name, member.timezone) == (None, None)
    assert member.status is MemberStatus.PENDING
    assert member.consent == consent
    assert [m.body for m in aws.messages.thread(thread)] == [None]
    assert ConsentLog().history(clinic.tenant_id, PATIENT) == history
    assert {"list_memberships", "consent_history"} <= {k["field"] for k in body["kept"]}
    again = erase(api)[1]["erased"]
    assert (again["list_memberships"], again["list_message_bodies"]) == (0, 0)


# --- campaigns ----------------------------------------------------------------------------

#: 10:00 in New York: a campaign's texts may go at once.
CAMPAIGN_AT = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
NEIGHBOUR = "+12025550111"
GREETING = "Riverside: pick-up moves to Saturday, {first_name}. Reply STOP ALERTS to leave."


class CampaignRun:
    """A campaign of the clinic to Ana (the patient) and Bea (a neighbour), both active."""

    def __init__(self, aws, clinic) -> None:
        self.aws, self.tenant_id = aws, clinic.tenant_id
        self.clock = DemoClock(CAMPAIGN_AT)
        self.sms = TimedSms(self.clock)
        self.queue = MemoryQueue()
        NumberRepository(aws.settings.throughput).set_throughput(
            clinic.sender_number, Throughput(OriginationType.TEN_DLC, 10)
        )
        lists = ListRepository()
        plist = lists.create(a_list(tenant_id=clinic.tenant_id))
        joined = CAMPAIGN_AT - timedelta(days=1)
        for phone, name in ((PATIENT, "Ana"), (NEIGHBOUR, "Bea")):
            consent = MemberConsent(ConsentSource.KEYWORD, joined, message_id=f"in-{name}")
            joiner = Joiner(
                phone, consent, f"inbound_message_id=in-{name}", name, "America/New_York"
            )
            Membership(lists).join(plist, joiner, clinic.name, joined)
        self.campaign_id = "cmp_saturday"
        CampaignRepository().create(
            Campaign(self.tenant_id, self.campaign_id, plist.list_id, "Saturday", GREETING, 1,
                     "GSM-7", CAMPAIGN_AT, CampaignStatus.SCHEDULED, joined, joined)
        )  # fmt: skip

    def fan_out(self) -> None:
        """Ticks until the campaign's recipients are queued (nothing sent yet)."""
        dispatcher = build_dispatcher(self.aws.settings, queue=self.queue)
        for _ in range(3):
            dispatcher.tick(self.clock())
        assert self.queue.pending

    def send(self) -> None:
        drain(self.queue, make_sender(self.aws, self.sms, self.clock, kinds=[CampaignKind()]))

    def recipient(self, phone: str):
        key = ReminderKey(self.tenant_id, self.campaign_id, phone, item="campaign")
        item = recipient_item(key)
        item.refresh(consistent_read=True)
        return item

    def texts_to(self, phone: str) -> list[str | None]:
        thread = Thread(self.tenant_id, self.campaign_id, phone)
        return [m.body for m in self.aws.messages.thread(thread) if m.phone == phone]


def test_erasing_a_contact_forgets_campaign_names_and_texts_and_keeps_what_was_sent_whom(
    aws, clinic
):
    run = CampaignRun(aws, clinic)
    run.fan_out()
    run.send()
    assert run.texts_to(PATIENT) == [
        "Riverside: pick-up moves to Saturday, Ana. Reply STOP ALERTS to leave."
    ]

    erased = aws.erasure.erase(clinic.tenant_id, PATIENT, request_id="req-8").erased

    assert (erased["campaign_recipients"], erased["campaign_message_bodies"]) == (1, 1)
    mine, theirs = run.recipient(PATIENT), run.recipient(NEIGHBOUR)
    assert (mine.first_name, mine.timezone, mine.status) == (None, None, "sent")
    assert (theirs.first_name, theirs.timezone) == ("Bea", "America/New_York")
    assert run.texts_to(PATIENT) == [None]
    assert run.texts_to(NEIGHBOUR) == [
        "Riverside: pick-up moves to Saturday, Bea. Reply STOP ALERTS to leave."
    ]
    again = aws.erasure.erase(clinic.tenant_id, PATIENT, request_id="req-9").erased
    assert (again["campaign_recipients"], again["campaign_message_bodies"]) == (0, 0)


def test_a_campaign_in_flight_at_erasure_texts_without_the_name_and_stores_none(aws, clinic):
    # given a campaign whose recipients were queued with the name copied
    run = CampaignRun(aws, clinic)
    run.fan_out()
    assert run.recipient(PATIENT).first_name == "Ana"

    # when the contact is erased before the text goes
    erased = aws.erasure.erase(clinic.tenant_id, PATIENT, request_id="req-10").erased
    run.send()

    # then the text still goes (the membership stands) but without the name, everywhere
    assert (erased["campaign_recipients"], erased["campaign_message_bodies"]) == (1, 0)
    (sent,) = run.sms.sent_to(PATIENT)
    assert "Ana" not in sent.body
    assert run.recipient(PATIENT).first_name is None
    assert all("Ana" not in (body or "") for body in run.texts_to(PATIENT))
    assert "Bea" in run.sms.sent_to(NEIGHBOUR)[0].body


def test_a_campaign_in_flight_texts_nothing_to_an_erased_contact_who_opted_out(aws, clinic):
    run = CampaignRun(aws, clinic)
    run.fan_out()

    aws.recipients.opt_out(clinic.tenant_id, PATIENT, source="api", cause={"r": "2"}, note=None)
    aws.erasure.erase(clinic.tenant_id, PATIENT, request_id="req-11")
    run.send()

    assert run.sms.sent_to(PATIENT) == []
    assert run.texts_to(PATIENT) == []
    assert run.recipient(PATIENT).first_name is None
    assert len(run.sms.sent_to(NEIGHBOUR)) == 1


def test_a_tenant_without_campaigns_erases_no_campaign_data_and_another_tenants_stay(aws, clinic):
    run = CampaignRun(aws, clinic)
    run.fan_out()
    run.send()
    other = new_tenant(aws, "Other Clinic", number="+12025550999")

    erased = aws.erasure.erase(other.tenant_id, PATIENT, request_id="req-12").erased

    assert (erased["campaign_recipients"], erased["campaign_message_bodies"]) == (0, 0)
    assert run.recipient(PATIENT).first_name == "Ana"
    assert run.texts_to(PATIENT) != [None]
