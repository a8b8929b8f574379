"""The reminder lifecycle after planning: due -> queued (claimed) -> sending -> final, and
the due index it runs on.

Every transition is one conditional UpdateItem, so concurrent dispatchers, redelivered queue
messages and reschedules can race freely and each reminder still moves forward exactly once.

While a reminder is ``queued`` or ``sending`` it stays in the sparse ``due`` index with
``due_at`` pushed to the end of a lease: a dispatcher that crashed after claiming, or a sender
that died mid-send, leaves work that becomes visible again when the lease ends, instead of
work that is silently lost. Final states remove the reminder from the index.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from reach.data.messages import MessageRepository
from reach.data.recipients import (
    CAMPAIGN_ITEM,
    Tally,
    add_tallies,
    held_tally,
    outcome_tally,
    recipient_item,
)
from reach.data.survey_items import SURVEY_ITEM, SurveyAskItem, ask_sk, outcome_touch
from reach.data.tables import (
    INVITE_SK,
    AnyDueIndex,
    AppointmentsTableItem,
    InviteItem,
    NoticeItem,
    RecipientItem,
    ReminderItem,
    appointment_pk,
    message_sk,
    notice_sk,
    reminder_sk,
)
from reach.data.transactions import (
    CONDITION_FAILED,
    TRANSACTION_CONFLICT,
    ItemsTouched,
    TrackedTransaction,
    cancelled_by,
    condition_failed,
    failed_positions,
    write_in_chunks,
)
from reach.domain.message import Message, MessageStatus, Thread
from reach.domain.models import Reminder


@dataclass(frozen=True)
class ReminderKey:
    """An outbound message's item in its appointment's partition. ``item`` names which
    family (``reminder``, ``notice``): the lifecycle's transitions work on either, since both
    carry the attributes they write."""

    tenant_id: str
    appointment_id: str
    reminder_id: str
    item: str = "reminder"


@dataclass(frozen=True)
class DueEntry:
    """What the due index says about a reminder: enough to claim it, and the copies a sender
    reads a batch with (``plan``, the appointment version it was made for; ``phone``)."""

    key: ReminderKey
    status: MessageStatus
    due_at: datetime
    appointment_starts_at: datetime | None
    plan: int | None = None
    phone: str | None = None
    #: The outbound kind waiting (the index holds reminders only, so far).
    kind: str = "reminder"


@dataclass(frozen=True)
class Transition:
    """One conditional change of a reminder, written alone or with others in a transaction;
    ``message`` is stored with it (a final status with its text)."""

    key: ReminderKey
    actions: list[Action]
    condition: Condition
    message: Message | None = None
    #: What it adds to a campaign's counters, written in the same transaction.
    tally: Tally | None = None
    #: Another item it updates, unconditionally, in the same transaction (a survey's first
    #: question tells its response when it went).
    touch: tuple[AppointmentsTableItem, list[Action]] | None = None


class Guard(Protocol):
    """Another item's part in a reminder's start transaction: a condition that what was read
    is still so (the appointment's version), or a conditional write (the caps' send log)."""

    def add_to(self, transaction: TransactWrite) -> None: ...


@dataclass(frozen=True)
class Start:
    """How a start transaction went: ``started``, or which part refused. ``claim_lost``: the
    reminder moved on (another sender owns it); ``guards_failed``: positions in the guards
    passed whose condition failed (re-read them and decide again)."""

    started: bool
    claim_lost: bool = False
    guards_failed: frozenset[int] = frozenset()


#: Transitions written in one transaction: with a message and its provider-id lookup each
#: takes three of DynamoDB's 100 actions a transaction.
TRANSITIONS_PER_TRANSACTION = 25


#: How long a claimed message may sit in the queue (or a sender) before it becomes visible in
#: the due index again. Longer than the queue's worst drain time at the origination's pace.
CLAIM_LEASE = timedelta(minutes=15)


class DueIndex:
    """The sparse ``due`` index the dispatcher reads: the one place that knows its attributes
    (``due_shard``, ``due_at``) and how reminders spread over its shards.

    A reminder is in the index exactly while it waits for a dispatcher (pending with a send
    time) or is leased to one (queued, sending); ``due_at`` is when it becomes visible.
    """

    def __init__(self, shards: int) -> None:
        self._shards = shards

    @property
    def shards(self) -> list[str]:
        """Every shard's name, in order: what one dispatcher tick reads."""
        return [f"{n:02d}" for n in range(self._shards)]

    def shard_of(self, key: ReminderKey) -> str:
        """Spread reminders over shards so no one due-index partition runs hot."""
        name = f"{key.tenant_id}#{key.appointment_id}#{key.reminder_id}".encode()
        return f"{zlib.crc32(name) % self._shards:02d}"

    def place(self, item: ReminderItem, reminder: Reminder) -> ReminderItem:
        """``item`` (a reminder about to be written whole) in the index when ``reminder``
        waits for a dispatcher, out of it otherwise."""
        waiting = reminder.status is MessageStatus.PENDING and reminder.send_at is not None
        item.due_shard = self.shard_of(_key(item)) if waiting else None
        item.due_at = reminder.send_at if waiting else None
        return item

    def enter(self, key: ReminderKey, at: datetime) -> list[Action]:
        """Updates that put a stored reminder back in the index, due at ``at``."""
        return [ReminderItem.due_shard.set(self.shard_of(key)), ReminderItem.due_at.set(at)]

    @staticmethod
    def leave() -> list[Action]:
        """Updates that take a stored reminder out of the index (it will not be sent)."""
        return [ReminderItem.due_shard.remove(), ReminderItem.due_at.remove()]

    @staticmethod
    def lease(until: datetime) -> Action:
        """Keep a reminder that is in the index there, hidden until ``until`` (a lease, a
        hold)."""
        return ReminderItem.due_at.set(until)

    @staticmethod
    def is_due(now: datetime) -> Condition:
        return ReminderItem.due_at <= now

    @staticmethod
    def read(shard: str, now: datetime, limit: int) -> Iterator[DueEntry]:
        """Messages in ``shard`` due at or before ``now``, reminders and notices alike (a
        notice is there only while it is claimed or sending: its lease): a key-bound Query,
        never a Scan."""
        for item in AppointmentsTableItem.due_any.query(
            shard, AnyDueIndex.due_at <= now, limit=limit, page_size=min(limit, 500)
        ):
            if isinstance(item, ReminderItem):
                yield DueEntry(
                    key=_key(item),
                    status=MessageStatus(item.status),
                    due_at=item.due_at,
                    appointment_starts_at=item.appointment_starts_at,
                    plan=int(item.appointment_version),
                    phone=item.phone,
                )
            elif isinstance(item, InviteItem):
                yield DueEntry(
                    key=ReminderKey(item.tenant_id, item.appointment_id, INVITE_SK, INVITE_ITEM),
                    status=MessageStatus(item.status),
                    due_at=item.due_at,
                    appointment_starts_at=None,
                    phone=item.phone,
                    kind=INVITE_ITEM,
                )
            elif isinstance(item, NoticeItem):
                yield DueEntry(
                    key=ReminderKey(
                        item.tenant_id, item.appointment_id, item.notice_id, NOTICE_ITEM
                    ),
                    status=MessageStatus(item.status),
                    due_at=item.due_at,
                    appointment_starts_at=None,
                    plan=None if item.appointment_plan is None else int(item.appointment_plan),
                    phone=item.phone,
                    kind=NOTICE_ITEM,
                )
            elif isinstance(item, SurveyAskItem):
                yield DueEntry(
                    key=ReminderKey(
                        item.tenant_id, item.appointment_id, item.sk.partition("#")[2], SURVEY_ITEM
                    ),
                    status=MessageStatus(item.status),
                    due_at=item.due_at,
                    appointment_starts_at=None,
                    plan=int(item.response_version),
                    phone=item.phone,
                    kind=SURVEY_ITEM,
                )
            elif isinstance(item, RecipientItem):
                yield DueEntry(
                    key=ReminderKey(item.tenant_id, item.campaign_id, item.phone, CAMPAIGN_ITEM),
                    status=MessageStatus(item.status),
                    due_at=item.due_at,
                    appointment_starts_at=None,
                    phone=item.phone,
                    kind=CAMPAIGN_ITEM,
                )


class ReminderLifecycle:
    """Dispatch-time reads and writes of reminders.

    Every change is a ``Transition`` (an update on a condition). One can be written alone,
    or many together with ``apply``, which is how a dispatcher claims and a sender records a
    whole batch in a few calls. ``messages`` stores a reminder's text in the same write as its
    final status.
    """

    def __init__(self, messages: MessageRepository | None = None) -> None:
        self._messages = messages or MessageRepository()

    def due(self, shard: str, now: datetime, limit: int) -> Iterator[DueEntry]:
        """Reminders in ``shard`` due at or before ``now``: a key-bound Query, never a Scan."""
        return DueIndex.read(shard, now, limit)

    # --- transitions -----------------------------------------------------------------------

    @staticmethod
    def claiming(
        key: ReminderKey, now: datetime, claim_id: str, lease_until: datetime
    ) -> Transition:
        """Take a due reminder for sending (pending or an expired claim -> queued)."""
        return Transition(
            key,
            actions=[
                ReminderItem.status.set(MessageStatus.QUEUED.value),
                ReminderItem.claim_id.set(claim_id),
                DueIndex.lease(lease_until),
                ReminderItem.attempts.add(1),
                ReminderItem.updated_at.set(now),
            ],
            condition=DueIndex.is_due(now)
            & ReminderItem.status.is_in(MessageStatus.PENDING.value, MessageStatus.QUEUED.value),
        )

    @staticmethod
    def claiming_held(
        key: ReminderKey, now: datetime, claim_id: str, lease_until: datetime
    ) -> Transition:
        """Take a held campaign recipient whose time has come (held -> queued)."""
        claim = ReminderLifecycle.claiming(key, now, claim_id, lease_until)
        return replace(
            claim,
            condition=DueIndex.is_due(now) & (ReminderItem.status == MessageStatus.HELD.value),
            tally=held_tally(key, -1),
        )

    @staticmethod
    def returning(
        key: ReminderKey,
        claim_id: str,
        now: datetime,
        lease_until: datetime,
        *,
        started: bool | None = None,
    ) -> Transition:
        """Back to queued after a retryable failure, so the queue's redelivery can send it.

        The lease is renewed to outlast the queue's visibility timeout: the redelivery of
        this claim, not a new claim, makes the next attempt, so receives keep counting.
        """
        return Transition(
            key,
            actions=[
                ReminderItem.status.set(MessageStatus.QUEUED.value),
                DueIndex.lease(lease_until),
                ReminderItem.updated_at.set(now),
            ],
            condition=_held_by(claim_id, started),
        )

    @staticmethod
    def holding(
        key: ReminderKey,
        claim_id: str,
        until: datetime,
        reason: str,
        now: datetime,
        *,
        started: bool | None = None,
    ) -> Transition:
        """Back in the due index for later (quiet hours, caps, a paused campaign). A campaign
        recipient waits as ``held`` (a reminder as ``pending``, as it was planned)."""
        held = key.item == CAMPAIGN_ITEM
        return Transition(
            key,
            actions=[
                ReminderItem.status.set(
                    (MessageStatus.HELD if held else MessageStatus.PENDING).value
                ),
                DueIndex.lease(until),
                ReminderItem.send_at.set(until),
                ReminderItem.reason.set(reason),
                ReminderItem.claim_id.remove(),
                ReminderItem.updated_at.set(now),
            ],
            condition=_held_by(claim_id, started),
            tally=held_tally(key, 1),
        )

    @staticmethod
    def finishing(
        key: ReminderKey,
        claim_id: str | None,
        status: MessageStatus,
        reason: str | None,
        now: datetime,
        message: Message | None = None,
        *,
        started: bool | None = None,
    ) -> Transition:
        """To a final status, with its ``message`` stored (and its provider-id lookup) in the
        same write. Without a ``claim_id`` (a dispatcher settling an expired lease) any
        holder's claim is overruled."""
        actions: list[Action] = [
            ReminderItem.status.set(status.value),
            ReminderItem.reason.set(reason) if reason else ReminderItem.reason.remove(),
            ReminderItem.updated_at.set(now),
            *DueIndex.leave(),
        ]
        if message is not None:
            actions.append(ReminderItem.message_id.set(message.message_id))
            sort_key = message_sk(message.created_at, message.message_id)
            actions.append(ReminderItem.message_sk.set(sort_key))
        tally = outcome_tally(key, status, reason)
        touch = (
            outcome_touch(key.tenant_id, key.appointment_id, key.reminder_id, status, reason, now)
            if key.item == SURVEY_ITEM
            else None
        )
        condition = (
            _held_by(claim_id, started)
            if claim_id is not None
            else ReminderItem.status.is_in(
                MessageStatus.PENDING.value,
                MessageStatus.QUEUED.value,
                MessageStatus.SENDING.value,
            )
        )
        return Transition(key, actions, condition, message, tally, touch)

    # --- writes ----------------------------------------------------------------------------

    def apply(self, transitions: Sequence[Transition]) -> list[bool]:
        """Write the transitions, many per transaction; whether each one took effect.

        A transaction is all or nothing, so when some conditions fail (a claim lost, a
        reminder someone else moved on) the others are written again without them: at most
        one more transaction per chunk, since the items that failed are known by position.
        Any other failure (throttling, validation) is raised; nothing was written by the
        chunk that raised.
        """
        return write_in_chunks(
            len(transitions),
            TRANSITIONS_PER_TRANSACTION,
            lambda chunk: self._write([transitions[i] for i in chunk]),
            max_conflicts=_MAX_CONFLICTS,
            conflicted=TransactionConflicts,
        )

    def _write(self, transitions: Sequence[Transition]) -> set[int] | None:
        """One transaction (or one UpdateItem for a lone transition without a message); the
        positions whose condition failed, empty when everything was written, None when it
        collided with another transaction and nothing was decided."""
        only = transitions[0]
        if len(transitions) == 1 and only.message is None and not only.tally and not only.touch:
            return set() if _update(only.key, only.actions, only.condition) else {0}
        transaction = TrackedTransaction(
            connection=AppointmentsTableItem._get_connection().connection
        )
        try:
            with transaction:
                for n, transition in enumerate(transitions):
                    transaction.owner = n
                    transaction.update(
                        _item(transition.key),
                        actions=transition.actions,
                        condition=transition.condition,
                    )
                    if transition.message is not None:
                        key = transition.key
                        thread = Thread(key.tenant_id, key.appointment_id, transition.message.phone)
                        self._messages.add_in(transaction, thread, transition.message)
                # One counter update per campaign for the whole transaction: no condition, so
                # it never refuses; its owner is no transition.
                transaction.owner = -1
                add_tallies(transaction, [t.tally for t in transitions if t.tally is not None])
                _add_touches(transaction, transitions)
        except TransactWriteError as error:
            if not cancelled_by(error, (CONDITION_FAILED, TRANSACTION_CONFLICT)):
                raise
            failed = transaction.owners_at(failed_positions(error, CONDITION_FAILED))
            return failed or None
        return set()

    def start(
        self,
        key: ReminderKey,
        claim_id: str,
        now: datetime,
        lease_until: datetime,
        guards: Sequence[Guard] = (),
    ) -> Start:
        """queued -> sending for the holder of ``claim_id``, in one transaction with the
        ``guards``: the checks that what the send was decided on is still so."""
        actions, condition = _starting(claim_id, now, lease_until)
        if not guards:
            return Start(started=True) if _update(key, actions, condition) else _LOST
        transaction = TrackedTransaction(
            connection=AppointmentsTableItem._get_connection().connection
        )
        try:
            with transaction:
                transaction.update(_item(key), actions=actions, condition=condition)
                for n, guard in enumerate(guards, start=1):
                    transaction.owner = n
                    guard.add_to(transaction)
        except TransactWriteError as error:
            if not cancelled_by(error, (CONDITION_FAILED, TRANSACTION_CONFLICT)):
                raise
            failed = transaction.owners_at(failed_positions(error, CONDITION_FAILED))
            if not failed:
                raise TransactionConflicts(1) from error
            if 0 in failed:
                return _LOST
            return Start(started=False, guards_failed=frozenset(n - 1 for n in failed))
        return Start(started=True)

    def start_many(self, requests: Sequence[StartRequest]) -> list[Start]:
        """``start`` for many messages in as few transactions as their items allow: one
        message's parts (its move to ``sending`` and its guards) always go together, and no
        two messages that touch one item (a contact, a visit, a campaign) share a
        transaction, which DynamoDB would refuse. A failed condition is mapped back to its
        message, and the rest are written again without it, as ``apply`` does."""
        results: list[Start] = [_UNDECIDED] * len(requests)
        for chunk in _apart(requests):
            if len(chunk) == 1:
                only = requests[chunk[0]]
                results[chunk[0]] = self.start(
                    only.key, only.claim_id, only.now, only.lease_until, only.guards
                )
                continue
            write_in_chunks(
                len(chunk),
                len(chunk),
                partial(self._start_together, chunk, requests, results),
                max_conflicts=_MAX_CONFLICTS,
                conflicted=TransactionConflicts,
            )
            for n in chunk:
                if results[n] is _UNDECIDED:
                    results[n] = Start(started=True)
        return results

    def _start_together(
        self,
        chunk: list[int],
        requests: Sequence[StartRequest],
        results: list[Start],
        positions: list[int],
    ) -> set[int] | None:
        """One transaction starting the ``positions`` of ``chunk``; the positions that
        failed, with their ``Start`` in ``results``; None when it collided and nothing was
        decided."""
        indexes = [chunk[p] for p in positions]
        transaction = TrackedTransaction(
            connection=AppointmentsTableItem._get_connection().connection
        )
        try:
            with transaction:
                for position, n in enumerate(indexes):
                    _add_start(transaction, requests[n], position * _PARTS)
        except TransactWriteError as error:
            if not cancelled_by(error, (CONDITION_FAILED, TRANSACTION_CONFLICT)):
                raise
            owners = transaction.owners_at(failed_positions(error, CONDITION_FAILED))
            if not owners:
                return None
            failed: dict[int, set[int]] = {}
            for owner in owners:
                failed.setdefault(owner // _PARTS, set()).add(owner % _PARTS)
            for position, parts in failed.items():
                results[indexes[position]] = (
                    _LOST
                    if 0 in parts
                    else Start(started=False, guards_failed=frozenset(p - 1 for p in parts))
                )
            return set(failed)
        return set()


@dataclass(frozen=True)
class StartRequest:
    """One message's ``start``, for ``ReminderLifecycle.start_many``."""

    key: ReminderKey
    claim_id: str
    now: datetime
    lease_until: datetime
    guards: Sequence[Guard] = ()


#: Owners a message may use in a joint start transaction: its move (0) and its guards.
_PARTS = 100
#: Actions a transaction takes (DynamoDB's limit).
_ACTIONS = 100
_LOST = Start(started=False, claim_lost=True)
_UNDECIDED = Start(started=False)


def _starting(
    claim_id: str, now: datetime, lease_until: datetime
) -> tuple[list[Action], Condition]:
    actions = [
        ReminderItem.status.set(MessageStatus.SENDING.value),
        DueIndex.lease(lease_until),
        ReminderItem.updated_at.set(now),
    ]
    condition = (ReminderItem.status == MessageStatus.QUEUED.value) & (
        ReminderItem.claim_id == claim_id
    )
    return actions, condition


def _add_start(transaction: TransactWrite, request: StartRequest, owner: int) -> None:
    """A message's parts, owned by ``owner`` (its move) and the owners after it (its guards)."""
    actions, condition = _starting(request.claim_id, request.now, request.lease_until)
    if isinstance(transaction, TrackedTransaction):
        transaction.owner = owner
    transaction.update(_item(request.key), actions=actions, condition=condition)
    for n, guard in enumerate(request.guards, start=1):
        if isinstance(transaction, TrackedTransaction):
            transaction.owner = owner + n
        guard.add_to(transaction)


def _apart(requests: Sequence[StartRequest]) -> list[list[int]]:
    """The requests in groups that touch no item twice and fit one transaction, in order."""
    groups: list[_Group] = []
    for n, request in enumerate(requests):
        touched = ItemsTouched()
        _add_start(touched, request, 0)
        size = 1 + len(request.guards)
        group = next((g for g in groups if g.takes(touched.items, size)), None)
        if group is None:
            group = _Group()
            groups.append(group)
        group.members.append(n)
        group.items |= touched.items
        group.actions += size
    return [group.members for group in groups]


@dataclass
class _Group:
    members: list[int] = field(default_factory=list)
    items: set[tuple[str, str, str]] = field(default_factory=set)
    actions: int = 0

    def takes(self, items: set[tuple[str, str, str]], size: int) -> bool:
        return not self.items & items and self.actions + size <= _ACTIONS


def _held_by(claim_id: str, started: bool | None) -> Condition:
    """The claim's holder still has the reminder: in ``sending`` once it started it, in
    ``queued`` before (None: either). A message decided before its start must not match a
    ``sending`` reminder: that is a replay of a batch whose sends went out, and moving it
    on (a hold, a skip) could send it again."""
    held = ReminderItem.claim_id == claim_id
    if started is None:
        either: Condition = held & ReminderItem.status.is_in(
            MessageStatus.QUEUED.value, MessageStatus.SENDING.value
        )
        return either
    status = MessageStatus.SENDING if started else MessageStatus.QUEUED
    condition: Condition = held & (ReminderItem.status == status.value)
    return condition


#: Transactions retried after colliding with another one on the same items (each retry is a
#: fresh chance: the other transaction has finished by then).
_MAX_CONFLICTS = 3


class TransactionConflicts(RuntimeError):
    """Reminders kept colliding with other transactions; nothing was written, try later."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} reminder change(s) collided with other transactions")


def _item(
    key: ReminderKey,
) -> ReminderItem | NoticeItem | InviteItem | RecipientItem | SurveyAskItem:
    pk = appointment_pk(key.tenant_id, key.appointment_id)
    if key.item == NOTICE_ITEM:
        return NoticeItem(pk=pk, sk=notice_sk(key.reminder_id))
    if key.item == INVITE_ITEM:
        # ``appointment_id`` is ``member#<list>#<e164>``: the member's own partition.
        return InviteItem(pk=pk, sk=INVITE_SK)
    if key.item == CAMPAIGN_ITEM:
        return recipient_item(key)
    if key.item == SURVEY_ITEM:
        # ``appointment_id`` is the response's thread: the partition of its outbound texts.
        return SurveyAskItem(pk=pk, sk=ask_sk(key.reminder_id))
    if key.item != "reminder":
        raise ValueError(f"no outbound item family {key.item!r}")
    return ReminderItem(pk=pk, sk=reminder_sk(key.reminder_id))


#: ``ReminderKey.item`` of a field-service notice.
NOTICE_ITEM = "notice"
#: ``ReminderKey.item`` of a double opt-in list's invitation (``reach.data.invites``).
INVITE_ITEM = "invite"


def _add_touches(transaction: TransactWrite, transitions: Sequence[Transition]) -> None:
    """Each transition's unconditional update of another item, one per item (a transaction
    may hold one action per item; the later of two wins)."""
    touches = {
        (item.pk, item.sk): (item, actions)
        for item, actions in (t.touch for t in transitions if t.touch is not None)
    }
    for item, actions in touches.values():
        transaction.update(item, actions=actions)


def _update(key: ReminderKey, actions: list[Action], condition: Condition) -> bool:
    """One conditional change of any item family; whether it took."""
    try:
        _item(key).update(actions=actions, condition=condition)
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _key(item: ReminderItem) -> ReminderKey:
    return ReminderKey(item.tenant_id, item.appointment_id, item.reminder_id)
