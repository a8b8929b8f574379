"""Reminder offsets that name a local time of day: ``@07:30`` and ``P1D@18:00``."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import examples
from reach.domain.durations import ReminderOffset, fixed_duration, reminder_offsets
from reach.domain.errors import InvalidInput
from reach.domain.planning import PlanNote, plan_reminders
from reach.domain.quiet_hours import QuietHours

NEW_YORK = ZoneInfo("America/New_York")
NIGHT = QuietHours.parse("21:00-08:00")


def local(*args: int, zone: ZoneInfo = NEW_YORK) -> datetime:
    return datetime(*args, tzinfo=zone)


def plan_one(text: str, start: datetime, now: datetime, quiet: QuietHours = NIGHT):
    [planned] = plan_reminders(start, start.tzinfo, [ReminderOffset.parse(text)], quiet, now)  # type: ignore[arg-type]
    return planned


@pytest.mark.parametrize(
    ("text", "canonical", "days", "clock"),
    [
        ("@07:30", "@07:30", 0, time(7, 30)),
        ("p1d@18:00", "P1D@18:00", 1, time(18, 0)),
        (" P3D@00:00 ", "P3D@00:00", 3, time(0, 0)),
    ],
)
def test_a_local_time_of_day_is_an_offset_on_the_visit_day_or_n_days_before(
    text, canonical, days, clock
):
    offset = ReminderOffset.parse(text)

    assert (offset.text, offset.days, offset.local_time) == (canonical, days, clock)
    assert offset.is_time_of_day


@pytest.mark.parametrize(
    "text",
    ["@7:30", "@24:00", "@07:60", "P0D@07:30", "PT1H@07:30", "P1W@07:30", "P93D@07:30", "@"],
)
def test_a_malformed_local_time_is_refused_naming_its_place_in_the_list(text):
    with pytest.raises(InvalidInput) as raised:
        reminder_offsets(["P1D", text], field="reminders")

    assert raised.value.field == "reminders[1]"


def test_a_local_time_is_not_a_fixed_duration():
    with pytest.raises(InvalidInput) as raised:
        fixed_duration("@07:30", field="callback_within")

    assert raised.value.field == "callback_within"


def test_evening_before_and_morning_of_land_at_the_named_local_times():
    start = local(2026, 11, 10, 8, 0)  # an 8-12 arrival window
    now = local(2026, 11, 1, 12, 0)
    quiet = QuietHours.parse("21:00-07:00")

    plan = plan_reminders(
        start, NEW_YORK, [ReminderOffset.parse(t) for t in ("P1D@18:00", "@07:30")], quiet, now
    )

    assert [p.send_at.astimezone(NEW_YORK) for p in plan if p.send_at] == [
        local(2026, 11, 9, 18, 0),
        local(2026, 11, 10, 7, 30),
    ]


def test_a_local_time_keeps_its_wall_clock_across_the_autumn_dst_change():
    # US clocks fall back on 2026-11-01; the visit is the next morning
    start = local(2026, 11, 2, 9, 0)

    planned = plan_one("P1D@18:00", start, local(2026, 10, 20, 12, 0))

    assert planned.send_at.astimezone(NEW_YORK) == local(2026, 11, 1, 18, 0)
    assert planned.send_at == datetime(2026, 11, 1, 23, 0, tzinfo=UTC)  # EST, not EDT


def test_a_morning_of_time_inside_quiet_hours_is_held_to_their_end():
    # 06:00 is quiet until 08:00; the closer-looking 20:59 the evening before is not chosen
    start = local(2026, 11, 10, 10, 0)

    planned = plan_one("@06:00", start, local(2026, 11, 1, 12, 0))

    assert planned.send_at.astimezone(NEW_YORK) == local(2026, 11, 10, 8, 0)
    assert planned.notes == (PlanNote.MOVED_OUT_OF_QUIET_HOURS,)


def test_a_quiet_morning_of_time_that_cannot_be_held_before_the_start_is_skipped():
    # Quiet hours end at 08:00, after the 07:30 start: no second evening reminder either
    start = local(2026, 11, 10, 7, 30)

    planned = plan_one("@06:00", start, local(2026, 11, 1, 12, 0))

    assert planned.send_at is None
    assert planned.notes == (PlanNote.QUIET_HOURS,)


def test_a_local_time_at_or_after_the_start_is_never_sent():
    start = local(2026, 11, 10, 7, 0)

    planned = plan_one("@07:30", start, local(2026, 11, 1, 12, 0), QuietHours.parse("00:00-00:00"))

    assert planned.send_at is None
    assert planned.notes == (PlanNote.AFTER_START,)


ZONES = [
    "America/New_York",
    "America/Los_Angeles",
    "America/Phoenix",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
]
WINDOWS = ["21:00-08:00", "20:00-09:00", "22:00-07:30", "00:00-06:00", "08:00-08:00"]


@settings(max_examples=examples(400), deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    quiet_window=st.sampled_from(WINDOWS),
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    window_length=st.timedeltas(min_value=timedelta(minutes=30), max_value=timedelta(hours=12)),
    lead=st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=10)),
    days=st.integers(min_value=0, max_value=3),
    hour=st.integers(min_value=0, max_value=23),
    minute=st.sampled_from([0, 15, 30, 45, 59]),
)
def test_a_local_time_reminder_is_never_quiet_never_after_the_window_start_and_on_time_if_allowed(
    zone_name, quiet_window, start, window_length, lead, days, hour, minute
):
    zone = ZoneInfo(zone_name)
    quiet = QuietHours.parse(quiet_window)
    window_starts = start.replace(tzinfo=zone)
    window_ends = window_starts + window_length
    now = window_starts.astimezone(UTC) - lead
    text = f"{f'P{days}D' if days else ''}@{hour:02d}:{minute:02d}"

    [planned] = plan_reminders(window_starts, zone, [ReminderOffset.parse(text)], quiet, now)

    named_day = window_starts.astimezone(zone).date() - timedelta(days=days)
    named = datetime.combine(named_day, time(hour, minute)).replace(tzinfo=zone)
    assert window_ends > window_starts
    if planned.send_at is not None:
        assert not quiet.contains(planned.send_at, zone), "never in quiet hours"
        assert now <= planned.send_at < window_starts, "never after the window's start"
    allowed = not quiet.contains(named, zone) and now < named < window_starts
    if allowed:
        assert planned.send_at == named.astimezone(UTC), "at the named local time"
