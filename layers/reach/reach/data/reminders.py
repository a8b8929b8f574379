"""The reminder lifecycle after planning: due -> queued (claimed) -> sending -> final.

Every transition is one conditional UpdateItem, so concurrent dispatchers, redelivered queue
messages and reschedules can race freely and each reminder still moves forward exactly once.

While a reminder is ``queued`` or ``sending`` it stays in the sparse ``due`` index with
``due_at`` pushed to the end of a lease: a dispatcher that crashed after claiming, or a sender
that died mid-send, leaves work that becomes visible again when the lease ends, instead of
work that is silently lost. Final states remove the reminder from the index.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from reach.data.tables import (
    PROVIDER_MESSAGE_SK,
    AppointmentsTableItem,
    MessageItem,
    ProviderMessageItem,
    ReminderItem,
    appointment_pk,
    message_sk,
    provider_message_pk,
    reminder_sk,
    strings,
)
from reach.domain.models import ReminderStatus


@dataclass(frozen=True)
class ReminderKey:
    tenant_id: str
    appointment_id: str
    reminder_id: str


@dataclass(frozen=True)
class DueEntry:
    """What the due index says about a reminder: enough to claim it."""

    key: ReminderKey
    status: ReminderStatus
    due_at: datetime
    appointment_starts_at: datetime | None


@dataclass(frozen=True)
class ReminderState:
    key: ReminderKey
    appointment_version: int
    offsets: tuple[str, ...]
    status: ReminderStatus
    claim_id: str | None
    attempts: int
    appointment_starts_at: datetime | None


@dataclass(frozen=True)
class OutboundRecord:
    """An outbound message as it is stored in the appointment's conversation."""

    message_id: str
    phone: str
    body: str | None
    status: str
    reason: str | None
    parts: int
    encoding: str | None
    provider: str | None
    provider_message_id: str | None
    created_at: datetime


class ReminderLifecycle:
    """Dispatch-time reads and writes of reminders."""

    def due(self, shard: str, now: datetime, limit: int) -> Iterator[DueEntry]:
        """Reminders in ``shard`` due at or before ``now``: a key-bound Query, never a Scan."""
        for item in ReminderItem.due.query(
            shard, ReminderItem.due_at <= now, limit=limit, page_size=min(limit, 500)
        ):
            yield DueEntry(
                key=_key(item),
                status=ReminderStatus(item.status),
                due_at=item.due_at,
                appointment_starts_at=item.appointment_starts_at,
            )

    def claim(
        self, key: ReminderKey, now: datetime, claim_id: str, lease_until: datetime
    ) -> ReminderState | None:
        """Take a due reminder for sending; None when someone else got it first."""
        return self._transition(
            key,
            actions=[
                ReminderItem.status.set(ReminderStatus.QUEUED.value),
                ReminderItem.claim_id.set(claim_id),
                ReminderItem.due_at.set(lease_until),
                ReminderItem.attempts.add(1),
                ReminderItem.updated_at.set(now),
            ],
            condition=(ReminderItem.due_at <= now)
            & ReminderItem.status.is_in(ReminderStatus.PENDING.value, ReminderStatus.QUEUED.value),
        )

    def start_sending(
        self, key: ReminderKey, claim_id: str, now: datetime, lease_until: datetime
    ) -> ReminderState | None:
        """queued -> sending for the holder of ``claim_id``; None for a stale or repeated
        queue message (a newer claim exists, or the reminder moved on)."""
        return self._transition(
            key,
            actions=[
                ReminderItem.status.set(ReminderStatus.SENDING.value),
                ReminderItem.due_at.set(lease_until),
                ReminderItem.updated_at.set(now),
            ],
            condition=(ReminderItem.status == ReminderStatus.QUEUED.value)
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
                ReminderItem.status.set(ReminderStatus.QUEUED.value),
                ReminderItem.due_at.set(lease_until),
                ReminderItem.updated_at.set(now),
            ],
            condition=(ReminderItem.status == ReminderStatus.SENDING.value)
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
                    ReminderItem.status.set(ReminderStatus.PENDING.value),
                    ReminderItem.due_at.set(until),
                    ReminderItem.send_at.set(until),
                    ReminderItem.reason.set(reason),
                    ReminderItem.claim_id.remove(),
                    ReminderItem.updated_at.set(now),
                ],
                condition=(ReminderItem.claim_id == claim_id)
                & ReminderItem.status.is_in(
                    ReminderStatus.QUEUED.value, ReminderStatus.SENDING.value
                ),
            )
            is not None
        )

    def finish(
        self,
        key: ReminderKey,
        claim_id: str | None,
        status: ReminderStatus,
        reason: str | None,
        now: datetime,
        message: OutboundRecord | None = None,
    ) -> bool:
        """Move the reminder to a final status and, in the same transaction, store the
        outbound message and its provider-id lookup. False when the claim was lost."""
        reminder = ReminderItem(
            pk=appointment_pk(key.tenant_id, key.appointment_id), sk=reminder_sk(key.reminder_id)
        )
        actions: list[Action] = [
            ReminderItem.status.set(status.value),
            ReminderItem.reason.set(reason) if reason else ReminderItem.reason.remove(),
            ReminderItem.updated_at.set(now),
            ReminderItem.due_shard.remove(),
            ReminderItem.due_at.remove(),
        ]
        if message is not None:
            actions.append(ReminderItem.message_id.set(message.message_id))
        condition = ReminderItem.status.is_in(
            ReminderStatus.PENDING.value, ReminderStatus.QUEUED.value, ReminderStatus.SENDING.value
        )
        if claim_id is not None:
            condition &= ReminderItem.claim_id == claim_id
        try:
            with TransactWrite(
                connection=AppointmentsTableItem._get_connection().connection
            ) as transaction:
                transaction.update(reminder, actions=actions, condition=condition)
                if message is not None:
                    transaction.save(self._message_item(key, message))
                    if message.provider_message_id:
                        transaction.save(self._provider_lookup(key, message))
        except TransactWriteError as error:
            if error.cause_response_code == "TransactionCanceledException":
                return False
            raise
        return True

    @staticmethod
    def _message_item(key: ReminderKey, message: OutboundRecord) -> MessageItem:
        return MessageItem(
            pk=appointment_pk(key.tenant_id, key.appointment_id),
            sk=message_sk(message.created_at, message.message_id),
            tenant_id=key.tenant_id,
            appointment_id=key.appointment_id,
            message_id=message.message_id,
            direction="outbound",
            phone=message.phone,
            body=message.body,
            status=message.status,
            reason=message.reason,
            parts=message.parts,
            encoding=message.encoding,
            provider=message.provider,
            provider_message_id=message.provider_message_id,
            reminder_id=key.reminder_id,
            created_at=message.created_at,
            updated_at=message.created_at,
        )

    @staticmethod
    def _provider_lookup(key: ReminderKey, message: OutboundRecord) -> ProviderMessageItem:
        assert message.provider_message_id is not None
        return ProviderMessageItem(
            pk=provider_message_pk(message.provider_message_id),
            sk=PROVIDER_MESSAGE_SK,
            tenant_id=key.tenant_id,
            appointment_id=key.appointment_id,
            message_id=message.message_id,
            message_sk=message_sk(message.created_at, message.message_id),
        )

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
        status=ReminderStatus(item.status),
        claim_id=item.claim_id,
        attempts=int(item.attempts or 0),
        appointment_starts_at=item.appointment_starts_at,
    )
