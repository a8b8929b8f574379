"""One person's response to a survey, as a state machine: what each reply, send outcome and
passing hour does to it. Pure: the survey conversation, the sender's survey kind and the
timer sweep call these and store what they return (``reach.data.survey_responses``).

States (``ResponseState``):

- ``waiting``: the phone is answering another survey of the tenant; this one goes when that
  one finishes or expires (one survey at a time per phone and tenant, so two surveys'
  questions never interleave).
- ``queued``: its first question is with the send path, which holds it to quiet hours, the
  caps and the number's pace. The response is not "sent" yet.
- ``asked``: a question went out and waits for its answer. Expiry counts from ``asked_at``,
  when that question actually went, never from when it was queued or held.
- ``completed``, ``stopped`` (STOP mid-survey), ``expired`` (no answer within
  ``expires_after`` of the last question): finished.
- ``unsent``: the first question never went (opted out, skipped, failed). Not a response:
  the person was never asked, so it counts in no disposition.

Each reply to an ``asked`` response is read against its waiting question
(``survey_answers.read_answer``):

- an answer is recorded and the survey moves on by the question's rules: the next question
  is sent at once (the person is texting), or, after the last one, ``thanks``;
- the first invalid answer to a question gets one re-prompt saying what is expected; a second
  one records nothing and moves on as if unanswered;
- a reply at or after the deadline expires the response and gets "this survey has closed",
  once; it is never recorded as an answer.

A ``callback`` choice asks the organisation to call the person back (``Step.callback``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from reach.domain.survey_answers import Answer, next_question, read_answer
from reach.domain.survey_results import Disposition
from reach.domain.surveys import (
    END,
    AnswerValue,
    QuestionType,
    SurveyDefinition,
    base_language,
    render_question,
)


class ResponseState(StrEnum):
    WAITING = "waiting"
    QUEUED = "queued"
    ASKED = "asked"
    COMPLETED = "completed"
    STOPPED = "stopped"
    EXPIRED = "expired"
    UNSENT = "unsent"


#: States a response never leaves.
FINISHED = frozenset(
    {ResponseState.COMPLETED, ResponseState.STOPPED, ResponseState.EXPIRED, ResponseState.UNSENT}
)
#: States in which a reply may be an answer (a queued response's first question may have gone
#: out and be answered before the sweep has seen the send recorded).
ANSWERABLE = frozenset({ResponseState.QUEUED, ResponseState.ASKED})

#: "This survey has closed", per language: the one text a late reply gets.
CLOSED_TEXTS = {
    "en": "Sorry, this survey has closed. Thank you for your time.",
    "es": "Lo sentimos, esta encuesta ya se cerró. Gracias por su tiempo.",
    "fr": "Désolé, ce sondage est terminé. Merci de votre temps.",
}
#: What precedes a reminder of the waiting question (``nudge_after``).
NUDGE_PREFIX = {
    "en": "Reminder: ",
    "es": "Recordatorio: ",
    "fr": "Rappel : ",
}
#: Said after the last answer when the survey has no ``thanks`` of its own.
DEFAULT_THANKS = {
    "en": "Thank you for your answers.",
    "es": "Gracias por sus respuestas.",
    "fr": "Merci pour vos réponses.",
}


@dataclass(frozen=True)
class RecordedAnswer:
    """One stored answer: a choice's key, a scale's integer, or free text (cut and flagged
    ``truncated`` when over the limit)."""

    value: AnswerValue
    at: datetime
    truncated: bool = False


@dataclass(frozen=True)
class SurveyResponse:
    """One person's response to one survey (``response_id`` is unique within the survey)."""

    tenant_id: str
    survey_id: str
    response_id: str
    phone: str
    state: ResponseState
    #: What sent it: ``list:<list_id>``, ``appointment:<appointment_id>``.
    origin: str
    created_at: datetime
    #: When its first question may go (a trigger's delay); a waiting response goes no sooner.
    send_after: datetime
    #: The question waiting for an answer (the first one until it is answered).
    question_id: str
    #: Whether the waiting question has had its one re-prompt.
    reprompted: bool = False
    #: Answers by question id, in the order given.
    answers: Mapping[str, RecordedAnswer] = field(default_factory=dict)
    #: When the waiting question went out (None: not yet, or not known to have).
    asked_at: datetime | None = None
    #: Whether the waiting question's one reminder has been sent for.
    nudged: bool = False
    #: Whether a late reply has had its "this survey has closed".
    closed_told: bool = False
    finished_at: datetime | None = None
    #: Why an unsent response never went (the send path's reason).
    unsent_reason: str | None = None
    version: int = 0
    #: What the send path recorded of the first question: when it went, or why it did not
    #: (the timer sweep then moves the response on: ``settle_first``).
    first_sent_at: datetime | None = None
    first_outcome: str | None = None
    #: The last reply that changed it (its inbound id and received time), what it was
    #: answered and the callback it asked for: a retried reply finds its effect here and
    #: answers the same again, and a reply older than it changes nothing.
    last_reply_id: str | None = None
    last_reply_at: datetime | None = None
    last_reply_text: str | None = None
    last_reply_callback: str | None = None
    #: The respondent's IANA zone, when known at the start (a list member's, an
    #: appointment's): quiet hours are judged in it, else in the tenant's.
    timezone: str | None = None

    @property
    def thread_id(self) -> str:
        """The id its texts, both ways, are filed and looked up under."""
        return response_thread_id(self.survey_id, self.response_id)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def deadline(self, definition: SurveyDefinition) -> datetime | None:
        """When the waiting question's response expires; None until it went out."""
        if self.finished or self.asked_at is None:
            return None
        return self.asked_at + definition.expiry()

    def nudge_at(self, definition: SurveyDefinition) -> datetime | None:
        """When the waiting question's one reminder is due; None if none is (any more)."""
        nudge = definition.nudge()
        if nudge is None or self.nudged or self.asked_at is None or self.finished:
            return None
        return self.asked_at + nudge

    def next_timer(self, definition: SurveyDefinition) -> datetime | None:
        """The next moment the sweep must look at it: a nudge or the expiry."""
        times = [t for t in (self.nudge_at(definition), self.deadline(definition)) if t]
        return min(times) if times else None

    def disposition(self) -> Disposition | None:
        """Its one disposition in the results; None while it was never sent (waiting,
        queued, unsent)."""
        if self.state is ResponseState.ASKED:
            return Disposition.STARTED if self.answers else Disposition.SENT
        if self.state is ResponseState.EXPIRED:
            return Disposition.PARTIAL if self.answers else Disposition.EXPIRED
        if self.state is ResponseState.COMPLETED:
            return Disposition.COMPLETED
        if self.state is ResponseState.STOPPED:
            return Disposition.STOPPED
        return None


def response_thread_id(survey_id: str, response_id: str) -> str:
    return f"survey#{survey_id}#{response_id}"


def response_of_thread(thread_id: str) -> tuple[str, str] | None:
    """(survey id, response id) of a ``response_thread_id``; None for any other id."""
    kind, _, rest = thread_id.partition("#")
    survey_id, _, response_id = rest.partition("#")
    if kind != "survey" or not survey_id or not response_id or "#" in response_id:
        return None
    return survey_id, response_id


class Outcome(StrEnum):
    """What a reply did to the response."""

    RECORDED = "recorded"
    REPROMPTED = "reprompted"
    #: A second invalid answer: nothing recorded, the survey moved on.
    SKIPPED = "skipped"
    #: Too late: the response expired (now or before); nothing recorded.
    CLOSED = "closed"


@dataclass(frozen=True)
class Step:
    """A reply applied: the response after it, what to text back (None: nothing), and what
    else it asks for."""

    response: SurveyResponse
    outcome: Outcome
    text: str | None
    #: The answer recorded, if one was.
    answer: Answer | None = None
    #: The question id whose chosen answer asks for a callback.
    callback: str | None = None

    @property
    def completed(self) -> bool:
        return self.outcome in (Outcome.RECORDED, Outcome.SKIPPED) and (
            self.response.state is ResponseState.COMPLETED
        )


def settle_first(response: SurveyResponse, now: datetime) -> SurveyResponse:
    """A queued response moved on by what the send path recorded of its first question:
    asked from when it went, or unsent with the path's reason; unchanged until either."""
    if response.state is not ResponseState.QUEUED:
        return response
    if response.first_sent_at is not None:
        return first_sent(response, response.first_sent_at)
    if response.first_outcome is not None:
        return unsent(response, response.first_outcome, now)
    return response


def reply(response: SurveyResponse, definition: SurveyDefinition, text: str, now: datetime) -> Step:
    """Apply one reply (not STOP, START or HELP: those never get here) received at ``now``."""
    language = base_language(definition.language)
    response = settle_first(response, now)
    if response.state not in ANSWERABLE:
        return _closed(response, language)
    deadline = response.deadline(definition)
    if deadline is not None and now >= deadline:
        return _closed(expire(response, now), language)
    question = definition.question(response.question_id)
    read = read_answer(question, text, language)
    if isinstance(read, Answer):
        recorded = RecordedAnswer(read.value, now, read.truncated)
        answers = {**response.answers, question.id: recorded}
        moved = _move_on(replace(response, answers=answers), definition, read.value, now)
        action = next((c.action for c in question.choices if c.key == read.value), None)
        return Step(
            moved.response,
            Outcome.RECORDED,
            moved.text,
            answer=read,
            callback=question.id if action == "callback" else None,
        )
    if not response.reprompted:
        again = replace(response, reprompted=True, asked_at=now, version=response.version + 1)
        return Step(again, Outcome.REPROMPTED, read.reprompt)
    moved = _move_on(response, definition, None, now)
    return Step(moved.response, Outcome.SKIPPED, moved.text)


@dataclass(frozen=True)
class _Moved:
    response: SurveyResponse
    text: str


def _move_on(
    response: SurveyResponse,
    definition: SurveyDefinition,
    answer: AnswerValue | None,
    now: datetime,
) -> _Moved:
    following = next_question(definition, response.question_id, answer)
    language = base_language(definition.language)
    if following == END:
        done = replace(
            response,
            state=ResponseState.COMPLETED,
            finished_at=now,
            reprompted=False,
            version=response.version + 1,
        )
        return _Moved(done, definition.thanks or DEFAULT_THANKS[language])
    asked = replace(
        response,
        state=ResponseState.ASKED,
        question_id=following,
        reprompted=False,
        nudged=False,
        asked_at=now,
        version=response.version + 1,
    )
    return _Moved(asked, render_question(definition, definition.question(following)))


def _closed(response: SurveyResponse, language: str) -> Step:
    """A reply to a finished response: "closed" once for an expired one, else nothing."""
    if response.state is not ResponseState.EXPIRED or response.closed_told:
        return Step(response, Outcome.CLOSED, None)
    told = replace(response, closed_told=True, version=response.version + 1)
    return Step(told, Outcome.CLOSED, CLOSED_TEXTS[language])


def first_sent(response: SurveyResponse, at: datetime) -> SurveyResponse:
    """The first question went out at ``at`` (the send path recorded it)."""
    if response.state is not ResponseState.QUEUED:
        return response
    return replace(response, state=ResponseState.ASKED, asked_at=at, version=response.version + 1)


def unsent(response: SurveyResponse, reason: str, now: datetime) -> SurveyResponse:
    """The first question will never go (skipped, failed, cancelled): the response ends
    without having been a response."""
    if response.state is not ResponseState.QUEUED:
        return response
    return replace(
        response,
        state=ResponseState.UNSENT,
        unsent_reason=reason,
        finished_at=now,
        version=response.version + 1,
    )


def stop(response: SurveyResponse, now: datetime) -> SurveyResponse:
    """STOP mid-survey (or an opt-out from anywhere): the survey ends ``stopped`` if it had
    gone out; a response whose question never went ends unsent."""
    if response.finished:
        return response
    if response.state in (ResponseState.WAITING, ResponseState.QUEUED):
        return unsent(replace(response, state=ResponseState.QUEUED), "opted_out", now)
    return replace(
        response, state=ResponseState.STOPPED, finished_at=now, version=response.version + 1
    )


def expire(response: SurveyResponse, now: datetime) -> SurveyResponse:
    """The response expired (its deadline passed); nothing else changes."""
    if response.finished:
        return response
    return replace(
        response, state=ResponseState.EXPIRED, finished_at=now, version=response.version + 1
    )


def due_expiry(
    response: SurveyResponse, definition: SurveyDefinition, now: datetime
) -> SurveyResponse | None:
    """The response expired, if its deadline has passed by ``now``; None otherwise."""
    deadline = response.deadline(definition)
    if deadline is None or now < deadline:
        return None
    return expire(response, now)


def nudged(response: SurveyResponse) -> SurveyResponse:
    """The waiting question's one reminder was written to go."""
    return replace(response, nudged=True, version=response.version + 1)


def nudge_text(definition: SurveyDefinition, question_id: str) -> str:
    """The reminder of a waiting question: the question again, marked as a reminder."""
    language = base_language(definition.language)
    return NUDGE_PREFIX[language] + render_question(definition, definition.question(question_id))


def answers_for_event(
    response: SurveyResponse, definition: SurveyDefinition
) -> dict[str, AnswerValue]:
    """The choice and scale answers by question id, for ``SurveyCompleted``: never free text,
    which may hold anything the person wrote."""
    kept: dict[str, AnswerValue] = {}
    for question in definition.questions:
        answer = response.answers.get(question.id)
        if answer is not None and question.type is not QuestionType.TEXT:
            kept[question.id] = answer.value
    return kept


#: How long a queued first question is given before the sweep looks whether the send path
#: has settled it (a hold through quiet hours or the caps can last most of a day).
QUEUED_CHECK = timedelta(hours=1)
