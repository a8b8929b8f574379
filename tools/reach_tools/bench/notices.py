"""AWS calls per field-service notice, end to end: the API request, the sender, the record.

Setup (not measured): one tenant with no quiet hours and N service visits, each for its own
phone. Measured, per notice: the API function's work for ``POST /appointments/{id}/notices``
(``NoticeService.ask``, as the route calls it: its read and the claimed notice's write, which
is also the hand-off), then the sender taking the new notices off the appointments table's
stream in invocations of the notice mapping's ``BatchSize`` (its batch read, tenant and pacing
reads, start transactions, provider sends, the record and ``NoticeSent``; a notice it hands
back goes onto the send queue, counted as the sender's, and is drained from there). The
authorizer (cached per key) and the Lambda service's own stream reads and queue receives and
deletes are outside the count; the queue's are listed apart. Each provider ``send()`` counts
as one call, as in the ``calls`` benchmark.

Both ways of asking are measured: waiting for the API's checks (the default), and
``Prefer: respond-async``, where the API writes the notice without reading the visit and the
sender makes the other checks.

The goal is at most ``GOAL`` calls a notice.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from reach.adapters.send_queue_sqs import build_send_queue
from reach.domain.models import AppointmentKind
from reach.domain.notices import NoticeType
from reach.ports.send_queue import QueuedReminder
from reach.services.appointments import NewAppointment
from reach.services.notices import NoticeRequest
from reach.services.sending import Delivery, SendOutcome, SendResult
from reach.services.sending.notice import queued_from_stream
from reach.wiring import build_sender, build_services
from reach_tools.bench.harness import REGION, counting_aws_calls, embedded_aws, per
from reach_tools.bench.send_path import SENDER_BATCH, CountingSms, _drain
from reach_tools.demo_clock import DemoClock
from reach_tools.local.functions import ACCOUNT_ID
from reach_tools.local.streams import StreamFeed, stream_mapping

FULL_NOTICES = 200
QUICK_NOTICES = 25
#: The issue's goal, calls per notice (the authorizer apart).
GOAL = 2.5
#: The least a notice asked for alone can cost, whatever the design, while the API answers
#: issue 12's refusals at once (an opted-out recipient, quiet hours, a closed visit: 409s that
#: need the visit's phone and zone, which only a read gives). A request is its own invocation,
#: so none of these is shared with another notice:
#: 1. one read (the visit, the tenant, the repeat marks): what to say and to whom, and the
#:    refusals and repeats the API answers at once;
#: 2. one write before the provider call (the notice, on the consent and open-visit
#:    conditions): without it a client's retry after a crash texts twice, as neither provider
#:    takes an idempotency token. It is also the hand-off: the table's stream brings it to the
#:    sender, where the Lambda service, not Reach, reads it;
#: 3. the provider send.
#: The sender's record, events and pacing are shared by its batch, so they add a fraction.
FLOOR = 3
#: Asked with ``Prefer: respond-async``: the write (the hand-off) and the send; the sender
#: reads the visit with its batch.
FLOOR_RESPOND_ASYNC = 2
ZONE = "America/Chicago"
NUMBER = "+13125550100"


@dataclass(frozen=True)
class Mode:
    """One way of asking, measured: ``waited`` for the API's checks or not."""

    waited: bool
    notices: int
    sent: int
    duplicates: int
    outcomes: dict[str, int]
    api: dict[str, int]
    sender: dict[str, int]
    lambda_calls: dict[str, int]

    @property
    def per_notice(self) -> float:
        return per(sum(self.api.values()) + sum(self.sender.values()), self.notices)

    @property
    def without_provider(self) -> float:
        provider = self.sender.get("sms:Send (provider)", 0)
        return per(sum(self.api.values()) + sum(self.sender.values()) - provider, self.notices)

    @property
    def floor(self) -> int:
        return FLOOR if self.waited else FLOOR_RESPOND_ASYNC

    def to_json(self) -> dict[str, Any]:
        return {
            "notices": self.notices,
            "sent": self.sent,
            "duplicates": self.duplicates,
            "outcomes": self.outcomes,
            "calls_per_notice": round(self.per_notice, 3),
            "calls_per_notice_without_the_provider_send": round(self.without_provider, 3),
            "goal": GOAL,
            "floor": self.floor,
            "api_calls_per_notice": {
                k: round(per(n, self.notices), 3) for k, n in self.api.items()
            },
            "sender_calls_per_notice": {
                k: round(per(n, self.notices), 3) for k, n in self.sender.items()
            },
            "lambda_calls_per_notice": {
                k: round(per(n, self.notices), 3) for k, n in self.lambda_calls.items()
            },
        }


@dataclass(frozen=True)
class NoticesResult:
    waited: Mode
    respond_async: Mode

    def to_json(self) -> dict[str, Any]:
        return {"waited": self.waited.to_json(), "respond_async": self.respond_async.to_json()}


def measure(notices: int = FULL_NOTICES) -> NoticesResult:
    return NoticesResult(_measure(notices, wait=True), _measure(notices, wait=False))


def _measure(notices: int, *, wait: bool) -> Mode:
    logging.getLogger("reach-sms").setLevel(logging.WARNING)
    with embedded_aws("bench-notices") as aws, counting_aws_calls() as counter:
        clock = DemoClock(datetime.now(UTC).replace(microsecond=0))
        queue = build_send_queue(aws.send_queue_url, REGION)
        services = build_services(aws.settings, clock=clock)
        services.appointments._clock = clock  # bookings on the benchmark's clock
        visits = _book(services, clock, notices)
        feed = StreamFeed(
            stream_mapping(aws.template, "SenderFunction"),
            aws.settings.appointments_table,
            account=ACCOUNT_ID,
            region=REGION,
        )
        with counter.measuring("reach"):
            sms = CountingSms(counter, clock)
            sender = build_sender(aws.settings, clock=clock, sleep=clock.sleep, sms=sms)
        for tenant_id, appointment_id in visits:
            with counter.measuring("api"):
                services.notices.ask(
                    tenant_id,
                    appointment_id,
                    NoticeRequest(type=NoticeType.ON_THE_WAY, eta_minutes=25),
                    wait=wait,
                )
        outcomes: Counter[SendOutcome] = Counter()
        while batch := feed.take():
            with counter.measuring("reach"):
                deliveries = [Delivery(_queued(record)) for record, _ in batch]
                results = sender.send_all(deliveries, None)
                again = [d.queued for d, r in zip(deliveries, results, strict=True) if _retry(r)]
                if again:  # what the handler does with them: onto the send queue
                    queue.enqueue(again)
            outcomes.update(r.outcome for r in results if not _retry(r))
        outcomes += _drain(aws, sender, counter, SENDER_BATCH)
        destinations = Counter(text.destination for text in sms.sent)
        return Mode(
            waited=wait,
            notices=notices,
            sent=len(sms.sent),
            duplicates=sum(n - 1 for n in destinations.values() if n > 1),
            outcomes={outcome.value: n for outcome, n in sorted(outcomes.items())},
            api=counter.by_operation("api"),
            sender=counter.by_operation("reach"),
            lambda_calls=counter.by_operation("lambda"),
        )


def _queued(record: dict[str, Any]) -> QueuedReminder:
    queued = queued_from_stream(record)
    if queued is None:
        raise AssertionError(f"the notice mapping passed a record with no notice: {record}")
    return queued


def _retry(result: SendResult) -> bool:
    return result.outcome is SendOutcome.RETRY


def _book(services: Any, clock: DemoClock, count: int) -> list[tuple[str, str]]:
    tenant, _ = services.admin.create_tenant(
        "Bench Cable", ZONE, NUMBER, "21:00-08:00", ("P1D@18:00",)
    )
    # No quiet hours: the hour the benchmark runs at must not change what it counts.
    services.tenants.save_profile(replace(tenant, quiet_hours="00:00-00:00"))
    starts = clock() + timedelta(hours=2)
    visits = []
    for n in range(count):
        appointment, _ = services.appointments.create(
            tenant.tenant_id,
            NewAppointment(
                phone=f"+1212555{n % 10_000:04d}",
                starts_at=starts,
                timezone=ZONE,
                kind=AppointmentKind.SERVICE_VISIT,
                window_ends_at=starts + timedelta(hours=4),
                technician_name="Luis",
                reminders=[],
            ),
        )
        visits.append((tenant.tenant_id, appointment.appointment_id))
    return visits


def report(result: NoticesResult) -> str:
    return "\n\n".join([_report(result.waited), _report(result.respond_async)])


def _report(result: Mode) -> str:
    sent_ok = result.outcomes.get(SendOutcome.SENT.value, 0)
    how = (
        "waiting for the API's checks; floor 3 while the API refuses at once what it must: "
        "read, write (the hand-off too), send"
        if result.waited
        else "Prefer: respond-async; floor 2: write (the hand-off too), send"
    )
    lines = [
        f"AWS calls per field-service notice, end to end ({result.notices} notices, {how}; "
        f"API request + sender + record; goal {GOAL})",
        f"  sent {result.sent} (recorded sent {sent_ok}), recipients texted twice+ "
        f"{result.duplicates}",
        f"  calls per notice                     {result.per_notice:6.3f}"
        f"  ({'within' if result.per_notice <= GOAL else 'over'} the goal of {GOAL})",
        f"  without the provider send            {result.without_provider:6.3f}",
        "  API request, per notice:",
    ]
    lines += [f"    {op:<34} {per(n, result.notices):6.3f}" for op, n in sorted(result.api.items())]
    lines.append("  sender, per notice:")
    lines += [
        f"    {op:<34} {per(n, result.notices):6.3f}" for op, n in sorted(result.sender.items())
    ]
    lines.append("  Lambda ESM (not ours), per notice:")
    lines += [
        f"    {op:<34} {per(n, result.notices):6.3f}"
        for op, n in sorted(result.lambda_calls.items())
    ]
    return "\n".join(lines)
