import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import examples
from reach.domain.caps import check_caps
from reach.domain.durations import ReminderOffset
from reach.domain.planning import (
    CATCH_UP_MIN_LEAD,
    MIN_GAP,
    PlannedReminder,
    PlanNote,
    plan_reminders,
)
from reach.domain.quiet_hours import QuietHours

NEW_YORK = ZoneInfo("America/New_York")
NIGHT = QuietHours.parse("21:00-08:00")


def offsets(*texts: str) -> list[ReminderOffset]:
    return [ReminderOffset.parse(t) for t in texts]


def local(*args: int, zone: ZoneInfo = NEW_YORK) -> datetime:
    return datetime(*args, tzinfo=zone)


def in_new_york(plan: PlannedReminder) -> datetime:
    assert plan.send_at is not None
    return plan.send_at.astimezone(NEW_YORK)


def test_spring_forward_p1d_keeps_local_time_and_pt2h_moves_out_of_the_night():
    # Given an 08:30 visit on the Sunday US clocks spring forward, booked a week ahead
    start = local(2026, 3, 8, 8, 30)
    now = local(2026, 3, 1, 12, 0)

    # When reminders P1D and PT2H are planned with quiet hours 21:00-08:00
    plan = plan_reminders(start, NEW_YORK, offsets("P1D", "PT2H"), NIGHT, now)

    # Then P1D is 08:30 (EST) the day before, and PT2H (06:30 EDT, quiet) moves to 08:00 EDT,
    # the nearer allowed moment that is still before the start
    assert [p.offsets for p in plan] == [("P1D",), ("PT2H",)]
    assert in_new_york(plan[0]).isoformat() == "2026-03-07T08:30:00-05:00"
    assert plan[0].notes == ()
    assert in_new_york(plan[1]).isoformat() == "2026-03-08T08:00:00-04:00"
    assert plan[1].notes == (PlanNote.MOVED_OUT_OF_QUIET_HOURS,)


def test_fall_back_p1d_keeps_local_time_and_pt2h_moves_out_of_the_night():
    start = local(2026, 11, 1, 8, 30)
    now = local(2026, 10, 20, 12, 0)

    plan = plan_reminders(start, NEW_YORK, offsets("P1D", "PT2H"), NIGHT, now)

    assert in_new_york(plan[0]).isoformat() == "2026-10-31T08:30:00-04:00"
    assert in_new_york(plan[1]).isoformat() == "2026-11-01T08:00:00-05:00"
    assert start - plan[0].send_at == timedelta(hours=25)  # type: ignore[operator]


def test_a_reminder_late_at_night_moves_back_to_the_evening_when_that_is_nearer():
    # PT12H before 09:30 is 21:30: the evening (20:59) is nearer than 08:00 the next morning
    start = local(2026, 6, 10, 9, 30)
    now = local(2026, 6, 1, 9, 0)

    plan = plan_reminders(start, NEW_YORK, offsets("PT12H"), NIGHT, now)

    assert in_new_york(plan[0]) == local(2026, 6, 9, 20, 59)


def test_the_morning_candidate_is_only_used_while_it_is_before_the_start():
    # A 07:45 visit: PT1H is 06:45 (quiet); 08:00 is after the start, so 20:59 the evening before
    start = local(2026, 6, 10, 7, 45)
    now = local(2026, 6, 1, 9, 0)

    plan = plan_reminders(start, NEW_YORK, offsets("PT1H"), NIGHT, now)

    assert in_new_york(plan[0]) == local(2026, 6, 9, 20, 59)


def test_a_reminder_with_no_allowed_moment_is_skipped_with_reason():
    # Booked at 22:00 for 06:00: the evening is past and the morning is after the start
    start = local(2026, 6, 2, 6, 0)
    now = local(2026, 6, 1, 22, 0)

    plan = plan_reminders(start, NEW_YORK, offsets("PT2H"), NIGHT, now)

    assert plan == [PlannedReminder(("PT2H",), None, (PlanNote.QUIET_HOURS,))]


def test_reminders_that_collide_after_moving_are_merged_into_the_one_nearest_the_start():
    # PT12H -> 20:30, PT10H -> 22:30 (quiet) -> 20:59: 29 minutes apart, so one reminder
    start = local(2026, 6, 10, 8, 30)
    now = local(2026, 6, 1, 9, 0)

    plan = plan_reminders(start, NEW_YORK, offsets("PT12H", "PT10H"), NIGHT, now)

    assert len(plan) == 1
    assert plan[0].offsets == ("PT12H", "PT10H")
    assert in_new_york(plan[0]) == local(2026, 6, 9, 20, 59)
    assert PlanNote.MERGED in plan[0].notes


def test_a_late_booking_gets_one_reminder_at_once_when_the_visit_is_far_enough_off():
    # Booked at 10:00 for 15:00 the same day: P1D has passed, PT2H (13:00) has not
    start = local(2026, 6, 1, 15, 0)
    now = local(2026, 6, 1, 10, 0)

    plan = plan_reminders(start, NEW_YORK, offsets("P1D", "PT2H"), NIGHT, now)

    assert [(p.offsets, in_new_york(p)) for p in plan] == [
        (("P1D",), now),
        (("PT2H",), local(2026, 6, 1, 13, 0)),
    ]
    assert plan[0].notes == (PlanNote.DUE_AT_ONCE,)


def test_a_late_booking_close_to_the_start_drops_passed_reminders():
    start = local(2026, 6, 1, 15, 0)
    now = start - CATCH_UP_MIN_LEAD + timedelta(minutes=1)

    plan = plan_reminders(start, NEW_YORK, offsets("P1D"), NIGHT, now)

    assert plan == [PlannedReminder(("P1D",), None, (PlanNote.PASSED_AT_BOOKING,))]


def test_a_catch_up_booked_at_night_waits_for_the_morning():
    start = local(2026, 6, 2, 14, 0)
    now = local(2026, 6, 1, 23, 0)

    plan = plan_reminders(start, NEW_YORK, offsets("P1D"), NIGHT, now)

    assert in_new_york(plan[0]) == local(2026, 6, 2, 8, 0)
    assert plan[0].notes == (PlanNote.DUE_AT_ONCE,)


ZONES = [
    "America/New_York",
    "America/Los_Angeles",
    "America/Phoenix",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
]
OFFSETS = ["P2D", "P1D", "PT12H", "PT10H", "PT2H", "PT1H", "PT30M", "PT15M", "P1W"]
WINDOWS = ["21:00-08:00", "20:00-09:00", "22:00-07:30", "00:00-06:00", "08:00-08:00"]


@settings(max_examples=examples(400), deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    window=st.sampled_from(WINDOWS),
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    lead=st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=10)),
    chosen=st.lists(st.sampled_from(OFFSETS), min_size=1, max_size=5, unique=True),
)
def test_every_plan_is_lawful_useful_and_accounts_for_every_offset(
    zone_name, window, start, lead, chosen
):
    zone = ZoneInfo(zone_name)
    quiet = QuietHours.parse(window)
    starts_at = start.replace(tzinfo=zone)
    now = starts_at.astimezone(UTC) - lead

    plan = plan_reminders(starts_at, zone, offsets(*chosen), quiet, now)

    to_send = [p.send_at for p in plan if p.send_at is not None]
    for moment in to_send:
        assert not quiet.contains(moment, zone), "never in quiet hours"
        assert now <= moment < starts_at, "after booking, before the start"
    assert to_send == sorted(to_send)
    assert all(b - a >= MIN_GAP for a, b in itertools.pairwise(to_send))
    listed = [text for p in plan for text in p.offsets]
    assert sorted(listed) == sorted(chosen), "every offset is planned or skipped exactly once"
    for p in plan:
        assert (p.send_at is None) == any(
            n in (PlanNote.QUIET_HOURS, PlanNote.PASSED_AT_BOOKING) for n in p.notes
        )


# --- booking confirmations (issue #12, item 5) ------------------------------------------


def test_a_confirmation_is_planned_first_and_due_at_once():
    now = local(2026, 3, 2, 10, 0)

    plan = plan_reminders(
        local(2026, 3, 6, 9, 0), NEW_YORK, offsets("P1D"), NIGHT, now, confirm=True
    )

    first = plan[0]
    assert (first.offsets, first.send_at, first.notes) == (
        ("confirmation",),
        now,
        (PlanNote.DUE_AT_ONCE,),
    )
    assert plan[0].is_confirmation
    assert plan[1].offsets == ("P1D",)


def test_a_confirmation_and_a_catch_up_reminder_due_together_are_one_text():
    # Booked at 19:00 for 09:00 the next morning: P1D has passed and would go at once too
    now = local(2026, 3, 2, 19, 0)

    plan = plan_reminders(
        local(2026, 3, 3, 9, 0), NEW_YORK, offsets("P1D"), NIGHT, now, confirm=True
    )

    (merged,) = plan
    assert merged.offsets == ("confirmation", "P1D")
    assert merged.is_confirmation
    assert PlanNote.MERGED in merged.notes


def test_a_confirmation_too_close_to_the_start_is_skipped_and_says_why():
    now = local(2026, 3, 2, 10, 0)

    (quiet,) = plan_reminders(
        local(2026, 3, 3, 7, 30), NEW_YORK, [], NIGHT, local(2026, 3, 2, 22, 0), confirm=True
    )
    (close,) = plan_reminders(local(2026, 3, 2, 10, 45), NEW_YORK, [], NIGHT, now, confirm=True)

    assert (quiet.send_at, quiet.notes) == (None, (PlanNote.QUIET_HOURS,))
    assert (close.send_at, close.notes) == (None, (PlanNote.TOO_CLOSE_TO_START,))


def test_for_a_capped_visit_the_weekly_cap_displaces_the_earliest_reminder():
    # Booked Monday 10:00 for Saturday 15:00: the confirmation and three reminders would be
    # four clinic texts in one week, one more than the weekly cap allows
    now = local(2026, 3, 2, 10, 0)
    start = local(2026, 3, 7, 15, 0)

    plan = plan_reminders(
        start, NEW_YORK, offsets("P3D", "P1D", "PT2H"), NIGHT, now, confirm=True, capped=True
    )

    sent = [p.offsets for p in plan if p.will_send]
    assert sent == [("confirmation",), ("P1D",), ("PT2H",)]
    (displaced,) = [p for p in plan if not p.will_send]
    assert displaced.offsets == ("P3D",)
    assert displaced.notes == (PlanNote.DISPLACED_BY_CONFIRMATION,)


def test_without_a_confirmation_or_the_caps_nothing_is_displaced():
    now = local(2026, 3, 2, 10, 0)
    start = local(2026, 3, 7, 15, 0)
    three = offsets("P3D", "P1D", "PT2H")

    uncapped = plan_reminders(start, NEW_YORK, three, NIGHT, now, confirm=True)
    unconfirmed = plan_reminders(start, NEW_YORK, three, NIGHT, now, capped=True)

    assert all(p.will_send for p in uncapped)
    assert len(uncapped) == 4
    assert unconfirmed == plan_reminders(start, NEW_YORK, three, NIGHT, now)


def test_a_reminder_the_caps_refuse_anyway_is_not_blamed_on_the_confirmation():
    # Two reminders the same afternoon break the daily cap between themselves: the planner
    # leaves them to the sender, as it would without a confirmation the next day
    now = local(2026, 3, 2, 10, 0)

    plan = plan_reminders(
        local(2026, 3, 4, 18, 0),
        NEW_YORK,
        offsets("PT4H", "PT1H"),
        NIGHT,
        now,
        confirm=True,
        capped=True,
    )

    assert all(p.will_send for p in plan)
    assert PlanNote.DISPLACED_BY_CONFIRMATION not in {n for p in plan for n in p.notes}


def _fit_the_caps(sends: list[datetime]) -> bool:
    return all(
        check_caps(sends[:i] + sends[i + 1 :], moment, NEW_YORK).allowed
        for i, moment in enumerate(sends)
    )


@settings(max_examples=examples(200), deadline=None)
@given(
    lead_hours=st.integers(min_value=2, max_value=24 * 9),
    booked_minute=st.integers(min_value=0, max_value=24 * 60 - 1),
    chosen=st.lists(st.sampled_from(["P3D", "P2D", "P1D", "PT4H", "PT2H", "@07:30"]), max_size=4),
)
def test_reminders_that_fit_the_caps_still_fit_them_with_the_confirmation_and_what_it_displaced(
    lead_hours, booked_minute, chosen
):
    now = local(2026, 3, 2) + timedelta(minutes=booked_minute)
    start = now + timedelta(hours=lead_hours)
    reminders = offsets(*dict.fromkeys(chosen))
    alone = [p.send_at for p in plan_reminders(start, NEW_YORK, reminders, NIGHT, now)]

    plan = plan_reminders(start, NEW_YORK, reminders, NIGHT, now, confirm=True, capped=True)

    if _fit_the_caps([moment for moment in alone if moment is not None]):
        assert _fit_the_caps([p.send_at for p in plan if p.send_at is not None])
    for reminder in plan:
        if PlanNote.DISPLACED_BY_CONFIRMATION in reminder.notes:
            assert reminder.send_at is None
            assert not reminder.is_confirmation
