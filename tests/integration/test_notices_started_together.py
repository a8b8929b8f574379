"""Notices in one sender batch are started together (issue 11: a notice's AWS calls): one
start transaction for the batch, not one a notice, with every guarantee a lone start had."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from test_notices import Crash, at_chicago, notices, on_the_way, send_queued

from builders import book
from reach.data.contacts import ContactRepository
from reach.data.notices import NoticeStore
from reach.data.reminders import ReminderLifecycle
from reach.domain.models import AppointmentKind
from reach.domain.notices import NoticeType
from reach.ports.sms import SmsThrottled
from reach.services.notices import NoticeRequest
from reach.services.sending import SENDING_LEASE, Delivery, SendOutcome
from reach.wiring import build_sender
from reach_tools.bench.harness import counting_aws_calls
from stand_ins import MemoryQueue, NoticeStream, tick

_phones = itertools.count(100)


@pytest.fixture
def queue(aws) -> NoticeStream:
    """The notices the API wrote, as the sender receives them (the table's stream)."""
    return NoticeStream(aws)


def visits(aws, tenant, clock, count, phone=None):
    """``count`` service visits today, 9 AM - 1 PM Chicago, each for its own phone unless
    ``phone`` is given."""
    at_chicago(clock, 8)
    starts = clock() + timedelta(hours=1)
    return [
        book(
            aws,
            tenant,
            phone=phone or f"+1202555{next(_phones):04d}",
            starts_at=starts,
            timezone="America/Chicago",
            offsets=(),
            clock=clock,
            kind=AppointmentKind.SERVICE_VISIT,
            window_ends_at=starts + timedelta(hours=4),
            technician_name="Luis",
        )
        for _ in range(count)
    ]


def ask_each(aws, tenant, clock, appointments, **request):
    service = notices(aws, clock)
    return [
        service.ask(tenant.tenant_id, a.appointment_id, on_the_way(**request)).notice
        for a in appointments
    ]


def stored(notice):
    found = NoticeStore().get(notice.tenant_id, notice.appointment_id, notice.notice_id)
    return found.status.value, found.reason


def test_a_batch_of_notices_is_started_in_one_transaction_not_one_each(
    aws, cable, clock, queue, sms
):
    ask_each(aws, cable, clock, visits(aws, cable, clock, 6))

    with counting_aws_calls() as counter, counter.measuring("reach"):
        outcomes = send_queued(aws, clock, queue, sms)

    assert outcomes == [SendOutcome.SENT] * 6
    assert len({text.destination for text in sms.sent}) == 6
    # One transaction starts the six, one records them (it was seven: six starts, a record)
    assert counter.by_operation()["dynamodb:TransactWriteItems"] == 2


def test_two_notices_on_one_visit_go_in_separate_start_transactions_and_both_go(
    aws, cable, clock, queue, sms
):
    # Both notices check the same visit and the same contact: DynamoDB refuses a transaction
    # that names one item twice, so they cannot share one
    [appointment] = visits(aws, cable, clock, 1)
    service = notices(aws, clock)
    service.ask(cable.tenant_id, appointment.appointment_id, on_the_way(25))
    service.ask(
        cable.tenant_id,
        appointment.appointment_id,
        NoticeRequest(type=NoticeType.DELAYED, eta_minutes=50),
    )

    assert send_queued(aws, clock, queue, sms) == [SendOutcome.SENT] * 2
    assert len(sms.sent) == 2


def test_an_opt_out_between_the_read_and_the_start_skips_that_notice_only(
    aws, cable, clock, queue, sms, monkeypatch
):
    appointments = visits(aws, cable, clock, 3)
    asked = ask_each(aws, cable, clock, appointments)
    start_many = ReminderLifecycle.start_many
    late = appointments[1].phone

    def stop_arrives_first(self, requests):
        # The STOP lands after the batch read its contacts, before the start transaction
        ContactRepository().mark_opted_out(cable.tenant_id, late, "keyword_stop", clock())
        return start_many(self, requests)

    monkeypatch.setattr(ReminderLifecycle, "start_many", stop_arrives_first)
    outcomes = send_queued(aws, clock, queue, sms)

    assert outcomes == [SendOutcome.SENT, SendOutcome.SKIPPED, SendOutcome.SENT]
    assert late not in {text.destination for text in sms.sent}
    assert len(sms.sent) == 2
    assert stored(asked[1]) == ("skipped", "opted_out")


def test_an_opted_out_phone_gets_no_notice_in_a_batch_with_others(aws, cable, clock, queue, sms):
    appointments = visits(aws, cable, clock, 3)
    asked = ask_each(aws, cable, clock, appointments)
    ContactRepository().mark_opted_out(
        cable.tenant_id, appointments[0].phone, "keyword_stop", clock()
    )

    outcomes = send_queued(aws, clock, queue, sms)

    assert outcomes == [SendOutcome.SKIPPED, SendOutcome.SENT, SendOutcome.SENT]
    assert appointments[0].phone not in {text.destination for text in sms.attempts}
    assert stored(asked[0]) == ("skipped", "opted_out")


def test_notices_that_quiet_hours_began_on_are_skipped_together_never_held(
    aws, cable, clock, queue, sms
):
    appointments = visits(aws, cable, clock, 3)
    at_chicago(clock, 20, 50)
    asked = ask_each(aws, cable, clock, appointments, minutes=700)

    clock.advance(timedelta(minutes=15))  # 21:05: quiet hours
    outcomes = send_queued(aws, clock, queue, sms)

    assert outcomes == [SendOutcome.SKIPPED] * 3
    assert sms.attempts == []
    assert {stored(notice) for notice in asked} == {("skipped", "quiet_hours")}


def test_a_provider_throttle_mid_batch_sends_every_notice_once_in_the_end(
    aws, cable, clock, queue, sms
):
    asked = ask_each(aws, cable, clock, visits(aws, cable, clock, 5))
    send = sms.send
    calls = itertools.count(1)

    def throttled_second(message):
        if next(calls) == 2:
            raise SmsThrottled("throttled", "the number's rate was exceeded")
        return send(message)

    sms.send = throttled_second
    sender = build_sender(aws.settings, clock=clock, sleep=clock.sleep, sms=sms)
    batch = []
    while (delivery := queue.receive()) is not None:
        batch.append(Delivery(*delivery))
    first = [result.outcome for result in sender.send_all(batch)]
    assert SendOutcome.RETRY in first
    assert SendOutcome.SENT in first

    # SQS delivers what came back again, later
    for _ in range(4):
        batch = [
            Delivery(d.queued, d.receive_count + 1)
            for d, outcome in zip(batch, first, strict=True)
            if outcome is SendOutcome.RETRY
        ]
        if not batch:
            break
        clock.advance(timedelta(seconds=5))
        first = [result.outcome for result in sender.send_all(batch)]

    destinations = [text.destination for text in sms.sent]
    assert sorted(destinations) == sorted({n.phone for n in asked})
    assert {stored(notice) for notice in asked} == {("sent", None)}


def test_a_crash_between_the_provider_calls_and_the_record_sends_each_notice_once(
    aws, cable, clock, queue, sms, monkeypatch
):
    asked = ask_each(aws, cable, clock, visits(aws, cable, clock, 3))
    batch = []
    while (delivery := queue.receive()) is not None:
        batch.append(Delivery(*delivery))

    def crash(self, transitions):
        raise Crash

    with monkeypatch.context() as patched:
        patched.setattr(ReminderLifecycle, "apply", crash)
        with pytest.raises(Crash):
            build_sender(aws.settings, clock=clock, sleep=clock.sleep, sms=sms).send_all(batch)
    assert len(sms.sent) == 3

    # SQS delivers the batch again: the joint start finds every claim in sending
    again = build_sender(aws.settings, clock=clock, sleep=clock.sleep, sms=sms).send_all(batch)
    assert [r.outcome for r in again] == [SendOutcome.DUPLICATE] * 3
    clock.advance(SENDING_LEASE + timedelta(seconds=1))
    report = tick(aws, MemoryQueue(), clock())

    assert report.unknown_outcome == 3
    assert {stored(notice) for notice in asked} == {("failed", "outcome_unknown")}
    assert len(sms.sent) == 3


def test_the_same_notice_asked_twice_with_one_key_is_texted_once(aws, cable, clock, queue, sms):
    [appointment] = visits(aws, cable, clock, 1)
    service = notices(aws, clock)
    first = service.ask(cable.tenant_id, appointment.appointment_id, on_the_way(30), "retry-1")
    again = service.ask(cable.tenant_id, appointment.appointment_id, on_the_way(30), "retry-1")

    assert again.notice.notice_id == first.notice.notice_id
    assert not again.created
    assert send_queued(aws, clock, queue, sms) == [SendOutcome.SENT]
    assert len(sms.sent) == 1
