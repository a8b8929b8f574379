"""An event's data may hold one flat map of small facts (a survey's answers by question id),
checked like any other datum: no phone numbers, no nesting, no other types."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reach.ports.events import DomainEvent, EventType

AT = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)


def event(data):
    return DomainEvent(EventType.SURVEY_COMPLETED, "t1", "evt_1", AT, {"survey_id": "s"}, data)


def test_a_flat_map_of_answers_is_carried_and_frozen_from_the_callers_dict():
    answers = {"nps": 9, "on_time": "1"}
    made = event({"answers": answers})
    answers["nps"] = 0

    assert made.detail()["answers"] == {"nps": 9, "on_time": "1"}


@pytest.mark.parametrize(
    "answers",
    [{"q": "+12025550187"}, {"q": 12025550187}, {"q": {"deeper": 1}}, {"q": 1.5}, {"q": True}],
)
def test_a_map_holding_a_phone_number_or_anything_but_text_and_integers_is_refused(answers):
    with pytest.raises(ValueError, match="data"):
        event({"answers": answers})
