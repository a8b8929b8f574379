"""Automatic answers to a recipient's reply: stored first, consent-checked, paced, sent once.

Each answer's id and position in the conversation derive from the inbound message it
answers, so a replayed or retried inbound message finds its answer already stored and does
not send it again. An answer that failed for a retryable reason is left ``retry`` and is
sent by the retry of its inbound message.

Consent (docs/facts.md#help-and-stop): the carriers want HELP answered and STOP confirmed
whether or not the person is subscribed, and nothing else sent to an opted-out number. The
caller says which an answer is (``AnswerRule``):

- an ordinary answer (``CONSENTED``) goes only to a recipient who has not opted out;
- the confirmation of the opt-out this very message made (``OPT_OUT_CONFIRMATION``) always
  goes: the opt-out it confirms must not suppress it;
- a HELP answer, or the confirmation of a STOP from someone opted out already
  (``KEYWORD_ANSWER``), goes whatever the consent, but at most ``KEYWORD_ANSWERS_PER_DAY``
  of these and the confirmations a day per tenant and phone, so two machines texting each
  other stop within the day.

Quiet hours do not apply: the recipient has just written to us, and quiet hours are about
messages they did not ask for. Throughput does: answers share the sending number's pace
with reminders.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from reach.clock import Clock
from reach.data.contacts import ContactRepository
from reach.data.messages import MessageRepository
from reach.data.pacing import Gates
from reach.domain.conversation_texts import AnswerKind
from reach.domain.message import Message, MessageKind, MessageStatus, Thread
from reach.domain.retention import DEFAULT_RETENTION_DAYS, expires_at
from reach.domain.segments import count_segments
from reach.ports.sms import OutboundSms, RecipientOptedOut, SmsError, SmsSender

#: An answer not delivered within this long is not worth delivering.
REPLY_TTL = timedelta(hours=1)
#: Where an answer sorts after the message it answers.
_AFTER_INBOUND = timedelta(milliseconds=1)

#: HELP answers and STOP confirmations per tenant, phone and local day. A person who asks
#: for HELP, opts out and checks with a second STOP is answered every time; an
#: auto-responder that answers every text with HELP or STOP gets three texts a day, not an
#: endless exchange.
KEYWORD_ANSWERS_PER_DAY = 3

SENT = MessageStatus.SENT
SKIPPED = MessageStatus.SKIPPED
FAILED = MessageStatus.FAILED
RETRY = MessageStatus.RETRY
SENDING = MessageStatus.SENDING


class AnswerRetryLater(Exception):
    """An automatic answer was refused for now (throttled, unavailable): the inbound message
    it answers is retried, and its retry sends the answer."""


class AnswerRule(StrEnum):
    """Whom an answer may reach (the module docstring)."""

    CONSENTED = "consented"
    OPT_OUT_CONFIRMATION = "opt_out_confirmation"
    KEYWORD_ANSWER = "keyword_answer"


@dataclass(frozen=True)
class Answer:
    """One automatic answer to send: to whom, about which thread, in reply to what."""

    tenant_id: str
    thread: Thread
    inbound_message_id: str
    received_at: datetime
    kind: AnswerKind
    body: str
    #: The tenant's local day the inbound message arrived on, for the daily limit.
    local_day: date
    rule: AnswerRule = AnswerRule.CONSENTED
    #: Our number the person texted: the answer goes from it, in the same conversation.
    origination: str = ""
    #: The tenant's retention: the stored answer expires with the reply it answers.
    retention_days: int = DEFAULT_RETENTION_DAYS


class ReplySender:
    """Sends automatic answers through the tenant's number, once each."""

    def __init__(
        self,
        *,
        sms: SmsSender,
        gates: Gates,
        messages: MessageRepository,
        contacts: ContactRepository,
        clock: Clock,
        origination_identity: str,
        configuration_set: str | None,
    ) -> None:
        self._sms = sms
        self._gates = gates
        self._messages = messages
        self._contacts = contacts
        self._clock = clock
        self._origination = origination_identity
        self._configuration_set = configuration_set or None

    def send(self, answer: Answer) -> str:
        """Send ``answer`` unless it was sent (or settled) before; returns its status."""
        record = self._record(answer)
        stored = self._messages.claim(answer.thread, record, uuid.uuid4().hex)
        if stored is not None and stored.status != RETRY:
            return stored.status
        refused = self._refusal(answer, record.message_id)
        if refused is not None:
            return self._finish(answer, record, SKIPPED, refused)
        origination = answer.origination or self._origination
        gate = self._gates.for_number(origination)
        gate.wait_for(gate.reserve([record.parts]).starts[0])
        now = self._clock()
        try:
            sent = self._sms.send(
                OutboundSms(
                    destination=answer.thread.phone,
                    body=answer.body,
                    origination_identity=origination,
                    tenant_id=answer.tenant_id,
                    message_id=record.message_id,
                    expires_at=now + REPLY_TTL,
                    configuration_set=self._configuration_set,
                    parts=record.parts,
                )
            )
        except RecipientOptedOut as error:
            self._contacts.mark_opted_out(
                answer.tenant_id, answer.thread.phone, "provider_opt_out", now
            )
            return self._finish(answer, record, SKIPPED, error.reason)
        except SmsError as error:
            if error.retryable:
                self._finish(answer, record, RETRY, error.reason)
                raise AnswerRetryLater(error.reason) from error
            return self._finish(answer, record, FAILED, error.reason)
        return self._finish(answer, record, SENT, None, sent.provider, sent.provider_message_id)

    def _refusal(self, answer: Answer, answer_id: str) -> str | None:
        """Why ``answer`` may not be sent (None: it may), by its rule."""
        phone = answer.thread.phone
        if answer.rule is AnswerRule.CONSENTED:
            opted_out = self._contacts.get(answer.tenant_id, phone).opted_out
            return "opted_out" if opted_out else None
        limit = None if answer.rule is AnswerRule.OPT_OUT_CONFIRMATION else KEYWORD_ANSWERS_PER_DAY
        if self._contacts.reserve_keyword_answer(
            answer.tenant_id, phone, answer_id, answer.local_day, limit=limit
        ):
            return None
        return "daily_limit"

    def _record(self, answer: Answer) -> Message:
        segments = count_segments(answer.body)
        created_at = answer.received_at + _AFTER_INBOUND
        return Message(
            message_id=answer_id(answer.inbound_message_id),
            kind=MessageKind.ANSWER,
            phone=answer.thread.phone,
            body=answer.body,
            status=SENDING,
            created_at=created_at,
            updated_at=self._clock(),
            intent=answer.kind.value,
            parts=segments.parts,
            encoding=str(segments.encoding),
            provider=self._sms.name,
            inbound_message_id=answer.inbound_message_id,
            appointment_id=answer.thread.appointment_id,
            expires_at=expires_at(created_at, answer.retention_days),
        )

    def _finish(
        self,
        answer: Answer,
        record: Message,
        status: MessageStatus,
        reason: str | None,
        provider: str | None = None,
        provider_message_id: str | None = None,
    ) -> str:
        self._messages.finish_outbound(
            answer.thread,
            record,
            status=status,
            reason=reason,
            provider=provider,
            provider_message_id=provider_message_id,
            now=self._clock(),
        )
        return status


def answer_id(inbound_message_id: str) -> str:
    """The id of our answer to an inbound message: one answer per message, the same id on
    every replay, whatever the replay would answer now."""
    digest = hashlib.sha256(f"answer\x1f{inbound_message_id}".encode()).hexdigest()
    return f"msg_{digest[:32]}"
