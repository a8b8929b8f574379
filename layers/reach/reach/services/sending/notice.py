"""Field-service notices, the second outbound kind: "your technician is on the way".

A notice may go while its appointment is open and on the plan it was asked on, and before
its ETA. The ETA is its deadline and it is never held: a notice that quiet hours (or the
caps) would hold is skipped, since a stale ETA is worse than none. The caps apply to clinic
visits only, as for reminders.

A notice asked without waiting (``Prefer: respond-async``) was written before anyone read
its visit: it has no phone and no plan. Its sender makes the checks the API would have made:
whom it goes to and on which plan (the visit's, as read now, held by the start transaction),
whether it repeats the type's latest notice (an ETA within five minutes: skipped as
``repeat``; otherwise its start transaction moves the type's latest-notice mark to it), and
whether it fits its part limit (``too_long``). Every notice the path skips is announced
(``NoticeSkipped``), so a tenant who did not wait hears why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from reach.data.appointments import AppointmentRepository
from reach.data.batch_reads import ItemKey
from reach.data.notices import LatestMark, Mark, NoticeStore, StillOpen, notice_from_image
from reach.data.reminders import NOTICE_ITEM, Guard
from reach.domain.errors import InvalidInput
from reach.domain.message import MessageStatus
from reach.domain.models import Appointment, AppointmentKind, Tenant
from reach.domain.notices import (
    SAME_ETA,
    Notice,
    NoticeText,
    NoticeType,
    checked_parts,
    render_notice,
)
from reach.domain.zones import load_zone
from reach.ports.events import DomainEvent, EventType, delivery_failed, event_id_for, iso_utc
from reach.ports.send_queue import QueuedReminder
from reach.services.sending.kind import Outgoing, Stale, Unsendable

#: The registry name, and the item family the send path moves (``NOTICE_ITEM``).
NOTICE = NOTICE_ITEM


@dataclass(frozen=True)
class NoticeToSend:
    notice: Notice
    appointment: Appointment
    #: Asked without waiting: the API read nothing, this sender checks repeats.
    unread: bool = False
    #: The type's latest-notice mark as read (for ``unread`` notices).
    latest: Mark | None = None


def _repeats(notice: Notice, latest: Mark | None) -> bool:
    """Whether the type's latest notice on the visit makes this one a repeat: another notice,
    with an ETA within ``SAME_ETA`` of this one's."""
    return (
        latest is not None
        and latest.notice_id != notice.notice_id
        and latest.eta is not None
        and abs(latest.eta - notice.eta) <= SAME_ETA
    )


class NoticeKind:
    """Notices of field-service (and clinic) visits, re-checked against the appointment."""

    name = NOTICE

    def __init__(self, appointments: AppointmentRepository, notices: NoticeStore) -> None:
        self._appointments = appointments
        self._notices = notices

    def wants(self, queued: QueuedReminder) -> Sequence[ItemKey]:
        keys = [
            self._appointments.item_key(queued.tenant_id, queued.appointment_id),
            self._notices.item_key(queued.tenant_id, queued.appointment_id, queued.reminder_id),
        ]
        if queued.phone is None:  # asked without waiting: its repeats are checked here
            keys += [
                self._notices.mark_keys(queued.tenant_id, queued.appointment_id, type_, None)[0]
                for type_ in NoticeType
            ]
        return keys

    def load(
        self, queued: QueuedReminder, found: Mapping[ItemKey, Any], now: datetime
    ) -> Outgoing[NoticeToSend] | Stale:
        appointment_key, notice_key = self.wants(queued)[:2]
        appointment = self._appointments.from_found(found, appointment_key)
        notice = self._notices.from_found(found, notice_key)
        if appointment is None or notice is None:
            return Stale("appointment_missing" if appointment is None else "notice_missing")
        if appointment.status.is_closed:
            return Stale(f"appointment_{appointment.status.value}")
        latest: Mark | None = None
        unread = notice.phone is None
        if unread:
            mark_key = self._notices.mark_keys(
                notice.tenant_id, notice.appointment_id, notice.type, None
            )[0]
            latest = self._notices.mark_from(found, mark_key)
            if _repeats(notice, latest):
                return Stale("repeat")
            notice = replace(notice, phone=appointment.phone, plan=appointment.current_plan)
        elif appointment.current_plan != notice.plan:
            return Stale("rescheduled")
        if notice.eta <= now:
            return Stale("past_eta")
        return Outgoing(
            tenant_id=appointment.tenant_id,
            phone=appointment.phone,
            zone=load_zone(appointment.timezone),
            deadline=notice.eta,
            capped=appointment.kind is AppointmentKind.CLINIC_VISIT,
            subject=NoticeToSend(notice, appointment, unread=unread, latest=latest),
            holds=False,
        )

    def unchanged(self, outgoing: Outgoing[NoticeToSend]) -> Guard:
        # Not the appointment's version: a confirmation or a "running late" reply bumps it
        # and the notice is no less true. Only a closed or rescheduled visit makes it wrong.
        notice = outgoing.subject.notice
        return StillOpen(notice.tenant_id, notice.appointment_id, notice.plan)

    def more_guards(self, outgoing: Outgoing[NoticeToSend]) -> Sequence[Guard]:
        """A notice asked without waiting takes its type's latest-notice mark as it starts."""
        subject = outgoing.subject
        if not subject.unread:
            return []
        return [LatestMark(subject.notice, subject.latest.notice_id if subject.latest else None)]

    def skipped_event(
        self, queued: QueuedReminder, reason: str | None, occurred_at: datetime
    ) -> DomainEvent:
        """``NoticeSkipped``: one per notice, with why (``opted_out``, ``quiet_hours``,
        ``repeat``, ``too_long``, ``past_eta``, ``appointment_cancelled``...)."""
        return DomainEvent(
            type=EventType.NOTICE_SKIPPED,
            tenant_id=queued.tenant_id,
            event_id=event_id_for(
                EventType.NOTICE_SKIPPED,
                queued.tenant_id,
                queued.appointment_id,
                queued.reminder_id,
            ),
            occurred_at=occurred_at,
            ids={"appointment_id": queued.appointment_id, "notice_id": queued.reminder_id},
            data={"reason": reason or "skipped"},
        )

    def render(
        self,
        outgoing: Outgoing[NoticeToSend],
        tenant: Tenant,
        templates: Mapping[tuple[str, str], str],
    ) -> str:
        notice, appointment = outgoing.subject.notice, outgoing.subject.appointment
        body = render_notice(
            NoticeText(notice.type, notice.eta, notice.link),
            language=appointment.language,
            zone=outgoing.zone,
            org_name=tenant.name,
            technician_name=appointment.technician_name,
            starts_at=appointment.starts_at,
            window_ends_at=appointment.window_ends_at,
        )
        try:
            checked_parts(body)
        except InvalidInput:
            # The API refuses this before writing a notice it waited for; one asked without
            # waiting is only rendered here.
            raise Unsendable("too_long") from None
        return body

    def failure_event(
        self,
        outgoing: Outgoing[NoticeToSend],
        reason: str,
        occurred_at: datetime,
        message_id: str | None,
    ) -> DomainEvent:
        notice = outgoing.subject.notice
        return delivery_failed(
            notice.tenant_id,
            notice.appointment_id,
            notice.notice_id,
            reason=reason,
            occurred_at=occurred_at,
            message_id=message_id,
            kind=NOTICE,
        )

    def sent_event(
        self, outgoing: Outgoing[NoticeToSend], occurred_at: datetime, message_id: str
    ) -> DomainEvent:
        notice = outgoing.subject.notice
        return notice_sent(notice, occurred_at, message_id)


def queued_from_stream(record: Mapping[str, Any]) -> QueuedReminder | None:
    """The queue message for the notice a stream record brings (``SenderNoticeMapping``), or
    None when the record holds no notice waiting for its first send."""
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    notice = notice_from_image(image)
    return queued_notice(notice) if notice is not None else None


def queued_notice(notice: Notice) -> QueuedReminder | None:
    """A notice as the send queue carries it (what the stream hands the sender), or None when
    it is not waiting for a send under a claim."""
    if notice.claim_id is None or notice.status is not MessageStatus.QUEUED:
        return None
    return QueuedReminder(
        tenant_id=notice.tenant_id,
        appointment_id=notice.appointment_id,
        reminder_id=notice.notice_id,
        claim_id=notice.claim_id,
        kind=NOTICE,
        phone=notice.phone,
        plan=notice.plan,
    )


def notice_sent(notice: Notice, occurred_at: datetime, message_id: str) -> DomainEvent:
    """``NoticeSent``: one per notice, whichever sender recorded it."""
    return DomainEvent(
        type=EventType.NOTICE_SENT,
        tenant_id=notice.tenant_id,
        event_id=event_id_for(
            EventType.NOTICE_SENT, notice.tenant_id, notice.appointment_id, notice.notice_id
        ),
        occurred_at=occurred_at,
        ids={
            "appointment_id": notice.appointment_id,
            "notice_id": notice.notice_id,
            "message_id": message_id,
        },
        data={"notice_type": notice.type.value, "eta": iso_utc(notice.eta)},
    )
