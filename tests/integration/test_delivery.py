"""Dispatcher and sender together under moto: every reminder reaches the right person once,
at an allowed local time, or ends with a recorded reason."""

from __future__ import annotations

import itertools
from datetime import timedelta

import boto3
import pytest

from builders import NEW_YORK, book, local_day, reminders_of
from reach.data.appointments import AppointmentRepository
from reach.data.contacts import ContactRepository
from reach.data.reminders import ReminderLifecycle
from reach.data.tenants import TenantRepository
from reach.domain.models import AppointmentKind
from reach.ports.sms import SmsRejected, SmsThrottled
from reach.services.appointments import AppointmentChanges
from reach.services.sending import (
    MAX_RECEIVES,
    ReminderKind,
    SendOutcome,
    SendPath,
    Stale,
)
from stand_ins import FixedPace, MemoryQueue, claim_when_due, drain, make_sender, tick


def test_a_due_reminder_is_sent_once_in_local_time_and_recorded(aws, clinic, clock, sms):
    # Given a 14:00 visit in three days and its P1D reminder
    appointment = book(aws, clinic)

    # When the dispatcher ticks when it is due and the sender drains the queue
    queue = claim_when_due(aws, clock, appointment)
    outcomes = drain(queue, make_sender(aws, sms, clock))

    # Then exactly one text went to the patient, in New York time, with no health details
    assert outcomes == [SendOutcome.SENT]
    [text] = sms.sent
    assert text.destination == "+12025550187"
    assert text.origination_identity == "+12025550143"
    assert "Ana" in text.body
    assert "2:00 PM" in text.body
    assert "Riverside Family Clinic" in text.body
    assert text.expires_at == appointment.starts_at
    # And the reminder, the conversation and the provider-id lookup all say so
    assert reminders_of(aws, appointment) == [("1.1", "sent", None)]
    items = boto3.client("dynamodb").scan(TableName=aws.settings.appointments_table)["Items"]
    [message] = [i for i in items if i["type"]["S"] == "message"]
    assert message["status"]["S"] == "sent"
    assert message["provider_message_id"]["S"] == sms.receipts[0].provider_message_id
    assert message["parts"]["N"] == "1"
    lookups = [i for i in items if i["type"]["S"] == "provider_message"]
    assert [i["pk"]["S"] for i in lookups] == [f"providermsg#{sms.receipts[0].provider_message_id}"]


def test_a_redelivered_queue_message_sends_nothing_twice(aws, clinic, clock, sms):
    appointment = book(aws, clinic)
    queue = claim_when_due(aws, clock, appointment)
    [(message, _)] = list(queue.pending)
    sender = make_sender(aws, sms, clock)

    first = sender.send(message, receive_count=1)
    again = sender.send(message, receive_count=2)

    assert (first.outcome, again.outcome) == (SendOutcome.SENT, SendOutcome.DUPLICATE)
    assert len(sms.sent) == 1


def test_a_reschedule_between_claim_and_send_sends_nothing_stale(aws, clinic, clock, sms):
    appointment = book(aws, clinic)
    queue = claim_when_due(aws, clock, appointment)

    # The clinic moves the visit while the reminder waits in the queue
    aws.appointments.change(
        clinic.tenant_id,
        appointment.appointment_id,
        AppointmentChanges(starts_at=local_day(5, 10)),
    )
    outcomes = drain(queue, make_sender(aws, sms, clock))

    assert outcomes == [SendOutcome.SKIPPED]
    assert sms.sent == []
    statuses = reminders_of(aws, appointment)
    assert ("1.1", "skipped", "rescheduled") in statuses
    assert [s for s in statuses if s[0].startswith("2.")] == [("2.1", "pending", None)]


def test_a_cancellation_between_claim_and_send_sends_nothing(aws, clinic, clock, sms):
    appointment = book(aws, clinic)
    queue = claim_when_due(aws, clock, appointment)

    aws.appointments.cancel(clinic.tenant_id, appointment.appointment_id)
    outcomes = drain(queue, make_sender(aws, sms, clock))

    assert outcomes == [SendOutcome.SKIPPED]
    assert sms.sent == []
    assert reminders_of(aws, appointment) == [("1.1", "skipped", "appointment_cancelled")]


def test_a_reminder_due_in_quiet_hours_is_held_until_morning_then_sent(aws, clinic, clock, sms):
    # Given a reminder planned at 20:00 whose send slipped to 21:30 (a backlog, say)
    appointment = book(aws, clinic, hour=20)
    due = appointment.reminders[0].send_at
    late = due + timedelta(minutes=90)
    queue = MemoryQueue()
    clock.set(late)
    tick(aws, queue, late)

    # When the sender gets it at 21:30 local
    outcomes = drain(queue, make_sender(aws, sms, clock))

    # Then nothing is sent; it waits for 08:00 and goes out at the first tick after that
    assert outcomes == [SendOutcome.HELD]
    assert sms.sent == []
    morning = (late.astimezone(NEW_YORK) + timedelta(days=1)).replace(hour=8, minute=0)
    assert tick(aws, queue, morning - timedelta(minutes=1)).claimed == 0
    clock.set(morning)
    assert tick(aws, queue, morning).claimed == 1
    assert drain(queue, make_sender(aws, sms, clock)) == [SendOutcome.SENT]
    assert sms.sent[0].destination == appointment.phone


def test_an_opted_out_recipient_gets_nothing(aws, clinic, clock, sms):
    appointment = book(aws, clinic)
    ContactRepository().mark_opted_out(clinic.tenant_id, appointment.phone, "keyword", clock())
    queue = claim_when_due(aws, clock, appointment)

    assert drain(queue, make_sender(aws, sms, clock)) == [SendOutcome.SKIPPED]
    assert sms.attempts == []
    assert reminders_of(aws, appointment) == [("1.1", "skipped", "opted_out")]


def test_a_provider_opt_out_marks_the_contact_so_no_later_reminder_is_tried(
    aws, clinic, clock, sms
):
    first = book(aws, clinic, days=3)
    second = book(aws, clinic, days=6)
    sms.opt_out(first.phone)
    queue = MemoryQueue()
    for appointment in (first, second):
        claim_when_due(aws, clock, appointment, queue)
        drain(queue, make_sender(aws, sms, clock))

    assert len(sms.attempts) == 1
    assert reminders_of(aws, first) == [("1.1", "skipped", "opted_out")]
    assert reminders_of(aws, second) == [("1.1", "skipped", "opted_out")]
    assert ContactRepository().get(clinic.tenant_id, first.phone).opted_out


def test_throttling_retries_through_the_queue_and_the_last_try_records_failure(
    aws, clinic, clock, sms
):
    recovers = book(aws, clinic, phone="+12025550189", days=3)
    kept_failing = book(aws, clinic, phone="+12025550188", days=4)
    sender = make_sender(aws, sms, clock)

    # Throttled once, then fine: sent on the second delivery
    queue = MemoryQueue()
    sms.fail_next(SmsThrottled("throttled"))
    claim_when_due(aws, clock, recovers, queue)
    assert drain(queue, sender) == [SendOutcome.RETRY, SendOutcome.SENT]

    # Throttled on every delivery: failed, with the reason, on the last one
    sms.fail_next(*[SmsThrottled("throttled") for _ in range(MAX_RECEIVES)])
    claim_when_due(aws, clock, kept_failing, queue)
    outcomes = drain(queue, sender)
    assert outcomes == [SendOutcome.RETRY] * (MAX_RECEIVES - 1) + [SendOutcome.FAILED]
    assert reminders_of(aws, kept_failing) == [("1.1", "failed", "throttled")]
    assert [s.destination for s in sms.sent] == [recovers.phone]


def test_a_permanent_rejection_fails_with_its_reason_and_frees_the_daily_slot(
    aws, clinic, clock, sms
):
    appointment = book(aws, clinic)
    sms.fail_next(SmsRejected("invalid_request"))
    queue = claim_when_due(aws, clock, appointment)

    assert drain(queue, make_sender(aws, sms, clock)) == [SendOutcome.FAILED]
    assert reminders_of(aws, appointment) == [("1.1", "failed", "invalid_request")]
    assert ContactRepository().get(clinic.tenant_id, appointment.phone).recent_sends == ()


def test_a_second_clinic_reminder_on_one_local_day_waits_for_the_next_day(aws, clinic, clock, sms):
    # Given two clinic visits for one patient whose reminders fall on the same local day
    early = book(aws, clinic, days=3, hour=10)  # P1D: 10:00 on day 2
    late = book(aws, clinic, days=3, hour=14, offsets=("PT27H",))  # 11:00 on day 2
    queue = MemoryQueue()
    sender = make_sender(aws, sms, clock)
    outcomes = []
    for appointment in (early, late):
        claim_when_due(aws, clock, appointment, queue)
        outcomes += drain(queue, sender)

    # Then one is sent and the other is held for the next local day, not dropped
    assert sorted(outcomes) == sorted([SendOutcome.SENT, SendOutcome.HELD])
    assert len(sms.sent) == 1
    statuses = {a.appointment_id: reminders_of(aws, a)[0][1:] for a in (early, late)}
    assert sorted(statuses.values()) == [("pending", "held_daily_cap"), ("sent", None)]


def test_service_visits_are_not_capped(aws, clinic, clock, sms):
    visits = [
        book(aws, clinic, days=3, hour=10, kind=AppointmentKind.SERVICE_VISIT),
        book(aws, clinic, days=3, hour=16, kind=AppointmentKind.SERVICE_VISIT),
    ]
    queue = MemoryQueue()
    outcomes = []
    for visit in visits:
        claim_when_due(aws, clock, visit, queue)
        outcomes += drain(queue, make_sender(aws, sms, clock))
    assert outcomes == [SendOutcome.SENT, SendOutcome.SENT]


def test_sends_are_paced_to_the_origination_throughput(aws, clinic, clock, sms):
    # Given 12 reminders due at once and a 10DLC number (1 message part per second)
    appointments = [book(aws, clinic, phone=f"+1202555{n:04d}") for n in range(200, 212)]
    due = max(a.reminders[0].send_at for a in appointments)
    queue = MemoryQueue()
    clock.set(due)
    tick(aws, queue, due)
    sender = make_sender(aws, sms, clock, mps=1)

    drain(queue, sender.batch(len(queue.pending)))

    # Then they left one per second, never faster
    times = sms.sent_times
    assert len(times) == 12
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1.0 - 1e-6
    assert (times[-1] - times[0]).total_seconds() == pytest.approx(11, abs=0.5)


def test_the_tenants_own_wording_is_used_in_the_recipients_language(aws, clinic, clock, sms):
    aws.admin.set_template(
        clinic.tenant_id,
        "clinic_visit",
        "es",
        "Hola {first_name}: {org_name}, {date} {time}. {reply_options}",
    )
    spanish = book(aws, clinic, phone="+12025550190", language="es")
    english = book(aws, clinic, phone="+12025550191", days=4)
    queue = MemoryQueue()
    for appointment in (spanish, english):
        claim_when_due(aws, clock, appointment, queue)
        drain(queue, make_sender(aws, sms, clock))

    texts = {s.destination: s.body for s in sms.sent}
    assert texts[spanish.phone].startswith("Hola Ana: Riverside Family Clinic, ")
    assert "STOP" in texts[spanish.phone]
    assert texts[english.phone].startswith("Hi Ana, Riverside Family Clinic visit")


def test_an_opted_out_recipient_of_a_service_visit_gets_nothing_either(aws, clinic, clock, sms):
    visit = book(aws, clinic, kind=AppointmentKind.SERVICE_VISIT)
    ContactRepository().mark_opted_out(clinic.tenant_id, visit.phone, "keyword", clock())
    queue = claim_when_due(aws, clock, visit)

    assert drain(queue, make_sender(aws, sms, clock)) == [SendOutcome.SKIPPED]
    assert sms.attempts == []
    assert reminders_of(aws, visit) == [("1.1", "skipped", "opted_out")]


def test_a_detail_change_keeps_the_pending_reminders_valid(aws, clinic, clock, sms):
    # Given a booked visit whose first name the clinic corrects before the reminder is due
    appointment = book(aws, clinic)
    changed = aws.appointments.change(
        clinic.tenant_id, appointment.appointment_id, AppointmentChanges(first_name="Anna")
    )
    assert changed.version == appointment.version + 1

    # When the reminder falls due and the sender drains the queue
    queue = claim_when_due(aws, clock, changed)
    outcomes = drain(queue, make_sender(aws, sms, clock))

    # Then the same plan is sent, with the corrected name: only a new plan retires reminders
    assert outcomes == [SendOutcome.SENT]
    assert "Anna" in sms.sent[0].body
    assert reminders_of(aws, appointment) == [("1.1", "sent", None)]


def test_a_failed_delivery_tells_the_clinic_once_without_the_text(aws, clinic, clock, sms):
    from reach.adapters.events_fake import RecordingPublisher
    from reach.ports.events import EventType

    appointment = book(aws, clinic)
    queue = claim_when_due(aws, clock, appointment)
    [(message, _)] = list(queue.pending)
    events = RecordingPublisher()
    sender = make_sender(aws, sms, clock, events=events)
    sms.fail_next(SmsRejected("invalid_number", "not a mobile"))

    failed = sender.send(message, receive_count=1)
    again = sender.send(message, receive_count=2)

    assert (failed.outcome, again.outcome) == (SendOutcome.FAILED, SendOutcome.DUPLICATE)
    [event] = events.of_type(EventType.DELIVERY_FAILED)
    assert event.ids["appointment_id"] == appointment.appointment_id
    assert event.ids["reminder_id"] == "1.1"
    assert event.data == {"reason": "invalid_number"}
    assert "Ana" not in str(event.detail())


def test_a_bus_that_fails_does_not_undo_the_recorded_failure(aws, clinic, clock, sms):
    from reach.adapters.events_fake import RecordingPublisher

    appointment = book(aws, clinic)
    queue = claim_when_due(aws, clock, appointment)
    [(message, _)] = list(queue.pending)
    sender = make_sender(aws, sms, clock, events=RecordingPublisher(fail_times=1))
    sms.fail_next(SmsRejected("invalid_number"))

    assert sender.send(message).outcome is SendOutcome.FAILED
    assert reminders_of(aws, appointment) == [("1.1", "failed", "invalid_number")]


class CampaignStandIn:
    """Another outbound kind, as a test sees one: the reminder's loading with a re-check and
    a wording of its own. The send queue carries reminders only, so it stands in for them."""

    name = "reminder"

    def __init__(self, aws, *, running: bool) -> None:
        self._reminder = ReminderKind(AppointmentRepository(aws.settings.due_shards))
        self.running = running

    def wants(self, queued):
        return self._reminder.wants(queued)

    def load(self, queued, found, now):
        if not self.running:
            return Stale("campaign_finished")
        return self._reminder.load(queued, found, now)

    def unchanged(self, outgoing):
        return self._reminder.unchanged(outgoing)

    def render(self, outgoing, tenant, templates):
        return f"{tenant.name}: our spring hours have changed. Reply STOP to opt out."

    def failure_event(self, outgoing, reason, occurred_at, message_id):
        return self._reminder.failure_event(outgoing, reason, occurred_at, message_id)


def test_a_kind_supplies_its_wording_and_the_path_sends_and_records_it(aws, clinic, clock, sms):
    appointment = book(aws, clinic)
    queue = claim_when_due(aws, clock, appointment)
    sender = make_sender(aws, sms, clock, kinds=[CampaignStandIn(aws, running=True)])

    assert drain(queue, sender) == [SendOutcome.SENT]
    [text] = sms.sent
    assert text.body.startswith("Riverside Family Clinic: our spring hours")
    assert reminders_of(aws, appointment) == [("1.1", "sent", None)]


def test_a_kinds_own_re_check_skips_the_message_with_its_reason(aws, clinic, clock, sms):
    appointment = book(aws, clinic)
    queue = claim_when_due(aws, clock, appointment)
    sender = make_sender(aws, sms, clock, kinds=[CampaignStandIn(aws, running=False)])

    assert drain(queue, sender) == [SendOutcome.SKIPPED]
    assert sms.attempts == []
    assert reminders_of(aws, appointment) == [("1.1", "skipped", "campaign_finished")]


def test_consent_is_the_paths_whatever_the_kind_says(aws, clinic, clock, sms):
    appointment = book(aws, clinic, kind=AppointmentKind.SERVICE_VISIT)
    ContactRepository().mark_opted_out(clinic.tenant_id, appointment.phone, "keyword", clock())
    queue = claim_when_due(aws, clock, appointment)
    sender = make_sender(aws, sms, clock, kinds=[CampaignStandIn(aws, running=True)])

    assert drain(queue, sender) == [SendOutcome.SKIPPED]
    assert sms.attempts == []
    assert reminders_of(aws, appointment) == [("1.1", "skipped", "opted_out")]


def test_a_batch_reads_each_tenant_once_and_a_new_batch_reads_it_again(aws, clinic, clock, sms):
    appointments = [book(aws, clinic, phone=f"+1202555{n:04d}") for n in range(300, 303)]
    due = max(a.reminders[0].send_at for a in appointments)
    queue = MemoryQueue()
    clock.set(due)
    tick(aws, queue, due)
    reads: list[str] = []
    tenants = TenantRepository()
    real_read = tenants.get_with_templates

    def counted(tenant_id):
        reads.append(tenant_id)
        return real_read(tenant_id)

    tenants.get_with_templates = counted
    sender = SendPath(
        reminders=ReminderLifecycle(),
        tenants=tenants,
        contacts=ContactRepository(),
        sms=sms,
        gates=FixedPace(100, clock),
        clock=clock,
        kinds=[ReminderKind(AppointmentRepository(aws.settings.due_shards))],
        configuration_set=None,
    )

    assert drain(queue, sender.batch(len(queue.pending))) == [SendOutcome.SENT] * 3
    assert reads == [clinic.tenant_id]
