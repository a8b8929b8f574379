"""Two-way replies end to end under moto: routing, consent, matching, intents, callbacks,
events and answers, with replays, reordering and a second tenant sharing the recipient."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from builders import (
    CLINIC_NUMBER,
    FIXED_START,
    NEW_YORK,
    PATIENT,
    book,
    current,
    new_tenant,
)
from reach.data.appointments import AppointmentRepository
from reach.data.callbacks import CallbackRepository
from reach.data.contacts import ContactRepository
from reach.data.messages import MessageRepository
from reach.data.numbers import NumberRepository
from reach.data.pacing import Gates
from reach.data.survey_responses import SurveyResponses
from reach.data.surveys import SurveyRepository
from reach.data.tables import PROVIDER_MESSAGE_SK, ProviderMessageItem, provider_message_pk
from reach.data.tenants import TenantRepository
from reach.domain.conversation_texts import ReplyKind
from reach.domain.inbound import InboundSms, parse_inbound
from reach.domain.message import Message, MessageKind, MessageStatus, Thread
from reach.domain.models import AppointmentStatus
from reach.domain.replies import ReplyIntent
from reach.ports.events import EventType
from reach.ports.sms import SmsThrottled
from reach.services.consent import ConsentService
from reach.services.inbound import InboundService, ReplyOutcome
from reach.services.inbound.conversations import CONVERSATION_KINDS
from reach.services.inbound.kind import Collaborators, Conversation, Evidence
from reach.services.inbound.reply import AnswerText, Response
from reach.services.replies import KEYWORD_ANSWERS_PER_DAY, AnswerRetryLater, ReplySender
from reach.wiring import build_inbound
from reach_tools.demo_clock import DemoClock

OTHER_NUMBER = "+12025550199"
_ids = itertools.count(1)


@pytest.fixture
def clock() -> DemoClock:
    """A fixed start, so that the dates these tests' answers name are known."""
    return DemoClock(FIXED_START)


@pytest.fixture
def other_clinic(aws):
    return new_tenant(aws, "Hillside Dental", number=OTHER_NUMBER)


@pytest.fixture
def inbound(aws, clock, sms, events) -> InboundService:
    return build_inbound(aws.settings, clock=clock, sleep=clock.sleep, sms=sms, events=events)


def reply(
    body: str,
    *,
    to: str = CLINIC_NUMBER,
    phone: str = PATIENT,
    inbound_id: str | None = None,
    previous: str | None = None,
) -> InboundSms:
    parsed = parse_inbound(
        {
            "originationNumber": phone,
            "destinationNumber": to,
            "messageKeyword": "",
            "messageBody": body,
            "inboundMessageId": inbound_id or f"in-{next(_ids):06d}-x",
            "previousPublishedMessageId": previous or "",
        }
    )
    assert isinstance(parsed, InboundSms), parsed
    return parsed


def receive(inbound, clock, body, **kwargs):
    return inbound.receive(reply(body, **kwargs), clock())


def remember_sent(tenant_id: str, appointment_id: str, provider_message_id: str) -> None:
    """The provider-id lookup the sender writes with each reminder it sends."""
    ProviderMessageItem(
        pk=provider_message_pk(provider_message_id),
        sk=PROVIDER_MESSAGE_SK,
        tenant_id=tenant_id,
        appointment_id=appointment_id,
        message_id=f"msg_{provider_message_id}",
        message_sk="message#x",
    ).save()


def answers_to(sms, phone=PATIENT):
    return [m.body for m in sms.sent_to(phone)]


# --- intents ---------------------------------------------------------------------------


def test_a_confirmation_confirms_the_appointment_tells_the_clinic_and_answers(
    aws, clinic, clock, inbound, sms, events
):
    visit = book(aws, clinic, clock=clock)

    result = receive(inbound, clock, "1")

    assert (result.outcome, result.intent) == (ReplyOutcome.APPLIED, ReplyIntent.CONFIRM)
    after = current(aws, visit)
    assert after.status is AppointmentStatus.CONFIRMED
    assert after.version == visit.version + 1
    # The reminder plan is untouched: a confirmed patient still gets the day-before text
    assert [r.status for r in after.reminders] == [MessageStatus.PENDING]
    [event] = events.events
    assert event.type is EventType.APPOINTMENT_CONFIRMED
    assert event.ids["appointment_id"] == visit.appointment_id
    assert "body" not in event.detail()
    [answer] = answers_to(sms)
    assert "confirmed" in answer
    assert "Riverside Family Clinic" in answer
    # Both directions are in the appointment's conversation, in order
    thread = MessageRepository().thread(Thread(clinic.tenant_id, visit.appointment_id, PATIENT))
    assert [(m.direction, m.status, m.intent) for m in thread] == [
        ("inbound", "received", "confirm"),
        ("outbound", "sent", ReplyKind.CONFIRMED.value),
    ]
    assert thread[0].body == "1"


@pytest.mark.parametrize(
    ("body", "status", "event_type"),
    [
        ("2", AppointmentStatus.RESCHEDULE_REQUESTED, EventType.RESCHEDULE_REQUESTED),
        ("R", AppointmentStatus.RESCHEDULE_REQUESTED, EventType.RESCHEDULE_REQUESTED),
        ("3", AppointmentStatus.CANCELLED, EventType.APPOINTMENT_CANCELLED),
        ("x", AppointmentStatus.CANCELLED, EventType.APPOINTMENT_CANCELLED),
        ("Yes!", AppointmentStatus.CONFIRMED, EventType.APPOINTMENT_CONFIRMED),
        ("Sí", AppointmentStatus.CONFIRMED, EventType.APPOINTMENT_CONFIRMED),
    ],
)
def test_each_appointment_intent_sets_its_status_and_event(
    aws, clinic, clock, inbound, sms, events, body, status, event_type
):
    visit = book(aws, clinic, clock=clock)

    receive(inbound, clock, body)

    assert current(aws, visit).status is status
    assert [e.type for e in events.events] == [event_type]
    assert len(answers_to(sms)) == 1


def test_cancelling_the_appointment_by_reply_retires_its_reminders_but_keeps_consent(
    aws, clinic, clock, inbound, sms
):
    visit = book(aws, clinic, clock=clock)

    receive(inbound, clock, "3")

    after = current(aws, visit)
    assert after.status is AppointmentStatus.CANCELLED
    assert [(r.status, r.reason) for r in after.reminders] == [
        (MessageStatus.CANCELLED, "cancelled_by_recipient")
    ]
    assert ContactRepository().get(clinic.tenant_id, PATIENT).opted_out is False
    assert "cancelled" in answers_to(sms)[0]


def test_the_word_cancel_opts_out_and_leaves_the_appointment_alone(
    aws, clinic, clock, inbound, sms
):
    visit = book(aws, clinic, clock=clock)

    result = receive(inbound, clock, "CANCEL")

    assert result.intent is ReplyIntent.OPT_OUT
    assert current(aws, visit).status is AppointmentStatus.SCHEDULED
    assert ContactRepository().get(clinic.tenant_id, PATIENT).opted_out is True


def test_running_late_records_the_minutes_and_tells_the_clinic(
    aws, clinic, clock, inbound, sms, events
):
    visit = book(aws, clinic, clock=clock, days=0, hour=11)  # 11:00 today, it is 10:00 in New York

    receive(inbound, clock, "running late, 15 min")

    assert current(aws, visit).late_minutes == 15
    [event] = events.of_type(EventType.RUNNING_LATE)
    assert event.data["minutes_late"] == 15
    assert "15 min" in answers_to(sms)[0]


def test_a_reply_to_a_closed_appointment_changes_nothing_and_says_to_call(
    aws, clinic, clock, inbound, sms, events
):
    visit = book(aws, clinic, clock=clock)
    receive(inbound, clock, "3")
    clock.advance(timedelta(minutes=5))

    result = receive(inbound, clock, "1", previous=None)

    # The cancelled visit is no longer a candidate: there is nothing open to confirm
    assert result.outcome is ReplyOutcome.NO_APPOINTMENT
    assert current(aws, visit).status is AppointmentStatus.CANCELLED
    assert "call" in answers_to(sms)[-1].lower()


def test_a_reply_naming_a_closed_appointment_is_told_it_is_closed(
    aws, clinic, clock, inbound, sms, events
):
    visit = book(aws, clinic, clock=clock)
    aws.appointments.cancel(clinic.tenant_id, visit.appointment_id)
    # A reminder for it went out earlier: its provider id names the appointment
    remember_sent(clinic.tenant_id, visit.appointment_id, "sns-msg-1")

    result = receive(inbound, clock, "1", previous="sns-msg-1")

    assert result.outcome is ReplyOutcome.CLOSED
    assert result.appointment_id == visit.appointment_id
    assert "can't be changed" in answers_to(sms)[-1]
    assert events.events == []


# --- replays and order -----------------------------------------------------------------


def test_a_replayed_reply_changes_nothing_twice_and_answers_once(
    aws, clinic, clock, inbound, sms, events
):
    visit = book(aws, clinic, clock=clock)
    message = reply("1", inbound_id="in-replayed")
    at = clock()

    inbound.receive(message, at)
    clock.advance(timedelta(minutes=3))
    again = inbound.receive(message, at)

    assert again.outcome is ReplyOutcome.APPLIED
    assert current(aws, visit).version == visit.version + 1
    assert len(answers_to(sms)) == 1
    # The event may be published again (at least once), always under the same id
    assert len({e.event_id for e in events.events}) == 1


def test_an_older_reply_arriving_late_does_not_undo_a_newer_one(
    aws, clinic, clock, inbound, sms, events
):
    visit = book(aws, clinic, clock=clock)
    confirm_sent_at = clock()
    reschedule_sent_at = confirm_sent_at + timedelta(minutes=2)

    # The later "2" is delivered first, the earlier "1" after it
    inbound.receive(reply("2"), reschedule_sent_at)
    late = inbound.receive(reply("1"), confirm_sent_at)

    assert late.outcome is ReplyOutcome.SUPERSEDED
    assert current(aws, visit).status is AppointmentStatus.RESCHEDULE_REQUESTED
    assert [e.type for e in events.events] == [EventType.RESCHEDULE_REQUESTED]
    assert len(answers_to(sms)) == 1


def test_a_retried_answer_is_sent_once_after_a_throttled_first_try(
    aws, clinic, clock, inbound, sms
):
    visit = book(aws, clinic, clock=clock)
    message = reply("1")
    at = clock()
    sms.fail_next(SmsThrottled("throttled"))

    with pytest.raises(AnswerRetryLater):
        inbound.receive(message, at)
    # The appointment changed; the answer waits for the message's retry
    assert current(aws, visit).status is AppointmentStatus.CONFIRMED
    assert answers_to(sms) == []

    inbound.receive(message, at)
    inbound.receive(message, at)

    assert len(answers_to(sms)) == 1


# --- consent ---------------------------------------------------------------------------


def test_stop_opts_out_skips_pending_reminders_and_sends_one_confirmation(
    aws, clinic, clock, inbound, sms, events
):
    first = book(aws, clinic, clock=clock, days=3)
    second = book(aws, clinic, clock=clock, days=10)

    result = receive(inbound, clock, "STOP")

    assert result.answer is ReplyKind.OPTED_OUT
    contact = ContactRepository().get(clinic.tenant_id, PATIENT)
    assert (contact.opted_out, contact.consent_source) == (True, "sms:STOP")
    for visit in (first, second):
        assert [(r.status, r.reason) for r in current(aws, visit).reminders] == [
            (MessageStatus.SKIPPED, "opted_out")
        ]
    [confirmation] = answers_to(sms)
    assert "START" in confirmation
    assert [e.type for e in events.events] == [EventType.OPTED_OUT]


def test_two_stops_in_the_same_second_opt_out_once_and_are_each_confirmed(
    aws, clinic, clock, inbound, sms, events
):
    # Found by the property test: the second STOP matched the first's source and time and was
    # taken for a retry of it, and published OptedOut again. Only a retry of the same message
    # is one; the second is a STOP of its own, and every STOP is confirmed (issue #17 item 8).
    book(aws, clinic, clock=clock)
    at = clock()

    first = inbound.receive(reply("STOP"), at)
    second = inbound.receive(reply("STOP"), at)

    assert (first.answer, second.answer) == (ReplyKind.OPTED_OUT, ReplyKind.OPTED_OUT)
    assert len(answers_to(sms)) == 2
    assert [e.type for e in events.events] == [EventType.OPTED_OUT]


# --- HELP and STOP are answered whatever the consent (docs/facts.md#help-and-stop) ----------


def opt_out(inbound, clock):
    """The recipient texts STOP, and a minute passes."""
    receive(inbound, clock, "STOP")
    clock.advance(timedelta(minutes=1))


def test_help_from_an_opted_out_number_gets_the_help_text(aws, clinic, clock, inbound, sms):
    # Given a recipient who opted out
    opt_out(inbound, clock)

    # When they ask for HELP
    result = receive(inbound, clock, "HELP")

    # Then they get the program's HELP answer, and stay opted out
    assert (result.outcome, result.answer, result.answer_status) == (
        ReplyOutcome.HELP,
        ReplyKind.HELP,
        MessageStatus.SENT,
    )
    _confirmation, help_text = answers_to(sms)
    assert "Riverside Family Clinic" in help_text
    assert "Msg & data rates may apply" in help_text
    assert ContactRepository().get(clinic.tenant_id, PATIENT).opted_out is True


def test_a_second_stop_from_an_opted_out_number_gets_a_confirmation_and_no_second_event(
    aws, clinic, clock, inbound, sms, events
):
    # Given a recipient who opted out a minute ago
    opt_out(inbound, clock)

    # When they text STOP again ("did it work?")
    again = receive(inbound, clock, "stop")

    # Then they are told again that they are opted out; the clinic hears of one opt-out
    assert (again.answer, again.answer_status) == (ReplyKind.OPTED_OUT, MessageStatus.SENT)
    first, second = answers_to(sms)
    assert first == second
    assert "START" in second
    assert [e.type for e in events.events] == [EventType.OPTED_OUT]
    contact = ContactRepository().get(clinic.tenant_id, PATIENT)
    assert (contact.opted_out, contact.consent_source) == (True, "sms:STOP")


def test_a_stop_from_a_number_opted_out_through_the_api_is_confirmed(
    aws, clinic, clock, inbound, sms, events
):
    # Given a recipient the clinic opted out through the API (no text was sent then)
    ConsentService(
        ContactRepository(), AppointmentRepository(aws.settings.due_shards), events, clock
    ).opt_out(clinic.tenant_id, PATIENT, "api", clock(), cause={"request_id": "req-1"})
    clock.advance(timedelta(minutes=1))

    # When they text STOP
    result = receive(inbound, clock, "STOP")

    # Then the STOP is confirmed
    assert result.answer is ReplyKind.OPTED_OUT
    [confirmation] = answers_to(sms)
    assert "START" in confirmation


@pytest.mark.parametrize(
    ("body", "kind"), [("HELP", ReplyKind.HELP), ("STOP", ReplyKind.OPTED_OUT)]
)
def test_a_replayed_help_or_stop_from_an_opted_out_number_is_answered_once(
    aws, clinic, clock, inbound, sms, body, kind
):
    # Given an opted-out recipient whose HELP or STOP was answered
    opt_out(inbound, clock)
    message, at = reply(body), clock()
    first = inbound.receive(message, at)
    contact = ContactRepository().get(clinic.tenant_id, PATIENT)

    # When the same inbound message is delivered again, later
    clock.advance(timedelta(minutes=5))
    replayed = inbound.receive(message, at)

    # Then nothing more is sent, and the day's count of answers is unchanged
    assert first.answer is replayed.answer is kind
    assert len(answers_to(sms)) == 2
    assert ContactRepository().get(clinic.tenant_id, PATIENT) == contact


def test_the_daily_limit_stops_help_and_stop_answers_until_the_next_local_day(
    aws, clinic, clock, inbound, sms
):
    # Given an opted-out recipient (its confirmation is the day's first answer) at 10:00 in
    # New York, whose HELP and second STOP were answered: three answers today
    opt_out(inbound, clock)
    receive(inbound, clock, "HELP")
    receive(inbound, clock, "STOP")
    assert len(answers_to(sms)) == KEYWORD_ANSWERS_PER_DAY == 3

    # When a fourth HELP comes the same day, and another after midnight UTC (20:00 in New York)
    fourth = receive(inbound, clock, "HELP")
    clock.advance(timedelta(hours=10))
    evening = receive(inbound, clock, "HELP")

    # Then neither is answered; both are stored as skipped for the clinic to see
    assert (fourth.answer_status, evening.answer_status) == (MessageStatus.SKIPPED,) * 2
    assert len(answers_to(sms)) == 3
    own = Thread(clinic.tenant_id, None, PATIENT)
    skipped = [m for m in MessageRepository().thread(own) if m.status == MessageStatus.SKIPPED]
    assert [(m.intent, m.reason) for m in skipped] == [(ReplyKind.HELP.value, "daily_limit")] * 2

    # And on the next local day (00:05 in New York) HELP is answered again
    clock.advance(timedelta(hours=4, minutes=5))
    next_day = receive(inbound, clock, "HELP")
    assert next_day.answer_status == MessageStatus.SENT
    assert len(answers_to(sms)) == 4


def test_the_confirmation_of_a_new_opt_out_goes_even_past_the_daily_limit(
    aws, clinic, clock, inbound, sms
):
    # Given a subscribed recipient whose three HELPs today were answered
    for _ in range(KEYWORD_ANSWERS_PER_DAY):
        receive(inbound, clock, "HELP")
    limited = receive(inbound, clock, "HELP")
    assert limited.answer_status == MessageStatus.SKIPPED

    # When they opt out
    result = receive(inbound, clock, "STOP")

    # Then the opt-out is confirmed all the same: the limit is for repeats, not for this
    assert result.answer_status == MessageStatus.SENT
    assert "START" in answers_to(sms)[-1]
    assert len(answers_to(sms)) == KEYWORD_ANSWERS_PER_DAY + 1


@pytest.mark.parametrize("body", ["1", "what time is it?", "call me", "late 10", "A"])
def test_a_non_keyword_text_from_an_opted_out_number_gets_nothing(
    aws, clinic, clock, inbound, sms, body
):
    # Given an opted-out recipient with an upcoming appointment
    book(aws, clinic, clock=clock)
    opt_out(inbound, clock)

    # When they text anything but HELP or STOP
    result = receive(inbound, clock, body)

    # Then no answer reaches them: only the opt-out's confirmation was ever sent
    assert result.answer_status in (None, MessageStatus.SKIPPED)
    assert len(answers_to(sms)) == 1


def test_a_stop_older_than_a_later_start_is_not_confirmed(aws, clinic, clock, inbound, sms):
    # Given a recipient who texted START at 10:01, delivered first
    book(aws, clinic, clock=clock)
    start_at = clock()
    inbound.receive(reply("START"), start_at)

    # When their STOP of 10:00 arrives late
    result = inbound.receive(reply("STOP"), start_at - timedelta(minutes=1))

    # Then the START stands, and confirming an opt-out that did not happen would mislead
    assert ContactRepository().get(clinic.tenant_id, PATIENT).opted_out is False
    assert result.answer is None
    assert len(answers_to(sms)) == 1


def test_a_stop_whose_confirmation_failed_is_confirmed_on_its_retry(
    aws, clinic, clock, inbound, sms, events
):
    book(aws, clinic, clock=clock)
    message, at = reply("STOP"), clock()
    sms.fail_next(SmsThrottled("throttled"))

    with pytest.raises(AnswerRetryLater):
        inbound.receive(message, at)
    assert ContactRepository().get(clinic.tenant_id, PATIENT).opted_out is True
    assert answers_to(sms) == []

    retried = inbound.receive(message, at)

    assert retried.answer is ReplyKind.OPTED_OUT
    [confirmation] = answers_to(sms)
    assert "START" in confirmation
    # The event again under the same id, for the clinic to deduplicate
    published = [e.event_id for e in events.events if e.type is EventType.OPTED_OUT]
    assert len(published) == 2
    assert len(set(published)) == 1


def test_a_start_in_the_same_second_as_a_stop_leaves_the_recipient_opted_out(
    aws, clinic, clock, inbound, sms
):
    book(aws, clinic, clock=clock)
    at = clock()

    inbound.receive(reply("STOP"), at)
    result = inbound.receive(reply("START"), at)

    # Their order is unknown; opting out wins a tie
    assert ContactRepository().get(clinic.tenant_id, PATIENT).opted_out is True
    assert result.answer is None
    assert len(answers_to(sms)) == 1


@pytest.mark.parametrize(
    "body",
    [
        "Stop. Thank you",
        "please stop texting me",
        "UNSUBSCRIBE me",
        # Issue #17 item 7: revocations beyond the keywords, in three languages
        "Please take me off your list",
        "lose my number",
        "Déjenme en paz por favor",
        "ne me contactez plus, merci",
        "unsubcribe",
    ],
)
def test_free_text_revocation_opts_out(aws, clinic, clock, inbound, sms, body):
    visit = book(aws, clinic, clock=clock)

    result = receive(inbound, clock, body)

    assert result.intent is ReplyIntent.OPT_OUT
    assert ContactRepository().get(clinic.tenant_id, PATIENT).opted_out is True
    assert len(answers_to(sms)) == 1
    # A revocation withdraws consent; the visit itself stays booked
    assert current(aws, visit).status is AppointmentStatus.SCHEDULED


@pytest.mark.parametrize("body", ["I'll stop by at 3", "I'm at the bus stop"])
def test_stop_in_another_sense_opts_out_but_never_cancels_the_appointment(
    aws, clinic, clock, inbound, sms, events, body
):
    # Given a booked visit, and a reply using "stop" in another sense
    visit = book(aws, clinic, clock=clock)

    # When it arrives
    result = receive(inbound, clock, body)

    # Then it is deliberately read as a revocation (the FCC names "stop"), and nothing more:
    # the visit is still booked, and only the opt-out is published
    assert result.intent is ReplyIntent.OPT_OUT
    assert current(aws, visit).status is AppointmentStatus.SCHEDULED
    assert [e.type for e in events.events] == [EventType.OPTED_OUT]


@pytest.mark.parametrize(
    "body",
    [
        "Can we move my appointment to another day?",
        "necesito cambiar la hora",
        "Est-ce qu'on peut décaler le rendez-vous ?",
    ],
)
def test_free_text_reschedule_requests_a_new_time_in_three_languages(
    aws, clinic, clock, inbound, sms, events, body
):
    visit = book(aws, clinic, clock=clock)

    result = receive(inbound, clock, body)

    assert result.intent is ReplyIntent.RESCHEDULE
    assert current(aws, visit).status is AppointmentStatus.RESCHEDULE_REQUESTED
    assert [e.type for e in events.events] == [EventType.RESCHEDULE_REQUESTED]
    assert ContactRepository().get(clinic.tenant_id, PATIENT).opted_out is False


def test_start_restores_consent_and_the_reminders_still_ahead(
    aws, clinic, clock, inbound, sms, events
):
    visit = book(aws, clinic, clock=clock, days=5)
    receive(inbound, clock, "STOP")
    clock.advance(timedelta(hours=1))

    result = receive(inbound, clock, "START")

    assert result.answer is ReplyKind.OPTED_IN
    assert ContactRepository().get(clinic.tenant_id, PATIENT).opted_out is False
    [reminder] = current(aws, visit).reminders
    assert (reminder.status, reminder.reason) == (MessageStatus.PENDING, "resumed_opt_in")
    assert [e.type for e in events.events] == [EventType.OPTED_OUT, EventType.OPTED_IN]
    assert len(answers_to(sms)) == 2


def test_a_start_older_than_a_stop_leaves_the_recipient_opted_out(aws, clinic, clock, inbound, sms):
    book(aws, clinic, clock=clock)
    stop_at = clock()

    inbound.receive(reply("STOP"), stop_at)
    result = inbound.receive(reply("START"), stop_at - timedelta(minutes=1))

    assert ContactRepository().get(clinic.tenant_id, PATIENT).opted_out is True
    assert result.answer is None
    assert len(answers_to(sms)) == 1


def test_help_names_the_brand_contact_frequency_rates_and_how_to_stop(
    aws, clinic, clock, inbound, sms
):
    result = receive(inbound, clock, "help")

    assert result.outcome is ReplyOutcome.HELP
    [text] = answers_to(sms)
    for piece in (
        "Riverside Family Clinic",
        "(202) 555-0143",
        "frequency",
        "Msg & data rates may apply",
        "STOP",
    ):
        assert piece in text


# --- matching --------------------------------------------------------------------------


def test_a_reply_to_a_reminder_applies_to_that_reminders_appointment(
    aws, clinic, clock, inbound, sms
):
    first = book(aws, clinic, clock=clock, days=3)
    second = book(aws, clinic, clock=clock, days=4)
    remember_sent(clinic.tenant_id, second.appointment_id, "sns-for-second")

    result = receive(inbound, clock, "1", previous="sns-for-second")

    assert result.appointment_id == second.appointment_id
    assert current(aws, second).status is AppointmentStatus.CONFIRMED
    assert current(aws, first).status is AppointmentStatus.SCHEDULED


def test_two_equally_likely_appointments_are_asked_about_then_the_choice_applies(
    aws, clinic, clock, inbound, sms, events
):
    first = book(aws, clinic, clock=clock, days=3)
    second = book(aws, clinic, clock=clock, days=4)

    asked = receive(inbound, clock, "2")
    assert asked.outcome is ReplyOutcome.ASKED
    question = answers_to(sms)[-1]
    assert "A)" in question
    assert "B)" in question
    assert events.events == []
    assert current(aws, first).status is AppointmentStatus.SCHEDULED

    clock.advance(timedelta(minutes=4))
    chosen = receive(inbound, clock, "b")

    assert chosen.outcome is ReplyOutcome.APPLIED
    assert chosen.appointment_id == second.appointment_id
    assert current(aws, second).status is AppointmentStatus.RESCHEDULE_REQUESTED
    assert current(aws, first).status is AppointmentStatus.SCHEDULED

    # The conversation now continues about the chosen one: a bare reply applies to it
    clock.advance(timedelta(minutes=4))
    follow_up = receive(inbound, clock, "1")
    assert follow_up.appointment_id == second.appointment_id


def test_a_choice_letter_with_a_new_answer_applies_that_answer(aws, clinic, clock, inbound, sms):
    first = book(aws, clinic, clock=clock, days=3)
    second = book(aws, clinic, clock=clock, days=4)
    receive(inbound, clock, "1")
    clock.advance(timedelta(minutes=1))

    result = receive(inbound, clock, "a: 3")

    assert result.appointment_id == first.appointment_id
    assert current(aws, first).status is AppointmentStatus.CANCELLED
    assert current(aws, second).status is AppointmentStatus.SCHEDULED
    # A letter that was not offered is just text
    clock.advance(timedelta(minutes=1))
    assert receive(inbound, clock, "Z").intent is ReplyIntent.UNKNOWN


def test_the_appointment_texted_last_is_the_one_a_bare_reply_is_about(
    aws, clinic, clock, inbound, sms
):
    book(aws, clinic, clock=clock, days=3)
    second = book(aws, clinic, clock=clock, days=4)
    MessageRepository().add(
        Thread(clinic.tenant_id, second.appointment_id, PATIENT),
        Message(
            message_id="msg_reminder",
            kind=MessageKind.REMINDER,
            phone=PATIENT,
            body="reminder",
            status=MessageStatus.SENT,
            created_at=clock() - timedelta(hours=1),
            updated_at=clock() - timedelta(hours=1),
        ),
    )

    result = receive(inbound, clock, "1")

    assert result.outcome is ReplyOutcome.APPLIED
    assert result.appointment_id == second.appointment_id


def test_no_open_appointment_gets_a_call_us_answer(aws, clinic, clock, inbound, sms):
    result = receive(inbound, clock, "1")

    assert result.outcome is ReplyOutcome.NO_APPOINTMENT
    assert "(202) 555-0143" in answers_to(sms)[0]


def test_a_reply_to_an_unknown_number_is_dropped_without_an_answer(
    aws, clinic, clock, inbound, sms
):
    result = receive(inbound, clock, "1", to="+12025550100")

    assert result.outcome is ReplyOutcome.UNROUTABLE
    assert sms.attempts == []


def test_a_reply_to_tenant_a_never_touches_tenant_bs_appointment_for_the_same_phone(
    aws, clinic, other_clinic, clock, inbound, sms, events
):
    mine = book(aws, clinic, clock=clock)
    theirs = book(aws, other_clinic, clock=clock)
    # Even a reference to tenant B's message, sent to tenant A's number, is not followed
    remember_sent(other_clinic.tenant_id, theirs.appointment_id, "sns-of-b")

    receive(inbound, clock, "3", previous="sns-of-b")
    receive(inbound, clock, "STOP")

    assert current(aws, mine).status is AppointmentStatus.CANCELLED
    assert current(aws, theirs).status is AppointmentStatus.SCHEDULED
    assert [r.status for r in current(aws, theirs).reminders] == [MessageStatus.PENDING]
    assert ContactRepository().get(other_clinic.tenant_id, PATIENT).opted_out is False
    assert {e.tenant_id for e in events.events} == {clinic.tenant_id}


# --- unknown text and callbacks ----------------------------------------------------------


def test_unknown_text_is_stored_for_the_clinic_and_answered_once(
    aws, clinic, clock, inbound, sms, events
):
    visit = book(aws, clinic, clock=clock)

    first = receive(inbound, clock, "Is there parking near you?")
    clock.advance(timedelta(minutes=1))
    second = receive(inbound, clock, "hello??")

    assert (first.answer, second.answer) == (ReplyKind.UNKNOWN, None)
    assert len(answers_to(sms)) == 1
    assert [e.type for e in events.events] == [EventType.REPLY_RECEIVED] * 2
    thread = MessageRepository().thread(Thread(clinic.tenant_id, visit.appointment_id, PATIENT))
    assert [m.body for m in thread if m.direction == "inbound"] == [
        "Is there parking near you?",
        "hello??",
    ]

    # A recognised reply in between earns the next unknown one an answer again
    clock.advance(timedelta(minutes=1))
    receive(inbound, clock, "1")
    clock.advance(timedelta(minutes=1))
    third = receive(inbound, clock, "thanks so much")
    assert third.answer is ReplyKind.UNKNOWN


def test_call_me_opens_one_callback_request_and_says_when_to_expect_the_call(
    aws, clinic, clock, inbound, sms, events
):
    visit = book(aws, clinic, clock=clock)

    first = receive(inbound, clock, "call me")
    clock.advance(timedelta(minutes=2))
    second = receive(inbound, clock, "CALL")

    assert first.callback_id == second.callback_id
    callbacks = CallbackRepository().callbacks(clinic.tenant_id, "open", 10, None).items
    [callback] = callbacks
    assert callback.appointment_id == visit.appointment_id
    assert callback.phone == PATIENT
    assert callback.expected_by == callback.requested_at + timedelta(hours=2)
    [event] = events.of_type(EventType.CALLBACK_REQUESTED)
    assert event.ids["callback_id"] == callback.callback_id
    assert all("call you" in text for text in answers_to(sms))

    # Once the clinic closes it, a new request opens a new one
    CallbackRepository().close_callback(
        clinic.tenant_id, callback.callback_id, "reached", None, clock()
    )
    clock.advance(timedelta(minutes=2))
    third = receive(inbound, clock, "call me please")
    assert third.callback_id != first.callback_id


def test_a_callback_asked_for_at_night_is_promised_after_quiet_hours(
    aws, clinic, clock, inbound, sms
):
    clock.set(datetime(2026, 12, 2, 3, 30, tzinfo=UTC))  # 22:30 in New York

    result = receive(inbound, clock, "call me")

    callback = CallbackRepository().get_callback(clinic.tenant_id, result.callback_id or "")
    assert callback.expected_by == datetime(2026, 12, 2, 10, 0, tzinfo=NEW_YORK)


def test_a_tenants_own_reply_words_work_beside_the_defaults(aws, clinic, clock, inbound, sms):
    visit = book(aws, clinic, clock=clock)
    aws.admin.update_tenant(clinic.tenant_id, reply_keywords={"confirm": ("sounds good",)})

    result = receive(inbound, clock, "Sounds good!")

    assert result.intent is ReplyIntent.CONFIRM
    assert current(aws, visit).status is AppointmentStatus.CONFIRMED
    # STOP stays an opt-out whatever the tenant adds
    clock.advance(timedelta(minutes=1))
    assert receive(inbound, clock, "stop").intent is ReplyIntent.OPT_OUT


def test_stop_and_help_are_filed_in_the_conversation_of_the_appointment_they_answer(
    aws, clinic, clock, inbound, sms
):
    visit = book(aws, clinic, clock=clock)
    remember_sent(clinic.tenant_id, visit.appointment_id, "sns-reminder")

    receive(inbound, clock, "HELP", previous="sns-reminder")
    clock.advance(timedelta(minutes=1))
    receive(inbound, clock, "STOP")

    thread = MessageRepository().thread(Thread(clinic.tenant_id, visit.appointment_id, PATIENT))
    assert [(m.direction, m.intent) for m in thread] == [
        ("inbound", "help"),
        ("outbound", ReplyKind.HELP.value),
        ("inbound", "opt_out"),
        ("outbound", ReplyKind.OPTED_OUT.value),
    ]


# --- a second conversation kind ----------------------------------------------------------


class SurveyAnswers:
    """A conversation kind as the next one would be added: claims replies to its own
    messages, answers with its own text, tells the clinic (a ``ConversationKind``)."""

    def __init__(self, collaborators: Collaborators) -> None:
        self.stores = collaborators  # a real kind reads its stores from here

    def locate(self, reply, referenced, pending):
        if referenced is not None and referenced.appointment_id.startswith("survey-"):
            # Filed in the recipient's own thread: no appointment is about it
            survey = referenced.appointment_id
            return Conversation(Evidence.REFERENCED, subject=survey, subject_id=None)
        return None

    def handle(self, reply, conversation):
        assert conversation.subject == "survey-7"
        answered = reply.event(EventType.REPLY_RECEIVED, {}, {})
        thanks = AnswerText(ReplyKind.CONFIRMED, "Thanks for rating your visit")
        return Response(ReplyOutcome.APPLIED, answer=thanks, events=(answered,))


@pytest.fixture
def with_surveys(aws, clock, sms, events):
    """The inbound service with one more kind registered after the appointment one."""
    contacts, messages = ContactRepository(), MessageRepository()
    appointments = AppointmentRepository(aws.settings.due_shards)
    answers = ReplySender(
        sms=sms,
        gates=Gates(NumberRepository(aws.settings.throughput), clock, clock.sleep),
        messages=messages,
        contacts=contacts,
        clock=clock,
        origination_identity=aws.settings.origination_identity,
        configuration_set=None,
    )
    return InboundService(
        tenants=TenantRepository(),
        appointments=appointments,
        contacts=contacts,
        messages=messages,
        callbacks=CallbackRepository(),
        answers=answers,
        events=events,
        consent=ConsentService(contacts, appointments, events, clock),
        clock=clock,
        surveys=SurveyRepository(),
        responses=SurveyResponses(aws.settings.due_shards),
        kinds=(*CONVERSATION_KINDS, SurveyAnswers),
    )


def test_a_registered_kind_gets_the_replies_to_its_messages_and_appointments_keep_theirs(
    aws, clinic, clock, with_surveys, sms, events
):
    visit = book(aws, clinic, clock=clock)
    remember_sent(clinic.tenant_id, "survey-7", "sns-survey")

    rated = receive(with_surveys, clock, "5", previous="sns-survey")
    clock.advance(timedelta(minutes=1))
    confirmed = receive(with_surveys, clock, "1")

    assert (rated.outcome, rated.answer) == (ReplyOutcome.APPLIED, ReplyKind.CONFIRMED)
    assert answers_to(sms)[0] == "Thanks for rating your visit"
    assert [e.type for e in events.events] == [
        EventType.REPLY_RECEIVED,
        EventType.APPOINTMENT_CONFIRMED,
    ]
    assert confirmed.appointment_id == visit.appointment_id
    assert current(aws, visit).status is AppointmentStatus.CONFIRMED


def test_stop_comes_before_every_kind(aws, clinic, clock, with_surveys, sms):
    remember_sent(clinic.tenant_id, "survey-7", "sns-survey")

    result = receive(with_surveys, clock, "STOP", previous="sns-survey")

    assert (result.outcome, result.intent) == (ReplyOutcome.CONSENT, ReplyIntent.OPT_OUT)
    assert ContactRepository().get(clinic.tenant_id, PATIENT).opted_out is True
    [confirmation] = answers_to(sms)
    assert "START" in confirmation
