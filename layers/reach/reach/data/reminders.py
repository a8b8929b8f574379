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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from reach.data.messages import MessageRepository
from reach.data.tables import (
    AppointmentsTableItem,
    ReminderItem,
    appointment_pk,
    reminder_sk,
    strings,
)
from reach.data.transactions import cancelled_by
from reach.domain.message import Message, MessageStatus, Thread
from reach.domain.models import Reminder


@dataclass(frozen=True)
class ReminderKey:
    tenant_id: str
    appointment_id: str
    reminder_id: str


@dataclass(frozen=True)
class DueEntry:
    """What the due index says about a reminder: enough to claim it."""

    key: ReminderKey
    status: MessageStatus
    due_at: datetime
    appointment_starts_at: datetime | None


@dataclass(frozen=True)
class ReminderState:
    key: ReminderKey
    appointment_version: int
    offsets: tuple[str, ...]
    status: MessageStatus
    claim_id: str | None
    attempts: int
    appointment_starts_at: datetime | None


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
        """Reminders in ``shard`` due at or before ``now``: a key-bound Query, never a Scan."""
        for item in ReminderItem.due.query(
            shard, ReminderItem.due_at <= now, limit=limit, page_size=min(limit, 500)
        ):
            yield DueEntry(
                key=_key(item),
                status=MessageStatus(item.status),
                due_at=item.due_at,
                appointment_starts_at=item.appointment_starts_at,
            )


class ReminderLifecycle:
    """Dispatch-time reads and writes of reminders.

    ``messages`` stores a reminder's text in the same transaction as its final status.
    """

    def __init__(self, messages: MessageRepository | None = None) -> None:
        self._messages = messages or MessageRepository()

    def due(self, shard: str, now: datetime, limit: int) -> Iterator[DueEntry]:
        """Reminders in ``shard`` due at or before ``now``: a key-bound Query, never a Scan."""
        return DueIndex.read(shard, now, limit)

    def claim(
        self, key: ReminderKey, now: datetime, claim_id: str, lease_until: datetime
    ) -> ReminderState | None:
        """Take a due reminder for sending; None when someone else got it first."""
        return self._transition(
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

    def start_sending(
        self, key: ReminderKey, claim_id: str, now: datetime, lease_until: datetime
    ) -> ReminderState | None:
        """queued -> sending for the holder of ``claim_id``; None for a stale or repeated
        queue message (a newer claim exists, or the reminder moved on)."""
        return self._transition(
            key,
            actions=[
                ReminderItem.status.set(MessageStatus.SENDING.value),
                DueIndex.lease(lease_until),
                ReminderItem.updated_at.set(now),
            ],
            condition=(ReminderItem.status == MessageStatus.QUEUED.value)
            & (ReminderItem.claim_id == claim_id),
        )

    def back_to_queue(
        self, key: ReminderKey, claim_id: str, now: datetime, lease_until: datetime
    ) -> None:
        """sending -> queued after a retryable failure, so the queue's retry can send it.

        The lease is renewed to outlast the queue's visibility timeout: the redelivery of
        this claim, not a new claim, makes the next attempt, so receives keep counting.
        """
        self._transition(
            key,
            actions=[
                ReminderItem.status.set(MessageStatus.QUEUED.value),
                DueIndex.lease(lease_until),
                ReminderItem.updated_at.set(now),
            ],
            condition=(ReminderItem.status == MessageStatus.SENDING.value)
            & (ReminderItem.claim_id == claim_id),
        )

    def hold(
        self, key: ReminderKey, claim_id: str, until: datetime, reason: str, now: datetime
    ) -> bool:
        """Put the reminder back in the due index for later (quiet hours, caps)."""
        return (
            self._transition(
                key,
                actions=[
                    ReminderItem.status.set(MessageStatus.PENDING.value),
                    DueIndex.lease(until),
                    ReminderItem.send_at.set(until),
                    ReminderItem.reason.set(reason),
                    ReminderItem.claim_id.remove(),
                    ReminderItem.updated_at.set(now),
                ],
                condition=(ReminderItem.claim_id == claim_id)
                & ReminderItem.status.is_in(
                    MessageStatus.QUEUED.value, MessageStatus.SENDING.value
                ),
            )
            is not None
        )

    def finish(
        self,
        key: ReminderKey,
        claim_id: str | None,
        status: MessageStatus,
        reason: str | None,
        now: datetime,
        message: Message | None = None,
    ) -> bool:
        """Move the reminder to a final status and, in the same transaction, store its
        ``message`` (with the provider-id lookup). False when the claim was lost, and then
        no message is stored either: a text is recorded once, by the claim's holder."""
        reminder = ReminderItem(
            pk=appointment_pk(key.tenant_id, key.appointment_id), sk=reminder_sk(key.reminder_id)
        )
        actions: list[Action] = [
            ReminderItem.status.set(status.value),
            ReminderItem.reason.set(reason) if reason else ReminderItem.reason.remove(),
            ReminderItem.updated_at.set(now),
            *DueIndex.leave(),
        ]
        if message is not None:
            actions.append(ReminderItem.message_id.set(message.message_id))
        condition = ReminderItem.status.is_in(
            MessageStatus.PENDING.value, MessageStatus.QUEUED.value, MessageStatus.SENDING.value
        )
        if claim_id is not None:
            condition &= ReminderItem.claim_id == claim_id
        try:
            with TransactWrite(
                connection=AppointmentsTableItem._get_connection().connection
            ) as transaction:
                transaction.update(reminder, actions=actions, condition=condition)
                if message is not None:
                    thread = Thread(key.tenant_id, key.appointment_id, message.phone)
                    self._messages.add_in(transaction, thread, message)
        except TransactWriteError as error:
            # The claim was lost only if a condition failed; anything else is an error.
            if cancelled_by(error):
                return False
            raise
        return True

    @staticmethod
    def _transition(
        key: ReminderKey, actions: list[Action], condition: Condition
    ) -> ReminderState | None:
        item = ReminderItem(
            pk=appointment_pk(key.tenant_id, key.appointment_id), sk=reminder_sk(key.reminder_id)
        )
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return None
            raise
        return _state(item)


def _key(item: ReminderItem) -> ReminderKey:
    return ReminderKey(item.tenant_id, item.appointment_id, item.reminder_id)


def _state(item: ReminderItem) -> ReminderState:
    return ReminderState(
        key=_key(item),
        appointment_version=int(item.appointment_version),
        offsets=strings(item.offsets),
        status=MessageStatus(item.status),
        claim_id=item.claim_id,
        attempts=int(item.attempts or 0),
        appointment_starts_at=item.appointment_starts_at,
    )
