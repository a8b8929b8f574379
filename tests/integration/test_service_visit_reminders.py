"""A service visit's reminders as the sender sends them (issue #12, items 1 and 2): the
evening before and the morning of, each saying the arrival window in the recipient's time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from builders import book, local_day
from reach.domain.models import AppointmentKind
from reach.services.sending import SendOutcome
from stand_ins import MemoryQueue, claim_when_due, drain, make_sender, tick


@pytest.mark.parametrize(
    ("language", "said"),
    [("en", "between 9 AM and 1 PM"), ("es", "entre las 9:00 y las 13:00")],
)
def test_both_reminders_of_a_service_visit_say_the_window_in_local_time(
    aws, clinic, clock, sms, language, said
):
    # Given a 9-to-1 window in New York, reminded the evening before and the morning of
    opens = local_day(3, 9, now=clock())
    visit = book(
        aws,
        clinic,
        clock=clock,
        starts_at=opens,
        offsets=None,
        kind=AppointmentKind.SERVICE_VISIT,
        window_ends_at=opens + timedelta(hours=4),
        technician_name="Luis",
        language=language,
    )
    evening, morning = (r.send_at for r in visit.reminders)

    # When each falls due and the sender drains the queue
    outcomes = drain(claim_when_due(aws, clock, visit), make_sender(aws, sms, clock))
    clock.set(morning)

    queue = MemoryQueue()
    tick(aws, queue, morning)
    outcomes += drain(queue, make_sender(aws, sms, clock))

    # Then two texts went, at 18:00 the day before and 08:00 (07:30 is quiet), each with it
    assert outcomes == [SendOutcome.SENT, SendOutcome.SENT]
    assert [m.astimezone(opens.tzinfo).hour for m in (evening, morning)] == [18, 8]
    assert [said in text.body for text in sms.sent] == [True, True]
