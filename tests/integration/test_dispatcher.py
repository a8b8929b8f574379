"""The dispatcher's tick under moto: key-bound reads, one claim per reminder, leases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import boto3
import pytest

import builders
from builders import new_tenant, reminders_of
from reach.adapters.send_queue_sqs import SqsSendQueue
from reach.data.reminders import ReminderKey, ReminderLifecycle
from reach.domain.message import MessageStatus
from reach.ports.send_queue import QueuedReminder
from reach.services.dispatch import CLAIM_LEASE, Dispatcher
from reach.wiring import build_dispatcher


class RecordingQueue:
    """A send queue that keeps what it is given (thread-safe). It refuses the reminders of
    ``flaky`` appointments once and those of ``broken`` ones every time."""

    def __init__(self, flaky: set[str] = frozenset(), broken: set[str] = frozenset()) -> None:
        self.items: list[QueuedReminder] = []
        self.calls = 0
        self._flaky = set(flaky)
        self._broken = set(broken)
        self._lock = threading.Lock()

    def enqueue(self, reminders):
        with self._lock:
            self.calls += 1
            refused = []
            for reminder in reminders:
                if reminder.appointment_id in self._broken | self._flaky:
                    self._flaky.discard(reminder.appointment_id)
                    refused.append(reminder)
                else:
                    self.items.append(reminder)
            return refused


@pytest.fixture
def tenant_id(aws):
    # No quiet hours: these tests are about claiming, not about when texts may go out
    return new_tenant(aws, quiet_hours="00:00-00:00", reminders=("PT1H",)).tenant_id


def book(aws, tenant_id: str, count: int, hours_ahead: float, offsets=("PT1H",)) -> list:
    """``count`` visits a minute apart from ``hours_ahead``, each for its own phone."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours_ahead)
    return [
        builders.book(
            aws,
            tenant_id,
            phone=f"+1202555{n % 10000:04d}",
            starts_at=start + timedelta(minutes=n),
            offsets=offsets,
            first_name=None,
        )
        for n in range(count)
    ]


def dispatcher(aws, queue) -> Dispatcher:
    return build_dispatcher(aws.settings, queue=queue)


def reminder_status(aws, appointment) -> list[tuple[str, str | None]]:
    return [(status, reason) for _, status, reason in reminders_of(aws, appointment)]


def test_a_tick_claims_and_queues_each_due_reminder_once(aws, tenant_id):
    # Given 5 appointments whose PT1H reminder is due in 1 hour, and 20 due in 3 days
    due = book(aws, tenant_id, 5, hours_ahead=2)
    book(aws, tenant_id, 20, hours_ahead=72)
    queue = RecordingQueue()
    now = max(a.reminders[0].send_at for a in due) + timedelta(seconds=1)

    # When the dispatcher ticks at that moment, and again a minute later
    first = dispatcher(aws, queue).tick(now)
    second = dispatcher(aws, queue).tick(now + timedelta(minutes=1))

    # Then the first tick read and queued exactly the due ones; the second read nothing
    assert (first.read, first.claimed, first.queued) == (5, 5, 5)
    assert (second.read, second.claimed) == (0, 0)
    assert sorted(q.appointment_id for q in queue.items) == sorted(a.appointment_id for a in due)
    assert all(reminder_status(aws, a) == [("queued", None)] for a in due)


def test_concurrent_dispatchers_queue_every_reminder_exactly_once(aws, tenant_id, atomic_requests):
    due = book(aws, tenant_id, 30, hours_ahead=2)
    now = max(a.reminders[0].send_at for a in due) + timedelta(seconds=1)
    queue = RecordingQueue()

    threads = [threading.Thread(target=dispatcher(aws, queue).tick, args=(now,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    queued = [q.appointment_id for q in queue.items]
    assert sorted(queued) == sorted(a.appointment_id for a in due)
    assert len(set(q.claim_id for q in queue.items)) == 30


def test_a_claim_that_never_reaches_a_sender_comes_back_after_its_lease(aws, tenant_id):
    [appointment] = book(aws, tenant_id, 1, hours_ahead=3)
    now = appointment.reminders[0].send_at
    lost = RecordingQueue()
    dispatcher(aws, lost).tick(now)

    # When the lease has run out (the queue message was lost), a later tick claims it again
    again = RecordingQueue()
    report = dispatcher(aws, again).tick(now + CLAIM_LEASE + timedelta(seconds=1))

    assert report.claimed == 1
    assert again.items[0].claim_id != lost.items[0].claim_id


def test_a_reminder_is_never_queued_at_or_after_the_start(aws, tenant_id):
    [appointment] = book(aws, tenant_id, 1, hours_ahead=2)
    queue = RecordingQueue()

    report = dispatcher(aws, queue).tick(appointment.starts_at + timedelta(seconds=1))

    assert (report.expired, report.queued) == (1, 0)
    assert reminder_status(aws, appointment) == [("skipped", "past_start")]


def test_a_sender_that_died_mid_send_is_recorded_as_unknown_not_resent(aws, tenant_id):
    [appointment] = book(aws, tenant_id, 1, hours_ahead=3)
    now = appointment.reminders[0].send_at
    queue = RecordingQueue()
    dispatcher(aws, queue).tick(now)
    [queued] = queue.items
    lifecycle = ReminderLifecycle()
    reminder_key = ReminderKey(queued.tenant_id, queued.appointment_id, queued.reminder_id)
    assert lifecycle.start(reminder_key, queued.claim_id, now, now + CLAIM_LEASE).started

    report = dispatcher(aws, RecordingQueue()).tick(now + CLAIM_LEASE + timedelta(seconds=1))

    assert (report.unknown_outcome, report.claimed) == (1, 0)
    assert reminder_status(aws, appointment) == [("failed", "outcome_unknown")]


def test_cancelled_and_rescheduled_reminders_are_not_read_by_a_tick(aws, tenant_id):
    appointments = book(aws, tenant_id, 4, hours_ahead=2)
    aws.appointments.cancel(tenant_id, appointments[0].appointment_id)
    now = max(a.reminders[0].send_at for a in appointments) + timedelta(seconds=1)

    report = dispatcher(aws, RecordingQueue()).tick(now)

    assert (report.read, report.claimed) == (3, 3)


def test_queue_failures_are_retried_once_and_what_still_fails_waits_for_its_lease(aws, tenant_id):
    due = book(aws, tenant_id, 3, hours_ahead=2)
    now = max(a.reminders[0].send_at for a in due) + timedelta(seconds=1)

    # One reminder is refused once, another every time
    queue = RecordingQueue(flaky={due[0].appointment_id}, broken={due[1].appointment_id})
    report = dispatcher(aws, queue).tick(now)

    assert (report.claimed, report.queued, report.requeue_failures) == (3, 2, 1)
    assert {q.appointment_id for q in queue.items} == {due[0].appointment_id, due[2].appointment_id}
    # Nothing was sent meanwhile, so when the leases end every claim is visible again,
    # including the one that never reached the queue: it is late, not lost.
    later = dispatcher(aws, RecordingQueue()).tick(now + CLAIM_LEASE + timedelta(seconds=1))
    assert later.claimed == 3


def test_the_sqs_queue_carries_claims_ten_per_call(aws, tenant_id):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="reach-send")["QueueUrl"]
    due = book(aws, tenant_id, 12, hours_ahead=2)
    now = max(a.reminders[0].send_at for a in due) + timedelta(seconds=1)

    report = dispatcher(aws, SqsSendQueue(sqs, url)).tick(now)

    bodies = []
    for _ in range(5):
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            bodies.append(QueuedReminder.model_validate_json(message["Body"]))
    assert report.queued == 12
    assert sorted(b.appointment_id for b in bodies) == sorted(a.appointment_id for a in due)
    assert {b.reminder_id for b in bodies} == {"1.1"}
    assert all(
        status == [(MessageStatus.QUEUED.value, None)]
        for status in (reminder_status(aws, a) for a in due)
    )
