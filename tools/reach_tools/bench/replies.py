"""AWS calls per inbound reply, by what the reply is: the cost of two-way messaging.

Each scenario books what it needs (not counted), then counts every AWS call the inbound
service makes for one reply, averaged over ``replies`` recipients: the routing read, consent,
matching, the appointment write, the stored messages, the answer (pacing and the provider
call) and the event. The floor is 3: the reply stored, the answer sent, the answer recorded.
Powertools idempotency (2 calls per reply at the handler: put the record, complete it) is
outside the service and listed apart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from reach.data.tables import PROVIDER_MESSAGE_SK, ProviderMessageItem, provider_message_pk
from reach.domain.inbound import InboundSms, parse_inbound
from reach.services.appointments import NewAppointment
from reach.services.tenants import TenantAdmin
from reach.wiring import build_inbound, build_services
from reach_tools.bench.harness import counting_aws_calls, embedded_aws, per
from reach_tools.demo_clock import DemoClock

FULL_REPLIES = 50
QUICK_REPLIES = 10
FLOOR = 3
#: The handler's idempotency record: one conditional PutItem, one UpdateItem to complete it.
IDEMPOTENCY_CALLS = 2
NEW_YORK = ZoneInfo("America/New_York")
CLINIC_NUMBER = "+12025550143"


@dataclass(frozen=True)
class Scenario:
    name: str
    body: str
    #: Appointments booked for the recipient beforehand.
    appointments: int
    #: The reply names the reminder it answers (previousPublishedMessageId).
    referenced: bool


SCENARIOS = (
    Scenario("confirm, answering a reminder", "1", 1, True),
    Scenario("confirm, one open appointment", "1", 1, False),
    Scenario("confirm, two appointments (asks which)", "1", 2, False),
    Scenario("STOP, two appointments with reminders", "STOP", 2, False),
    Scenario("CALL, one appointment", "call me", 1, False),
    Scenario("unrecognised text", "is there parking?", 1, False),
)


@dataclass
class RepliesResult:
    replies: int
    per_reply: dict[str, float] = field(default_factory=dict)
    by_operation: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "replies_per_scenario": self.replies,
            "floor": FLOOR,
            "idempotency_calls_at_the_handler": IDEMPOTENCY_CALLS,
            "calls_per_reply": self.per_reply,
            "by_operation": self.by_operation,
        }


def measure(replies: int = FULL_REPLIES) -> RepliesResult:
    result = RepliesResult(replies)
    # One INFO line per answer sent would bury the report.
    logging.getLogger("reach-sms").setLevel(logging.WARNING)
    with embedded_aws("bench-replies") as aws, counting_aws_calls() as counter:
        services = build_services(aws.settings)
        clock = DemoClock(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
        services.appointments._clock = clock  # bookings on the benchmark's clock
        # The real SNS adapter and the real EventBridge publisher, into moto: their calls count
        inbound = build_inbound(aws.settings, clock=clock, sleep=clock.sleep)
        tenant = _tenant(services.admin)
        for number, scenario in enumerate(SCENARIOS):
            messages = [
                _prepare(services, clock, tenant, scenario, number * 1000 + n)
                for n in range(replies)
            ]
            for message in messages:
                with counter.measuring(scenario.name):
                    inbound.receive(message, clock())
                clock.advance(timedelta(seconds=1))
            result.per_reply[scenario.name] = round(per(counter.total(scenario.name), replies), 2)
            result.by_operation[scenario.name] = {
                operation: round(per(n, replies), 2)
                for operation, n in counter.by_operation(scenario.name).items()
            }
    return result


def _tenant(admin: TenantAdmin) -> str:
    tenant, _ = admin.create_tenant(
        "Bench Clinic", "America/New_York", CLINIC_NUMBER, "21:00-08:00", ("P1D", "PT2H")
    )
    return tenant.tenant_id


def _prepare(
    services: Any, clock: DemoClock, tenant_id: str, scenario: Scenario, n: int
) -> InboundSms:
    phone = f"+1312{5550000 + n:07d}"
    booked = []
    for days in range(scenario.appointments):
        day = (clock().astimezone(NEW_YORK) + timedelta(days=3 + days)).date()
        appointment, _ = services.appointments.create(
            tenant_id,
            NewAppointment(
                phone=phone,
                starts_at=datetime(day.year, day.month, day.day, 14, tzinfo=NEW_YORK),
                timezone="America/New_York",
                first_name="Ana",
            ),
        )
        booked.append(appointment)
    previous = ""
    if scenario.referenced:
        previous = f"bench-provider-{n}"
        ProviderMessageItem(
            pk=provider_message_pk(previous),
            sk=PROVIDER_MESSAGE_SK,
            tenant_id=tenant_id,
            appointment_id=booked[0].appointment_id,
            message_id=f"msg_{n}",
            message_sk="message#bench",
        ).save()
    parsed = parse_inbound(
        {
            "originationNumber": phone,
            "destinationNumber": CLINIC_NUMBER,
            "messageBody": scenario.body,
            "inboundMessageId": f"bench-in-{n}",
            "previousPublishedMessageId": previous,
        }
    )
    assert isinstance(parsed, InboundSms)
    return parsed


def report(result: RepliesResult) -> str:
    lines = [
        f"AWS calls per inbound reply ({result.replies} replies per scenario; floor {FLOOR}: "
        f"reply stored, answer sent, answer recorded; +{IDEMPOTENCY_CALLS} for the handler's "
        "idempotency record)"
    ]
    for name, calls in result.per_reply.items():
        operations = ", ".join(f"{op} {n:g}" for op, n in result.by_operation[name].items())
        lines.append(f"  {name:<42} {calls:6.2f}  (x{calls / FLOOR:.2f} floor)  {operations}")
    return "\n".join(lines)
