"""The booking confirmation (issue #12, item 5): a text when a visit is booked, for the kinds
a tenant turns it on for, planned as one more reminder so that every rule of a text holds."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from api_client import Api
from builders import (
    NEW_YORK,
    PATIENT,
    book,
    current,
    local_day,
    new_tenant,
    without_quiet_hours,
)
from conftest import load_function
from reach.domain.inbound import InboundSms, parse_inbound
from reach.domain.message import MessageStatus
from reach.domain.models import CONFIRMATION, AppointmentKind, AppointmentStatus
from reach.domain.planning import PlanNote
from reach.domain.replies import ReplyIntent
from reach.services.appointments import AppointmentChanges, NewAppointment
from reach.services.inbound import InboundService, ReplyOutcome
from reach.services.sending import SendOutcome
from reach.wiring import build_inbound
from reach_tools.demo_clock import DemoClock
from stand_ins import MemoryQueue, drain, make_sender, tick

CABLE_NUMBER = "+13125550100"
SERVICE = AppointmentKind.SERVICE_VISIT
CLINIC = AppointmentKind.CLINIC_VISIT
_inbound_ids = itertools.count(1)


@pytest.fixture
def cable(aws):
    """A cable company with no quiet hours that confirms its service visits."""
    tenant = new_tenant(aws, "Hilltop Cable", number=CABLE_NUMBER, quiet_hours="00:00-00:00")
    return aws.admin.update_tenant(tenant.tenant_id, confirm_bookings=("service_visit",))


def book_visit(aws, tenant, clock, *, kind=SERVICE, days=3, hour=9, **extra):
    opens = local_day(days, hour, now=clock())
    window = {"window_ends_at": opens + timedelta(hours=4)} if kind is SERVICE else {}
    return book(
        aws, tenant, clock=clock, starts_at=opens, offsets=None, kind=kind, **window, **extra
    )


def send_due(aws, sms, clock: DemoClock, moment: datetime | None = None) -> list[SendOutcome]:
    """Let a dispatcher tick at ``moment`` (default: now) and send what it queued."""
    if moment is not None:
        clock.set(moment)
    queue = MemoryQueue()
    tick(aws, queue, clock())
    return drain(queue, make_sender(aws, sms, clock))


def confirmations(appointment):
    return [r for r in appointment.reminders if CONFIRMATION in r.offsets]


def test_a_service_visit_is_confirmed_once_at_booking_saying_the_window(aws, cable, clock, sms):
    visit = book_visit(aws, cable, clock)

    (confirmation,) = confirmations(visit)
    assert confirmation.send_at == clock()
    assert confirmation.reminder_id == "1.0"
    assert send_due(aws, sms, clock) == [SendOutcome.SENT]
    # A later tick finds nothing more to send: the confirmation went once.
    assert send_due(aws, sms, clock, clock() + timedelta(minutes=5)) == []
    (text,) = sms.sent
    assert "Hilltop Cable booked" in text.body
    assert "between 9 AM and 1 PM" in text.body
    assert "Reply 1 confirm" in text.body
    sent = confirmations(current(aws, visit))[0]
    assert sent.status is MessageStatus.SENT
    # The visit's own reminders are still planned, unchanged.
    assert [r.offsets for r in visit.reminders[1:]] == [("P1D@18:00",), ("@07:30",)]


def test_a_kind_the_tenant_does_not_confirm_gets_no_confirmation(aws, cable, clock, sms):
    clinic_visit = book_visit(aws, cable, clock, kind=CLINIC)
    aws.admin.update_tenant(cable.tenant_id, confirm_bookings=())
    service_visit = book_visit(aws, cable, clock, days=4, phone="+12025550199")

    assert confirmations(clinic_visit) == []
    assert confirmations(service_visit) == []
    assert send_due(aws, sms, clock) == []
    assert sms.sent == []


def test_a_rescheduled_visit_gets_no_new_confirmation(aws, cable, clock, sms):
    visit = book_visit(aws, cable, clock)
    assert send_due(aws, sms, clock) == [SendOutcome.SENT]

    moved = aws.appointments.change(
        cable.tenant_id,
        visit.appointment_id,
        AppointmentChanges(
            starts_at=visit.starts_at + timedelta(days=1),
            window_ends_at=visit.window_ends_at + timedelta(days=1),
        ),
    )

    new_plan = [r for r in moved.reminders if r.appointment_version == moved.plan_version]
    assert new_plan
    assert all(CONFIRMATION not in r.offsets for r in new_plan)
    # The one confirmation is the booking's, already sent.
    assert [r.status for r in confirmations(moved)] == [MessageStatus.SENT]
    assert send_due(aws, sms, clock, clock() + timedelta(minutes=1)) == []
    assert len(sms.sent) == 1


def test_a_confirmation_booked_at_night_goes_when_quiet_hours_end(aws, clinic, clock, sms):
    # Given a clinic quiet 21:00-08:00 that confirms clinic visits, booking at 23:00
    aws.admin.update_tenant(clinic.tenant_id, confirm_bookings=("clinic_visit",))
    clock.set(local_day(1, 23, now=clock()))
    visit = book(aws, clinic, clock=clock, days=4, kind=CLINIC)

    # Then the confirmation is planned for 08:00, and nothing goes during the night
    (confirmation,) = confirmations(visit)
    assert confirmation.send_at.astimezone(NEW_YORK).hour == 8
    assert confirmation.reason == PlanNote.MOVED_OUT_OF_QUIET_HOURS
    assert send_due(aws, sms, clock, clock() + timedelta(hours=1)) == []
    assert send_due(aws, sms, clock, confirmation.send_at) == [SendOutcome.SENT]
    (sent_at,) = sms.sent_times
    assert timedelta(0) <= sent_at - confirmation.send_at < timedelta(minutes=1)


def test_a_clinic_confirmation_displaces_the_reminder_the_daily_cap_would_refuse(
    aws, clinic, clock, sms
):
    # Given a clinic that confirms clinic visits, booking at 09:00 a visit at 16:00 that day
    aws.admin.update_tenant(clinic.tenant_id, confirm_bookings=("clinic_visit",))
    clock.set(local_day(1, 9, now=clock()))
    visit = book(
        aws, clinic, clock=clock, starts_at=local_day(0, 16, now=clock()), offsets=("PT3H",)
    )

    # Then the 13:00 reminder is skipped, named as displaced by the confirmation
    by_offsets = {r.offsets: r for r in visit.reminders}
    assert by_offsets[(CONFIRMATION,)].status is MessageStatus.PENDING
    displaced = by_offsets[("PT3H",)]
    assert (displaced.status, displaced.send_at) == (MessageStatus.SKIPPED, None)
    assert displaced.reason == PlanNote.DISPLACED_BY_CONFIRMATION
    # And one text goes that day: the confirmation, counted by the caps
    assert send_due(aws, sms, clock) == [SendOutcome.SENT]
    assert send_due(aws, sms, clock, local_day(0, 13, now=clock())) == []
    assert len(sms.sent) == 1
    assert len(aws.contacts.get(clinic.tenant_id, PATIENT).recent_sends) == 1


def test_a_service_visit_confirmation_displaces_nothing(aws, cable, clock):
    clock.set(local_day(1, 9, now=clock()))
    visit = book(
        aws,
        cable,
        clock=clock,
        starts_at=local_day(0, 16, now=clock()),
        offsets=("PT3H",),
        kind=SERVICE,
    )

    assert [r.status for r in visit.reminders] == [MessageStatus.PENDING, MessageStatus.PENDING]


def test_a_reply_1_to_the_confirmation_confirms_that_visit(aws, cable, clock, sms, events):
    # Given a confirmation sent for one visit, then a second visit booked for the same phone
    first = book_visit(aws, cable, clock)
    assert send_due(aws, sms, clock) == [SendOutcome.SENT]
    (receipt,) = sms.receipts
    aws.admin.update_tenant(cable.tenant_id, confirm_bookings=())
    second = book_visit(aws, cable, clock, days=5)
    inbound: InboundService = build_inbound(
        aws.settings, clock=clock, sleep=clock.sleep, sms=sms, events=events
    )

    # When the customer answers the confirmation itself with "1"
    parsed = parse_inbound(
        {
            "originationNumber": PATIENT,
            "destinationNumber": CABLE_NUMBER,
            "messageKeyword": "",
            "messageBody": "1",
            "inboundMessageId": f"in-confirm-{next(_inbound_ids):06d}",
            "previousPublishedMessageId": receipt.provider_message_id,
        }
    )
    assert isinstance(parsed, InboundSms)
    result = inbound.receive(parsed, clock())

    # Then the visit it confirms is the one the confirmation was about
    assert (result.outcome, result.intent) == (ReplyOutcome.APPLIED, ReplyIntent.CONFIRM)
    assert result.appointment_id == first.appointment_id
    assert current(aws, first).status is AppointmentStatus.CONFIRMED
    assert current(aws, second).status is AppointmentStatus.SCHEDULED


def test_an_opted_out_recipient_gets_no_confirmation(aws, cable, clock, sms):
    aws.contacts.opt_out(cable.tenant_id, PATIENT, "sms:STOP", clock() - timedelta(days=1))
    aws.appointments._clock = clock
    booking = aws.appointments.book(
        cable.tenant_id,
        NewAppointment(
            phone=PATIENT,
            starts_at=local_day(3, 9, now=clock()),
            kind=SERVICE,
            window_ends_at=local_day(3, 13, now=clock()),
        ),
    )

    assert booking.opted_out
    assert send_due(aws, sms, clock) == [SendOutcome.SKIPPED]
    assert sms.attempts == []
    assert confirmations(current(aws, booking.appointment))[0].reason == "opted_out"


def test_the_booking_answer_shows_the_confirmation_and_the_reminder_it_displaces(
    aws, tenants, lambda_context
):
    # Given a clinic with no quiet hours that confirms clinic visits
    clinic = without_quiet_hours(aws.tenants, aws.tenants.get(tenants[0]))
    aws.admin.update_tenant(clinic.tenant_id, confirm_bookings=("clinic_visit",))
    api = Api(load_function("api"), lambda_context, clinic.tenant_id)
    starts_at = (datetime.now(UTC) + timedelta(days=6)).replace(microsecond=0)

    # When it books a visit with three reminders in the coming week
    booked = api.book(starts_at=starts_at.isoformat(), reminders=["P5D", "P3D", "P1D"])

    # Then the confirmation and three reminders would be four texts in a week: the answer,
    # and any later read, names the earliest reminder as displaced by the confirmation
    for shown in (booked, api.appointment(booked["id"])):
        plan = [(r["offsets"], r["status"], r["reason"]) for r in shown["reminders"]]
        assert plan == [
            (["confirmation"], "pending", "due_at_once"),
            (["P3D"], "pending", None),
            (["P1D"], "pending", None),
            (["P5D"], "skipped", "displaced_by_confirmation"),
        ]
    # And a new time plans the reminders again, without a second confirmation
    status, moved = api.patch(
        booked["id"], body={"starts_at": (starts_at + timedelta(days=1)).isoformat()}
    )
    assert status == 200, moved
    new_plan = [r for r in moved["reminders"] if r["version"] == moved["version"]]
    assert [r["offsets"] for r in new_plan] == [["P5D"], ["P3D"], ["P1D"]]
