"""Rules about an appointment's own state: which status moves are legal, which reminders a
cancellation, an opt-out or an opt-in touches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reach.domain.errors import Conflict
from reach.domain.message import MessageKind, MessageStatus
from reach.domain.models import (
    OPTED_OUT_REASON,
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Reminder,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def reminder(
    number: int,
    status: MessageStatus = MessageStatus.PENDING,
    *,
    plan: int = 1,
    send_at: datetime | None = NOW + timedelta(days=1),
    reason: str | None = None,
) -> Reminder:
    return Reminder(f"{plan}.{number}", plan, ("1d",), send_at, status, reason)


def appointment(
    status: AppointmentStatus = AppointmentStatus.SCHEDULED, *reminders: Reminder, plan: int = 1
) -> Appointment:
    return Appointment(
        tenant_id="ten_1",
        appointment_id="apt_1",
        phone="+12025550100",
        starts_at=NOW + timedelta(days=3),
        timezone="America/New_York",
        kind=AppointmentKind.CLINIC_VISIT,
        language="en",
        status=status,
        version=plan,
        plan_version=plan,
        reminder_offsets=("1d",),
        created_at=NOW,
        updated_at=NOW,
        reminders=reminders,
    )


def test_an_open_appointment_may_move_to_any_status():
    # given a scheduled appointment
    booked = appointment()

    # when it is cancelled
    cancelled = booked.moved_to(AppointmentStatus.CANCELLED, doing="cancelled")

    # then it is cancelled
    assert cancelled.status is AppointmentStatus.CANCELLED


@pytest.mark.parametrize(
    "closed",
    [AppointmentStatus.CANCELLED, AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW],
)
def test_a_closed_appointment_refuses_every_move_naming_what_was_refused(closed):
    # given a closed appointment
    done = appointment(closed)

    # when anything tries to move it, then it conflicts and says why
    assert done.is_closed
    with pytest.raises(Conflict, match=f"appointment is {closed.value} and can't be changed"):
        done.moved_to(AppointmentStatus.SCHEDULED)
    with pytest.raises(Conflict, match="can't be cancelled"):
        done.ensure_open(doing="cancelled")


def test_a_closed_appointment_staying_where_it_is_is_no_move():
    # given a cancelled appointment, when it is "moved" to cancelled, then nothing objects
    assert appointment(AppointmentStatus.CANCELLED).can_move_to(AppointmentStatus.CANCELLED)


def test_retiring_cancels_only_the_pending_reminders_with_the_reason():
    # given an appointment with a pending, a sent and a skipped reminder
    booked = appointment(
        AppointmentStatus.SCHEDULED,
        reminder(1),
        reminder(2, MessageStatus.SENT),
        reminder(3, MessageStatus.SKIPPED, reason="quiet_hours"),
    )

    # when its pending reminders are retired
    retired = booked.retire_pending("rescheduled")

    # then only the pending one is cancelled, with the reason
    assert [(r.reminder_id, r.status, r.reason) for r in retired] == [
        ("1.1", MessageStatus.CANCELLED, "rescheduled")
    ]


def test_an_opt_out_skips_the_pending_reminders():
    # given an appointment with a pending and a sent reminder
    booked = appointment(AppointmentStatus.SCHEDULED, reminder(1), reminder(2, MessageStatus.SENT))

    # when the recipient opts out
    paused = booked.paused_for_opt_out()

    # then the pending one is skipped as opted out
    assert [(r.reminder_id, r.status, r.reason) for r in paused] == [
        ("1.1", MessageStatus.SKIPPED, OPTED_OUT_REASON)
    ]


def test_an_opt_in_resumes_only_current_plan_reminders_still_ahead():
    # given reminders an opt-out skipped: one ahead, one past, one of an older plan, and one
    # skipped for another reason
    booked = appointment(
        AppointmentStatus.SCHEDULED,
        reminder(1, MessageStatus.SKIPPED, plan=1, reason=OPTED_OUT_REASON),
        reminder(1, MessageStatus.SKIPPED, plan=2, reason=OPTED_OUT_REASON),
        reminder(
            2, MessageStatus.SKIPPED, plan=2, reason=OPTED_OUT_REASON, send_at=NOW - timedelta(1)
        ),
        reminder(3, MessageStatus.SKIPPED, plan=2, reason="quiet_hours"),
        plan=2,
    )

    # when the recipient opts back in
    resumed = booked.resumed_after_opt_in(NOW)

    # then only the current plan's reminder still ahead is pending again
    assert [(r.reminder_id, r.status, r.reason) for r in resumed] == [
        ("2.1", MessageStatus.PENDING, "resumed_opt_in")
    ]


def test_a_message_kind_says_its_direction():
    # given each kind of message, then only a recipient's text is inbound
    assert MessageKind.INBOUND.direction == "inbound"
    assert MessageKind.REMINDER.direction == "outbound"
    assert MessageKind.ANSWER.direction == "outbound"


def test_only_texts_that_went_out_take_a_delivery_receipt():
    # given every message status, then receipts apply to sent and earlier receipts only
    taking = {status for status in MessageStatus if status.takes_receipt}
    assert taking == {MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED}
