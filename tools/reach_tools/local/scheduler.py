"""EventBridge's schedule and the SQS event source mapping, played locally against the real
dispatcher and sender functions, on a clock the local run can move.

In Lambda the clock is the real one: a reminder due in two days goes out in two days. The local
run wants to show that in seconds, so it keeps its own ``DemoClock``. The dispatcher's scheduled
event carries that clock's time (its ``time`` is "now" for the tick), and the sender is built
with that clock (``reach.wiring.build_sender(settings, clock=clock, sleep=sleep)``): its
quiet-hour and start-time re-checks, its healthcare caps and its pacing all happen in demo
time, and pacing's sleep moves the clock forward instead of waiting.

The texts themselves go through the real SNS adapter into moto; ``LocalTick.published`` lists
the ones each tick put there, read back from moto's SNS backend.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from moto.sns.models import sns_backends

from reach.clock import system_clock
from reach.data.reminders import DueIndex, ReminderLifecycle
from reach.ports.send_queue import MalformedMessage, QueuedReminder
from reach.services.sending.notice import queued_from_stream
from reach.settings import Settings
from reach.wiring import build_sender
from reach_tools.demo_clock import DemoClock
from reach_tools.local.embedded import REGION, EmbeddedAws
from reach_tools.local.functions import ACCOUNT_ID, load_function
from reach_tools.local.streams import StreamFeed, sequence_number, stream_mapping
from reach_tools.template import TemplateError, functions, resolve_find_in_map

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef


DISPATCHER_FUNCTION = "DispatcherFunction"
SENDER_FUNCTION = "SenderFunction"
MAPPING_TYPE = "AWS::Lambda::EventSourceMapping"
#: What ReceiveMessage returns at most, whatever a mapping's BatchSize.
SQS_RECEIVE_LIMIT = 10


@dataclass(frozen=True)
class QueueMapping:
    """What template.yaml's AWS::Lambda::EventSourceMapping says about a function's queue."""

    queue: str
    batch_size: int
    reports_batch_item_failures: bool


def queue_mapping(template: Mapping[str, Any], function_id: str) -> QueueMapping:
    """The SQS queue (logical id) that feeds ``function_id``, and how it hands messages over."""
    for logical_id, resource in template["Resources"].items():
        if not isinstance(resource, dict) or resource.get("Type") != MAPPING_TYPE:
            continue
        properties = resource.get("Properties", {})
        if properties.get("FunctionName") != {"Ref": function_id}:
            continue
        source = properties.get("EventSourceArn")
        if not (isinstance(source, dict) and "Fn::GetAtt" in source):
            raise TemplateError(f"{logical_id}: EventSourceArn is not a !GetAtt of a queue")
        if source["Fn::GetAtt"][1] != "Arn":
            continue  # a table's stream (reach_tools.local.streams), not a queue
        return QueueMapping(
            queue=str(source["Fn::GetAtt"][0]),
            # Lambda's default for an SQS source.
            batch_size=int(resolve_find_in_map(template, properties.get("BatchSize", 10))),
            reports_batch_item_failures="ReportBatchItemFailures"
            in properties.get("FunctionResponseTypes", []),
        )
    raise TemplateError(f"no {MAPPING_TYPE} feeds {function_id}")


def schedule_rule_name(template: Mapping[str, Any], function_id: str) -> str:
    """The EventBridge rule SAM names for the function's Schedule event."""
    events = functions(template)[function_id].get("Events", {})
    for name, event in events.items():
        if isinstance(event, dict) and event.get("Type") == "Schedule":
            return f"{function_id}{name}"
    raise TemplateError(f"{function_id} has no Schedule event")


@dataclass(frozen=True)
class PublishedSms:
    """A text that reached moto's SNS: what the recipient's phone would have received."""

    message_id: str
    phone: str
    body: str
    #: The demo clock when the sender's batch that published it returned.
    published_at: datetime


@dataclass(frozen=True)
class Handoff:
    """One send-queue message (or notice stream record) handed to the sender."""

    #: The queue message's id, or the stream record's sequence number.
    message_id: str
    #: None for a body that is not a queued reminder (the sender acknowledges and drops it).
    reminder: QueuedReminder | None
    receive_count: int
    #: Listed in batchItemFailures: it stays in the queue and comes back for another try.
    retried: bool


@dataclass(frozen=True)
class LocalTick:
    """One local scheduled tick: what the dispatcher queued and what the sender did with it
    (the dispatcher's own count is ``dispatched``, its DispatchReport as the function
    answered)."""

    at: datetime
    #: The dispatcher function's answer: read, claimed, queued.
    dispatched: Mapping[str, int]
    handoffs: tuple[Handoff, ...]
    published: tuple[PublishedSms, ...]


class LocalScheduler:
    """Ticks the real dispatcher at a given time, then feeds the real sender from SQS in
    batches, the way the event source mapping does, until the queue has nothing visible."""

    def __init__(
        self,
        template: Mapping[str, Any],
        aws: EmbeddedAws,
        clock: DemoClock,
        *,
        table_prefix: str,
        region: str = REGION,
        account: str = ACCOUNT_ID,
    ) -> None:
        self.clock = clock
        # Loaded after the embedded AWS has set the environment, as in a cold start.
        self._dispatcher = load_function(template, DISPATCHER_FUNCTION, region)
        self._sender = load_function(template, SENDER_FUNCTION, region)
        settings = Settings.from_env()
        # In Lambda the sender's clock is the real time; here it is the demo clock, so that a
        # reminder two days out can go out now. The handler asks ``sender_from_env`` for its
        # sender, so that name in the loaded module is the one place to hand it over.
        sender = build_sender(settings, clock=clock, sleep=clock.sleep)
        self._sender.module.__dict__["sender_from_env"] = lambda: sender
        self._shards = DueIndex(settings.due_shards).shards
        mapping = queue_mapping(template, SENDER_FUNCTION)
        self._batch_size = min(mapping.batch_size, SQS_RECEIVE_LIMIT)
        self._reports_failures = mapping.reports_batch_item_failures
        self._queue_url = aws.queue_urls[mapping.queue]
        self._sqs = aws.sqs()
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self._queue_url, AttributeNames=["QueueArn", "VisibilityTimeout"]
        )["Attributes"]
        self._queue_arn = attributes["QueueArn"]
        # New notices reach the sender from the appointments table's stream.
        streamed = stream_mapping(template, SENDER_FUNCTION)
        self._stream = StreamFeed(
            streamed,
            aws.table_names[streamed.table],
            account=account,
            region=region,
        )
        self._visibility = timedelta(seconds=int(attributes["VisibilityTimeout"]))
        self._region = region
        self._account = account
        self._rule_arn = (
            f"arn:aws:events:{region}:{account}:rule/"
            f"{table_prefix}-{schedule_rule_name(template, DISPATCHER_FUNCTION)}"
        )
        # Messages the sender handed back, and when (in demo time) their visibility timeout
        # ends; moto counts that timeout in real seconds, which a jumping clock never waits.
        self._in_flight: dict[str, tuple[str, datetime]] = {}
        # One tick at a time, as one scheduled rule and one mapping would have it here.
        self._lock = threading.Lock()

    def tick(self, at: datetime | None = None) -> LocalTick:
        """Run the dispatcher for ``at`` (default: the clock's now), then drain the queue.

        A later ``at`` moves the clock there first: EventBridge fires when the time has come.
        The tick's time is whole seconds, as an event's ``time`` is.
        """
        with self._lock:
            moment = (self.clock() if at is None else at).astimezone(UTC).replace(microsecond=0)
            self.clock.advance_to(moment)
            dispatched = self._dispatcher.invoke(self.scheduled_event(moment))
            handoffs, published = self._drain()
            return LocalTick(moment, dict(dispatched), tuple(handoffs), tuple(published))

    def next_due(self, until: datetime) -> datetime | None:
        """The earliest ``due_at`` in the due index up to ``until``, or None: when the next
        tick will find work. The same key-bound query as the dispatcher's, one item a shard."""
        earliest: datetime | None = None
        lifecycle = ReminderLifecycle()
        for shard in self._shards:
            for entry in lifecycle.due(shard, until, 1):
                if earliest is None or entry.due_at < earliest:
                    earliest = entry.due_at
        return earliest

    def scheduled_event(self, at: datetime) -> dict[str, Any]:
        """The EventBridge event of events/dispatcher_scheduled.json, for the tick at ``at``."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self._account,
            "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),  # no fractions
            "region": self._region,
            "resources": [self._rule_arn],
            "detail": {},
        }

    def _drain(self) -> tuple[list[Handoff], list[PublishedSms]]:
        self._release_due_retries()
        handoffs: list[Handoff] = []
        published: list[PublishedSms] = []
        while batch := self._stream.take():
            before = set(self._sms_texts())
            handoffs += self._feed_stream(batch)
            published += self._published_since(before)
        while True:
            messages = self._sqs.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=self._batch_size,
                MessageSystemAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not messages:
                return handoffs, published
            texts = self._sms_texts()
            before = set(texts)
            failed = self._invoke_sender(messages)
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                self._sqs.delete_message_batch(
                    QueueUrl=self._queue_url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                        for n, m in enumerate(done)
                    ],
                )
            now = self.clock()
            for message in messages:
                if message["MessageId"] in failed:
                    # Like the mapping: not deleted, so it comes back once its visibility
                    # timeout has passed, and after maxReceiveCount receives, SQS moves it to
                    # the dead-letter queue.
                    self._in_flight[message["MessageId"]] = (
                        message["ReceiptHandle"],
                        now + self._visibility,
                    )
                handoffs.append(_handoff(message, retried=message["MessageId"] in failed))
            published += self._published_since(before)

    def _published_since(self, before: set[str]) -> list[PublishedSms]:
        now = self.clock()
        return [
            PublishedSms(message_id, phone, body, now)
            for message_id, (phone, body) in self._sms_texts().items()
            if message_id not in before
        ]

    def _feed_stream(self, batch: list[tuple[dict[str, Any], int]]) -> list[Handoff]:
        """One invocation with a batch of stream records, as the notice mapping makes it."""
        records = [record for record, _ in batch]
        try:
            response = self._sender.invoke({"Records": records})
        except Exception:
            # A failed invocation: the whole batch is delivered again.
            self._stream.reported(batch, {sequence_number(r) for r in records})
            raise
        failed = {str(item["itemIdentifier"]) for item in response.get("batchItemFailures", [])}
        if self._stream.mapping.reports_batch_item_failures:
            self._stream.reported(batch, failed)
        return [
            Handoff(
                sequence_number(record),
                queued_from_stream(record),
                tries + 1,
                retried=sequence_number(record) in failed,
            )
            for record, tries in batch
        ]

    def _invoke_sender(self, messages: list[MessageTypeDef]) -> set[str]:
        """The ids of the messages that stay in the queue."""
        event = {"Records": [self._record(message) for message in messages]}
        try:
            response = self._sender.invoke(event)
        except Exception:
            # A failed invocation returns its whole batch to the queue.
            now = self.clock()
            for message in messages:
                self._in_flight[message["MessageId"]] = (
                    message["ReceiptHandle"],
                    now + self._visibility,
                )
            raise
        if not self._reports_failures:
            return set()
        return {str(item["itemIdentifier"]) for item in response.get("batchItemFailures", [])}

    def _release_due_retries(self) -> None:
        now = self.clock()
        for message_id, (receipt, visible_at) in list(self._in_flight.items()):
            if visible_at > now:
                continue
            del self._in_flight[message_id]
            try:
                self._sqs.change_message_visibility(
                    QueueUrl=self._queue_url, ReceiptHandle=receipt, VisibilityTimeout=0
                )
            except self._sqs.exceptions.ClientError:
                # Received again meanwhile (moto's own timeout ran out) or gone to the DLQ.
                continue

    def _record(self, message: MessageTypeDef) -> dict[str, Any]:
        """One record of events/sender_sqs.json's shape."""
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": {},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue_arn,
            "awsRegion": self._region,
        }

    def _sms_texts(self) -> dict[str, tuple[str, str]]:
        # moto's backends are per process, shared by every embedded AWS in it, so every
        # reader takes a copy and compares it with the one taken before its own batch.
        return dict(sns_backends[self._account][self._region].sms_messages)


def _handoff(message: MessageTypeDef, *, retried: bool) -> Handoff:
    try:
        reminder: QueuedReminder | None = QueuedReminder.model_validate_json(message["Body"])
    except MalformedMessage:
        reminder = None
    receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
    return Handoff(message["MessageId"], reminder, receives, retried)


class SchedulerThread:
    """``reach-local serve``'s schedule: a tick every ``every`` real seconds, on a clock that
    follows the real time (or runs ahead of it, by what pacing slept)."""

    def __init__(
        self,
        scheduler: LocalScheduler,
        every: float,
        on_tick: Callable[[LocalTick], None],
        on_error: Callable[[Exception], None],
    ) -> None:
        if every <= 0:
            raise ValueError("the tick interval must be positive")
        self._scheduler = scheduler
        self._every = every
        self._on_tick = on_tick
        self._on_error = on_error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reach-local-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            clock = self._scheduler.clock
            moment = clock.advance_to(system_clock())
            try:
                self._on_tick(self._scheduler.tick(moment))
            except Exception as error:
                # A failed invocation does not stop EventBridge's schedule; the next tick runs.
                self._on_error(error)
            self._stop.wait(self._every)
