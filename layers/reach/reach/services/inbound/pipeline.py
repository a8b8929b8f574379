"""A recipient's reply: find its tenant, apply consent keywords, route it to the conversation
it answers, tell the clinic, answer.

Order of work for one reply, each step safe to repeat (a retried or replayed message finds
its effects in place and changes nothing twice). Parsing and de-duplication happen before
this, in the inbound function (``parse_inbound``; Powertools idempotency per
``inboundMessageId``).

1. **Tenant** by our number (``destinationNumber``). A number no tenant owns is logged and
   dropped: there is nobody to act for.
2. **Consent keywords first**, for every kind of conversation (``consent_keywords``), once
   the reply is read with the tenant's list keywords too: "STOP ALERTS" leaves one list and
   is no opt-out of everything (``conversations.lists.read_list_command``).
3. **Route** to the conversation the reply answers (``routing``), and store the inbound
   message in its thread (the recipient's own thread when it answers none), so the clinic
   can read every reply, understood or not.
4. **Handle**: the conversation's kind matches the text to an intent and applies it
   (``conversations``), returning the answer and the events.
5. **Tell the clinic** on the event bus (ids only), then **answer** the recipient: events
   first, because a failed answer is retried with its message (``AnswerRetryLater``) and
   events carry ids their consumers dedupe on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from reach.clock import Clock
from reach.data.appointments import AppointmentRepository
from reach.data.callbacks import CallbackRepository
from reach.data.contacts import ContactRepository
from reach.data.lists import ListRepository
from reach.data.messages import MessageRepository
from reach.data.survey_responses import SurveyResponses
from reach.data.surveys import SurveyRepository
from reach.data.tenants import TenantRepository
from reach.domain.inbound import InboundSms
from reach.domain.lists import OptInList
from reach.domain.message import Message, MessageKind, MessageStatus, Thread
from reach.domain.models import Tenant
from reach.domain.replies import classify_reply, keywords_for_replies
from reach.domain.retention import expires_at
from reach.domain.zones import load_zone
from reach.ports.events import EventPublisher
from reach.services.consent import ConsentService
from reach.services.inbound.consent_keywords import ConsentKeywords
from reach.services.inbound.conversations import CONVERSATION_KINDS, KindFactory
from reach.services.inbound.conversations.lists import read_list_command
from reach.services.inbound.kind import Collaborators
from reach.services.inbound.reply import (
    InboundReply,
    InboundResult,
    ReplyOutcome,
    Response,
    derived_id,
)
from reach.services.inbound.routing import ConversationRouter
from reach.services.replies import Answer, ReplySender

#: How long a clinic takes to call back, by default (moved out of quiet hours).
DEFAULT_CALLBACK_WITHIN = timedelta(hours=2)


class InboundService:
    """Handles one inbound reply end to end (see the module docstring)."""

    def __init__(
        self,
        *,
        tenants: TenantRepository,
        appointments: AppointmentRepository,
        contacts: ContactRepository,
        messages: MessageRepository,
        callbacks: CallbackRepository,
        answers: ReplySender,
        events: EventPublisher,
        consent: ConsentService,
        clock: Clock,
        callback_within: timedelta = DEFAULT_CALLBACK_WITHIN,
        surveys: SurveyRepository,
        responses: SurveyResponses,
        kinds: Sequence[KindFactory] = CONVERSATION_KINDS,
        lists: ListRepository | None = None,
    ) -> None:
        self._tenants = tenants
        self._lists = lists or ListRepository()
        self._messages = messages
        self._answers = answers
        self._events = events
        self._clock = clock
        self._keywords = ConsentKeywords(consent)
        collaborators = Collaborators(
            appointments=appointments,
            contacts=contacts,
            messages=messages,
            callbacks=callbacks,
            clock=clock,
            callback_within=callback_within,
            lists=self._lists,
            consent=consent,
            surveys=surveys,
            responses=responses,
        )
        self._router = ConversationRouter(
            kinds=[build(collaborators) for build in kinds],
            contacts=contacts,
            messages=messages,
        )

    def receive(self, sms: InboundSms, received_at: datetime) -> InboundResult:
        found = self._tenant_for(sms.destination_number)
        if found is None:
            return InboundResult(ReplyOutcome.UNROUTABLE)
        tenant, programs = found
        reading = classify_reply(sms.body, keywords_for_replies(tenant.reply_keywords))
        reading = read_list_command(reading, sms.body, programs)
        reply = InboundReply(sms, received_at, tenant, reading, programs=programs)
        if self._keywords.applies_to(reply):
            thread = self._router.filing_thread(reply)
            self._store_inbound(reply, thread)
            response = self._keywords.apply(reply, thread)
        else:
            route = self._router.route(reply)
            thread = route.thread
            self._store_inbound(reply, thread)
            response = route.kind.handle(reply, route.conversation)
        return self._finish(reply, thread, response)

    def _tenant_for(self, our_number: str) -> tuple[Tenant, tuple[OptInList, ...]] | None:
        """The tenant that owns ``our_number``, with its lists (one Query for both)."""
        tenant_id = self._tenants.tenant_for_number(our_number)
        if tenant_id is None:
            return None
        return self._lists.tenant_with_lists(tenant_id)

    def _store_inbound(self, reply: InboundReply, thread: Thread) -> None:
        self._messages.add(
            thread,
            Message(
                message_id=derived_id("msg", reply.inbound_id),
                kind=MessageKind.INBOUND,
                phone=reply.phone,
                body=reply.sms.body,
                status=MessageStatus.RECEIVED,
                created_at=reply.received_at,
                updated_at=self._clock(),
                intent=reply.intent.value,
                reason="truncated" if reply.sms.truncated else None,
                provider_message_id=reply.inbound_id,
                inbound_message_id=reply.inbound_id,
                appointment_id=thread.appointment_id,
                expires_at=expires_at(reply.received_at, reply.tenant.retention_days),
            ),
        )

    def _finish(self, reply: InboundReply, thread: Thread, response: Response) -> InboundResult:
        """Publish the response's events, then send its answer (module docstring, step 5)."""
        if response.events:
            self._events.publish(response.events)
        status = None
        if response.answer is not None:
            status = self._answers.send(
                Answer(
                    tenant_id=reply.tenant.tenant_id,
                    thread=thread,
                    inbound_message_id=reply.inbound_id,
                    received_at=reply.received_at,
                    kind=response.answer.kind,
                    body=response.answer.body,
                    local_day=reply.received_at.astimezone(load_zone(reply.tenant.timezone)).date(),
                    rule=response.answer.rule,
                    origination=reply.tenant.sender_number,
                    retention_days=reply.tenant.retention_days,
                )
            )
        return InboundResult(
            response.outcome,
            reply.intent,
            reply.tenant.tenant_id,
            response.subject_id,
            response.answer.kind if response.answer else None,
            status,
            response.published + tuple(e.type for e in response.events),
            response.callback_id,
        )
