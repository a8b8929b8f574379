"""The send path: one way out for every outbound kind, a batch at a time.

Right before sending, everything that may have changed since planning is checked again: the
kind's own re-check (a reminder: its appointment's version and status, and the start), the
recipient's consent, quiet hours at the recipient's local time (hold, never drop), and the
healthcare caps where the kind says they apply. Then the text is paced, sent once and
recorded; every exit records why. What differs between kinds is behind ``OutboundKind``.

A batch (one sender invocation) costs, besides one provider call a text:

1. one BatchGetItem for every message's subject and contact, whatever the tables;
2. one Query per tenant (its profile and wording) and one pacing reservation per number;
3. a few transactions for the whole batch, right before the provider calls: each message
   moves to ``sending`` on its claim, its subject is still at the version the decision was
   made on, and its contact has not opted out (or, for a capped kind, the caps' send log
   takes the send on the contact's version). Messages that touch one item (one contact, one
   visit, one campaign) go in different transactions (``ReminderLifecycle.start_many``). A
   failed part is re-read and decided again; nothing is sent on a stale read;
4. one transaction per 25 outcomes, written after the batch's texts went out.

The provider calls go out concurrently through a bounded pool, each at the slot pacing
reserved for it; the slots are waited for in order on this thread, so the pool never makes a
text early. A crash between a provider call and the batch's record leaves the message in
``sending``: a replay of the batch finds its claim gone and sends nothing, and a dispatcher
records the outcome as unknown when the lease ends. At most once, since neither SNS nor End
User Messaging takes an idempotency token.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from reach.clock import Clock
from reach.data.batch_reads import BatchReader, ItemKey
from reach.data.contacts import ContactForSending, ContactRepository
from reach.data.pacing import Gates
from reach.data.reminders import (
    CLAIM_LEASE,
    Guard,
    ReminderKey,
    ReminderLifecycle,
    StartRequest,
    Transition,
)
from reach.data.tenants import TenantRepository
from reach.domain.caps import CapReason
from reach.domain.message import Message, MessageKind, MessageStatus
from reach.domain.models import Tenant
from reach.domain.pacing import PacingContention
from reach.domain.quiet_hours import QuietHours
from reach.domain.retention import expires_at
from reach.domain.segments import count_segments
from reach.ports.events import DomainEvent, EventPublisher, EventPublishError
from reach.ports.send_queue import QueuedReminder
from reach.ports.sms import OutboundSms, RecipientOptedOut, SentSms, SmsError, SmsSender
from reach.services.sending.kind import (
    AnnouncesSent,
    AnnouncesSkipped,
    Deferred,
    GuardsMore,
    OutboundKind,
    Outgoing,
    Stale,
    Unsendable,
)
from reach.services.sending.outcomes import Delivery, SendOutcome, SendResult
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
#: How far a provider's throttling pushes its number's schedule back: every sender of that
#: number slows down, not just the one that was told.
THROTTLE_BACKOFF = timedelta(seconds=1)
#: How far ahead one batch books a number's schedule: a slow number's messages beyond it are
#: handed back unstarted, so that a sender never sleeps long on a 1-part-a-second number
#: while other numbers' messages wait for a sender.
PACING_HORIZON = timedelta(seconds=60)
#: Start transactions tried for one message when what it was decided on keeps changing.
_DECISIONS = 3

TenantWording = tuple[Tenant, dict[tuple[str, str], str]]


@dataclass
class _Message:
    """One queue message on its way through the path, in one batch."""

    queued: QueuedReminder
    key: ReminderKey
    kind: OutboundKind[Any] | None
    receive_count: int
    #: Set once decided: what it is, and where it goes from.
    outgoing: Outgoing[Any] | None = None
    tenant: TenantWording | None = None
    #: The caps' send reserved for it (to release if the text does not go).
    capped_at: datetime | None = None
    #: Moved to ``sending`` by this batch: every later transition starts from there.
    started: bool = False


@dataclass(frozen=True)
class _Ready:
    """A message whose checks passed: the guards its start transaction carries, and the caps'
    send it records (None: the kind is not capped)."""

    guards: list[Guard]
    capped_at: datetime | None = None


@dataclass
class _Started:
    """A message in ``sending``: what it says, in how many parts, from which number, and
    (once the batch's slots are reserved) when it may go."""

    index: int
    message: _Message
    body: str
    parts: int
    encoding: str
    origination: str
    slot: datetime | None = None


@dataclass(frozen=True)
class _Candidate:
    """A decided message about to be started: what it will be once started, and the guards
    its start carries."""

    start: _Started
    ready: _Ready


@dataclass
class _Flight:
    """A message handed to the provider: its record, and the call under way."""

    index: int
    message: _Message
    record: Message
    future: Future[SentSms]
    origination: str


@dataclass
class _Outcomes:
    """What a batch decided, to record together at the end."""

    results: list[SendResult | None]
    transitions: list[tuple[int, Transition, SendResult]] = field(default_factory=list)
    failures: list[tuple[int, DomainEvent]] = field(default_factory=list)
    #: Events of messages that went (``AnnouncesSent``), published once recorded as sent.
    sent: list[tuple[int, DomainEvent]] = field(default_factory=list)

    def record(self, index: int, transition: Transition, result: SendResult) -> None:
        self.transitions.append((index, transition, result))


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
        gates: Gates,
        clock: Clock,
        kinds: Iterable[OutboundKind[Any]],
        configuration_set: str | None,
        reader: BatchReader | None = None,
        concurrency: int = 1,
        new_message_id: Callable[[], str] = lambda: f"msg_{uuid.uuid4().hex}",
        events: EventPublisher | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._reminders = reminders
        self._tenants = tenants
        self._contacts = contacts
        self._sms = sms
        self._gates = gates
        self._clock = clock
        self._kinds = {kind.name: kind for kind in kinds}
        self._configuration_set = configuration_set or None
        self._reader = reader or BatchReader()
        self._new_message_id = new_message_id
        self._events = events
        self._pool = ThreadPoolExecutor(concurrency) if concurrency > 1 else None

    def batch(self, size: int = 1, time_left: timedelta | None = None) -> SendBatch:
        """One invocation's batch, done in ``time_left`` (the invocation's remaining time,
        on this path's own clock; None: no deadline). ``size`` is how many messages the
        first pacing reservation covers."""
        deadline = None if time_left is None else self._clock() + time_left
        return SendBatch(self, size, deadline)

    def send_all(
        self, deliveries: Sequence[Delivery], time_left: timedelta | None = None
    ) -> list[SendResult]:
        """Send one invocation's queue messages; a result for each, in order."""
        return self.batch(len(deliveries), time_left).send_all(deliveries)

    def send(self, queued: QueuedReminder, *, receive_count: int = 1) -> SendResult:
        """Send one message as a batch of its own."""
        return self.batch(1).send(queued, receive_count=receive_count)

    # --- the batch, step by step -----------------------------------------------------------

    def _send_all(self, batch: SendBatch, deliveries: Sequence[Delivery]) -> list[SendResult]:
        messages = [self._message(delivery) for delivery in deliveries]
        outcomes = _Outcomes(results=[None] * len(messages))
        found = self._read(messages)
        known: list[tuple[int, _Message]] = []
        for index, message in enumerate(messages):
            if message.kind is None:
                # Queued by a newer release (a deploy in progress): one that knows the kind
                # takes it on a later receive.
                outcomes.results[index] = SendResult(SendOutcome.RETRY, "unknown_kind")
                continue
            known.append((index, message))
        started = self._through_checks(batch, known, found, outcomes)
        flights = self._send_started(batch, started, outcomes)
        throttled: set[str] = set()
        for flight in flights:
            self._land(batch, flight, outcomes, throttled)
        self._record(outcomes, messages)
        return [result or SendResult(SendOutcome.DUPLICATE) for result in outcomes.results]

    def _message(self, delivery: Delivery) -> _Message:
        queued = delivery.queued
        # The queue's kind names the item family the message is stored as.
        key = ReminderKey(queued.tenant_id, queued.appointment_id, queued.reminder_id, queued.kind)
        return _Message(queued, key, self._kinds.get(queued.kind), delivery.receive_count)

    def _read(self, messages: Sequence[_Message]) -> dict[ItemKey, Any]:
        """Every subject and every contact the queue messages name, in one batch read."""
        keys: list[ItemKey] = []
        contacts: list[ItemKey] = []
        for message in messages:
            if message.kind is None:
                continue
            keys += message.kind.wants(message.queued)
            if message.queued.phone:
                contacts.append(
                    self._contacts.item_key(message.queued.tenant_id, message.queued.phone)
                )
        found = self._reader.read([*keys, *contacts])
        # A contact read and not found is a recipient never texted before (a list member
        # with no appointment): known absent, not read again for each message.
        found = {key: None for key in contacts} | found
        unnamed = self._unnamed_contacts(messages, found)
        if unnamed:
            found |= {key: None for key in unnamed} | self._reader.read(unnamed)
        return found

    def _unnamed_contacts(
        self, messages: Sequence[_Message], found: dict[ItemKey, Any]
    ) -> list[ItemKey]:
        """The contacts of messages whose queue message named no phone (a notice asked
        without waiting: its subject says whom), for one more batch read, not one each."""
        now = self._clock()
        keys: list[ItemKey] = []
        for message in messages:
            if message.kind is None or message.queued.phone:
                continue
            outgoing = message.kind.load(message.queued, found, now)
            if not isinstance(outgoing, Outgoing):
                continue
            key = self._contacts.item_key(outgoing.tenant_id, outgoing.phone)
            if key not in found and key not in keys:
                keys.append(key)
        return keys

    def _through_checks(
        self,
        batch: SendBatch,
        pending: list[tuple[int, _Message]],
        found: dict[ItemKey, Any],
        outcomes: _Outcomes,
    ) -> list[_Started]:
        """Decide every message and start together those that go (``start_many``: a few
        transactions for the batch, not one a message). A message whose guard failed is
        re-read and decided again; one that stops here has its outcome in ``outcomes``."""
        started: list[_Started] = []
        for _ in range(_DECISIONS):
            now = self._clock()
            candidates = [
                candidate
                for index, message in pending
                if (candidate := self._candidate(batch, index, message, found, outcomes, now))
            ]
            pending = self._start(batch, candidates, outcomes, started)
            if not pending:
                return started
            keys = [key for _, message in pending for key in self._rereads(message)]
            found = found | self._reader.read(keys)
        for index, message in pending:
            outcomes.record(index, *self._back(message, "changing"))
        return started

    def _rereads(self, message: _Message) -> list[ItemKey]:
        keys = list(_kind(message).wants(message.queued))
        if message.outgoing is not None:
            keys.append(self._contacts.item_key(message.outgoing.tenant_id, message.outgoing.phone))
        return keys

    def _decide(
        self, batch: SendBatch, message: _Message, found: dict[ItemKey, Any], now: datetime
    ) -> _Ready | tuple[Transition, SendResult]:
        """The message's fate from what was read: stop here (a transition and its result) or
        go, with the guards that what this was decided on still holds."""
        kind = _kind(message)
        outgoing = kind.load(message.queued, found, now)
        if isinstance(outgoing, Stale):
            return self._end(message, SendOutcome.SKIPPED, outgoing.reason, now)
        if isinstance(outgoing, Deferred):
            return self._defer(message, outgoing, now)
        message.outgoing = outgoing
        message.tenant = batch.tenant(outgoing.tenant_id)
        held = self._quiet_hours(message, now)
        if held is not None:
            return held
        contact = self._contact(found, outgoing)
        if contact.opted_out:
            return self._end(message, SendOutcome.SKIPPED, CapReason.OPTED_OUT.value, now)
        guards: list[Guard] = [kind.unchanged(outgoing)]
        if isinstance(kind, GuardsMore):
            guards += kind.more_guards(outgoing)
        if not outgoing.capped:
            return _Ready([*guards, contact.consent_holds()])
        decision, write = contact.reserve_clinic_send(now, outgoing.zone)
        if write is None:
            return self._capped(message, decision.reason, decision.next_allowed_at, now)
        return _Ready([*guards, write], capped_at=now)

    def _contact(self, found: dict[ItemKey, Any], outgoing: Outgoing[Any]) -> ContactForSending:
        key = self._contacts.item_key(outgoing.tenant_id, outgoing.phone)
        if key not in found:  # the queue message named no phone, or another one
            found |= self._reader.read([key])
        return self._contacts.for_sending(found, outgoing.tenant_id, outgoing.phone)

    def _candidate(
        self,
        batch: SendBatch,
        index: int,
        message: _Message,
        found: dict[ItemKey, Any],
        outcomes: _Outcomes,
        now: datetime,
    ) -> _Candidate | None:
        """A decided message, rendered and counted toward its number's reservation; None when
        it stops here."""
        decided = self._decide(batch, message, found, now)
        if not isinstance(decided, _Ready):
            outcomes.record(index, decided[0], decided[1])
            return None
        outgoing, (tenant, templates) = _decided(message)
        try:
            body = _kind(message).render(outgoing, tenant, templates)
        except Unsendable as refused:
            outcomes.record(index, *self._end(message, SendOutcome.SKIPPED, refused.reason, now))
            return None
        parts = count_segments(body)
        origination = tenant.sender_number
        if not batch.has_room(origination, message.queued.mps, parts.parts):
            # More than this number can send within the invocation's horizon: give it back
            # unstarted, so a slow number's backlog never holds a sender asleep for long.
            outcomes.record(index, *self._back(message, "paced"))
            return None
        batch.book(origination, message.queued.mps, parts.parts)
        return _Candidate(
            _Started(index, message, body, parts.parts, str(parts.encoding), origination),
            decided,
        )

    def _start(
        self,
        batch: SendBatch,
        candidates: list[_Candidate],
        outcomes: _Outcomes,
        started: list[_Started],
    ) -> list[tuple[int, _Message]]:
        """Start the candidates (queued -> sending with their guards); those that started go
        in ``started``, and those whose guard failed come back, to decide again on a fresh
        read. Nothing is sent on a stale read."""
        now = self._clock()
        requests = [
            StartRequest(
                c.start.message.key,
                c.start.message.queued.claim_id,
                now,
                now + SENDING_LEASE,
                c.ready.guards,
            )
            for c in candidates
        ]
        again: list[tuple[int, _Message]] = []
        for candidate, result in zip(candidates, self._reminders.start_many(requests), strict=True):
            start, message = candidate.start, candidate.start.message
            if result.started:
                message.started = True
                message.capped_at = candidate.ready.capped_at
                started.append(start)
                continue
            batch.book(start.origination, message.queued.mps, -start.parts)
            if result.claim_lost:
                outcomes.results[start.index] = SendResult(SendOutcome.DUPLICATE)
            else:
                again.append((start.index, message))
        return again

    def _send_started(
        self, batch: SendBatch, started: list[_Started], outcomes: _Outcomes
    ) -> list[_Flight]:
        """Reserve the started messages' slots (one reservation per number, made now that
        every start is written, so the slots are not spent waiting on writes), then hand
        each to the provider at its slot, in order."""
        flights: list[_Flight] = []
        for start in self._in_slot_order(batch, started, outcomes):
            if start.origination in _throttled(flights):
                # The provider said this number sends too fast: the rest of its batch goes
                # back to the queue untried, and the number slows down (``_land``).
                self._release_caps(start.message)
                outcomes.record(start.index, *self._back(start.message, "throttled"))
                continue
            flight = self._at_slot(batch, start, outcomes)
            if flight is not None:
                flights.append(flight)
        return flights

    def _in_slot_order(
        self, batch: SendBatch, started: list[_Started], outcomes: _Outcomes
    ) -> list[_Started]:
        """Each started message with its slot, earliest first: a batch mixing numbers never
        keeps a fast number's text waiting behind a slow number's later slots. A number whose
        schedule could not be reserved (``PacingContention``) gets its messages back in the
        queue, started or not: nothing is left in ``sending`` without a send."""
        slotted = []
        for start in started:
            try:
                start.slot = batch.slots(start.origination, start.message.queued.mps).take(
                    start.parts
                )
            except PacingContention:
                self._release_caps(start.message)
                outcomes.record(start.index, *self._back(start.message, "pacing_contention"))
                continue
            slotted.append((start.slot, start.index, start))
        return [start for _, _, start in sorted(slotted, key=lambda entry: entry[:2])]

    def _at_slot(self, batch: SendBatch, start: _Started, outcomes: _Outcomes) -> _Flight | None:
        message = start.message
        book = batch.slots(start.origination, message.queued.mps)
        slot = start.slot or book.take(start.parts)
        if batch.ends_before(slot + DEADLINE_MARGIN):
            # A backlog beyond this invocation: give the message back rather than sleep
            # through the timeout. Its slot is lost capacity, never exceeded capacity.
            self._release_caps(message)
            outcomes.record(start.index, *self._back(message, "backlog"))
            return None
        try:
            book.send_at(slot, start.parts)
        except PacingContention:  # a late text's fresh slot could not be reserved
            self._release_caps(message)
            outcomes.record(start.index, *self._back(message, "pacing_contention"))
            return None
        now = self._clock()
        held = self._quiet_hours(message, now)
        if held is not None:  # the wait for a slot ran into quiet hours
            self._release_caps(message)
            outcomes.record(start.index, *held)
            return None
        outgoing = _decided(message)[0]
        record = self._new_record(message, start.body, start.parts, start.encoding, now)
        sms = OutboundSms(
            destination=outgoing.phone,
            body=start.body,
            origination_identity=start.origination,
            tenant_id=outgoing.tenant_id,
            message_id=record.message_id,
            expires_at=outgoing.deadline,
            configuration_set=self._configuration_set,
            parts=record.parts,
        )
        return _Flight(start.index, message, record, self._call(sms), start.origination)

    def _call(self, sms: OutboundSms) -> Future[SentSms]:
        if self._pool is not None:
            return self._pool.submit(self._sms.send, sms)
        future: Future[SentSms] = Future()
        try:
            future.set_result(self._sms.send(sms))
        except Exception as error:  # handed to _land, exactly as a pooled call's would be
            future.set_exception(error)
        return future

    def _new_record(
        self, message: _Message, body: str, parts: int, encoding: str, now: datetime
    ) -> Message:
        outgoing, (tenant, _) = _decided(message)
        return Message(
            message_id=self._new_message_id(),
            kind=MessageKind(_kind(message).name),
            phone=outgoing.phone,
            body=body,
            status=MessageStatus.SENT,
            reason=None,
            parts=parts,
            encoding=encoding,
            provider=self._sms.name,
            provider_message_id=None,
            reminder_id=message.key.reminder_id if message.key.item == "reminder" else None,
            appointment_id=message.key.appointment_id,
            created_at=now,
            updated_at=now,
            expires_at=expires_at(now, tenant.retention_days),
        )

    def _land(
        self, batch: SendBatch, flight: _Flight, outcomes: _Outcomes, throttled: set[str]
    ) -> None:
        """How the provider call ended: an opt-out the provider knows is kept on the contact;
        a retryable error goes back to the queue until the last receive, which records the
        failure (a throttle also slows the number down)."""
        index, message, record = flight.index, flight.message, flight.record
        try:
            sent = flight.future.result()
        except RecipientOptedOut as error:
            outgoing = _decided(message)[0]
            self._contacts.mark_opted_out(
                outgoing.tenant_id, outgoing.phone, "provider_opt_out", record.created_at
            )
            self._release_caps(message)
            record = replace(record, status=MessageStatus.SKIPPED, reason=error.reason)
            outcomes.record(
                index, *self._end(message, SendOutcome.SKIPPED, "opted_out", record=record)
            )
            return
        except SmsError as error:
            self._release_caps(message)
            if error.retryable and message.receive_count < MAX_RECEIVES:
                self._slow_down(batch, message, error, throttled)
                outcomes.record(index, *self._back(message, error.reason))
                return
            record = replace(record, status=MessageStatus.FAILED, reason=error.reason)
            outcomes.record(
                index, *self._end(message, SendOutcome.FAILED, error.reason, record=record)
            )
            outcomes.failures.append((index, self._failure_event(message, error.reason, record)))
            return
        record = replace(record, provider_message_id=sent.provider_message_id)
        transition, _ = self._end(message, SendOutcome.SENT, None, record=record)
        announced = self._sent_event(message, record)
        if announced is not None:
            outcomes.sent.append((index, announced))
        outcomes.record(
            index,
            transition,
            SendResult(SendOutcome.SENT, provider_message_id=sent.provider_message_id),
        )

    def _slow_down(
        self, batch: SendBatch, message: _Message, error: SmsError, throttled: set[str]
    ) -> None:
        if error.reason != "throttled":
            return
        tenant = _decided(message)[1][0]
        if tenant.sender_number not in throttled:
            throttled.add(tenant.sender_number)
            batch.slots(tenant.sender_number, message.queued.mps).back_off(THROTTLE_BACKOFF)

    def _record(self, outcomes: _Outcomes, messages: Sequence[_Message]) -> None:
        """Write every outcome of the batch; a transition that did not take (the claim was
        lost meanwhile) makes its message a duplicate, and publishes nothing."""
        applied = self._reminders.apply([transition for _, transition, _ in outcomes.transitions])
        for (index, _, result), took in zip(outcomes.transitions, applied, strict=True):
            outcomes.results[index] = result if took else SendResult(SendOutcome.DUPLICATE)
        self._publish(
            self._skipped_events(outcomes, messages)
            + [
                event
                for index, event in outcomes.failures
                if (ended := outcomes.results[index]) and ended.outcome is SendOutcome.FAILED
            ]
            + [
                event
                for index, event in outcomes.sent
                if (ended := outcomes.results[index]) and ended.outcome is SendOutcome.SENT
            ]
        )

    def _skipped_events(
        self, outcomes: _Outcomes, messages: Sequence[_Message]
    ) -> list[DomainEvent]:
        """The events of the messages recorded as skipped whose kind announces a skip."""
        now = self._clock()
        events: list[DomainEvent] = []
        for index, _, _ in outcomes.transitions:
            ended, kind = outcomes.results[index], messages[index].kind
            if ended is None or ended.outcome is not SendOutcome.SKIPPED:
                continue
            if isinstance(kind, AnnouncesSkipped):
                event = kind.skipped_event(messages[index].queued, ended.reason, now)
                if event is not None:
                    events.append(event)
        return events

    def _publish(self, events: list[DomainEvent]) -> None:
        """Tell tenants their messages could not be delivered (``DeliveryFailed``), went (a
        kind's ``sent_event``, e.g. ``NoticeSent``) or were skipped (a kind's
        ``skipped_event``, e.g. ``NoticeSkipped``), in as few PutEvents as the bus takes.

        The outcomes are recorded already and a redelivery of the queue message finds them
        final, so a bus that fails here cannot be retried through the queue: it is logged for
        the operator, and each message's status stays readable through the API.
        """
        if self._events is None or not events:
            return
        try:
            self._events.publish(events)
        except EventPublishError:
            _log.exception("send events could not be published", extra={"count": len(events)})

    # --- the decisions' transitions --------------------------------------------------------

    def _quiet_hours(
        self, message: _Message, now: datetime
    ) -> tuple[Transition, SendResult] | None:
        """Hold a message that is in quiet hours in any of the recipient's zones until it is
        allowed in all of them."""
        outgoing, (tenant, _) = _decided(message)
        allowed = QuietHours.parse(tenant.quiet_hours).allowed_in_all(now, outgoing.zones)
        if allowed is not None and allowed <= now:
            return None
        if allowed is None or allowed >= outgoing.deadline:
            return self._end(message, SendOutcome.SKIPPED, "quiet_hours", now)
        return self._hold(message, allowed, "held_quiet_hours", now)

    def _defer(
        self, message: _Message, deferred: Deferred, now: datetime
    ) -> tuple[Transition, SendResult]:
        """Back to the due index until the kind says to look again (never skipped for it)."""
        transition = self._reminders.holding(
            message.key,
            message.queued.claim_id,
            deferred.until,
            deferred.reason,
            now,
            started=message.started,
        )
        return transition, SendResult(SendOutcome.HELD, deferred.reason)

    def _capped(
        self,
        message: _Message,
        reason: CapReason | None,
        later: datetime | None,
        now: datetime,
    ) -> tuple[Transition, SendResult]:
        text = reason.value if reason else "cap"
        if reason is CapReason.OPTED_OUT:
            return self._end(message, SendOutcome.SKIPPED, text, now)
        if later is not None and later < _decided(message)[0].deadline:
            return self._hold(message, later, f"held_{text}", now)
        return self._end(message, SendOutcome.SKIPPED, text, now)

    def _hold(
        self, message: _Message, until: datetime, reason: str, now: datetime
    ) -> tuple[Transition, SendResult]:
        if not _decided(message)[0].holds:  # worthless later: skipped for what held it
            return self._end(message, SendOutcome.SKIPPED, reason.removeprefix("held_"), now)
        transition = self._reminders.holding(
            message.key, message.queued.claim_id, until, reason, now, started=message.started
        )
        return transition, SendResult(SendOutcome.HELD, reason)

    def _back(self, message: _Message, reason: str) -> tuple[Transition, SendResult]:
        now = self._clock()
        transition = self._reminders.returning(
            message.key, message.queued.claim_id, now, now + CLAIM_LEASE, started=message.started
        )
        return transition, SendResult(SendOutcome.RETRY, reason)

    def _end(
        self,
        message: _Message,
        outcome: SendOutcome,
        reason: str | None,
        now: datetime | None = None,
        *,
        record: Message | None = None,
    ) -> tuple[Transition, SendResult]:
        transition = self._reminders.finishing(
            message.key,
            message.queued.claim_id,
            _FINAL_STATUS[outcome],
            reason,
            now or self._clock(),
            record,
            started=message.started,
        )
        return transition, SendResult(outcome, reason)

    def _release_caps(self, message: _Message) -> None:
        """Forget a caps send reserved for a text that did not go. Only a started message
        wrote one: a reservation that never reached its start transaction left nothing."""
        if message.capped_at is None or message.outgoing is None:
            return
        at, message.capped_at = message.capped_at, None
        self._contacts.release_clinic_send(message.outgoing.tenant_id, message.outgoing.phone, at)

    def _sent_event(self, message: _Message, record: Message) -> DomainEvent | None:
        kind = _kind(message)
        if not isinstance(kind, AnnouncesSent):  # the hook is optional
            return None
        return kind.sent_event(_decided(message)[0], record.created_at, record.message_id)

    def _failure_event(self, message: _Message, reason: str, record: Message) -> DomainEvent:
        return _kind(message).failure_event(
            _decided(message)[0], reason or "failed", self._clock(), record.message_id
        )


_FINAL_STATUS = {
    SendOutcome.SENT: MessageStatus.SENT,
    SendOutcome.FAILED: MessageStatus.FAILED,
    SendOutcome.SKIPPED: MessageStatus.SKIPPED,
}


def _throttled(flights: list[_Flight]) -> set[str]:
    """The numbers a finished provider call of this batch was throttled on."""
    return {
        flight.origination
        for flight in flights
        if flight.future.done()
        and isinstance(error := flight.future.exception(), SmsError)
        and error.retryable
        and error.reason == "throttled"
    }


def _kind(message: _Message) -> OutboundKind[Any]:
    if message.kind is None:
        raise AssertionError("a message of an unknown kind is never decided")
    return message.kind


def _decided(message: _Message) -> tuple[Outgoing[Any], TenantWording]:
    if message.outgoing is None or message.tenant is None:
        raise AssertionError("a message is decided before it is started")
    return message.outgoing, message.tenant


class SendBatch:
    """One invocation's batch: its pacing slots per number, its tenants read once, and its
    deadline. Made by ``SendPath.batch``; lives as long as the batch does."""

    def __init__(self, path: SendPath, size: int, deadline: datetime | None) -> None:
        self._path = path
        self._size = size
        self._deadline = deadline
        self._tenants: dict[str, TenantWording] = {}
        self._slots: dict[str, SlotBook] = {}
        #: Parts started per number in this batch, to size each number's one reservation.
        self._booked: dict[str, int] = {}

    def send_all(self, deliveries: Sequence[Delivery]) -> list[SendResult]:
        """Re-check, pace, send and record the queue messages; a result for each, in order."""
        return self._path._send_all(self, deliveries)

    def send(self, queued: QueuedReminder, *, receive_count: int = 1) -> SendResult:
        """One queued message (``receive_count``: how many times the queue has delivered it,
        this time included)."""
        return self.send_all([Delivery(queued, receive_count)])[0]

    def ends_before(self, moment: datetime) -> bool:
        """Whether the batch's time is up by ``moment``."""
        return self._deadline is not None and moment > self._deadline

    def tenant(self, tenant_id: str) -> TenantWording:
        """The tenant and its wording; one Query per tenant per batch."""
        if tenant_id not in self._tenants:
            self._tenants[tenant_id] = self._path._tenants.get_with_templates(tenant_id)
        return self._tenants[tenant_id]

    def has_room(self, origination: str, mps: float | None, parts: int) -> bool:
        """Whether one more message of ``parts`` fits what the number can send within
        ``PACING_HORIZON`` (always, for the batch's first message of that number)."""
        booked = self._booked.get(origination, 0)
        pace = self._path._gates.for_number(origination, mps).mps
        return booked == 0 or booked + parts <= pace * PACING_HORIZON.total_seconds()

    def book(self, origination: str, mps: float | None, parts: int) -> None:
        """Count a message's parts toward its number's reservation (negative: a message
        counted before its start that did not start)."""
        self._booked[origination] = self._booked.get(origination, 0) + parts

    def slots(self, origination: str, mps: float | None) -> SlotBook:
        """The send slots of one sending number for this batch, reserved at once for every
        part the batch started on that number. ``mps`` is the pace the dispatcher copied;
        without one, the number's record is read."""
        if origination not in self._slots:
            gate = self._path._gates.for_number(origination, mps)
            self._slots[origination] = SlotBook(gate, self._booked.get(origination, 1))
        return self._slots[origination]
