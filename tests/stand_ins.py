"""In-memory stand-ins for the send queue and the SMS provider, and the steps that drive a
reminder through them: a dispatcher tick, then the sender draining the queue."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from reach.adapters.sms_fake import RecordingSmsSender
from reach.data.appointments import AppointmentRepository
from reach.data.contacts import ContactRepository
from reach.data.numbers import NumberRepository
from reach.data.pacing import Gates, ThroughputGate
from reach.data.reminders import ReminderLifecycle
from reach.data.tenants import TenantRepository
from reach.domain.models import Appointment
from reach.domain.numbers import OriginationType, Throughput
from reach.ports.events import EventPublisher
from reach.ports.send_queue import QueuedReminder
from reach.ports.sms import OutboundSms, SentSms, SmsSender
from reach.services.dispatch import DispatchReport
from reach.services.sending import OutboundKind, ReminderKind, SendBatch, SendOutcome, SendPath
from reach.services.sending.notice import queued_from_stream
from reach.wiring import Services, build_dispatcher
from reach_tools.demo_clock import DemoClock
from reach_tools.local.streams import StreamFeed, stream_mapping
from reach_tools.template import load_template

SENDER_NUMBER = "+12025550143"


class MemoryQueue:
    """An SQS stand-in with redelivery: what a consumer does not acknowledge comes back."""

    def __init__(self) -> None:
        self.pending: deque[tuple[QueuedReminder, int]] = deque()
        self._lock = threading.Lock()

    def enqueue(self, reminders: Iterable[QueuedReminder]) -> list[QueuedReminder]:
        with self._lock:
            self.pending.extend((r, 0) for r in reminders)
        return []

    def receive(self) -> tuple[QueuedReminder, int] | None:
        with self._lock:
            if not self.pending:
                return None
            message, receives = self.pending.popleft()
            return message, receives + 1

    def give_back(self, message: QueuedReminder, receives: int) -> None:
        with self._lock:
            self.pending.append((message, receives))


class NoticeStream(MemoryQueue):
    """What reaches the sender for notices: the new notice items on the appointments table's
    stream, through the template's mapping and its filter (``SenderNoticeMapping``), then
    whatever is handed back or queued meanwhile, as on the send queue. ``pending`` takes in
    what the stream holds first, so it shows every notice written."""

    def __init__(self, aws: Services, account: str = "123456789012") -> None:
        self._held: deque[tuple[QueuedReminder, int]] = deque()
        self._lock = threading.RLock()  # type: ignore[assignment]
        self.feed = StreamFeed(
            stream_mapping(load_template(), "SenderFunction"),
            aws.settings.appointments_table,
            account=account,
            region=aws.settings.region,
        )

    @property  # type: ignore[override]
    def pending(self) -> deque[tuple[QueuedReminder, int]]:
        with self._lock:
            while batch := self.feed.take():
                for record, tries in batch:
                    queued = queued_from_stream(record)
                    assert queued is not None, record  # the filter passes claimed notices only
                    self._held.append((queued, tries))
            return self._held


class TimedSms(RecordingSmsSender):
    """The recording fake, also noting when (by the shared clock) each text left."""

    def __init__(self, clock: DemoClock, **options: Any) -> None:
        super().__init__(clock=clock, **options)
        self.sent_times: list[datetime] = []
        self._timer = clock

    def send(self, sms: OutboundSms) -> SentSms:
        receipt = super().send(sms)
        self.sent_times.append(self._timer())
        return receipt


def make_sender(
    aws: Services,
    sms: SmsSender,
    clock: DemoClock,
    mps: float = 100,
    events: EventPublisher | None = None,
    kinds: Sequence[OutboundKind[Any]] | None = None,
) -> SendPath:
    """The real send path over the test's tables, from the clinic's number at ``mps``."""
    return SendPath(
        reminders=ReminderLifecycle(),
        tenants=TenantRepository(),
        contacts=ContactRepository(),
        sms=sms,
        gates=FixedPace(mps, clock),
        clock=clock,
        kinds=kinds or [ReminderKind(AppointmentRepository(aws.settings.due_shards))],
        configuration_set=None,
        events=events,
    )


class FixedPace(Gates):
    """Every number's gate at ``mps``, whatever its record or the queue message says."""

    def __init__(self, mps: float, clock: DemoClock) -> None:
        super().__init__(
            NumberRepository(Throughput(OriginationType.LONG_CODE, mps)), clock, clock.sleep
        )
        self._mps = mps

    def for_number(self, number: str, mps: float | None = None) -> ThroughputGate:
        return super().for_number(number, self._mps)


def tick(aws: Services, queue: MemoryQueue, moment: datetime) -> DispatchReport:
    return build_dispatcher(aws.settings, queue=queue).tick(moment)


def claim_when_due(
    aws: Services, clock: DemoClock, appointment: Appointment, queue: MemoryQueue | None = None
) -> MemoryQueue:
    """Move the clock to the appointment's first reminder and let a dispatcher tick."""
    queue = MemoryQueue() if queue is None else queue
    due = appointment.reminders[0].send_at
    clock.set(due)
    tick(aws, queue, due)
    return queue


def drain(queue: MemoryQueue, sender: SendPath | SendBatch) -> list[SendOutcome]:
    """Send everything queued, giving back what the sender asks to retry, until it is empty."""
    outcomes = []
    while (delivery := queue.receive()) is not None:
        message, receives = delivery
        result = sender.send(message, receive_count=receives)
        outcomes.append(result.outcome)
        if result.outcome is SendOutcome.RETRY:
            queue.give_back(message, receives)
    return outcomes
