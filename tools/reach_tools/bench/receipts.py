"""AWS calls per delivery receipt, by what the receipt says: the cost of carrier receipts.

Each scenario stores what it needs (not counted): a sent reminder's message and its
provider-id lookup. Then every AWS call the receipt service makes for one receipt is counted,
averaged over ``receipts`` messages. The floor is 2: the lookup read and the message's
conditional update; an undelivered reminder adds the DeliveryFailed event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from reach.data.tables import (
    PROVIDER_MESSAGE_SK,
    MessageItem,
    ProviderMessageItem,
    appointment_pk,
    message_sk,
    provider_message_pk,
)
from reach.domain.message import Direction, MessageKind, MessageStatus
from reach.domain.receipts import DeliveryReceipt
from reach.wiring import build_receipts
from reach_tools.bench.harness import counting_aws_calls, embedded_aws, per
from reach_tools.demo_clock import DemoClock

FULL_RECEIPTS = 200
QUICK_RECEIPTS = 20
FLOOR = 2
TENANT = "ten_bench"


@dataclass(frozen=True)
class Scenario:
    name: str
    #: The receipts each message gets, in order; only the last one is counted.
    events: tuple[str, ...]


SCENARIOS = (
    Scenario("delivered", ("TEXT_DELIVERED",)),
    Scenario("undelivered reminder (DeliveryFailed)", ("TEXT_CARRIER_BLOCKED",)),
    Scenario("the same receipt again", ("TEXT_DELIVERED", "TEXT_DELIVERED")),
    Scenario("a receipt for someone else's text", ()),
)


@dataclass
class ReceiptsResult:
    receipts: int
    per_receipt: dict[str, float] = field(default_factory=dict)
    by_operation: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "receipts_per_scenario": self.receipts,
            "floor": FLOOR,
            "calls_per_receipt": self.per_receipt,
            "by_operation": self.by_operation,
        }


def measure(receipts: int = FULL_RECEIPTS) -> ReceiptsResult:
    result = ReceiptsResult(receipts)
    with embedded_aws("bench-receipts") as aws, counting_aws_calls() as counter:
        clock = DemoClock(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
        # The real EventBridge publisher into moto: its calls count
        service = build_receipts(aws.settings, clock=clock)
        for number, scenario in enumerate(SCENARIOS):
            for n in range(receipts):
                provider_id = f"bench-{number}-{n}"
                if scenario.events:
                    _store_sent(provider_id, number * receipts + n, clock())
                events = scenario.events or ("TEXT_DELIVERED",)
                for event_type in events[:-1]:
                    service.apply(_receipt(provider_id, event_type, clock()))
                with counter.measuring(scenario.name):
                    service.apply(_receipt(provider_id, events[-1], clock()))
                clock.advance(timedelta(seconds=1))
            result.per_receipt[scenario.name] = round(
                per(counter.total(scenario.name), receipts), 2
            )
            result.by_operation[scenario.name] = {
                operation: round(per(calls, receipts), 2)
                for operation, calls in counter.by_operation(scenario.name).items()
            }
    return result


def _receipt(provider_id: str, event_type: str, at: datetime) -> DeliveryReceipt:
    return DeliveryReceipt(provider_id, event_type, final=True, at=at + timedelta(seconds=2))


def _store_sent(provider_id: str, n: int, at: datetime) -> None:
    appointment_id, message_id = f"apt_bench{n}", f"msg_bench{n}"
    sort_key = message_sk(at, message_id)
    MessageItem(
        pk=appointment_pk(TENANT, appointment_id),
        sk=sort_key,
        tenant_id=TENANT,
        appointment_id=appointment_id,
        message_id=message_id,
        kind=MessageKind.REMINDER.value,
        direction=Direction.OUTBOUND.value,
        phone="+13125550100",
        status=MessageStatus.SENT.value,
        provider_message_id=provider_id,
        reminder_id=f"rem_bench{n}",
        created_at=at,
        updated_at=at,
    ).save()
    ProviderMessageItem(
        pk=provider_message_pk(provider_id),
        sk=PROVIDER_MESSAGE_SK,
        tenant_id=TENANT,
        appointment_id=appointment_id,
        message_id=message_id,
        message_sk=sort_key,
    ).save()


def report(result: ReceiptsResult) -> str:
    lines = [
        f"AWS calls per delivery receipt ({result.receipts} receipts per scenario; floor "
        f"{FLOOR}: the lookup read and the message's conditional update)"
    ]
    for name, calls in result.per_receipt.items():
        operations = ", ".join(f"{op} {n:g}" for op, n in result.by_operation[name].items())
        lines.append(f"  {name:<42} {calls:6.2f}  (x{calls / FLOOR:.2f} floor)  {operations}")
    return "\n".join(lines)
