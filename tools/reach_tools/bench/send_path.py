"""AWS calls per reminder sent, over the whole send path.

Setup (not measured): one tenant with no quiet hours, N appointments booked through the
appointment service, each with one ``P1D`` reminder, each for a different phone.

Measured: one dispatcher tick (production wiring: ``build_dispatcher`` with its SQS queue)
that finds the N due reminders, claims and queues them; then the sender draining the send
queue the way the SQS event source mapping feeds it: batches of up to 10, one ``batch``
with the invocation's time left (the sender's timeout), one ``send`` per record, successful
records deleted. The receives and deletes are made by the Lambda service, not by our code:
they are counted apart. Each provider ``send()`` of the recording SMS fake counts as one call.

The floor: one provider send per reminder. The issue put it at 2 (one send and one write
each); since the sender starts a batch's messages in a few transactions, every write is shared
by a batch, so only the send is a reminder's own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from reach.adapters.sms_fake import RecordingSmsSender
from reach.clock import Clock
from reach.data.appointments import AppointmentRepository
from reach.data.contacts import ContactRepository
from reach.data.tenants import ApiKeyRepository, TenantRepository
from reach.domain.models import AppointmentKind
from reach.ports.send_queue import QueuedReminder
from reach.ports.sms import OutboundSms, SentSms
from reach.services.appointments import AppointmentService, NewAppointment
from reach.services.sending import Delivery, SendOutcome, SendPath
from reach.services.tenants import TenantAdmin
from reach.wiring import build_dispatcher, build_sender
from reach_tools.bench.harness import (
    ORIGINATION,
    BenchAws,
    CallCounter,
    counting_aws_calls,
    embedded_aws,
    per,
)
from reach_tools.demo_clock import DemoClock

FULL_REMINDERS = 1_000
QUICK_REMINDERS = 100
#: One provider send: every write of the path is shared by a batch (the starts too).
FLOOR = 1
#: The sender function's timeout when the template gives none (it gives 90 s).
_DEFAULT_TIMEOUT = 90
PROVIDER_SEND = "sms:Send (provider)"
#: Messages per sender invocation: the event source mapping's BatchSize for the stack's
#: default peak (template.yaml's sizing table).
SENDER_BATCH = 25
ZONE = "America/New_York"


class CountingSms(RecordingSmsSender):
    """The recording fake; each ``send`` is one provider call in the counter."""

    def __init__(self, counter: CallCounter, clock: Clock) -> None:
        super().__init__(clock=clock)
        self._counter = counter

    def send(self, sms: OutboundSms) -> SentSms:
        self._counter.record("sms", "Send (provider)", None)
        return super().send(sms)


@dataclass(frozen=True)
class SendPathResult:
    kind: str
    #: Messages per sender invocation (1: one at a time, as the path before batching sent).
    batch_size: int
    due: int
    #: Provider sends that were accepted.
    sent: int
    #: Reminders stored as ``sent`` afterwards, and recipients texted more than once.
    stored_sent: int
    duplicates: int
    outcomes: dict[str, int]
    #: Our calls (dispatcher + sender + provider) by ``service:Operation``.
    calls: dict[str, int]
    #: The Lambda service's own calls (SQS event source mapping), by ``service:Operation``.
    lambda_calls: dict[str, int]
    #: Our calls by what they touched (``Operation table[/index] item-kind``).
    targets: dict[str, int]
    dispatcher_read: int
    #: Claims (UpdateItem) the tick made before its first SendMessageBatch: how much work a
    #: dispatcher timeout would strand (claimed, not queued, back only when the lease ends).
    claims_before_first_enqueue: int
    floor: int = FLOOR

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def calls_per_sent(self) -> float:
        return per(self.total_calls, self.sent)

    @property
    def lambda_calls_per_sent(self) -> float:
        return per(sum(self.lambda_calls.values()), self.sent)

    def per_sent(self) -> dict[str, float]:
        return {operation: per(n, self.sent) for operation, n in self.calls.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "batch_size": self.batch_size,
            "due": self.due,
            "sent": self.sent,
            "stored_sent": self.stored_sent,
            "duplicates": self.duplicates,
            "outcomes": self.outcomes,
            "total_calls": self.total_calls,
            "calls_per_sent": self.calls_per_sent,
            "floor": self.floor,
            "ratio_to_floor": self.calls_per_sent / self.floor,
            "calls": self.calls,
            "calls_per_sent_by_operation": self.per_sent(),
            "calls_per_sent_by_target": {
                target: per(n, self.sent) for target, n in self.targets.items()
            },
            "lambda_calls": self.lambda_calls,
            "lambda_calls_per_sent": self.lambda_calls_per_sent,
            "dispatcher_read": self.dispatcher_read,
            "claims_before_first_enqueue": self.claims_before_first_enqueue,
        }


def measure(
    reminders: int = FULL_REMINDERS,
    kind: AppointmentKind | str = "clinic_visit",
    batch_size: int = SENDER_BATCH,
) -> SendPathResult:
    """Book ``reminders`` appointments of ``kind``, then count one tick and the drain, the
    sender taking ``batch_size`` messages an invocation."""
    kind = AppointmentKind(kind)
    start = datetime.now(UTC).replace(microsecond=0)
    clock = DemoClock(start)
    with embedded_aws("bench") as aws, counting_aws_calls() as counter:
        tick_at = _book(aws, clock, reminders, kind)
        sms = CountingSms(counter, clock)
        sender = _sender(aws, sms, clock)
        clock.set(tick_at)
        with counter.measuring("reach"):
            report = build_dispatcher(aws.settings).tick(tick_at)
        tick_calls = [operation for _, operation in counter.sequence]
        outcomes = _drain(aws, sender, counter, batch_size)
        destinations = Counter(text.destination for text in sms.sent)
        return SendPathResult(
            kind=kind.value,
            batch_size=batch_size,
            due=reminders,
            sent=len(sms.sent),
            stored_sent=_stored_sent(aws),
            duplicates=sum(n - 1 for n in destinations.values() if n > 1),
            outcomes={outcome.value: n for outcome, n in sorted(outcomes.items())},
            calls=counter.by_operation("reach"),
            lambda_calls=counter.by_operation("lambda"),
            targets=counter.by_target("reach"),
            dispatcher_read=report.read,
            claims_before_first_enqueue=_claims_before_first_enqueue(tick_calls),
        )


def _claims_before_first_enqueue(tick_calls: list[str]) -> int:
    first = (
        tick_calls.index("sqs:SendMessageBatch")
        if "sqs:SendMessageBatch" in tick_calls
        else len(tick_calls)
    )
    return tick_calls[:first].count("dynamodb:UpdateItem")


def _book(aws: BenchAws, clock: DemoClock, count: int, kind: AppointmentKind) -> datetime:
    """One tenant, ``count`` appointments a second apart; returns when all are due."""
    tenants = TenantRepository()
    admin = TenantAdmin(tenants, ApiKeyRepository(), clock)
    # No quiet hours: timing must not interfere with counting. The admin service refuses an
    # empty window, so the tenant is stored with one afterwards, as an older tenant could be.
    tenant, _ = admin.create_tenant("Bench Clinic", ZONE, ORIGINATION, "21:00-08:00", ("P1D",))
    tenant = replace(tenant, quiet_hours="00:00-00:00")
    tenants.save_profile(tenant)
    service = AppointmentService(
        AppointmentRepository(aws.settings.due_shards), tenants, ContactRepository(), clock
    )
    first = (clock() + timedelta(days=2)).replace(hour=15, minute=0, second=0)
    due: list[datetime] = []
    for n in range(count):
        appointment, _ = service.create(
            tenant.tenant_id,
            NewAppointment(
                # Not in the tenant's own 202 block: its sending number is refused as a
                # recipient, and a full run books past +12025550143.
                phone=f"+1212555{n % 10_000:04d}",
                starts_at=first + timedelta(seconds=n),
                timezone=ZONE,
                first_name="Ana",
                kind=kind,
                reminders=["P1D"],
            ),
        )
        [reminder] = appointment.reminders
        assert reminder.send_at is not None
        due.append(reminder.send_at)
    return max(due) + timedelta(seconds=1)


def _sender(aws: BenchAws, sms: RecordingSmsSender, clock: DemoClock) -> SendPath:
    """What the sender function runs (``reach.wiring.build_sender``), with the recording SMS
    fake and our clock."""
    return build_sender(aws.settings, clock=clock, sleep=clock.sleep, sms=sms)


def _timeout(aws: BenchAws) -> timedelta:
    properties = aws.template["Resources"]["SenderFunction"].get("Properties", {})
    seconds = properties.get("Timeout") or aws.template.get("Globals", {}).get("Function", {}).get(
        "Timeout", _DEFAULT_TIMEOUT
    )
    return timedelta(seconds=int(seconds))


def _drain(
    aws: BenchAws, sender: SendPath, counter: CallCounter, batch_size: int
) -> Counter[SendOutcome]:
    """The event source mapping's loop: gather up to ``batch_size`` messages (SQS hands out
    at most 10 a receive), invoke once with the batch, delete what succeeded.

    A RETRY stays in the queue; moto keeps it invisible for the visibility timeout by the
    wall clock, so it is made visible again at once (a Lambda-side call, counted as such).
    """
    outcomes: Counter[SendOutcome] = Counter()
    timeout = _timeout(aws)
    while messages := _gather(aws, counter, batch_size):
        with counter.measuring("reach"):
            deliveries = [
                Delivery(
                    QueuedReminder.model_validate_json(message["Body"]),
                    int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
                )
                for message in messages
            ]
            results = sender.send_all(deliveries, timeout)
        done: list[str] = []
        again: list[str] = []
        for message, result in zip(messages, results, strict=True):
            outcomes[result.outcome] += 1
            handle = message["ReceiptHandle"]
            (again if result.outcome is SendOutcome.RETRY else done).append(handle)
        with counter.measuring("lambda"):
            for start in range(0, len(done), 10):
                aws.sqs.delete_message_batch(
                    QueueUrl=aws.send_queue_url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": h}
                        for n, h in enumerate(done[start : start + 10])
                    ],
                )
            for start in range(0, len(again), 10):
                aws.sqs.change_message_visibility_batch(
                    QueueUrl=aws.send_queue_url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": h, "VisibilityTimeout": 0}
                        for n, h in enumerate(again[start : start + 10])
                    ],
                )
    return outcomes


def _gather(aws: BenchAws, counter: CallCounter, batch_size: int) -> list[Any]:
    messages: list[Any] = []
    with counter.measuring("lambda"):
        while len(messages) < batch_size:
            received = aws.sqs.receive_message(
                QueueUrl=aws.send_queue_url,
                MaxNumberOfMessages=min(10, batch_size - len(messages)),
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not received:
                break
            messages += received
    return messages


def _stored_sent(aws: BenchAws) -> int:
    """Reminders whose stored status is ``sent`` (a paginated Scan; setup, not measured)."""
    paginator = aws.dynamodb.get_paginator("scan")
    sent = 0
    for page in paginator.paginate(
        TableName=aws.settings.appointments_table,
        FilterExpression="#type = :reminder AND #status = :sent",
        ExpressionAttributeNames={"#type": "type", "#status": "status"},
        ExpressionAttributeValues={":reminder": {"S": "reminder"}, ":sent": {"S": "sent"}},
        Select="COUNT",
    ):
        sent += page["Count"]
    return sent


def report(results: list[SendPathResult]) -> str:
    if not results:
        return ""
    lines = [
        f"AWS calls per reminder sent (one tick + sender drain; floor = {FLOOR}: "
        "one provider send; the writes are shared by batches)"
    ]
    operations = sorted({op for result in results for op in result.calls})
    rows: list[tuple[str, list[str]]] = [
        ("due reminders", [f"{r.due:>16}" for r in results]),
        ("sent (provider accepted)", [f"{r.sent:>16}" for r in results]),
        ("stored as sent", [f"{r.stored_sent:>16}" for r in results]),
        ("recipients texted twice+", [f"{r.duplicates:>16}" for r in results]),
        (
            "tick: claims before its first enqueue",
            [f"{r.claims_before_first_enqueue:>16}" for r in results],
        ),
        ("our calls, total", [f"{r.total_calls:>16}" for r in results]),
        ("our calls per sent", [f"{r.calls_per_sent:>16.3f}" for r in results]),
        ("  x floor", [f"{r.calls_per_sent / r.floor:>16.2f}" for r in results]),
    ]
    rows += [
        (f"  {op}", [f"{r.per_sent().get(op, 0.0):>16.3f}" for r in results]) for op in operations
    ]
    lambda_ops = sorted({op for r in results for op in r.lambda_calls})
    rows.append(
        ("Lambda ESM calls per sent", [f"{r.lambda_calls_per_sent:>16.3f}" for r in results])
    )
    rows += [
        (f"  {op}", [f"{per(r.lambda_calls.get(op, 0), r.sent):>16.3f}" for r in results])
        for op in lambda_ops
    ]
    targets = sorted({target for r in results for target in r.targets})
    rows.append(("our calls per sent, by target", ["" for _ in results]))
    rows += [
        (
            f"  {_short(target)}",
            [f"{per(r.targets.get(target, 0), r.sent):>16.3f}" for r in results],
        )
        for target in targets
    ]
    width = max(len(label) for label, _ in rows) + 2
    lines.append(f"  {'':<{width}}" + "".join(f"{r.kind:>16}" for r in results))
    lines += [f"  {label:<{width}}" + "".join(cells) for label, cells in rows]
    return "\n".join(lines)


def _short(target: str) -> str:
    """Table names without the benchmark's prefix: ``GetItem tenants contact``."""
    return target.replace("bench-", "")
