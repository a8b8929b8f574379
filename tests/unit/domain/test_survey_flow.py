"""The survey response state machine: answers move along the graph, one re-prompt per
question, expiry counted from when the question went, and a late reply told once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reach.domain.survey_flow import (
    CLOSED_TEXTS,
    Outcome,
    ResponseState,
    SurveyResponse,
    reply,
    settle_first,
    stop,
)
from reach.domain.survey_results import Disposition
from reach.domain.surveys import parse_survey

NOW = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)

SURVEY = parse_survey(
    {
        "name": "After your visit",
        "language": "en",
        "thanks": "Thanks!",
        "expires_after": "PT24H",
        "nudge_after": "PT4H",
        "questions": [
            {
                "id": "nps",
                "text": "How likely are you to recommend us, 0-10?",
                "type": "scale",
                "min": 0,
                "max": 10,
                "next": [{"if": {"lte": 6}, "goto": "call"}, {"goto": "end"}],
            },
            {
                "id": "call",
                "text": "Sorry to hear that. Shall we call you?",
                "type": "choice",
                "choices": [
                    {"key": "1", "label": "Yes", "action": "callback"},
                    {"key": "2", "label": "No"},
                ],
            },
            {"id": "why", "text": "Anything else?", "type": "text"},
        ],
    }
)


def asked(**changes) -> SurveyResponse:
    base = {
        "tenant_id": "t1",
        "survey_id": "srv_a",
        "response_id": "r_1",
        "phone": "+12065550100",
        "state": ResponseState.ASKED,
        "origin": "list:l1",
        "created_at": NOW,
        "send_after": NOW,
        "question_id": "nps",
        "asked_at": NOW,
    }
    return SurveyResponse(**{**base, **changes})


def test_a_low_score_goes_to_the_callback_question_and_a_high_one_ends_with_thanks():
    low = reply(asked(), SURVEY, "5", NOW)
    high = reply(asked(), SURVEY, "9/10", NOW)

    assert (low.outcome, low.response.question_id) == (Outcome.RECORDED, "call")
    assert low.text.startswith("Sorry to hear that. Shall we call you? 1 Yes 2 No")
    assert high.response.state is ResponseState.COMPLETED
    assert high.text == "Thanks!"
    assert high.completed
    assert high.response.disposition() is Disposition.COMPLETED


def test_the_callback_choice_asks_for_a_callback():
    step = reply(asked(question_id="call"), SURVEY, "yes!", NOW)

    assert step.callback == "call"
    assert step.response.answers["call"].value == "1"


def test_one_reprompt_then_a_second_invalid_answer_moves_on_without_recording():
    first = reply(asked(), SURVEY, "great", NOW)
    second = reply(first.response, SURVEY, "really great", NOW + timedelta(minutes=1))

    assert first.outcome is Outcome.REPROMPTED
    assert "0 to 10" in first.text
    assert second.outcome is Outcome.SKIPPED
    assert "nps" not in second.response.answers
    # No answer matches no condition: the rule without one ("goto end") applies.
    assert second.response.state is ResponseState.COMPLETED


def test_a_question_without_rules_moves_on_to_the_next_in_the_list_after_two_invalid():
    first = reply(asked(question_id="call"), SURVEY, "maybe", NOW)
    second = reply(first.response, SURVEY, "perhaps", NOW)

    assert first.outcome is Outcome.REPROMPTED
    assert "1 Yes, 2 No" in first.text
    assert (second.outcome, second.response.question_id) == (Outcome.SKIPPED, "why")
    assert not second.response.reprompted
    assert second.text == "Anything else?"


def test_a_reply_after_the_deadline_expires_the_response_and_is_told_once():
    late = NOW + timedelta(hours=24)

    first = reply(asked(), SURVEY, "9", late)
    second = reply(first.response, SURVEY, "9", late + timedelta(minutes=1))

    assert first.response.state is ResponseState.EXPIRED
    assert first.outcome is Outcome.CLOSED
    assert first.text == CLOSED_TEXTS["en"]
    assert first.response.answers == {}
    assert second.text is None
    assert second.response == first.response
    assert first.response.disposition() is Disposition.EXPIRED


def test_expiry_counts_from_when_the_first_question_went_not_when_it_was_queued():
    queued = asked(state=ResponseState.QUEUED, asked_at=None)
    went = NOW + timedelta(hours=10)  # held through the night
    settled = settle_first(
        SurveyResponse(**{**queued.__dict__, "first_sent_at": went, "first_outcome": "sent"}),
        went,
    )

    step = reply(settled, SURVEY, "8", NOW + timedelta(hours=30))

    assert settled.asked_at == went
    assert step.outcome is Outcome.RECORDED


def test_stop_mid_survey_ends_it_stopped_and_a_later_reply_records_nothing():
    stopped = stop(reply(asked(), SURVEY, "3", NOW).response, NOW)
    step = reply(stopped, SURVEY, "1", NOW)

    assert stopped.disposition() is Disposition.STOPPED
    assert step.outcome is Outcome.CLOSED
    assert step.text is None
    assert set(step.response.answers) == {"nps"}


def test_a_partial_response_is_one_that_answered_some_then_expired():
    started = reply(asked(), SURVEY, "3", NOW).response
    late = reply(started, SURVEY, "1", NOW + timedelta(days=2))

    assert started.disposition() is Disposition.STARTED
    assert late.response.disposition() is Disposition.PARTIAL
