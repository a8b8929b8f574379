"""Asking for a field-service notice: POST /appointments/{id}/notices.

The request is checked against what every text obeys before anything is written, so the
caller hears at once what would stop it: an appointment that is closed (409), a recipient who
opted out (409 ``opted_out``), the recipient's quiet hours (409 ``quiet_hours``, with the time
it could go: a notice is never held, a stale ETA is worse than none). The notice is then
written already claimed, and that write is the hand-off: the appointments table's stream
brings the new notice to the sender (``SenderNoticeMapping`` in template.yaml), which takes it
like any text, re-checking consent, quiet hours, the caps and pacing. There is no queue call
to fail after the write, so a notice written is a notice that will be tried; if its stream
record is never handled, its claim's lease runs out and a dispatcher queues it again.

The same notice asked twice is made once: the same ``Idempotency-Key``, or the same type with
an ETA within five minutes of the type's latest notice, answers with that notice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from reach.clock import Clock
from reach.data.appointments import AppointmentRepository
from reach.data.batch_reads import BatchReader
from reach.data.contacts import ContactRepository
from reach.data.notices import Mark, NoticeStore, Refusal
from reach.data.tenants import TenantRepository
from reach.domain.errors import Conflict, InvalidInput, NotFound
from reach.domain.message import MessageStatus
from reach.domain.models import Appointment, Tenant
from reach.domain.notices import (
    SAME_ETA,
    Notice,
    NoticeText,
    NoticeType,
    checked_eta,
    checked_link,
    checked_parts,
    render_notice,
)
from reach.domain.quiet_hours import QuietHours
from reach.domain.zones import load_zone

#: Writes tried when other requests for the same appointment keep moving its marks.
_ATTEMPTS = 3


class RecipientOptedOut(Conflict):
    """The recipient opted out: the notice is not sent, and nothing is stored."""

    code = "opted_out"


class InQuietHours(Conflict):
    """The recipient's quiet hours (docs/facts.md#quiet-hours): a notice is never held, so
    it is refused."""

    code = "quiet_hours"

    def __init__(self, until: datetime) -> None:
        super().__init__(
            f"it is quiet hours for the recipient until {until.isoformat()}; "
            "a notice is not held: ask again then, with a fresh ETA"
        )
        self.until = until


class AppointmentClosed(Conflict):
    code = "appointment_closed"


@dataclass(frozen=True)
class NoticeRequest:
    type: NoticeType
    eta: datetime | None = None
    eta_minutes: int | None = None
    link: str | None = None


@dataclass(frozen=True)
class NoticeAsked:
    notice: Notice
    #: False: a repeat, answered with the notice the first request made.
    created: bool
    #: The visit's time zone; None when it was not read (asked without waiting).
    zone: str | None


class NoticeService:
    def __init__(
        self,
        appointments: AppointmentRepository,
        tenants: TenantRepository,
        contacts: ContactRepository,
        notices: NoticeStore,
        clock: Clock,
        *,
        reader: BatchReader | None = None,
        new_id: Callable[[], str] = lambda: f"ntc_{uuid.uuid4().hex}",
    ) -> None:
        self._appointments = appointments
        self._tenants = tenants
        self._contacts = contacts
        self._notices = notices
        self._clock = clock
        self._reader = reader or BatchReader()
        self._new_id = new_id

    def ask(
        self,
        tenant_id: str,
        appointment_id: str,
        request: NoticeRequest,
        idempotency_key: str | None = None,
        *,
        wait: bool = True,
    ) -> NoticeAsked:
        """Ask for a notice. ``wait=False`` (``Prefer: respond-async``): write it at once,
        on the one condition a write can check without reading the visit (it is open), and
        leave the rest to the sender, which announces a notice it skips (``NoticeSkipped``)."""
        now = self._clock()
        eta = _eta(request, now)
        link = checked_link(request.link) if request.link is not None else None
        if not wait:
            unread = self._new_notice(tenant_id, appointment_id, request.type, eta, link, now)
            return self._ask_unread(unread, idempotency_key)
        for _ in range(_ATTEMPTS):
            asked = self._try(tenant_id, appointment_id, request.type, eta, link, idempotency_key)
            if asked is not None:
                return asked
        raise Conflict("other requests for this appointment's notices keep racing; ask again")

    def _try(
        self,
        tenant_id: str,
        appointment_id: str,
        notice_type: NoticeType,
        eta: datetime,
        link: str | None,
        idempotency_key: str | None,
    ) -> NoticeAsked | None:
        """One read and one write (the hand-off too); None when another request moved a mark
        meanwhile."""
        appointment_key = self._appointments.item_key(tenant_id, appointment_id)
        tenant_key = self._tenants.profile_key(tenant_id)
        mark_keys = self._notices.mark_keys(tenant_id, appointment_id, notice_type, idempotency_key)
        found = self._reader.read([appointment_key, tenant_key, *mark_keys])
        appointment = self._appointments.from_found(found, appointment_key)
        tenant = self._tenants.from_found(found, tenant_key)
        if appointment is None or tenant is None:
            raise NotFound(f"appointment {appointment_id} not found")
        latest = self._notices.mark_from(found, mark_keys[0])
        keyed = self._notices.mark_from(found, mark_keys[1]) if idempotency_key else None
        repeat = _repeat_of(latest, keyed, eta)
        if repeat is not None:
            earlier = self._notices.get(tenant_id, appointment_id, repeat)
            if earlier is not None:
                return NoticeAsked(earlier, created=False, zone=appointment.timezone)
        now = self._clock()
        notice = self._checked(appointment, tenant, notice_type, eta, link, now)
        refusal = self._notices.create(
            notice,
            latest=latest,
            idempotency_key=idempotency_key,
            consent=self._contacts.consent_check(tenant_id, appointment.phone),
        )
        if refusal is Refusal.RACED:
            return None
        if refusal is Refusal.OPTED_OUT:
            raise RecipientOptedOut("the recipient opted out of texts; no notice was sent")
        if refusal is Refusal.CLOSED:
            raise AppointmentClosed("the appointment was closed or rescheduled meanwhile")
        return NoticeAsked(notice, created=True, zone=appointment.timezone)

    def _ask_unread(self, notice: Notice, idempotency_key: str | None) -> NoticeAsked:
        """One write; a read only to answer a refusal or a repeat."""
        tenant_id, appointment_id = notice.tenant_id, notice.appointment_id
        for _ in range(_ATTEMPTS):
            refusal = self._notices.create_unread(notice, idempotency_key=idempotency_key)
            if refusal is None:
                return NoticeAsked(notice, created=True, zone=None)
            if refusal is Refusal.CLOSED:
                appointment = self._appointments.get_without_reminders(tenant_id, appointment_id)
                if appointment is None:
                    raise NotFound(f"appointment {appointment_id} not found")
                raise AppointmentClosed(
                    f"the appointment is {appointment.status.value}: no notice goes on it"
                )
            if refusal is Refusal.KEY_TAKEN and idempotency_key is not None:
                earlier = self._notices.keyed(tenant_id, appointment_id, idempotency_key)
                if earlier is not None:
                    return NoticeAsked(earlier, created=False, zone=None)
        raise Conflict("other requests for this appointment's notices keep racing; ask again")

    def _checked(
        self,
        appointment: Appointment,
        tenant: Tenant,
        notice_type: NoticeType,
        eta: datetime,
        link: str | None,
        now: datetime,
    ) -> Notice:
        """The notice to write, once it passes what would stop it being sent now."""
        if appointment.status.is_closed:
            raise AppointmentClosed(
                f"the appointment is {appointment.status.value}: no notice goes on it"
            )
        zone = load_zone(appointment.timezone)
        quiet = QuietHours.parse(tenant.quiet_hours).period_at(now, zone)
        if quiet is not None:
            raise InQuietHours(quiet.ends.astimezone(zone))
        text = NoticeText(notice_type, eta, link)
        checked_parts(
            render_notice(
                text,
                language=appointment.language,
                zone=zone,
                org_name=tenant.name,
                technician_name=appointment.technician_name,
                starts_at=appointment.starts_at,
                window_ends_at=appointment.window_ends_at,
            )
        )
        return self._new_notice(
            appointment.tenant_id,
            appointment.appointment_id,
            notice_type,
            eta,
            link,
            now,
            phone=appointment.phone,
            plan=appointment.current_plan,
        )

    def _new_notice(
        self,
        tenant_id: str,
        appointment_id: str,
        notice_type: NoticeType,
        eta: datetime,
        link: str | None,
        now: datetime,
        *,
        phone: str | None = None,
        plan: int | None = None,
    ) -> Notice:
        """A new notice, written already claimed; no phone or plan when the visit was not
        read (asked without waiting)."""
        return Notice(
            tenant_id=tenant_id,
            appointment_id=appointment_id,
            notice_id=self._new_id(),
            type=notice_type,
            eta=eta,
            link=link,
            phone=phone,
            plan=plan,
            status=MessageStatus.QUEUED,
            created_at=now,
            claim_id=uuid.uuid4().hex,
        )


def _eta(request: NoticeRequest, now: datetime) -> datetime:
    if (request.eta is None) == (request.eta_minutes is None):
        field = "eta_minutes" if request.eta is not None else "eta"
        raise InvalidInput(field, "give exactly one of eta and eta_minutes")
    if request.eta_minutes is not None:
        if not 1 <= request.eta_minutes <= 720:
            raise InvalidInput("eta_minutes", "must be from 1 to 720 (12 hours)")
        return (now + timedelta(minutes=request.eta_minutes)).replace(microsecond=0)
    assert request.eta is not None
    return checked_eta(request.eta, now)


def _repeat_of(latest: Mark | None, keyed: Mark | None, eta: datetime) -> str | None:
    """The notice a request repeats: its key's, else the type's latest if its ETA is close."""
    if keyed is not None:
        return keyed.notice_id
    if latest is not None and latest.eta is not None and abs(latest.eta - eta) <= SAME_ETA:
        return latest.notice_id
    return None
