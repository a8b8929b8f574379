"""Answers to a survey: the reply goes to the response waiting for it, is read against its
waiting question, and is answered with the next question, a re-prompt, ``thanks`` or "this
survey has closed" (``reach.domain.survey_flow`` decides; this kind reads and stores).

**Locate.** The response whose text the reply answers (``previousPublishedMessageId`` names
a message filed in the response's thread, of this tenant and phone), else the one the
phone's survey lane is answering, or the last one finished when it expired and has not had
its "closed" text. The lane is one GetItem; a phone never surveyed costs that one read. A
response whose first question has not gone out yet (held for quiet hours) waits on nothing,
so a reply then is not taken as its answer. The router weighs an open question of a survey
against an appointment's by when each was asked (``Conversation.asked_at``).

**Apply** with the response's version (conditional write); a lost race re-reads and decides
again once, then the message is retried (``AnswerRetryLater``: SQS redelivers). A finished
response (completed, or expired by a late reply) frees the phone's lane and starts its next
waiting survey (``SurveyResponses.finish``). The response remembers the last reply that
changed it, what it was answered and the callback it asked for: a retried message answers
the same again and records nothing twice, and a reply older than it changes nothing.

A ``callback`` choice opens a callback request (the open one is reused). ``SurveyCompleted``
carries the choice and scale answers only: free text may hold anything the person wrote, so
it never goes on the bus, and no body is ever logged here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from reach.data.messages import ProviderMessageRef
from reach.domain.callbacks import Callback
from reach.domain.conversation import PendingChoice
from reach.domain.conversation_texts import SurveyAnswer
from reach.domain.errors import NotFound
from reach.domain.survey_flow import (
    ResponseState,
    Step,
    SurveyResponse,
    answers_for_event,
    response_of_thread,
    settle_first,
)
from reach.domain.survey_flow import reply as apply_reply
from reach.domain.surveys import SurveyDefinition
from reach.ports.events import DomainEvent, EventType
from reach.services.inbound.consent_keywords import CONSENT_INTENTS
from reach.services.inbound.conversations.appointment import callback_by
from reach.services.inbound.kind import Collaborators, Conversation, Evidence
from reach.services.inbound.reply import (
    AnswerText,
    InboundReply,
    ReplyOutcome,
    Response,
    derived_id,
)
from reach.services.replies import AnswerRetryLater

#: Tries at storing a reply's effect: the first, and one after re-reading a response a
#: concurrent writer (the timer sweep, a STOP) changed meanwhile.
STORE_ATTEMPTS = 2

type Found = Conversation[SurveyResponse]


@dataclass(frozen=True)
class _Applied:
    """A reply's effect as stored: the response after it, and whether this reply made it."""

    response: SurveyResponse
    step: Step | None


class SurveyConversation:
    """The survey conversation kind (module docstring): a ``ConversationKind``."""

    def __init__(self, collaborators: Collaborators) -> None:
        self._surveys = collaborators.surveys
        self._responses = collaborators.responses
        self._callbacks = collaborators.callbacks
        self._clock = collaborators.clock
        self._callback_within = collaborators.callback_within

    # --- locate -------------------------------------------------------------------------

    def locate(
        self,
        reply: InboundReply,
        referenced: ProviderMessageRef | None,
        pending: PendingChoice | None,
    ) -> Found | None:
        answered = self._referenced(reply, referenced)
        if answered is not None:
            return _found(Evidence.REFERENCED, answered, reply)
        if reply.intent in CONSENT_INTENTS:
            # Only filed, never answered here: the opt-out reads the lane itself, once.
            return None
        return self._open(reply)

    def _referenced(
        self, reply: InboundReply, referenced: ProviderMessageRef | None
    ) -> SurveyResponse | None:
        """The response whose text the reply answers, if it is this phone's and open."""
        ids = response_of_thread(referenced.appointment_id) if referenced else None
        if ids is None:
            return None
        answered = self._responses.get(reply.tenant.tenant_id, *ids)
        if answered is None or answered.phone != reply.phone or not _takes(answered, reply):
            return None
        return answered

    def _open(self, reply: InboundReply) -> Found | None:
        lane = self._responses.lane(reply.tenant.tenant_id, reply.phone)
        if not lane.exists:
            return None
        for ref in (lane.active, lane.last):
            if ref is None:
                continue
            response = self._responses.by_ref(reply.tenant.tenant_id, ref)
            if response is not None and _takes(response, reply):
                return _found(Evidence.OPEN, response, reply)
        return None

    # --- handle -------------------------------------------------------------------------

    def handle(self, reply: InboundReply, conversation: Found | None) -> Response:
        if conversation is None or conversation.subject is None:
            return Response(ReplyOutcome.UNKNOWN)  # never the first kind: not reached
        found = conversation.subject
        try:
            definition = self._surveys.get(found.tenant_id, found.survey_id).definition
        except NotFound:
            return Response(ReplyOutcome.UNKNOWN, found.thread_id)  # erased meanwhile
        applied = self._apply(reply, found, definition)
        response = applied.response
        if applied.step is None and response.last_reply_id != reply.inbound_id:
            # Older than the reply that last changed it, or it had ended: nothing changes.
            stale = ReplyOutcome.SUPERSEDED if _older(response, reply) else ReplyOutcome.CLOSED
            return Response(stale, response.thread_id)
        return self._respond(reply, response, definition)

    def _apply(
        self, reply: InboundReply, response: SurveyResponse, definition: SurveyDefinition
    ) -> _Applied:
        for _ in range(STORE_ATTEMPTS):
            if response.last_reply_id == reply.inbound_id or _older(response, reply):
                return _Applied(response, None)  # done by this very message before, or stale
            step = apply_reply(response, definition, reply.sms.body, reply.received_at)
            if step.response.version == response.version:
                return _Applied(response, None)  # finished before it: nothing to say
            after = replace(
                step.response,
                last_reply_id=reply.inbound_id,
                last_reply_at=reply.received_at,
                last_reply_text=step.text,
                last_reply_callback=step.callback,
            )
            if self._store(after, response, definition):
                return _Applied(after, step)
            current = self._responses.get(
                response.tenant_id, response.survey_id, response.response_id
            )
            if current is None:
                return _Applied(response, None)
            response = current
        raise AnswerRetryLater(f"survey response {response.response_id} kept changing")

    def _store(
        self, after: SurveyResponse, before: SurveyResponse, definition: SurveyDefinition
    ) -> bool:
        """Write ``after`` if the response is still ``before``; ending it frees its lane."""
        if after.finished and not before.finished:
            return self._responses.finish(after, before.version, self._clock()).written
        return self._responses.save(after, before.version, after.next_timer(definition))

    def _respond(
        self, reply: InboundReply, response: SurveyResponse, definition: SurveyDefinition
    ) -> Response:
        """What this reply's stored effect answers and publishes (again, on a retry)."""
        events: list[DomainEvent] = []
        callback_id = None
        if response.last_reply_callback is not None:
            callback_id, requested = self._callback(reply, response)
            events.extend(requested)
        if response.state is ResponseState.COMPLETED:
            events.append(_completed(reply, response, definition))
        answer = None
        if response.last_reply_text is not None:
            answer = AnswerText(_answer_kind(response), response.last_reply_text)
        outcome = (
            ReplyOutcome.CLOSED if response.state is ResponseState.EXPIRED else ReplyOutcome.APPLIED
        )
        return Response(outcome, response.thread_id, answer, tuple(events), callback_id=callback_id)

    def _callback(
        self, reply: InboundReply, response: SurveyResponse
    ) -> tuple[str, tuple[DomainEvent, ...]]:
        """Open the callback the chosen answer asks for (the open one is reused)."""
        appointment_id = _appointment_of(response)
        requested = Callback(
            tenant_id=reply.tenant.tenant_id,
            callback_id=derived_id("cb", reply.inbound_id),
            phone=reply.phone,
            appointment_id=appointment_id,
            status="open",
            requested_at=reply.received_at,
            expected_by=callback_by(reply.tenant, reply.received_at, self._callback_within),
            inbound_message_id=reply.inbound_id,
        )
        callback, created = self._callbacks.open_callback(requested)
        if not created and callback.inbound_message_id != reply.inbound_id:
            return callback.callback_id, ()
        ids = {"callback_id": callback.callback_id, "survey_id": response.survey_id}
        if appointment_id:
            ids["appointment_id"] = appointment_id
        return callback.callback_id, (reply.event(EventType.CALLBACK_REQUESTED, ids, {}),)


def _takes(response: SurveyResponse, reply: InboundReply) -> bool:
    """Whether a reply can be about ``response``: a question of it is out and waiting, or it
    expired and a late reply is owed its one "closed" text (or this message changed it)."""
    if response.last_reply_id == reply.inbound_id:
        return True
    settled = settle_first(response, reply.received_at)
    if settled.state is ResponseState.ASKED:
        return True
    return settled.state is ResponseState.EXPIRED and not settled.closed_told


def _found(evidence: Evidence, response: SurveyResponse, reply: InboundReply) -> Found:
    settled = settle_first(response, reply.received_at)
    return Conversation(evidence, response, response.thread_id, asked_at=settled.asked_at)


def _older(response: SurveyResponse, reply: InboundReply) -> bool:
    return response.last_reply_at is not None and reply.received_at < response.last_reply_at


def _answer_kind(response: SurveyResponse) -> SurveyAnswer:
    if response.state is ResponseState.EXPIRED:
        return SurveyAnswer.CLOSED
    if response.state is ResponseState.COMPLETED:
        return SurveyAnswer.THANKS
    if response.reprompted:
        return SurveyAnswer.REPROMPT
    return SurveyAnswer.QUESTION


def _appointment_of(response: SurveyResponse) -> str | None:
    """The appointment a visit's survey follows (its ``origin``), for the callback."""
    kind, _, ref = response.origin.partition(":")
    return ref if kind == "appointment" and ref else None


def _completed(
    reply: InboundReply, response: SurveyResponse, definition: SurveyDefinition
) -> DomainEvent:
    """``SurveyCompleted``: choice and scale answers by question id, never free text."""
    ids = {"survey_id": response.survey_id, "response_id": response.response_id}
    return reply.event(
        EventType.SURVEY_COMPLETED, ids, {"answers": answers_for_event(response, definition)}
    )


__all__ = ["SurveyConversation"]
