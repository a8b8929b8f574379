"""Issue 13, item 5: a campaign's forecast, before it is sent: recipients per local send
window, the paced duration at the number's MPS, the finish, the cost, and the spill into
quiet hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from reach.domain.forecast import ForecastPlan, allowed_everywhere, recipient_zones
from reach.domain.prices import SMS_PRICES, PartPrice, PriceTable
from reach.domain.quiet_hours import QuietHours

QUIET = QuietHours.parse("21:00-08:00")
NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
HONOLULU = ZoneInfo("Pacific/Honolulu")
#: Tuesday 10 March 2026, 13:00 UTC: 09:00 in New York (allowed), 06:00 in Los Angeles and
#: 03:00 in Honolulu (both quiet).
SEND_AT = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
#: A priced table for the arithmetic: the repo's own has no confirmed base price.
PRICED = PriceTable(
    sms={"US": {"10dlc": PartPrice(Decimal("0.006"), Decimal("0.0045"))}},
    as_of=date(2026, 12, 1),
    source="test",
)


def _plan(members: list[ZoneInfo], *, parts: int = 1, mps: float = 1.0, at: datetime = SEND_AT):
    plan = ForecastPlan(at, parts, mps, QUIET)
    for zone in members:
        plan.add([zone], "US")
    return plan.forecast(origination_type="10dlc", prices=PRICED)


def test_members_in_new_york_los_angeles_and_honolulu_are_counted_per_local_window():
    forecast = _plan([NEW_YORK] * 3 + [LOS_ANGELES] * 2 + [HONOLULU])

    windows = [(w.opens_at, w.recipients) for w in forecast.windows]
    assert windows == [
        (SEND_AT, 3),
        (datetime(2026, 3, 10, 15, 0, tzinfo=UTC), 2),  # 08:00 PDT
        (datetime(2026, 3, 10, 18, 0, tzinfo=UTC), 1),  # 08:00 HST
    ]
    assert forecast.recipients == 6
    assert forecast.held == 3
    assert forecast.spills_into_quiet_hours
    # the last one goes when Honolulu opens, one second at 1 MPS
    assert forecast.estimated_finish == datetime(2026, 3, 10, 18, 0, 1, tzinfo=UTC)


def test_a_send_that_runs_past_nine_pm_holds_the_rest_to_the_next_morning():
    # 20:59:58 in New York, five recipients at 1 MPS: two go before 21:00, three wait
    late = datetime(2026, 3, 11, 0, 59, 58, tzinfo=UTC)
    forecast = _plan([NEW_YORK] * 5, at=late)

    assert forecast.held == 3
    next_morning = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)  # 08:00 EDT
    assert [(w.opens_at, w.recipients) for w in forecast.windows] == [
        (late, 2),
        (next_morning, 3),
    ]


def test_no_one_is_held_when_everyone_is_inside_their_hours():
    forecast = _plan([NEW_YORK] * 4)
    assert forecast.held == 0
    assert not forecast.spills_into_quiet_hours


def test_a_short_codes_100_mps_sends_a_thousand_texts_a_hundred_times_faster_than_10dlc():
    ten_dlc = _plan([NEW_YORK] * 1000, mps=1.0)
    short_code = _plan([NEW_YORK] * 1000, mps=100.0)

    assert ten_dlc.sending_seconds == 1000
    assert short_code.sending_seconds == 10
    assert short_code.estimated_finish == SEND_AT + timedelta(seconds=10)


def test_a_two_part_message_takes_twice_as_long_and_costs_twice_as_much():
    one = _plan([NEW_YORK] * 100, parts=1, mps=100.0)
    two = _plan([NEW_YORK] * 100, parts=2, mps=100.0)

    assert two.sending_seconds == 2 * one.sending_seconds == 2
    assert two.estimated_finish - SEND_AT == 2 * (one.estimated_finish - SEND_AT)
    assert two.cost.amount == 2 * one.cost.amount > 0


def test_reminders_due_in_the_send_go_first_and_push_the_finish_back():
    plan = ForecastPlan(SEND_AT, 1, 1.0, QUIET)
    for _ in range(10):
        plan.add([NEW_YORK], "US")
    forecast = plan.forecast(origination_type="10dlc", prices=SMS_PRICES, reminders_due=5)

    assert forecast.sending_seconds == 15
    assert forecast.estimated_finish == SEND_AT + timedelta(seconds=15)


def test_the_cost_is_parts_times_the_countrys_price_and_other_countries_are_unpriced():
    plan = ForecastPlan(SEND_AT, 2, 1.0, QUIET)
    plan.add([NEW_YORK], "US")
    plan.add([NEW_YORK], "US")
    plan.add([ZoneInfo("Europe/London")], "GB")
    cost = plan.forecast(origination_type="10dlc", prices=PRICED).cost

    assert cost.amount == (Decimal("0.0105") * 4).quantize(Decimal("0.01"))
    assert (cost.priced_recipients, cost.unpriced_recipients) == (2, 1)
    assert cost.prices_as_of == "2026-12-01"


def test_the_cost_is_by_origination_type_and_a_type_the_table_lacks_is_unpriced():
    plan = ForecastPlan(SEND_AT, 1, 1.0, QUIET)
    plan.add([NEW_YORK], "US")

    cost = plan.forecast(origination_type="toll-free", prices=PRICED).cost

    assert (cost.amount, cost.priced_recipients, cost.unpriced_recipients) == (0, 0, 1)


def test_the_repos_table_prices_no_part_it_could_not_confirm_and_names_its_source():
    plan = ForecastPlan(SEND_AT, 1, 1.0, QUIET)
    plan.add([NEW_YORK], "US")

    cost = plan.forecast(origination_type="10dlc", prices=SMS_PRICES).cost

    assert (cost.priced_recipients, cost.unpriced_recipients) == (0, 1)
    assert cost.source == "docs/facts.md#sms-prices"
    assert SMS_PRICES.price("US", "10dlc") is None
    assert SMS_PRICES.sms["US"]["toll-free"].carrier_fee == Decimal("0.0025")


def test_a_number_without_a_time_zone_must_be_allowed_in_every_zone_of_its_area():
    # 07:30 in Chicago is quiet, 08:30 in New York is not: held until 08:00 Chicago
    at = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
    opens = allowed_everywhere(QUIET, at, [NEW_YORK, ZoneInfo("America/Chicago")])
    assert opens == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)


def test_a_members_own_time_zone_wins_over_the_numbers_area():
    assert recipient_zones("+12125550100", "Pacific/Honolulu", "UTC") == ("Pacific/Honolulu",)
    assert recipient_zones("+12125550100", None, "UTC") == ("America/New_York",)
    # a number the phone library places nowhere falls back to the tenant's zone
    assert recipient_zones("+999", None, "America/Chicago") == ("America/Chicago",)
