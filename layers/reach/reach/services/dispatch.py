"""The dispatcher's tick: find due reminders, claim each once, hand them to the send queue."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from reach.data.reminders import DueIndex, ReminderLifecycle
from reach.domain.message import MessageStatus
from reach.ports.send_queue import QueuedReminder, SendQueue

#: Claims queued together: SQS SendMessageBatch's limit.
QUEUE_BATCH = 10
#: How long a claimed reminder may sit in the queue (or a sender) before it becomes visible in
#: the due index again. Longer than the queue's worst drain time at the origination's pace.
CLAIM_LEASE = timedelta(minutes=15)


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
    shards: list[str] = field(default_factory=list)


class Dispatcher:
    """Runs once per scheduled tick; safe to run concurrently with itself."""

    def __init__(
        self,
        reminders: ReminderLifecycle,
        queue: SendQueue,
        shards: int,
        *,
        per_shard_limit: int = 2000,
        new_claim_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._reminders = reminders
        self._queue = queue
        self._shards = DueIndex(shards).shards
        self._per_shard_limit = per_shard_limit
        self._new_claim_id = new_claim_id

    def tick(self, now: datetime) -> DispatchReport:
        """Claim what is due at ``now`` (the scheduled event's time) and queue it."""
        report = DispatchReport(shards=self._shards)
        claimed: list[QueuedReminder] = []
        for shard in self._shards:
            for entry in self._reminders.due(shard, now, self._per_shard_limit):
                report.read += 1
                if entry.status is MessageStatus.SENDING:
                    # A sender died mid-send and its lease ran out: the text may or may not
                    # have gone. Sending again risks a duplicate, so record the doubt instead.
                    if self._reminders.finish(
                        entry.key, None, MessageStatus.FAILED, "outcome_unknown", now
                    ):
                        report.unknown_outcome += 1
                    continue
                starts_at = entry.appointment_starts_at
                if starts_at is not None and starts_at <= now:
                    if self._reminders.finish(
                        entry.key, None, MessageStatus.SKIPPED, "past_start", now
                    ):
                        report.expired += 1
                    continue
                claim_id = self._new_claim_id()
                state = self._reminders.claim(entry.key, now, claim_id, now + CLAIM_LEASE)
                if state is None:
                    report.lost_races += 1
                    continue
                report.claimed += 1
                claimed.append(
                    QueuedReminder(
                        tenant_id=entry.key.tenant_id,
                        appointment_id=entry.key.appointment_id,
                        reminder_id=entry.key.reminder_id,
                        claim_id=claim_id,
                    )
                )
                # Queue every full batch at once: senders start while the tick is still
                # claiming, and a tick cut short by its timeout leaves at most a batch
                # claimed but unqueued (it comes back when its lease ends).
                if len(claimed) == QUEUE_BATCH:
                    self._enqueue(claimed, report)
                    claimed = []
        self._enqueue(claimed, report)
        return report

    def _enqueue(self, claimed: list[QueuedReminder], report: DispatchReport) -> None:
        if not claimed:
            return
        failed = self._queue.enqueue(claimed)
        if failed:
            # One more try; what still fails stays claimed and comes back when its lease ends.
            failed = self._queue.enqueue(failed)
        report.requeue_failures += len(failed)
        report.queued += len(claimed) - len(failed)
