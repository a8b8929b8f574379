"""Field-service notices (issue 12, item 3): asked for through the notice service, sent by
the batched send path as its second kind, under every rule a text obeys."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import PATIENT, book
from conftest import examples
from reach.adapters.events_fake import RecordingPublisher
from reach.data.appointments import AppointmentRepository
from reach.data.contacts import ContactRepository
from reach.data.notices import NoticeStore
from reach.data.tenants import TenantRepository
from reach.domain.errors import InvalidInput, NotFound
from reach.domain.inbound import InboundSms, parse_inbound
from reach.domain.message import MessageKind, Thread
from reach.domain.models import AppointmentKind, AppointmentStatus, CustomerStatus
from reach.domain.notices import NoticeType
from reach.ports.events import EventType, iso_utc
from reach.services.notices import (
    AppointmentClosed,
    InQuietHours,
    NoticeRequest,
    NoticeService,
    RecipientOptedOut,
)
from reach.services.sending import Delivery, SendOutcome
from reach.wiring import build_inbound, build_sender
from reach_tools.demo_clock import DemoClock
from stand_ins import MemoryQueue, NoticeStream

CABLE_NUMBER = "+13125550100"
_ids = itertools.count(1)


@pytest.fixture
def queue(aws) -> NoticeStream:
    """The notices the API wrote, as the sender receives them (the table's stream)."""
    return NoticeStream(aws)


def at_chicago(clock: DemoClock, hour: int, minute: int = 0) -> None:
    """Move the clock to ``hour``:``minute`` Chicago time, tomorrow."""
    from zoneinfo import ZoneInfo

    local = (clock() + timedelta(days=1)).astimezone(ZoneInfo("America/Chicago"))
    clock.set(local.replace(hour=hour, minute=minute, second=0, microsecond=0))


def notices(aws, clock, **options) -> NoticeService:
    return NoticeService(
        AppointmentRepository(aws.settings.due_shards),
        TenantRepository(),
        ContactRepository(),
        NoticeStore(shards=aws.settings.due_shards),
        clock,
        **options,
    )


def visit(aws, tenant, clock, **extra):
    """A service visit today, window 9 AM - 1 PM Chicago, technician Luis."""
    at_chicago(clock, 8)
    starts = clock() + timedelta(hours=1)
    fields = {
        "kind": AppointmentKind.SERVICE_VISIT,
        "window_ends_at": starts + timedelta(hours=4),
        "technician_name": "Luis",
        **extra,
    }
    return book(
        aws, tenant, starts_at=starts, timezone="America/Chicago", offsets=(), clock=clock, **fields
    )


def send_queued(aws, clock, queue, sms, events=None):
    sender = build_sender(aws.settings, clock=clock, sleep=clock.sleep, sms=sms, events=events)
    batch = []
    while (delivery := queue.receive()) is not None:
        batch.append(Delivery(*delivery))
    return [result.outcome for result in sender.send_all(batch)]


def on_the_way(minutes: int = 25, **fields) -> NoticeRequest:
    return NoticeRequest(type=NoticeType.ON_THE_WAY, eta_minutes=minutes, **fields)


def test_an_on_the_way_notice_is_sent_at_once_with_the_eta_technician_window_and_link(
    aws, cable, clock, queue, sms
):
    appointment = visit(aws, cable, clock)
    events = RecordingPublisher()

    asked = notices(aws, clock).ask(
        cable.tenant_id,
        appointment.appointment_id,
        on_the_way(40, link="https://track.example.com/t/8f3k2"),
    )

    assert asked.created
    assert asked.notice.status.value == "queued"
    assert send_queued(aws, clock, queue, sms, events) == [SendOutcome.SENT]
    [text] = sms.sent
    assert text.destination == PATIENT
    assert text.body == (
        "Hilltop Cable: your technician Luis is on the way, arriving around 8:40 AM. "
        "Your window: between 9 AM and 1 PM. https://track.example.com/t/8f3k2 "
        "Reply STOP to opt out."
    )
    # The provider drops it if it cannot deliver before the ETA.
    assert text.expires_at == asked.notice.eta
    [event] = events.events
    assert event.type is EventType.NOTICE_SENT
    assert event.ids["appointment_id"] == appointment.appointment_id
    assert event.data == {"notice_type": "on_the_way", "eta": iso_utc(asked.notice.eta)}
    # The conversation shows it as a notice; the appointment's reminders do not.
    thread = aws.messages.thread(Thread(cable.tenant_id, appointment.appointment_id, PATIENT))
    assert [m.kind for m in thread] == [MessageKind.NOTICE]
    assert thread[0].reminder_id is None
    assert aws.appointments.get(cable.tenant_id, appointment.appointment_id).reminders == ()
    assert NoticeStore().get(
        cable.tenant_id, appointment.appointment_id, asked.notice.notice_id
    ).status.value == ("sent")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("es", "Hilltop Cable: disculpe, su técnico viene con retraso. Nueva hora de llegada"),
        ("ar", "Hilltop Cable: نعتذر، الفني متأخر."),
    ],
)
def test_a_delayed_notice_reads_in_the_visits_language_without_an_unknown_technician(
    aws, cable, clock, queue, sms, language, expected
):
    appointment = visit(aws, cable, clock, language=language, technician_name=None)
    notices(aws, clock).ask(
        cable.tenant_id,
        appointment.appointment_id,
        NoticeRequest(type=NoticeType.DELAYED, eta=clock() + timedelta(minutes=90)),
    )

    assert send_queued(aws, clock, queue, sms) == [SendOutcome.SENT]
    assert sms.sent[0].body.startswith(expected)


def test_a_notice_to_an_opted_out_customer_sends_nothing_and_says_so(aws, cable, clock, queue, sms):
    appointment = visit(aws, cable, clock)
    ContactRepository().mark_opted_out(cable.tenant_id, PATIENT, "keyword", clock())

    with pytest.raises(RecipientOptedOut) as refused:
        notices(aws, clock).ask(cable.tenant_id, appointment.appointment_id, on_the_way())

    assert refused.value.code == "opted_out"
    assert list(queue.pending) == []
    assert sms.attempts == []


def test_a_notice_asked_in_quiet_hours_is_refused_with_the_time_it_could_go(
    aws, cable, clock, queue
):
    appointment = visit(aws, cable, clock)
    at_chicago(clock, 6, 30)  # quiet until 8:00

    with pytest.raises(InQuietHours) as refused:
        notices(aws, clock).ask(cable.tenant_id, appointment.appointment_id, on_the_way())

    assert refused.value.code == "quiet_hours"
    assert (refused.value.until.hour, refused.value.until.minute) == (8, 0)
    assert refused.value.until.isoformat() in refused.value.message
    assert list(queue.pending) == []


@pytest.mark.parametrize(
    "status", [AppointmentStatus.CANCELLED, AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW]
)
def test_a_notice_on_a_closed_visit_is_refused(aws, cable, clock, queue, status):
    appointment = visit(aws, cable, clock)
    if status is AppointmentStatus.CANCELLED:
        aws.appointments.cancel(cable.tenant_id, appointment.appointment_id)
    else:
        aws.appointments.close_visit(cable.tenant_id, appointment.appointment_id, status)

    with pytest.raises(AppointmentClosed):
        notices(aws, clock).ask(cable.tenant_id, appointment.appointment_id, on_the_way())
    assert list(queue.pending) == []


def test_another_tenants_appointment_is_not_found(aws, cable, clinic, clock, queue):
    appointment = visit(aws, cable, clock)

    with pytest.raises(NotFound):
        notices(aws, clock).ask(clinic.tenant_id, appointment.appointment_id, on_the_way())


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (NoticeRequest(type=NoticeType.ON_THE_WAY), "eta"),
        (NoticeRequest(type=NoticeType.ON_THE_WAY, eta_minutes=0), "eta_minutes"),
        (NoticeRequest(type=NoticeType.ON_THE_WAY, eta_minutes=721), "eta_minutes"),
        (on_the_way(link="http://track.example.com/t/1"), "link"),
        (on_the_way(link="javascript:alert(1)"), "link"),
        (on_the_way(link="https://track.example.com/t/ 1"), "link"),
        (on_the_way(link="https://"), "link"),
    ],
)
def test_a_bad_eta_or_link_is_refused_naming_the_field(aws, cable, clock, queue, request_, field):
    appointment = visit(aws, cable, clock)

    with pytest.raises(InvalidInput) as refused:
        notices(aws, clock).ask(cable.tenant_id, appointment.appointment_id, request_)
    assert refused.value.field == field


def test_an_eta_in_the_past_or_beyond_twelve_hours_is_refused(aws, cable, clock, queue):
    appointment = visit(aws, cable, clock)
    service = notices(aws, clock)
    for eta in (clock() - timedelta(minutes=1), clock() + timedelta(hours=12, minutes=1)):
        with pytest.raises(InvalidInput) as refused:
            service.ask(
                cable.tenant_id,
                appointment.appointment_id,
                NoticeRequest(type=NoticeType.ON_THE_WAY, eta=eta),
            )
        assert refused.value.field == "eta"


def test_a_link_that_makes_the_text_too_long_is_refused_naming_link(aws, cable, clock, queue):
    appointment = visit(aws, cable, clock, language="ar")
    link = "https://track.example.com/" + "x" * 170

    with pytest.raises(InvalidInput) as refused:
        notices(aws, clock).ask(cable.tenant_id, appointment.appointment_id, on_the_way(link=link))
    assert refused.value.field == "link"
    assert "parts" in refused.value.reason


def test_the_same_notice_asked_twice_is_sent_once(aws, cable, clock, queue, sms):
    appointment = visit(aws, cable, clock)
    service = notices(aws, clock)
    first = service.ask(cable.tenant_id, appointment.appointment_id, on_the_way(25))
    clock.advance(timedelta(minutes=2))

    again = service.ask(cable.tenant_id, appointment.appointment_id, on_the_way(21))
    keyed = service.ask(cable.tenant_id, appointment.appointment_id, on_the_way(60), "key-1")
    keyed_again = service.ask(cable.tenant_id, appointment.appointment_id, on_the_way(90), "key-1")

    assert not again.created
    assert again.notice.notice_id == first.notice.notice_id
    assert keyed.created
    assert keyed_again.notice.notice_id == keyed.notice.notice_id
    assert not keyed_again.created
    assert send_queued(aws, clock, queue, sms) == [SendOutcome.SENT] * 2


def test_a_new_eta_more_than_five_minutes_away_is_a_new_notice(aws, cable, clock, queue, sms):
    appointment = visit(aws, cable, clock)
    service = notices(aws, clock)
    service.ask(cable.tenant_id, appointment.appointment_id, on_the_way(25))

    later = service.ask(cable.tenant_id, appointment.appointment_id, on_the_way(31))
    delayed = service.ask(
        cable.tenant_id,
        appointment.appointment_id,
        NoticeRequest(type=NoticeType.DELAYED, eta_minutes=25),
    )

    assert later.created
    assert delayed.created
    assert send_queued(aws, clock, queue, sms) == [SendOutcome.SENT] * 3


def test_asking_for_a_notice_is_one_read_and_one_write_and_the_stream_hands_it_over(
    aws, cable, clock, queue, sms
):
    from reach_tools.bench.harness import counting_aws_calls

    appointment = visit(aws, cable, clock)
    service = notices(aws, clock)
    with counting_aws_calls() as counter, counter.measuring("api"):
        asked = service.ask(cable.tenant_id, appointment.appointment_id, on_the_way(), "key-2")

    # No queue call to fail after the write: the written notice is the hand-off
    assert counter.by_operation("api") == {
        "dynamodb:BatchGetItem": 1,
        "dynamodb:TransactWriteItems": 1,
    }
    [(handed, receives)] = [queue.receive()]
    assert (handed.kind, handed.reminder_id, handed.claim_id, receives) == (
        "notice",
        asked.notice.notice_id,
        asked.notice.claim_id,
        1,
    )
    assert handed.phone == appointment.phone
    queue.give_back(handed, receives)
    assert send_queued(aws, clock, queue, sms) == [SendOutcome.SENT]


def test_a_refused_notice_leaves_nothing_on_the_stream(aws, cable, clock, queue, sms):
    appointment = visit(aws, cable, clock)
    aws.appointments.cancel(cable.tenant_id, appointment.appointment_id)

    with pytest.raises(AppointmentClosed):
        notices(aws, clock).ask(cable.tenant_id, appointment.appointment_id, on_the_way())

    assert queue.receive() is None


def test_a_notice_whose_visit_closes_before_it_is_sent_is_skipped(aws, cable, clock, queue, sms):
    appointment = visit(aws, cable, clock)
    notices(aws, clock).ask(cable.tenant_id, appointment.appointment_id, on_the_way())
    aws.appointments.cancel(cable.tenant_id, appointment.appointment_id)

    assert send_queued(aws, clock, queue, sms) == [SendOutcome.SKIPPED]
    assert sms.attempts == []


def test_a_confirmation_after_a_notice_does_not_stop_it(aws, cable, clock, queue, sms):
    appointment = visit(aws, cable, clock)
    notices(aws, clock).ask(cable.tenant_id, appointment.appointment_id, on_the_way())
    inbound = build_inbound(aws.settings, clock=clock, sleep=clock.sleep, sms=sms)
    receive(inbound, clock, "1")  # confirms: a new version of the same plan

    assert send_queued(aws, clock, queue, sms) == [SendOutcome.SENT]


def test_a_notice_past_its_eta_is_skipped(aws, cable, clock, queue, sms):
    appointment = visit(aws, cable, clock)
    notices(aws, clock).ask(cable.tenant_id, appointment.appointment_id, on_the_way(10))
    clock.advance(timedelta(minutes=11))

    assert send_queued(aws, clock, queue, sms) == [SendOutcome.SKIPPED]
    assert sms.attempts == []


def test_a_notice_that_quiet_hours_would_hold_is_skipped_never_held(aws, cable, clock, queue, sms):
    # Given a notice asked at 20:50 whose ETA (8:30) is after quiet hours end (8:00)
    appointment = visit(aws, cable, clock)
    at_chicago(clock, 20, 50)
    service = notices(aws, clock, new_id=lambda: "ntc_evening")
    service.ask(cable.tenant_id, appointment.appointment_id, on_the_way(700))

    # When the sender takes it only once quiet hours have begun
    clock.advance(timedelta(minutes=15))
    outcomes = send_queued(aws, clock, queue, sms)

    # Then it is skipped, not held until morning with a stale ETA
    assert outcomes == [SendOutcome.SKIPPED]
    assert sms.attempts == []
    notice = NoticeStore().get(cable.tenant_id, appointment.appointment_id, "ntc_evening")
    assert (notice.status.value, notice.reason) == ("skipped", "quiet_hours")


def notice_provider_id(aws, appointment) -> str:
    thread = aws.messages.thread(Thread(appointment.tenant_id, appointment.appointment_id, PATIENT))
    [sent] = [m for m in thread if m.kind is MessageKind.NOTICE]
    assert sent.provider_message_id
    return sent.provider_message_id


def receive(inbound, clock, body, previous=""):
    parsed = parse_inbound(
        {
            "originationNumber": PATIENT,
            "destinationNumber": CABLE_NUMBER,
            "messageKeyword": "",
            "messageBody": body,
            "inboundMessageId": f"in-notice-{next(_ids):06d}",
            "previousPublishedMessageId": previous,
        }
    )
    assert isinstance(parsed, InboundSms)
    return inbound.receive(parsed, clock())


def test_stop_after_a_notice_opts_out_at_once(aws, cable, clock, queue, sms):
    appointment = visit(aws, cable, clock)
    service = notices(aws, clock)
    service.ask(cable.tenant_id, appointment.appointment_id, on_the_way())
    send_queued(aws, clock, queue, sms)
    inbound = build_inbound(aws.settings, clock=clock, sleep=clock.sleep, sms=sms)

    receive(inbound, clock, "STOP", previous=notice_provider_id(aws, appointment))

    assert ContactRepository().get(cable.tenant_id, PATIENT).opted_out
    with pytest.raises(RecipientOptedOut):
        service.ask(
            cable.tenant_id,
            appointment.appointment_id,
            NoticeRequest(type=NoticeType.DELAYED, eta_minutes=50),
        )


def test_not_home_after_a_notice_tells_the_company_and_keeps_the_visit(
    aws, cable, clock, queue, sms
):
    appointment = visit(aws, cable, clock)
    notices(aws, clock).ask(cable.tenant_id, appointment.appointment_id, on_the_way())
    send_queued(aws, clock, queue, sms)
    events = RecordingPublisher()
    inbound = build_inbound(aws.settings, clock=clock, sleep=clock.sleep, sms=sms, events=events)

    receive(inbound, clock, "nobody home", previous=notice_provider_id(aws, appointment))

    stored = aws.appointments.get(cable.tenant_id, appointment.appointment_id)
    assert stored.customer_status is CustomerStatus.NOT_HOME
    assert stored.status is not AppointmentStatus.CANCELLED
    assert [e.type for e in events.events] == [EventType.CUSTOMER_NOT_HOME]
    assert not ContactRepository().get(cable.tenant_id, PATIENT).opted_out


@settings(
    max_examples=examples(8),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    repeats=st.lists(
        st.tuples(
            st.integers(min_value=-5, max_value=5),  # ETA minutes off the first
            st.sampled_from([None, "k1"]),
            st.integers(min_value=0, max_value=90),  # seconds between requests
        ),
        min_size=1,
        max_size=4,
    )
)
def test_a_repeated_notice_request_never_sends_twice(aws, cable, repeats):
    clock = DemoClock(aws.clock())
    queue, sms = NoticeStream(aws), _sms(clock)
    appointment = visit(aws, cable, clock, phone=f"+1202555{next(_ids) % 9000 + 1000:04d}")
    service = notices(aws, clock)
    first = service.ask(cable.tenant_id, appointment.appointment_id, on_the_way(30), "k1")
    for shift, key, pause in repeats:
        clock.advance(timedelta(seconds=pause))
        # The same arrival time, give or take five minutes, with or without the key
        eta = first.notice.eta + timedelta(minutes=shift)
        asked = service.ask(
            cable.tenant_id,
            appointment.appointment_id,
            NoticeRequest(type=NoticeType.ON_THE_WAY, eta=eta),
            key,
        )
        assert asked.notice.notice_id == first.notice.notice_id
        send_queued(aws, clock, queue, sms)

    send_queued(aws, clock, queue, sms)
    assert len(sms.sent) == 1


def _sms(clock):
    from stand_ins import TimedSms

    return TimedSms(clock)


class Crash(BaseException):
    """The sender's process dying after its provider calls, before its record."""


def test_a_notice_whose_sender_dies_after_the_provider_call_is_settled_not_resent(
    aws, cable, clock, queue, sms, monkeypatch
):
    from reach.data.reminders import ReminderLifecycle
    from reach.services.sending import SENDING_LEASE
    from stand_ins import tick

    appointment = visit(aws, cable, clock)
    asked = notices(aws, clock).ask(cable.tenant_id, appointment.appointment_id, on_the_way(40))
    batch = []
    while (delivery := queue.receive()) is not None:
        batch.append(Delivery(*delivery))

    def crash(self, transitions):
        raise Crash

    with monkeypatch.context() as patched:
        patched.setattr(ReminderLifecycle, "apply", crash)
        with pytest.raises(Crash):
            build_sender(aws.settings, clock=clock, sleep=clock.sleep, sms=sms).send_all(batch)
    assert len(sms.sent) == 1

    # When the sending lease is over, a dispatcher tick finds the notice in the due index
    clock.advance(SENDING_LEASE + timedelta(seconds=1))
    report = tick(aws, MemoryQueue(), clock())

    # Then it is settled as an unknown outcome, and nothing is sent again
    assert report.unknown_outcome == 1
    stored = NoticeStore().get(cable.tenant_id, appointment.appointment_id, asked.notice.notice_id)
    assert (stored.status.value, stored.reason) == ("failed", "outcome_unknown")
    assert len(sms.sent) == 1


def test_a_notice_whose_stream_record_was_lost_is_queued_again_when_its_lease_ends(
    aws, cable, clock, queue, sms
):
    from reach.services.dispatch import CLAIM_LEASE
    from stand_ins import tick

    appointment = visit(aws, cable, clock)
    asked = notices(aws, clock).ask(cable.tenant_id, appointment.appointment_id, on_the_way(40))
    # The mapping gave up on its stream record (or it expired): it never reached a sender
    assert [record for record, _ in queue.feed.take()]

    clock.advance(CLAIM_LEASE + timedelta(seconds=1))
    again = MemoryQueue()
    report = tick(aws, again, clock())

    assert report.claimed == 1
    [(message, _)] = again.pending
    assert (message.kind, message.reminder_id) == ("notice", asked.notice.notice_id)
    assert send_queued(aws, clock, again, sms) == [SendOutcome.SENT]
    assert len(sms.sent) == 1
