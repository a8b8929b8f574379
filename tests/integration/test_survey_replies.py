"""Answers to a survey through the inbound pipeline under moto: reading each answer, the next
question, re-prompts, thanks, late replies, STOP/HELP/START mid-survey, replays, routing
between two responses and against an open appointment, and what goes on the bus."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from builders import CLINIC_NUMBER, FIXED_START, PATIENT, book, current, survey_body
from reach.data.callbacks import CallbackRepository
from reach.data.messages import MessageRepository
from reach.data.survey_responses import SurveyResponses
from reach.data.surveys import SurveyRepository
from reach.data.tables import PROVIDER_MESSAGE_SK, ProviderMessageItem, provider_message_pk
from reach.domain.conversation_texts import SurveyAnswer
from reach.domain.inbound import InboundSms, parse_inbound
from reach.domain.message import Message, MessageKind, MessageStatus, Thread
from reach.domain.models import AppointmentStatus
from reach.domain.survey_flow import (
    CLOSED_TEXTS,
    ResponseState,
    SurveyResponse,
    expire,
    first_sent,
    response_thread_id,
)
from reach.domain.surveys import Survey, check_survey, survey_from_dict
from reach.ports.events import EventType
from reach.ports.sms import SmsThrottled
from reach.services.inbound import ReplyOutcome
from reach.services.replies import AnswerRetryLater
from reach.wiring import build_inbound
from reach_tools.demo_clock import DemoClock

SURVEY = "srv_visit"
_ids = itertools.count(1)


@pytest.fixture
def clock() -> DemoClock:
    return DemoClock(FIXED_START)


@pytest.fixture
def inbound(aws, clock, sms, events):
    return build_inbound(aws.settings, clock=clock, sleep=clock.sleep, sms=sms, events=events)


@pytest.fixture
def store(aws) -> SurveyResponses:
    return SurveyResponses(aws.settings.due_shards)


@pytest.fixture
def survey(aws, clinic, clock) -> Survey:
    return define(clinic.tenant_id, SURVEY, clock)


def define(tenant_id: str, survey_id: str, clock, **changes) -> Survey:
    definition = check_survey(survey_from_dict(survey_body(**changes)))
    return SurveyRepository().create(Survey(tenant_id, survey_id, definition, clock()))


def asked(store, clinic, clock, *, survey_id=SURVEY, response_id="r_1", phone=PATIENT):
    """A response whose first question went out now (as the send path and sweep leave it)."""
    response = SurveyResponse(
        tenant_id=clinic.tenant_id,
        survey_id=survey_id,
        response_id=response_id,
        phone=phone,
        state=ResponseState.QUEUED,
        origin="appointment:a_1",
        created_at=clock(),
        send_after=clock(),
        question_id="nps",
    )
    started = store.start(response, clock())
    if started.response.state is ResponseState.QUEUED:
        sent = first_sent(started.response, clock())
        assert store.save(sent, started.response.version, None)
    return store.get(clinic.tenant_id, survey_id, response_id)


def sms_from(body, *, inbound_id=None, previous=None, phone=PATIENT) -> InboundSms:
    parsed = parse_inbound(
        {
            "originationNumber": phone,
            "destinationNumber": CLINIC_NUMBER,
            "messageKeyword": "",
            "messageBody": body,
            "inboundMessageId": inbound_id or f"in-{next(_ids):06d}-s",
            "previousPublishedMessageId": previous or "",
        }
    )
    assert isinstance(parsed, InboundSms), parsed
    return parsed


def text(inbound, clock, body, *, at=None, **kwargs):
    clock.advance(timedelta(minutes=1))
    return inbound.receive(sms_from(body, **kwargs), at or clock())


def answers(sms):
    return [m.body for m in sms.sent_to(PATIENT)]


def stored(store, clinic, response_id="r_1", survey_id=SURVEY):
    return store.get(clinic.tenant_id, survey_id, response_id)


def remember_sent(tenant_id: str, thread_id: str, provider_message_id: str) -> None:
    """The provider-id lookup the sender writes with each text it sends."""
    ProviderMessageItem(
        pk=provider_message_pk(provider_message_id),
        sk=PROVIDER_MESSAGE_SK,
        tenant_id=tenant_id,
        appointment_id=thread_id,
        message_id=f"msg_{provider_message_id}",
        message_sk="message#x",
    ).save()


# --- reading answers ----------------------------------------------------------------------


@pytest.mark.parametrize("body", ["7/10", "seven", "Seven!", " 7 "])
def test_a_scale_answer_is_read_as_a_number_or_number_word_and_the_next_question_follows(
    aws, clinic, clock, inbound, store, survey, sms, body
):
    asked(store, clinic, clock)

    result = text(inbound, clock, body)

    assert (result.outcome, result.answer) == (ReplyOutcome.APPLIED, SurveyAnswer.QUESTION)
    response = stored(store, clinic)
    assert response.answers["nps"].value == 7
    assert (response.state, response.question_id) == (ResponseState.ASKED, "on_time")
    assert clock() - response.asked_at < timedelta(seconds=1)  # when the reply came
    [question] = answers(sms)
    assert question.startswith("Was the technician on time?")


@pytest.mark.parametrize("body", ["1", "yes", "YES!", "Yes."])
def test_a_choice_answer_matches_its_key_or_label_in_any_case_and_with_punctuation(
    aws, clinic, clock, inbound, store, survey, sms, events, body
):
    asked(store, clinic, clock)
    text(inbound, clock, "9")

    result = text(inbound, clock, body)

    response = stored(store, clinic)
    assert response.answers["on_time"].value == "1"
    assert response.state is ResponseState.COMPLETED
    assert result.answer is SurveyAnswer.THANKS
    assert answers(sms)[-1] == "Thank you for your answers!"


def test_a_free_text_answer_over_500_characters_is_stored_cut_and_flagged(
    aws, clinic, clock, inbound, store, survey
):
    asked(store, clinic, clock)
    text(inbound, clock, "3")

    text(inbound, clock, "x" * 600)

    why = stored(store, clinic).answers["why"]
    assert (len(str(why.value)), why.truncated) == (500, True)


def test_an_invalid_answer_gets_one_reprompt_then_a_second_records_none_and_moves_on(
    aws, clinic, clock, inbound, store, survey, sms
):
    asked(store, clinic, clock)

    first = text(inbound, clock, "purple")
    second = text(inbound, clock, "purple again")

    assert first.answer is SurveyAnswer.REPROMPT
    assert "0-10" in answers(sms)[0] or "0 to 10" in answers(sms)[0]
    assert second.answer is SurveyAnswer.QUESTION
    response = stored(store, clinic)
    assert "nps" not in response.answers
    assert response.question_id == "on_time"


# --- completion and the bus ---------------------------------------------------------------


def test_survey_completed_carries_choice_and_scale_answers_and_never_free_text(
    aws, clinic, clock, inbound, store, survey, events
):
    asked(store, clinic, clock)
    for body in ("4", "My knee still hurts after the visit", "2", "nothing else"):
        text(inbound, clock, body)

    (completed,) = [e for e in events.events if e.type is EventType.SURVEY_COMPLETED]
    detail = completed.detail()
    assert detail["survey_id"] == SURVEY
    assert detail["response_id"] == "r_1"
    assert detail["tenant_id"] == clinic.tenant_id
    assert detail["answers"] == {"nps": 4, "on_time": "2"}
    assert "knee" not in repr(detail)
    assert "nothing else" not in repr(detail)
    assert stored(store, clinic).state is ResponseState.COMPLETED
    # The lane is free for the phone's next survey
    assert store.lane(clinic.tenant_id, PATIENT).active is None


def test_the_callback_choice_opens_one_callback_request_and_tells_the_clinic(
    aws, clinic, clock, inbound, store, survey, events
):
    asked(store, clinic, clock)
    text(inbound, clock, "9")

    result = text(inbound, clock, "Call me")

    assert result.callback_id is not None
    callback = CallbackRepository().get_callback(clinic.tenant_id, result.callback_id)
    assert (callback.phone, callback.appointment_id, callback.status) == (PATIENT, "a_1", "open")
    assert EventType.CALLBACK_REQUESTED in [e.type for e in events.events]
    assert stored(store, clinic).answers["on_time"].value == "3"


# --- late replies -------------------------------------------------------------------------


def test_a_late_reply_gets_one_closed_text_and_is_not_recorded(
    aws, clinic, clock, inbound, store, survey, sms, events
):
    asked(store, clinic, clock)
    clock.advance(timedelta(hours=25))

    late = text(inbound, clock, "9")
    later = text(inbound, clock, "10")

    assert (late.outcome, late.answer) == (ReplyOutcome.CLOSED, SurveyAnswer.CLOSED)
    # The second late reply answers nothing (the closed text went once); it is read as any
    # reply about nothing open
    assert answers(sms)[0] == CLOSED_TEXTS["en"]
    assert answers(sms).count(CLOSED_TEXTS["en"]) == 1
    response = stored(store, clinic)
    assert response.state is ResponseState.EXPIRED
    assert response.answers == {}
    assert later.appointment_id is None
    assert not [e for e in events.events if e.type is EventType.SURVEY_COMPLETED]


def test_a_reply_to_a_survey_the_sweep_expired_gets_one_closed_text(
    aws, clinic, clock, inbound, store, survey, sms
):
    response = asked(store, clinic, clock)
    clock.advance(timedelta(hours=25))
    assert store.finish(expire(response, clock()), response.version, clock()).written

    late = text(inbound, clock, "9")
    again = text(inbound, clock, "9")

    assert late.answer is SurveyAnswer.CLOSED
    assert again.answer is not SurveyAnswer.CLOSED
    assert answers(sms).count(CLOSED_TEXTS["en"]) == 1
    assert stored(store, clinic).answers == {}


# --- STOP, HELP, START mid-survey -----------------------------------------------------------


@pytest.mark.parametrize("body", ["STOP", "stop please", "please stop texting me"])
def test_stop_mid_survey_ends_it_stopped_and_its_waiting_surveys_unsent(
    aws, clinic, clock, inbound, store, survey, sms, body
):
    define(clinic.tenant_id, "srv_other", clock)
    asked(store, clinic, clock)
    asked(store, clinic, clock, survey_id="srv_other", response_id="r_2")
    text(inbound, clock, "9")

    result = text(inbound, clock, body)
    after = text(inbound, clock, "1")

    assert result.outcome is ReplyOutcome.CONSENT
    assert stored(store, clinic).state is ResponseState.STOPPED
    waiting = stored(store, clinic, "r_2", "srv_other")
    assert (waiting.state, waiting.unsent_reason) == (ResponseState.UNSENT, "opted_out")
    lane = store.lane(clinic.tenant_id, PATIENT)
    assert (lane.active, lane.waiting) == (None, ())
    # No further question: the reply after STOP is no answer and nothing goes to them
    assert "on_time" not in stored(store, clinic).answers
    assert after.answer_status != MessageStatus.SENT.value
    assert not any("technician" in body for body in answers(sms)[1:])


def test_help_mid_survey_is_answered_and_the_survey_waits(
    aws, clinic, clock, inbound, store, survey, sms
):
    asked(store, clinic, clock)

    helped = text(inbound, clock, "HELP")
    answered = text(inbound, clock, "8")

    assert helped.outcome is ReplyOutcome.HELP
    assert stored(store, clinic).answers["nps"].value == 8
    assert answered.answer is SurveyAnswer.QUESTION


def test_start_after_stop_does_not_revive_a_stopped_survey(
    aws, clinic, clock, inbound, store, survey, sms
):
    asked(store, clinic, clock)
    text(inbound, clock, "STOP")

    text(inbound, clock, "START")
    after = text(inbound, clock, "9")

    assert stored(store, clinic).state is ResponseState.STOPPED
    assert stored(store, clinic).answers == {}
    assert after.answer not in set(SurveyAnswer)


# --- replays and races ----------------------------------------------------------------------


def test_a_replayed_message_records_one_answer_and_sends_one_text(
    aws, clinic, clock, inbound, store, survey, sms, events
):
    asked(store, clinic, clock)
    at = clock()

    first = inbound.receive(sms_from("9", inbound_id="in-replayed"), at)
    version = stored(store, clinic).version
    clock.advance(timedelta(minutes=2))
    again = inbound.receive(sms_from("9", inbound_id="in-replayed"), at)

    assert (first.outcome, first.answer) == (again.outcome, again.answer)
    assert stored(store, clinic).version == version
    assert stored(store, clinic).question_id == "on_time"
    assert len(answers(sms)) == 1


def test_a_message_retried_after_its_answer_failed_answers_the_same_question_once(
    aws, clinic, clock, inbound, store, survey, sms, events
):
    asked(store, clinic, clock)
    text(inbound, clock, "9")
    at = clock() + timedelta(minutes=1)
    sms.fail_next(SmsThrottled("throttled"))

    with pytest.raises(AnswerRetryLater):
        inbound.receive(sms_from("1", inbound_id="in-retried"), at)
    assert stored(store, clinic).state is ResponseState.COMPLETED
    clock.advance(timedelta(minutes=5))

    inbound.receive(sms_from("1", inbound_id="in-retried"), at)
    inbound.receive(sms_from("1", inbound_id="in-retried"), at)

    completed = [e for e in events.events if e.type is EventType.SURVEY_COMPLETED]
    assert len({e.event_id for e in completed}) == 1
    assert answers(sms).count("Thank you for your answers!") == 1
    assert stored(store, clinic).answers["on_time"].value == "1"


def test_a_reply_older_than_the_last_one_recorded_changes_nothing(
    aws, clinic, clock, inbound, store, survey, sms
):
    asked(store, clinic, clock)
    earlier = clock() + timedelta(seconds=30)
    text(inbound, clock, "9")

    stale = inbound.receive(sms_from("2"), earlier)

    assert stale.outcome is ReplyOutcome.SUPERSEDED
    assert "on_time" not in stored(store, clinic).answers


# --- routing --------------------------------------------------------------------------------


def test_a_reply_referencing_one_of_two_responses_goes_to_that_one(
    aws, clinic, clock, inbound, store, survey, sms
):
    define(clinic.tenant_id, "srv_other", clock)
    asked(store, clinic, clock)
    later = asked(store, clinic, clock, survey_id="srv_other", response_id="r_2")
    assert later.state is ResponseState.WAITING
    # The first one expired and the second was asked after it
    first = stored(store, clinic)
    clock.advance(timedelta(hours=25))
    finished = store.finish(expire(first, clock()), first.version, clock())
    promoted = finished.promoted
    assert promoted is not None
    assert store.save(first_sent(promoted, clock()), promoted.version, None)
    remember_sent(clinic.tenant_id, response_thread_id(SURVEY, "r_1"), "sns-first")

    late = text(inbound, clock, "9", previous="sns-first")
    current_one = text(inbound, clock, "9")

    assert late.answer is SurveyAnswer.CLOSED
    assert late.appointment_id == response_thread_id(SURVEY, "r_1")
    assert current_one.appointment_id == response_thread_id("srv_other", "r_2")
    assert stored(store, clinic, "r_2", "srv_other").answers["nps"].value == 9
    assert stored(store, clinic).answers == {}


def _reminder_sent(clinic, appointment_id, at):
    MessageRepository().add(
        Thread(clinic.tenant_id, appointment_id, PATIENT),
        Message(
            message_id=f"msg_reminder_{at.timestamp():.0f}",
            kind=MessageKind.REMINDER,
            phone=PATIENT,
            body="reminder",
            status=MessageStatus.SENT,
            created_at=at,
            updated_at=at,
        ),
    )


def test_a_survey_asked_after_the_reminder_gets_the_bare_reply(
    aws, clinic, clock, inbound, store, survey
):
    visit = book(aws, clinic, clock=clock)
    _reminder_sent(clinic, visit.appointment_id, clock() - timedelta(hours=1))
    asked(store, clinic, clock)

    result = text(inbound, clock, "1")

    assert result.appointment_id == response_thread_id(SURVEY, "r_1")
    assert stored(store, clinic).answers["nps"].value == 1
    assert current(aws, visit).status is AppointmentStatus.SCHEDULED


def test_a_reminder_sent_after_the_survey_gets_the_bare_reply(
    aws, clinic, clock, inbound, store, survey
):
    visit = book(aws, clinic, clock=clock)
    asked(store, clinic, clock)
    clock.advance(timedelta(minutes=10))
    _reminder_sent(clinic, visit.appointment_id, clock())

    result = text(inbound, clock, "1")

    assert result.appointment_id == visit.appointment_id
    assert current(aws, visit).status is AppointmentStatus.CONFIRMED
    assert stored(store, clinic).answers == {}


def test_a_survey_whose_first_question_is_still_held_takes_no_reply(
    aws, clinic, clock, inbound, store, survey
):
    response = SurveyResponse(
        tenant_id=clinic.tenant_id,
        survey_id=SURVEY,
        response_id="r_1",
        phone=PATIENT,
        state=ResponseState.QUEUED,
        origin="list:l_1",
        created_at=clock(),
        send_after=clock(),
        question_id="nps",
    )
    store.start(response, clock())

    result = text(inbound, clock, "9")

    assert (result.outcome, result.appointment_id) == (ReplyOutcome.UNKNOWN, None)
    assert stored(store, clinic).answers == {}


def test_a_phone_never_surveyed_costs_one_lane_read(aws, clinic, clock, inbound, survey):
    from reach.data.survey_items import LaneItem

    reads = []
    original = LaneItem.get

    def counted(*args, **kwargs):
        reads.append(args)
        return original(*args, **kwargs)

    LaneItem.get = counted  # type: ignore[method-assign]
    try:
        result = text(inbound, clock, "hello")
    finally:
        LaneItem.get = original  # type: ignore[method-assign]

    assert result.outcome is ReplyOutcome.UNKNOWN
    assert len(reads) == 1
