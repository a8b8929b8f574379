"""Peak memory of a dispatcher tick and of a sender batch, and whether either grows with what
is stored.

Setup (not measured), twice: a tenant, ``due`` due reminders and their appointments, and
``stored`` (then ``stored * GROWTH``) future reminders, written straight to the table as the
repository writes them. Measured with ``tracemalloc``: the peak of Python allocations above
the level before the call, during one dispatcher tick (every due reminder read, the number's
budget claimed and queued) and during one sender batch (the event source mapping's batch size),
each after a first call that loads the clients and modules (a warm container).

Everything runs in one process with moto, whose own allocations for the requests count too, so
the figures are an upper bound. What matters is the ratio between the two stored sizes: it
stays near 1 when memory follows the due work, not the table.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from reach.adapters.sms_fake import RecordingSmsSender
from reach.data.appointments import AppointmentRepository
from reach.data.tables import AppointmentItem, ReminderItem
from reach.data.tenants import TenantRepository
from reach.domain.models import Tenant
from reach.services.sending import Delivery
from reach.wiring import build_dispatcher, build_sender
from reach_tools.bench.due_reads import TENANT, MemoryQueue, _reminders
from reach_tools.bench.harness import ORIGINATION, embedded_aws
from reach_tools.bench.send_path import SENDER_BATCH
from reach_tools.demo_clock import DemoClock

FULL_DUE, FULL_STORED = 10_000, 10_000
QUICK_DUE, QUICK_STORED = 300, 1_000
#: The second run stores this many times more, with the same due work.
GROWTH = 4


@dataclass(frozen=True)
class Peak:
    stored: int
    due: int
    #: Peak bytes above the starting level, during the call.
    tick_bytes: int
    batch_bytes: int
    claimed: int
    sent: int


@dataclass(frozen=True)
class MemoryResult:
    small: Peak
    large: Peak

    @property
    def tick_ratio(self) -> float:
        return self.large.tick_bytes / max(1, self.small.tick_bytes)

    @property
    def batch_ratio(self) -> float:
        return self.large.batch_bytes / max(1, self.small.batch_bytes)

    def to_json(self) -> dict[str, Any]:
        return {
            "small": self.small.__dict__,
            "large": self.large.__dict__,
            "tick_ratio": self.tick_ratio,
            "batch_ratio": self.batch_ratio,
        }


def measure(due: int = FULL_DUE, stored: int = FULL_STORED) -> MemoryResult:
    return MemoryResult(_peak(due, stored), _peak(due, stored * GROWTH))


def _peak(due: int, stored: int) -> Peak:
    now = datetime.now(UTC).replace(microsecond=0)
    clock = DemoClock(now)
    with embedded_aws("bench") as aws:
        _store(aws.settings.due_shards, now, stored, due)
        queue = MemoryQueue()
        dispatcher = build_dispatcher(aws.settings, queue=queue)
        # Warm: a tick with nothing due loads the clients and modules a first call would.
        dispatcher.tick(now - timedelta(days=1))
        tick_bytes, report = _traced(lambda: dispatcher.tick(now))
        sms = RecordingSmsSender(clock=clock)
        settings = replace(aws.settings, send_concurrency=1)
        sender = build_sender(settings, clock=clock, sleep=clock.sleep, sms=sms)
        warm, *rest = (Delivery(queued) for queued in queue.items[: SENDER_BATCH + 1])
        sender.send_all([warm], timedelta(seconds=90))
        batch_bytes, _ = _traced(lambda: sender.send_all(rest, timedelta(seconds=90)))
        return Peak(stored, due, tick_bytes, batch_bytes, report.claimed, len(sms.sent) - 1)


def _traced[T](call: Callable[[], T]) -> tuple[int, T]:
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        result = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base, result


def _store(shards: int, now: datetime, stored: int, due: int) -> None:
    """The tenant, and the reminders with their appointments, as the repositories write them
    (batch writes: setup, not measured)."""
    TenantRepository().create(
        Tenant(
            tenant_id=TENANT,
            name="Bench Clinic",
            timezone="America/New_York",
            sender_number=ORIGINATION,
            quiet_hours="00:00-00:00",
            reminder_offsets=("P1D",),
            created_at=now - timedelta(days=1),
        )
    )
    repository = AppointmentRepository(shards)
    with ReminderItem.batch_write() as reminders, AppointmentItem.batch_write() as appointments:
        for appointment, reminder in _reminders(now, stored, due):
            reminders.save(repository._reminder_item(appointment, reminder))
            if reminder.send_at is not None and reminder.send_at <= now:
                appointments.save(repository._appointment_item(appointment))


def report(result: MemoryResult) -> str:
    rows = [
        ("stored (future) reminders", result.small.stored, result.large.stored),
        ("due reminders", result.small.due, result.large.due),
        ("claimed by the tick", result.small.claimed, result.large.claimed),
        ("sent by the batch", result.small.sent, result.large.sent),
        ("tick peak, KiB", result.small.tick_bytes // 1024, result.large.tick_bytes // 1024),
        ("batch peak, KiB", result.small.batch_bytes // 1024, result.large.batch_bytes // 1024),
    ]
    lines = [
        "Peak memory (tracemalloc, Python allocations incl. moto's; the goal: flat as the "
        "table grows)",
        *(f"  {label:<28} {a:>10} {b:>10}" for label, a, b in rows),
        f"  tick peak, x{GROWTH} stored / x1: {result.tick_ratio:.2f}",
        f"  batch peak, x{GROWTH} stored / x1: {result.batch_ratio:.2f}",
    ]
    return "\n".join(lines)
