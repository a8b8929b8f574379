"""Replies to a service visit (issue #12, item 4): "not home", running late with the window,
and a question that needs a person, under moto with the real inbound service."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from builders import PATIENT, book, current
from reach.data.contacts import ContactRepository
from reach.domain.conversation_texts import ReplyKind
from reach.domain.inbound import InboundSms, parse_inbound
from reach.domain.models import AppointmentKind, AppointmentStatus, CustomerStatus
from reach.domain.replies import ReplyIntent
from reach.ports.events import EventType, iso_utc
from reach.services.inbound import InboundService, ReplyOutcome
from reach.wiring import build_inbound
from reach_tools.demo_clock import DemoClock

CABLE_NUMBER = "+13125550100"
_ids = itertools.count(1)


@pytest.fixture
def inbound(aws, clock, sms, events) -> InboundService:
    return build_inbound(aws.settings, clock=clock, sleep=clock.sleep, sms=sms, events=events)


def receive(inbound: InboundService, clock: DemoClock, body: str):
    parsed = parse_inbound(
        {
            "originationNumber": PATIENT,
            "destinationNumber": CABLE_NUMBER,
            "messageKeyword": "",
            "messageBody": body,
            "inboundMessageId": f"in-visit-{next(_ids):06d}",
            "previousPublishedMessageId": "",
        }
    )
    assert isinstance(parsed, InboundSms)
    return inbound.receive(parsed, clock())


def service_visit(aws, tenant, clock, *, kind=AppointmentKind.SERVICE_VISIT, **extra):
    starts = (clock() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    window = (
        {"window_ends_at": starts + timedelta(hours=4)}
        if kind is AppointmentKind.SERVICE_VISIT
        else {}
    )
    return book(
        aws,
        tenant,
        clock=clock,
        starts_at=starts,
        timezone="America/Chicago",
        first_name="Maria",
        kind=kind,
        **window,
        **extra,
    )


@pytest.mark.parametrize("text", ["not home", "No one will be home", "nadie en casa"])
def test_not_home_marks_the_customer_tells_the_company_and_never_cancels_or_opts_out(
    aws, cable, clock, inbound, sms, events, text
):
    visit = service_visit(aws, cable, clock)

    result = receive(inbound, clock, text)

    assert (result.outcome, result.intent) == (ReplyOutcome.APPLIED, ReplyIntent.NOT_HOME)
    after = current(aws, visit)
    assert after.customer_status is CustomerStatus.NOT_HOME
    assert after.status is AppointmentStatus.SCHEDULED
    assert [r.status for r in after.reminders] == [r.status for r in visit.reminders]
    assert not ContactRepository().get(cable.tenant_id, PATIENT).opted_out
    [event] = events.events
    assert event.type is EventType.CUSTOMER_NOT_HOME
    assert event.ids["appointment_id"] == visit.appointment_id
    assert event.data["window_ends_at"] == iso_utc(visit.window_ends_at)
    [answer] = [m.body for m in sms.sent_to(PATIENT)]
    assert "Hilltop Cable" in answer
    assert "reply 2" in answer.lower() or "responda 2" in answer.lower()
    assert result.answer is ReplyKind.NOT_HOME


def test_stop_after_not_home_still_opts_out_at_once(aws, cable, clock, inbound, events):
    service_visit(aws, cable, clock)
    receive(inbound, clock, "nobody home")

    result = receive(inbound, clock, "STOP")

    assert result.intent is ReplyIntent.OPT_OUT
    assert ContactRepository().get(cable.tenant_id, PATIENT).opted_out
    assert EventType.OPTED_OUT in {e.type for e in events.events}


def test_a_confirmation_after_not_home_clears_it(aws, cable, clock, inbound):
    visit = service_visit(aws, cable, clock)
    receive(inbound, clock, "not home")

    receive(inbound, clock, "1")

    after = current(aws, visit)
    assert (after.status, after.customer_status) == (AppointmentStatus.CONFIRMED, None)


def test_not_home_about_a_clinic_visit_is_left_to_a_person(aws, clinic, clock, inbound, events):
    visit = book(aws, clinic, clock=clock)
    parsed = parse_inbound(
        {
            "originationNumber": PATIENT,
            "destinationNumber": clinic.sender_number,
            "messageKeyword": "",
            "messageBody": "I won't be there",
            "inboundMessageId": "in-clinic-not-home",
            "previousPublishedMessageId": "",
        }
    )
    assert isinstance(parsed, InboundSms)

    result = inbound.receive(parsed, clock())

    assert result.outcome is ReplyOutcome.UNKNOWN
    assert current(aws, visit).customer_status is None
    assert [e.type for e in events.events] == [EventType.REPLY_RECEIVED]


def test_running_late_for_a_service_visit_carries_the_window_and_fits_a_home_visit(
    aws, cable, clock, inbound, sms, events
):
    visit = service_visit(aws, cable, clock)

    result = receive(inbound, clock, "running 15 min late")

    assert result.intent is ReplyIntent.RUNNING_LATE
    [event] = events.of_type(EventType.RUNNING_LATE)
    assert event.data["minutes_late"] == 15
    assert event.data["window_starts_at"] == iso_utc(visit.starts_at)
    assert event.data["window_ends_at"] == iso_utc(visit.window_ends_at)
    [answer] = [m.body for m in sms.sent_to(PATIENT)]
    assert "home about 15 min late" in answer
    assert "The technician comes between" in answer
    assert result.answer is ReplyKind.LATE_FOR_HOME_VISIT


def test_a_question_about_a_service_visit_needs_attention_without_its_text(
    aws, cable, clock, inbound, sms, events
):
    visit = service_visit(aws, cable, clock)

    first = receive(inbound, clock, "Do I need to move my car from the driveway?")
    second = receive(inbound, clock, "And is the dog a problem?")

    assert first.outcome is second.outcome is ReplyOutcome.UNKNOWN
    attention = events.of_type(EventType.NEEDS_ATTENTION)
    assert len(attention) == 2
    for event in attention:
        assert event.tenant_id == cable.tenant_id
        assert event.ids["appointment_id"] == visit.appointment_id
        assert "driveway" not in str(event.detail())
        assert "dog" not in str(event.detail())
    assert len(sms.sent_to(PATIENT)) == 1, "one helpful answer, as for any unknown reply"
