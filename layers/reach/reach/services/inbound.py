"""A recipient's reply: route it to its tenant, read it, act on it, tell the clinic, answer.

Order of work for one reply, each step safe to repeat (a retried or replayed message finds
its effects in place and changes nothing twice):

1. **Route** by our number (``destinationNumber``) to the tenant that owns it. A number no
   tenant owns is logged and dropped: there is nobody to act for.
2. **Consent first.** Opt-out words win over everything (``classify_reply``). An opt-out is
   recorded before anything else happens, then the recipient's pending reminders with the
   tenant are skipped, ``OptedOut`` is published and the single confirmation goes out. START
   restores consent and the reminders the opt-out skipped that are still ahead.
3. **Match** the reply to an appointment (``reach.domain.conversation``): the message it
   answers, a pending "which one?" question, or the most relevant open appointment; when two
   are equally likely, ask.
4. **Apply** the intent to the appointment with its version (conditional write; a concurrent
   change re-reads and decides again). The appointment remembers the last reply applied and
   when it was received: a replay is recognised, and a reply older than the last one applied
   (inbound order is not guaranteed) is stored but changes nothing.
5. **Tell the clinic** on the event bus (ids only), then **answer** the recipient.

The inbound message itself is stored in the appointment's conversation (or the recipient's own
thread when it matched none), so the clinic can read every reply, understood or not.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from reach.clock import Clock
from reach.data.appointments import AppointmentRepository, ConcurrentChange
from reach.data.callbacks import Callback, CallbackRepository
from reach.data.contacts import ContactRepository
from reach.data.messages import MessageRepository
from reach.data.tenants import TenantRepository
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
from reach.domain.inbound import InboundSms
from reach.domain.masking import mask_phones_in
from reach.domain.message import Message, MessageKind, MessageStatus, Thread
from reach.domain.models import Appointment, AppointmentStatus, Tenant
from reach.domain.quiet_hours import QuietHours
from reach.domain.replies import (
    ClassifiedReply,
    ReplyIntent,
    classify_reply,
    fold,
    keywords_with,
)
from reach.domain.zones import load_zone
from reach.ports.events import DomainEvent, EventPublisher, EventType, event_id_for
from reach.services.consent import ConsentService
from reach.services.replies import Answer, ReplySender

#: How long a clinic takes to call back, by default (moved out of quiet hours).
DEFAULT_CALLBACK_WITHIN = timedelta(hours=2)
#: Attempts at applying a reply that keeps meeting concurrent writers.
APPLY_ATTEMPTS = 4

_APPOINTMENT_INTENTS = {
    ReplyIntent.CONFIRM: (AppointmentStatus.CONFIRMED, ReplyKind.CONFIRMED),
    ReplyIntent.RESCHEDULE: (
        AppointmentStatus.RESCHEDULE_REQUESTED,
        ReplyKind.RESCHEDULE_REQUESTED,
    ),
    ReplyIntent.CANCEL_APPOINTMENT: (AppointmentStatus.CANCELLED, ReplyKind.CANCELLED),
}
_EVENTS = {
    ReplyIntent.CONFIRM: EventType.APPOINTMENT_CONFIRMED,
    ReplyIntent.RESCHEDULE: EventType.RESCHEDULE_REQUESTED,
    ReplyIntent.CANCEL_APPOINTMENT: EventType.APPOINTMENT_CANCELLED,
    ReplyIntent.RUNNING_LATE: EventType.RUNNING_LATE,
}


class Outcome(StrEnum):
    #: Our number belongs to no tenant: nothing to act for.
    UNROUTABLE = "unroutable"
    #: Consent recorded (opt-out / opt-in), or HELP answered.
    CONSENT = "consent"
    HELP = "help"
    #: The intent changed the appointment (or had changed it already: a replay).
    APPLIED = "applied"
    #: An older reply than the last one applied: stored, nothing changed.
    SUPERSEDED = "superseded"
    #: The appointment is closed; the recipient is told to call.
    CLOSED = "closed"
    #: Two or more appointments equally likely: the recipient was asked which.
    ASKED = "asked"
    #: No open appointment to apply the intent to.
    NO_APPOINTMENT = "no_appointment"
    CALLBACK = "callback"
    #: Not understood: stored for the clinic, answered once.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class InboundResult:
    outcome: Outcome
    intent: ReplyIntent | None = None
    tenant_id: str | None = None
    appointment_id: str | None = None
    answer: ReplyKind | None = None
    answer_status: str | None = None
    events: tuple[EventType, ...] = ()
    callback_id: str | None = None


@dataclass
class _Reply:
    """What is known about one reply as it is worked through."""

    sms: InboundSms
    received_at: datetime
    tenant: Tenant
    reading: ClassifiedReply
    events: list[DomainEvent] = field(default_factory=list)
    #: An unrecognised reply of theirs was answered already (no recognised one since).
    nudged: bool = False

    @property
    def phone(self) -> str:
        return self.sms.origination_number

    @property
    def inbound_id(self) -> str:
        return self.sms.inbound_message_id

    @property
    def cause(self) -> dict[str, str]:
        """The reply as events name it."""
        return {"inbound_message_id": _safe_id(self.inbound_id)}


class InboundService:
    """Handles one inbound reply end to end (see the module docstring)."""

    def __init__(
        self,
        *,
        tenants: TenantRepository,
        appointments: AppointmentRepository,
        contacts: ContactRepository,
        conversations: MessageRepository,
        callbacks: CallbackRepository,
        answers: ReplySender,
        events: EventPublisher,
        consent: ConsentService,
        clock: Clock,
        callback_within: timedelta = DEFAULT_CALLBACK_WITHIN,
    ) -> None:
        self._tenants = tenants
        self._appointments = appointments
        self._contacts = contacts
        self._conversations = conversations
        self._callbacks = callbacks
        self._answers = answers
        self._events = events
        self._consent = consent
        self._clock = clock
        self._callback_within = callback_within

    def receive(self, sms: InboundSms, received_at: datetime) -> InboundResult:
        tenant_id = self._tenants.tenant_for_number(sms.destination_number)
        if tenant_id is None:
            return InboundResult(Outcome.UNROUTABLE)
        tenant = self._tenants.get(tenant_id)
        keywords = keywords_with(tenant.reply_keywords)
        reply = _Reply(sms, received_at, tenant, classify_reply(sms.body, keywords))
        intent = reply.reading.intent
        if intent is ReplyIntent.OPT_OUT:
            return self._opt_out(reply)
        if intent is ReplyIntent.OPT_IN:
            return self._opt_in(reply)
        if intent is ReplyIntent.HELP:
            thread = self._file_under(reply)
            self._store_inbound(reply, thread)
            return self._answer(reply, Outcome.HELP, thread, ReplyKind.HELP, None)
        return self._about_an_appointment(reply)

    # --- consent ------------------------------------------------------------------------

    def _opt_out(self, reply: _Reply) -> InboundResult:
        tenant_id = reply.tenant.tenant_id
        thread = self._file_under(reply)
        self._store_inbound(reply, thread)
        result = self._consent.opt_out(
            tenant_id, reply.phone, _consent_source(reply), reply.received_at, cause=reply.cause
        )
        if not result.changed:
            # Opted out already (or this STOP is older than a later START): one confirmation
            # went out with the opt-out itself; none now.
            return InboundResult(Outcome.CONSENT, ReplyIntent.OPT_OUT, tenant_id)
        return self._answer(
            reply,
            Outcome.CONSENT,
            thread,
            ReplyKind.OPTED_OUT,
            None,
            confirms_opt_out=True,
            published=(EventType.OPTED_OUT,),
        )

    def _opt_in(self, reply: _Reply) -> InboundResult:
        tenant_id = reply.tenant.tenant_id
        thread = self._file_under(reply)
        self._store_inbound(reply, thread)
        result = self._consent.opt_in(
            tenant_id, reply.phone, _consent_source(reply), reply.received_at, cause=reply.cause
        )
        if result.contact.opted_out:
            # A START older than a later STOP (out of order): the STOP stands.
            return InboundResult(Outcome.CONSENT, ReplyIntent.OPT_IN, tenant_id)
        published = (EventType.OPTED_IN,) if result.changed else ()
        return self._answer(
            reply, Outcome.CONSENT, thread, ReplyKind.OPTED_IN, None, published=published
        )

    # --- appointment intents ------------------------------------------------------------

    def _about_an_appointment(self, reply: _Reply) -> InboundResult:
        tenant_id, phone = reply.tenant.tenant_id, reply.phone
        state = self._contacts.conversation_state(tenant_id, phone)
        reply.nudged = state.nudged
        appointment, question = self._match(reply, state.pending)
        if state.nudged and reply.reading.intent is not ReplyIntent.UNKNOWN:
            self._contacts.recognised(tenant_id, phone)
        if question:
            return self._ask(reply, question)
        if appointment is None:
            thread = Thread(tenant_id, None, phone)
            self._store_inbound(reply, thread)
            if reply.reading.intent is ReplyIntent.CALL_ME:
                return self._callback(reply, thread, None)
            if reply.reading.intent is ReplyIntent.UNKNOWN:
                return self._unknown(reply, thread, None)
            return self._answer(
                reply, Outcome.NO_APPOINTMENT, thread, ReplyKind.NO_APPOINTMENT, None
            )
        thread = Thread(tenant_id, appointment.appointment_id, phone)
        self._store_inbound(reply, thread)
        if reply.reading.intent is ReplyIntent.CALL_ME:
            return self._callback(reply, thread, appointment)
        if reply.reading.intent is ReplyIntent.UNKNOWN:
            return self._unknown(reply, thread, appointment)
        return self._apply(reply, thread, appointment)

    def _match(
        self, reply: _Reply, pending: PendingChoice | None
    ) -> tuple[Appointment | None, tuple[Appointment, ...]]:
        """The appointment the reply is about, or the ones to ask about."""
        tenant_id, phone = reply.tenant.tenant_id, reply.phone
        if pending is not None and pending.is_current(reply.received_at):
            answer = read_choice(reply.sms.body, pending)
            if answer is not None:
                chosen = self._own_appointment(tenant_id, phone, answer.appointment_id)
                if chosen is not None:
                    keywords = keywords_with(reply.tenant.reply_keywords)
                    reading = classify_reply(answer.rest, keywords) if answer.rest else None
                    if reading is None or reading.intent is ReplyIntent.UNKNOWN:
                        reading = ClassifiedReply(
                            ReplyIntent(pending.intent), pending.minutes_late, "choice"
                        )
                    reply.reading = reading
                    self._contacts.clear_choice(tenant_id, phone, pending.asked_at)
                    return chosen, ()
        return self._referenced_or_relevant(reply)

    def _file_under(self, reply: _Reply) -> Thread:
        """Where a reply that is not about an appointment (STOP, START, HELP) is filed: the
        conversation of the appointment it answers or would be about, so the clinic reads it
        there; the recipient's own thread when there is none, or several equally likely."""
        appointment, _ = self._referenced_or_relevant(reply)
        return Thread(
            reply.tenant.tenant_id, appointment.appointment_id if appointment else None, reply.phone
        )

    def _referenced_or_relevant(
        self, reply: _Reply
    ) -> tuple[Appointment | None, tuple[Appointment, ...]]:
        """The appointment the reply references, or the most relevant one, or those to ask
        about (see reach.domain.conversation)."""
        tenant_id, phone = reply.tenant.tenant_id, reply.phone
        previous = reply.sms.previous_published_message_id
        if previous:
            ref = self._conversations.find_provider_message(previous)
            if ref is not None and ref.tenant_id == tenant_id:
                answered = self._own_appointment(tenant_id, phone, ref.appointment_id)
                if answered is not None:
                    return answered, ()
        now = self._clock()
        recent = self._appointments.for_phone(tenant_id, phone, now - LATE_GRACE)
        for appointment in recent:
            if appointment.last_reply_id == reply.inbound_id:
                # This very message changed it on an earlier try (which then failed): it is
                # the one, even though a cancellation has taken it out of the candidates.
                return appointment, ()
        listed = open_candidates(recent, now)
        candidates = [
            Candidate(
                a,
                self._conversations.last_outbound_at(Thread(tenant_id, a.appointment_id, phone))
                if len(listed) > 1
                else None,
            )
            for a in listed
        ]
        match = most_relevant(
            candidates, now, running_late=reply.reading.intent is ReplyIntent.RUNNING_LATE
        )
        return match.appointment, match.ambiguous

    def _own_appointment(
        self, tenant_id: str, phone: str, appointment_id: str
    ) -> Appointment | None:
        """The tenant's appointment, only if it is this recipient's."""
        try:
            appointment = self._appointments.get_without_reminders(tenant_id, appointment_id)
        except NotFound:
            return None
        if appointment is None or appointment.phone != phone:
            return None
        return appointment

    def _ask(self, reply: _Reply, options: tuple[Appointment, ...]) -> InboundResult:
        tenant_id = reply.tenant.tenant_id
        thread = Thread(tenant_id, None, reply.phone)
        self._store_inbound(reply, thread)
        if reply.reading.intent is ReplyIntent.UNKNOWN:
            return self._unknown(reply, thread, None)
        pending = PendingChoice(
            appointment_ids=tuple(a.appointment_id for a in options),
            intent=reply.reading.intent.value,
            minutes_late=reply.reading.minutes_late,
            asked_at=reply.received_at,
        )
        self._contacts.ask_choice(tenant_id, reply.phone, pending)
        choices = tuple(
            Choice(letter, options[i].starts_at) for i, letter in enumerate(pending.letters())
        )
        return self._answer(
            reply, Outcome.ASKED, thread, ReplyKind.WHICH_APPOINTMENT, options[0], choices=choices
        )

    def _apply(self, reply: _Reply, thread: Thread, appointment: Appointment) -> InboundResult:
        intent = reply.reading.intent
        for _ in range(APPLY_ATTEMPTS):
            current = self._appointments.get(appointment.tenant_id, appointment.appointment_id)
            if current.last_reply_id == reply.inbound_id:
                break  # applied by this very message before: publish and answer again
            if current.last_reply_at is not None and reply.received_at < current.last_reply_at:
                return InboundResult(
                    Outcome.SUPERSEDED, intent, current.tenant_id, current.appointment_id
                )
            if current.status.is_closed:
                kind = (
                    ReplyKind.CANCELLED
                    if intent is ReplyIntent.CANCEL_APPOINTMENT
                    and current.status is AppointmentStatus.CANCELLED
                    else ReplyKind.CLOSED
                )
                return self._answer(reply, Outcome.CLOSED, thread, kind, current)
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
        data: dict[str, str | int | bool | None] = {"source": "sms"}
        if intent is ReplyIntent.RUNNING_LATE:
            data = {"minutes_late": reply.reading.minutes_late}
        elif intent is ReplyIntent.CANCEL_APPOINTMENT:
            data = {"source": "sms", "reason": "cancelled_by_recipient"}
        elif intent is ReplyIntent.RESCHEDULE:
            data = {}
        reply.events.append(
            self._event(reply, _EVENTS[intent], {"appointment_id": current.appointment_id}, data)
        )
        kind = (
            ReplyKind.RUNNING_LATE
            if intent is ReplyIntent.RUNNING_LATE
            else _APPOINTMENT_INTENTS[intent][1]
        )
        return self._answer(reply, Outcome.APPLIED, thread, kind, current)

    def _save(self, reply: _Reply, current: Appointment) -> bool:
        """Apply the reply to ``current``; False when someone changed it meanwhile."""
        intent = reply.reading.intent
        now = self._clock()
        updated = replace(
            current,
            version=current.version + 1,
            updated_at=now,
            last_reply_id=reply.inbound_id,
            last_reply_at=reply.received_at,
        )
        retired = []
        if intent is ReplyIntent.RUNNING_LATE:
            updated = replace(updated, late_minutes=reply.reading.minutes_late or 0)
        else:
            updated = replace(updated, status=_APPOINTMENT_INTENTS[intent][0])
            if intent is ReplyIntent.CANCEL_APPOINTMENT:
                retired = current.retire_pending("cancelled_by_recipient")
        try:
            self._appointments.save_changes(current, updated, retired, [])
        except ConcurrentChange:
            return False
        return True

    def _callback(
        self, reply: _Reply, thread: Thread, appointment: Appointment | None
    ) -> InboundResult:
        tenant = reply.tenant
        requested = Callback(
            tenant_id=tenant.tenant_id,
            callback_id=_derived_id("cb", reply.inbound_id),
            phone=reply.phone,
            appointment_id=appointment.appointment_id if appointment else None,
            status="open",
            requested_at=reply.received_at,
            expected_by=self._callback_by(tenant, appointment, reply.received_at),
            inbound_message_id=reply.inbound_id,
        )
        callback, created = self._callbacks.open_callback(requested)
        if created or callback.inbound_message_id == reply.inbound_id:
            ids = {"callback_id": callback.callback_id}
            if callback.appointment_id:
                ids["appointment_id"] = callback.appointment_id
            reply.events.append(self._event(reply, EventType.CALLBACK_REQUESTED, ids, {}))
        result = self._answer(
            reply,
            Outcome.CALLBACK,
            thread,
            ReplyKind.CALLBACK,
            appointment,
            callback_by=callback.expected_by,
        )
        return replace(result, callback_id=callback.callback_id)

    def _callback_by(
        self, tenant: Tenant, appointment: Appointment | None, at: datetime
    ) -> datetime:
        """When the clinic will have called: within the window, moved out of quiet hours."""
        zone = load_zone(appointment.timezone if appointment else tenant.timezone)
        by = at + self._callback_within
        quiet = QuietHours.parse(tenant.quiet_hours)
        for moment in (at, by):
            period = quiet.period_at(moment, zone)
            if period is not None:
                return period.ends + self._callback_within
        return by

    def _unknown(
        self, reply: _Reply, thread: Thread, appointment: Appointment | None
    ) -> InboundResult:
        ids = {"appointment_id": appointment.appointment_id} if appointment else {}
        reply.events.append(self._event(reply, EventType.REPLY_RECEIVED, ids, {}))
        if reply.nudged or not self._contacts.nudge(
            reply.tenant.tenant_id, reply.phone, reply.received_at
        ):
            self._events.publish(reply.events)
            return InboundResult(
                Outcome.UNKNOWN,
                ReplyIntent.UNKNOWN,
                reply.tenant.tenant_id,
                thread.appointment_id,
                events=tuple(e.type for e in reply.events),
            )
        return self._answer(reply, Outcome.UNKNOWN, thread, ReplyKind.UNKNOWN, appointment)

    # --- shared -------------------------------------------------------------------------

    def _store_inbound(self, reply: _Reply, thread: Thread) -> None:
        self._conversations.add(
            thread,
            Message(
                message_id=_derived_id("msg", reply.inbound_id),
                kind=MessageKind.INBOUND,
                phone=reply.phone,
                body=reply.sms.body,
                status=MessageStatus.RECEIVED,
                created_at=reply.received_at,
                updated_at=self._clock(),
                intent=reply.reading.intent.value,
                reason="truncated" if reply.sms.truncated else None,
                provider_message_id=reply.inbound_id,
                inbound_message_id=reply.inbound_id,
                appointment_id=thread.appointment_id,
            ),
        )

    def _answer(
        self,
        reply: _Reply,
        outcome: Outcome,
        thread: Thread,
        kind: ReplyKind,
        appointment: Appointment | None,
        *,
        confirms_opt_out: bool = False,
        choices: tuple[Choice, ...] = (),
        callback_by: datetime | None = None,
        published: tuple[EventType, ...] = (),
    ) -> InboundResult:
        """Publish the reply's events, then send the answer (events first: a failed
        answer is retried with its message, and events carry ids consumers dedupe on)."""
        if reply.events:
            self._events.publish(reply.events)
        tenant = reply.tenant
        zone = load_zone(appointment.timezone if appointment else tenant.timezone)
        context = ReplyContext(
            org_name=tenant.name,
            org_phone=tenant.sender_number,
            language=appointment.language if appointment else "en",
            zone=zone,
            first_name=appointment.first_name if appointment else None,
            starts_at=appointment.starts_at if appointment and not choices else None,
            kind=appointment.kind.value if appointment else "clinic_visit",
            minutes_late=reply.reading.minutes_late,
            callback_by=callback_by,
            now=reply.received_at,
            choices=choices,
        )
        status = self._answers.send(
            Answer(
                tenant_id=tenant.tenant_id,
                thread=thread,
                inbound_message_id=reply.inbound_id,
                received_at=reply.received_at,
                kind=kind,
                body=render_reply(kind, context),
                confirms_opt_out=confirms_opt_out,
            )
        )
        return InboundResult(
            outcome,
            reply.reading.intent,
            tenant.tenant_id,
            thread.appointment_id,
            kind,
            status,
            published + tuple(e.type for e in reply.events),
        )

    def _event(
        self,
        reply: _Reply,
        event_type: EventType,
        ids: dict[str, str],
        data: dict[str, str | int | bool | None],
    ) -> DomainEvent:
        return DomainEvent(
            type=event_type,
            tenant_id=reply.tenant.tenant_id,
            event_id=event_id_for(event_type, reply.tenant.tenant_id, reply.inbound_id),
            occurred_at=reply.received_at,
            ids={**ids, **reply.cause},
            data=data,
        )


def _consent_source(reply: _Reply) -> str:
    """``sms:STOP`` when the whole reply was the keyword, ``sms:text`` for a sentence."""
    matched = reply.reading.matched or ""
    if matched and " ".join(fold(reply.sms.body)) == matched:
        return f"sms:{matched.upper()}"
    return "sms:text"


def _derived_id(prefix: str, inbound_message_id: str) -> str:
    digest = hashlib.sha256(inbound_message_id.encode()).hexdigest()
    return f"{prefix}_{digest[:32]}"


def _safe_id(inbound_message_id: str) -> str:
    """The inbound id as events carry it: events refuse anything that reads as a phone
    number, so an id that does (a bare digit run) is replaced by a digest of itself."""
    if mask_phones_in(inbound_message_id) == inbound_message_id:
        return inbound_message_id
    return _derived_id("in", inbound_message_id)
