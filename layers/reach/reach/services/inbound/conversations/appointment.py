"""Replies about an appointment: confirm, reschedule, cancel, running late, not home (a
service visit), call me, or text we did not understand.

**Locate.** The appointment the reply is about: the one a "which one?" letter picks, the one
whose reminder it answers, the one this very message changed on an earlier try, or the most
relevant open one (``reach.domain.conversation``); when two are equally likely, ask.

**Apply** the intent with the appointment's version (conditional write; a concurrent change
re-reads and decides again). The appointment remembers the last reply applied and when it
was received: a replay is recognised, and a reply older than the last one applied (inbound
order is not guaranteed) is stored but changes nothing. A closed appointment is not changed;
the recipient is told to call.

"Not home" on a service visit marks the customer ``not_home`` and tells the company; the
visit stays booked, for the company to decide. Said of a clinic visit it is read by a person,
like text not understood. Running late for a service visit carries the arrival window, and
text not understood about a service visit also asks the company's attention.

"Call me" opens one callback request (the open one is reused) and says by when to expect
the call, moved out of quiet hours. Text not understood tells the clinic and is answered
once, until a recognised reply comes. A reply about no open appointment is answered "call
us" (it still files a callback or an unknown reply, in the recipient's own thread).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from reach.data.appointments import ConcurrentChange
from reach.data.messages import ProviderMessageRef
from reach.domain.callbacks import Callback
from reach.domain.conversation import (
    LATE_GRACE,
    Candidate,
    PendingChoice,
    most_relevant,
    open_candidates,
    read_choice,
)
from reach.domain.conversation_texts import Choice, ReplyContext, ReplyKind, render_reply
from reach.domain.errors import NotFound
from reach.domain.fhir_link import write_back_keys
from reach.domain.message import Thread
from reach.domain.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    CustomerStatus,
    Tenant,
)
from reach.domain.quiet_hours import QuietHours
from reach.domain.replies import ClassifiedReply, ReplyIntent, classify_reply, keywords_for_replies
from reach.domain.zones import load_zone
from reach.ports.events import DataValue, DomainEvent, EventType, iso_utc
from reach.services.inbound.kind import Collaborators, Conversation, Evidence
from reach.services.inbound.reply import (
    AnswerText,
    InboundReply,
    ReplyOutcome,
    Response,
    derived_id,
)

#: Attempts at applying a reply that keeps meeting concurrent writers.
APPLY_ATTEMPTS = 4

#: What each intent that changes an appointment sets, publishes and answers.
_STATUSES = {
    ReplyIntent.CONFIRM: AppointmentStatus.CONFIRMED,
    ReplyIntent.RESCHEDULE: AppointmentStatus.RESCHEDULE_REQUESTED,
    ReplyIntent.CANCEL_APPOINTMENT: AppointmentStatus.CANCELLED,
}
_EVENTS = {
    ReplyIntent.CONFIRM: EventType.APPOINTMENT_CONFIRMED,
    ReplyIntent.RESCHEDULE: EventType.RESCHEDULE_REQUESTED,
    ReplyIntent.CANCEL_APPOINTMENT: EventType.APPOINTMENT_CANCELLED,
    ReplyIntent.RUNNING_LATE: EventType.RUNNING_LATE,
    ReplyIntent.NOT_HOME: EventType.CUSTOMER_NOT_HOME,
}
_ANSWERS = {
    ReplyIntent.CONFIRM: ReplyKind.CONFIRMED,
    ReplyIntent.RESCHEDULE: ReplyKind.RESCHEDULE_REQUESTED,
    ReplyIntent.CANCEL_APPOINTMENT: ReplyKind.CANCELLED,
    ReplyIntent.RUNNING_LATE: ReplyKind.RUNNING_LATE,
    ReplyIntent.NOT_HOME: ReplyKind.NOT_HOME,
}
#: The answers that fit a home visit better, for a service visit.
_HOME_VISIT_ANSWERS = {ReplyIntent.RUNNING_LATE: ReplyKind.LATE_FOR_HOME_VISIT}
_EVENT_DATA: dict[ReplyIntent, dict[str, str | int | bool | None]] = {
    ReplyIntent.CONFIRM: {"source": "sms"},
    ReplyIntent.RESCHEDULE: {},
    ReplyIntent.CANCEL_APPOINTMENT: {"source": "sms", "reason": "cancelled_by_recipient"},
    ReplyIntent.NOT_HOME: {},
}

type Found = Conversation[Appointment]


class AppointmentConversation:
    """The appointment conversation kind (module docstring): a ``ConversationKind``."""

    def __init__(self, collaborators: Collaborators) -> None:
        self._appointments = collaborators.appointments
        self._contacts = collaborators.contacts
        self._messages = collaborators.messages
        self._callbacks = collaborators.callbacks
        self._clock = collaborators.clock
        self._callback_within = collaborators.callback_within

    # --- locate -------------------------------------------------------------------------

    def locate(
        self,
        reply: InboundReply,
        referenced: ProviderMessageRef | None,
        pending: PendingChoice | None,
    ) -> Found | None:
        if pending is not None:
            chosen = self._chosen(reply, pending)
            if chosen is not None:
                return chosen
        if referenced is not None:
            answered = self._own_appointment(reply, referenced.appointment_id)
            if answered is not None:
                return Conversation(Evidence.REFERENCED, answered, answered.appointment_id)
        return self._most_relevant(reply)

    def _chosen(self, reply: InboundReply, pending: PendingChoice) -> Found | None:
        """The appointment a "which one?" letter picks, and the reply read with it: the text
        after the letter, or the intent of the reply that raised the question."""
        answer = read_choice(reply.sms.body, pending)
        if answer is None:
            return None
        chosen = self._own_appointment(reply, answer.appointment_id)
        if chosen is None:
            return None
        keywords = keywords_for_replies(reply.tenant.reply_keywords)
        reading = classify_reply(answer.rest, keywords) if answer.rest else None
        if reading is None or reading.intent is ReplyIntent.UNKNOWN:
            reading = ClassifiedReply(ReplyIntent(pending.intent), pending.minutes_late, "choice")
        return Conversation(Evidence.CHOSEN, chosen, chosen.appointment_id, reading=reading)

    def _most_relevant(self, reply: InboundReply) -> Found | None:
        tenant_id, phone = reply.tenant.tenant_id, reply.phone
        now = self._clock()
        recent = self._appointments.for_phone(tenant_id, phone, now - LATE_GRACE)
        for appointment in recent:
            if appointment.last_reply_id == reply.inbound_id:
                # This very message changed it on an earlier try (which then failed): it is
                # the one, even though a cancellation has taken it out of the candidates.
                return Conversation(Evidence.OPEN, appointment, appointment.appointment_id)
        listed = open_candidates(recent, now)
        candidates = [
            Candidate(
                a,
                self._messages.last_outbound_at(Thread(tenant_id, a.appointment_id, phone))
                if len(listed) > 1
                else None,
            )
            for a in listed
        ]
        match = most_relevant(
            candidates, now, running_late=reply.intent is ReplyIntent.RUNNING_LATE
        )
        if match.appointment is not None:
            return Conversation(Evidence.OPEN, match.appointment, match.appointment.appointment_id)
        if match.ambiguous:
            return Conversation(Evidence.OPEN, None, None, options=match.ambiguous)
        return None

    def _own_appointment(self, reply: InboundReply, appointment_id: str) -> Appointment | None:
        """The tenant's appointment, only if it is this recipient's."""
        try:
            appointment = self._appointments.get_without_reminders(
                reply.tenant.tenant_id, appointment_id
            )
        except NotFound:
            return None
        if appointment is None or appointment.phone != reply.phone:
            return None
        return appointment

    # --- handle -------------------------------------------------------------------------

    def handle(self, reply: InboundReply, conversation: Found | None) -> Response:
        if conversation is not None and conversation.options:
            return self._ask(reply, conversation.options)
        appointment = conversation.subject if conversation else None
        if reply.intent is ReplyIntent.CALL_ME:
            return self._callback(reply, appointment)
        if reply.intent is ReplyIntent.UNKNOWN or _not_home_at_a_clinic(reply, appointment):
            return self._unknown(reply, appointment)
        if appointment is None:
            return Response(
                ReplyOutcome.NO_APPOINTMENT, answer=_answer(reply, ReplyKind.NO_APPOINTMENT, None)
            )
        return self._apply(reply, appointment)

    def _ask(self, reply: InboundReply, options: tuple[Appointment, ...]) -> Response:
        if reply.intent is ReplyIntent.UNKNOWN:
            return self._unknown(reply, None)
        pending = PendingChoice(
            appointment_ids=tuple(a.appointment_id for a in options),
            intent=reply.intent.value,
            minutes_late=reply.reading.minutes_late,
            asked_at=reply.received_at,
        )
        self._contacts.ask_choice(reply.tenant.tenant_id, reply.phone, pending)
        choices = tuple(
            Choice(letter, options[i].starts_at) for i, letter in enumerate(pending.letters())
        )
        question = _answer(reply, ReplyKind.WHICH_APPOINTMENT, options[0], choices=choices)
        return Response(ReplyOutcome.ASKED, answer=question)

    def _apply(self, reply: InboundReply, appointment: Appointment) -> Response:
        for _ in range(APPLY_ATTEMPTS):
            current = self._appointments.get(appointment.tenant_id, appointment.appointment_id)
            if current.last_reply_id == reply.inbound_id:
                break  # applied by this very message before: publish and answer again
            if current.last_reply_at is not None and reply.received_at < current.last_reply_at:
                return Response(ReplyOutcome.SUPERSEDED, current.appointment_id)
            if current.status.is_closed:
                return _closed(reply, current)
            if self._save(reply, current):
                break
        else:
            raise ConcurrentChange(f"appointment {appointment.appointment_id} kept changing")
        current = (
            self._appointments.get_without_reminders(
                appointment.tenant_id, appointment.appointment_id
            )
            or appointment
        )
        intent = reply.intent
        data: dict[str, DataValue] = {
            **_EVENT_DATA.get(intent, {"minutes_late": reply.reading.minutes_late})
        }
        if intent in (ReplyIntent.RUNNING_LATE, ReplyIntent.NOT_HOME):
            data.update(_window_data(current))
        # A booking from FHIR names its resource, for the write-back to the clinic's server.
        fhir_ids, fhir_data = write_back_keys(current)
        data.update(fhir_data)
        ids = {"appointment_id": current.appointment_id, **fhir_ids}
        applied = reply.event(_EVENTS[intent], ids, data)
        answer = _ANSWERS[intent]
        if current.kind is AppointmentKind.SERVICE_VISIT:
            answer = _HOME_VISIT_ANSWERS.get(intent, answer)
        return Response(
            ReplyOutcome.APPLIED,
            current.appointment_id,
            _answer(reply, answer, current),
            (applied,),
        )

    def _save(self, reply: InboundReply, current: Appointment) -> bool:
        """Apply the reply to ``current``; False when someone changed it meanwhile."""
        updated = replace(
            current,
            version=current.version + 1,
            updated_at=self._clock(),
            last_reply_id=reply.inbound_id,
            last_reply_at=reply.received_at,
        )
        retired = []
        if reply.intent is ReplyIntent.RUNNING_LATE:
            updated = replace(updated, late_minutes=reply.reading.minutes_late or 0)
        elif reply.intent is ReplyIntent.NOT_HOME:
            # The status stays: the company decides what becomes of the visit.
            updated = replace(updated, customer_status=CustomerStatus.NOT_HOME)
        else:
            updated = replace(updated, status=_STATUSES[reply.intent])
            if reply.intent is ReplyIntent.CONFIRM:
                updated = replace(updated, customer_status=None)  # they will be there after all
            if reply.intent is ReplyIntent.CANCEL_APPOINTMENT:
                retired = current.retire_pending("cancelled_by_recipient")
        try:
            self._appointments.save_changes(current, updated, retired, [])
        except ConcurrentChange:
            return False
        return True

    def _callback(self, reply: InboundReply, appointment: Appointment | None) -> Response:
        requested = Callback(
            tenant_id=reply.tenant.tenant_id,
            callback_id=derived_id("cb", reply.inbound_id),
            phone=reply.phone,
            appointment_id=appointment.appointment_id if appointment else None,
            status="open",
            requested_at=reply.received_at,
            expected_by=self._callback_by(reply, appointment),
            inbound_message_id=reply.inbound_id,
        )
        callback, created = self._callbacks.open_callback(requested)
        events: tuple[DomainEvent, ...] = ()
        if created or callback.inbound_message_id == reply.inbound_id:
            ids = {"callback_id": callback.callback_id}
            if callback.appointment_id:
                ids["appointment_id"] = callback.appointment_id
            events = (reply.event(EventType.CALLBACK_REQUESTED, ids, {}),)
        return Response(
            ReplyOutcome.CALLBACK,
            appointment.appointment_id if appointment else None,
            _answer(reply, ReplyKind.CALLBACK, appointment, callback_by=callback.expected_by),
            events,
            callback_id=callback.callback_id,
        )

    def _callback_by(self, reply: InboundReply, appointment: Appointment | None) -> datetime:
        timezone = appointment.timezone if appointment else None
        return callback_by(reply.tenant, reply.received_at, self._callback_within, timezone)

    def _unknown(self, reply: InboundReply, appointment: Appointment | None) -> Response:
        subject_id = appointment.appointment_id if appointment else None
        ids = {"appointment_id": subject_id} if subject_id else {}
        received: tuple[DomainEvent, ...] = (reply.event(EventType.REPLY_RECEIVED, ids, {}),)
        if appointment is not None and appointment.kind is AppointmentKind.SERVICE_VISIT:
            # A dispatcher acts on this before the truck leaves; no text in the event.
            received += (reply.event(EventType.NEEDS_ATTENTION, ids, {}),)
        if reply.nudged or not self._contacts.nudge(
            reply.tenant.tenant_id, reply.phone, reply.received_at
        ):
            return Response(ReplyOutcome.UNKNOWN, subject_id, events=received)
        answer = _answer(reply, ReplyKind.UNKNOWN, appointment)
        return Response(ReplyOutcome.UNKNOWN, subject_id, answer, received)


def callback_by(
    tenant: Tenant, at: datetime, within: timedelta, timezone: str | None = None
) -> datetime:
    """When the organisation will have called back a request made ``at``: within the
    window, moved out of quiet hours (in ``timezone``, the tenant's own when not given)."""
    zone = load_zone(timezone or tenant.timezone)
    by = at + within
    quiet = QuietHours.parse(tenant.quiet_hours)
    for moment in (at, by):
        period = quiet.period_at(moment, zone)
        if period is not None:
            return period.ends + within
    return by


def _not_home_at_a_clinic(reply: InboundReply, appointment: Appointment | None) -> bool:
    """ "Not home" means nothing for a clinic visit: a person reads it."""
    return (
        reply.intent is ReplyIntent.NOT_HOME
        and appointment is not None
        and appointment.kind is not AppointmentKind.SERVICE_VISIT
    )


def _window_data(appointment: Appointment) -> dict[str, DataValue]:
    """A service visit's arrival window, for the company's dispatcher (UTC)."""
    if appointment.kind is not AppointmentKind.SERVICE_VISIT:
        return {}
    ends = appointment.window_ends_at
    return {
        "window_starts_at": iso_utc(appointment.starts_at),
        "window_ends_at": iso_utc(ends) if ends else None,
    }


def _closed(reply: InboundReply, current: Appointment) -> Response:
    """A closed appointment changes no more; a cancellation of a cancelled one is agreed."""
    kind = (
        ReplyKind.CANCELLED
        if reply.intent is ReplyIntent.CANCEL_APPOINTMENT
        and current.status is AppointmentStatus.CANCELLED
        else ReplyKind.CLOSED
    )
    return Response(ReplyOutcome.CLOSED, current.appointment_id, _answer(reply, kind, current))


def _answer(
    reply: InboundReply,
    kind: ReplyKind,
    appointment: Appointment | None,
    *,
    choices: tuple[Choice, ...] = (),
    callback_by: datetime | None = None,
) -> AnswerText:
    return AnswerText(kind, render_reply(kind, _context(reply, appointment, choices, callback_by)))


def _context(
    reply: InboundReply,
    appointment: Appointment | None,
    choices: tuple[Choice, ...],
    callback_by: datetime | None,
) -> ReplyContext:
    """The reply's context with the appointment's details; a question about several
    names their times in ``choices``, not one start."""
    if appointment is None:
        return replace(reply.context(), callback_by=callback_by, choices=choices)
    return replace(
        reply.context(appointment.timezone),
        language=appointment.language,
        first_name=appointment.first_name,
        starts_at=None if choices else appointment.starts_at,
        window_ends_at=None if choices else appointment.window_ends_at,
        kind=appointment.kind.value,
        callback_by=callback_by,
        choices=choices,
    )
