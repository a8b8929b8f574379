"""The send path: one way out for every outbound kind.

Right before sending, everything that may have changed since planning is checked again: the
kind's own re-check (a reminder: its appointment's version and status, and the start), the
recipient's consent, quiet hours at the recipient's local time (hold, never drop), and the
healthcare caps where the kind says they apply. Then the text is paced, sent once and
recorded; every exit records why. What differs between kinds is behind ``OutboundKind``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from reach.clock import Clock
from reach.data.contacts import ContactRepository
from reach.data.pacing import ThroughputGate
from reach.data.reminders import ReminderKey, ReminderLifecycle
from reach.data.tenants import TenantRepository
from reach.domain.caps import CapReason
from reach.domain.message import Message, MessageKind, MessageStatus
from reach.domain.models import Tenant
from reach.domain.quiet_hours import QuietHours
from reach.domain.segments import count_segments
from reach.ports.events import EventPublisher, EventPublishError
from reach.ports.send_queue import QueuedReminder
from reach.ports.sms import OutboundSms, RecipientOptedOut, SmsError, SmsSender
from reach.services.dispatch import CLAIM_LEASE
from reach.services.sending.kind import OutboundKind, Outgoing, Stale
from reach.services.sending.reminder import REMINDER
from reach.services.sending.slots import SlotBook

_log = logging.getLogger("reach-sender")

#: How long a sender may hold a message in ``sending`` before a dispatcher treats its
#: outcome as unknown. Longer than the sender's Lambda timeout.
SENDING_LEASE = timedelta(minutes=5)
#: Receives after which SQS moves a message to the dead-letter queue (template.yaml's
#: maxReceiveCount): the last one records the failure instead of asking for another try.
MAX_RECEIVES = 5
#: Time kept in reserve at the end of an invocation for recording outcomes.
DEADLINE_MARGIN = timedelta(seconds=15)

TenantWording = tuple[Tenant, dict[tuple[str, str], str]]


class SendOutcome(StrEnum):
    """What the send path did with one queue message."""

    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    HELD = "held"
    #: A stale or repeated queue message: someone else owns the message now.
    DUPLICATE = "duplicate"
    #: A retryable failure; the queue should deliver the message again.
    RETRY = "retry"


_FINAL_STATUS = {
    SendOutcome.SENT: MessageStatus.SENT,
    SendOutcome.FAILED: MessageStatus.FAILED,
    SendOutcome.SKIPPED: MessageStatus.SKIPPED,
}


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    reason: str | None = None
    provider_message_id: str | None = None


class RedeliverLater(Exception):
    """Raised to the queue consumer: let SQS deliver this message again later."""


def kind_of(queued: QueuedReminder) -> str:
    """The outbound kind of a queue message.

    The send queue carries reminders only today; when it carries other kinds, its message
    names its kind and this reads it.
    """
    return REMINDER


@dataclass(frozen=True)
class _Message:
    """One queue message on its way through the path, in one batch."""

    batch: SendBatch
    queued: QueuedReminder
    key: ReminderKey
    kind: OutboundKind[Any]
    receive_count: int


class SendPath:
    """Sends queued messages of every registered kind; every decision is re-made from
    current data. Long-lived: per-batch state lives in the ``SendBatch`` that ``batch``
    returns."""

    def __init__(
        self,
        *,
        reminders: ReminderLifecycle,
        tenants: TenantRepository,
        contacts: ContactRepository,
        sms: SmsSender,
        gate: ThroughputGate,
        clock: Clock,
        kinds: Iterable[OutboundKind[Any]],
        origination_identity: str,
        configuration_set: str | None,
        new_message_id: Callable[[], str] = lambda: f"msg_{uuid.uuid4().hex}",
        events: EventPublisher | None = None,
    ) -> None:
        self._reminders = reminders
        self._tenants = tenants
        self._contacts = contacts
        self._sms = sms
        self._gate = gate
        self._clock = clock
        self._kinds = {kind.name: kind for kind in kinds}
        self._origination = origination_identity
        self._configuration_set = configuration_set or None
        self._new_message_id = new_message_id
        self._events = events

    def batch(self, size: int, time_left: timedelta | None = None) -> SendBatch:
        """A batch of ``size`` messages that must be done in ``time_left`` (the invocation's
        remaining time, measured on this path's own clock; None: no deadline)."""
        deadline = None if time_left is None else self._clock() + time_left
        return SendBatch(self, self._tenants, SlotBook(self._gate, size), deadline)

    def send(self, queued: QueuedReminder, *, receive_count: int = 1) -> SendResult:
        """Send one message as a batch of its own."""
        return self.batch(1).send(queued, receive_count=receive_count)

    def _send(self, batch: SendBatch, queued: QueuedReminder, receive_count: int) -> SendResult:
        kind = self._kinds[kind_of(queued)]
        key = ReminderKey(queued.tenant_id, queued.appointment_id, queued.reminder_id)
        message = _Message(batch, queued, key, kind, receive_count)
        now = self._clock()
        state = self._reminders.start_sending(key, queued.claim_id, now, now + SENDING_LEASE)
        if state is None:
            return SendResult(SendOutcome.DUPLICATE)
        outgoing = kind.load(queued, state.appointment_version, now)
        if isinstance(outgoing, Stale):
            return self._end(message, SendOutcome.SKIPPED, outgoing.reason)
        tenant, templates = batch.tenant(outgoing.tenant_id)
        held = self._hold_for_quiet_hours(message, outgoing, tenant, now)
        if held is not None:
            return held
        refused = self._check_consent(message, outgoing, now)
        if refused is not None:
            return refused
        try:
            return self._deliver(message, outgoing, tenant, templates, now)
        except BaseException:
            self._release_caps(outgoing, now)
            raise

    def _check_consent(
        self, message: _Message, outgoing: Outgoing[Any], now: datetime
    ) -> SendResult | None:
        """Refuse an opted-out recipient. Where the caps apply, consent is read inside the
        cap reservation (one read, one write); elsewhere it is read alone."""
        if outgoing.capped:
            return self._reserve_caps(message, outgoing, now)
        if self._contacts.get(outgoing.tenant_id, outgoing.phone).opted_out:
            return self._end(message, SendOutcome.SKIPPED, "opted_out")
        return None

    def _deliver(
        self,
        message: _Message,
        outgoing: Outgoing[Any],
        tenant: Tenant,
        templates: dict[tuple[str, str], str],
        reserved_at: datetime,
    ) -> SendResult:
        """Render, pace and send; ``reserved_at`` is when the caps were reserved (to undo)."""
        body = message.kind.render(outgoing, tenant, templates)
        segments = count_segments(body)
        slot = message.batch.slots.take(segments.parts)
        if message.batch.ends_before(slot + DEADLINE_MARGIN):
            # A backlog beyond this invocation: give the message back rather than sleep
            # through the timeout. Its slot is lost capacity, never exceeded capacity.
            return self._retry(message, outgoing, reserved_at, "backlog")
        message.batch.slots.wait_for(slot)
        now = self._clock()
        held = self._hold_for_quiet_hours(message, outgoing, tenant, now)
        if held is not None:  # the wait for a slot ran into quiet hours
            self._release_caps(outgoing, reserved_at)
            return held
        record = Message(
            message_id=self._new_message_id(),
            kind=MessageKind(message.kind.name),
            phone=outgoing.phone,
            body=body,
            status=MessageStatus.SENT,
            reason=None,
            parts=segments.parts,
            encoding=str(segments.encoding),
            provider=self._sms.name,
            provider_message_id=None,
            reminder_id=message.key.reminder_id,
            appointment_id=message.key.appointment_id,
            created_at=now,
            updated_at=now,
        )
        return self._call_provider(message, outgoing, body, record, reserved_at)

    def _call_provider(
        self,
        message: _Message,
        outgoing: Outgoing[Any],
        body: str,
        record: Message,
        reserved_at: datetime,
    ) -> SendResult:
        """Send through the provider once and record the outcome: an opt-out the provider
        knows is kept on the contact; a retryable error goes back to the queue until the
        last receive, which records the failure."""
        try:
            sent = self._sms.send(
                OutboundSms(
                    destination=outgoing.phone,
                    body=body,
                    origination_identity=self._origination,
                    tenant_id=outgoing.tenant_id,
                    message_id=record.message_id,
                    expires_at=outgoing.deadline,
                    configuration_set=self._configuration_set,
                    parts=record.parts,
                )
            )
        except RecipientOptedOut as error:
            self._contacts.mark_opted_out(
                outgoing.tenant_id, outgoing.phone, "provider_opt_out", record.created_at
            )
            self._release_caps(outgoing, reserved_at)
            record = replace(record, status=MessageStatus.SKIPPED, reason=error.reason)
            return self._end(message, SendOutcome.SKIPPED, "opted_out", record)
        except SmsError as error:
            if error.retryable and message.receive_count < MAX_RECEIVES:
                return self._retry(message, outgoing, reserved_at, error.reason)
            self._release_caps(outgoing, reserved_at)
            record = replace(record, status=MessageStatus.FAILED, reason=error.reason)
            return self._fail(message, outgoing, error.reason, record)
        record = replace(record, provider_message_id=sent.provider_message_id)
        self._end(message, SendOutcome.SENT, None, record)
        return SendResult(SendOutcome.SENT, provider_message_id=sent.provider_message_id)

    def _hold_for_quiet_hours(
        self, message: _Message, outgoing: Outgoing[Any], tenant: Tenant, now: datetime
    ) -> SendResult | None:
        period = QuietHours.parse(tenant.quiet_hours).period_at(now, outgoing.zone)
        if period is None:
            return None
        if period.ends >= outgoing.deadline:
            return self._end(message, SendOutcome.SKIPPED, "quiet_hours")
        return self._hold(message, period.ends, "held_quiet_hours", now)

    def _reserve_caps(
        self, message: _Message, outgoing: Outgoing[Any], now: datetime
    ) -> SendResult | None:
        decision = self._contacts.reserve_clinic_send(
            outgoing.tenant_id, outgoing.phone, now, outgoing.zone
        )
        if decision.allowed:
            return None
        reason = decision.reason.value if decision.reason else "cap"
        if decision.reason is CapReason.OPTED_OUT:
            return self._end(message, SendOutcome.SKIPPED, reason)
        later = decision.next_allowed_at
        if later is not None and later < outgoing.deadline:
            return self._hold(message, later, f"held_{reason}", now)
        return self._end(message, SendOutcome.SKIPPED, reason)

    def _release_caps(self, outgoing: Outgoing[Any], at: datetime) -> None:
        if outgoing.capped:
            self._contacts.release_clinic_send(outgoing.tenant_id, outgoing.phone, at)

    def _hold(self, message: _Message, until: datetime, reason: str, now: datetime) -> SendResult:
        if not self._reminders.hold(message.key, message.queued.claim_id, until, reason, now):
            return SendResult(SendOutcome.DUPLICATE)
        return SendResult(SendOutcome.HELD, reason)

    def _retry(
        self, message: _Message, outgoing: Outgoing[Any], reserved_at: datetime, reason: str
    ) -> SendResult:
        self._release_caps(outgoing, reserved_at)
        now = self._clock()
        self._reminders.back_to_queue(message.key, message.queued.claim_id, now, now + CLAIM_LEASE)
        return SendResult(SendOutcome.RETRY, reason)

    def _end(
        self,
        message: _Message,
        outcome: SendOutcome,
        reason: str | None,
        record: Message | None = None,
    ) -> SendResult:
        finished = self._reminders.finish(
            message.key,
            message.queued.claim_id,
            _FINAL_STATUS[outcome],
            reason,
            self._clock(),
            record,
        )
        if not finished:
            return SendResult(SendOutcome.DUPLICATE)
        return SendResult(outcome, reason)

    def _fail(
        self, message: _Message, outgoing: Outgoing[Any], reason: str, record: Message
    ) -> SendResult:
        result = self._end(message, SendOutcome.FAILED, reason, record)
        if result.outcome is SendOutcome.FAILED:
            self._delivery_failed(message, outgoing, reason, record)
        return result

    def _delivery_failed(
        self, message: _Message, outgoing: Outgoing[Any], reason: str, record: Message
    ) -> None:
        """Tell the tenant a message could not be delivered (``DeliveryFailed``).

        The failure is recorded already and a redelivery of the queue message finds it final,
        so a bus that fails here cannot be retried through the queue: it is logged for the
        operator, and the message's status stays readable through the API.
        """
        if self._events is None:
            return
        event = message.kind.failure_event(
            outgoing, reason or "failed", self._clock(), record.message_id
        )
        try:
            self._events.publish([event])
        except EventPublishError:
            _log.exception("DeliveryFailed could not be published", extra=dict(event.ids))


class SendBatch:
    """One invocation's batch: its pacing slots, its tenants read once, and its deadline.

    Made by ``SendPath.batch``; lives as long as the batch does.
    """

    def __init__(
        self,
        path: SendPath,
        tenants: TenantRepository,
        slots: SlotBook,
        deadline: datetime | None,
    ) -> None:
        self._path = path
        self._tenant_store = tenants
        self.slots = slots
        self._deadline = deadline
        self._tenants: dict[str, TenantWording] = {}

    def send(self, queued: QueuedReminder, *, receive_count: int = 1) -> SendResult:
        """Re-check, pace, send and record one queued message (``receive_count``: how many
        times the queue has delivered it, this time included)."""
        return self._path._send(self, queued, receive_count)

    def ends_before(self, moment: datetime) -> bool:
        """Whether the batch's time is up by ``moment``."""
        return self._deadline is not None and moment > self._deadline

    def tenant(self, tenant_id: str) -> TenantWording:
        """The tenant and its wording; one Query per tenant per batch, as a batch is usually
        one tenant's messages."""
        if tenant_id not in self._tenants:
            self._tenants[tenant_id] = self._tenant_store.get_with_templates(tenant_id)
        return self._tenants[tenant_id]
