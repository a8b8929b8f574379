"""Domain records. Persistence models live in reach.data and map to these explicitly."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from reach.domain.errors import Conflict
from reach.domain.message import MessageStatus
from reach.domain.retention import DEFAULT_RETENTION_DAYS


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


class CustomerStatus(StrEnum):
    """What the customer told us about their own part in a service visit."""

    #: Nobody will be home for the visit: the company decides what to do (never automatic).
    NOT_HOME = "not_home"


#: How a visit ends once it took place (or did not): each is a closed status.
VISIT_OUTCOMES = (AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW)

#: When a service visit is reminded unless the tenant set its own defaults for the kind: the
#: evening before and the morning of the visit, in the visit's local time.
SERVICE_VISIT_OFFSETS = ("P1D@18:00", "@07:30")


#: The offset label of a booking confirmation: one more reminder of the appointment, due at
#: once, planned only at booking (never on a reschedule).
CONFIRMATION = "confirmation"
#: A confirmation is always reminder 0 of its plan (``<plan>.0``; reminders are numbered from
#: 1), so the sender knows it from the queue message's reminder id with no extra read.
_CONFIRMATION_ORDINAL = "0"


def confirmation_reminder_id(plan: int) -> str:
    return f"{plan}.{_CONFIRMATION_ORDINAL}"


def is_confirmation(reminder_id: str) -> bool:
    """Whether ``reminder_id`` names a booking confirmation (see CONFIRMATION)."""
    return reminder_id.rpartition(".")[2] == _CONFIRMATION_ORDINAL


#: Why a reminder was skipped because its recipient opted out (and resumed on opt-in).
OPTED_OUT_REASON = "opted_out"
#: Why a reminder an opt-out skipped is pending again.
RESUMED_REASON = "resumed_opt_in"


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
    #: Default offsets of one kind of visit, in place of ``reminder_offsets``: (kind, offsets).
    reminder_offsets_by_kind: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: The kinds of visit whose bookings are confirmed by text when they are made (sorted).
    confirm_bookings: tuple[str, ...] = ()
    #: Days message bodies and inbound texts are kept (reach.domain.retention).
    retention_days: int = DEFAULT_RETENTION_DAYS
    #: ``sender_number`` in national format, as the stored profile has it (None: a profile
    #: written before it was stored, or a tenant not yet stored). Derived from the number,
    #: so it takes no part in comparing tenants.
    sender_number_national: str | None = field(default=None, compare=False)

    def confirms(self, kind: AppointmentKind) -> bool:
        """Whether a new booking of ``kind`` gets a booking confirmation."""
        return kind.value in self.confirm_bookings

    def offsets_for(self, kind: AppointmentKind) -> tuple[str, ...]:
        """The reminders a booking of ``kind`` gets when it names none: the tenant's own for
        the kind, else the evening before and morning of for a service visit, else the
        tenant's general default."""
        own = dict(self.reminder_offsets_by_kind).get(kind.value)
        if own:
            return own
        if kind is AppointmentKind.SERVICE_VISIT:
            return SERVICE_VISIT_OFFSETS
        return self.reminder_offsets


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
    status: MessageStatus
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
    #: A service visit's arrival window closes at this moment (it opens at ``starts_at``).
    window_ends_at: datetime | None = None
    #: The technician's first name (service visits only).
    technician_name: str | None = None
    #: What the customer said of their own part (a "not home" reply), for the company.
    customer_status: CustomerStatus | None = None
    #: The version whose reminder plan is current: it moves only when the plan is replaced
    #: (a new time, zone or offsets), so a detail change or a reply keeps reminders valid.
    #: 0 means "the same as version" (appointments stored before plans had their own).
    plan_version: int = 0
    #: Minutes the recipient said they would be late (their last RUNNING_LATE reply).
    late_minutes: int | None = None
    #: Booked through FHIR (``external_id`` is ``Appointment/<id>``): the index of the patient's
    #: participant in the clinic's resource, which the status write-back patches.
    fhir_patient_participant: int | None = None
    #: The recipient's last reply applied to the appointment, and when it was received.
    last_reply_id: str | None = None
    last_reply_at: datetime | None = None
    reminders: tuple[Reminder, ...] = field(default=())

    @property
    def current_plan(self) -> int:
        return self.plan_version or self.version

    @property
    def is_closed(self) -> bool:
        """Cancelled, completed or a no-show: nothing may change it any more."""
        return self.status.is_closed

    def can_move_to(self, status: AppointmentStatus) -> bool:
        """Whether the appointment may take ``status`` now. A closed appointment is final;
        an open one may take any status (a reply, a new time, a cancellation), and staying
        where it is changes nothing."""
        return status is self.status or not self.is_closed

    def moved_to(self, status: AppointmentStatus, *, doing: str = "changed") -> Appointment:
        """This appointment in ``status``; Conflict when it may not move (``doing`` names
        the refused action in the message: "changed", "cancelled")."""
        if not self.can_move_to(status):
            raise Conflict(f"appointment is {self.status.value} and can't be {doing}")
        return replace(self, status=status)

    def ensure_open(self, *, doing: str = "changed") -> None:
        """Conflict when the appointment is closed, naming the refused action."""
        if self.is_closed:
            raise Conflict(f"appointment is {self.status.value} and can't be {doing}")

    def retire_pending(self, reason: str) -> list[Reminder]:
        """The pending reminders, cancelled with ``reason``: what a cancellation or a new
        plan takes out of the due index (to be saved with the change)."""
        return [
            replace(reminder, status=MessageStatus.CANCELLED, reason=reason)
            for reminder in self.reminders
            if reminder.status is MessageStatus.PENDING
        ]

    def paused_for_opt_out(self) -> list[Reminder]:
        """The pending reminders, skipped because the recipient opted out (to be saved)."""
        return [
            replace(reminder, status=MessageStatus.SKIPPED, reason=OPTED_OUT_REASON)
            for reminder in self.reminders
            if reminder.status is MessageStatus.PENDING
        ]

    def resumed_after_opt_in(self, now: datetime) -> list[Reminder]:
        """The reminders an opt-out skipped that belong to the current plan and are still
        ahead at ``now``, pending again (to be saved). Older plans' reminders stay skipped:
        a reschedule replaced them."""
        return [
            replace(reminder, status=MessageStatus.PENDING, reason=RESUMED_REASON)
            for reminder in self.reminders
            if reminder.status is MessageStatus.SKIPPED
            and reminder.reason == OPTED_OUT_REASON
            and reminder.appointment_version == self.current_plan
            and reminder.send_at is not None
            and reminder.send_at > now
        ]
