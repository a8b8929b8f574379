"""The dispatcher's tick: find due messages, claim each once, hand them to the send queue.

Fair claiming. Each sending number may send only so many message parts a second, so a tick
claims, per number, no more than that number can send before the next tick (its MPS times
the tick's length); the rest stay due and come first on the next tick, still in due order.
The claimed messages are then queued round-robin across numbers. So a tenant's 10,000 texts
due at once never sit in the queue in front of another tenant's reminder due the same minute:
the other reminder is among the first of the tick's messages, and the big send's backlog
waits in the due index, where it costs nothing, rather than in the queue, where it would
delay everyone behind it. Within a number, reminders come before bulk kinds (``PRIORITY``).
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from reach.data.numbers import NumberRepository
from reach.data.reminders import CLAIM_LEASE as CLAIM_LEASE
from reach.data.reminders import DueEntry, DueIndex, ReminderLifecycle, Transition
from reach.data.tenants import TenantRepository
from reach.domain.message import MessageStatus
from reach.domain.numbers import Throughput
from reach.ports.send_queue import QueuedReminder, SendQueue

if TYPE_CHECKING:
    from reach.services.campaign_feed import CampaignFeed, CampaignReport
    from reach.services.survey_sends import FanOutReport, SurveyFanOut
    from reach.services.survey_timers import SurveyTimers, TimerReport

#: Claims queued together: SQS SendMessageBatch's limit.
QUEUE_BATCH = 10
#: The schedule's period: a number's budget per tick is what it can send in this long.
TICK = timedelta(minutes=1)
#: Claims written in one transaction (each a single conditional update).
CLAIMS_PER_TRANSACTION = 25
#: Order within a number: lower goes first. Kinds not named are bulk.
PRIORITY = {"reminder": 0, "notice": 0}
BULK_PRIORITY = 1


@dataclass
class DispatchReport:
    """What one dispatcher tick did; every number is a count, for metrics and benchmarks."""

    read: int = 0
    claimed: int = 0
    queued: int = 0
    lost_races: int = 0
    expired: int = 0
    unknown_outcome: int = 0
    requeue_failures: int = 0
    #: Due, but over its number's budget for this tick: claimed on a later tick.
    deferred: int = 0
    #: How long the oldest entry read from the due index has been due (0 when none was):
    #: the dispatch lag the dashboard shows and the lag alarm watches.
    oldest_due_seconds: float = 0.0
    shards: list[str] = field(default_factory=list)
    #: Message parts each sending number's claims took of its budget this tick.
    used: dict[str, int] = field(default_factory=dict)
    #: What the campaign step did (None: the dispatcher feeds no campaigns).
    campaigns: CampaignReport | None = None
    #: What the survey steps did (None: the dispatcher runs none).
    survey_sends: FanOutReport | None = None
    survey_timers: TimerReport | None = None


@dataclass(frozen=True)
class _Due:
    entry: DueEntry
    number: str
    throughput: Throughput


class Dispatcher:
    """Runs once per scheduled tick; safe to run concurrently with itself."""

    def __init__(
        self,
        reminders: ReminderLifecycle,
        queue: SendQueue,
        shards: int,
        *,
        tenants: TenantRepository,
        numbers: NumberRepository,
        per_shard_limit: int = 2000,
        new_claim_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        campaigns: CampaignFeed | None = None,
        survey_fanout: SurveyFanOut | None = None,
        survey_timers: SurveyTimers | None = None,
    ) -> None:
        self._reminders = reminders
        self._queue = queue
        self._shards = DueIndex(shards).shards
        self._tenants = tenants
        self._numbers = numbers
        self._per_shard_limit = per_shard_limit
        self._new_claim_id = new_claim_id
        self._campaigns = campaigns
        self._survey_fanout = survey_fanout
        self._survey_timers = survey_timers

    def tick(self, now: datetime) -> DispatchReport:
        """Claim what is due at ``now`` (the scheduled event's time) and queue it."""
        report = DispatchReport(shards=self._shards)
        # Before the due index is read: first questions and nudges these steps write due now
        # are claimed in this same tick.
        if self._survey_timers is not None:
            report.survey_timers = self._survey_timers.step(now)
        if self._survey_fanout is not None:
            report.survey_sends = self._survey_fanout.step(now)
        waiting = self._settle(self._read(now, report), now, report)
        due = self._with_numbers(waiting)
        fair = self._fair_order(due, report)
        pending: list[QueuedReminder] = []
        for chunk in _chunks(fair, CLAIMS_PER_TRANSACTION):
            pending += self._claim(chunk, now, report)
            # Queue every full batch at once: senders start while the tick is still
            # claiming, and a tick cut short by its timeout leaves at most a chunk claimed
            # but unqueued (it comes back when its lease ends).
            full = len(pending) - len(pending) % QUEUE_BATCH
            for start in range(0, full, QUEUE_BATCH):
                self._enqueue(pending[start : start + QUEUE_BATCH], report)
            pending = pending[full:]
        self._enqueue(pending, report)
        if self._campaigns is not None:
            # After the reminders: campaigns get what each number has left this tick.
            report.campaigns = self._campaigns.step(now, report.used)
        return report

    def _read(self, now: datetime, report: DispatchReport) -> list[DueEntry]:
        entries: list[DueEntry] = []
        for shard in self._shards:
            entries += self._reminders.due(shard, now, self._per_shard_limit)
        report.read = len(entries)
        # Each shard is read oldest first, so a shard's backlog past the limit is younger
        # than what was read: the oldest entry is always among these.
        if entries:
            oldest = min(entry.due_at for entry in entries)
            report.oldest_due_seconds = max(0.0, (now - oldest).total_seconds())
        return entries

    def _settle(
        self, entries: list[DueEntry], now: datetime, report: DispatchReport
    ) -> list[DueEntry]:
        """Close what must not be sent (all in a few writes); the entries left may go."""
        unknown: list[Transition] = []
        expired: list[Transition] = []
        waiting: list[DueEntry] = []
        for entry in entries:
            if entry.status is MessageStatus.SENDING:
                # A sender died mid-send and its lease ran out: the text may or may not have
                # gone. Sending again risks a duplicate, so record the doubt instead.
                unknown.append(
                    self._reminders.finishing(
                        entry.key, None, MessageStatus.FAILED, "outcome_unknown", now
                    )
                )
            elif entry.appointment_starts_at is not None and entry.appointment_starts_at <= now:
                expired.append(
                    self._reminders.finishing(
                        entry.key, None, MessageStatus.SKIPPED, "past_start", now
                    )
                )
            else:
                waiting.append(entry)
        applied = self._reminders.apply([*unknown, *expired])
        report.unknown_outcome += sum(applied[: len(unknown)])
        report.expired += sum(applied[len(unknown) :])
        return waiting

    def _with_numbers(self, entries: list[DueEntry]) -> list[_Due]:
        """Each entry with the number it goes from and that number's pace: two batch reads
        a tick, whatever the number of entries."""
        tenants = {entry.key.tenant_id for entry in entries}
        numbers = self._tenants.sending_numbers(tenants)
        paces = self._numbers.throughputs(numbers.values())
        due: list[_Due] = []
        for entry in entries:
            number = numbers.get(entry.key.tenant_id)
            if number is None:  # the tenant is gone: the sender will record it
                due.append(_Due(entry, "", self._numbers.fallback))
                continue
            due.append(_Due(entry, number, paces.get(number, self._numbers.fallback)))
        return due

    @staticmethod
    def _fair_order(due: list[_Due], report: DispatchReport) -> list[_Due]:
        """Per number, its budget for this tick in priority and due order; then round-robin
        across numbers, so no number's backlog goes before another's first message."""
        by_number: dict[str, list[_Due]] = defaultdict(list)
        for item in due:
            by_number[item.number].append(item)
        lanes: list[deque[_Due]] = []
        for items in by_number.values():
            items.sort(key=lambda d: (_priority(d.entry), d.entry.due_at))
            budget = max(1, math.floor(items[0].throughput.mps * TICK.total_seconds()))
            report.deferred += max(0, len(items) - budget)
            report.used[items[0].number] = min(len(items), budget)
            lanes.append(deque(items[:budget]))
        return list(_round_robin(lanes))

    def _claim(
        self, chunk: list[_Due], now: datetime, report: DispatchReport
    ) -> list[QueuedReminder]:
        claim_ids = [self._new_claim_id() for _ in chunk]
        transitions = [
            self._reminders.claiming(item.entry.key, now, claim_id, now + CLAIM_LEASE)
            for item, claim_id in zip(chunk, claim_ids, strict=True)
        ]
        claimed: list[QueuedReminder] = []
        for item, claim_id, took in zip(
            chunk, claim_ids, self._reminders.apply(transitions), strict=True
        ):
            if not took:
                report.lost_races += 1
                continue
            report.claimed += 1
            claimed.append(_queued(item, claim_id))
        return claimed

    def _enqueue(self, claimed: list[QueuedReminder], report: DispatchReport) -> None:
        if not claimed:
            return
        failed = self._queue.enqueue(claimed)
        if failed:
            # One more try; what still fails stays claimed and comes back when its lease ends.
            failed = self._queue.enqueue(failed)
        report.requeue_failures += len(failed)
        report.queued += len(claimed) - len(failed)


def _queued(item: _Due, claim_id: str) -> QueuedReminder:
    key = item.entry.key
    return QueuedReminder(
        tenant_id=key.tenant_id,
        appointment_id=key.appointment_id,
        reminder_id=key.reminder_id,
        claim_id=claim_id,
        kind=item.entry.kind,
        phone=item.entry.phone,
        plan=item.entry.plan,
        origination=item.number or None,
        mps=item.throughput.mps if item.number else None,
    )


def _priority(entry: DueEntry) -> int:
    return PRIORITY.get(entry.kind, BULK_PRIORITY)


def _round_robin(lanes: list[deque[_Due]]) -> Iterator[_Due]:
    while lanes:
        for lane in list(lanes):
            yield lane.popleft()
            if not lane:
                lanes.remove(lane)


def _chunks(items: Iterable[_Due], size: int) -> Iterator[list[_Due]]:
    chunk: list[_Due] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
