"""Campaign sending (issue 13, items 5 and 6): the dispatcher starts, feeds and finishes a
campaign within its number's budget after the reminders, and the send path texts each active
member once, in their allowed hours, unless they left or opted out before the text went."""

from __future__ import annotations

import copy
import itertools
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import moto.dynamodb.models as moto_dynamodb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import a_list, book, new_tenant
from conftest import examples
from reach.adapters.events_fake import RecordingPublisher
from reach.data.batch_reads import BatchReader
from reach.data.campaigns import CampaignRepository
from reach.data.contacts import ContactRepository
from reach.data.imports import ImportStore
from reach.data.lists import ListRepository, _member_item
from reach.data.numbers import NumberRepository
from reach.data.recipients import CampaignCounts, read_counts
from reach.data.tables import (
    CAMPAIGN_SK,
    CampaignItem,
    MemberItem,
    RecipientItem,
    campaign_pk,
    campaigns_lookup_key,
)
from reach.domain.campaigns import CampaignStatus
from reach.domain.lists import (
    ConsentSource,
    Frequency,
    FrequencyPeriod,
    Member,
    MemberConsent,
    MemberStatus,
    OptInList,
)
from reach.domain.numbers import OriginationType, Throughput
from reach.domain.quiet_hours import QuietHours
from reach.domain.receipts import DeliveryReceipt
from reach.domain.segments import count_segments
from reach.ports.events import EventType
from reach.services.imports import ImportService
from reach.services.membership import Joiner, Membership
from reach.services.receipts import ReceiptOutcome
from reach.services.sending import Delivery, SendOutcome, SendPath
from reach.services.sending.campaign import CampaignKind
from reach.wiring import Services, build_dispatcher, build_receipts
from reach_tools.demo_clock import DemoClock
from stand_ins import MemoryQueue, TimedSms, drain, make_sender

#: 10:00 in New York, 05:00 in Honolulu, midnight in Tokyo.
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
NUMBER = "+12025550177"
PROGRAM = "Eastside Food Bank"
MESSAGE = "Eastside Food Bank: pick-up moves to Saturday, {first_name}. Reply STOP ALERTS to leave."


@pytest.fixture(autouse=True)
def one_table_copy_per_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto snapshots a table once per item of a TransactWriteItems (to roll back a failed
    one); a snapshot per table per request rolls back the same, in a fraction of the time:
    a campaign's sends are a transaction each, over tables that hold every recipient."""
    backend = moto_dynamodb.DynamoDBBackend
    original = backend.transact_write_items

    def once_per_table(self: Any, transact_items: Any) -> None:
        made: dict[int, Any] = {}

        def snapshot(table: Any) -> Any:
            if id(table) not in made:
                made[id(table)] = copy.deepcopy(table)
            return made[id(table)]

        monkeypatch.setattr(moto_dynamodb, "copy", SimpleNamespace(deepcopy=snapshot))
        try:
            original(self, transact_items)
        finally:
            monkeypatch.setattr(moto_dynamodb, "copy", copy)

    monkeypatch.setattr(backend, "transact_write_items", once_per_table)


def phones(count: int, start: int = 0) -> list[str]:
    """Washington DC numbers: the phone library places them in New York's zone."""
    return [f"+1202555{start + n:04d}" for n in range(count)]


class Run:
    """One tenant's list and campaign, a dispatcher and a sender over the test's tables."""

    def __init__(
        self,
        aws: Services,
        *,
        mps: float = 100,
        quiet_hours: str = "21:00-08:00",
        frequency: Frequency | None = None,
        number: str = NUMBER,
    ) -> None:
        self.aws = aws
        self.tenant = new_tenant(aws, PROGRAM, number=number, quiet_hours=quiet_hours)
        self.tenant_id = self.tenant.tenant_id
        NumberRepository(aws.settings.throughput).set_throughput(
            number, Throughput(OriginationType.TEN_DLC, mps)
        )
        self.lists = ListRepository()
        changes: dict[str, Any] = {"tenant_id": self.tenant_id}
        if frequency is not None:
            changes["frequency"] = frequency
        self.plist: OptInList = self.lists.create(a_list(**changes))
        self.membership = Membership(self.lists)
        self.clock = DemoClock(NOW)
        self.sms = TimedSms(self.clock)
        self.events = RecordingPublisher()
        self.queue = MemoryQueue()
        self.mps = mps

    def join(self, phone: str, *, first_name: str | None = "Sam", timezone: str | None = None):
        consent = MemberConsent(ConsentSource.KEYWORD, NOW - timedelta(days=1), message_id="in-1")
        joiner = Joiner(phone, consent, f"inbound_message_id={phone}", first_name, timezone)
        return self.membership.join(self.plist, joiner, PROGRAM, NOW - timedelta(days=1))

    def seed(self, phones: list[str], zones: dict[str, str | None] | None = None) -> None:
        """Active members written in batches: a big list's set-up without a transaction
        each (moto copies the tables for every transaction)."""
        consent = MemberConsent(ConsentSource.KEYWORD, NOW - timedelta(days=1), message_id="m")
        with MemberItem.batch_write() as batch:
            for phone in phones:
                member = Member(
                    tenant_id=self.tenant_id,
                    list_id=self.plist.list_id,
                    phone=phone,
                    status=MemberStatus.ACTIVE,
                    joined_at=NOW - timedelta(days=1),
                    updated_at=NOW - timedelta(days=1),
                    consent=consent,
                    first_name="Sam",
                    timezone=(zones or {}).get(phone),
                    version=1,
                )
                batch.save(_member_item(member))

    def leave(self, phone: str, reason: str = "stop_keyword") -> None:
        self.membership.leave(
            self.plist, phone, reason=reason, source="keyword", cause="m", at=self.clock()
        )

    def campaign(self, campaign_id: str = "c1", *, send_at: datetime = NOW) -> str:
        parts = count_segments(MESSAGE)
        CampaignItem(
            pk=campaign_pk(self.tenant_id, campaign_id),
            sk=CAMPAIGN_SK,
            tenant_id=self.tenant_id,
            appointment_id=campaign_id,
            campaign_id=campaign_id,
            list_id=self.plist.list_id,
            name="Saturday pick-up",
            message=MESSAGE,
            parts=parts.parts,
            encoding=str(parts.encoding),
            send_at=send_at,
            status=CampaignStatus.SCHEDULED.value,
            version=1,
            created_at=NOW - timedelta(hours=1),
            updated_at=NOW - timedelta(hours=1),
            lookup_key=campaigns_lookup_key(CampaignStatus.SCHEDULED.value),
            lookup_at=send_at,
        ).save()
        return campaign_id

    def set_status(self, status: CampaignStatus, campaign_id: str = "c1") -> None:
        """What the tenant's pause, resume and cancel write (campaigns-api's contract): a
        cancelled campaign stays in the registry until the dispatcher settles it."""
        filed = status in (CampaignStatus.SENDING, CampaignStatus.CANCELLED)
        CampaignItem(pk=campaign_pk(self.tenant_id, campaign_id), sk=CAMPAIGN_SK).update(
            actions=[
                CampaignItem.status.set(status.value),
                CampaignItem.version.add(1),
                CampaignItem.lookup_key.set(campaigns_lookup_key(status.value))
                if filed
                else CampaignItem.lookup_key.remove(),
            ]
        )

    def status(self, campaign_id: str = "c1") -> CampaignStatus:
        item = CampaignItem.get(campaign_pk(self.tenant_id, campaign_id), CAMPAIGN_SK)
        return CampaignStatus(item.status)

    def counts(self, campaign_id: str = "c1") -> CampaignCounts:
        return read_counts(self.tenant_id, campaign_id)

    def dispatcher(self, queue: Any = None):
        return build_dispatcher(self.aws.settings, queue=queue or self.queue, events=self.events)

    def tick(self, at: datetime | None = None):
        moment = at or self.clock()
        self.clock.advance_to(moment)
        return self.dispatcher().tick(moment)

    def sender(self, reader: BatchReader | None = None) -> SendPath:
        path = make_sender(
            self.aws, self.sms, self.clock, mps=self.mps, kinds=[CampaignKind()], events=self.events
        )
        if reader is not None:
            path._reader = reader
        return path

    def drain(self) -> list[SendOutcome]:
        return drain(self.queue, self.sender())

    def drain_in_batches(self, size: int = 10) -> None:
        """Send what is queued the way the sender function does: batches of ``size``."""
        sender = self.sender()
        while self.queue.pending:
            batch = []
            while len(batch) < size and (delivery := self.queue.receive()) is not None:
                batch.append(Delivery(*delivery))
            for delivery, result in zip(batch, sender.send_all(batch), strict=True):
                if result.outcome is SendOutcome.RETRY:
                    self.queue.give_back(delivery.queued, delivery.receive_count)

    def texted(self) -> Counter[str]:
        return Counter(sms.destination for sms in self.sms.sent)

    def events_of(self, kind: EventType) -> list[Any]:
        """This tenant's events of ``kind`` (the dispatcher serves every tenant in the
        tables, and a property's examples share them)."""
        return [
            event
            for event in self.events.events
            if event.type is kind and event.tenant_id == self.tenant_id
        ]


def test_a_300_member_list_is_texted_once_each_over_several_ticks_at_the_numbers_pace(aws):
    run = Run(aws, mps=2)  # 120 texts a tick
    members = phones(300)
    run.seed(members)
    run.campaign()

    queued_per_tick = []
    for _ in range(4):
        report = run.tick()
        assert report.campaigns is not None
        queued_per_tick.append(report.campaigns.queued)
        run.drain_in_batches()
        run.clock.advance_to(max(run.clock(), NOW) + timedelta(seconds=1))

    assert run.texted() == Counter(dict.fromkeys(members, 1))
    assert max(queued_per_tick) <= 120
    assert queued_per_tick[:3] == [120, 120, 60]
    # every text went at most two a second
    times = sorted(run.sms.sent_times)
    assert all(b - a >= timedelta(seconds=0.5) for a, b in itertools.pairwise(times))
    assert run.status() is CampaignStatus.COMPLETED
    assert run.counts()["sent"] == 300
    assert run.counts()["total"] == 300
    [started] = run.events_of(EventType.CAMPAIGN_STARTED)
    assert started.ids == {"campaign_id": "c1", "list_id": run.plist.list_id}
    [finished] = run.events_of(EventType.CAMPAIGN_FINISHED)
    assert finished.data["total"] == 300
    assert finished.data["sent"] == 300
    assert finished.data["status"] == "completed"


def test_the_text_names_the_member_or_falls_back(aws):
    run = Run(aws)
    [named, unnamed] = phones(2)
    run.join(named, first_name="Rosa")
    run.join(unnamed, first_name=None)
    run.campaign()
    run.tick()
    run.drain()
    bodies = {sms.destination: sms.body for sms in run.sms.sent}
    assert "Saturday, Rosa." in bodies[named]
    assert "Saturday, there." in bodies[unnamed]


class Crash(BaseException):
    """The dispatcher's process dying mid-tick."""


class CrashingQueue(MemoryQueue):
    """Dies on the ``nth`` enqueue: the recipients of that page exist but are not queued."""

    def __init__(self, target: MemoryQueue, nth: int) -> None:
        super().__init__()
        self._target = target
        self._calls = 0
        self._nth = nth

    def enqueue(self, reminders):
        self._calls += 1
        if self._calls == self._nth:
            raise Crash
        return self._target.enqueue(reminders)


def test_concurrent_dispatchers_redelivery_and_a_crash_mid_fan_out_text_everyone_once(
    aws, atomic_requests
):
    run = Run(aws)
    members = phones(60)
    for phone in members:
        run.join(phone)
    run.campaign()

    # A dispatcher dies mid fan-out: some recipients exist but never reached the queue
    with pytest.raises(Crash):
        run.dispatcher(CrashingQueue(run.queue, nth=2)).tick(NOW)

    # Two dispatchers tick at once, a minute later
    errors: list[BaseException] = []

    def tick() -> None:
        try:
            run.dispatcher().tick(NOW + timedelta(minutes=1))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    # SQS delivers every message twice
    run.queue.pending.extend(list(run.queue.pending))
    run.clock.advance_to(NOW + timedelta(minutes=1))
    run.drain()
    # The crashed page's recipients come back when their lease ends
    for minutes in (2, 17, 18):
        run.tick(NOW + timedelta(minutes=minutes))
        run.drain()

    assert run.texted() == Counter(dict.fromkeys(members, 1))
    assert run.counts()["sent"] == 60
    assert run.counts()["total"] == 60
    assert run.status() is CampaignStatus.COMPLETED
    assert len(run.events_of(EventType.CAMPAIGN_FINISHED)) == 1


def test_members_in_quiet_hours_are_held_then_texted_when_allowed_in_every_zone(aws):
    run = Run(aws)
    [awake] = phones(1)
    tokyo = "+12025559001"  # a DC number whose member lives in Tokyo: midnight there
    honolulu = "+18085550123"  # no time zone given: the area's zone, 05:00
    run.join(awake)
    run.join(tokyo, timezone="Asia/Tokyo")
    run.join(honolulu)
    run.campaign()

    report = run.tick(NOW)
    run.drain()
    assert report.campaigns is not None
    assert report.campaigns.held == 2
    assert run.texted() == Counter({awake: 1})
    assert run.counts()["held"] == 2

    # 08:00 in Honolulu is 18:00 UTC; 08:00 in Tokyo is 23:00 UTC
    run.tick(datetime(2026, 12, 7, 17, 59, tzinfo=UTC))
    run.drain()
    assert honolulu not in run.texted()
    run.tick(datetime(2026, 12, 7, 18, 0, tzinfo=UTC))
    run.drain()
    assert run.texted()[honolulu] == 1
    assert tokyo not in run.texted()
    run.tick(datetime(2026, 12, 7, 23, 0, tzinfo=UTC))
    run.drain()

    assert run.texted() == Counter({awake: 1, tokyo: 1, honolulu: 1})
    sent_at = dict(zip((s.destination for s in run.sms.sent), run.sms.sent_times, strict=True))
    assert sent_at[tokyo] >= datetime(2026, 12, 7, 23, 0, tzinfo=UTC)
    assert run.counts()["held"] == 0
    run.tick(datetime(2026, 12, 7, 23, 1, tzinfo=UTC))
    assert run.status() is CampaignStatus.COMPLETED


def test_a_stop_or_stop_keyword_between_the_claim_and_the_send_skips_the_member(aws):
    run = Run(aws)
    [stays, stops, leaves] = phones(3)
    for phone in (stays, stops, leaves):
        run.join(phone)
    run.campaign()
    run.tick()

    ContactRepository().mark_opted_out(run.tenant_id, stops, "keyword", NOW)
    run.leave(leaves)
    outcomes = run.drain()

    assert run.texted() == Counter({stays: 1})
    assert outcomes.count(SendOutcome.SKIPPED) == 2
    counts = run.counts()
    assert (counts["skipped_opted_out"], counts["skipped_left_list"]) == (1, 1)


class LeavesAfterReading(BatchReader):
    """ "STOP ALERTS" lands after the sender read the member and before its start transaction."""

    def __init__(self, run: Run, phone: str) -> None:
        self._run = run
        self._phone = phone
        self._done = False

    def read(self, keys):
        found = super().read(keys)
        if not self._done:
            self._done = True
            self._run.leave(self._phone)
        return found


def test_a_stop_keyword_landing_between_the_read_and_the_start_stops_the_text(aws):
    run = Run(aws)
    [member] = phones(1)
    run.join(member)
    run.campaign()
    run.tick()

    outcomes = drain(run.queue, run.sender(LeavesAfterReading(run, member)))

    assert outcomes == [SendOutcome.SKIPPED]
    assert run.texted() == Counter()
    assert run.counts()["skipped_left_list"] == 1


def test_after_a_cancel_nothing_more_is_sent(aws):
    run = Run(aws, mps=0.5)  # 30 texts a tick
    members = phones(50)
    for phone in members:
        run.join(phone)
    run.campaign()
    run.tick()
    sender = run.sender()
    for _ in range(10):
        message, receives = run.queue.receive()
        sender.send(message, receive_count=receives)
    assert len(run.sms.sent) == 10

    run.set_status(CampaignStatus.CANCELLED)
    run.drain()
    for minutes in (1, 2, 20):
        report = run.tick(NOW + timedelta(minutes=minutes))
        assert report.campaigns is not None
        assert report.campaigns.queued == 0
        run.drain()

    assert len(run.sms.sent) == 10
    assert run.counts()["skipped_cancelled"] == 20


def settled(counts: CampaignCounts) -> bool:
    """The counts of a campaign that is over add up: every recipient created has one final
    outcome, none is held, and the receipts are about texts that went."""
    skipped = sum(v for k, v in counts.items() if k.startswith("skipped_"))
    return (
        counts["total"] == counts["sent"] + counts["failed"] + skipped
        and counts["held"] == 0
        and counts["delivered"] + counts["undelivered"] <= counts["sent"]
    )


def test_a_cancelled_campaign_settles_its_held_recipients_and_finishes_once(aws):
    run = Run(aws)
    awake, *sleeping = phones(3)
    run.join(awake)
    for phone in sleeping:
        run.join(phone, timezone="Asia/Tokyo")  # midnight there: held till 23:00 UTC
    run.campaign()
    run.tick()
    run.drain()
    assert run.counts()["held"] == 2

    CampaignRepository().act(run.tenant_id, "c1", "cancel", NOW + timedelta(seconds=30))
    for minutes in (1, 2, 3, 60 * 9):
        run.tick(NOW + timedelta(minutes=minutes))
        run.drain()

    [finished] = run.events_of(EventType.CAMPAIGN_FINISHED)
    counts = run.counts()
    assert run.texted() == Counter({awake: 1})
    assert counts["held"] == 0
    assert counts["skipped_cancelled"] == 2
    assert settled(counts)
    assert finished.data["status"] == "cancelled"
    assert finished.data["skipped_cancelled"] == 2
    assert finished.data["total"] == 3
    assert run.status() is CampaignStatus.CANCELLED
    item = CampaignItem.get(campaign_pk(run.tenant_id, "c1"), CAMPAIGN_SK)
    assert item.lookup_key is None  # out of the dispatcher's registry


def test_a_cancel_with_texts_still_queued_finishes_after_the_sender_skips_them(aws):
    run = Run(aws, mps=0.5)  # 30 texts a tick
    for phone in phones(40):
        run.join(phone)
    run.campaign()
    run.tick()
    CampaignRepository().act(run.tenant_id, "c1", "cancel", NOW + timedelta(seconds=10))
    run.tick(NOW + timedelta(minutes=2))
    assert run.events_of(EventType.CAMPAIGN_FINISHED) == []  # 30 still on the queue

    run.drain()
    run.tick(NOW + timedelta(minutes=3))
    run.tick(NOW + timedelta(minutes=4))
    [finished] = run.events_of(EventType.CAMPAIGN_FINISHED)
    assert finished.data["skipped_cancelled"] == 30
    assert run.texted() == Counter()
    assert settled(run.counts())


def test_a_lost_queue_message_of_a_cancelled_campaign_is_settled_when_its_lease_ends(aws):
    run = Run(aws)
    run.join(phones(1)[0])
    run.campaign()
    run.tick()
    run.queue.receive()  # lost: never sent, never given back
    run.set_status(CampaignStatus.CANCELLED)
    run.tick(NOW + timedelta(minutes=5))
    assert run.events_of(EventType.CAMPAIGN_FINISHED) == []
    run.tick(NOW + timedelta(minutes=16))  # the claim's lease is over
    [finished] = run.events_of(EventType.CAMPAIGN_FINISHED)
    assert finished.data["skipped_cancelled"] == 1
    assert settled(run.counts())


def receipt(run: Run, n: int, event_type: str, seconds: int) -> DeliveryReceipt:
    """The carrier's final receipt for the ``n``-th text sent (``fake-00000n``)."""
    return DeliveryReceipt(
        provider_message_id=f"fake-{n:06d}",
        event_type=event_type,
        final=True,
        at=NOW + timedelta(seconds=seconds),
    )


def test_receipts_move_the_campaigns_delivered_and_undelivered_counts_once_each(aws):
    run = Run(aws)
    for phone in phones(3):
        run.join(phone)
    run.campaign()
    run.tick()
    run.drain()
    receipts = build_receipts(aws.settings, clock=run.clock, events=run.events)

    first = receipts.apply(receipt(run, 1, "TEXT_DELIVERED", 5))
    receipts.apply(receipt(run, 1, "TEXT_DELIVERED", 5))  # redelivered
    receipts.apply(receipt(run, 2, "TEXT_CARRIER_BLOCKED", 5))
    receipts.apply(receipt(run, 2, "TEXT_CARRIER_BLOCKED", 5))
    receipts.apply(receipt(run, 3, "TEXT_DELIVERED", 9))
    late = receipts.apply(receipt(run, 3, "TEXT_CARRIER_BLOCKED", 4))  # older: changes nothing

    assert first.outcome is ReceiptOutcome.APPLIED
    assert late.outcome is ReceiptOutcome.UNCHANGED
    counts = run.counts()
    assert (counts["sent"], counts["delivered"], counts["undelivered"]) == (3, 2, 1)
    run.tick(NOW + timedelta(minutes=1))
    assert run.status() is CampaignStatus.COMPLETED
    assert settled(run.counts())


def test_a_newer_receipt_moves_a_text_from_delivered_to_undelivered_in_the_counts(aws):
    run = Run(aws)
    run.join(phones(1)[0])
    run.campaign()
    run.tick()
    run.drain()
    receipts = build_receipts(aws.settings, clock=run.clock, events=run.events)

    receipts.apply(receipt(run, 1, "TEXT_DELIVERED", 5))
    moved = receipts.apply(receipt(run, 1, "TEXT_CARRIER_BLOCKED", 8))

    assert (moved.outcome, moved.status) == (ReceiptOutcome.APPLIED, "undelivered")
    counts = run.counts()
    assert (counts["sent"], counts["delivered"], counts["undelivered"]) == (1, 0, 1)


def test_a_paused_campaign_sends_nothing_and_a_resumed_one_sends_the_rest(aws):
    run = Run(aws)
    members = phones(12)
    for phone in members:
        run.join(phone)
    run.campaign()
    run.tick()

    run.set_status(CampaignStatus.PAUSED)
    outcomes = run.drain()
    assert outcomes == [SendOutcome.HELD] * 12
    report = run.tick(NOW + timedelta(minutes=2))
    assert report.campaigns is not None
    assert report.campaigns.queued == 0
    assert run.texted() == Counter()
    assert run.counts()["skipped_cancelled"] == 0

    run.set_status(CampaignStatus.SENDING)
    run.tick(NOW + timedelta(minutes=3))
    run.drain()
    run.tick(NOW + timedelta(minutes=4))

    assert run.texted() == Counter(dict.fromkeys(members, 1))
    assert run.status() is CampaignStatus.COMPLETED


def test_a_member_at_the_lists_declared_frequency_is_skipped_with_frequency_cap(aws):
    run = Run(aws, frequency=Frequency(1, FrequencyPeriod.WEEK))
    [member] = phones(1)
    run.join(member)
    run.campaign("first")
    run.tick()
    run.drain()
    run.campaign("second", send_at=NOW + timedelta(days=1))

    run.tick(NOW + timedelta(days=1))
    run.drain()

    assert run.texted() == Counter({member: 1})
    assert run.counts("second")["skipped_frequency_cap"] == 1
    assert run.counts("first")["sent"] == 1


def test_the_numbers_reminders_go_before_its_campaign_in_a_tick(aws):
    run = Run(aws, mps=1, quiet_hours="00:00-00:00")  # 60 parts a tick
    clock = DemoClock(NOW)
    starts_at = NOW + timedelta(hours=1)
    patients = phones(10, start=5000)
    for phone in patients:
        book(aws, run.tenant, phone=phone, starts_at=starts_at, offsets=("PT1H",), clock=clock)
    for phone in phones(100):
        run.join(phone)
    run.campaign()

    report = run.tick(NOW)

    order = [message.kind for message, _ in run.queue.pending]
    assert order[:10] == ["reminder"] * 10
    assert report.used[NUMBER] == 10
    assert report.campaigns is not None
    assert report.campaigns.queued == 50
    assert set(order[10:]) == {"campaign"}


def test_recipients_are_created_once_whatever_the_repeats(aws):
    run = Run(aws)
    members = phones(5)
    for phone in members:
        run.join(phone)
    run.campaign()
    run.tick()
    # The cursor is forgotten (a dispatcher that read the index before it moved)
    CampaignItem(pk=campaign_pk(run.tenant_id, "c1"), sk=CAMPAIGN_SK).update(
        actions=[CampaignItem.cursors.remove()]
    )
    report = run.tick(NOW + timedelta(seconds=30))

    assert report.campaigns is not None
    assert report.campaigns.created == 0
    assert run.counts()["total"] == 5
    assert len(list(RecipientItem.scan())) == 5
    assert len(run.queue.pending) == 5


def test_a_campaign_not_yet_due_is_not_started(aws):
    run = Run(aws)
    run.join(phones(1)[0])
    run.campaign(send_at=NOW + timedelta(minutes=5))

    report = run.tick(NOW)

    assert report.campaigns is not None
    assert report.campaigns.started == 0
    assert run.status() is CampaignStatus.SCHEDULED
    assert run.texted() == Counter()


def test_campaign_events_carry_no_phone_and_a_replay_has_the_same_id(aws):
    run = Run(aws)
    run.join(phones(1)[0])
    run.campaign()
    run.tick()
    run.drain()
    run.tick(NOW + timedelta(minutes=1))
    [started] = run.events_of(EventType.CAMPAIGN_STARTED)
    [finished] = run.events_of(EventType.CAMPAIGN_FINISHED)
    assert started.event_id != finished.event_id
    assert "recipient" not in finished.ids
    assert finished.data["sent"] == 1


# --- property: whatever the interleaving -------------------------------------------------

POOL = [
    ("+12025556001", None),  # the area's zone: New York
    ("+12025556002", "Asia/Tokyo"),
    ("+18085556003", None),  # the area's zone: Honolulu
    ("+12025556004", "Europe/London"),
    ("+12025556005", None),
    ("+12025556006", None),
    ("+12025556007", "America/Los_Angeles"),
    ("+12025556008", "Europe/London"),
    ("+18085556009", None),
    ("+12025556010", "Asia/Tokyo"),
    ("+12025556011", None),
    ("+12025556012", "America/Chicago"),
]
TENANT_NUMBERS = itertools.count(7000)
WINDOW = QuietHours.parse("21:00-08:00")
IMPORT_HEADER = "phone,first_name,timezone,consent_source,consent_at,evidence\n"

step = st.one_of(
    st.tuples(st.just("join"), st.integers(0, len(POOL) - 1)),
    st.tuples(st.just("stop"), st.integers(0, len(POOL) - 1)),
    st.tuples(st.just("stop_keyword"), st.integers(0, len(POOL) - 1)),
    st.tuples(st.just("tick"), st.sampled_from([1, 7, 180, 540])),
    st.tuples(st.just("send"), st.integers(1, 8)),
    st.tuples(st.just("cancel"), st.just(0)),
    st.tuples(st.just("import"), st.integers(0, len(POOL) - 1)),
)


class Model:
    """Who may be texted now: on the list and not opted out."""

    def __init__(self) -> None:
        self.on_list: set[str] = set()
        self.opted_out: set[str] = set()
        self.cancelled = False

    def may_text(self, phone: str) -> bool:
        return not self.cancelled and phone in self.on_list and phone not in self.opted_out


class CheckingSms(TimedSms):
    """Fails the example the moment a text goes to someone it must not reach."""

    def __init__(self, clock: DemoClock, model: Model) -> None:
        super().__init__(clock)
        self._model = model

    def send(self, sms: Any) -> Any:
        zone = dict(POOL)[sms.destination]
        zones = (
            (ZoneInfo(zone),)
            if zone
            else (ZoneInfo("Pacific/Honolulu"),)
            if sms.destination.startswith("+1808")
            else (ZoneInfo("America/New_York"),)
        )
        assert self._model.may_text(sms.destination), sms.destination
        assert all(not WINDOW.contains(self._timer(), z) for z in zones), (sms.destination, zones)
        return super().send(sms)


def import_member(run: Run, model: Model, index: int) -> None:
    """A one-row CSV import of ``POOL[index]`` on consent the tenant holds."""
    phone, zone = POOL[index]
    consent_at = (run.clock() - timedelta(hours=1)).isoformat()
    row = f"{phone},Sam,{zone or ''},paper_form,{consent_at},form 7\n"
    importer = ImportService(
        run.lists, ImportStore(), run.aws.tenants, run.events, run.clock, uploads=lambda: None
    )
    importer.import_csv(run.tenant_id, run.plist.list_id, (IMPORT_HEADER + row).encode())
    if phone not in model.opted_out:  # an opted-out number's row is refused
        model.on_list.add(phone)


def apply_step(run: Run, model: Model, action: str, value: int) -> None:
    if action in ("join", "stop", "stop_keyword"):
        phone, zone = POOL[value]
        if action == "join":
            # Texting the keyword is consent again, even after a STOP
            ContactRepository().mark_opted_in(run.tenant_id, phone, "keyword", run.clock())
            run.join(phone, timezone=zone)
            model.on_list.add(phone)
            model.opted_out.discard(phone)
        elif action == "stop":
            ContactRepository().mark_opted_out(run.tenant_id, phone, "keyword", run.clock())
            run.leave(phone, "opted_out")
            model.opted_out.add(phone)
            model.on_list.discard(phone)
        else:
            run.leave(phone)
            model.on_list.discard(phone)
    elif action == "import":
        import_member(run, model, value)
    elif action == "cancel":
        if run.status() is not CampaignStatus.COMPLETED and not model.cancelled:
            CampaignRepository().act(run.tenant_id, "c1", "cancel", run.clock())
            model.cancelled = True
    elif action == "tick":
        run.tick(run.clock() + timedelta(minutes=value))
    else:
        send_some(run, value)


def send_some(run: Run, count: int) -> None:
    """Up to ``count`` texts from the queue, a retry given back."""
    sender = run.sender()
    for _ in range(count):
        delivery = run.queue.receive()
        if delivery is None:
            return
        result = sender.send(delivery[0], receive_count=delivery[1])
        if result.outcome is SendOutcome.RETRY:
            run.queue.give_back(*delivery)


@settings(
    max_examples=examples(5),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    initial=st.sets(st.integers(0, len(POOL) - 1), min_size=6),
    steps=st.lists(step, min_size=6, max_size=16),
)
def test_no_campaign_text_reaches_an_opted_out_or_departed_member_or_one_in_quiet_hours(
    aws, initial, steps
):
    number = next(TENANT_NUMBERS)
    run = Run(aws, number=f"+1312555{number:04d}")
    model = Model()
    run.sms = CheckingSms(run.clock, model)
    # The first members in one batch write (a join's transaction each is the slow part of
    # an example); later joins go through the keyword path.
    joined = [POOL[index][0] for index in sorted(initial)]
    run.seed(joined, zones=dict(POOL))
    model.on_list.update(joined)
    run.campaign()
    for action, value in [("tick", 0), ("send", 4), *steps, ("tick", 600), ("send", 40)]:
        apply_step(run, model, action, value)
    if model.cancelled:
        # what the cancel left waiting is settled, and the campaign is finished once
        for minutes in (2, 3):
            apply_step(run, model, "tick", minutes)
        [finished] = run.events_of(EventType.CAMPAIGN_FINISHED)
        assert finished.data["status"] == "cancelled"
        assert settled(run.counts())
