"""Notices asked without waiting (``Prefer: respond-async``): the API writes the notice in one
call without reading the visit, and the sender makes every other check the API would have
made: whom and on which plan, consent, quiet hours, repeats, the part limit. A notice it does
not send is announced with its reason (``NoticeSkipped``)."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_notices import at_chicago, notices, on_the_way, send_queued, visit

from builders import PATIENT
from conftest import examples
from reach.adapters.events_fake import RecordingPublisher
from reach.data.contacts import ContactRepository
from reach.data.notices import NoticeStore
from reach.domain.errors import NotFound
from reach.domain.notices import NoticeType
from reach.ports.events import EventType
from reach.services.notices import AppointmentClosed, NoticeRequest
from reach.services.sending import SendOutcome
from reach_tools.bench.harness import counting_aws_calls
from reach_tools.demo_clock import DemoClock
from stand_ins import NoticeStream

_phones = count(1)


@pytest.fixture
def queue(aws) -> NoticeStream:
    return NoticeStream(aws)


def ask(aws, clock, tenant, appointment, request=None, key=None):
    return notices(aws, clock).ask(
        tenant.tenant_id, appointment.appointment_id, request or on_the_way(), key, wait=False
    )


def stored(tenant, appointment, notice_id):
    found = NoticeStore().get(tenant.tenant_id, appointment.appointment_id, notice_id)
    assert found is not None
    return found.status.value, found.reason


def skipped(events: RecordingPublisher) -> list[tuple[str, str]]:
    return [
        (e.ids["notice_id"], e.data["reason"])
        for e in events.events
        if e.type is EventType.NOTICE_SKIPPED
    ]


def test_one_write_and_no_read_then_it_goes_out_as_if_the_api_had_read_the_visit(
    aws, cable, clock, queue, sms
):
    appointment = visit(aws, cable, clock)
    events = RecordingPublisher()

    with counting_aws_calls() as counter, counter.measuring("api"):
        asked = ask(aws, clock, cable, appointment, on_the_way(40, link="https://t.example/8"))

    assert counter.by_operation("api") == {"dynamodb:TransactWriteItems": 1}
    assert asked.created
    assert asked.zone is None  # not read: the answer says the ETA in UTC
    assert (asked.notice.phone, asked.notice.plan) == (None, None)
    assert send_queued(aws, clock, queue, sms, events) == [SendOutcome.SENT]
    [text] = sms.sent
    assert text.destination == PATIENT
    assert text.body == (
        "Hilltop Cable: your technician Luis is on the way, arriving around 8:40 AM. "
        "Your window: between 9 AM and 1 PM. https://t.example/8 Reply STOP to opt out."
    )
    assert [e.type for e in events.events] == [EventType.NOTICE_SENT]
    assert stored(cable, appointment, asked.notice.notice_id) == ("sent", None)


def test_a_closed_visit_is_still_refused_at_once_and_an_unknown_one_is_not_found(
    aws, cable, clock, queue
):
    appointment = visit(aws, cable, clock)
    aws.appointments.cancel(cable.tenant_id, appointment.appointment_id)

    with pytest.raises(AppointmentClosed):
        ask(aws, clock, cable, appointment)
    with pytest.raises(NotFound):
        notices(aws, clock).ask(cable.tenant_id, "apt_none", on_the_way(), wait=False)
    assert list(queue.pending) == []


def test_the_same_key_answers_with_the_first_notice_and_texts_once(aws, cable, clock, queue, sms):
    appointment = visit(aws, cable, clock)

    first = ask(aws, clock, cable, appointment, key="dispatch-1")
    again = ask(aws, clock, cable, appointment, on_the_way(90), key="dispatch-1")

    assert (first.created, again.created) == (True, False)
    assert again.notice.notice_id == first.notice.notice_id
    assert send_queued(aws, clock, queue, sms) == [SendOutcome.SENT]
    assert len(sms.sent) == 1


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("opted_out", "opted_out"),
        ("quiet_hours", "quiet_hours"),
        ("long_link", "too_long"),
    ],
)
def test_what_the_api_did_not_check_skips_the_notice_and_says_why(
    aws, cable, clock, queue, sms, setup, reason
):
    appointment = visit(aws, cable, clock)
    request = on_the_way()
    if setup == "opted_out":
        ContactRepository().mark_opted_out(cable.tenant_id, PATIENT, "keyword", clock())
    elif setup == "quiet_hours":
        at_chicago(clock, 6, 30)
    else:
        request = on_the_way(link="https://t.example/" + "x" * 180)
        appointment = visit(aws, cable, clock, language="ar")  # 67 characters a part
    events = RecordingPublisher()

    asked = ask(aws, clock, cable, appointment, request)

    assert asked.created  # answered before anything was checked
    assert send_queued(aws, clock, queue, sms, events) == [SendOutcome.SKIPPED]
    assert sms.attempts == []
    assert stored(cable, appointment, asked.notice.notice_id) == ("skipped", reason)
    assert skipped(events) == [(asked.notice.notice_id, reason)]


def test_a_repeat_in_the_same_batch_is_skipped_and_only_one_texts(aws, cable, clock, queue, sms):
    appointment = visit(aws, cable, clock)
    events = RecordingPublisher()

    first = ask(aws, clock, cable, appointment, on_the_way(30))
    second = ask(aws, clock, cable, appointment, on_the_way(33))  # within five minutes

    outcomes = send_queued(aws, clock, queue, sms, events)

    assert sorted(outcomes) == sorted([SendOutcome.SENT, SendOutcome.SKIPPED])
    assert len(sms.sent) == 1
    statuses = {
        n.notice_id: stored(cable, appointment, n.notice_id) for n in (first.notice, second.notice)
    }
    assert sorted(statuses.values()) == [("sent", None), ("skipped", "repeat")]
    [(repeat_id, _)] = skipped(events)
    assert statuses[repeat_id] == ("skipped", "repeat")


def test_a_repeat_of_a_notice_already_sent_or_asked_waiting_is_skipped(
    aws, cable, clock, queue, sms
):
    appointment = visit(aws, cable, clock)
    waited = notices(aws, clock).ask(cable.tenant_id, appointment.appointment_id, on_the_way(30))
    assert send_queued(aws, clock, queue, sms) == [SendOutcome.SENT]

    clock.advance(timedelta(minutes=2))
    repeat = ask(aws, clock, cable, appointment, on_the_way(27))  # the same arrival time
    later = ask(aws, clock, cable, appointment, on_the_way(45))  # a new one, 17 minutes on

    assert send_queued(aws, clock, queue, sms) == [SendOutcome.SKIPPED, SendOutcome.SENT]
    assert stored(cable, appointment, repeat.notice.notice_id) == ("skipped", "repeat")
    assert stored(cable, appointment, later.notice.notice_id) == ("sent", None)
    assert waited.notice.notice_id != later.notice.notice_id
    assert len(sms.sent) == 2


def test_the_other_type_is_not_a_repeat(aws, cable, clock, queue, sms):
    appointment = visit(aws, cable, clock)
    ask(aws, clock, cable, appointment, on_the_way(30))
    ask(
        aws,
        clock,
        cable,
        appointment,
        NoticeRequest(type=NoticeType.DELAYED, eta_minutes=30),
    )

    assert send_queued(aws, clock, queue, sms) == [SendOutcome.SENT, SendOutcome.SENT]


def test_a_batch_of_unread_notices_reads_its_contacts_in_one_more_call(aws, cable, clock, sms):
    from builders import book
    from reach.services.sending import Delivery
    from reach.wiring import build_sender

    def batch_reads(wait: bool, first_phone: int) -> int:
        at_chicago(clock, 8)
        starts = clock() + timedelta(hours=1)
        for n in range(6):
            appointment = book(
                aws,
                cable,
                phone=f"+1202555{first_phone + n:04d}",
                starts_at=starts,
                timezone="America/Chicago",
                offsets=(),
                clock=clock,
            )
            notices(aws, clock).ask(
                cable.tenant_id, appointment.appointment_id, on_the_way(), wait=wait
            )
        batch = [Delivery(*d) for d in iter(NoticeStream(aws).receive, None)]
        sender = build_sender(aws.settings, clock=clock, sleep=clock.sleep, sms=sms)
        with counting_aws_calls() as counter, counter.measuring("sender"):
            results = sender.send_all(batch)
        assert [r.outcome for r in results] == [SendOutcome.SENT] * 6
        return counter.by_operation("sender")["dynamodb:BatchGetItem"]

    waited, unread = batch_reads(True, 0), batch_reads(False, 100)

    # The queue message of an unread notice names no phone: its contacts are read in one
    # more call for the batch, not one a notice
    assert unread == waited + 1


def test_a_skip_of_a_notice_that_waited_is_announced_too(aws, cable, clock, queue, sms):
    appointment = visit(aws, cable, clock)
    asked = notices(aws, clock).ask(cable.tenant_id, appointment.appointment_id, on_the_way(40))
    aws.appointments.cancel(cable.tenant_id, appointment.appointment_id)
    events = RecordingPublisher()

    assert send_queued(aws, clock, queue, sms, events) == [SendOutcome.SKIPPED]

    assert skipped(events) == [(asked.notice.notice_id, "appointment_cancelled")]


@settings(
    max_examples=examples(8),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    first_waits=st.booleans(),
    repeats=st.lists(
        st.tuples(
            st.integers(min_value=-5, max_value=5),  # ETA minutes off the first
            st.sampled_from([None, "k1"]),
            st.booleans(),  # waits for the API's checks, or not
            st.integers(min_value=0, max_value=90),  # seconds between requests
            st.booleans(),  # the stream (or queue) delivers this round's batch twice
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_repeats_asked_either_way_and_delivered_twice_text_once(aws, cable, first_waits, repeats):
    from reach.services.sending import Delivery
    from reach.wiring import build_sender
    from stand_ins import TimedSms

    clock = DemoClock(aws.clock())
    stream, sms = NoticeStream(aws), TimedSms(clock)
    sender = build_sender(aws.settings, clock=clock, sleep=clock.sleep, sms=sms)
    appointment = visit(aws, cable, clock, phone=f"+1303555{next(_phones) % 9000 + 1000:04d}")
    service = notices(aws, clock)
    first = service.ask(
        cable.tenant_id, appointment.appointment_id, on_the_way(30), "k1", wait=first_waits
    )
    for shift, key, waits, pause, twice in repeats:
        clock.advance(timedelta(seconds=pause))
        eta = first.notice.eta + timedelta(minutes=shift)
        request = NoticeRequest(type=NoticeType.ON_THE_WAY, eta=eta)
        service.ask(cable.tenant_id, appointment.appointment_id, request, key, wait=waits)
        batch = [Delivery(*d) for d in iter(stream.receive, None)]
        sender.send_all(batch)
        if twice:  # a redelivery of the same records: the claims stop a second send
            sender.send_all(batch)

    sender.send_all([Delivery(*d) for d in iter(stream.receive, None)])
    assert len(sms.sent) == 1
