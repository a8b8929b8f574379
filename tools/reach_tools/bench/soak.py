"""Soak: each function handles N invocations (10,000 in ``make bench``) in one warm process, as
a Lambda container does, and its memory after the first ``WARM`` and after the last must
differ by less than 10%.

The invocations run untraced (tracemalloc slows every allocation several times over, which
made 10,000 of them take hours), and memory is read at a few checkpoints:
- the process's resident memory (RSS, after a garbage collection) after ``WARM``
  invocations, after the checkpoint (a tenth of the run: 1,000 of 10,000) and after the last.
  What the invocations store (texts, replies, answers, idempotency records, queued messages)
  would live in DynamoDB and SQS, outside a Lambda container; in the embedded AWS it is in
  this process, so every ``FORGET_EVERY`` invocations it is forgotten (``_Store``), and the
  RSS is the container's and moto's bookkeeping. moto's list of every model instance it
  makes is not kept either (reach_tools.local.embedded, docs/facts.md#moto);
- the container's own: what ``WINDOW`` invocations right after the checkpoint, and the last
  ``WINDOW``, left held after a garbage collection, traced by ``tracemalloc`` with every
  allocation made under moto left out (moto anywhere in its stack). Per invocation, it
  should be near zero, early and late alike: Reach's, Powertools', botocore's and
  PynamoDB's.
The time per invocation late (the last untraced stretch as long as the early one) as a ratio
to early (from ``WARM`` to the checkpoint) shows whether each call gets slower as it runs.

Each function gets real work on every call:
- authorizer: a valid key (one read);
- api: ``GET /appointments/{id}`` of one of 50 bookings, in turn;
- dispatcher: a tick a second later than the last, which claims and queues what fell due;
- sender: one claimed reminder a call, each a fresh text (SNS into moto);
- inbound: a fresh reply (its own inboundMessageId) from one of 50 recipients, answered;
- status: a receipt for one of the texts sent, in turn;
- reconciler: an hourly run over the SNS opt-out list.
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from reach_tools.bench import stack
from reach_tools.bench.lambdas import Lambdas, lambdas
from reach_tools.bench.lambdas import event as lambda_event
from reach_tools.demo_clock import DemoClock
from reach_tools.local.moto_speed import items_of

FULL_INVOCATIONS = 10_000
QUICK_INVOCATIONS = 300
#: Memory is first read after this many invocations: clients, caches and pools are warm.
WARM = 100
#: The most the memory may grow from after WARM invocations to after the last.
LIMIT = 0.10
#: Invocations traced for Reach's own held memory, after the checkpoint and at the end.
WINDOW = 200
#: Frames kept per traced allocation: enough to see moto anywhere in the stack, so that what
#: the embedded AWS holds (the items stored, parsed by json for moto) is told from the rest.
#: Deep stacks cost several times the run time: only the two windows are traced.
FRAMES = 30
SOAKED = ("authorizer", "api", "dispatcher", "sender", "inbound", "status", "reconciler")
POPULATION = 50
#: After this many invocations, the embedded AWS forgets what they stored (``_Store``).
FORGET_EVERY = 100


@dataclass(frozen=True)
class Soak:
    function: str
    invocations: int
    #: Resident bytes of the process after WARM invocations, the checkpoint and the last.
    after_warm: int
    at_checkpoint: int
    after_last: int
    checkpoint: int
    #: Bytes Reach (not moto) left held per invocation, in the early and the late window.
    early_held_per_call: float
    late_held_per_call: float
    #: Mean seconds per untraced invocation, early and late.
    early_seconds: float
    late_seconds: float
    #: Invocations that did what they were given (an Allow, a 200, a send...).
    succeeded: int

    @property
    def growth(self) -> float:
        return (self.after_last - self.after_warm) / max(1, self.after_warm)

    @property
    def growth_from_checkpoint(self) -> float:
        return (self.after_last - self.at_checkpoint) / max(1, self.at_checkpoint)

    @property
    def time_ratio(self) -> float:
        return self.late_seconds / self.early_seconds if self.early_seconds else float("inf")

    def to_json(self) -> dict[str, Any]:
        return self.__dict__ | {
            "growth": self.growth,
            "growth_from_checkpoint": self.growth_from_checkpoint,
            "time_ratio": self.time_ratio,
        }


@dataclass
class _Run:
    """One soak's invocations, laid out: warm-up, early (timed), early window (traced),
    middle, late (timed), late window (traced)."""

    call: Callable[[int], int]
    succeeded: int = 0
    done: int = 0
    seconds: list[float] = field(default_factory=list)
    store: _Store | None = None

    def untraced(self, until: int) -> list[float]:
        timed: list[float] = []
        while self.done < until:
            started = time.perf_counter()
            self.succeeded += self.call(self.done)
            timed.append(time.perf_counter() - started)
            self.done += 1
            if self.store is not None and self.done % FORGET_EVERY == 0:
                self.store.forget()
        return timed

    def traced(self, count: int) -> float:
        """Bytes per invocation that ``count`` traced invocations left held, moto's apart."""
        gc.collect()
        tracemalloc.start(FRAMES)
        try:
            for _ in range(count):
                self.succeeded += self.call(self.done)
                self.done += 1
            gc.collect()
            snapshot = tracemalloc.take_snapshot().filter_traces(_NOT_MOTO)
        finally:
            tracemalloc.stop()
        return sum(stat.size for stat in snapshot.statistics("filename")) / max(1, count)


def measure(invocations: int = FULL_INVOCATIONS, functions: tuple[str, ...] = SOAKED) -> list[Soak]:
    if invocations <= WARM:
        raise ValueError(f"a soak needs more than {WARM} invocations")
    return [_soak(name, invocations) for name in functions]


def _soak(name: str, invocations: int) -> Soak:
    start = datetime.now(UTC).replace(microsecond=0)
    clock = DemoClock(start)
    checkpoint = max(WARM + 1, invocations // 10)
    window = max(1, min(WINDOW, (invocations - checkpoint) // 3))
    # The status soak's setup sends its texts through the sender first.
    loaded = (name, "sender") if name == "status" else (name,)
    with lambdas(f"soak-{name}", clock, names=loaded) as world:
        run = _Run(_SETUPS[name](world, invocations))
        run.untraced(WARM)
        outputs = (world.aws.send_queue_url,) if name == "dispatcher" else ()
        run.store = _Store(world, outputs)
        after_warm = resident_bytes()
        early = run.untraced(checkpoint)
        at_checkpoint = resident_bytes()
        early_held = run.traced(window)
        middle = run.untraced(invocations - window)
        late = middle[-len(early) :]
        late_held = run.traced(window)
        after_last = resident_bytes()
    return Soak(
        function=name,
        invocations=invocations,
        after_warm=after_warm,
        at_checkpoint=at_checkpoint,
        after_last=after_last,
        checkpoint=checkpoint,
        early_held_per_call=early_held,
        late_held_per_call=late_held,
        early_seconds=sum(early) / len(early),
        late_seconds=sum(late) / max(1, len(late)),
        succeeded=run.succeeded,
    )


class _Store:
    """What the invocations store in the embedded AWS, forgotten every ``FORGET_EVERY``.

    A deployed function's texts, replies, answers, idempotency records and queued messages
    live in DynamoDB and SQS, outside its container; here they would sit in this process and
    count as the function's memory (a traced inbound invocation leaves about 16 KB held by
    moto and 0.3 KB by everything else). So every DynamoDB item written after the warm-up,
    and every message in the queues the function fills (``outputs``), is dropped from the
    embedded AWS. The items there at the warm-up (the bookings, reminders, tenant and pace)
    are kept, changes and all."""

    def __init__(self, world: Lambdas, outputs: tuple[str, ...] = ()) -> None:
        self._world = world
        self._outputs = outputs
        self._kept = {name: set(self._keys(table)) for name, table in self._tables().items()}

    @staticmethod
    def _tables() -> dict[str, Any]:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        return dict(dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables)

    @staticmethod
    def _keys(table: Any) -> list[tuple[Any, Any]]:
        return [(item.hash_key, item.range_key) for item in items_of(table)]

    def forget(self) -> None:
        for name, table in self._tables().items():
            kept = self._kept.get(name, set())
            for hash_value, range_value in self._keys(table):
                if (hash_value, range_value) not in kept:
                    table.delete_item(hash_value, range_value)
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.sqs.models import sqs_backends

        queues = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].queues
        for url in self._outputs:
            # SQS allows a purge a minute; the soak's minutes are faster than that
            queues[url.rsplit("/", 1)[1]].last_purged_at = None
            self._world.aws.sqs.purge_queue(QueueUrl=url)


_NOT_MOTO = (
    # moto anywhere in the stack: what the embedded AWS stores or keeps for a request
    tracemalloc.Filter(False, "*/moto/*", all_frames=True),
    tracemalloc.Filter(False, tracemalloc.__file__),
)


def resident_bytes() -> int:
    """The process's resident memory now, after a garbage collection and a heap trim (Linux:
    /proc; elsewhere the peak, which only grows)."""
    gc.collect()
    _trim_heap()
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def _trim_heap() -> None:
    """Hand freed heap back to the OS (glibc's malloc_trim), so that the RSS read counts what
    is held, not what a traced window allocated and freed (tracemalloc's own tables)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None or not sys.platform.startswith("linux"):
        return
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None)
    if trim is not None:
        trim(0)


# --- Each function's work ------------------------------------------------------------------

Invocation = Callable[[int], int]


def _authorizer(world: Lambdas, invocations: int) -> Invocation:
    clinic = stack.open_clinic(world)
    request = stack.token(clinic.key)

    def call(n: int) -> int:
        policy = world.invoke("authorizer", request)
        return int(policy["policyDocument"]["Statement"][0]["Effect"] == "Allow")

    return call


def _api(world: Lambdas, invocations: int) -> Invocation:
    clinic = stack.open_clinic(world)
    booked = stack.book(world, clinic, POPULATION, starts_at=world.clock() + timedelta(days=3))
    requests = [stack.get_appointment(clinic.tenant.tenant_id, a.appointment_id) for a in booked]

    def call(n: int) -> int:
        return int(world.invoke("api", requests[n % len(requests)])["statusCode"] == 200)

    return call


def _due_reminders(world: Lambdas, count: int, spread: timedelta) -> datetime:
    """``count`` reminders falling due over ``spread`` from now; returns when the first is."""
    from reach_tools.bench.memory import _store

    now = world.clock()
    # _store writes the bench tenant (no quiet hours) and due reminders up to 10 minutes old
    _store(world.aws.settings.due_shards, now + spread, 0, count)
    return now


def _dispatcher(world: Lambdas, invocations: int) -> Invocation:
    first = _due_reminders(world, invocations, timedelta(minutes=10))
    step = timedelta(minutes=10) / invocations

    def call(n: int) -> int:
        at = first + step * (n + 1)
        world.clock.set(max(world.clock(), at))
        report = world.invoke("dispatcher", stack.scheduled(at))
        return int(report["read"] >= 0)

    return call


def _claimed(world: Lambdas, count: int) -> stack.Mapping:
    """``count`` reminders claimed and queued by the dispatcher (not traced: setup)."""
    from reach.wiring import build_dispatcher

    now = world.clock()
    _due_reminders(world, count, timedelta(0))
    dispatcher = build_dispatcher(world.aws.settings)
    while dispatcher.tick(now).claimed:
        pass
    return stack.Mapping(world, world.aws.send_queue_url, "sender", "sender_sqs.json", batch=1)


def _sender(world: Lambdas, invocations: int) -> Invocation:
    mapping = _claimed(world, invocations)

    def call(n: int) -> int:
        return mapping.pump()

    return call


def _inbound(world: Lambdas, invocations: int) -> Invocation:
    clinic = stack.open_clinic(world, quiet_hours="00:00-00:00")
    booked = stack.book(world, clinic, POPULATION, starts_at=world.clock() + timedelta(days=3))

    def call(n: int) -> int:
        phone = booked[n % len(booked)].phone
        body = stack.reply_body(phone, "C" if n % 2 else "yes", f"soak-{n:08d}")
        world.clock.advance(timedelta(seconds=1))
        event = stack.sqs_event("inbound_sqs.json", [(f"m-{n}", body, 1)], world.clock())
        return int(world.invoke("inbound", event) == {"batchItemFailures": []})

    return call


def _status(world: Lambdas, invocations: int) -> Invocation:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    mapping = _claimed(world, POPULATION)
    for _ in mapping.drain():
        pass
    texts = list(sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.items())

    def call(n: int) -> int:
        provider_id, (phone, *_rest) = texts[n % len(texts)]
        world.clock.advance(timedelta(seconds=1))
        body = stack.receipt_body(provider_id, phone, world.clock())
        event = stack.sqs_event("status_sqs.json", [(f"m-{n}", body, 1)])
        return int(world.invoke("status", event) == {"batchItemFailures": []})

    return call


def _reconciler(world: Lambdas, invocations: int) -> Invocation:
    stack.open_clinic(world)
    event = lambda_event("reconciler_scheduled.json")

    def call(n: int) -> int:
        world.clock.advance(timedelta(hours=1))
        return int("listed" in world.invoke("reconciler", event))

    return call


_SETUPS: dict[str, Callable[[Lambdas, int], Invocation]] = {
    "authorizer": _authorizer,
    "api": _api,
    "dispatcher": _dispatcher,
    "sender": _sender,
    "inbound": _inbound,
    "status": _status,
    "reconciler": _reconciler,
}


def report(soaks: list[Soak]) -> str:
    lines = [
        f"Soak: invocations in one warm process, untraced. RSS after {WARM}, the checkpoint "
        f"and the last (the embedded AWS's stored data in it); Reach's own held bytes per call "
        f"in {WINDOW} traced calls after the checkpoint and at the end (moto's left out); "
        f"time per call late / early. The goal: growth under {LIMIT:.0%}",
        f"  {'function':<12} {'calls':>7} {'ok':>7} {'MiB @' + str(WARM):>9} {'MiB @ckpt':>9} "
        f"{'MiB @last':>9} {'growth':>7} {'ckpt→last':>9} {'B/call early':>12} "
        f"{'B/call late':>11} {'ms early':>8} {'time x':>6}",
    ]
    for soak in soaks:
        lines.append(
            f"  {soak.function:<12} {soak.invocations:>7} {soak.succeeded:>7} "
            f"{soak.after_warm / 2**20:>9.1f} {soak.at_checkpoint / 2**20:>9.1f} "
            f"{soak.after_last / 2**20:>9.1f} {soak.growth:>+7.1%} "
            f"{soak.growth_from_checkpoint:>+9.1%} {soak.early_held_per_call:>12.1f} "
            f"{soak.late_held_per_call:>11.1f} {soak.early_seconds * 1000:>8.2f} "
            f"{soak.time_ratio:>6.2f}"
        )
    return "\n".join(lines)
