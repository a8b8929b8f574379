"""Which appointment a reply is about, and reading the answer to "which one?"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reach.domain.conversation import (
    CHOICE_TTL,
    LATE_GRACE,
    Candidate,
    PendingChoice,
    most_relevant,
    open_candidates,
    read_choice,
)
from reach.domain.models import Appointment, AppointmentKind, AppointmentStatus

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def visit(
    appointment_id: str,
    starts_in: timedelta,
    status: AppointmentStatus = AppointmentStatus.SCHEDULED,
) -> Appointment:
    return Appointment(
        tenant_id="t1",
        appointment_id=appointment_id,
        phone="+12025550187",
        starts_at=NOW + starts_in,
        timezone="America/New_York",
        kind=AppointmentKind.CLINIC_VISIT,
        language="en",
        status=status,
        version=1,
        reminder_offsets=("P1D",),
        created_at=NOW - timedelta(days=7),
        updated_at=NOW - timedelta(days=7),
    )


def asked(*appointment_ids: str, at: datetime = NOW) -> PendingChoice:
    return PendingChoice(appointment_ids, "confirm", None, at)


def test_a_letter_on_offer_picks_its_appointment_and_keeps_the_text_after_it():
    pending = asked("first", "second")

    bare = read_choice("b", pending)
    with_text = read_choice("A: 3", pending)

    assert bare is not None
    assert (bare.appointment_id, bare.rest) == ("second", "")
    assert with_text is not None
    assert (with_text.appointment_id, with_text.rest) == ("first", "3")


def test_a_letter_not_on_offer_or_a_word_picks_nothing():
    pending = asked("first", "second")

    assert read_choice("D", pending) is None  # only two were offered
    assert read_choice("Yes", pending) is None


def test_a_question_stays_answerable_for_a_day():
    pending = asked("first", "second")

    assert pending.is_current(NOW + CHOICE_TTL)
    assert not pending.is_current(NOW + CHOICE_TTL + timedelta(seconds=1))


def test_candidates_are_the_open_appointments_not_long_started_soonest_first():
    later = visit("later", timedelta(days=4))
    sooner = visit("sooner", timedelta(days=3))
    closed = visit("closed", timedelta(days=2), AppointmentStatus.CANCELLED)
    long_ago = visit("long-ago", -LATE_GRACE - timedelta(minutes=1))

    assert open_candidates([later, closed, long_ago, sooner], NOW) == [sooner, later]


def test_the_only_candidate_is_the_one():
    only = visit("only", timedelta(days=3))

    match = most_relevant([Candidate(only, None)], NOW, running_late=False)

    assert (match.appointment, match.ambiguous) == (only, ())


def test_running_late_picks_the_only_appointment_near_now():
    today = visit("today", timedelta(hours=1))
    next_week = visit("next-week", timedelta(days=7))

    match = most_relevant(
        [Candidate(today, None), Candidate(next_week, None)], NOW, running_late=True
    )

    assert match.appointment == today


def test_the_appointment_texted_last_wins_and_a_tie_asks_which():
    first = visit("first", timedelta(days=3))
    second = visit("second", timedelta(days=4))
    an_hour_ago = NOW - timedelta(hours=1)

    texted_last = most_relevant(
        [Candidate(first, an_hour_ago - timedelta(hours=1)), Candidate(second, an_hour_ago)],
        NOW,
        running_late=False,
    )
    tied = most_relevant(
        [Candidate(second, an_hour_ago), Candidate(first, an_hour_ago)], NOW, running_late=False
    )

    assert texted_last.appointment == second
    assert (tied.appointment, tied.ambiguous) == (None, (first, second))
