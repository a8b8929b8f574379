"""AWS calls per field-service notice, end to end: the API request, the sender, the record.

Setup (not measured): one tenant with no quiet hours and N service visits, each for its own
phone. Measured, per notice: the API function's work for ``POST /appointments/{id}/notices``
(``NoticeService.ask``, as the route calls it: its reads, the claimed notice's write and the
send queue), then the sender draining the send queue in invocations of ``SENDER_BATCH``
messages (its batch read, tenant and pacing reads, start transactions, provider sends, the
record and ``NoticeSent``). The authorizer (cached per key) and the Lambda service's own
receives and deletes are outside the count; the latter are listed apart. Each provider
``send()`` counts as one call, as in the ``calls`` benchmark.

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
from reach.services.appointments import NewAppointment
from reach.services.notices import NoticeRequest
from reach.services.sending import SendOutcome
from reach.wiring import build_sender, build_services
from reach_tools.bench.harness import REGION, counting_aws_calls, embedded_aws, per
from reach_tools.bench.send_path import SENDER_BATCH, CountingSms, _drain
from reach_tools.demo_clock import DemoClock

FULL_NOTICES = 200
QUICK_NOTICES = 25
#: The issue's goal, calls per notice (the authorizer apart).
GOAL = 2.5
#: The least a notice asked for alone can cost, whatever the design, without giving up a
#: guarantee. A request is its own invocation, so none of these is shared with another notice:
#: 1. one read (the visit, the tenant, the repeat marks): what to say and to whom, and the
#:    refusals (closed, quiet hours) and repeats the API answers at once;
#: 2. one write before the provider call (the notice, on the consent and open-visit
#:    conditions): without it a client's retry after a crash texts twice, as neither provider
#:    takes an idempotency token;
#: 3. the provider send;
#: 4. one hand-off to the sender (the enqueue; the sender's reads and record are then shared
#:    by its batch) or, sent from the API invocation itself, the record of the outcome (sent
#:    with its provider-id lookup, which receipts need), which no other notice shares.
FLOOR = 4
ZONE = "America/Chicago"
NUMBER = "+13125550100"


@dataclass(frozen=True)
class NoticesResult:
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

    def to_json(self) -> dict[str, Any]:
        return {
            "notices": self.notices,
            "sent": self.sent,
            "duplicates": self.duplicates,
            "outcomes": self.outcomes,
            "calls_per_notice": round(self.per_notice, 3),
            "calls_per_notice_without_the_provider_send": round(self.without_provider, 3),
            "goal": GOAL,
            "floor": FLOOR,
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


def measure(notices: int = FULL_NOTICES) -> NoticesResult:
    logging.getLogger("reach-sms").setLevel(logging.WARNING)
    with embedded_aws("bench-notices") as aws, counting_aws_calls() as counter:
        clock = DemoClock(datetime.now(UTC).replace(microsecond=0))
        queue = build_send_queue(aws.send_queue_url, REGION)
        services = build_services(aws.settings, clock=clock, queue=queue)
        services.appointments._clock = clock  # bookings on the benchmark's clock
        visits = _book(services, clock, notices)
        with counter.measuring("reach"):
            sms = CountingSms(counter, clock)
            sender = build_sender(aws.settings, clock=clock, sleep=clock.sleep, sms=sms)
        for tenant_id, appointment_id in visits:
            with counter.measuring("api"):
                services.notices.ask(
                    tenant_id,
                    appointment_id,
                    NoticeRequest(type=NoticeType.ON_THE_WAY, eta_minutes=25),
                )
        outcomes = _drain(aws, sender, counter, SENDER_BATCH)
        destinations = Counter(text.destination for text in sms.sent)
        return NoticesResult(
            notices=notices,
            sent=len(sms.sent),
            duplicates=sum(n - 1 for n in destinations.values() if n > 1),
            outcomes={outcome.value: n for outcome, n in sorted(outcomes.items())},
            api=counter.by_operation("api"),
            sender=counter.by_operation("reach"),
            lambda_calls=counter.by_operation("lambda"),
        )


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
    sent_ok = result.outcomes.get(SendOutcome.SENT.value, 0)
    lines = [
        f"AWS calls per field-service notice, end to end ({result.notices} notices; API "
        f"request + sender + record; goal {GOAL}; floor {FLOOR} for a notice asked alone: read, "
        "write, send, hand-off or record)",
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
