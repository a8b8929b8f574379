"""The one interface every kind of conversation implements, and what it is built from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Protocol

from reach.clock import Clock
from reach.data.appointments import AppointmentRepository
from reach.data.callbacks import CallbackRepository
from reach.data.contacts import ContactRepository
from reach.data.lists import ListRepository
from reach.data.messages import MessageRepository, ProviderMessageRef
from reach.data.survey_responses import SurveyResponses
from reach.data.surveys import SurveyRepository
from reach.domain.conversation import PendingChoice
from reach.domain.replies import ClassifiedReply
from reach.services.consent import ConsentService
from reach.services.inbound.reply import InboundReply, Response


class Evidence(IntEnum):
    """How surely a reply answers a conversation; the router prefers the higher."""

    #: The most recent (or most relevant) open question of the kind to this phone.
    OPEN = 1
    #: The reply answers a message of ours (``previousPublishedMessageId``) that names it.
    REFERENCED = 2
    #: The reply picks a letter from our "which one?" question.
    CHOSEN = 3
    #: The reply names its conversation itself: a list's keyword ("ALERTS", "STOP ALERTS").
    NAMED = 4


@dataclass(frozen=True)
class Conversation[S]:
    """The open conversation of one kind that a reply answers, as its kind found it.

    ``subject`` is what it is about (an appointment). When the kind cannot tell which of
    several the reply means, ``subject`` is None and ``options`` lists them: the kind asks.
    """

    evidence: Evidence
    subject: S | None
    #: The id the conversation is stored under (its thread); None: the recipient's own.
    subject_id: str | None
    options: tuple[S, ...] = ()
    #: The reply re-read through a "which one?" choice (``Evidence.CHOSEN`` only).
    reading: ClassifiedReply | None = None
    #: When the question it waits on went out, if the kind knows (None: unknown). A kind
    #: that says so opts into recency: on equal ``OPEN`` evidence the router prefers the
    #: conversation asked last, looking the others' up in their threads.
    asked_at: datetime | None = None


@dataclass(frozen=True)
class Collaborators:
    """What a conversation kind is built from (``InboundService`` builds each kind once)."""

    appointments: AppointmentRepository
    contacts: ContactRepository
    messages: MessageRepository
    callbacks: CallbackRepository
    clock: Clock
    #: How long the organisation takes to call back when asked to.
    callback_within: timedelta
    #: Opt-in lists and their members (list sign-ups, invitations).
    lists: ListRepository
    #: Consent changes a conversation makes (a list keyword re-subscribes to the tenant).
    consent: ConsentService
    #: Survey definitions, and the responses and lanes of the people answering them.
    surveys: SurveyRepository
    responses: SurveyResponses


class ConversationKind[S](Protocol):
    """One kind of conversation a reply can answer (appointment replies; next notices,
    list sign-ups, surveys): it finds the conversation a reply answers, matches the text to
    an intent, applies it, and returns the answer and the events as a ``Response``.

    A kind never sends or publishes: the pipeline stores the inbound message in the
    conversation's thread before ``handle``, then publishes the response's events, then
    sends its answer. Consent keywords (STOP, START, HELP, free-text revocation) never reach
    a kind: the pipeline applies them first, for every kind.

    To add a conversation kind:

    1. Write one module in ``reach/services/inbound/conversations/`` with a class built from
       ``Collaborators`` that has ``locate`` and ``handle`` below (``appointment.py`` is the
       worked example). Answers are ``ReplyKind`` texts rendered with ``reply.context()``;
       events come from ``reply.event(...)`` so a replayed reply derives the same ids.
    2. Register it: add the class to ``CONVERSATION_KINDS`` in
       ``reach/services/inbound/conversations/__init__.py``. Order matters only on equal
       evidence (the earlier kind wins, unless one of them says when it asked: then the one
       asked last) and for replies that answer nothing (the first kind answers those).
    3. Test it through ``InboundService`` (``tests/integration/test_inbound_service.py``):
       a reply that references its message reaches it, and STOP still comes first.
    """

    def locate(
        self,
        reply: InboundReply,
        referenced: ProviderMessageRef | None,
        pending: PendingChoice | None,
    ) -> Conversation[S] | None:
        """The open conversation of this kind that ``reply`` answers, or None.

        ``referenced`` is the tenant's message the reply answers, when it names one;
        ``pending`` is the unexpired "which one?" question to this phone. Reads only: the
        router may ask every kind and keep one answer.
        """
        ...

    def handle(self, reply: InboundReply, conversation: Conversation[S] | None) -> Response:
        """Match the reply to an intent, apply it, and say what to answer and publish.

        ``conversation`` is None only for the first registered kind, when the reply answers
        no open conversation of any kind.
        """
        ...
