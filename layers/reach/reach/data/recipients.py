"""A campaign's recipients, its counters, and the dispatcher's writes on the campaign.

  AppointmentsTable  ``<t>#campaign#<id>#<segment> / recipient#<e164>``  one member's text
                     ``<t>#campaign#<id> / count#<n>``                   a counter shard
                     ``<t>#campaign#<id> / campaign``                    the campaign

A recipient is put once, on ``attribute_not_exists``: a fan-out that is repeated (a crashed
tick, two dispatchers on one page) creates nobody twice, so texts nobody twice. It is created
``queued`` with a claim, or ``held`` until the first allowed local time, and it sits in the
``due`` index under its campaign's own shard while held or leased, so a lost queue message
comes back when its lease ends. From then on ``ReminderLifecycle`` moves it like a reminder
(``ReminderKey(..., item="campaign")``).

Counters are ``MEMBER_SEGMENTS``-like shards updated with ADD in the same transaction as what
they count: recipients created (``total``, ``held``) and each outcome. A transaction of many
outcomes adds one update per campaign (DynamoDB allows one action an item a transaction), on
a shard picked at random, so a campaign sending 100 texts a second has no hot counter item.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from reach.data.batch_reads import KEYS_PER_CALL, BatchReader, ItemKey
from reach.data.tables import (
    CAMPAIGN_SK,
    AppointmentsTableItem,
    CampaignCountItem,
    CampaignItem,
    RecipientItem,
    campaign_count_sk,
    campaign_pk,
    campaigns_lookup_key,
    recipient_pk,
    recipient_sk,
)
from reach.data.transactions import (
    CONDITION_FAILED,
    TRANSACTION_CONFLICT,
    TrackedTransaction,
    cancelled_by,
    condition_failed,
    failed_positions,
    write_in_chunks,
)
from reach.domain.campaigns import CampaignStatus
from reach.domain.lists import MEMBER_SEGMENTS, member_segment
from reach.domain.message import MessageStatus

if TYPE_CHECKING:
    from reach.data.reminders import ReminderKey

#: ``ReminderKey.item`` (and the queue's ``kind``) of a campaign recipient.
CAMPAIGN_ITEM = "campaign"
#: Counter shards per campaign.
COUNT_SHARDS = 8
#: Why a recipient was skipped, as counted (``skipped_<reason>``); any other is ``other``.
SKIP_REASONS = (
    "opted_out",
    "left_list",
    "frequency_cap",
    "cancelled",
    "quiet_hours",
    "invalid",
    "other",
)
#: Every counter, in the order ``read_counts`` gives them.
COUNTERS = (
    "total",
    "sent",
    "delivered",
    "undelivered",
    "held",
    "failed",
    *(f"skipped_{reason}" for reason in SKIP_REASONS),
)
#: Recipients put in one transaction (plus one counter update).
RECIPIENTS_PER_TRANSACTION = 25
#: The fan-out's mark for a member segment it has gone through to the end.
DONE = "done"
_MAX_CONFLICTS = 3


def recipient_shard(tenant_id: str, campaign_id: str) -> str:
    """The ``due`` index shard a campaign's held and leased recipients wait in: read only by
    the dispatcher's campaign step, and only while the campaign is sending."""
    return f"campaign#{tenant_id}#{campaign_id}"


def recipient_item(key: ReminderKey) -> RecipientItem:
    """The recipient a lifecycle key names (``reminder_id`` is the member's phone)."""
    pk = recipient_pk(key.tenant_id, key.appointment_id, member_segment(key.reminder_id))
    return RecipientItem(pk=pk, sk=recipient_sk(key.reminder_id))


# --- counters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """What one change adds to its campaign's counters."""

    tenant_id: str
    campaign_id: str
    deltas: tuple[tuple[str, int], ...]


def held_tally(key: ReminderKey, delta: int) -> Tally | None:
    """A campaign recipient entering (+1) or leaving (-1) ``held``; None for other families."""
    if key.item != CAMPAIGN_ITEM:
        return None
    return Tally(key.tenant_id, key.appointment_id, (("held", delta),))


def outcome_tally(key: ReminderKey, status: MessageStatus, reason: str | None) -> Tally | None:
    """A campaign recipient reaching a final ``status``; None for other families."""
    if key.item != CAMPAIGN_ITEM:
        return None
    return Tally(key.tenant_id, key.appointment_id, ((outcome_counter(status, reason), 1),))


def delivery_tally(
    tenant_id: str, campaign_id: str, before: MessageStatus, after: MessageStatus
) -> Tally:
    """A receipt moving a campaign text from ``before`` to ``after`` (delivered or
    undelivered): each text counts once, by its latest receipt, and stays counted in ``sent``."""
    deltas = [(after.value, 1)]
    if before in (MessageStatus.DELIVERED, MessageStatus.UNDELIVERED):
        deltas.append((before.value, -1))
    return Tally(tenant_id, campaign_id, tuple(deltas))


def outcome_counter(status: MessageStatus, reason: str | None) -> str:
    if status is MessageStatus.SENT:
        return "sent"
    if status is MessageStatus.FAILED:
        return "failed"
    if status is MessageStatus.CANCELLED:
        return "skipped_cancelled"
    bucket = reason if reason in SKIP_REASONS else "other"
    return f"skipped_{bucket}"


def add_tallies(transaction: TransactWrite, tallies: Iterable[Tally]) -> None:
    """One counter update per campaign for all of ``tallies``: a transaction may hold one
    action per item, and one update is cheaper than many."""
    merged: dict[tuple[str, str], Counter[str]] = {}
    for tally in tallies:
        counts = merged.setdefault((tally.tenant_id, tally.campaign_id), Counter())
        for name, delta in tally.deltas:
            counts[name] += delta
    for (tenant_id, campaign_id), counts in merged.items():
        actions: list[Any] = [
            getattr(CampaignCountItem, name).add(delta) for name, delta in counts.items() if delta
        ]
        if not actions:
            continue
        shard = os.urandom(1)[0] % COUNT_SHARDS
        transaction.update(
            CampaignCountItem(pk=campaign_pk(tenant_id, campaign_id), sk=campaign_count_sk(shard)),
            actions=[
                *actions,
                CampaignCountItem.tenant_id.set(tenant_id),
                CampaignCountItem.appointment_id.set(campaign_id),
                CampaignCountItem.item_type.set(CampaignCountItem),
            ],
        )


class CampaignCounts(dict[str, int]):
    """A campaign's counters, summed over the shards; every name in ``COUNTERS`` is there."""

    @property
    def ended(self) -> int:
        """Recipients with a final outcome (a receipt later changes sent to delivered...)."""
        return (
            self["sent"]
            + self["failed"]
            + sum(self[f"skipped_{reason}"] for reason in SKIP_REASONS)
        )

    @property
    def outstanding(self) -> int:
        """Recipients created and not ended: queued, held or sending."""
        return self["total"] - self.ended


def read_counts(tenant_id: str, campaign_id: str) -> CampaignCounts:
    """The campaign's counters: one strongly consistent Query over its ``count#`` shards."""
    counts = CampaignCounts(dict.fromkeys(COUNTERS, 0))
    for item in CampaignCountItem.query(
        campaign_pk(tenant_id, campaign_id),
        CampaignCountItem.sk.startswith("count#"),
        consistent_read=True,
    ):
        for name in COUNTERS:
            counts[name] += int(getattr(item, name) or 0)
    return counts


# --- recipients ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NewRecipient:
    """One member about to become a recipient: ``claim_id`` set means queued, leased until
    ``due_at``; None means held until ``due_at``."""

    phone: str
    first_name: str | None
    timezone: str | None
    due_at: datetime
    claim_id: str | None = None


class RecipientStore:
    """Creating a campaign's recipients, each once."""

    def create(
        self,
        tenant_id: str,
        campaign_id: str,
        list_id: str,
        recipients: Sequence[NewRecipient],
        now: datetime,
    ) -> list[bool]:
        """Put the recipients that do not exist yet, with the counters, 25 a transaction;
        whether each one was created by this call (False: it already was)."""

        def put(chunk: list[int]) -> set[int] | None:
            items = [self._item(tenant_id, campaign_id, list_id, recipients[i], now) for i in chunk]
            return self._put(tenant_id, campaign_id, items)

        return write_in_chunks(
            len(recipients),
            RECIPIENTS_PER_TRANSACTION,
            put,
            max_conflicts=_MAX_CONFLICTS,
            conflicted=RecipientConflicts,
        )

    @staticmethod
    def _put(tenant_id: str, campaign_id: str, items: list[RecipientItem]) -> set[int] | None:
        transaction = TrackedTransaction(
            connection=AppointmentsTableItem._get_connection().connection
        )
        held = sum(1 for item in items if item.status == MessageStatus.HELD.value)
        try:
            with transaction:
                for n, item in enumerate(items):
                    transaction.owner = n
                    transaction.save(item, condition=RecipientItem.pk.does_not_exist())
                transaction.owner = -1
                add_tallies(
                    transaction,
                    [Tally(tenant_id, campaign_id, (("total", len(items)), ("held", held)))],
                )
        except TransactWriteError as error:
            if not cancelled_by(error, (CONDITION_FAILED, TRANSACTION_CONFLICT)):
                raise
            failed = transaction.owners_at(failed_positions(error, CONDITION_FAILED))
            return failed or None
        return set()

    @staticmethod
    def _item(
        tenant_id: str, campaign_id: str, list_id: str, new: NewRecipient, now: datetime
    ) -> RecipientItem:
        queued = new.claim_id is not None
        return RecipientItem(
            pk=recipient_pk(tenant_id, campaign_id, member_segment(new.phone)),
            sk=recipient_sk(new.phone),
            tenant_id=tenant_id,
            appointment_id=campaign_id,
            campaign_id=campaign_id,
            list_id=list_id,
            phone=new.phone,
            status=(MessageStatus.QUEUED if queued else MessageStatus.HELD).value,
            reason=None if queued else "held_quiet_hours",
            first_name=new.first_name,
            timezone=new.timezone,
            created_at=now,
            updated_at=now,
            claim_id=new.claim_id,
            attempts=1 if queued else 0,
            send_at=None if queued else new.due_at,
            # The due index (reach.data.reminders.DueIndex's attributes): a lease for a
            # queued recipient, the allowed time for a held one.
            due_shard=recipient_shard(tenant_id, campaign_id),
            due_at=new.due_at,
        )


class PersonsRecipients:
    """One person's recipient items over a tenant's campaigns, found by key: the member's
    segment and phone make the key in each campaign, so a person's items are read 100 to a
    BatchGetItem, never by scanning a campaign's recipients."""

    def __init__(self, reader: BatchReader | None = None) -> None:
        self._reader = reader or BatchReader()

    def found(
        self, tenant_id: str, campaign_ids: Iterable[str], phone: str
    ) -> Iterator[RecipientItem]:
        """The person's recipient item in each campaign that has one."""
        ids = iter(campaign_ids)
        while chunk := [c for _, c in zip(range(KEYS_PER_CALL), ids, strict=False)]:
            keys = [
                ItemKey(
                    AppointmentsTableItem,
                    recipient_pk(tenant_id, campaign_id, member_segment(phone)),
                    recipient_sk(phone),
                )
                for campaign_id in chunk
            ]
            for item in self._reader.read(keys).values():
                if isinstance(item, RecipientItem):
                    yield item

    @staticmethod
    def erase_personal(item: RecipientItem) -> bool:
        """Remove the first name and time zone copied from the member; whether there were
        any. Status, reason and times stay: the campaign's record of what it sent whom."""
        if item.first_name is None and item.timezone is None:
            return False
        try:
            RecipientItem(pk=item.pk, sk=item.sk).update(
                actions=[RecipientItem.first_name.remove(), RecipientItem.timezone.remove()],
                condition=RecipientItem.first_name.exists() | RecipientItem.timezone.exists(),
            )
        except UpdateError as error:
            if not condition_failed(error):
                raise
            return False
        return True


class RecipientConflicts(RuntimeError):
    """Recipients kept colliding with other transactions; nothing was written, try later."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} recipient(s) collided with other transactions")


# --- the campaign, as the dispatcher runs it ----------------------------------------------


@dataclass(frozen=True)
class RunningCampaign:
    """A campaign as the dispatcher reads it from the ``lookup`` index: what it feeds it on.

    ``cursors`` maps a member segment to where its fan-out goes on (a page key, or ``DONE``);
    ``cursors_raw`` is the stored value, the condition of the next advance.
    """

    tenant_id: str
    campaign_id: str
    list_id: str
    parts: int
    status: CampaignStatus
    version: int
    send_at: datetime
    started_at: datetime | None
    cursors: Mapping[str, Any] = field(default_factory=dict)
    cursors_raw: str | None = None
    #: When it completed or was cancelled.
    finished_at: datetime | None = None

    @property
    def fanned_out(self) -> bool:
        """Every member segment gone through to the end."""
        return all(self.cursors.get(str(s)) == DONE for s in range(MEMBER_SEGMENTS))

    def segments_left(self) -> Iterator[int]:
        return (s for s in range(MEMBER_SEGMENTS) if self.cursors.get(str(s)) != DONE)

    def advanced(self, segment: int, cursor: Any) -> RunningCampaign:
        cursors = {**self.cursors, str(segment): cursor}
        return replace(self, cursors=cursors, cursors_raw=json.dumps(cursors, sort_keys=True))


class CampaignRuns:
    """The dispatcher's reads and conditional writes of campaigns: start, fan-out cursors,
    finish, and the settling of a cancelled one. The tenant's actions (pause, resume,
    cancel) are reach.data.campaigns'."""

    def listed(self, status: CampaignStatus, now: datetime | None = None) -> list[RunningCampaign]:
        """Campaigns filed under ``campaigns#<status>`` (with ``now``: due by then); all
        tenants', a handful: one key-bound Query."""
        condition = None if now is None else CampaignItem.lookup_at <= now
        return [
            _running(item)
            for item in CampaignItem.lookup.query(campaigns_lookup_key(status.value), condition)
            if isinstance(item, CampaignItem)
        ]

    def start(self, campaign: RunningCampaign, now: datetime) -> RunningCampaign | None:
        """scheduled -> sending, on the version read; None when it was not (any more)."""
        took = _update(
            campaign,
            [
                CampaignItem.status.set(CampaignStatus.SENDING.value),
                CampaignItem.started_at.set(now),
                CampaignItem.updated_at.set(now),
                CampaignItem.lookup_key.set(campaigns_lookup_key(CampaignStatus.SENDING.value)),
                CampaignItem.version.add(1),
            ],
            (CampaignItem.status == CampaignStatus.SCHEDULED.value)
            & (CampaignItem.version == campaign.version),
        )
        if not took:
            return None
        return replace(
            campaign, status=CampaignStatus.SENDING, version=campaign.version + 1, started_at=now
        )

    def advance(self, before: RunningCampaign, after: RunningCampaign) -> bool:
        """Store ``after``'s cursors if they are still ``before``'s (another dispatcher may
        have moved them) and the campaign is still sending. The version is left alone: the
        tenant's actions are not about the fan-out."""
        return _update(
            before,
            [CampaignItem.cursors.set(after.cursors_raw or "{}")],
            (CampaignItem.status == CampaignStatus.SENDING.value) & _cursors_are(before),
        )

    def finish(self, campaign: RunningCampaign, now: datetime) -> bool:
        """sending -> completed, out of the dispatcher's registry; on the cursors read."""
        return _update(
            campaign,
            [
                CampaignItem.status.set(CampaignStatus.COMPLETED.value),
                CampaignItem.finished_at.set(now),
                CampaignItem.updated_at.set(now),
                CampaignItem.lookup_key.remove(),
                CampaignItem.lookup_at.remove(),
                CampaignItem.version.add(1),
            ],
            (CampaignItem.status == CampaignStatus.SENDING.value) & _cursors_are(campaign),
        )

    def settle(self, campaign: RunningCampaign, now: datetime) -> bool:
        """A cancelled campaign whose recipients have all ended leaves the registry; only
        the one dispatcher whose write takes it says so (``CampaignFinished`` once)."""
        return _update(
            campaign,
            [
                CampaignItem.updated_at.set(now),
                CampaignItem.lookup_key.remove(),
                CampaignItem.lookup_at.remove(),
            ],
            (CampaignItem.status == CampaignStatus.CANCELLED.value)
            & (CampaignItem.lookup_key == campaigns_lookup_key(CampaignStatus.CANCELLED.value)),
        )


def _cursors_are(campaign: RunningCampaign) -> Condition:
    if campaign.cursors_raw is None:
        return CampaignItem.cursors.does_not_exist()
    same: Condition = CampaignItem.cursors == campaign.cursors_raw
    return same


def _update(campaign: RunningCampaign, actions: list[Any], condition: Condition) -> bool:
    item = CampaignItem(pk=campaign_pk(campaign.tenant_id, campaign.campaign_id), sk=CAMPAIGN_SK)
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _running(item: CampaignItem) -> RunningCampaign:
    return RunningCampaign(
        tenant_id=item.tenant_id,
        campaign_id=item.campaign_id,
        list_id=item.list_id,
        parts=max(1, int(item.parts or 1)),
        status=CampaignStatus(item.status),
        version=int(item.version),
        send_at=item.send_at,
        started_at=item.started_at,
        cursors=json.loads(item.cursors) if item.cursors else {},
        cursors_raw=item.cursors,
        finished_at=item.finished_at,
    )
