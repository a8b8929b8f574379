"""A campaign to a list of N members on the embedded run: AWS calls per recipient, the drain
time against the ideal, the busiest second, and the peak memory of a fan-out tick and of a
sender batch.

Setup (not measured): one tenant with no quiet hours on a short code (100 MPS), a list of N
active members in New York numbers (batch writes), and a campaign due now, written as the
campaign API writes it.

Measured: dispatcher ticks a minute apart on the simulated clock (production wiring:
``build_dispatcher`` with its SQS queue; the campaign step starts the campaign, fans out a
tick's budget of recipients and queues them), each followed by the sender draining the queue
in invocations of ``SENDER_BATCH`` messages, paced at the number's MPS by the same clock;
until the campaign is completed. Calls are counted as the ``calls`` benchmark counts them:
the dispatcher's and the sender's own calls, each provider send as one call, the Lambda
service's receives and deletes apart. ``CampaignStarted`` and ``CampaignFinished`` go to a
recording bus (two PutEvents for the whole campaign, left out).

Drain time: from the first tick to the last text, against the ideal of N / MPS; the busiest
one-second window of send times must not pass the MPS. Memory: ``tracemalloc`` peaks of one
fan-out tick and of one sender batch, Reach's own allocations (moto's are filtered out).
"""

from __future__ import annotations

import logging
import math
import tracemalloc
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from reach.adapters.events_fake import RecordingPublisher
from reach.data.lists import ListRepository, _member_item
from reach.data.pacing import RESERVATION_LEAD
from reach.data.tables import CAMPAIGN_SK, CampaignItem, MemberItem, campaign_pk
from reach.data.tables import campaigns_lookup_key as lookup_key
from reach.domain.campaigns import CampaignStatus
from reach.domain.lists import (
    ConsentSource,
    Frequency,
    FrequencyPeriod,
    ListPurpose,
    Member,
    MemberConsent,
    MemberStatus,
    OptInList,
)
from reach.domain.models import Tenant
from reach.ports.send_queue import QueuedReminder
from reach.ports.sms import OutboundSms, SentSms
from reach.services.sending import Delivery
from reach.settings import Settings
from reach.wiring import build_dispatcher, build_sender
from reach_tools.bench.harness import (
    ORIGINATION,
    BenchAws,
    CallCounter,
    counting_aws_calls,
    embedded_aws,
    per,
)
from reach_tools.bench.send_path import SENDER_BATCH, CountingSms, _drain, _gather
from reach_tools.demo_clock import DemoClock

FULL_MEMBERS = 10_000
QUICK_MEMBERS = 1_000
GOAL = 2.5
MPS = 100.0
TENANT = "bench-foodbank"
LIST = "alerts"
CAMPAIGN = "c1"
MESSAGE = "Bench Food Bank: pick-up moves to Saturday, {first_name}. Reply STOP ALERTS to leave."
#: Ticks before the benchmark gives up on a campaign that does not finish.
_MAX_TICKS = 400


class _TimedCountingSms(CountingSms):
    """Counts each provider send, and notes when (by the simulated clock) it went."""

    def __init__(self, counter: CallCounter, clock: DemoClock) -> None:
        super().__init__(counter, clock)
        self._timer = clock
        self.sent_times: list[datetime] = []

    def send(self, sms: OutboundSms) -> SentSms:
        sent = super().send(sms)
        self.sent_times.append(self._timer())
        return sent


@dataclass(frozen=True)
class CampaignsResult:
    members: int
    sent: int
    duplicates: int
    status: str
    ticks: int
    calls: dict[str, int]
    lambda_calls: dict[str, int]
    drain_seconds: float
    busiest_second: int
    fan_out_peak_bytes: int
    sender_peak_bytes: int

    @property
    def per_recipient(self) -> float:
        return per(sum(self.calls.values()), self.members)

    @property
    def ideal_seconds(self) -> float:
        return self.members / MPS

    @property
    def drain_ratio(self) -> float:
        return self.drain_seconds / self.ideal_seconds if self.ideal_seconds else float("inf")

    def to_json(self) -> dict[str, Any]:
        return {
            "members": self.members,
            "sent": self.sent,
            "duplicates": self.duplicates,
            "status": self.status,
            "ticks": self.ticks,
            "calls_per_recipient": round(self.per_recipient, 3),
            "goal": GOAL,
            "calls_per_recipient_by_operation": {
                k: round(per(n, self.members), 3) for k, n in self.calls.items()
            },
            "lambda_calls_per_recipient": {
                k: round(per(n, self.members), 3) for k, n in self.lambda_calls.items()
            },
            "mps": MPS,
            "drain_seconds": round(self.drain_seconds, 2),
            "ideal_seconds": round(self.ideal_seconds, 2),
            "drain_ratio": round(self.drain_ratio, 4),
            "busiest_second": self.busiest_second,
            "fan_out_peak_bytes": self.fan_out_peak_bytes,
            "sender_batch_peak_bytes": self.sender_peak_bytes,
        }


def measure(members: int = FULL_MEMBERS, *, traced: bool = True) -> CampaignsResult:
    """The campaign to ``members``; without ``traced``, the first tick and batch run
    untraced (tracemalloc slows every allocation, a few times over) and their peaks are 0."""
    logging.getLogger("reach-sms").setLevel(logging.WARNING)
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    clock = DemoClock(start)
    with embedded_aws("bench-campaigns") as aws, counting_aws_calls() as counter:
        store_campaign(aws.settings, start, members)
        events = RecordingPublisher()
        sms = _TimedCountingSms(counter, clock)
        # The provider calls on the invocation's thread: with the simulated clock, a pooled
        # call reads "now" after the invocation has already slept on to a later slot, and
        # its send time is recorded late (bunching texts into one second that went in two).
        # The embedded calls take no time, so the pool would overlap nothing here.
        settings = replace(aws.settings, send_concurrency=1)
        with counter.measuring("reach"):
            sender = build_sender(settings, clock=clock, sleep=clock.sleep, sms=sms)
            dispatcher = build_dispatcher(aws.settings, events=events)
        fan_out_peak, sender_peak = _memory(
            aws, counter, dispatcher, sender, start, _traced if traced else _untraced
        )
        ticks = 1
        tick_at = start + timedelta(minutes=1)
        while ticks < _MAX_TICKS and campaign_status() is not CampaignStatus.COMPLETED:
            clock.advance_to(tick_at)
            with counter.measuring("reach"):
                dispatcher.tick(tick_at)
            _drain(aws, sender, counter, SENDER_BATCH)
            ticks += 1
            tick_at = max(tick_at + timedelta(minutes=1), clock())
        destinations = Counter(text.destination for text in sms.sent)
        times = sorted(sms.sent_times)
        return CampaignsResult(
            members=members,
            sent=len(sms.sent),
            duplicates=sum(n - 1 for n in destinations.values() if n > 1),
            status=campaign_status().value,
            ticks=ticks,
            calls=counter.by_operation("reach"),
            lambda_calls=counter.by_operation("lambda"),
            drain_seconds=(times[-1] - start).total_seconds() if times else float("inf"),
            busiest_second=_busiest_second(times),
            fan_out_peak_bytes=fan_out_peak,
            sender_peak_bytes=sender_peak,
        )


def _memory(
    aws: BenchAws,
    counter: CallCounter,
    dispatcher: Any,
    sender: Any,
    start: datetime,
    traced: Callable[[Callable[[], Any]], tuple[int, Any]],
) -> tuple[int, int]:
    """The first tick (it starts the campaign and fans out a tick's budget) and the first
    sender batch under ``traced``; both are also counted and sent like any other."""
    with counter.measuring("reach"):
        fan_out, _ = traced(lambda: dispatcher.tick(start))
    messages = _gather(aws, counter, SENDER_BATCH)
    deliveries = [Delivery(QueuedReminder.model_validate_json(m["Body"])) for m in messages]
    with counter.measuring("reach"):
        batch, _ = traced(lambda: sender.send_all(deliveries, timedelta(seconds=90)))
    with counter.measuring("lambda"):
        for begin in range(0, len(messages), 10):
            aws.sqs.delete_message_batch(
                QueueUrl=aws.send_queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                    for n, m in enumerate(messages[begin : begin + 10])
                ],
            )
    _drain(aws, sender, counter, SENDER_BATCH)
    return fan_out, batch


def _traced[T](call: Callable[[], T]) -> tuple[int, T]:
    """Peak bytes allocated during ``call`` above what was allocated before: Reach's code and
    the libraries it calls, and the embedded AWS answering it (an upper bound for Reach's
    own, as in the ``memory`` benchmark)."""
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        result = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base, result


def _untraced[T](call: Callable[[], T]) -> tuple[int, T]:
    return 0, call()


def _busiest_second(times: list[datetime]) -> int:
    """The most sends in any one-second window starting at a send."""
    busiest = 0
    for n, moment in enumerate(times):
        end = bisect_left(times, moment + timedelta(seconds=1), lo=n)
        busiest = max(busiest, end - n)
    return busiest


def campaign_status() -> CampaignStatus:
    """The benchmark campaign's status, read consistently."""
    item = CampaignItem.get(campaign_pk(TENANT, CAMPAIGN), CAMPAIGN_SK, consistent_read=True)
    return CampaignStatus(item.status)


def store_campaign(settings: Settings, start: datetime, members: int) -> None:
    """The tenant (its number at 100 MPS, no quiet hours), the list, its members and the
    campaign (batch writes: setup, not measured)."""
    from reach.data.numbers import NumberRepository
    from reach.data.tenants import TenantRepository
    from reach.domain.numbers import OriginationType, Throughput

    TenantRepository().create(
        Tenant(
            tenant_id=TENANT,
            name="Bench Food Bank",
            timezone="America/New_York",
            sender_number=ORIGINATION,
            quiet_hours="00:00-00:00",
            reminder_offsets=("P1D",),
            created_at=start - timedelta(days=1),
        )
    )
    NumberRepository(settings.throughput).set_throughput(
        ORIGINATION, Throughput(OriginationType.SHORT_CODE, MPS)
    )
    earlier = start - timedelta(days=1)
    ListRepository().create(
        OptInList(
            tenant_id=TENANT,
            list_id=LIST,
            name="Pantry alerts",
            keyword="ALERTS",
            description="Pick-up times",
            frequency=Frequency(4, FrequencyPeriod.MONTH),
            purpose=ListPurpose.INFORMATIONAL,
            double_opt_in=False,
            created_at=earlier,
            updated_at=earlier,
        )
    )
    consent = MemberConsent(ConsentSource.KEYWORD, earlier, message_id="bench")
    with MemberItem.batch_write() as batch:
        for n in range(members):
            member = Member(
                tenant_id=TENANT,
                list_id=LIST,
                phone=f"+1212{5550000 + n:07d}",
                status=MemberStatus.ACTIVE,
                joined_at=earlier,
                updated_at=earlier + timedelta(microseconds=n),
                consent=consent,
                first_name="Sam",
                version=1,
            )
            batch.save(_member_item(member))
    CampaignItem(
        pk=campaign_pk(TENANT, CAMPAIGN),
        sk=CAMPAIGN_SK,
        tenant_id=TENANT,
        appointment_id=CAMPAIGN,
        campaign_id=CAMPAIGN,
        list_id=LIST,
        name="Saturday",
        message=MESSAGE,
        parts=1,
        encoding="GSM-7",
        send_at=start,
        status=CampaignStatus.SCHEDULED.value,
        version=1,
        created_at=earlier,
        updated_at=earlier,
        lookup_key=lookup_key(CampaignStatus.SCHEDULED.value),
        lookup_at=start,
    ).save()


def report(result: CampaignsResult) -> str:
    return "\n".join(
        [
            f"A campaign to {result.members} members on a {MPS:.0f} MPS short code "
            f"(embedded run, simulated clock; {result.ticks} ticks)",
            f"  sent {result.sent}, texted twice+ {result.duplicates}, status {result.status}",
            f"  AWS calls per recipient              {result.per_recipient:6.3f}"
            f"  ({'within' if result.per_recipient <= GOAL else 'over'} the goal of {GOAL})",
            *(
                f"    {name:<34} {per(n, result.members):6.3f}"
                for name, n in sorted(result.calls.items())
            ),
            f"  drain {result.drain_seconds:8.1f} s against the ideal {result.ideal_seconds:.1f}"
            f" s: x{result.drain_ratio:.4f} (goal within 5%)",
            f"    one sequential sender: each batch finds the schedule idle and starts "
            f"up to {RESERVATION_LEAD.total_seconds() * 1000:.0f} ms ahead, "
            f"{math.ceil(result.sent / SENDER_BATCH)} batches = "
            f"{math.ceil(result.sent / SENDER_BATCH) * RESERVATION_LEAD.total_seconds():.1f} s;"
            " the template's concurrent senders: `--only throughput`, campaign line",
            f"  busiest one-second window            {result.busiest_second} texts"
            f" (limit {MPS:.0f})",
            f"  peak memory: fan-out tick {result.fan_out_peak_bytes / 1024:,.0f} KiB, "
            f"sender batch of {SENDER_BATCH} {result.sender_peak_bytes / 1024:,.0f} KiB",
        ]
    )
