"""One inbound reply as the pipeline works through it, and what working on it produced.

These values are shared by every step: the consent keywords, the router and each
conversation kind read an ``InboundReply`` and give back a ``Response``; only the pipeline
publishes a response's events and sends its answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from reach.domain.conversation_texts import AnswerKind, ReplyContext
from reach.domain.inbound import InboundSms
from reach.domain.lists import OptInList
from reach.domain.masking import mask_phones_in
from reach.domain.models import Tenant
from reach.domain.replies import ClassifiedReply, ReplyIntent
from reach.domain.zones import load_zone
from reach.ports.events import DataValue, DomainEvent, EventType, event_id_for
from reach.services.replies import AnswerRule


class ReplyOutcome(StrEnum):
    """What became of one reply (the inbound function logs it; tests assert on it)."""

    #: Our number belongs to no tenant: nothing to act for.
    UNROUTABLE = "unroutable"
    #: Consent recorded (opt-out / opt-in), or HELP answered.
    CONSENT = "consent"
    HELP = "help"
    #: The intent changed the appointment (or had changed it already: a replay).
    APPLIED = "applied"
    #: An older reply than the last one applied: stored, nothing changed.
    SUPERSEDED = "superseded"
    #: The appointment is closed; the recipient is told to call.
    CLOSED = "closed"
    #: Two or more appointments equally likely: the recipient was asked which.
    ASKED = "asked"
    #: No open appointment to apply the intent to.
    NO_APPOINTMENT = "no_appointment"
    CALLBACK = "callback"
    #: Not understood: stored for the clinic, answered once.
    UNKNOWN = "unknown"
    #: Joined a list (a keyword, or YES to an invitation), or was a member already.
    LIST_JOINED = "list_joined"
    #: Left one list ("STOP <keyword>").
    LIST_LEFT = "list_left"


@dataclass(frozen=True)
class InboundResult:
    """The pipeline's account of one reply (the inbound function stores it as the
    idempotent result of the message)."""

    outcome: ReplyOutcome
    intent: ReplyIntent | None = None
    tenant_id: str | None = None
    appointment_id: str | None = None
    answer: AnswerKind | None = None
    answer_status: str | None = None
    events: tuple[EventType, ...] = ()
    callback_id: str | None = None


@dataclass
class InboundReply:
    """What is known about one reply as it is worked through.

    ``reading`` may be replaced once: a reply that picks a letter from a "which one?"
    question is re-read as the intent it completes.
    """

    sms: InboundSms
    received_at: datetime
    tenant: Tenant
    reading: ClassifiedReply
    #: An unrecognised reply of theirs was answered already (no recognised one since).
    nudged: bool = False
    #: The tenant's opt-in lists (read once per reply): their keywords, and HELP's programs.
    programs: tuple[OptInList, ...] = ()

    @property
    def phone(self) -> str:
        return self.sms.origination_number

    @property
    def inbound_id(self) -> str:
        return self.sms.inbound_message_id

    @property
    def intent(self) -> ReplyIntent:
        return self.reading.intent

    @property
    def cause(self) -> dict[str, str]:
        """The reply as events name it."""
        return {"inbound_message_id": safe_id(self.inbound_id)}

    def event(
        self,
        event_type: EventType,
        ids: dict[str, str],
        data: Mapping[str, DataValue],
    ) -> DomainEvent:
        """An event this reply caused, with an id a replay of the reply derives again."""
        tenant_id = self.tenant.tenant_id
        return DomainEvent(
            type=event_type,
            tenant_id=tenant_id,
            event_id=event_id_for(event_type, tenant_id, self.inbound_id),
            occurred_at=self.received_at,
            ids={**ids, **self.cause},
            data=data,
        )

    def context(self, timezone: str | None = None) -> ReplyContext:
        """What any answer to this reply may say: the tenant's name and number, times in
        ``timezone`` (the tenant's own when not given). A kind adds its own details."""
        return ReplyContext(
            org_name=self.tenant.name,
            org_phone=self.tenant.sender_number,
            zone=load_zone(timezone or self.tenant.timezone),
            minutes_late=self.reading.minutes_late,
            now=self.received_at,
            programs=tuple((plist.name, plist.keyword) for plist in self.programs),
        )


@dataclass(frozen=True)
class AnswerText:
    """The answer a step wants sent: which text, rendered."""

    kind: AnswerKind
    body: str
    #: Whom it may reach: only the opt-out confirmation and keyword answers go to an
    #: opted-out recipient (``reach.services.replies``).
    rule: AnswerRule = AnswerRule.CONSENTED


@dataclass(frozen=True)
class Response:
    """What one step (the consent keywords or a conversation kind) made of a reply.

    The pipeline publishes ``events`` first, then sends ``answer`` (if any): a failed answer
    is retried with its message, and events carry ids their consumers dedupe on.
    """

    outcome: ReplyOutcome
    #: The id of what the reply is about (an appointment's), as the result reports it.
    subject_id: str | None = None
    answer: AnswerText | None = None
    events: tuple[DomainEvent, ...] = ()
    #: Events a service the step called has published itself (consent changes).
    published: tuple[EventType, ...] = ()
    callback_id: str | None = None


def derived_id(prefix: str, inbound_message_id: str) -> str:
    """An id derived from the inbound message: the same on every replay of it."""
    digest = hashlib.sha256(inbound_message_id.encode()).hexdigest()
    return f"{prefix}_{digest[:32]}"


def safe_id(inbound_message_id: str) -> str:
    """The inbound id as events carry it: events refuse anything that reads as a phone
    number, so an id that does (a bare digit run) is replaced by a digest of itself."""
    if mask_phones_in(inbound_message_id) == inbound_message_id:
        return inbound_message_id
    return derived_id("in", inbound_message_id)
