"""The dispatcher's campaign step: start campaigns that are due, feed the sending ones within
their numbers' budgets, and finish the ones that are done.

Each tick, after the reminders were claimed (they go first on every number):

1. Start: campaigns filed under ``campaigns#scheduled`` whose time has come move to sending
   (a conditional write on the version read) and ``CampaignStarted`` is published.
2. Feed: each sending campaign gets a share of what its number can still send this tick (its
   MPS x the tick, less the reminders claimed on it, split evenly between the campaigns on
   that number; a text of n parts counts n). It spends it first on its held recipients now
   due (from the campaign's own shard of the ``due`` index), then on new recipients: the
   list's active members, page by page in each member segment from the cursor stored on the
   campaign. A recipient is created once (``attribute_not_exists``), queued with a claim or
   held until the member's zones all allow a text, and the queued ones go on the send queue.
   The cursor moves only from the value read, after the page's recipients exist: a crash, a
   timeout or a second dispatcher on the same page re-reads it and creates nobody twice, and
   a recipient whose queue message was lost comes back when its lease ends.
3. Finish: a campaign whose every segment is gone through and whose counters show nothing
   queued, held or sending is completed, and ``CampaignFinished`` carries its counts.
4. Settle: a cancelled campaign stays in the registry (``campaigns#cancelled``) until what
   it left waiting has ended: its held recipients (and queued ones whose lease ran out) end
   as skipped ``cancelled``, a recipient left ``sending`` as failed ``outcome_unknown``;
   queued texts still on the queue are skipped by the sender. Then it leaves the registry on
   a conditional write, and the one dispatcher whose write took publishes
   ``CampaignFinished`` (status ``cancelled``) with counts that add up: total = sent +
   failed + every skipped, nothing held.

No list is ever loaded whole: a tick reads at most a budget's worth of members per campaign.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from reach.data.lists import ListRepository
from reach.data.numbers import NumberRepository
from reach.data.recipients import (
    CAMPAIGN_ITEM,
    DONE,
    CampaignCounts,
    CampaignRuns,
    NewRecipient,
    RecipientStore,
    RunningCampaign,
    Tally,
    read_counts,
    recipient_shard,
)
from reach.data.reminders import (
    CLAIM_LEASE,
    DueEntry,
    DueIndex,
    ReminderLifecycle,
    Transition,
)
from reach.data.tables import ReminderItem
from reach.data.tenants import TenantRepository
from reach.domain.campaigns import CampaignStatus
from reach.domain.lists import MEMBER_SEGMENTS, Member, MemberStatus
from reach.domain.message import MessageStatus
from reach.domain.numbers import Throughput
from reach.domain.quiet_hours import QuietHours
from reach.domain.recipient_zones import recipient_zones
from reach.ports.events import DomainEvent, EventPublisher, EventPublishError, EventType
from reach.ports.events import event_id_for as _event_id
from reach.ports.send_queue import QueuedReminder, SendQueue

_log = logging.getLogger("reach-dispatcher")

#: Members read in one page of the fan-out (a Query's page; at most the budget left).
MEMBER_PAGE = 100
#: Pages one campaign may read in a tick beyond what its budget needs: pages of members
#: who are recipients already (a repeated fan-out) cost a read each and create nothing.
_SPARE_PAGES = 4
#: Waiting recipients of a cancelled campaign ended in one tick (the rest the next).
SETTLE_PAGE = 500
#: How far ahead a held recipient of a cancelled campaign may be due: longer than any hold
#: for quiet hours (at most a day, docs/architecture.md#campaign-sending).
_HELD_HORIZON = timedelta(days=7)


@dataclass
class CampaignReport:
    """What the campaign step of one tick did."""

    started: int = 0
    finished: int = 0
    #: Recipients created (queued or held) and held recipients claimed.
    created: int = 0
    held: int = 0
    claimed: int = 0
    queued: int = 0
    unknown_outcome: int = 0
    #: A cursor another dispatcher moved first: this one left the campaign to it.
    lost_races: int = 0
    requeue_failures: int = 0
    #: Recipients of cancelled campaigns ended as skipped (``cancelled``) this tick.
    cancelled: int = 0
    events: list[DomainEvent] = field(default_factory=list)


@dataclass(frozen=True)
class _Lane:
    """Where one campaign's texts go from this tick, and how many it may queue."""

    campaign: RunningCampaign
    number: str
    throughput: Throughput
    quiet: QuietHours
    budget: int


class CampaignFeed:
    """The dispatcher's campaign step; safe to run in several dispatchers at once."""

    def __init__(
        self,
        *,
        runs: CampaignRuns,
        recipients: RecipientStore,
        lists: ListRepository,
        lifecycle: ReminderLifecycle,
        tenants: TenantRepository,
        numbers: NumberRepository,
        queue: SendQueue,
        tick: timedelta,
        events: EventPublisher | None = None,
        new_claim_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._runs = runs
        self._recipients = recipients
        self._lists = lists
        self._lifecycle = lifecycle
        self._tenants = tenants
        self._numbers = numbers
        self._queue = queue
        self._tick = tick
        self._events = events
        self._new_claim_id = new_claim_id

    def step(self, now: datetime, used: Mapping[str, int]) -> CampaignReport:
        """Start, feed and finish campaigns at ``now``; ``used``: the parts each number's
        reminders took of this tick's budget."""
        report = CampaignReport()
        started = self._start(now, report)
        sending = {
            (c.tenant_id, c.campaign_id): c for c in self._runs.listed(CampaignStatus.SENDING)
        }
        # The index is eventually consistent: a campaign started a moment ago may be missing.
        for campaign in started:
            sending.setdefault((campaign.tenant_id, campaign.campaign_id), campaign)
        for lane in self._lanes(list(sending.values()), used):
            self._feed(lane, now, report)
        for campaign in self._runs.listed(CampaignStatus.CANCELLED):
            self._settle(campaign, now, report)
        self._publish(report.events)
        return report

    # --- start ------------------------------------------------------------------------------

    def _start(self, now: datetime, report: CampaignReport) -> list[RunningCampaign]:
        started = []
        for campaign in self._runs.listed(CampaignStatus.SCHEDULED, now):
            running = self._runs.start(campaign, now)
            if running is None:  # paused, cancelled or started by another dispatcher
                continue
            report.started += 1
            report.events.append(_started(running, now))
            started.append(running)
        return started

    # --- budgets ----------------------------------------------------------------------------

    def _lanes(self, campaigns: list[RunningCampaign], used: Mapping[str, int]) -> list[_Lane]:
        """Each campaign with its share of its number's budget left after the reminders."""
        if not campaigns:
            return []
        numbers = self._tenants.sending_numbers({c.tenant_id for c in campaigns})
        paces = self._numbers.throughputs(numbers.values())
        by_number: dict[str, list[RunningCampaign]] = defaultdict(list)
        for campaign in campaigns:
            number = numbers.get(campaign.tenant_id)
            if number is not None:  # a tenant that is gone sends nothing
                by_number[number].append(campaign)
        lanes = []
        for number, on_number in by_number.items():
            pace = paces.get(number, self._numbers.fallback)
            left = max(0, math.floor(pace.mps * self._tick.total_seconds()) - used.get(number, 0))
            share = left // len(on_number)
            for campaign in on_number:
                quiet = QuietHours.parse(self._tenants.get(campaign.tenant_id).quiet_hours)
                lanes.append(_Lane(campaign, number, pace, quiet, share // campaign.parts))
        return lanes

    # --- feed -------------------------------------------------------------------------------

    def _feed(self, lane: _Lane, now: datetime, report: CampaignReport) -> None:
        budget = lane.budget - self._claim_due(lane, now, report)
        campaign: RunningCampaign | None = lane.campaign
        # Enough pages for the budget and one per segment, plus a few of members who are
        # recipients already; never the whole list.
        pages = MEMBER_SEGMENTS + _SPARE_PAGES + lane.budget // MEMBER_PAGE
        while campaign is not None and budget > 0 and pages > 0:
            segment = next(campaign.segments_left(), None)
            if segment is None:
                break
            pages -= 1
            limit = min(budget, MEMBER_PAGE)
            campaign, made = self._fan_out(lane, campaign, segment, limit, now, report)
            budget -= made
        if campaign is not None and campaign.fanned_out:
            self._finish(campaign, now, report)

    def _claim_due(self, lane: _Lane, now: datetime, report: CampaignReport) -> int:
        """Claim the campaign's held recipients now due, and any whose lease ran out; how
        many were claimed. A lease that ran out while sending is recorded as unknown."""
        campaign = lane.campaign
        shard = recipient_shard(campaign.tenant_id, campaign.campaign_id)
        entries = list(self._lifecycle.due(shard, now, max(1, lane.budget)))
        unknown = [e for e in entries if e.status is MessageStatus.SENDING]
        waiting = [e for e in entries if e.status is not MessageStatus.SENDING][: lane.budget]
        settled = self._lifecycle.apply(
            [
                self._lifecycle.finishing(e.key, None, MessageStatus.FAILED, "outcome_unknown", now)
                for e in unknown
            ]
        )
        report.unknown_outcome += sum(settled)
        claims = [(e, self._new_claim_id()) for e in waiting]
        took = self._lifecycle.apply([_claim(e, claim_id, now) for e, claim_id in claims])
        claimed = [
            self._queued(lane, e.key.reminder_id, claim_id)
            for (e, claim_id), ok in zip(claims, took, strict=True)
            if ok
        ]
        report.claimed += len(claimed)
        self._enqueue(claimed, report)
        return len(claimed)

    def _fan_out(
        self,
        lane: _Lane,
        campaign: RunningCampaign,
        segment: int,
        limit: int,
        now: datetime,
        report: CampaignReport,
    ) -> tuple[RunningCampaign | None, int]:
        """One page of a segment's active members made recipients; the campaign with its
        cursor moved (None: another dispatcher moved it first) and how many were queued or
        held."""
        cursor = campaign.cursors.get(str(segment))
        page = self._lists.members(
            campaign.tenant_id,
            campaign.list_id,
            MemberStatus.ACTIVE,
            segment,
            start=cursor or None,
            limit=limit,
        )
        new = [self._recipient(lane, member, now) for member in page.members]
        created = self._recipients.create(
            campaign.tenant_id, campaign.campaign_id, campaign.list_id, new, now
        )
        made = [recipient for recipient, ok in zip(new, created, strict=True) if ok]
        queued = [self._queued(lane, r.phone, r.claim_id) for r in made if r.claim_id is not None]
        report.created += len(made)
        report.held += len(made) - len(queued)
        self._enqueue(queued, report)
        moved = campaign.advanced(segment, page.next_key or DONE)
        if not self._runs.advance(campaign, moved):
            report.lost_races += 1
            return None, len(made)
        return moved, len(made)

    def _recipient(self, lane: _Lane, member: Member, now: datetime) -> NewRecipient:
        """Queued now when every zone the member may be in allows a text, else held until
        they all do."""
        zones = recipient_zones(member.phone, member.timezone)
        allowed = lane.quiet.allowed_in_all(now, zones)
        if allowed is not None and allowed > now:
            return NewRecipient(member.phone, member.first_name, member.timezone, allowed)
        # Allowed now, or never in all zones at once: the sender decides (and records) that.
        return NewRecipient(
            member.phone,
            member.first_name,
            member.timezone,
            now + CLAIM_LEASE,
            claim_id=self._new_claim_id(),
        )

    def _queued(self, lane: _Lane, phone: str, claim_id: str) -> QueuedReminder:
        campaign = lane.campaign
        return QueuedReminder(
            tenant_id=campaign.tenant_id,
            appointment_id=campaign.campaign_id,
            reminder_id=phone,
            claim_id=claim_id,
            kind=CAMPAIGN_ITEM,
            phone=phone,
            origination=lane.number,
            mps=lane.throughput.mps,
            list_id=campaign.list_id,
        )

    def _enqueue(self, claimed: Sequence[QueuedReminder], report: CampaignReport) -> None:
        for start in range(0, len(claimed), 10):
            batch = list(claimed[start : start + 10])
            failed = self._queue.enqueue(batch)
            if failed:
                # One more try; what still fails is leased in the due index and comes back.
                failed = self._queue.enqueue(failed)
            report.requeue_failures += len(failed)
            report.queued += len(batch) - len(failed)

    # --- finish -----------------------------------------------------------------------------

    def _finish(self, campaign: RunningCampaign, now: datetime, report: CampaignReport) -> None:
        counts = read_counts(campaign.tenant_id, campaign.campaign_id)
        if counts.outstanding > 0:
            return
        if self._runs.finish(campaign, now):
            report.finished += 1
            report.events.append(_finished(campaign, counts, now, CampaignStatus.COMPLETED))

    # --- settle -----------------------------------------------------------------------------

    def _settle(self, campaign: RunningCampaign, now: datetime, report: CampaignReport) -> None:
        """End what a cancelled campaign left waiting; once nothing is outstanding, take it
        out of the registry and publish ``CampaignFinished`` (once: on the write that took)."""
        if campaign.finished_at is not None and now < campaign.finished_at + self._tick:
            # A tick that read it sending just before the cancel may still be creating its
            # recipients: settle after that tick is over.
            return
        shard = recipient_shard(campaign.tenant_id, campaign.campaign_id)
        entries = list(self._lifecycle.due(shard, now + _HELD_HORIZON, SETTLE_PAGE))
        ending = [t for t in (_cancelling(e, now) for e in entries) if t is not None]
        report.cancelled += sum(
            1
            for t, ok in zip(ending, self._lifecycle.apply(ending), strict=True)
            if ok and t.tally is not None and ("skipped_cancelled", 1) in t.tally.deltas
        )
        if len(entries) >= SETTLE_PAGE:
            return  # more next tick
        counts = read_counts(campaign.tenant_id, campaign.campaign_id)
        if counts.outstanding > 0:
            return  # texts still on the queue: the sender skips them, or their lease ends
        if self._runs.settle(campaign, now):
            report.finished += 1
            report.events.append(_finished(campaign, counts, now, CampaignStatus.CANCELLED))

    def _publish(self, events: list[DomainEvent]) -> None:
        """The campaign's change is stored already; a bus that fails is logged for the
        operator (the status stays readable through the API)."""
        if self._events is None or not events:
            return
        try:
            self._events.publish(events)
        except EventPublishError:
            _log.exception("campaign events could not be published", extra={"count": len(events)})


def _claim(entry: DueEntry, claim_id: str, now: datetime) -> Transition:
    if entry.status is MessageStatus.HELD:
        return ReminderLifecycle.claiming_held(entry.key, now, claim_id, now + CLAIM_LEASE)
    # A queued recipient whose lease ran out (its queue message was lost): claimed anew.
    return ReminderLifecycle.claiming(entry.key, now, claim_id, now + CLAIM_LEASE)


def _cancelling(entry: DueEntry, now: datetime) -> Transition | None:
    """How a cancelled campaign's waiting recipient ends; None while its lease runs (its
    queue message is on the way, and the sender skips it)."""
    key = entry.key
    if entry.status is MessageStatus.HELD:
        ended = ReminderLifecycle.finishing(key, None, MessageStatus.CANCELLED, "cancelled", now)
        return replace(
            ended,
            condition=ReminderItem.status == MessageStatus.HELD.value,
            tally=Tally(
                key.tenant_id, key.appointment_id, (("held", -1), ("skipped_cancelled", 1))
            ),
        )
    if entry.due_at > now:
        return None
    if entry.status is MessageStatus.SENDING:
        return ReminderLifecycle.finishing(key, None, MessageStatus.FAILED, "outcome_unknown", now)
    ended = ReminderLifecycle.finishing(key, None, MessageStatus.CANCELLED, "cancelled", now)
    return replace(
        ended,
        condition=DueIndex.is_due(now) & (ReminderItem.status == MessageStatus.QUEUED.value),
    )


def _started(campaign: RunningCampaign, now: datetime) -> DomainEvent:
    return DomainEvent(
        type=EventType.CAMPAIGN_STARTED,
        tenant_id=campaign.tenant_id,
        event_id=_event_id(EventType.CAMPAIGN_STARTED, campaign.tenant_id, campaign.campaign_id),
        occurred_at=now,
        ids={"campaign_id": campaign.campaign_id, "list_id": campaign.list_id},
    )


def _finished(
    campaign: RunningCampaign, counts: CampaignCounts, now: datetime, status: CampaignStatus
) -> DomainEvent:
    return DomainEvent(
        type=EventType.CAMPAIGN_FINISHED,
        tenant_id=campaign.tenant_id,
        event_id=_event_id(EventType.CAMPAIGN_FINISHED, campaign.tenant_id, campaign.campaign_id),
        occurred_at=now,
        ids={"campaign_id": campaign.campaign_id, "list_id": campaign.list_id},
        data={"status": status.value, **counts},
    )
