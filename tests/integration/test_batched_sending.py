"""The batched send path keeps every guarantee of the one-at-a-time path (issue 11): one
text per reminder through crashes, throttling and races, quiet hours held, and a fair share of
the queue for every tenant."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from builders import NEW_YORK, book, new_tenant, reminders_of
from reach.adapters.sms_fake import RecordingSmsSender
from reach.data.batch_reads import BatchReader
from reach.data.contacts import CONTACT_SK, ContactItem, ContactRepository, contact_pk
from reach.data.numbers import NumberRepository
from reach.data.pacing import ThroughputGate
from reach.data.reminders import ReminderLifecycle
from reach.domain.models import AppointmentKind
from reach.domain.numbers import OriginationType, Throughput
from reach.domain.pacing import PacingContention
from reach.ports.send_queue import QueuedReminder
from reach.ports.sms import OutboundSms, SentSms, SmsThrottled
from reach.services.sending import SENDING_LEASE, Delivery, SendOutcome
from reach.wiring import build_sender
from reach_tools.demo_clock import DemoClock
from stand_ins import MemoryQueue, make_sender, tick

PHONES = [f"+1202555{n:04d}" for n in range(1, 7)]


def take_batch(queue: MemoryQueue) -> list[Delivery]:
    """Everything queued, as one invocation's batch."""
    batch = []
    while (delivery := queue.receive()) is not None:
        batch.append(Delivery(*delivery))
    return batch


def book_all(aws, tenant, clock: DemoClock, phones=PHONES, **options: Any):
    appointments = [book(aws, tenant, phone=phone, **options) for phone in phones]
    due = max(a.reminders[0].send_at for a in appointments)
    clock.set(due)
    return appointments, due


class Crash(BaseException):
    """The sender's process dying: nothing after it runs."""


def test_a_crash_between_the_provider_calls_and_the_record_never_sends_twice(
    aws, clinic, clock, sms, monkeypatch
):
    appointments, due = book_all(aws, clinic, clock)
    queue = MemoryQueue()
    tick(aws, queue, due)
    batch = take_batch(queue)

    def crash(self, transitions):
        raise Crash

    # When the sender dies after every provider call but before its batch is recorded
    with monkeypatch.context() as patched:
        patched.setattr(ReminderLifecycle, "apply", crash)
        with pytest.raises(Crash):
            make_sender(aws, sms, clock).send_all(batch)
    assert len(sms.sent) == len(PHONES)

    # and SQS delivers the whole batch again
    replay = [Delivery(d.queued, d.receive_count + 1) for d in batch]
    results = make_sender(aws, sms, clock).send_all(replay)

    # Then nothing is sent again: each recipient got exactly one text
    assert [r.outcome for r in results] == [SendOutcome.DUPLICATE] * len(PHONES)
    assert Counter(text.destination for text in sms.sent) == Counter(PHONES)
    # and once the sending lease is over, each one is recorded as an unknown outcome
    later = due + SENDING_LEASE + timedelta(seconds=1)
    report = tick(aws, MemoryQueue(), later)
    assert report.unknown_outcome == len(PHONES)
    assert {reminders_of(aws, a)[0][1:] for a in appointments} == {("failed", "outcome_unknown")}


class ThrottledOnce(RecordingSmsSender):
    """Throttles the ``nth`` send, and only that one."""

    def __init__(self, clock: DemoClock, nth: int) -> None:
        super().__init__(clock=clock)
        self._nth = nth
        self.calls = 0
        self.sent_at: list[Any] = []
        self._timer = clock

    def send(self, sms: OutboundSms) -> SentSms:
        self.calls += 1
        if self.calls == self._nth:
            raise SmsThrottled("throttled", "slow down")
        self.sent_at.append(self._timer())
        return super().send(sms)


def test_a_throttle_mid_batch_sends_every_message_once_and_none_in_quiet_hours(aws, clock):
    # Given reminders due at 20:55 New York, five minutes before quiet hours begin
    tenant = new_tenant(aws, quiet_hours="21:00-08:00")
    starts = (clock() + timedelta(days=3)).astimezone(NEW_YORK)
    starts = starts.replace(hour=20, minute=55, second=0, microsecond=0)
    appointments, due = book_all(aws, tenant, clock, starts_at=starts)
    provider = ThrottledOnce(clock, nth=3)
    sender = make_sender(aws, provider, clock)
    queue = MemoryQueue()
    tick(aws, queue, due)

    # When the provider throttles the third text of the batch
    batch = take_batch(queue)
    first = sender.send_all(batch)
    outcomes = [r.outcome for r in first]
    assert outcomes[:2] == [SendOutcome.SENT] * 2
    # Then the rest of the batch goes back to the queue without being tried
    assert outcomes[2:] == [SendOutcome.RETRY] * (len(PHONES) - 2)
    assert provider.calls == 3
    # and comes back after the visibility timeout, inside quiet hours: held, not sent
    clock.advance(timedelta(minutes=9))
    retried = [d for d, r in zip(batch, first, strict=True) if r.outcome is SendOutcome.RETRY]
    again = sender.send_all([Delivery(d.queued, d.receive_count + 1) for d in retried])
    assert {r.outcome for r in again} == {SendOutcome.HELD}
    # and goes out when quiet hours end
    morning = (clock() + timedelta(days=1)).astimezone(NEW_YORK).replace(hour=8, minute=0)
    clock.set(morning)
    tick(aws, queue, morning)
    assert {r.outcome for r in sender.send_all(take_batch(queue))} == {SendOutcome.SENT}

    assert Counter(text.destination for text in provider.sent) == Counter(PHONES)
    local_hours = [moment.astimezone(NEW_YORK).hour for moment in provider.sent_at]
    assert all(8 <= hour < 21 for hour in local_hours)
    assert {reminders_of(aws, a)[0][1] for a in appointments} == {"sent"}


def test_a_big_send_on_one_number_leaves_another_tenants_reminder_near_the_front(aws, clock):
    # Given a cable company whose 10DLC number (1 part a second) has 70 reminders due, and a
    # clinic with one reminder due the same minute
    cable = new_tenant(aws, "Metro Cable", number="+12025550199")
    clinic = new_tenant(aws)
    NumberRepository(aws.settings.throughput).set_throughput(
        cable.sender_number, Throughput(OriginationType.TEN_DLC, 1.0)
    )
    phones = [f"+1202555{2000 + n:04d}" for n in range(70)]
    _, due = book_all(aws, cable, clock, phones=phones, kind=AppointmentKind.SERVICE_VISIT)
    [clinic_visit] = [book(aws, clinic, phone="+12125550100", starts_at=None)]
    due = max(due, clinic_visit.reminders[0].send_at)
    queue = MemoryQueue()

    # When the dispatcher ticks
    report = tick(aws, queue, due)

    # Then the cable number gets what it can send in a minute, and the rest waits in the
    # index for the next tick
    assert report.claimed == 61
    assert report.deferred == 10
    # and the clinic's reminder is among the first two messages queued, not behind 60 texts
    order = [message.tenant_id for message, _ in queue.pending]
    assert clinic.tenant_id in order[:2]
    # and the next tick claims the cable company's remainder
    assert tick(aws, queue, due + timedelta(minutes=1)).claimed == 10


def test_each_queue_message_carries_what_the_sender_reads_the_batch_with(aws, clinic, clock):
    [appointment], due = book_all(aws, clinic, clock, phones=[PHONES[0]])
    queue = MemoryQueue()
    tick(aws, queue, due)

    [(message, _)] = queue.pending
    assert message.kind == "reminder"
    assert message.phone == PHONES[0]
    assert message.plan == appointment.version
    assert message.origination == clinic.sender_number
    assert message.mps == aws.settings.throughput.mps


def test_a_queue_message_from_before_the_copies_is_still_sent_once(aws, clinic, clock, sms):
    [_appointment], due = book_all(aws, clinic, clock, phones=[PHONES[0]])
    queue = MemoryQueue()
    tick(aws, queue, due)
    [(message, _)] = queue.pending
    bare = QueuedReminder(
        tenant_id=message.tenant_id,
        appointment_id=message.appointment_id,
        reminder_id=message.reminder_id,
        claim_id=message.claim_id,
    )

    result = make_sender(aws, sms, clock).send(bare)

    assert result.outcome is SendOutcome.SENT
    assert [text.destination for text in sms.sent] == [PHONES[0]]


def test_a_message_of_a_kind_this_release_does_not_know_goes_back_to_the_queue(
    aws, clinic, clock, sms
):
    [appointment], due = book_all(aws, clinic, clock, phones=[PHONES[0]])
    queue = MemoryQueue()
    tick(aws, queue, due)
    [(message, _)] = queue.pending
    survey = replace(message, kind="survey_question")

    result = make_sender(aws, sms, clock).send(survey)

    assert (result.outcome, result.reason) == (SendOutcome.RETRY, "unknown_kind")
    assert sms.attempts == []
    assert reminders_of(aws, appointment)[0][1] == "queued"


class ChangingAfterRead(BatchReader):
    """A batch read, after which ``change`` runs once: the world moving between a sender's
    read and its start transaction."""

    def __init__(self, change) -> None:
        self._change = change

    def read(self, keys):
        found = super().read(keys)
        change, self._change = self._change, None
        if change is not None:
            change()
        return found


@pytest.mark.parametrize("kind", [AppointmentKind.CLINIC_VISIT, AppointmentKind.SERVICE_VISIT])
def test_an_opt_out_between_the_read_and_the_start_stops_the_text(aws, clinic, clock, sms, kind):
    [_appointment], due = book_all(aws, clinic, clock, phones=[PHONES[0]], kind=kind)
    queue = MemoryQueue()
    tick(aws, queue, due)

    def opt_out() -> None:
        ContactRepository().mark_opted_out(clinic.tenant_id, PHONES[0], "keyword", clock())

    sender = make_sender(aws, sms, clock)
    sender._reader = ChangingAfterRead(opt_out)
    [result] = sender.send_all(take_batch(queue))

    assert (result.outcome, result.reason) == (SendOutcome.SKIPPED, "opted_out")
    assert sms.attempts == []


def test_a_cancellation_between_the_read_and_the_start_stops_the_text(aws, clinic, clock, sms):
    [appointment], due = book_all(aws, clinic, clock, phones=[PHONES[0]])
    queue = MemoryQueue()
    tick(aws, queue, due)

    def cancel() -> None:
        aws.appointments.cancel(clinic.tenant_id, appointment.appointment_id)

    sender = make_sender(aws, sms, clock)
    sender._reader = ChangingAfterRead(cancel)
    [result] = sender.send_all(take_batch(queue))

    assert result.outcome in (SendOutcome.SKIPPED, SendOutcome.DUPLICATE)
    assert sms.attempts == []
    assert reminders_of(aws, appointment)[0][1] in ("skipped", "cancelled")


def test_a_batch_for_two_numbers_paces_each_at_its_own_rate(aws, clock):
    fast = new_tenant(aws, "Short Code Clinic", number="+12025550188")
    slow = new_tenant(aws, "Toll-free Clinic", number="+18885550100")
    numbers = NumberRepository(aws.settings.throughput)
    numbers.set_throughput(fast.sender_number, Throughput(OriginationType.SHORT_CODE, 100.0))
    numbers.set_throughput(slow.sender_number, Throughput(OriginationType.TOLL_FREE, 3.0))
    _, due_fast = book_all(aws, fast, clock, phones=PHONES[:3])
    _, due_slow = book_all(aws, slow, clock, phones=PHONES[3:])
    due = max(due_fast, due_slow)
    clock.set(due)
    queue = MemoryQueue()
    tick(aws, queue, due)
    provider = ThrottledOnce(clock, nth=0)
    sender = build_sender_at(aws, provider, clock)

    results = sender.send_all(take_batch(queue))

    assert {r.outcome for r in results} == {SendOutcome.SENT}
    by_number: dict[str, list[Any]] = {}
    for text, moment in zip(provider.sent, provider.sent_at, strict=True):
        by_number.setdefault(text.origination_identity, []).append(moment)
    gaps = {
        number: min((b - a).total_seconds() for a, b in itertools.pairwise(times))
        for number, times in by_number.items()
    }
    assert gaps[slow.sender_number] >= 1 / 3
    assert gaps[fast.sender_number] >= 1 / 100


def build_sender_at(aws, provider, clock):
    """The production wiring (each number's recorded pace), one provider call at a time so
    that the recorded send times are the slots'."""
    settings = replace(aws.settings, send_concurrency=1)
    return build_sender(settings, clock=clock, sleep=clock.sleep, sms=provider)


def test_a_recipient_with_no_contact_record_yet_is_texted_and_counted(aws, clinic, clock, sms):
    # Given a clinic reminder whose recipient has no contact item (stored before contacts
    # existed, or erased)
    [_appointment], due = book_all(aws, clinic, clock, phones=[PHONES[0]])
    ContactItem(pk=contact_pk(clinic.tenant_id, PHONES[0]), sk=CONTACT_SK).delete(
        add_version_condition=False
    )
    queue = MemoryQueue()
    tick(aws, queue, due)

    [result] = make_sender(aws, sms, clock).send_all(take_batch(queue))

    # Then it is sent, and the caps' send log starts with it
    assert result.outcome is SendOutcome.SENT
    assert len(ContactRepository().get(clinic.tenant_id, PHONES[0]).recent_sends) == 1


def test_a_schedule_that_cannot_be_reserved_gives_the_started_batch_back(
    aws, clinic, clock, sms, monkeypatch
):
    # Given a batch whose texts are started when the number's schedule keeps changing
    appointments, due = book_all(aws, clinic, clock)
    queue = MemoryQueue()
    tick(aws, queue, due)

    def contended(self, parts):
        raise PacingContention("the schedule kept changing")

    monkeypatch.setattr(ThroughputGate, "reserve", contended)
    results = make_sender(aws, sms, clock).send_all(take_batch(queue))

    # Then nothing is sent, every message goes back to the queue, and none is left sending
    assert {(r.outcome, r.reason) for r in results} == {(SendOutcome.RETRY, "pacing_contention")}
    assert sms.attempts == []
    assert {reminders_of(aws, a)[0][1] for a in appointments} == {"queued"}
