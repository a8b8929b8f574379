"""The sender: re-check a queued reminder, render it, pace it, send it once, record it.

Right before sending, everything that may have changed since planning is checked again: the
appointment's version and status (no stale or cancelled reminders), the start (never after
it), the recipient's consent, quiet hours at the recipient's local time (hold, never drop),
and the healthcare caps for clinic visits. Every exit records why.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from reach.clock import Clock
from reach.data.appointments import AppointmentRepository
from reach.data.contacts import ContactRepository
from reach.data.pacing import ThroughputGate
from reach.data.reminders import ReminderKey, ReminderLifecycle
from reach.data.tenants import TenantRepository
from reach.domain.caps import CapReason
from reach.domain.message import Message, MessageKind, MessageStatus
from reach.domain.models import Appointment, AppointmentKind, ReminderStatus, Tenant
from reach.domain.quiet_hours import QuietHours
from reach.domain.rendering import render_reminder
from reach.domain.segments import count_segments
from reach.domain.templates import template_for
from reach.domain.zones import load_zone
from reach.ports.events import (
    EventPublisher,
    EventPublishError,
    delivery_failed,
)
from reach.ports.send_queue import QueuedReminder
from reach.ports.sms import OutboundSms, RecipientOptedOut, SmsError, SmsSender
from reach.services.dispatch import CLAIM_LEASE

_log = logging.getLogger("reach-sender")

#: How long a sender may hold a reminder in ``sending`` before a dispatcher treats its
#: outcome as unknown. Longer than the sender's Lambda timeout.
SENDING_LEASE = timedelta(minutes=5)
#: Receives after which SQS moves a message to the dead-letter queue (template.yaml's
#: maxReceiveCount): the last one records the failure instead of asking for another try.
MAX_RECEIVES = 5
#: Time kept in reserve at the end of an invocation for recording outcomes.
DEADLINE_MARGIN = timedelta(seconds=15)


class Outcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    HELD = "held"
    #: A stale or repeated queue message: someone else owns the reminder now.
    DUPLICATE = "duplicate"
    #: A retryable failure; the queue should deliver the message again.
    RETRY = "retry"


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    reason: str | None = None
    provider_message_id: str | None = None


class RetryLater(Exception):
    """Raised to the queue consumer: let SQS deliver this message again later."""


class SlotBook:
    """Send slots reserved for one batch at once, handed out message by message.

    One reservation per batch keeps the pacing cost per message far below one DynamoDB call;
    a message of k parts takes k consecutive single-part slots.
    """

    def __init__(self, gate: ThroughputGate, expected_messages: int) -> None:
        self._gate = gate
        self._expected = max(1, expected_messages)
        self._slots: list[datetime] = []

    def take(self, parts: int) -> datetime:
        if len(self._slots) < parts:
            wanted = max(parts - len(self._slots), self._expected)
            self._slots += self._gate.reserve([1] * wanted).starts
            self._expected = 1
        taken, self._slots = self._slots[:parts], self._slots[parts:]
        return taken[0]

    def wait_for(self, moment: datetime) -> None:
        self._gate.wait_for(moment)


class ReminderSender:
    """Sends queued reminders; every decision is re-made from current data."""

    def __init__(
        self,
        *,
        reminders: ReminderLifecycle,
        appointments: AppointmentRepository,
        tenants: TenantRepository,
        contacts: ContactRepository,
        sms: SmsSender,
        gate: ThroughputGate,
        clock: Clock,
        origination_identity: str,
        configuration_set: str | None,
        new_message_id: Callable[[], str] = lambda: f"msg_{uuid.uuid4().hex}",
        events: EventPublisher | None = None,
    ) -> None:
        self._reminders = reminders
        self._appointments = appointments
        self._tenants = tenants
        self._contacts = contacts
        self._sms = sms
        self._gate = gate
        self._clock = clock
        self._origination = origination_identity
        self._configuration_set = configuration_set or None
        self._new_message_id = new_message_id
        self._events = events
        self._slots = SlotBook(gate, 1)
        self._tenant_cache: dict[str, tuple[Tenant, dict[tuple[str, str], str]]] = {}
        self._deadline: datetime | None = None

    def begin_batch(self, size: int, time_left: timedelta | None = None) -> None:
        """Reserve pacing for a batch of ``size`` messages that must be done in ``time_left``
        (the invocation's remaining time), measured on this sender's own clock."""
        self._slots = SlotBook(self._gate, size)
        self._tenant_cache = {}
        self._deadline = None if time_left is None else self._clock() + time_left

    def send(self, queued: QueuedReminder, *, receive_count: int = 1) -> SendResult:
        key = ReminderKey(queued.tenant_id, queued.appointment_id, queued.reminder_id)
        now = self._clock()
        state = self._reminders.start_sending(key, queued.claim_id, now, now + SENDING_LEASE)
        if state is None:
            return SendResult(Outcome.DUPLICATE)
        appointment = self._appointments.get_without_reminders(
            queued.tenant_id, queued.appointment_id
        )
        if appointment is None:
            return self._end(key, queued, Outcome.SKIPPED, "appointment_missing")
        stale = _why_stale(appointment, state.appointment_version, now)
        if stale is not None:
            return self._end(key, queued, Outcome.SKIPPED, stale)
        tenant = self._tenant(queued.tenant_id)
        zone = load_zone(appointment.timezone)
        held = self._hold_for_quiet_hours(key, queued, appointment, tenant, zone, now)
        if held is not None:
            return held
        # Consent: clinic visits read it inside the cap reservation (one read, one write);
        # other kinds have no caps and read it alone.
        if appointment.kind is AppointmentKind.CLINIC_VISIT:
            refused = self._reserve_caps(key, queued, appointment, zone, now)
            if refused is not None:
                return refused
        elif self._contacts.get(tenant.tenant_id, appointment.phone).opted_out:
            return self._end(key, queued, Outcome.SKIPPED, "opted_out")
        try:
            return self._deliver(key, queued, appointment, tenant, zone, receive_count, now)
        except BaseException:
            self._release_caps(appointment, now)
            raise

    def _deliver(
        self,
        key: ReminderKey,
        queued: QueuedReminder,
        appointment: Appointment,
        tenant: Tenant,
        zone: ZoneInfo,
        receive_count: int,
        reserved_at: datetime,
    ) -> SendResult:
        """Render, pace and send; ``reserved_at`` is when the caps were reserved (to undo)."""
        body = render_reminder(
            template_for(
                appointment.kind,
                appointment.language,
                self._tenant_and_templates(tenant.tenant_id)[1],
            ),
            first_name=appointment.first_name,
            starts_at=appointment.starts_at,
            zone=zone,
            org_name=tenant.name,
            org_phone_e164=tenant.sender_number,
            location=appointment.location,
        )
        segments = count_segments(body)
        slot = self._slots.take(segments.parts)
        if self._deadline is not None and slot > self._deadline - DEADLINE_MARGIN:
            # A backlog beyond this invocation: give the message back rather than sleep
            # through the timeout. Its slot is lost capacity, never exceeded capacity.
            return self._retry(key, queued, appointment, reserved_at, "backlog")
        self._slots.wait_for(slot)
        now = self._clock()
        held = self._hold_for_quiet_hours(key, queued, appointment, tenant, zone, now)
        if held is not None:  # the wait for a slot ran into quiet hours
            self._release_caps(appointment, reserved_at)
            return held
        message_id = self._new_message_id()
        record = Message(
            message_id=message_id,
            kind=MessageKind.REMINDER,
            phone=appointment.phone,
            body=body,
            status=MessageStatus.SENT,
            reason=None,
            parts=segments.parts,
            encoding=str(segments.encoding),
            provider=self._sms.name,
            provider_message_id=None,
            reminder_id=key.reminder_id,
            appointment_id=key.appointment_id,
            created_at=now,
            updated_at=now,
        )
        try:
            sent = self._sms.send(
                OutboundSms(
                    destination=appointment.phone,
                    body=body,
                    origination_identity=self._origination,
                    tenant_id=tenant.tenant_id,
                    message_id=message_id,
                    expires_at=appointment.starts_at,
                    configuration_set=self._configuration_set,
                    parts=segments.parts,
                )
            )
        except RecipientOptedOut as error:
            self._contacts.mark_opted_out(
                tenant.tenant_id, appointment.phone, "provider_opt_out", now
            )
            self._release_caps(appointment, reserved_at)
            record = replace(record, status=MessageStatus.SKIPPED, reason=error.reason)
            return self._end(key, queued, Outcome.SKIPPED, "opted_out", record)
        except SmsError as error:
            if error.retryable and receive_count < MAX_RECEIVES:
                return self._retry(key, queued, appointment, reserved_at, error.reason)
            self._release_caps(appointment, reserved_at)
            record = replace(record, status=MessageStatus.FAILED, reason=error.reason)
            return self._end(key, queued, Outcome.FAILED, error.reason, record)
        record = replace(record, provider_message_id=sent.provider_message_id)
        self._end(key, queued, Outcome.SENT, None, record)
        return SendResult(Outcome.SENT, provider_message_id=sent.provider_message_id)

    def _hold_for_quiet_hours(
        self,
        key: ReminderKey,
        queued: QueuedReminder,
        appointment: Appointment,
        tenant: Tenant,
        zone: ZoneInfo,
        now: datetime,
    ) -> SendResult | None:
        period = QuietHours.parse(tenant.quiet_hours).period_at(now, zone)
        if period is None:
            return None
        if period.ends >= appointment.starts_at:
            return self._end(key, queued, Outcome.SKIPPED, "quiet_hours")
        return self._hold(key, queued, period.ends, "held_quiet_hours", now)

    def _reserve_caps(
        self,
        key: ReminderKey,
        queued: QueuedReminder,
        appointment: Appointment,
        zone: ZoneInfo,
        now: datetime,
    ) -> SendResult | None:
        decision = self._contacts.reserve_clinic_send(
            appointment.tenant_id, appointment.phone, now, zone
        )
        if decision.allowed:
            return None
        reason = decision.reason.value if decision.reason else "cap"
        if decision.reason is CapReason.OPTED_OUT:
            return self._end(key, queued, Outcome.SKIPPED, reason)
        later = decision.next_allowed_at
        if later is not None and later < appointment.starts_at:
            return self._hold(key, queued, later, f"held_{reason}", now)
        return self._end(key, queued, Outcome.SKIPPED, reason)

    def _release_caps(self, appointment: Appointment, at: datetime) -> None:
        if appointment.kind is AppointmentKind.CLINIC_VISIT:
            self._contacts.release_clinic_send(appointment.tenant_id, appointment.phone, at)

    def _hold(
        self, key: ReminderKey, queued: QueuedReminder, until: datetime, reason: str, now: datetime
    ) -> SendResult:
        if not self._reminders.hold(key, queued.claim_id, until, reason, now):
            return SendResult(Outcome.DUPLICATE)
        return SendResult(Outcome.HELD, reason)

    def _retry(
        self,
        key: ReminderKey,
        queued: QueuedReminder,
        appointment: Appointment,
        reserved_at: datetime,
        reason: str,
    ) -> SendResult:
        self._release_caps(appointment, reserved_at)
        now = self._clock()
        self._reminders.back_to_queue(key, queued.claim_id, now, now + CLAIM_LEASE)
        return SendResult(Outcome.RETRY, reason)

    def _end(
        self,
        key: ReminderKey,
        queued: QueuedReminder,
        outcome: Outcome,
        reason: str | None,
        record: Message | None = None,
    ) -> SendResult:
        status = {
            Outcome.SENT: ReminderStatus.SENT,
            Outcome.FAILED: ReminderStatus.FAILED,
            Outcome.SKIPPED: ReminderStatus.SKIPPED,
        }[outcome]
        if not self._reminders.finish(key, queued.claim_id, status, reason, self._clock(), record):
            return SendResult(Outcome.DUPLICATE)
        if outcome is Outcome.FAILED:
            self._delivery_failed(key, reason, record)
        return SendResult(outcome, reason)

    def _delivery_failed(
        self, key: ReminderKey, reason: str | None, record: Message | None
    ) -> None:
        """Tell the clinic a reminder could not be delivered (``DeliveryFailed``).

        The failure is recorded already and a redelivery of the queue message finds it final,
        so a bus that fails here cannot be retried through the queue: it is logged for the
        operator, and the reminder's status stays readable through the API.
        """
        if self._events is None:
            return
        event = delivery_failed(
            key.tenant_id,
            key.appointment_id,
            key.reminder_id,
            reason=reason or "failed",
            occurred_at=self._clock(),
            message_id=record.message_id if record is not None else None,
        )
        try:
            self._events.publish([event])
        except EventPublishError:
            _log.exception("DeliveryFailed could not be published", extra=dict(event.ids))

    def _tenant(self, tenant_id: str) -> Tenant:
        return self._tenant_and_templates(tenant_id)[0]

    def _tenant_and_templates(self, tenant_id: str) -> tuple[Tenant, dict[tuple[str, str], str]]:
        # One Query per tenant per batch: a batch is usually one tenant's reminders.
        if tenant_id not in self._tenant_cache:
            self._tenant_cache[tenant_id] = self._tenants.get_with_templates(tenant_id)
        return self._tenant_cache[tenant_id]


def _why_stale(appointment: Appointment, plan: int, now: datetime) -> str | None:
    """Why a reminder of plan ``plan`` must not be sent now (None: it may)."""
    if appointment.status.is_closed:
        return f"appointment_{appointment.status.value}"
    if appointment.current_plan != plan:
        return "rescheduled"
    if appointment.starts_at <= now:
        return "past_start"
    return None
