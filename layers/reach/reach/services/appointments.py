"""Appointment operations for the API: book, read, list, change, cancel, and close a visit
with its outcome (completed, no-show)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from reach.clock import Clock
from reach.data.appointments import (
    AlreadyExists,
    AppointmentPage,
    AppointmentRepository,
    ConcurrentChange,
)
from reach.data.contacts import ContactRepository
from reach.data.tenants import TenantRepository
from reach.domain.durations import ReminderOffset, reminder_offsets
from reach.domain.errors import Conflict, InvalidInput, NotFound
from reach.domain.message import MessageStatus
from reach.domain.models import (
    VISIT_OUTCOMES,
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Reminder,
    Tenant,
    confirmation_reminder_id,
)
from reach.domain.phones import region_of, textable_e164, to_e164
from reach.domain.planning import plan_reminders
from reach.domain.quiet_hours import QuietHours
from reach.domain.visits import check_visit_details
from reach.domain.zones import load_zone, zone_name
from reach.ports.events import DomainEvent, EventPublisher, EventType, event_id_for

#: Bookings further ahead than this are refused as probable typos (a wrong year).
MAX_BOOKING_HORIZON = timedelta(days=400)
#: Where the consent of a recipient first booked through the API came from.
BOOKING_CONSENT_SOURCE = "booking"
#: Attempts at a change that keeps meeting concurrent writers before giving up with 409.
CHANGE_ATTEMPTS = 3
#: The event each outcome of a visit publishes.
OUTCOME_EVENTS = {
    AppointmentStatus.COMPLETED: EventType.APPOINTMENT_COMPLETED,
    AppointmentStatus.NO_SHOW: EventType.APPOINTMENT_NO_SHOW,
}
#: What an outcome is called in a refusal ("can't be completed").
_OUTCOME_VERBS = {AppointmentStatus.COMPLETED: "completed", AppointmentStatus.NO_SHOW: "a no-show"}
# Namespace for ids derived from a tenant's external_id: the same booking, the same id.
_EXTERNAL_ID_NAMESPACE = uuid.UUID("6f1c5b0e-2d4a-4c1e-9a57-0c6f3b9d8e21")


@dataclass(frozen=True)
class NewAppointment:
    """A booking as the clinic sent it, already well-formed (types checked at the edge)."""

    phone: str
    starts_at: datetime
    timezone: str | None = None
    external_id: str | None = None
    first_name: str | None = None
    location: str | None = None
    kind: AppointmentKind = AppointmentKind.CLINIC_VISIT
    language: str = "en"
    reminders: list[str] | None = None
    window_ends_at: datetime | None = None
    technician_name: str | None = None
    #: Booked through FHIR: the patient participant's index (see ``Appointment``).
    fhir_patient_participant: int | None = None


@dataclass(frozen=True)
class Booking:
    """A booking's outcome: the appointment, whether it was created now, and whether its
    recipient has opted out of this tenant's texts (booked anyway; the clinic is told)."""

    appointment: Appointment
    created: bool
    opted_out: bool


@dataclass(frozen=True)
class AppointmentChanges:
    """A PATCH: None leaves a field as it is; names in ``cleared`` are set to null."""

    starts_at: datetime | None = None
    timezone: str | None = None
    phone: str | None = None
    first_name: str | None = None
    location: str | None = None
    kind: AppointmentKind | None = None
    language: str | None = None
    reminders: list[str] | None = None
    window_ends_at: datetime | None = None
    technician_name: str | None = None
    fhir_patient_participant: int | None = None
    expected_version: int | None = None
    cleared: frozenset[str] = field(default_factory=frozenset)


class AppointmentService:
    """Books appointments and keeps their reminder plans true to every change.

    A booking is where a recipient's consent to reminders comes from: the first booking (or
    change of phone) for a number records it, and never overrides a recorded opt-out.
    """

    def __init__(
        self,
        appointments: AppointmentRepository,
        tenants: TenantRepository,
        contacts: ContactRepository,
        clock: Clock,
        events: EventPublisher | None = None,
        *,
        on_completed: Callable[[Appointment], object] | None = None,
    ) -> None:
        self._appointments = appointments
        #: What follows a completed visit (the surveys it triggers); called on every
        #: completion, repeated ones too, so it must be idempotent.
        self.on_completed = on_completed
        self._tenants = tenants
        self._contacts = contacts
        self._clock = clock
        # Only closing a visit publishes; tools that only book need no bus.
        self._events = events

    def create(self, tenant_id: str, new: NewAppointment) -> tuple[Appointment, bool]:
        """Book an appointment; returns it and whether it was created now (``book``)."""
        booking = self.book(tenant_id, new)
        return booking.appointment, booking.created

    def book(self, tenant_id: str, new: NewAppointment) -> Booking:
        """Book an appointment, with what the clinic should know of its recipient's consent.

        Idempotent on ``external_id``: repeating a booking returns the stored appointment.
        An ``external_id`` already used for a cancelled appointment, or for one with other
        details, is a Conflict naming it and the appointment: the new booking is not lost
        quietly behind the old one.
        """
        appointment_id = appointment_id_for(tenant_id, new.external_id)
        if new.external_id is not None:
            existing = self._existing(tenant_id, appointment_id)
            if existing is not None:
                return self._replay(new, existing)
        tenant = self._tenants.get(tenant_id)
        now = self._clock()
        # A zone coming in must be an IANA name; the tenant's own was checked when it was set.
        timezone = zone_name(new.timezone) if new.timezone else tenant.timezone
        load_zone(timezone)
        phone = self._recipient_phone(new.phone, tenant)
        offsets = (
            reminder_offsets(new.reminders, field="reminders")
            if new.reminders is not None
            else tenant.offsets_for(new.kind)
        )
        starts_at = _future_start(new.starts_at, now)
        check_visit_details(new.kind, starts_at, new.window_ends_at, new.technician_name)
        appointment = Appointment(
            tenant_id=tenant_id,
            appointment_id=appointment_id,
            external_id=new.external_id,
            phone=phone,
            starts_at=starts_at,
            timezone=timezone,
            kind=new.kind,
            language=new.language,
            status=AppointmentStatus.SCHEDULED,
            version=1,
            plan_version=1,
            reminder_offsets=offsets,
            first_name=new.first_name,
            location=new.location,
            window_ends_at=new.window_ends_at,
            technician_name=new.technician_name,
            fhir_patient_participant=new.fhir_patient_participant,
            created_at=now,
            updated_at=now,
        )
        # The confirmation is planned here only: a reschedule's new plan has none.
        confirm = tenant.confirms(new.kind)
        appointment = replace(
            appointment, reminders=tuple(_plan(appointment, tenant, now, confirm=confirm))
        )
        try:
            self._appointments.create(appointment)
        except AlreadyExists:
            # Two bookings with one external_id raced and the other one won: this one is its
            # replay only if it is the same booking.
            return self._replay(new, self._appointments.get(tenant_id, appointment_id))
        # Only once the booking is stored: a booking that failed must leave no consent record
        # behind. Recording first consent twice changes nothing.
        return Booking(appointment, True, self._record_consent(appointment, now))

    def opted_out(self, tenant_id: str, phone: str) -> bool:
        """Whether ``phone`` (E.164) has opted out of the tenant's texts: one read."""
        return self._contacts.get(tenant_id, phone).opted_out

    def get(self, tenant_id: str, appointment_id: str) -> Appointment:
        return self._appointments.get(tenant_id, appointment_id)

    def get_without_reminders(self, tenant_id: str, appointment_id: str) -> Appointment:
        """The appointment alone (one GetItem), or NotFound."""
        appointment = self._appointments.get_without_reminders(tenant_id, appointment_id)
        if appointment is None:
            raise NotFound(f"appointment {appointment_id} not found")
        return appointment

    def list_page(
        self,
        tenant_id: str,
        starts_from: datetime | None,
        starts_to: datetime | None,
        status: AppointmentStatus | None,
        limit: int,
        next_token: str | None,
    ) -> AppointmentPage:
        """Appointments starting in [from, to]; by default from now to 31 days ahead."""
        lower = starts_from or self._clock()
        upper = starts_to or lower + timedelta(days=31)
        if upper < lower:
            raise InvalidInput("to", "must not be before 'from'")
        # A page token holds for the query the client wrote; an absent bound moves with the
        # clock and is bound as absent.
        query = "\n".join(bound.isoformat() if bound else "" for bound in (starts_from, starts_to))
        return self._appointments.page(
            tenant_id, lower, upper, status, limit, next_token, query=query
        )

    def change(
        self, tenant_id: str, appointment_id: str, changes: AppointmentChanges
    ) -> Appointment:
        """Apply a PATCH. A new time, zone or offset list replaces the pending reminders."""
        for attempt in range(CHANGE_ATTEMPTS):
            current = self._appointments.get(tenant_id, appointment_id)
            if changes.expected_version not in (None, current.version):
                raise Conflict(
                    f"version {changes.expected_version} is stale; the appointment is at "
                    f"version {current.version}"
                )
            current.ensure_open(doing="changed")
            try:
                return self._apply(current, changes)
            except ConcurrentChange:
                if changes.expected_version is not None or attempt == CHANGE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def cancel(self, tenant_id: str, appointment_id: str) -> Appointment:
        """Cancel the appointment and its pending reminders; cancelling twice is harmless."""
        for attempt in range(CHANGE_ATTEMPTS):
            current = self._appointments.get(tenant_id, appointment_id)
            if current.status is AppointmentStatus.CANCELLED:
                return current
            now = self._clock()
            updated = replace(
                current.moved_to(AppointmentStatus.CANCELLED, doing="cancelled"),
                version=current.version + 1,
                updated_at=now,
            )
            retired = current.retire_pending("appointment_cancelled")
            try:
                self._appointments.save_changes(current, updated, retired, [])
            except ConcurrentChange:
                if attempt == CHANGE_ATTEMPTS - 1:
                    raise
                continue
            return self._appointments.get(tenant_id, appointment_id)
        raise AssertionError("unreachable")  # pragma: no cover

    def close_visit(
        self, tenant_id: str, appointment_id: str, outcome: AppointmentStatus
    ) -> Appointment:
        """Close the visit with ``outcome`` (completed or no-show), retiring its pending
        reminders in the same write, and publish the outcome's event.

        Repeating the same outcome changes nothing and publishes the same event again under
        its own id (a client retrying after a failed publish; consumers dedupe on the id). A
        visit closed otherwise (cancelled, or the other outcome) is a Conflict.
        """
        if outcome not in VISIT_OUTCOMES:
            raise ValueError(f"{outcome} is not an outcome of a visit")
        for attempt in range(CHANGE_ATTEMPTS):
            current = self._appointments.get(tenant_id, appointment_id)
            if current.status is outcome:
                self._publish_outcome(current)
                self._followed(current)
                return current
            now = self._clock()
            updated = replace(
                current.moved_to(outcome, doing=_OUTCOME_VERBS[outcome]),
                version=current.version + 1,
                updated_at=now,
            )
            retired = current.retire_pending(f"appointment_{outcome.value}")
            try:
                self._appointments.save_changes(current, updated, retired, [])
            except ConcurrentChange:
                if attempt == CHANGE_ATTEMPTS - 1:
                    raise
                continue
            self._publish_outcome(updated)
            self._followed(updated)
            return self._appointments.get(tenant_id, appointment_id)
        raise AssertionError("unreachable")  # pragma: no cover

    def _followed(self, closed: Appointment) -> None:
        """Start what a completed visit triggers. A crash between the completion's write and
        this leaves the client a 5xx: its retry repeats the completion, which repeats this
        (each survey once per appointment), as it repeats the event."""
        if self.on_completed is not None and closed.status is AppointmentStatus.COMPLETED:
            self.on_completed(closed)

    def _publish_outcome(self, closed: Appointment) -> None:
        """The outcome's event, named by the appointment: one per visit whatever the tries."""
        if self._events is None:
            raise RuntimeError("closing a visit needs an event publisher")
        event_type = OUTCOME_EVENTS[closed.status]
        self._events.publish(
            [
                DomainEvent(
                    type=event_type,
                    tenant_id=closed.tenant_id,
                    event_id=event_id_for(event_type, closed.tenant_id, closed.appointment_id),
                    occurred_at=closed.updated_at,
                    ids={"appointment_id": closed.appointment_id},
                    data={"kind": closed.kind.value},
                )
            ]
        )

    def _apply(self, current: Appointment, changes: AppointmentChanges) -> Appointment:
        now = self._clock()
        tenant = self._tenants.get(current.tenant_id)
        if changes.timezone is not None:
            zone_name(changes.timezone)
        updated = replace(
            current,
            starts_at=current.starts_at
            if changes.starts_at is None
            else _future_start(changes.starts_at, now),
            timezone=changes.timezone or current.timezone,
            phone=current.phone
            if changes.phone is None
            else self._recipient_phone(changes.phone, tenant),
            first_name=_patched(current.first_name, changes.first_name, "first_name", changes),
            location=_patched(current.location, changes.location, "location", changes),
            window_ends_at=_patched(
                current.window_ends_at, changes.window_ends_at, "window_ends_at", changes
            ),
            technician_name=_patched(
                current.technician_name, changes.technician_name, "technician_name", changes
            ),
            kind=changes.kind or current.kind,
            language=changes.language or current.language,
            fhir_patient_participant=current.fhir_patient_participant
            if changes.fhir_patient_participant is None
            else changes.fhir_patient_participant,
            reminder_offsets=current.reminder_offsets
            if changes.reminders is None
            else reminder_offsets(changes.reminders, field="reminders"),
        )
        check_visit_details(
            updated.kind, updated.starts_at, updated.window_ends_at, updated.technician_name
        )
        if updated == current:
            return current
        updated = replace(updated, version=current.version + 1, updated_at=now)
        replan = (updated.starts_at, updated.timezone, updated.reminder_offsets) != (
            current.starts_at,
            current.timezone,
            current.reminder_offsets,
        )
        retired: list[Reminder] = []
        added: list[Reminder] = []
        if replan:
            updated = replace(updated, plan_version=updated.version)
            retired = current.retire_pending("rescheduled")
            added = _plan(updated, tenant, now)
            if updated.starts_at != current.starts_at:
                # A new time needs a new confirmation, and "not home" was said of the old one.
                updated = replace(
                    updated.moved_to(AppointmentStatus.SCHEDULED), customer_status=None
                )
        self._appointments.save_changes(current, updated, retired, added)
        if updated.phone != current.phone:
            # After the change is stored, as for a booking: a refused change records nothing.
            self._record_consent(updated, now)
        return self._appointments.get(current.tenant_id, current.appointment_id)

    def _record_consent(self, appointment: Appointment, at: datetime) -> bool:
        """The stored booking is where the recipient's first consent comes from; this never
        overrides a recorded opt-out. Returns whether the recipient has opted out."""
        return self._contacts.record_first_consent(
            appointment.tenant_id, appointment.phone, BOOKING_CONSENT_SOURCE, at
        ).contact.opted_out

    def _recipient_phone(self, raw: str, tenant: Tenant) -> str:
        """The recipient's number in E.164, refused (naming ``phone``) when no text can reach
        a person there: a landline or service number, or a number Reach sends from."""
        phone = textable_e164(raw, default_region=region_of(tenant.sender_number))
        owner = (
            tenant.tenant_id
            if phone == tenant.sender_number
            else self._tenants.tenant_for_number(phone)
        )
        if owner == tenant.tenant_id:
            raise InvalidInput("phone", f"{phone} is your own sending number, not a recipient's")
        if owner is not None:
            # Another tenant's sending number: texts to it would come back in as replies, and
            # two automatic answerers could then text each other.
            raise InvalidInput("phone", f"{phone} is a number Reach sends from, not a recipient's")
        return phone

    def _replay(self, new: NewAppointment, existing: Appointment) -> Booking:
        """``existing`` when ``new`` repeats its booking, else Conflict naming external_id."""
        if existing.status is AppointmentStatus.CANCELLED:
            raise _external_id_taken(existing, "which is cancelled; book under a new external_id")
        differing = _differences(new, existing, self._tenants.get(existing.tenant_id))
        if differing:
            raise _external_id_taken(
                existing,
                f"with other details ({', '.join(differing)}); change it with PATCH "
                f"/appointments/{existing.appointment_id}, or book under a new external_id",
            )
        # A repeat heals a first booking whose consent write failed after it was stored
        # (dated now: a record never claims consent earlier than we know it); with a record in
        # place this is one read.
        return Booking(existing, False, self._record_consent(existing, self._clock()))

    def _existing(self, tenant_id: str, appointment_id: str) -> Appointment | None:
        try:
            return self._appointments.get(tenant_id, appointment_id)
        except NotFound:
            return None


def appointment_id_for(tenant_id: str, external_id: str | None) -> str:
    """The appointment's id: derived from the tenant and ``external_id`` when there is one (the
    same booking, the same id; another tenant's same external_id, another appointment)."""
    if external_id is None:
        return f"apt_{uuid.uuid4().hex}"
    return f"apt_{uuid.uuid5(_EXTERNAL_ID_NAMESPACE, f'{tenant_id}/{external_id}').hex}"


def _external_id_taken(existing: Appointment, how: str) -> Conflict:
    return Conflict(
        f"'{existing.external_id}' already belongs to appointment {existing.appointment_id}, {how}",
        field="external_id",
    )


def _differences(new: NewAppointment, stored: Appointment, tenant: Tenant) -> list[str]:
    """The fields in which booking ``new`` differs from the ``stored`` one it repeats.

    What the request left out and the tenant filled in at booking (the time zone, the
    reminders) is not compared: the tenant's default may have changed since, and the same
    body sent again must still find its booking. Fields with fixed defaults (kind, language)
    and fields whose absence means "none" (first_name, location) are compared as sent.
    """
    region = region_of(tenant.sender_number)
    sent: dict[str, object] = {
        "phone": to_e164(new.phone, default_region=region),
        "starts_at": new.starts_at,
        "kind": new.kind,
        "language": new.language,
        "first_name": new.first_name,
        "location": new.location,
        "window_ends_at": new.window_ends_at,
        "technician_name": new.technician_name,
    }
    if new.timezone is not None:
        sent["timezone"] = new.timezone
    if new.reminders is not None:
        sent["reminders"] = reminder_offsets(new.reminders, field="reminders")
    stored_values: dict[str, object] = {
        "phone": stored.phone,
        "starts_at": stored.starts_at,
        "kind": stored.kind,
        "language": stored.language,
        "first_name": stored.first_name,
        "location": stored.location,
        "window_ends_at": stored.window_ends_at,
        "technician_name": stored.technician_name,
        "timezone": stored.timezone,
        "reminders": tuple(stored.reminder_offsets),
    }
    return [name for name, value in sent.items() if value != stored_values[name]]


def _future_start(starts_at: datetime, now: datetime) -> datetime:
    if starts_at.tzinfo is None:
        raise InvalidInput("starts_at", "needs a UTC offset, e.g. 2026-03-08T08:30:00-04:00")
    if starts_at <= now:
        raise InvalidInput("starts_at", "must be in the future")
    if starts_at - now > MAX_BOOKING_HORIZON:
        raise InvalidInput("starts_at", f"must be within {MAX_BOOKING_HORIZON.days} days")
    return starts_at


def _patched[T](old: T | None, new: T | None, name: str, changes: AppointmentChanges) -> T | None:
    if name in changes.cleared:
        return None
    return old if new is None else new


def _plan(
    appointment: Appointment, tenant: Tenant, now: datetime, *, confirm: bool = False
) -> list[Reminder]:
    """The appointment's reminders; with ``confirm`` (a new booking of a kind the tenant
    confirms), its booking confirmation too, as reminder 0 of the plan."""
    planned = plan_reminders(
        appointment.starts_at,
        load_zone(appointment.timezone),
        [ReminderOffset.parse(text) for text in appointment.reminder_offsets],
        QuietHours.parse(tenant.quiet_hours),
        now,
        confirm=confirm,
        capped=appointment.kind is AppointmentKind.CLINIC_VISIT,
    )
    numbers = itertools.count(1)
    return [
        Reminder(
            reminder_id=confirmation_reminder_id(appointment.current_plan)
            if plan.is_confirmation
            else f"{appointment.current_plan}.{next(numbers)}",
            appointment_version=appointment.current_plan,
            offsets=plan.offsets,
            send_at=plan.send_at,
            status=MessageStatus.PENDING if plan.will_send else MessageStatus.SKIPPED,
            reason=",".join(plan.notes) or None,
        )
        for plan in planned
    ]
