from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reach.domain.durations import ReminderOffset, fixed_duration, reminder_offsets
from reach.domain.errors import InvalidInput

NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("text", "days", "elapsed"),
    [
        ("P1D", 1, timedelta()),
        ("PT2H", 0, timedelta(hours=2)),
        ("P1W", 7, timedelta()),
        ("P1DT12H", 1, timedelta(hours=12)),
        ("pt90m", 0, timedelta(minutes=90)),
        ("PT3600S", 0, timedelta(hours=1)),
    ],
)
def test_valid_durations_split_into_nominal_days_and_elapsed_time(text, days, elapsed):
    offset = ReminderOffset.parse(text)

    assert offset.days == days
    assert offset.elapsed == elapsed
    assert offset.text == text.upper()


@pytest.mark.parametrize(
    "text", ["", "P", "PT", "1D", "P1H", "PT1D", "P-1D", "P1.5D", "P0D", "PT0S", "P1Y", "P4M"]
)
def test_malformed_zero_or_too_long_durations_are_refused_with_a_reason(text):
    with pytest.raises(ValueError, match=r"'.*'"):
        ReminderOffset.parse(text)


def test_a_day_before_keeps_the_local_time_across_the_spring_dst_change():
    # Given an appointment at 08:30 EDT on the day US clocks spring forward (2026-03-08)
    start = datetime(2026, 3, 8, 8, 30, tzinfo=NEW_YORK)

    # When the reminder is P1D before it
    due = ReminderOffset.parse("P1D").before(start, NEW_YORK)

    # Then it is at 08:30 local the day before, which is only 23 hours earlier
    assert due.astimezone(NEW_YORK) == datetime(2026, 3, 7, 8, 30, tzinfo=NEW_YORK)
    assert start - due == timedelta(hours=23)


def test_twenty_four_hours_before_is_elapsed_time_across_the_dst_change():
    start = datetime(2026, 3, 8, 8, 30, tzinfo=NEW_YORK)

    due = ReminderOffset.parse("PT24H").before(start, NEW_YORK)

    assert start - due == timedelta(hours=24)
    assert due.astimezone(NEW_YORK).hour == 7


def test_a_day_before_in_autumn_is_twenty_five_hours_of_elapsed_time():
    start = datetime(2026, 11, 1, 8, 30, tzinfo=NEW_YORK)  # after the 02:00 fall-back

    due = ReminderOffset.parse("P1D").before(start, NEW_YORK)

    assert due.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 10, 31, 8, 30)
    assert start - due == timedelta(hours=25)


def test_a_wall_time_in_the_dst_gap_resolves_forward():
    # 02:30 on 2026-03-08 does not exist in New York; P1D before 02:30 on 03-09 lands in the gap
    start = datetime(2026, 3, 9, 2, 30, tzinfo=NEW_YORK)

    due = ReminderOffset.parse("P1D").before(start, NEW_YORK)

    assert due == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT


def test_a_list_of_offsets_comes_back_canonical_without_repeats():
    assert reminder_offsets(["p1d", "PT2H", "P1D"], field="reminders") == ("P1D", "PT2H")


def test_an_offset_that_does_not_parse_is_named_by_its_place_in_the_list():
    with pytest.raises(InvalidInput) as raised:
        reminder_offsets(["P1D", "soon"], field="reminder_offsets")

    assert raised.value.field == "reminder_offsets[1]"
    assert raised.value.reason == (
        "'soon' is not an ISO 8601 duration such as P1D or PT2H, nor a local time such as "
        "@07:30 or P1D@18:00"
    )


def test_a_fixed_duration_refuses_months_and_years_which_have_no_fixed_length():
    assert fixed_duration("P1DT2H", field="window") == timedelta(days=1, hours=2)
    with pytest.raises(InvalidInput) as raised:
        fixed_duration("P1M", field="window")

    assert raised.value.field == "window"


@pytest.mark.parametrize(
    "text",
    [
        "PT9999999999999999999999H",
        "P9999999999D",
        "P99999999999999999999W",
        "P9999999999Y",
        "PT99999999999999999999999999S",
        "P" + "9" * 5000 + "D",
    ],
)
def test_a_duration_too_large_for_date_arithmetic_is_refused_as_too_long_not_overflowed(text):
    # given a duration whose number would overflow timedelta (or int() itself)
    # when it is parsed, then it is a ValueError naming the bound, never an OverflowError
    with pytest.raises(ValueError, match=r"92-day maximum|too long"):
        ReminderOffset.parse(text)


def test_a_huge_offset_in_a_list_is_named_by_its_place_and_the_maximum():
    with pytest.raises(InvalidInput) as refused:
        reminder_offsets(["P1D", "PT9999999999999999999999H"], field="reminders")

    assert refused.value.field == "reminders[1]"
    assert "92-day maximum" in refused.value.reason


def test_the_longest_offset_allowed_still_parses():
    assert ReminderOffset.parse("P92D").days == 92
    assert ReminderOffset.parse("PT2208H").elapsed == timedelta(days=92)
    with pytest.raises(ValueError, match="92-day maximum"):
        ReminderOffset.parse("PT2209H")
