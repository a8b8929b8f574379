"""The dispatcher's scheduled event, read without Powertools' pydantic parser."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from conftest import load_event
from reach.domain.schedule import InvalidScheduledEvent, parse_scheduled_event


def scheduled(**changes: object) -> dict[str, object]:
    event = copy.deepcopy(load_event("dispatcher_scheduled.json"))
    for name, value in changes.items():
        if value is None:
            event.pop(name)
        else:
            event[name] = value
    return event


def test_the_tick_is_at_the_events_time():
    assert parse_scheduled_event(scheduled()).time == datetime(2027, 3, 14, 12, 30, tzinfo=UTC)


def test_a_time_with_an_offset_keeps_it():
    tick = parse_scheduled_event(scheduled(time="2027-03-14T07:30:00-05:00"))

    assert tick.time == datetime(2027, 3, 14, 12, 30, tzinfo=UTC)
    assert tick.time.utcoffset() == timedelta(hours=-5)


@pytest.mark.parametrize(
    ("event", "named"),
    [
        pytest.param(scheduled(time=None), "time", id="no time"),
        pytest.param(scheduled(time="2027-03-14T12:30:00"), "time", id="a time without offset"),
        pytest.param(scheduled(time="yesterday"), "time", id="not a time"),
        pytest.param(scheduled(time=1_800_000_000), "time", id="a number"),
        pytest.param(scheduled(account=None), "account", id="no account"),
        pytest.param(scheduled(**{"detail-type": 3}), "detail-type", id="detail-type mistyped"),
        pytest.param(scheduled(resources="arn"), "resources", id="resources not a list"),
        pytest.param(scheduled(resources=[1]), "resources", id="resources not strings"),
        pytest.param(scheduled(detail=None), "detail", id="no detail"),
        pytest.param(["not", "an", "object"], "object", id="not an object"),
    ],
)
def test_an_event_that_is_not_eventbridges_is_refused_naming_the_field(event, named):
    with pytest.raises(InvalidScheduledEvent, match=named):
        parse_scheduled_event(event)
