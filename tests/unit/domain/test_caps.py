"""Healthcare caps: one clinic reminder a local day, three in any rolling 7 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reach.domain.caps import (
    RETENTION,
    CapReason,
    Contact,
    check_caps,
    prune_sends,
)

NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
WEEK = timedelta(days=7)


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


def test_a_first_reminder_is_allowed():
    decision = check_caps([], ny(2026, 6, 1, 9, 0), NEW_YORK)

    assert decision.allowed
    assert decision.reason is None
    assert decision.next_allowed_at is None


def test_a_second_reminder_on_the_same_local_day_waits_for_local_midnight():
    # Given a reminder sent at 09:00 in New York
    sent = [ny(2026, 6, 1, 9, 0)]

    # When another is due at 17:00 the same day
    decision = check_caps(sent, ny(2026, 6, 1, 17, 0), NEW_YORK)

    # Then it is refused by the daily cap until the recipient's next day begins
    assert not decision.allowed
    assert decision.reason == CapReason.DAILY_CAP
    assert decision.next_allowed_at == ny(2026, 6, 2, 0, 0)
    assert decision.next_allowed_at.tzinfo == UTC


def test_the_next_local_day_is_allowed_even_less_than_24_hours_later():
    sent = [ny(2026, 6, 1, 20, 0)]

    assert check_caps(sent, ny(2026, 6, 2, 8, 0), NEW_YORK).allowed


def test_the_same_instants_are_one_day_in_new_york_but_two_in_tokyo():
    # Given two instants three hours apart: 09:00 and 12:00 in New York, which are 22:00 on
    # June 1 and 01:00 on June 2 in Tokyo
    first = datetime(2026, 6, 1, 13, 0, tzinfo=UTC)
    second = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)

    # Then the second reminder breaks the daily cap for a New Yorker only
    assert check_caps([first], second, NEW_YORK).reason == CapReason.DAILY_CAP
    assert check_caps([first], second, TOKYO).allowed


def test_the_short_day_of_spring_forward_is_still_one_day():
    # 2026-03-08 in New York has 23 hours: 00:30 EST and 23:30 EDT are 22 hours apart
    sent = [ny(2026, 3, 8, 0, 30)]

    decision = check_caps(sent, ny(2026, 3, 8, 23, 30), NEW_YORK)

    assert decision.reason == CapReason.DAILY_CAP
    assert decision.next_allowed_at == datetime(2026, 3, 9, 4, 0, tzinfo=UTC)  # 00:00 EDT


def test_the_long_day_of_fall_back_is_still_one_day():
    # 2026-11-01 in New York has 25 hours: 00:30 EDT and 23:30 EST are 24 hours apart
    sent = [ny(2026, 11, 1, 0, 30)]

    decision = check_caps(sent, ny(2026, 11, 1, 23, 30), NEW_YORK)

    assert decision.reason == CapReason.DAILY_CAP
    assert decision.next_allowed_at == datetime(2026, 11, 2, 5, 0, tzinfo=UTC)  # 00:00 EST


def test_a_fourth_reminder_in_seven_days_waits_until_the_oldest_leaves_the_window():
    # Given reminders on Monday, Tuesday and Wednesday mornings
    sent = [ny(2026, 6, 1, 9, 0), ny(2026, 6, 2, 9, 0), ny(2026, 6, 3, 9, 0)]

    # When a fourth is due on Friday
    decision = check_caps(sent, ny(2026, 6, 5, 9, 0), NEW_YORK)

    # Then the weekly cap holds it until exactly 7 days after Monday's
    assert decision.reason == CapReason.WEEKLY_CAP
    assert decision.next_allowed_at == ny(2026, 6, 8, 9, 0)
    assert check_caps(sent, ny(2026, 6, 8, 9, 0), NEW_YORK).allowed
    assert not check_caps(sent, ny(2026, 6, 8, 8, 59), NEW_YORK).allowed


def test_a_week_is_168_hours_even_across_a_dst_change():
    # Given three reminders at 09:00 EDT before New York falls back on November 1
    sent = [ny(2026, 10, 27, 9, 0), ny(2026, 10, 28, 9, 0), ny(2026, 10, 29, 9, 0)]

    decision = check_caps(sent, ny(2026, 11, 2, 9, 0), NEW_YORK)

    # Then the window ends 168 hours after the first: 08:00 EST, not 09:00
    assert decision.reason == CapReason.WEEKLY_CAP
    assert decision.next_allowed_at == ny(2026, 11, 3, 8, 0)


def test_when_both_caps_are_broken_the_weekly_one_is_named():
    sent = [ny(2026, 6, 1, 9, 0), ny(2026, 6, 2, 9, 0), ny(2026, 6, 3, 9, 0)]

    decision = check_caps(sent, ny(2026, 6, 3, 15, 0), NEW_YORK)

    assert decision.reason == CapReason.WEEKLY_CAP
    assert decision.next_allowed_at == ny(2026, 6, 8, 9, 0)


def test_a_hold_past_midnight_skips_a_next_day_that_already_has_a_send():
    # Given a send this morning and one recorded tomorrow (a held reminder already sent)
    sent = [ny(2026, 6, 1, 8, 0), ny(2026, 6, 2, 9, 0)]

    # When another is checked this afternoon
    decision = check_caps(sent, ny(2026, 6, 1, 14, 0), NEW_YORK)

    # Then the earliest allowed moment is the start of the day after tomorrow
    assert decision.reason == CapReason.DAILY_CAP
    assert decision.next_allowed_at == ny(2026, 6, 3, 0, 0)


def test_sends_recorded_after_the_moment_checked_count_toward_its_week():
    # Given three sends later this week (a sender whose clock runs behind the others')
    sent = [ny(2026, 6, 2, 9, 0), ny(2026, 6, 3, 9, 0), ny(2026, 6, 4, 9, 0)]

    decision = check_caps(sent, ny(2026, 6, 1, 9, 0), NEW_YORK)

    assert decision.reason == CapReason.WEEKLY_CAP
    assert decision.next_allowed_at == ny(2026, 6, 9, 9, 0)


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="aware"):
        check_caps([datetime(2026, 6, 1, 9, 0)], ny(2026, 6, 1, 12, 0), NEW_YORK)


def test_pruning_keeps_the_last_eight_days_in_order():
    now = ny(2026, 6, 10, 9, 0)
    old = now - RETENTION
    sends = [now - timedelta(days=1), old, now - timedelta(days=7, hours=23), now]

    assert prune_sends(sends, now) == (
        now - timedelta(days=7, hours=23),
        now - timedelta(days=1),
        now,
    )


def test_a_contact_checks_the_caps_on_its_own_recent_sends():
    contact = Contact("t1", "+12025550187", recent_sends=(ny(2026, 6, 1, 9, 0),))

    assert contact.clinic_caps(ny(2026, 6, 1, 10, 0), NEW_YORK).reason == CapReason.DAILY_CAP
    assert contact.clinic_caps(ny(2026, 6, 2, 10, 0), NEW_YORK).allowed


ZONES = [
    "America/New_York",
    "Asia/Tokyo",
    "Europe/London",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Santiago",  # DST changes at midnight
    "Pacific/Kiritimati",  # UTC+14
]
# Windows around DST changes: March (US), April and September (Chile, Lord Howe), October
# and November (Europe, US)
BASES = [datetime(2026, month, 1, tzinfo=UTC) for month in (3, 4, 9, 10)]


@given(
    zone_name=st.sampled_from(ZONES),
    base=st.sampled_from(BASES),
    offsets=st.lists(st.integers(0, 45 * 24 * 60), max_size=60),
)
def test_accepted_sends_never_break_either_cap_whatever_the_order_of_attempts(
    zone_name, base, offsets
):
    # Given attempts in any order (senders' clocks disagree, held reminders go out late)
    zone = ZoneInfo(zone_name)
    accepted: list[datetime] = []

    # When each is accepted only if the caps allow it
    for minutes in offsets:
        at = base + timedelta(minutes=minutes)
        decision = check_caps(accepted, at, zone)
        if decision.allowed:
            accepted.append(at)
        else:
            # (and a refusal's suggested moment is one the caps would accept)
            assert decision.next_allowed_at is not None
            assert decision.next_allowed_at > at
            assert check_caps(accepted, decision.next_allowed_at, zone).allowed

    # Then no local day holds two, and no 7 days hold four
    ordered = sorted(accepted)
    days = [moment.astimezone(zone).date() for moment in ordered]
    assert all(a != b for a, b in pairwise(days))
    assert all(ordered[i + 3] - ordered[i] >= WEEK for i in range(len(ordered) - 3))
