from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from reach.domain.errors import InvalidInput
from reach.domain.quiet_hours import QuietHours, quiet_hours_text

NEW_YORK = ZoneInfo("America/New_York")
NIGHT = QuietHours.parse("21:00-08:00")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (local(2026, 6, 1, 20, 59), False),
        (local(2026, 6, 1, 21, 0), True),
        (local(2026, 6, 1, 23, 30), True),
        (local(2026, 6, 2, 3, 0), True),
        (local(2026, 6, 2, 7, 59), True),
        (local(2026, 6, 2, 8, 0), False),
        (local(2026, 6, 2, 12, 0), False),
    ],
)
def test_the_window_is_half_open_in_local_wall_time(moment, quiet):
    assert NIGHT.contains(moment, NEW_YORK) is quiet


def test_quiet_hours_are_judged_in_the_recipients_zone_not_utc():
    # 02:00 UTC is 22:00 in New York (quiet) but 19:00 in Los Angeles (allowed)
    moment = datetime(2026, 6, 2, 2, 0, tzinfo=UTC)

    assert NIGHT.contains(moment, NEW_YORK)
    assert not NIGHT.contains(moment, ZoneInfo("America/Los_Angeles"))


def test_a_quiet_moment_belongs_to_the_period_that_began_the_evening_before():
    period = NIGHT.period_at(local(2026, 6, 2, 6, 0), NEW_YORK)

    assert period is not None
    assert period.begins == local(2026, 6, 1, 21, 0)
    assert period.ends == local(2026, 6, 2, 8, 0)


def test_next_allowed_is_the_end_of_the_night_even_across_dst():
    # Clocks spring forward at 02:00 on 2026-03-08: the night is an hour shorter
    moment = local(2026, 3, 8, 1, 30)

    allowed = NIGHT.next_allowed(moment, NEW_YORK)

    assert allowed == local(2026, 3, 8, 8, 0)
    assert allowed.astimezone(UTC) == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)


def test_a_daytime_window_within_one_day_works_too():
    lunch = QuietHours.parse("12:00-13:00")

    assert lunch.contains(local(2026, 6, 1, 12, 30), NEW_YORK)
    assert not lunch.contains(local(2026, 6, 1, 13, 0), NEW_YORK)
    assert not lunch.contains(local(2026, 6, 1, 11, 59), NEW_YORK)


def test_an_empty_window_never_holds_anything():
    none = QuietHours(start=time(8, 0), end=time(8, 0))

    assert none.is_empty
    assert not none.contains(local(2026, 6, 1, 3, 0), NEW_YORK)


@pytest.mark.parametrize("text", ["", "21-08", "25:00-08:00", "21:00", "9pm-8am", "21:60-08:00"])
def test_malformed_windows_are_refused(text):
    with pytest.raises(ValueError, match="quiet-hours window"):
        QuietHours.parse(text)


def test_a_window_prints_as_it_parses():
    assert str(QuietHours.parse("21:00-08:00")) == "21:00-08:00"


def test_a_quiet_hours_setting_is_kept_in_its_canonical_form_or_refused_naming_the_field():
    assert quiet_hours_text(" 21:00-08:00 ") == "21:00-08:00"
    with pytest.raises(InvalidInput) as raised:
        quiet_hours_text("9pm-8am")

    assert raised.value.field == "quiet_hours"
    assert raised.value.reason == "'9pm-8am' is not a quiet-hours window such as 21:00-08:00"


@pytest.mark.parametrize(
    "window", ["21:00-21:00", "00:00-00:00", "00:00-23:59", "08:00-07:00", "21:00-21:59"]
)
def test_a_quiet_period_that_is_empty_or_leaves_under_8_hours_to_send_is_refused(window):
    with pytest.raises(InvalidInput) as raised:
        quiet_hours_text(window)

    assert raised.value.field == "quiet_hours"
    assert "from 1 h to 16 h" in raised.value.reason


@pytest.mark.parametrize("window", ["21:00-22:00", "17:00-09:00", "00:00-16:00", "22:30-07:30"])
def test_a_quiet_period_of_1_to_16_hours_is_accepted(window):
    assert quiet_hours_text(window) == window
