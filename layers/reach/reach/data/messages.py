"""Every stored text message, in either direction and of every kind, and the provider-id
lookup that lets a reply or a delivery receipt find the message it is about.

Messages live in their appointment's partition (``<tenant>#<appointment>``), after its
reminders, so one Query reads the conversation in time order. Messages about no appointment
go to the recipient's own partition with the tenant (``<tenant>#contact#<e164>``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from reach.data.paging import PageTokens
from reach.data.recipients import add_tallies, delivery_tally
from reach.data.tables import (
    PROVIDER_MESSAGE_SK,
    AppointmentsTableItem,
    MessageItem,
    ProviderMessageItem,
    appointment_pk,
    contact_conversation_pk,
    message_sk,
    provider_message_pk,
    usage_key,
)
from reach.data.transactions import (
    CONDITION_FAILED,
    TRANSACTION_CONFLICT,
    cancelled_by,
    condition_failed,
)
from reach.domain.errors import InvalidToken
from reach.domain.message import Direction, Message, MessageKind, MessageStatus, Thread
from reach.domain.retention import epoch_seconds

_MESSAGES = "message#"


@dataclass(frozen=True)
class ProviderMessageRef:
    tenant_id: str
    appointment_id: str
    message_id: str
    #: The message's sort key in its appointment's partition.
    message_sk: str
    #: The message's kind (None: a lookup written before kinds were kept on it).
    kind: str | None = None


@dataclass(frozen=True)
class DeliveryUpdate:
    """What a delivery receipt did to its message."""

    #: This receipt changed the message's status.
    changed: bool
    status: MessageStatus
    status_at: datetime | None
    reminder_id: str | None


@dataclass(frozen=True)
class MessagePage:
    """A page of a thread's messages, and the token for the next page (None: the last)."""

    messages: list[Message]
    next_token: str | None


class MessageRepository:
    """Stores and reads the messages of conversations and their provider-id lookups."""

    def __init__(self, *, tokens: PageTokens | None = None) -> None:
        self._tokens = tokens or PageTokens()

    def add(self, thread: Thread, message: Message) -> bool:
        """Store ``message`` once; False when a message with its key is stored already.

        Ids derived from the inbound message id make a replayed reply land here.
        """
        try:
            _message_item(thread, message).save(condition=AppointmentsTableItem.pk.does_not_exist())
        except PutError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def claim(self, thread: Thread, message: Message, claim: str) -> Message | None:
        """Store ``message`` once, stamped with ``claim`` (unique to the attempt); None when
        this attempt stored it, else the message already stored (``message`` itself if it
        went again meanwhile).

        When the put was applied but its answer lost (a read timeout), the SDK's retry meets
        the item this attempt wrote: its claim tells it from an earlier attempt's, so it is
        still this attempt's message to send. One consistent read, only when the key is taken.
        """
        item = _message_item(thread, message)
        item.claim = claim
        try:
            item.save(condition=AppointmentsTableItem.pk.does_not_exist())
        except PutError as error:
            if not condition_failed(error):
                raise
            try:
                stored = MessageItem.get(item.pk, item.sk, consistent_read=True)
            except DoesNotExist:
                return message
            return None if stored.claim == claim else _message(stored)
        return None

    def add_in(self, transaction: TransactWrite, thread: Thread, message: Message) -> None:
        """Write ``message`` (and its provider-id lookup, when it has one) as part of a
        transaction someone else opened, so the message is stored exactly when the change
        it records is: a reminder's final status and its text commit together or not at all."""
        transaction.save(_message_item(thread, message))
        if message.provider_message_id and thread.appointment_id:
            transaction.save(
                _provider_lookup(
                    thread.tenant_id, thread.appointment_id, message.provider_message_id, message
                )
            )

    def get(self, thread: Thread, created_at: datetime, message_id: str) -> Message | None:
        try:
            item = MessageItem.get(_pk(thread), message_sk(created_at, message_id))
        except DoesNotExist:
            return None
        return _message(item)

    def finish_outbound(
        self,
        thread: Thread,
        message: Message,
        *,
        status: MessageStatus,
        reason: str | None,
        provider: str | None,
        provider_message_id: str | None,
        now: datetime,
    ) -> None:
        """Record how a send ended and, when the provider gave an id, the lookup that lets a
        reply to this message (or its delivery receipt) find it."""
        item = MessageItem(pk=_pk(thread), sk=message_sk(message.created_at, message.message_id))
        actions: list[Action] = [
            MessageItem.status.set(status.value),
            MessageItem.updated_at.set(now),
            MessageItem.reason.set(reason) if reason else MessageItem.reason.remove(),
        ]
        if provider:
            actions.append(MessageItem.provider.set(provider))
        if provider_message_id:
            actions.append(MessageItem.provider_message_id.set(provider_message_id))
        with TransactWrite(
            connection=AppointmentsTableItem._get_connection().connection
        ) as transaction:
            transaction.update(item, actions=actions)
            if provider_message_id and thread.appointment_id:
                transaction.save(
                    _provider_lookup(
                        thread.tenant_id, thread.appointment_id, provider_message_id, message
                    )
                )

    def thread(self, thread: Thread, limit: int = 200) -> list[Message]:
        """The thread's messages in time order (oldest first), at most ``limit``."""
        items = MessageItem.query(
            _pk(thread),
            MessageItem.sk.startswith(_MESSAGES),
            limit=limit,
            page_size=min(limit, 200),
        )
        return [_message(item) for item in items if isinstance(item, MessageItem)]

    def page(
        self, thread: Thread, limit: int, next_token: str | None, *, newest_first: bool = False
    ) -> MessagePage:
        """A page of the thread's messages in one total order: by time, and messages of the
        same time by id (the sort key holds both), oldest or newest first."""
        pk = _pk(thread)
        scope = f"messages\n{pk}\n{'newest' if newest_first else 'oldest'}"
        start = self._tokens.open(next_token, scope, pk, "pk", ("sk",)) if next_token else None
        if start is not None and not start["sk"]["S"].startswith(_MESSAGES):
            raise InvalidToken("not a token for this listing")
        results = MessageItem.query(
            pk,
            MessageItem.sk.startswith(_MESSAGES),
            scan_index_forward=not newest_first,
            limit=limit,
            page_size=limit,
            last_evaluated_key=start,
        )
        messages = [_message(item) for item in results if isinstance(item, MessageItem)]
        last = results.last_evaluated_key if len(messages) == limit else None
        return MessagePage(messages, self._tokens.seal(last, scope))

    def last_outbound_at(self, thread: Thread, scan_limit: int = 20) -> datetime | None:
        """When we last texted about the thread (newest ``scan_limit`` messages looked at)."""
        items = MessageItem.query(
            _pk(thread),
            MessageItem.sk.startswith(_MESSAGES),
            scan_index_forward=False,
            limit=scan_limit,
            page_size=scan_limit,
        )
        for item in items:
            if isinstance(item, MessageItem) and item.direction == Direction.OUTBOUND.value:
                return item.created_at
        return None

    def usage(self, tenant_id: str, first: date, last: date) -> Iterator[Message]:
        """The tenant's messages made on UTC days ``first`` to ``last``, day by day in time
        order: one key-bound Query per day on the sparse lookup index, read page by page, so
        a long range never sits in memory at once. Messages TTL has deleted are gone."""
        day = first
        while day <= last:
            for item in MessageItem.lookup.query(usage_key(tenant_id, day), page_size=500):
                if isinstance(item, MessageItem):
                    yield _message(item)
            day += timedelta(days=1)

    def erase_bodies(self, thread: Thread, page_size: int = 100) -> int:
        """Remove the text of every message of the thread, page by page; returns how many
        had one (a second call finds none). The records stay: status, parts and times are
        delivery and cost records, with no content."""
        erased = 0
        for item in MessageItem.query(
            _pk(thread), MessageItem.sk.startswith(_MESSAGES), page_size=page_size
        ):
            if isinstance(item, MessageItem) and item.body is not None:
                erased += self.erase_body(thread, item.sk)
        return erased

    def erase_body(self, thread: Thread, sort_key: str) -> bool:
        """Remove the text of the message at ``sort_key`` in the thread's partition (found
        by key, in a thread of many people's texts); whether it had one."""
        item = MessageItem(pk=_pk(thread), sk=sort_key)
        try:
            item.update(actions=[MessageItem.body.remove()], condition=MessageItem.body.exists())
        except UpdateError as error:
            if not condition_failed(error):
                raise
            return False
        return True

    def find_provider_message(self, provider_message_id: str) -> ProviderMessageRef | None:
        try:
            item = ProviderMessageItem.get(
                provider_message_pk(provider_message_id), PROVIDER_MESSAGE_SK
            )
        except DoesNotExist:
            return None
        return ProviderMessageRef(
            item.tenant_id, item.appointment_id, item.message_id, item.message_sk, item.kind
        )

    def record_delivery(
        self,
        ref: ProviderMessageRef,
        status: MessageStatus,
        reason: str | None,
        at: datetime,
        now: datetime,
    ) -> DeliveryUpdate | None:
        """Set a sent message's status from its carrier's final receipt reported at ``at``.

        Receipts arrive late and out of order: a receipt older than the one that set the
        status changes nothing, and neither does one that says what the status says already.
        Only texts that went out (``sent``, or a status from an earlier receipt) take a
        receipt; a message that failed or was skipped never does. None: no such message.
        """
        item = MessageItem(pk=appointment_pk(ref.tenant_id, ref.appointment_id), sk=ref.message_sk)
        actions: list[Action] = [
            MessageItem.status.set(status.value),
            MessageItem.status_at.set(at),
            MessageItem.updated_at.set(now),
            MessageItem.reason.set(reason) if reason else MessageItem.reason.remove(),
        ]
        newer = (
            MessageItem.pk.exists()
            & (MessageItem.direction == Direction.OUTBOUND.value)
            & (MessageItem.status != status.value)
            & (MessageItem.status_at.does_not_exist() | (MessageItem.status_at < at))
        )
        if ref.kind == MessageKind.CAMPAIGN.value:
            return _counted_delivery(ref, item, actions, newer, status, at)
        condition = newer & MessageItem.status.is_in(
            *(s.value for s in MessageStatus if s.takes_receipt)
        )
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as error:
            if not condition_failed(error):
                raise
            try:
                item = MessageItem.get(item.pk, item.sk)
            except DoesNotExist:
                return None
            return DeliveryUpdate(
                False, MessageStatus(item.status), item.status_at, item.reminder_id
            )
        return DeliveryUpdate(True, MessageStatus(item.status), item.status_at, item.reminder_id)


#: Tries of a campaign text's receipt: from sent, then from what an earlier receipt set.
_RECEIPT_TRIES = 4


def _counted_delivery(
    ref: ProviderMessageRef,
    item: MessageItem,
    actions: list[Action],
    newer: Condition,
    status: MessageStatus,
    at: datetime,
) -> DeliveryUpdate | None:
    """A campaign text's receipt, written in one transaction with its campaign's counters on
    the status it replaces: the counters move exactly when the status does, so a receipt
    delivered twice (or an older one arriving late) counts nothing again."""
    before = MessageStatus.SENT  # most receipts find the text as the sender left it
    for _ in range(_RECEIPT_TRIES):
        try:
            with TransactWrite(
                connection=AppointmentsTableItem._get_connection().connection
            ) as transaction:
                transaction.update(
                    item, actions=actions, condition=newer & (MessageItem.status == before.value)
                )
                add_tallies(
                    transaction, [delivery_tally(ref.tenant_id, ref.appointment_id, before, status)]
                )
        except TransactWriteError as error:
            if not cancelled_by(error, (CONDITION_FAILED, TRANSACTION_CONFLICT)):
                raise
            # The status was not ``before`` (or a transaction collided): decide on what is
            # stored now.
            try:
                stored = MessageItem.get(item.pk, item.sk, consistent_read=True)
            except DoesNotExist:
                return None
            current = MessageStatus(stored.status)
            if not _takes(current, stored.status_at, status, at):
                return DeliveryUpdate(False, current, stored.status_at, stored.reminder_id)
            before = current
            continue
        return DeliveryUpdate(True, status, at, None)
    return DeliveryUpdate(False, before, None, None)


def _takes(
    current: MessageStatus, current_at: datetime | None, status: MessageStatus, at: datetime
) -> bool:
    """Whether a receipt saying ``status`` at ``at`` replaces what the message says."""
    if not current.takes_receipt or current is status:
        return False
    return current_at is None or current_at < at


def _pk(thread: Thread) -> str:
    if thread.appointment_id:
        return appointment_pk(thread.tenant_id, thread.appointment_id)
    return contact_conversation_pk(thread.tenant_id, thread.phone)


def _message_item(thread: Thread, message: Message) -> MessageItem:
    return MessageItem(
        pk=_pk(thread),
        sk=message_sk(message.created_at, message.message_id),
        tenant_id=thread.tenant_id,
        appointment_id=thread.appointment_id or "",
        message_id=message.message_id,
        kind=message.kind.value,
        direction=message.direction.value,
        phone=message.phone,
        body=message.body,
        status=message.status.value,
        reason=message.reason,
        parts=message.parts,
        encoding=message.encoding,
        provider=message.provider,
        provider_message_id=message.provider_message_id,
        reminder_id=message.reminder_id,
        intent=message.intent,
        inbound_message_id=message.inbound_message_id,
        created_at=message.created_at,
        updated_at=message.updated_at,
        expires_at=None if message.expires_at is None else epoch_seconds(message.expires_at),
        lookup_key=usage_key(thread.tenant_id, message.created_at.astimezone(UTC).date()),
        lookup_at=message.created_at,
    )


def _provider_lookup(
    tenant_id: str, appointment_id: str, provider_message_id: str, message: Message
) -> ProviderMessageItem:
    return ProviderMessageItem(
        pk=provider_message_pk(provider_message_id),
        sk=PROVIDER_MESSAGE_SK,
        tenant_id=tenant_id,
        appointment_id=appointment_id,
        message_id=message.message_id,
        message_sk=message_sk(message.created_at, message.message_id),
        kind=message.kind.value,
    )


def _message(item: MessageItem) -> Message:
    return Message(
        message_id=item.message_id,
        kind=_kind(item),
        phone=item.phone,
        body=item.body,
        status=MessageStatus(item.status),
        created_at=item.created_at,
        updated_at=item.updated_at,
        reason=item.reason,
        intent=item.intent,
        parts=int(item.parts or 0),
        encoding=item.encoding,
        provider=item.provider,
        provider_message_id=item.provider_message_id,
        reminder_id=item.reminder_id,
        inbound_message_id=item.inbound_message_id,
        appointment_id=item.appointment_id or None,
        status_at=item.status_at,
        expires_at=None
        if item.expires_at is None
        else datetime.fromtimestamp(int(item.expires_at), UTC),
    )


def _kind(item: MessageItem) -> MessageKind:
    if item.kind:
        return MessageKind(item.kind)
    # Stored before messages had a kind: the direction and the reminder id tell it.
    if item.direction == Direction.INBOUND.value:
        return MessageKind.INBOUND
    return MessageKind.REMINDER if item.reminder_id else MessageKind.ANSWER
