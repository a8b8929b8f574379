"""Faults, measured: each function, driven through its handler over moto, while 30% of the
HTTP requests to one AWS dependency fail with a throttle or a 5xx (seeded, so the same run
every time). Each cell checks that nothing is lost, nothing is sent twice and nothing is sent
in quiet hours, and counts what the failures cost.

Where the fault goes in: botocore's ``Endpoint._do_get_response``, one HTTP attempt, before
moto answers. The injected response (a 400 with the service's throttling code, or a 500 with
its internal-error code) then meets the client's own retry configuration, as in Lambda: PynamoDB
retries DynamoDB inside botocore (``max_retry_attempts``), the SMS, EventBridge and SQS
clients make one attempt and leave retries to Reach (``SDK_CLIENT_CONFIG``), and whatever
still fails reaches Reach's code: its in-call retries, a batch item failure that SQS
redelivers (at most five receives, then the dead-letter queue), or a lease that runs out and
lets the dispatcher claim the reminder again. botocore's backoff sleeps move the benchmark's
clock, not the wall clock. A faulted request is never applied: a throttle never is, and a 5xx
is modelled the same way (a 5xx after the write was applied is a different fault, not tested).

DynamoDB also gets read timeouts (``dynamodb-timeout``): the answer never comes, half the
time because the request never arrived (nothing applied) and half the time after moto applied
it (the write happened, the caller cannot know). PynamoDB's botocore retries a timeout as it
does a throttle, so a retried conditional write can meet its own first attempt: the code must
not take that for someone else's change and drop or repeat a text. A transaction's retry
carries the same ``ClientRequestToken``, which the embedded DynamoDB honours as DynamoDB does.

End User Messaging (``pinpoint-sms-voice-v2``) is not in moto: its cell uses a real botocore
client whose ``before-call`` hook answers ``SendTextMessage`` after botocore has checked the
request against the service model; the faults go in before that hook, as for every service.

Each cell drives only the function under test with faults; the functions before and after it
(the dispatcher before a sender cell, say) run fault-free. The ``notices`` cells drive the
sender as the appointments table's stream feeds it (``SenderNoticeMapping``), with the send
queue behind it for what it hands back.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from reach_tools.bench import stack
from reach_tools.bench.lambdas import Lambdas, lambdas
from reach_tools.bench.lambdas import event as lambda_event
from reach_tools.demo_clock import DemoClock
from reach_tools.local.functions import ACCOUNT_ID
from reach_tools.local.streams import StreamFeed, sequence_number, stream_mapping
from reach_tools.template import load_template

RATE = 0.3
SEED = 15
#: The service's own codes: a throttle (400) and an internal error (500).
CODES: dict[str, tuple[str, str]] = {
    "dynamodb": ("ThrottlingException", "InternalServerError"),
    "sqs": ("RequestThrottled", "InternalError"),
    "sns": ("Throttling", "InternalError"),
    "pinpoint-sms-voice-v2": ("ThrottlingException", "InternalServerException"),
    "events": ("ThrottlingException", "InternalException"),
}
#: Timeouts instead of throttles and 5xx, for the dependency named.
TIMED_OUT = {"dynamodb-timeout": "dynamodb"}
TIMEOUT_NOT_APPLIED, TIMEOUT_APPLIED = "ReadTimeout (not applied)", "ReadTimeout (applied)"
LABELS = {
    "dynamodb": "DynamoDB",
    "dynamodb-timeout": "DynamoDB, read timeouts",
    "sqs": "SQS",
    "sns": "SNS",
    "pinpoint-sms-voice-v2": "End User Messaging",
    "events": "EventBridge",
}
#: (function, dependency) for every AWS dependency each function calls itself.
CELLS: tuple[tuple[str, str], ...] = (
    ("dispatcher", "dynamodb"),
    ("dispatcher", "sqs"),
    ("sender", "dynamodb"),
    ("sender", "sns"),
    ("sender", "pinpoint-sms-voice-v2"),
    ("sender", "events"),
    ("inbound", "dynamodb"),
    ("inbound", "sns"),
    ("inbound", "events"),
    ("status", "dynamodb"),
    ("status", "events"),
    ("dispatcher", "dynamodb-timeout"),
    ("sender", "dynamodb-timeout"),
    ("inbound", "dynamodb-timeout"),
    ("status", "dynamodb-timeout"),
    ("api", "dynamodb"),
    ("api", "dynamodb-timeout"),
    ("authorizer", "dynamodb"),
    ("authorizer", "dynamodb-timeout"),
    ("reconciler", "sns"),
    ("reconciler", "dynamodb"),
    ("notices", "dynamodb"),
    ("notices", "dynamodb-timeout"),
    ("notices", "sns"),
)
#: Tries a client makes of one request the API answered with a 5xx (or that raised).
CLIENT_TRIES = 8
QUICK_LOAD = 6
FULL_LOAD = 60
TICK_MINUTES = 5
#: Recipients the sender's bus cell refuses: every other one of the first ten booked
#: (stack.book numbers them from +12125550000).
REFUSED = frozenset(f"+1212555{n:04d}" for n in range(0, 10, 2))
QUIET_START, QUIET_END = time(21, 0), time(8, 0)


# --- The injector ---------------------------------------------------------------------------


@dataclass
class Text:
    destination: str
    body: str
    at: datetime
    provider_id: str = ""


@dataclass
class Injector:
    """Fails ``rate`` of the HTTP attempts to ``service`` while ``armed``; records every
    text a provider accepted (SNS or End User Messaging), with the clock's time."""

    clock: DemoClock
    service: str
    rate: float = RATE
    seed: int = SEED
    armed: bool = False
    attempts: int = 0
    injected: Counter[str] = field(default_factory=Counter)
    texts: list[Text] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._draw = random.Random(self.seed)  # noqa: S311 - a seeded test draw  # nosec B311

    def fault(self, service: str) -> tuple[int, str] | None:
        if not self.armed or service != TIMED_OUT.get(self.service, self.service):
            return None
        with self._lock:
            self.attempts += 1
            if self._draw.random() >= self.rate:
                return None
            if self.service in TIMED_OUT:
                code = TIMEOUT_APPLIED if self._draw.random() < 0.5 else TIMEOUT_NOT_APPLIED
                self.injected[code] += 1
                return 0, code
            throttle, internal = CODES[service]
            code, status = (throttle, 400) if self._draw.random() < 0.5 else (internal, 500)
            self.injected[code] += 1
            return status, code

    def sent(
        self, service: str, operation: str, params: dict[str, Any], response: dict[str, Any]
    ) -> None:
        now, provider_id = self.clock(), str(response.get("MessageId", ""))
        if service == "sns" and operation == "Publish" and params.get("PhoneNumber"):
            text = Text(params["PhoneNumber"], params["Message"], now, provider_id)
        elif service == "pinpoint-sms-voice-v2" and operation == "SendTextMessage":
            text = Text(params["DestinationPhoneNumber"], params["MessageBody"], now, provider_id)
        else:
            return
        with self._lock:
            self.texts.append(text)


@contextmanager
def injecting(injector: Injector) -> Iterator[None]:
    """Put ``injector`` between botocore and moto, and botocore's backoff on its clock."""
    from botocore import endpoint
    from botocore.client import BaseClient
    from botocore.exceptions import ReadTimeoutError

    original_get = getattr(endpoint.Endpoint, "_do_get_response")  # noqa: B009 - private
    original_call = getattr(BaseClient, "_make_api_call")  # noqa: B009
    original_time = getattr(endpoint, "time")  # noqa: B009 - the module botocore sleeps with

    def do_get_response(self: Any, request: Any, operation_model: Any, context: Any) -> Any:
        service = operation_model.service_model.service_name
        fault = injector.fault(service)
        if fault is None:
            return original_get(self, request, operation_model, context)
        status, code = fault
        if code in (TIMEOUT_APPLIED, TIMEOUT_NOT_APPLIED):
            if code == TIMEOUT_APPLIED:
                original_get(self, request, operation_model, context)
            return None, ReadTimeoutError(endpoint_url=request.url)
        parsed = {
            "Error": {"Code": code, "Message": "injected fault"},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}},
        }
        return (_response(request.url, status), parsed), None

    def make_api_call(self: BaseClient, operation_name: str, api_params: Any) -> Any:
        response = original_call(self, operation_name, api_params)
        injector.sent(self.meta.service_model.service_name, operation_name, api_params, response)
        return response

    class _Time:
        """botocore's ``time`` for its retry backoff: the wait passes in simulated time."""

        sleep = staticmethod(injector.clock.sleep)

        def __getattr__(self, name: str) -> Any:
            return getattr(original_time, name)

    setattr(endpoint.Endpoint, "_do_get_response", do_get_response)  # noqa: B010
    setattr(BaseClient, "_make_api_call", make_api_call)  # noqa: B010
    setattr(endpoint, "time", _Time())  # noqa: B010
    try:
        with _idempotency_on(injector.clock):
            yield
    finally:
        setattr(endpoint.Endpoint, "_do_get_response", original_get)  # noqa: B010
        setattr(BaseClient, "_make_api_call", original_call)  # noqa: B010
        setattr(endpoint, "time", original_time)  # noqa: B010


#: The Powertools idempotency modules that read the time (``datetime.datetime.now()``).
_IDEMPOTENCY_MODULES = (
    "aws_lambda_powertools.utilities.idempotency.base",
    "aws_lambda_powertools.utilities.idempotency.persistence.base",
    "aws_lambda_powertools.utilities.idempotency.persistence.dynamodb",
)


@contextmanager
def _idempotency_on(clock: DemoClock) -> Iterator[None]:
    """Powertools idempotency's time on the benchmark's clock. A record that a timed-out
    write left "in progress" is held until the invocation's remaining time has passed; SQS
    redelivers after the visibility timeout, which is longer. On the wall clock the
    simulated redeliveries would all come within that hold and end in the dead-letter queue,
    which no deployed queue does."""
    import datetime as real
    import importlib

    class _ClockTime(real.datetime):
        @classmethod
        def now(cls, tz: real.tzinfo | None = None) -> real.datetime:  # type: ignore[override]
            return clock() if tz is None else clock().astimezone(tz)

    class _Datetime:
        datetime = _ClockTime

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    modules = [importlib.import_module(name) for name in _IDEMPOTENCY_MODULES]
    originals = [module.dt for module in modules]
    for module in modules:
        module.dt = _Datetime()  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module, original in zip(modules, originals, strict=True):
            module.dt = original  # type: ignore[attr-defined]


def _response(url: str, status: int) -> Any:
    """An HTTP response with no body: the parsed one is the injector's."""
    from botocore.awsrequest import AWSResponse
    from botocore.compat import HTTPHeaders

    return AWSResponse(url, status, HTTPHeaders(), _EmptyBody())


class _EmptyBody:
    """The raw body of an injected response: botocore reads it for its response events."""

    def stream(self, *_args: Any, **_kwargs: Any) -> Iterator[bytes]:
        yield b""


@contextmanager
def armed(injector: Injector) -> Iterator[None]:
    injector.armed = True
    try:
        yield
    finally:
        injector.armed = False


def eum_provider(injector: Injector, refuse: frozenset[str] = frozenset()) -> Callable[[Any], Any]:
    """The End User Messaging adapter over a client whose service is a ``before-call`` hook.

    The hook answers before botocore's endpoint, so it draws the fault itself; the client
    makes one attempt (``SDK_CLIENT_CONFIG``), so no botocore retry is skipped by this.
    Texts to a number in ``refuse`` get a ValidationException: a send that fails for good,
    which the sender reports on the bus."""
    clock = injector.clock
    import boto3

    from reach.adapters.sms_base import SDK_CLIENT_CONFIG
    from reach.adapters.sms_eum import EndUserMessagingSmsSender

    def build(settings: Any) -> Any:
        client = boto3.client(
            "pinpoint-sms-voice-v2",
            region_name=settings.region,
            # Nowhere: the hook answers every call; a missed hook must not reach AWS.
            endpoint_url="https://sms-voice.invalid",
            config=SDK_CLIENT_CONFIG,
        )
        sent = Counter[str]()

        def answer(params: dict[str, Any], **_kwargs: Any) -> Any:
            fault = injector.fault("pinpoint-sms-voice-v2")
            if fault is None and json.loads(params["body"])["DestinationPhoneNumber"] in refuse:
                fault = (400, "ValidationException")
            if fault is not None:
                status, code = fault
                error = {
                    "Error": {"Code": code, "Message": "injected fault"},
                    "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}},
                }
                return _response("https://sms-voice.invalid", status), error
            sent["n"] += 1
            response = {"MessageId": f"eum-{sent['n']:06d}"}
            return _response("https://sms-voice.invalid", 200), response

        client.meta.events.register("before-call.pinpoint-sms-voice-v2.SendTextMessage", answer)
        return EndUserMessagingSmsSender(client, clock=clock, sleep=clock.sleep)

    return build


# --- One cell ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    function: str
    dependency: str
    #: Reminders, notices, replies or receipts put through.
    load: int
    invocations: int
    #: Invocations that raised (the event source or the schedule tries again).
    invocation_errors: int
    attempts: int
    injected: dict[str, int]
    #: SQS redeliveries (batch item failures and failed invocations), and dead-lettered.
    redelivered: int
    dead_lettered: int
    #: Final outcomes, by status (and reason).
    outcomes: dict[str, int]
    lost: int
    duplicated: int
    in_quiet_hours: int

    @property
    def held_up(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.in_quiet_hours == 0

    def to_json(self) -> dict[str, Any]:
        return self.__dict__ | {"held_up": self.held_up}


def _cell(function: str, dependency: str, load: int, injector: Injector, **measured: Any) -> Cell:
    """A cell with what every scenario reports alike: what ran, and the faults drawn."""
    return Cell(
        function=function,
        dependency=dependency,
        load=load,
        attempts=injector.attempts,
        injected=dict(injector.injected),
        **measured,
    )


def run_cell(function: str, dependency: str, load: int, seed: int = SEED) -> Cell:
    return _SCENARIOS[function](function, dependency, load, seed)


def measure(load: int = FULL_LOAD, cells: tuple[tuple[str, str], ...] = CELLS) -> list[Cell]:
    return [run_cell(function, dependency, load) for function, dependency in cells]


def _local_start(zone: str) -> datetime:
    """20:40 tonight in ``zone``: the reminders fall due just before quiet hours start."""
    now = datetime.now(ZoneInfo(zone))
    return now.replace(hour=20, minute=40, second=0, microsecond=0) + timedelta(days=1)


def _in_quiet_hours(at: datetime, zone: str) -> bool:
    local = at.astimezone(ZoneInfo(zone)).time()
    return local >= QUIET_START or local < QUIET_END


@contextmanager
def _world(function: str, dependency: str, seed: int) -> Iterator[tuple[Lambdas, Injector]]:
    start = _local_start(stack.ZONE)
    clock = DemoClock(start)
    injector = Injector(clock, dependency, seed=seed)
    # The sender publishes only for a failed send: its bus cell refuses one recipient.
    refuse = REFUSED if (function, dependency) == ("sender", "events") else frozenset()
    sms = (
        eum_provider(injector, refuse)
        if dependency in ("pinpoint-sms-voice-v2", "events")
        else None
    )
    names = ("dispatcher", "sender", "inbound", "status", "api", "authorizer", "reconciler")
    with injecting(injector), lambdas(f"faults-{function}", clock, names=names, sms=sms) as world:
        yield world, injector


def _invoke(
    invoke: Callable[[str, Any], Any], injector: Injector, name: str, target: str, event: Any
) -> Any:
    """Invoke ``name``, with faults when it is the function under test; None if it raised."""
    try:
        if name == target:
            with armed(injector):
                return invoke(name, event)
        return invoke(name, event)
    except Exception:
        return None


class _Pump(stack.Mapping):
    """The event source mapping, faults on only for the function under test; an invocation
    that raised fails its whole batch (Lambda redelivers every message)."""

    injector: Injector
    target: str
    errors: int = 0

    def pump(self) -> int:
        original = self.world.invoke

        def invoke(name: str, event: dict[str, Any]) -> Any:
            response = _invoke(original, self.injector, name, self.target, event)
            if response is None:
                self.errors += 1
                return {
                    "batchItemFailures": [
                        {"itemIdentifier": r["messageId"]} for r in event["Records"]
                    ]
                }
            return response

        self.world.invoke = invoke  # type: ignore[method-assign]
        try:
            return super().pump()
        finally:
            self.world.invoke = original  # type: ignore[method-assign]


def _pump(world: Lambdas, injector: Injector, target: str, queue: str, name: str) -> _Pump:
    sample = {"sender": "sender_sqs.json", "inbound": "inbound_sqs.json"}.get(
        name, "status_sqs.json"
    )
    visibility = load_template()["Resources"][queue]["Properties"]["VisibilityTimeout"]
    pump = _Pump(
        world,
        world.aws.names[queue],
        name,
        sample,
        batch=10,
        visibility=timedelta(seconds=visibility),
    )
    pump.injector, pump.target = injector, target
    return pump


# --- Reminders: the dispatcher and the sender ------------------------------------------------


def _reminders(function: str, dependency: str, load: int, seed: int) -> Cell:
    with _world(function, dependency, seed) as (world, injector):
        clinic = stack.open_clinic(world)
        start = world.clock()
        # Reminders 13 h ahead of visits from 09:40 on: due 20:40 onwards, up to and into
        # quiet hours (21:00), where planning holds the late ones until 08:00.
        booked = stack.book(
            world, clinic, load, starts_at=start + timedelta(hours=13), reminders=("PT13H",)
        )
        sender = _pump(world, injector, function, "SendQueue", "sender")
        ticks = errors = 0
        morning = (start + timedelta(hours=11, minutes=15)).replace(minute=0)
        for at in _minutes(start, timedelta(minutes=45), morning, timedelta(minutes=30)):
            world.clock.advance_to(at)
            ticks += 1
            if _invoke(world.invoke, injector, "dispatcher", function, stack.scheduled(at)) is None:
                errors += 1
            for _ in sender.drain(limit=200):
                pass
        final = _statuses(world, "reminder")
        sent_per_phone = Counter(text.destination for text in injector.texts)
        phones = {a.phone for a in booked}
        unfinished = sum(n for status, n in final.items() if status.split(" ")[0] in _OPEN)
        texted = sum(1 for phone in phones if sent_per_phone[phone])
        recorded_sent = final.get("sent", 0)
        return _cell(
            function,
            dependency,
            load,
            injector,
            invocations=ticks if function == "dispatcher" else sender.invocations,
            invocation_errors=errors if function == "dispatcher" else sender.errors,
            redelivered=sender.redelivered,
            dead_lettered=len(sender.dead_lettered),
            outcomes=dict(sorted(final.items())),
            # Lost: never finished, or recorded as sent with no text
            lost=unfinished + max(0, recorded_sent - texted),
            duplicated=sum(n - 1 for n in sent_per_phone.values() if n > 1),
            in_quiet_hours=sum(_in_quiet_hours(t.at, stack.ZONE) for t in injector.texts),
        )


_OPEN = ("pending", "queued", "sending", "held")


def _minutes(
    start: datetime, evening: timedelta, morning: datetime, until: timedelta
) -> Iterator[datetime]:
    """Every fifth minute of the evening from ``start``, then from ``morning`` on: the
    schedule runs each minute; every fifth is enough for leases of 15 minutes to run out and
    be settled, at a fifth of the cost."""
    for offset in range(0, int(evening.total_seconds() // 60), TICK_MINUTES):
        yield start + timedelta(minutes=offset)
    for offset in range(0, int(until.total_seconds() // 60), TICK_MINUTES):
        yield morning + timedelta(minutes=offset)


def _statuses(world: Lambdas, item_type: str) -> Counter[str]:
    """Every reminder's (or notice's) status and reason, read straight from the table."""
    outcomes: Counter[str] = Counter()
    for item in _stored(world, item_type):
        status = item["status"]["S"]
        reason = item.get("reason", {}).get("S")
        outcomes[f"{status} ({reason})" if reason and status != "sent" else status] += 1
    return outcomes


# --- Replies: the inbound function ---------------------------------------------------------------


def _replies(function: str, dependency: str, load: int, seed: int) -> Cell:
    with _world(function, dependency, seed) as (world, injector):
        clinic = stack.open_clinic(world, quiet_hours="00:00-00:00")
        world.clock.set(world.clock() - timedelta(hours=8))  # mid-day
        booked = stack.book(world, clinic, load, starts_at=world.clock() + timedelta(days=2))
        queue = world.aws.names["InboundQueue"]
        for n, appointment in enumerate(booked):
            body = stack.reply_body(appointment.phone, "C", f"fault-reply-{n:04d}")
            # SNS delivers at least once: every third reply arrives twice
            for _ in range(2 if n % 3 == 0 else 1):
                world.aws.sqs.send_message(QueueUrl=queue, MessageBody=body)
        inbound = _pump(world, injector, function, "InboundQueue", "inbound")
        for _ in inbound.drain(limit=500):
            world.clock.advance(timedelta(seconds=5))
        confirmed = _appointment_statuses(world)
        answers = Counter(t.destination for t in injector.texts)
        return _cell(
            function,
            dependency,
            load,
            injector,
            invocations=inbound.invocations,
            invocation_errors=inbound.errors,
            redelivered=inbound.redelivered,
            dead_lettered=len(inbound.dead_lettered),
            outcomes=dict(sorted(confirmed.items())) | {"answered": len(answers)},
            # Lost: a reply whose confirmation was not applied, or never answered
            lost=(load - confirmed.get("confirmed", 0)) + (load - len(answers)),
            duplicated=sum(n - 1 for n in answers.values() if n > 1),
            in_quiet_hours=0,  # this clinic has none; answers follow the reply at once
        )


def _appointment_statuses(world: Lambdas) -> Counter[str]:
    statuses: Counter[str] = Counter()
    for item in _stored(world, "appointment"):
        statuses[item["status"]["S"]] += 1
    return statuses


# --- Receipts: the status function -----------------------------------------------------------


def _receipts(function: str, dependency: str, load: int, seed: int) -> Cell:
    with _world(function, dependency, seed) as (world, injector):
        clinic = stack.open_clinic(world, quiet_hours="00:00-00:00")
        world.clock.set(world.clock() - timedelta(hours=8))
        stack.book(
            world, clinic, load, starts_at=world.clock() + timedelta(hours=3), reminders=("PT2H",)
        )
        world.clock.advance(timedelta(hours=1, minutes=load + 1))
        world.invoke("dispatcher", stack.scheduled(world.clock()))
        sender = _pump(world, injector, "none", "SendQueue", "sender")
        for _ in sender.drain():
            pass
        queue = world.aws.names["StatusQueue"]
        sent = [(text.provider_id, text.destination) for text in injector.texts]
        for n, (provider_id, phone) in enumerate(sent):
            world.clock.advance(timedelta(seconds=1))
            body = stack.receipt_body(provider_id, phone, world.clock(), delivered=n % 2 == 0)
            world.aws.sqs.send_message(QueueUrl=queue, MessageBody=body)
        status = _pump(world, injector, function, "StatusQueue", "status")
        for _ in status.drain(limit=500):
            pass
        final = _message_statuses(world)
        expected = len(sent)
        applied = final.get("delivered", 0) + final.get("undelivered", 0)
        return _cell(
            function,
            dependency,
            load,
            injector,
            invocations=status.invocations,
            invocation_errors=status.errors,
            redelivered=status.redelivered,
            dead_lettered=len(status.dead_lettered),
            outcomes=dict(sorted(final.items())),
            lost=expected - applied,
            duplicated=0,  # a receipt sends nothing; DeliveryFailed events carry stable ids
            in_quiet_hours=0,
        )


def _message_statuses(world: Lambdas) -> Counter[str]:
    paginator = world.aws.dynamodb.get_paginator("scan")
    statuses: Counter[str] = Counter()
    for page in paginator.paginate(
        TableName=world.aws.settings.appointments_table,
        FilterExpression="begins_with(sk, :message)",
        ExpressionAttributeValues={":message": {"S": "message#"}},
    ):
        for item in page["Items"]:
            if item.get("direction", {}).get("S", "outbound") == "outbound":
                statuses[item["status"]["S"]] += 1
    return statuses


# --- Bookings: the API, and the authorizer in front of it ------------------------------------


@dataclass
class _Client:
    """A caller of ``name`` that sends the same request again after a crash (an error API
    Gateway answers with a 5xx), up to ``CLIENT_TRIES`` times: ``tries`` yields each answer,
    and the caller stops when one will do."""

    world: Lambdas
    injector: Injector
    name: str
    target: str
    invocations: int = 0
    errors: int = 0
    retried: int = 0

    def tries(self, request: Any) -> Iterator[Any]:
        for attempt in range(CLIENT_TRIES):
            self.invocations += 1
            self.retried += attempt > 0
            answer = _invoke(self.world.invoke, self.injector, self.name, self.target, request)
            if answer is None:
                self.errors += 1
                continue
            yield answer

    def counts(self) -> dict[str, int]:
        """The cell's invocations, those that raised, and the client's repeats."""
        return {
            "invocations": self.invocations,
            "invocation_errors": self.errors,
            "redelivered": self.retried,
        }


def _bookings(function: str, dependency: str, load: int, seed: int) -> Cell:
    """``load`` bookings through the API handler, each with its own external_id, retried by
    the client (the same request) after a 5xx or a crash, as a scheduling system would."""
    with _world(function, dependency, seed) as (world, injector):
        clinic = stack.open_clinic(world)
        starts = world.clock() + timedelta(days=3)
        client = _Client(world, injector, "api", function)
        answers: Counter[str] = Counter()
        for n in range(load):
            request = stack.create_appointment(
                clinic.tenant.tenant_id,
                phone=f"+1212555{n:04d}",
                starts_at=starts + timedelta(minutes=n),
                external_id=f"fault-{n:04d}",
            )
            for response in client.tries(request):
                answers[str(response["statusCode"])] += 1
                if response["statusCode"] < 500:
                    break
        stored = _appointment_external_ids(world)
        return _cell(
            function,
            dependency,
            load,
            injector,
            **client.counts(),
            dead_lettered=0,
            outcomes={f"answered {code}": n for code, n in sorted(answers.items())}
            | {"stored": len(stored)},
            # Lost: a booking not stored after the client's tries
            lost=load - len(stored),
            duplicated=sum(n - 1 for n in stored.values() if n > 1),
            in_quiet_hours=0,  # a booking sends nothing itself
        )


def _stored(world: Lambdas, item_type: str) -> Iterator[dict[str, Any]]:
    """Every item of ``item_type`` in the appointments table, read straight from it."""
    paginator = world.aws.dynamodb.get_paginator("scan")
    for page in paginator.paginate(
        TableName=world.aws.settings.appointments_table,
        FilterExpression="#type = :type",
        ExpressionAttributeNames={"#type": "type"},
        ExpressionAttributeValues={":type": {"S": item_type}},
    ):
        yield from page["Items"]


def _appointment_external_ids(world: Lambdas) -> Counter[str]:
    stored: Counter[str] = Counter()
    for item in _stored(world, "appointment"):
        stored[item.get("external_id", {}).get("S", "")] += 1
    return stored


def _keys(function: str, dependency: str, load: int, seed: int) -> Cell:
    """``load`` API requests' keys checked by the authorizer, half valid and half revoked.
    A throttled read must never deny a valid key (API Gateway would cache the Deny) nor allow
    a revoked one: it raises, API Gateway answers 500, and the client tries again."""
    with _world(function, dependency, seed) as (world, injector):
        clinic = stack.open_clinic(world)
        from reach.data.tenants import ApiKeyRepository, TenantRepository
        from reach.services.tenants import TenantAdmin

        admin = TenantAdmin(TenantRepository(), ApiKeyRepository(), world.clock)
        revoked = admin.issue_key(clinic.tenant.tenant_id, "revoked")
        admin.revoke_key(clinic.tenant.tenant_id, revoked.record.prefix)
        client = _Client(world, injector, "authorizer", function)
        wrong = 0
        decisions: Counter[str] = Counter()
        for n in range(load):
            valid = n % 2 == 0
            request = stack.token(clinic.key if valid else revoked.secret)
            for policy in client.tries(request):
                effect = policy["policyDocument"]["Statement"][0]["Effect"]
                decisions[f"{'valid' if valid else 'revoked'} {effect}"] += 1
                wrong += (effect == "Allow") != valid
                break
        decided = sum(decisions.values())
        return _cell(
            function,
            dependency,
            load,
            injector,
            **client.counts(),
            dead_lettered=0,
            outcomes=dict(sorted(decisions.items())),
            # Lost: a request never decided; a wrong decision counts as lost too
            lost=(load - decided) + wrong,
            duplicated=0,
            in_quiet_hours=0,
        )


# --- The hourly reconciler --------------------------------------------------------------------


def _opt_outs(function: str, dependency: str, load: int, seed: int) -> Cell:
    """``load`` booked numbers opt out at the carrier (SNS's list); the hourly reconciler runs
    for eight hours with faults. Every listed number must end opted out for the tenant."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    with _world(function, dependency, seed) as (world, injector):
        clinic = stack.open_clinic(world)
        booked = stack.book(world, clinic, load, starts_at=world.clock() + timedelta(days=3))
        listed = [a.phone for a in booked]
        sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].opt_out_numbers = list(listed)
        tick = lambda_event("reconciler_scheduled.json")
        invocations = errors = 0
        for _ in range(CLIENT_TRIES):  # its schedule: once an hour, whatever the last run did
            invocations += 1
            world.clock.advance(timedelta(hours=1))
            if _invoke(world.invoke, injector, "reconciler", function, tick) is None:
                errors += 1
        contacts = _opted_out(world, clinic.tenant.tenant_id, listed)
        return _cell(
            function,
            dependency,
            load,
            injector,
            invocations=invocations,
            invocation_errors=errors,
            redelivered=0,
            dead_lettered=0,
            outcomes={"opted out": contacts},
            lost=load - contacts,
            duplicated=0,  # an opt-out recorded again is the same record
            in_quiet_hours=0,
        )


def _opted_out(world: Lambdas, tenant_id: str, phones: list[str]) -> int:
    from reach.data.contacts import ContactRepository

    contacts = ContactRepository()
    return sum(contacts.get(tenant_id, phone).opted_out for phone in phones)


# --- Notices: the sender, fed by the appointments table's stream -----------------------------


@dataclass
class _StreamPump:
    """The notice mapping: the sender invoked with what the stream holds, faults on; an
    invocation that raised fails its whole batch, and a reported record comes back with those
    after it until the mapping's retries are spent."""

    world: Lambdas
    injector: Injector
    feed: StreamFeed
    invocations: int = 0
    errors: int = 0
    redelivered: int = 0

    def drain(self, limit: int = 200) -> None:
        for _ in range(limit):
            batch = self.feed.take()
            if not batch:
                return
            self.invocations += 1
            records = [record for record, _ in batch]
            event = {"Records": records}
            response = _invoke(self.world.invoke, self.injector, "sender", "sender", event)
            if response is None:
                self.errors += 1
                failed = {sequence_number(record) for record in records}
            else:
                failed = {str(f["itemIdentifier"]) for f in response.get("batchItemFailures", [])}
            self.redelivered += self.feed.reported(batch, failed)


def _notices(function: str, dependency: str, load: int, seed: int) -> Cell:
    """Field-service notices, half asked without waiting, reach the sender from the table's
    stream while its dependency fails; one that needs another try goes through the send
    queue, and one whose stream record is given up on comes back when its lease runs out."""
    from reach.domain.notices import NoticeType
    from reach.services.dispatch import CLAIM_LEASE
    from reach.services.notices import NoticeRequest
    from reach.wiring import build_services

    with _world("sender", dependency, seed) as (world, injector):
        clinic = stack.open_clinic(world, quiet_hours="00:00-00:00")
        world.clock.set(world.clock() - timedelta(hours=8))  # mid-day
        # The mapping reads the stream from now on, before any notice is written
        stream = _StreamPump(
            world,
            injector,
            StreamFeed(
                stream_mapping(world.aws.template, "SenderFunction"),
                world.aws.settings.appointments_table,
                account=ACCOUNT_ID,
                region=world.aws.settings.region,
            ),
        )
        booked = stack.book(
            world, clinic, load, starts_at=world.clock() + timedelta(hours=3), reminders=()
        )
        notices = build_services(world.aws.settings, clock=world.clock).notices
        for n, appointment in enumerate(booked):
            notices.ask(
                clinic.tenant.tenant_id,
                appointment.appointment_id,
                NoticeRequest(type=NoticeType.ON_THE_WAY, eta_minutes=90),
                wait=n % 2 == 0,
            )
        queue = _pump(world, injector, "sender", "SendQueue", "sender")
        for _ in range(3):  # until the leases of what was given up on have run out
            stream.drain()
            for _ in queue.drain(limit=200):
                pass
            world.clock.advance(CLAIM_LEASE + timedelta(minutes=1))
            _invoke(world.invoke, injector, "dispatcher", "sender", stack.scheduled(world.clock()))
        final = _statuses(world, "notice")
        sent_per_phone = Counter(text.destination for text in injector.texts)
        texted = sum(1 for a in booked if sent_per_phone[a.phone])
        unfinished = sum(n for status, n in final.items() if status.split(" ")[0] in _OPEN)
        return _cell(
            "notices",
            dependency,
            load,
            injector,
            invocations=stream.invocations + queue.invocations,
            invocation_errors=stream.errors + queue.errors,
            redelivered=stream.redelivered + queue.redelivered,
            dead_lettered=len(stream.feed.given_up) + len(queue.dead_lettered),
            outcomes=dict(sorted(final.items())),
            lost=unfinished + max(0, final.get("sent", 0) - texted),
            duplicated=sum(n - 1 for n in sent_per_phone.values() if n > 1),
            in_quiet_hours=sum(_in_quiet_hours(t.at, stack.ZONE) for t in injector.texts),
        )


_SCENARIOS: dict[str, Callable[[str, str, int, int], Cell]] = {
    "dispatcher": _reminders,
    "sender": _reminders,
    "inbound": _replies,
    "status": _receipts,
    "api": _bookings,
    "authorizer": _keys,
    "reconciler": _opt_outs,
    "notices": _notices,
}


# --- The table --------------------------------------------------------------------------------


def report(cells: list[Cell]) -> str:
    header = (
        "| function | dependency | load | invocations (raised) | requests | injected "
        "| redelivered | dead-lettered | outcome | lost | duplicated | in quiet hours |"
    )
    lines = [
        f"Faults: {RATE:.0%} of one dependency's requests throttled or 5xx, or for "
        f"DynamoDB's read-timeout rows timed out, half after being applied (seed {SEED})",
        "",
        header,
        "|" + "---|" * 12,
    ]
    for cell in cells:
        injected = sum(cell.injected.values())
        outcome = ", ".join(f"{name} {n}" for name, n in cell.outcomes.items())
        lines.append(
            f"| {cell.function} | {LABELS[cell.dependency]} | {cell.load} "
            f"| {cell.invocations} ({cell.invocation_errors}) | {cell.attempts} | {injected} "
            f"| {cell.redelivered} | {cell.dead_lettered} | {outcome} | {cell.lost} "
            f"| {cell.duplicated} | {cell.in_quiet_hours} |"
        )
    return "\n".join(lines)


def to_json(cells: list[Cell]) -> list[dict[str, Any]]:
    return [json.loads(json.dumps(cell.to_json())) for cell in cells]
