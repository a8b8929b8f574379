"""Field-service notices in their appointment's partition, and the marks that make a
repeated request answer with the notice it already made.

A notice is written already claimed (``queued``, with a claim id) in one transaction with:
the recipient's consent (not opted out), the appointment still open and on its plan, the
type's latest-notice mark (moved on the version read, so two concurrent requests cannot both
pass as new) and, with an ``Idempotency-Key``, that key's mark. From then on the notice moves
through ``ReminderLifecycle`` like a reminder (``ReminderKey(..., item="notice")``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from reach.data.batch_reads import ItemKey
from reach.data.reminders import (
    CLAIM_LEASE,
    NOTICE_ITEM,
    DueIndex,
    Guard,
    ReminderKey,
    ReminderLifecycle,
)
from reach.data.tables import (
    APPOINTMENT_SK,
    AppointmentItem,
    AppointmentsTableItem,
    NoticeItem,
    NoticeMarkItem,
    appointment_pk,
    notice_key_sk,
    notice_last_sk,
    notice_sk,
)
from reach.data.transactions import (
    CONDITION_FAILED,
    TRANSACTION_CONFLICT,
    TrackedTransaction,
    cancelled_by,
    failed_positions,
)
from reach.domain.message import MessageStatus
from reach.domain.models import AppointmentStatus
from reach.domain.notices import Notice, NoticeType


@dataclass(frozen=True)
class Mark:
    """A mark as read: the notice it points at (and, for a type's latest, its ETA)."""

    notice_id: str
    eta: datetime | None


class Refusal(Enum):
    """Which part of a notice's write refused it."""

    OPTED_OUT = "opted_out"
    CLOSED = "closed"
    #: Another request moved a mark meanwhile: read the marks again and decide again.
    RACED = "raced"
    #: The ``Idempotency-Key`` is taken: a repeat, answered with the notice it names.
    KEY_TAKEN = "key_taken"


@dataclass(frozen=True)
class StillOpen:
    """The appointment is open and still on ``plan``: a notice goes on a visit that will
    happen when it was asked about. A reply that only confirms (a new version, the same
    plan) leaves it valid."""

    tenant_id: str
    appointment_id: str
    #: None: open, on whatever plan (a notice asked without waiting, before anyone read it).
    plan: int | None

    def add_to(self, transaction: TransactWrite) -> None:
        open_statuses = [s.value for s in AppointmentStatus if not s.is_closed]
        condition: Condition = AppointmentItem.status.is_in(*open_statuses)
        if self.plan is not None:
            condition &= (AppointmentItem.plan_version == self.plan) | (
                AppointmentItem.plan_version.does_not_exist()
                & (AppointmentItem.version == self.plan)
            )
        transaction.condition_check(
            AppointmentItem,
            appointment_pk(self.tenant_id, self.appointment_id),
            APPOINTMENT_SK,
            condition=condition,
        )


@dataclass(frozen=True)
class LatestMark:
    """Moves the type's latest-notice mark to ``notice`` in its start transaction, if it
    still names ``was`` (None: no mark yet): a notice asked without waiting is checked for
    repeats by its sender, and two senders cannot both find it new."""

    notice: Notice
    was: str | None

    def add_to(self, transaction: TransactWrite) -> None:
        notice = self.notice
        mark = NoticeMarkItem(
            pk=appointment_pk(notice.tenant_id, notice.appointment_id),
            sk=notice_last_sk(notice.type.value),
            tenant_id=notice.tenant_id,
            appointment_id=notice.appointment_id,
            notice_id=notice.notice_id,
            eta=notice.eta,
        )
        same: Condition = (
            NoticeMarkItem.pk.does_not_exist()
            if self.was is None
            else NoticeMarkItem.notice_id == self.was
        )
        transaction.save(mark, condition=same)


class NoticeStore:
    """Notices and their repeat marks. With ``shards`` (the stack's ``DUE_SHARDS``) a notice
    is written into the ``due`` index under its claim's lease, like a claimed reminder, so
    that a dispatcher settles it if its queue message or its sender is lost."""

    def __init__(
        self, lifecycle: ReminderLifecycle | None = None, *, shards: int | None = None
    ) -> None:
        self._lifecycle = lifecycle or ReminderLifecycle()
        self._due = None if shards is None else DueIndex(shards)

    @staticmethod
    def item_key(tenant_id: str, appointment_id: str, notice_id: str) -> ItemKey:
        return ItemKey(
            AppointmentsTableItem, appointment_pk(tenant_id, appointment_id), notice_sk(notice_id)
        )

    @staticmethod
    def mark_keys(
        tenant_id: str, appointment_id: str, notice_type: NoticeType, idempotency_key: str | None
    ) -> list[ItemKey]:
        """The type's latest-notice mark, then the key's mark (when there is a key)."""
        pk = appointment_pk(tenant_id, appointment_id)
        keys = [ItemKey(AppointmentsTableItem, pk, notice_last_sk(notice_type.value))]
        if idempotency_key is not None:
            keys.append(ItemKey(AppointmentsTableItem, pk, notice_key_sk(idempotency_key)))
        return keys

    @staticmethod
    def mark_from(found: Mapping[ItemKey, Any], key: ItemKey) -> Mark | None:
        item = found.get(key)
        return Mark(item.notice_id, item.eta) if isinstance(item, NoticeMarkItem) else None

    @staticmethod
    def from_found(found: Mapping[ItemKey, Any], key: ItemKey) -> Notice | None:
        item = found.get(key)
        return _notice(item) if isinstance(item, NoticeItem) else None

    def _leased(self, item: NoticeItem) -> NoticeItem:
        if self._due is not None:
            key = ReminderKey(item.tenant_id, item.appointment_id, item.notice_id, NOTICE_ITEM)
            item.due_shard = self._due.shard_of(key)
            item.due_at = item.created_at + CLAIM_LEASE
        return item

    def get(self, tenant_id: str, appointment_id: str, notice_id: str) -> Notice | None:
        try:
            item = NoticeItem.get(appointment_pk(tenant_id, appointment_id), notice_sk(notice_id))
        except DoesNotExist:
            return None
        return _notice(item)

    def create(
        self,
        notice: Notice,
        *,
        latest: Mark | None,
        idempotency_key: str | None,
        consent: Guard,
    ) -> Refusal | None:
        """Write the claimed notice with its marks, if consent holds, the appointment is
        still open on the notice's plan and the type's latest mark is still ``latest``.
        None when written, else the part that refused (a key's mark taken since it was read
        is a race: read again)."""
        return self._write(
            notice,
            idempotency_key,
            latest=LatestMark(notice, latest.notice_id if latest else None),
            consent=consent,
            key_taken=Refusal.RACED,
        )

    def create_unread(self, notice: Notice, *, idempotency_key: str | None) -> Refusal | None:
        """Write a notice asked without waiting (no phone, no plan: the visit was not read),
        claimed, with its key's mark, if the appointment is open. None when written, else
        ``CLOSED`` (closed, or no such appointment), ``KEY_TAKEN``, or ``RACED``. Its sender
        moves the type's latest mark, and checks consent."""
        return self._write(
            notice, idempotency_key, latest=None, consent=None, key_taken=Refusal.KEY_TAKEN
        )

    def _write(
        self,
        notice: Notice,
        idempotency_key: str | None,
        *,
        latest: LatestMark | None,
        consent: Guard | None,
        key_taken: Refusal,
    ) -> Refusal | None:
        """One transaction: the leased notice and the type's mark (owner 0), the key's mark
        (1), consent (2), the visit open on the notice's plan (3)."""
        transaction = TrackedTransaction(
            connection=AppointmentsTableItem._get_connection().connection
        )
        try:
            with transaction:
                transaction.owner = 0
                transaction.save(
                    self._leased(_item(notice)), condition=NoticeItem.pk.does_not_exist()
                )
                if latest is not None:
                    latest.add_to(transaction)
                if idempotency_key is not None:
                    transaction.owner = 1
                    transaction.save(
                        _key_mark(notice, idempotency_key),
                        condition=NoticeMarkItem.pk.does_not_exist(),
                    )
                if consent is not None:
                    transaction.owner = 2
                    consent.add_to(transaction)
                transaction.owner = 3
                StillOpen(notice.tenant_id, notice.appointment_id, notice.plan).add_to(transaction)
        except TransactWriteError as error:
            if not cancelled_by(error, (CONDITION_FAILED, TRANSACTION_CONFLICT)):
                raise
            failed = transaction.owners_at(failed_positions(error, CONDITION_FAILED))
            for owner, refusal in ((3, Refusal.CLOSED), (2, Refusal.OPTED_OUT), (1, key_taken)):
                if owner in failed:
                    return refusal
            return Refusal.RACED
        return None

    def keyed(self, tenant_id: str, appointment_id: str, idempotency_key: str) -> Notice | None:
        """The notice an ``Idempotency-Key`` made on this appointment, if any (two reads: a
        repeat's answer, not the common path)."""
        try:
            mark = NoticeMarkItem.get(
                appointment_pk(tenant_id, appointment_id), notice_key_sk(idempotency_key)
            )
        except DoesNotExist:
            return None
        return self.get(tenant_id, appointment_id, mark.notice_id)


def notice_from_image(image: Mapping[str, Any]) -> Notice | None:
    """The notice a stream record's ``NewImage`` holds (DynamoDB's attribute-value form), or
    None when the item is not a notice. A notice the stream brings is one the API just wrote,
    already claimed; what it is now, the send path reads and decides."""
    try:
        item = AppointmentsTableItem.from_raw_data(dict(image))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return _notice(item) if isinstance(item, NoticeItem) else None


def notice_key(notice: Notice) -> ReminderKey:
    """The notice's key for the lifecycle's transitions."""
    return ReminderKey(notice.tenant_id, notice.appointment_id, notice.notice_id, NOTICE_ITEM)


def _key_mark(notice: Notice, idempotency_key: str) -> NoticeMarkItem:
    return NoticeMarkItem(
        pk=appointment_pk(notice.tenant_id, notice.appointment_id),
        sk=notice_key_sk(idempotency_key),
        tenant_id=notice.tenant_id,
        appointment_id=notice.appointment_id,
        notice_id=notice.notice_id,
    )


def _item(notice: Notice) -> NoticeItem:
    return NoticeItem(
        pk=appointment_pk(notice.tenant_id, notice.appointment_id),
        sk=notice_sk(notice.notice_id),
        tenant_id=notice.tenant_id,
        appointment_id=notice.appointment_id,
        notice_id=notice.notice_id,
        notice_type=notice.type.value,
        eta=notice.eta,
        link=notice.link,
        appointment_plan=notice.plan,
        phone=notice.phone,
        status=notice.status.value,
        reason=notice.reason,
        created_at=notice.created_at,
        updated_at=notice.created_at,
        claim_id=notice.claim_id,
        attempts=1,
    )


def _notice(item: NoticeItem) -> Notice:
    return Notice(
        tenant_id=item.tenant_id,
        appointment_id=item.appointment_id,
        notice_id=item.notice_id,
        type=NoticeType(item.notice_type),
        eta=item.eta,
        link=item.link,
        phone=item.phone,
        plan=None if item.appointment_plan is None else int(item.appointment_plan),
        status=MessageStatus(item.status),
        created_at=item.created_at,
        claim_id=item.claim_id,
        reason=item.reason,
    )
