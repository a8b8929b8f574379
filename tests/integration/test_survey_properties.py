"""Surveys stored under moto, whatever the replies: valid, invalid, STOP and late ones through
the real inbound service, the timer sweep expiring what waited too long, and a phone with two
surveys. After every step: one survey at a time per phone (the lane's), nothing recorded
once a response finished, and the results count exactly the stored responses."""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import CLINIC_NUMBER, FIXED_START, survey_body
from conftest import examples
from reach.data.survey_responses import SurveyResponses, parse_ref
from reach.data.surveys import SurveyRepository
from reach.domain.inbound import InboundSms, parse_inbound
from reach.domain.survey_flow import ResponseState, SurveyResponse, first_sent
from reach.domain.surveys import Survey, check_survey, survey_from_dict
from reach.services.survey_results import SurveyResultsService
from reach.services.survey_timers import SurveyTimers
from reach.wiring import build_inbound
from reach_tools.demo_clock import DemoClock

_examples = itertools.count(1)
_inbound_ids = itertools.count(1)

#: What a person may text: valid answers for each question type, answers no question reads,
#: free text, and the opt-out.
REPLIES = st.sampled_from(["7", "2", "10", "1", "yes", "Call me", "maybe", "", "It was fine"])
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("reply"), st.integers(0, 1), REPLIES),
        st.tuples(st.just("stop"), st.integers(0, 1), st.just("STOP")),
        st.tuples(st.just("late"), st.just(0), st.just("")),
    ),
    max_size=12,
)


def _received(phone: str, body: str) -> InboundSms:
    parsed = parse_inbound(
        {
            "originationNumber": phone,
            "destinationNumber": CLINIC_NUMBER,
            "messageKeyword": "",
            "messageBody": body or "?",
            "inboundMessageId": f"in-prop-{next(_inbound_ids):08d}",
            "previousPublishedMessageId": "",
        }
    )
    assert isinstance(parsed, InboundSms)
    return parsed


def _send_waiting_first_questions(store: SurveyResponses, tenant_id: str, phones, clock) -> None:
    """What the sender and the sweep do for a lane's queued response: its first question goes
    out now (a promoted survey, or one just started)."""
    for phone in phones:
        active = store.lane(tenant_id, phone).active
        response = store.by_ref(tenant_id, active) if active else None
        if response is not None and response.state is ResponseState.QUEUED:
            sent = first_sent(response, clock())
            assert store.save(sent, response.version, None)


def _all(store: SurveyResponses, tenant_id: str, survey_ids) -> list[SurveyResponse]:
    return [r for survey_id in survey_ids for r in store.each(tenant_id, survey_id)]


@settings(
    max_examples=examples(12),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
def test_surveys_stay_one_at_a_time_record_nothing_once_finished_and_count_true(
    aws, clinic, sms, events, steps
) -> None:
    n = next(_examples)
    clock = DemoClock(FIXED_START)
    inbound = build_inbound(aws.settings, clock=clock, sleep=clock.sleep, sms=sms, events=events)
    store = SurveyResponses(aws.settings.due_shards)
    surveys = SurveyRepository()
    timers = SurveyTimers(store, surveys.get)
    results = SurveyResultsService(surveys, store)
    tenant_id = clinic.tenant_id
    survey_ids = (f"srv_p{n}a", f"srv_p{n}b")
    for survey_id in survey_ids:
        definition = check_survey(survey_from_dict(survey_body(expires_after="PT24H")))
        surveys.create(Survey(tenant_id, survey_id, definition, clock()))
    phones = (f"+1206555{n:04d}", f"+1312555{n:04d}")
    # The first phone is sent both surveys: the second waits behind the first.
    starts = [(survey_ids[0], phones[0]), (survey_ids[1], phones[0]), (survey_ids[0], phones[1])]
    for k, (survey_id, phone) in enumerate(starts):
        store.start(
            SurveyResponse(
                tenant_id=tenant_id,
                survey_id=survey_id,
                response_id=f"r_{k}",
                phone=phone,
                state=ResponseState.QUEUED,
                origin="list:l_1",
                created_at=clock(),
                send_after=clock(),
                question_id="nps",
            ),
            clock(),
        )
    _send_waiting_first_questions(store, tenant_id, phones, clock)

    for action, who, body in steps:
        before = {(r.survey_id, r.response_id): r for r in _all(store, tenant_id, survey_ids)}
        if action == "late":
            clock.advance(timedelta(hours=25))
            timers.step(clock())
        else:
            clock.advance(timedelta(minutes=1))
            inbound.receive(_received(phones[who], body), clock())
        _send_waiting_first_questions(store, tenant_id, phones, clock)
        after = _all(store, tenant_id, survey_ids)
        _finished_stay_put(before, after)
        for phone in phones:
            _one_at_a_time(store, tenant_id, phone, after)
    for survey_id in survey_ids:
        _counted_true(results, store, tenant_id, survey_id)


def _finished_stay_put(before, after) -> None:
    for response in after:
        earlier = before[(response.survey_id, response.response_id)]
        if earlier.finished:
            # Finished: nothing recorded, nothing moved.
            assert response.answers == earlier.answers
            assert response.state is earlier.state


def _one_at_a_time(store, tenant_id: str, phone: str, after) -> None:
    """At most one of the phone's surveys is being asked, and it is the lane's."""
    answering = [
        r
        for r in after
        if r.phone == phone and not r.finished and r.state is not ResponseState.WAITING
    ]
    assert len(answering) <= 1, answering
    active = store.lane(tenant_id, phone).active
    if answering:
        assert active is not None
        assert parse_ref(active) == (answering[0].survey_id, answering[0].response_id)


def _counted_true(results, store, tenant_id: str, survey_id: str) -> None:
    stored = list(store.each(tenant_id, survey_id))
    counted = results.results(tenant_id, survey_id).summary
    assert counted.responses == sum(1 for r in stored if r.disposition() is not None)
    for disposition, count in counted.dispositions.items():
        assert count == sum(1 for r in stored if r.disposition() is disposition)
    for tally in counted.questions:
        assert tally.answered == sum(1 for r in stored if tally.question_id in r.answers)
