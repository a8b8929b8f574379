"""The appointment reminder, the first outbound kind.

A reminder may go while its appointment is open, still on the plan it was made for, and not
yet started; it reads in the tenant's wording for the visit's kind and language, and the
healthcare caps apply to clinic visits only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reach.data.appointments import AppointmentRepository
from reach.data.batch_reads import ItemKey
from reach.data.reminders import Guard, ReminderKey
from reach.data.tables import AppointmentsTableItem, ReminderItem, appointment_pk, reminder_sk
from reach.domain.models import Appointment, AppointmentKind, Tenant, is_confirmation
from reach.domain.rendering import render_reminder
from reach.domain.templates import confirmation_template_for, template_for
from reach.domain.zones import load_zone
from reach.ports.events import DomainEvent, delivery_failed
from reach.ports.send_queue import QueuedReminder
from reach.services.sending.kind import Outgoing, Stale

REMINDER = "reminder"


@dataclass(frozen=True)
class ReminderToSend:
    """What a reminder is rendered from: which reminder, and its appointment as it is now."""

    key: ReminderKey
    appointment: Appointment


class ReminderKind:
    """Reminders of appointments, re-checked against the appointment as it is now."""

    name = REMINDER

    def __init__(self, appointments: AppointmentRepository) -> None:
        self._appointments = appointments

    def wants(self, queued: QueuedReminder) -> Sequence[ItemKey]:
        keys = [self._appointments.item_key(queued.tenant_id, queued.appointment_id)]
        if queued.plan is None:  # queued before the plan travelled with it: read the reminder
            keys.append(reminder_key(queued))
        return keys

    def load(
        self, queued: QueuedReminder, found: Mapping[ItemKey, Any], now: datetime
    ) -> Outgoing[ReminderToSend] | Stale:
        appointment = self._appointments.from_found(
            found, self._appointments.item_key(queued.tenant_id, queued.appointment_id)
        )
        if appointment is None:
            return Stale("appointment_missing")
        plan = queued.plan if queued.plan is not None else _planned(found, queued)
        stale = why_stale(appointment, plan, now)
        if stale is not None:
            return Stale(stale)
        key = ReminderKey(queued.tenant_id, queued.appointment_id, queued.reminder_id)
        return Outgoing(
            tenant_id=appointment.tenant_id,
            phone=appointment.phone,
            zone=load_zone(appointment.timezone),
            deadline=appointment.starts_at,
            capped=appointment.kind is AppointmentKind.CLINIC_VISIT,
            subject=ReminderToSend(key, appointment),
        )

    def unchanged(self, outgoing: Outgoing[ReminderToSend]) -> Guard:
        return self._appointments.unchanged(outgoing.subject.appointment)

    def render(
        self,
        outgoing: Outgoing[ReminderToSend],
        tenant: Tenant,
        templates: Mapping[tuple[str, str], str],
    ) -> str:
        appointment = outgoing.subject.appointment
        # A booking confirmation is a reminder in every rule but its wording.
        template = (
            confirmation_template_for(appointment.kind, appointment.language)
            if is_confirmation(outgoing.subject.key.reminder_id)
            else template_for(appointment.kind, appointment.language, templates)
        )
        return render_reminder(
            template,
            first_name=appointment.first_name,
            starts_at=appointment.starts_at,
            zone=outgoing.zone,
            org_name=tenant.name,
            org_phone_e164=tenant.sender_number,
            org_phone_national=tenant.sender_number_national,
            location=appointment.location,
            window_ends_at=appointment.window_ends_at,
            technician_name=appointment.technician_name,
        )

    def failure_event(
        self,
        outgoing: Outgoing[ReminderToSend],
        reason: str,
        occurred_at: datetime,
        message_id: str | None,
    ) -> DomainEvent:
        key = outgoing.subject.key
        return delivery_failed(
            key.tenant_id,
            key.appointment_id,
            key.reminder_id,
            reason=reason,
            occurred_at=occurred_at,
            message_id=message_id,
        )

    def sent_event(
        self, outgoing: Outgoing[ReminderToSend], occurred_at: datetime, message_id: str
    ) -> DomainEvent | None:
        """A reminder that went announces nothing: replies and receipts tell its story."""
        return None


def reminder_key(queued: QueuedReminder) -> ItemKey:
    return ItemKey(
        AppointmentsTableItem,
        appointment_pk(queued.tenant_id, queued.appointment_id),
        reminder_sk(queued.reminder_id),
    )


def _planned(found: Mapping[ItemKey, Any], queued: QueuedReminder) -> int | None:
    """The plan a reminder was made for, from its own item (None: the reminder is gone)."""
    item = found.get(reminder_key(queued))
    return int(item.appointment_version) if isinstance(item, ReminderItem) else None


def why_stale(appointment: Appointment, plan: int | None, now: datetime) -> str | None:
    """Why a reminder of plan ``plan`` must not be sent now (None: it may)."""
    if appointment.status.is_closed:
        return f"appointment_{appointment.status.value}"
    if appointment.current_plan != plan:
        return "rescheduled"
    if appointment.starts_at <= now:
        return "past_start"
    return None
