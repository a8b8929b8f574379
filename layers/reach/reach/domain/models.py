"""Domain records. Persistence models live in reach.data and map to these explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class AppointmentStatus(StrEnum):
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    RESCHEDULE_REQUESTED = "reschedule_requested"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"

    @property
    def is_closed(self) -> bool:
        return self in (
            AppointmentStatus.CANCELLED,
            AppointmentStatus.COMPLETED,
            AppointmentStatus.NO_SHOW,
        )


class AppointmentKind(StrEnum):
    CLINIC_VISIT = "clinic_visit"
    SERVICE_VISIT = "service_visit"


class ReminderStatus(StrEnum):
    #: Planned and waiting in the due index for the dispatcher.
    PENDING = "pending"
    #: Claimed by the dispatcher and handed to the send queue.
    QUEUED = "queued"
    #: A sender holds it and is talking to the provider right now.
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    #: Will not be sent; ``reason`` says why (planning rule, opt-out...).
    SKIPPED = "skipped"
    #: Replaced by a reschedule or ended by a cancellation.
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Tenant:
    """An organisation using Reach (a clinic, a service company...)."""

    tenant_id: str
    name: str
    timezone: str
    sender_number: str
    quiet_hours: str
    reminder_offsets: tuple[str, ...]
    created_at: datetime
    #: The tenant's own reply words, added to the defaults: (keyword set, words) pairs.
    reply_keywords: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class ApiKey:
    """An API key's public record; the key itself is only ever known to its holder."""

    tenant_id: str
    prefix: str
    created_at: datetime
    label: str | None = None
    revoked_at: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class Reminder:
    reminder_id: str
    appointment_version: int
    offsets: tuple[str, ...]
    send_at: datetime | None
    status: ReminderStatus
    reason: str | None = None


@dataclass(frozen=True)
class Appointment:
    tenant_id: str
    appointment_id: str
    phone: str
    starts_at: datetime
    timezone: str
    kind: AppointmentKind
    language: str
    status: AppointmentStatus
    version: int
    reminder_offsets: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    external_id: str | None = None
    first_name: str | None = None
    location: str | None = None
    #: The version whose reminder plan is current: it moves only when the plan is replaced
    #: (a new time, zone or offsets), so a detail change or a reply keeps reminders valid.
    #: 0 means "the same as version" (appointments stored before plans had their own).
    plan_version: int = 0
    #: Minutes the recipient said they would be late (their last RUNNING_LATE reply).
    late_minutes: int | None = None
    #: The recipient's last reply applied to the appointment, and when it was received.
    last_reply_id: str | None = None
    last_reply_at: datetime | None = None
    reminders: tuple[Reminder, ...] = field(default=())

    @property
    def current_plan(self) -> int:
        return self.plan_version or self.version
