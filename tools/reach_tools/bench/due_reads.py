"""Items read per due reminder in one dispatcher tick, next to a Scan-based baseline.

Setup (not measured): ``stored`` future reminders and ``due`` due ones, written with batch
writes in exactly the shape AppointmentRepository writes them (its own ``_reminder_item``, so
``DueIndex`` spreads them over its shards and sets ``due_at`` while pending).
Booking 100,000 appointments through the service would take far longer under moto and would
measure nothing more.

Measured on the same data:

- **baseline**: what a dispatcher without the due index would do, a paginated Scan of the
  table with ``status = pending AND send_at <= now`` (reads only; it claims nothing);
- **index**: our Dispatcher's tick (due-index Queries, then claims), queueing into memory;
- **idle**: a second tick a minute later, when nothing new is due.

Items read is DynamoDB's ScannedCount (what is read, and billed, before any filter) summed
over the Query or Scan responses.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from reach.data.appointments import AppointmentRepository
from reach.data.tables import ReminderItem
from reach.domain.message import MessageStatus
from reach.domain.models import Appointment, AppointmentKind, AppointmentStatus, Reminder
from reach.ports.send_queue import QueuedReminder
from reach.wiring import build_dispatcher
from reach_tools.bench.harness import BenchAws, counting_aws_calls, embedded_aws, per

FULL_STORED, FULL_DUE = 100_000, 1_000
QUICK_STORED, QUICK_DUE = 10_000, 100
TENANT = "ten_bench"
#: Future reminders fall within this far ahead; due ones within this far back.
HORIZON = timedelta(days=30)
DUE_WINDOW = timedelta(minutes=10)


class MemoryQueue:
    """The send queue, in memory: this benchmark is about reads."""

    def __init__(self) -> None:
        self.items: list[QueuedReminder] = []

    def enqueue(self, reminders: Sequence[QueuedReminder]) -> list[QueuedReminder]:
        self.items += reminders
        return []


@dataclass(frozen=True)
class DueReadsResult:
    stored: int
    due: int
    shards: int
    #: Items in the table when the baseline scanned it.
    table_items: int
    baseline_scanned: int
    baseline_found: int
    baseline_calls: dict[str, int]
    index_scanned: int
    index_report_read: int
    index_claimed: int
    index_queued: int
    index_calls: dict[str, int]
    idle_scanned: int
    idle_calls: dict[str, int]

    @property
    def index_per_due(self) -> float:
        return per(self.index_scanned, self.due)

    @property
    def baseline_per_due(self) -> float:
        return per(self.baseline_scanned, self.due)

    @property
    def ratio(self) -> float:
        """How many times more items the Scan baseline reads than the index dispatcher."""
        return per(self.baseline_scanned, self.index_scanned)

    def to_json(self) -> dict[str, Any]:
        return {
            "stored_future": self.stored,
            "due": self.due,
            "shards": self.shards,
            "table_items": self.table_items,
            "index": {
                "items_read": self.index_scanned,
                "items_read_per_due": self.index_per_due,
                "report_read": self.index_report_read,
                "claimed": self.index_claimed,
                "queued": self.index_queued,
                "calls": self.index_calls,
            },
            "scan_baseline": {
                "items_read": self.baseline_scanned,
                "items_read_per_due": self.baseline_per_due,
                "found_due": self.baseline_found,
                "calls": self.baseline_calls,
            },
            "ratio_scan_to_index": self.ratio,
            "idle_tick": {"items_read": self.idle_scanned, "calls": self.idle_calls},
        }


def measure(stored: int = FULL_STORED, due: int = FULL_DUE) -> DueReadsResult:
    now = datetime.now(UTC).replace(microsecond=0)
    with embedded_aws("bench") as aws, counting_aws_calls() as counter:
        shards = aws.settings.due_shards
        _store(aws, now, stored, due)
        table_items = aws.dynamodb.describe_table(TableName=aws.settings.appointments_table)[
            "Table"
        ].get("ItemCount", stored + due)

        with counter.measuring("baseline"):
            found = _scan_baseline(aws, now)
        queue = MemoryQueue()
        with counter.measuring("index"):
            tick = build_dispatcher(aws.settings, queue=queue).tick(now)
        with counter.measuring("idle"):
            build_dispatcher(aws.settings, queue=queue).tick(now + timedelta(minutes=1))
        return DueReadsResult(
            stored=stored,
            due=due,
            shards=shards,
            table_items=int(table_items),
            baseline_scanned=counter.scanned["baseline"],
            baseline_found=found,
            baseline_calls=counter.by_operation("baseline"),
            index_scanned=counter.scanned["index"],
            index_report_read=tick.read,
            index_claimed=tick.claimed,
            index_queued=tick.queued,
            index_calls=counter.by_operation("index"),
            idle_scanned=counter.scanned["idle"],
            idle_calls=counter.by_operation("idle"),
        )


def _store(aws: BenchAws, now: datetime, stored: int, due: int) -> None:
    """Batch-write the reminders, the repository's own item shape, future and due mixed."""
    repository = AppointmentRepository(aws.settings.due_shards)
    with ReminderItem.batch_write() as batch:
        for appointment, reminder in _reminders(now, stored, due):
            batch.save(repository._reminder_item(appointment, reminder))


def _reminders(now: datetime, stored: int, due: int) -> Iterator[tuple[Appointment, Reminder]]:
    total = stored + due
    for n in range(total):
        # Every (total // due)-th one is due: due work is scattered through the table.
        is_due = due > 0 and n % max(1, total // due) == 0 and n // max(1, total // due) < due
        if is_due:
            send_at = now - DUE_WINDOW * ((n % 97) / 97)
        else:
            send_at = now + timedelta(hours=1) + HORIZON * ((n % 9973) / 9973)
        starts_at = send_at + timedelta(days=1)
        appointment = Appointment(
            tenant_id=TENANT,
            appointment_id=f"apt_{n:08d}",
            phone=f"+1202555{n % 10_000:04d}",
            starts_at=starts_at,
            timezone="America/New_York",
            kind=AppointmentKind.CLINIC_VISIT,
            language="en",
            status=AppointmentStatus.SCHEDULED,
            version=1,
            reminder_offsets=("P1D",),
            created_at=now - timedelta(days=1),
            updated_at=now - timedelta(days=1),
        )
        reminder = Reminder(
            reminder_id="1.1",
            appointment_version=1,
            offsets=("P1D",),
            send_at=send_at,
            status=MessageStatus.PENDING,
        )
        yield appointment, reminder


def _scan_baseline(aws: BenchAws, now: datetime) -> int:
    """A Scan-based dispatcher's read: every item, filtered to pending and due. Returns how
    many due reminders it found."""
    found = 0
    kwargs: dict[str, Any] = {}
    while True:
        page = aws.dynamodb.scan(
            TableName=aws.settings.appointments_table,
            FilterExpression="#status = :pending AND send_at <= :now",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":pending": {"S": MessageStatus.PENDING.value},
                ":now": {"S": ReminderItem.send_at.serialize(now)},
            },
            **kwargs,
        )
        found += page["Count"]
        if "LastEvaluatedKey" not in page:
            return found
        kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}


def report(result: DueReadsResult) -> str:
    rows = [
        ("index dispatcher (due GSI Query)", result.index_scanned, result.index_per_due),
        ("Scan baseline (filter pending, due)", result.baseline_scanned, result.baseline_per_due),
    ]
    lines = [
        f"Items read per due reminder in one tick ({result.stored:,} future + {result.due:,} "
        f"due reminders stored, {result.table_items:,} items, {result.shards} shards)",
        f"  {'':<38}{'items read':>12}{'per due':>12}",
        *(f"  {label:<38}{read:>12,}{per_due:>12.3f}" for label, read, per_due in rows),
        f"  ratio Scan / index: x{result.ratio:,.1f}",
        f"  index tick: report.read={result.index_report_read:,} claimed={result.index_claimed:,}"
        f" queued={result.index_queued:,} calls={_calls(result.index_calls)}",
        f"  Scan baseline: found {result.baseline_found:,} due, calls="
        f"{_calls(result.baseline_calls)}",
        f"  idle tick a minute later: items read={result.idle_scanned:,} "
        f"calls={_calls(result.idle_calls)}",
    ]
    return "\n".join(lines)


def _calls(calls: dict[str, int]) -> str:
    return ", ".join(f"{op} {n:,}" for op, n in calls.items()) or "none"
