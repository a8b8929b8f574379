"""Requests by recipients for a voice call back, made by text (a CALL reply).

A request lives in its own partition (``<tenant>#callback#<id>``) and, while open, in the
lookup index under ``<tenant>#callbacks#open``; a guard item per recipient keeps at most one
request open at a time. Ids derived from the inbound message id make a replayed reply open
nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from reach.data.paging import PageTokens
from reach.data.tables import (
    CALLBACK_GUARD_SK,
    CALLBACK_SK,
    AppointmentsTableItem,
    CallbackGuardItem,
    CallbackItem,
    callback_guard_pk,
    callback_pk,
    callbacks_lookup_key,
)
from reach.data.transactions import CONDITION_FAILED, cancelled_by, condition_failed
from reach.domain.callbacks import Callback
from reach.domain.errors import Conflict, NotFound


@dataclass(frozen=True)
class CallbackPage:
    items: list[Callback]
    next_token: str | None


class CallbackRepository:
    """Callback requests: opening one per recipient at a time, listing, closing."""

    def __init__(self, *, tokens: PageTokens | None = None) -> None:
        self._tokens = tokens or PageTokens()

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
                # Lost to a request opened (or closed) meanwhile: read and try again.
                if not cancelled_by(error, (CONDITION_FAILED, "TransactionConflict")):
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
        scope = f"callbacks\n{hash_key}"
        start = (
            self._tokens.open(next_token, scope, hash_key, "lookup_key", ("lookup_at", "pk", "sk"))
            if next_token
            else None
        )
        results = CallbackItem.lookup.query(
            hash_key, limit=limit, page_size=limit, last_evaluated_key=start
        )
        items = [_callback(item) for item in results if isinstance(item, CallbackItem)]
        last = results.last_evaluated_key if len(items) == limit else None
        return CallbackPage(items, self._tokens.seal(last, scope))

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
            # Only "closed meanwhile" falls through to returning the request as it is now.
            if not cancelled_by(error):
                raise
        return self.get_callback(tenant_id, callback_id)

    def erase_notes(self, tenant_id: str, phone: str, page_size: int = 100) -> int:
        """Remove the clinic's notes from the recipient's callback requests; returns how many
        had one. The tenant's callbacks are read page by page (open, then closed) with the
        recipient as a filter: no index is keyed by a callback's phone, and erasure is rare
        enough not to pay for one on every request."""
        erased = 0
        for status in ("open", "closed"):
            for item in CallbackItem.lookup.query(
                callbacks_lookup_key(tenant_id, status),
                filter_condition=(CallbackItem.phone == phone) & CallbackItem.note.exists(),
                page_size=page_size,
            ):
                if not isinstance(item, CallbackItem):
                    continue
                try:
                    item.update(
                        actions=[CallbackItem.note.remove()], condition=CallbackItem.note.exists()
                    )
                except UpdateError as error:
                    if not condition_failed(error):
                        raise
                    continue
                erased += 1
        return erased

    def _open_for(self, tenant_id: str, phone: str) -> Callback | None:
        try:
            guard = CallbackGuardItem.get(
                callback_guard_pk(tenant_id, phone), CALLBACK_GUARD_SK, consistent_read=True
            )
        except DoesNotExist:
            return None
        return self.get_callback(tenant_id, guard.callback_id)


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
