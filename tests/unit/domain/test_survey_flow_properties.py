"""Properties of the survey state machine over any valid survey graph and any sequence of
replies (valid, invalid, STOP, late): the response follows the graph, re-prompts at most once
per question, never records an answer once expired or stopped, and the results count exactly
the responses stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import examples
from reach.domain.errors import InvalidInput
from reach.domain.survey_answers import next_question
from reach.domain.survey_flow import (
    FINISHED,
    Outcome,
    ResponseState,
    SurveyResponse,
    reply,
    stop,
)
from reach.domain.survey_results import RecordedResponse, summarise
from reach.domain.surveys import END, QuestionType, SurveyDefinition, check_survey, survey_from_dict

NOW = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
EXPIRES = timedelta(hours=24)


@st.composite
def surveys(draw: st.DrawFn) -> SurveyDefinition:
    """A valid survey: 1-5 questions of any type, with forward gotos (so no cycles)."""
    count = draw(st.integers(1, 5))
    ids = [f"q{n}" for n in range(count)]
    questions = [_question(draw, ids, n) for n in range(count)]
    raw = {"name": "S", "language": "en", "expires_after": "PT24H", "questions": questions}
    try:
        return check_survey(survey_from_dict(raw))
    except InvalidInput:
        assume(False)
        raise


def _question(draw: st.DrawFn, ids: list[str], n: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(list(QuestionType)))
    question: dict[str, Any] = {"id": ids[n], "text": f"Question {n}?", "type": kind.value}
    targets = st.sampled_from([*ids[n + 1 :], END])
    rules: list[dict[str, Any]] = []
    if kind is QuestionType.CHOICE:
        question["choices"] = [{"key": "1", "label": "Yes"}, {"key": "2", "label": "No"}]
        if draw(st.booleans()):
            rules.append({"if": {"equals": "1"}, "goto": draw(targets)})
    elif kind is QuestionType.SCALE:
        question |= {"min": 0, "max": 10}
        if draw(st.booleans()):
            rules.append({"if": {"lte": draw(st.integers(0, 9))}, "goto": draw(targets)})
    if rules and draw(st.booleans()):
        rules.append({"goto": draw(targets)})
    if rules:
        question["next"] = rules
    return question


#: What the person does next: answer validly, invalidly, say STOP, or answer too late.
REPLIES = st.sampled_from(["valid", "valid", "valid", "invalid", "invalid", "stop", "late"])


def _valid(definition: SurveyDefinition, question_id: str, data: st.DataObject) -> str:
    question = definition.question(question_id)
    if question.type is QuestionType.CHOICE:
        choice = data.draw(st.sampled_from(question.choices))
        return data.draw(st.sampled_from([choice.key, choice.label.upper(), f"{choice.label}!"]))
    if question.type is QuestionType.SCALE:
        return str(data.draw(st.integers(question.min or 0, question.max or 10)))
    return data.draw(st.text(st.characters(codec="ascii", categories=["L"]), min_size=1))


def _invalid(definition: SurveyDefinition, question_id: str) -> str | None:
    """A reply the question can't read; None for free text, which reads anything."""
    question = definition.question(question_id)
    return None if question.type is QuestionType.TEXT else "perhaps"


def _run(
    definition: SurveyDefinition, data: st.DataObject, moves: list[str]
) -> tuple[SurveyResponse, list[tuple[str, Outcome, SurveyResponse, SurveyResponse]]]:
    response = SurveyResponse(
        tenant_id="t1",
        survey_id="srv",
        response_id="r",
        phone="+12065550100",
        state=ResponseState.ASKED,
        origin="list:l1",
        created_at=NOW,
        send_after=NOW,
        question_id=definition.first.id,
        asked_at=NOW,
    )
    clock = NOW
    trace = []
    for move in moves:
        clock += timedelta(minutes=1)
        if move == "stop":
            before, response = response, stop(response, clock)
            trace.append((move, Outcome.CLOSED, before, response))
            continue
        at = clock + EXPIRES if move == "late" else clock
        if move == "late":
            clock = at
        text = (
            _valid(definition, response.question_id, data)
            if move in ("valid", "late")
            else _invalid(definition, response.question_id)
        )
        if text is None:
            continue
        step = reply(response, definition, text, at)
        trace.append((move, step.outcome, response, step.response))
        response = step.response
    return response, trace


@settings(max_examples=examples(150), suppress_health_check=[HealthCheck.filter_too_much])
@given(definition=surveys(), data=st.data(), moves=st.lists(REPLIES, max_size=12))
def test_a_response_follows_the_graph_and_records_nothing_once_finished(
    definition: SurveyDefinition, data: st.DataObject, moves: list[str]
) -> None:
    _, trace = _run(definition, data, moves)

    reprompts: dict[tuple[str, int], int] = {}
    for move, outcome, before, after in trace:
        if before.state in FINISHED:
            # Finished: nothing recorded, nothing moved.
            assert after.answers == before.answers
            assert after.state is before.state
            continue
        if outcome is Outcome.RECORDED:
            recorded = after.answers[before.question_id].value
            expected = next_question(definition, before.question_id, recorded)
            assert (after.question_id if expected != END else END) == expected
            assert move != "late"
        if outcome is Outcome.REPROMPTED:
            visit = (before.question_id, len(before.answers))
            reprompts[visit] = reprompts.get(visit, 0) + 1
            assert reprompts[visit] == 1
            assert not before.reprompted
        if outcome is Outcome.SKIPPED:
            assert before.reprompted
            assert after.answers == before.answers
        if move == "late":
            assert after.state is ResponseState.EXPIRED
            assert after.answers == before.answers


@settings(max_examples=examples(60), suppress_health_check=[HealthCheck.filter_too_much])
@given(
    definition=surveys(),
    data=st.data(),
    runs=st.lists(st.lists(REPLIES, max_size=8), min_size=1, max_size=6),
)
def test_the_results_count_exactly_the_stored_responses(
    definition: SurveyDefinition, data: st.DataObject, runs: list[list[str]]
) -> None:
    stored = [_run(definition, data, moves)[0] for moves in runs]

    results = summarise(
        definition,
        (
            RecordedResponse(r.disposition(), {q: a.value for q, a in r.answers.items()})
            for r in stored
            if r.disposition() is not None
        ),
    )

    assert results.responses == len(stored)
    assert sum(results.dispositions.values()) == len(stored)
    for disposition, count in results.dispositions.items():
        assert count == sum(1 for r in stored if r.disposition() is disposition)
    for tally in results.questions:
        assert tally.answered == sum(1 for r in stored if tally.question_id in r.answers)
