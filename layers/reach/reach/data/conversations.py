"""The conversation with a recipient: inbound replies, our answers, and callback requests.

Messages live in their appointment's partition (``<tenant>#<appointment>``), after its
reminders' outbound texts, so one Query reads the conversation in time order. Replies that
matched no appointment go to the recipient's own partition with the tenant
(``<tenant>#contact#<e164>``). Every write here is conditional on the item not existing yet,
keyed by ids derived from the inbound message id: a replayed reply stores nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from reach.data.paging import decode_token, encode_token
from reach.data.tables import (
    CALLBACK_GUARD_SK,
    CALLBACK_SK,
    PROVIDER_MESSAGE_SK,
    AppointmentsTableItem,
    CallbackGuardItem,
    CallbackItem,
    MessageItem,
    ProviderMessageItem,
    appointment_pk,
    callback_guard_pk,
    callback_pk,
    callbacks_lookup_key,
    contact_conversation_pk,
    message_sk,
    provider_message_pk,
)
from reach.domain.errors import Conflict, NotFound

INBOUND = "inbound"
OUTBOUND = "outbound"
#: Statuses of a text that went out, which a delivery receipt may replace.
RECEIPT_STATUSES = ("sent", "delivered", "undelivered")


@dataclass(frozen=True)
class Thread:
    """Where a message is filed: an appointment's conversation, or the recipient's own."""

    tenant_id: str
    appointment_id: str | None
    phone: str

    @property
    def pk(self) -> str:
        if self.appointment_id:
            return appointment_pk(self.tenant_id, self.appointment_id)
        return contact_conversation_pk(self.tenant_id, self.phone)


@dataclass(frozen=True)
class MessageRecord:
    """One message of a conversation, either direction."""

    message_id: str
    direction: str
    phone: str
    body: str | None
    status: str
    created_at: datetime
    updated_at: datetime
    reason: str | None = None
    intent: str | None = None
    parts: int = 0
    encoding: str | None = None
    provider: str | None = None
    provider_message_id: str | None = None
    reminder_id: str | None = None
    inbound_message_id: str | None = None
    appointment_id: str | None = None
    #: When the carrier's final receipt set ``status`` to delivered or undelivered.
    status_at: datetime | None = None


@dataclass(frozen=True)
class ProviderMessageRef:
    tenant_id: str
    appointment_id: str
    message_id: str
    #: The message's sort key in its appointment's partition.
    message_sk: str


@dataclass(frozen=True)
class DeliveryUpdate:
    """What a delivery receipt did to its message."""

    #: This receipt changed the message's status.
    changed: bool
    status: str
    status_at: datetime | None
    reminder_id: str | None


@dataclass(frozen=True)
class Callback:
    tenant_id: str
    callback_id: str
    phone: str
    appointment_id: str | None
    status: str
    requested_at: datetime
    expected_by: datetime
    inbound_message_id: str
    closed_at: datetime | None = None
    outcome: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class CallbackPage:
    items: list[Callback]
    next_token: str | None


class ConversationRepository:
    """Messages of conversations, provider-id lookups and callback requests."""

    # --- messages ---------------------------------------------------------------------

    def add(self, thread: Thread, message: MessageRecord) -> bool:
        """Store ``message`` once; False when a message with its key is stored already."""
        try:
            _message_item(thread, message).save(condition=AppointmentsTableItem.pk.does_not_exist())
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, thread: Thread, created_at: datetime, message_id: str) -> MessageRecord | None:
        try:
            item = MessageItem.get(thread.pk, message_sk(created_at, message_id))
        except DoesNotExist:
            return None
        return _record(item)

    def finish_outbound(
        self,
        thread: Thread,
        message: MessageRecord,
        *,
        status: str,
        reason: str | None,
        provider: str | None,
        provider_message_id: str | None,
        now: datetime,
    ) -> None:
        """Record how a send ended and, when the provider gave an id, the lookup that lets a
        reply to this message (or its delivery receipt) find it."""
        item = MessageItem(pk=thread.pk, sk=message_sk(message.created_at, message.message_id))
        actions: list[Action] = [
            MessageItem.status.set(status),
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
                    ProviderMessageItem(
                        pk=provider_message_pk(provider_message_id),
                        sk=PROVIDER_MESSAGE_SK,
                        tenant_id=thread.tenant_id,
                        appointment_id=thread.appointment_id,
                        message_id=message.message_id,
                        message_sk=message_sk(message.created_at, message.message_id),
                    )
                )

    def thread(self, thread: Thread, limit: int = 200) -> list[MessageRecord]:
        """The thread's messages in time order (oldest first), at most ``limit``."""
        items = MessageItem.query(
            thread.pk,
            MessageItem.sk.startswith("message#"),
            limit=limit,
            page_size=min(limit, 200),
        )
        return [_record(item) for item in items if isinstance(item, MessageItem)]

    def last_outbound_at(self, thread: Thread, scan_limit: int = 20) -> datetime | None:
        """When we last texted about the thread (newest ``scan_limit`` messages looked at)."""
        items = MessageItem.query(
            thread.pk,
            MessageItem.sk.startswith("message#"),
            scan_index_forward=False,
            limit=scan_limit,
            page_size=scan_limit,
        )
        for item in items:
            if isinstance(item, MessageItem) and item.direction == OUTBOUND:
                return item.created_at
        return None

    def find_provider_message(self, provider_message_id: str) -> ProviderMessageRef | None:
        try:
            item = ProviderMessageItem.get(
                provider_message_pk(provider_message_id), PROVIDER_MESSAGE_SK
            )
        except DoesNotExist:
            return None
        return ProviderMessageRef(
            item.tenant_id, item.appointment_id, item.message_id, item.message_sk
        )

    def record_delivery(
        self, ref: ProviderMessageRef, status: str, reason: str | None, at: datetime, now: datetime
    ) -> DeliveryUpdate | None:
        """Set a sent message's status from its carrier's final receipt reported at ``at``.

        Receipts arrive late and out of order: a receipt older than the one that set the
        status changes nothing, and neither does one that says what the status says already.
        Only texts that went out (``sent``, or a status from an earlier receipt) take a
        receipt; a message that failed or was skipped never does. None: no such message.
        """
        item = MessageItem(pk=appointment_pk(ref.tenant_id, ref.appointment_id), sk=ref.message_sk)
        actions: list[Action] = [
            MessageItem.status.set(status),
            MessageItem.status_at.set(at),
            MessageItem.updated_at.set(now),
            MessageItem.reason.set(reason) if reason else MessageItem.reason.remove(),
        ]
        condition = (
            MessageItem.pk.exists()
            & (MessageItem.direction == OUTBOUND)
            & MessageItem.status.is_in(*RECEIPT_STATUSES)
            & (MessageItem.status != status)
            & (MessageItem.status_at.does_not_exist() | (MessageItem.status_at < at))
        )
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            try:
                item = MessageItem.get(item.pk, item.sk)
            except DoesNotExist:
                return None
            return DeliveryUpdate(False, item.status, item.status_at, item.reminder_id)
        return DeliveryUpdate(True, item.status, item.status_at, item.reminder_id)

    # --- callbacks --------------------------------------------------------------------

    def open_callback(self, callback: Callback) -> tuple[Callback, bool]:
        """Store a new open callback request unless the recipient has one open already.

        Returns the open request (new or existing) and whether it was created now. A guard
        item per recipient makes "one open request" hold under concurrent replies.
        """
        item = _callback_item(callback)
        guard = CallbackGuardItem(
            pk=callback_guard_pk(callback.tenant_id, callback.phone),
            sk=CALLBACK_GUARD_SK,
            tenant_id=callback.tenant_id,
            appointment_id=callback.appointment_id or "",
            callback_id=callback.callback_id,
        )
        for _ in range(3):
            try:
                with TransactWrite(
                    connection=AppointmentsTableItem._get_connection().connection
                ) as transaction:
                    transaction.save(item, condition=AppointmentsTableItem.pk.does_not_exist())
                    transaction.save(guard, condition=AppointmentsTableItem.pk.does_not_exist())
            except TransactWriteError as error:
                if error.cause_response_code != "TransactionCanceledException":
                    raise
                existing = self._open_for(callback.tenant_id, callback.phone)
                if existing is not None:
                    return existing, False
                continue  # closed meanwhile: try again
            return callback, True
        raise Conflict("callback requests changed too often while opening one; retry")

    def get_callback(self, tenant_id: str, callback_id: str) -> Callback:
        try:
            item = CallbackItem.get(callback_pk(tenant_id, callback_id), CALLBACK_SK)
        except DoesNotExist as error:
            raise NotFound(f"callback {callback_id} not found") from error
        return _callback(item)

    def callbacks(
        self, tenant_id: str, status: str, limit: int, next_token: str | None
    ) -> CallbackPage:
        """A tenant's callback requests in one status, oldest request first (key-bound)."""
        hash_key = callbacks_lookup_key(tenant_id, status)
        start = decode_token(next_token, hash_key, ("lookup_key",)) if next_token else None
        results = CallbackItem.lookup.query(
            hash_key, limit=limit, page_size=limit, last_evaluated_key=start
        )
        items = [_callback(item) for item in results if isinstance(item, CallbackItem)]
        last = results.last_evaluated_key if len(items) == limit else None
        return CallbackPage(items, encode_token(last))

    def close_callback(
        self, tenant_id: str, callback_id: str, outcome: str, note: str | None, now: datetime
    ) -> Callback:
        """Close an open request (and free the recipient's guard). Closing a closed request
        again returns it unchanged."""
        current = self.get_callback(tenant_id, callback_id)
        if current.status != "open":
            return current
        item = CallbackItem(pk=callback_pk(tenant_id, callback_id), sk=CALLBACK_SK)
        guard = CallbackGuardItem(
            pk=callback_guard_pk(tenant_id, current.phone), sk=CALLBACK_GUARD_SK
        )
        try:
            with TransactWrite(
                connection=AppointmentsTableItem._get_connection().connection
            ) as transaction:
                transaction.update(
                    item,
                    actions=[
                        CallbackItem.status.set("closed"),
                        CallbackItem.closed_at.set(now),
                        CallbackItem.outcome.set(outcome),
                        CallbackItem.note.set(note) if note else CallbackItem.note.remove(),
                        CallbackItem.lookup_key.set(callbacks_lookup_key(tenant_id, "closed")),
                        CallbackItem.lookup_at.set(now),
                    ],
                    condition=CallbackItem.status == "open",
                )
                transaction.delete(guard, condition=CallbackGuardItem.callback_id == callback_id)
        except TransactWriteError as error:
            if error.cause_response_code != "TransactionCanceledException":
                raise
        return self.get_callback(tenant_id, callback_id)

    def _open_for(self, tenant_id: str, phone: str) -> Callback | None:
        try:
            guard = CallbackGuardItem.get(
                callback_guard_pk(tenant_id, phone), CALLBACK_GUARD_SK, consistent_read=True
            )
        except DoesNotExist:
            return None
        return self.get_callback(tenant_id, guard.callback_id)


def _message_item(thread: Thread, message: MessageRecord) -> MessageItem:
    return MessageItem(
        pk=thread.pk,
        sk=message_sk(message.created_at, message.message_id),
        tenant_id=thread.tenant_id,
        appointment_id=thread.appointment_id or "",
        message_id=message.message_id,
        direction=message.direction,
        phone=message.phone,
        body=message.body,
        status=message.status,
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
    )


def _record(item: MessageItem) -> MessageRecord:
    return MessageRecord(
        message_id=item.message_id,
        direction=item.direction,
        phone=item.phone,
        body=item.body,
        status=item.status,
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
    )


def _callback_item(callback: Callback) -> CallbackItem:
    return CallbackItem(
        pk=callback_pk(callback.tenant_id, callback.callback_id),
        sk=CALLBACK_SK,
        tenant_id=callback.tenant_id,
        appointment_id=callback.appointment_id or "",
        callback_id=callback.callback_id,
        phone=callback.phone,
        status=callback.status,
        requested_at=callback.requested_at,
        expected_by=callback.expected_by,
        inbound_message_id=callback.inbound_message_id,
        lookup_key=callbacks_lookup_key(callback.tenant_id, callback.status),
        lookup_at=callback.requested_at,
    )


def _callback(item: CallbackItem) -> Callback:
    return Callback(
        tenant_id=item.tenant_id,
        callback_id=item.callback_id,
        phone=item.phone,
        appointment_id=item.appointment_id or None,
        status=item.status,
        requested_at=item.requested_at,
        expected_by=item.expected_by,
        inbound_message_id=item.inbound_message_id,
        closed_at=item.closed_at,
        outcome=item.outcome,
        note=item.note,
    )
