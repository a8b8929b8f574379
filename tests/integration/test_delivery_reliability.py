"""Exactly once under concurrency and failure: dispatchers and senders racing over one due
set, a third of all provider calls throttled, redeliveries and reschedules in between."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import timedelta
from types import MappingProxyType

from botocore.exceptions import ClientError

from builders import book, new_tenant, reminders_of
from reach.adapters.sms_base import Classification, SmsProviderBase
from reach.ports.sms import OutboundSms, SmsThrottled
from reach.services.sending import SendOutcome
from reach.wiring import build_dispatcher
from reach_tools.demo_clock import DemoClock
from stand_ins import MemoryQueue, make_sender


class FlakyProvider(SmsProviderBase):
    """A provider whose every call is throttled with probability ``rate`` (seeded), behind
    the real provider base: classification, in-process retries with jittered backoff."""

    name = "flaky"
    ERRORS = MappingProxyType({"ThrottlingException": Classification(SmsThrottled, "throttled")})

    def __init__(self, clock: DemoClock, rate: float, seed: int) -> None:
        super().__init__(sleep=clock.sleep, clock=clock, random=random.Random(seed).random)
        self._draw = random.Random(seed + 1)
        self._lock = threading.Lock()
        self.calls = 0
        self.delivered: list[OutboundSms] = []

    def _send_once(self, sms: OutboundSms) -> str:
        with self._lock:
            self.calls += 1
            if self._draw.random() < self._rate:
                raise ClientError(
                    {"Error": {"Code": "ThrottlingException", "Message": "slow down"}},
                    "SendTextMessage",
                )
            self.delivered.append(sms)
            return f"flaky-{len(self.delivered):06d}"

    @property
    def _rate(self) -> float:
        return self.rate

    rate = 0.3


def run_concurrently(*targets) -> None:
    threads = [threading.Thread(target=t) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_four_dispatchers_and_four_senders_send_every_reminder_exactly_once_despite_throttling(
    aws, atomic_requests
):
    # Given 24 appointments whose reminders are all due at one moment
    tenant = new_tenant(aws, quiet_hours="00:00-00:00")
    appointments = [
        book(aws, tenant, phone=f"+1202555{n:04d}", days=3, hour=9 + n % 8) for n in range(24)
    ]
    due = max(a.reminders[0].send_at for a in appointments)
    clock = DemoClock(due)
    provider = FlakyProvider(clock, rate=0.3, seed=7)
    queue = MemoryQueue()
    outcomes: list[SendOutcome] = []
    lock = threading.Lock()

    dispatchers_left = [4]

    def dispatch() -> None:
        build_dispatcher(aws.settings, queue=queue).tick(due)
        with lock:
            dispatchers_left[0] -= 1

    def consume() -> None:
        batch = make_sender(aws, provider, clock, mps=50).batch(10)
        while True:
            delivery = queue.receive()
            if delivery is None:
                with lock:
                    if dispatchers_left[0] == 0 and not queue.pending:
                        return
                threading.Event().wait(0.01)
                continue
            message, receives = delivery
            result = batch.send(message, receive_count=receives)
            with lock:
                outcomes.append(result.outcome)
            if result.outcome is SendOutcome.RETRY:
                queue.give_back(message, receives)
            # SQS may deliver any message twice: replay a few on purpose
            if receives == 1 and int(message.claim_id, 16) % 5 == 0:
                queue.give_back(message, receives)

    # When four dispatchers tick and four senders drain, all at once
    run_concurrently(*[dispatch] * 4, *[consume] * 4)

    # Then every recipient got exactly one text, and every reminder says sent
    per_phone = Counter(sms.destination for sms in provider.delivered)
    assert sorted(per_phone) == sorted(a.phone for a in appointments)
    assert set(per_phone.values()) == {1}
    assert all(reminders_of(aws, a) == [("1.1", "sent", None)] for a in appointments)
    assert provider.calls > len(appointments)  # throttling really happened
    assert outcomes.count(SendOutcome.SENT) == len(appointments)


def test_a_reschedule_racing_the_sender_never_lets_a_stale_reminder_out(aws, atomic_requests):
    tenant = new_tenant(aws, quiet_hours="00:00-00:00")
    appointments = [book(aws, tenant, phone=f"+1202555{n:04d}", days=3) for n in range(10)]
    due = max(a.reminders[0].send_at for a in appointments)
    clock = DemoClock(due)
    provider = FlakyProvider(clock, rate=0.0, seed=1)
    queue = MemoryQueue()
    build_dispatcher(aws.settings, queue=queue).tick(due)
    moved = appointments[::2]

    def reschedule() -> None:
        from reach.services.appointments import AppointmentChanges

        for appointment in moved:
            aws.appointments.change(
                tenant.tenant_id,
                appointment.appointment_id,
                AppointmentChanges(starts_at=appointment.starts_at + timedelta(days=2)),
            )

    def consume() -> None:
        sender = make_sender(aws, provider, clock, mps=50)
        while (delivery := queue.receive()) is not None:
            sender.send(delivery[0], receive_count=delivery[1])

    run_concurrently(reschedule, consume)

    # Whatever the interleaving, a text that went out was for the version it was planned
    # for: a moved appointment got either its old reminder before the move, or none yet.
    for appointment in moved:
        statuses = reminders_of(aws, appointment)
        old = next(s for s in statuses if s[0] == "1.1")
        assert old[1] in ("sent", "skipped")
        if old[1] == "skipped":
            assert old[2] == "rescheduled"
        assert [s for s in statuses if s[0] == "2.1"] == [("2.1", "pending", None)]
    sent_to = Counter(sms.destination for sms in provider.delivered)
    assert set(sent_to.values()) <= {1}
