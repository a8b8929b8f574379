"""Soak: each function handles N invocations (10,000 in ``make bench``) in one warm process, as
a Lambda container does, and its memory after the first ``WARM`` and after the last must
differ by less than 10%.

Memory is what ``tracemalloc`` still holds, after a garbage collection, of the allocations
made since the function's module was loaded, leaving out those made by moto's own code: moto
keeps every item, message and text it is given (docs/facts.md#moto), which a real table or
queue keeps outside the container. What is left is what the container itself
would hold: Reach, Powertools, botocore and PynamoDB objects. The setup (tenant, bookings,
claimed reminders) is traced too, as what it warmed (clients, models) stays in the container;
what it left behind and nothing holds is collected before each reading.

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
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from reach_tools.bench import stack
from reach_tools.bench.lambdas import Lambdas, lambdas
from reach_tools.bench.lambdas import event as lambda_event
from reach_tools.demo_clock import DemoClock

FULL_INVOCATIONS = 10_000
QUICK_INVOCATIONS = 300
#: Memory is first read after this many invocations: clients, caches and pools are warm.
WARM = 100
#: The most the memory may grow from after WARM invocations to after the last.
LIMIT = 0.10
#: Each allocation is filed under the line that made it (one frame): deeper stacks cost
#: ten times the run time.
FRAMES = 1
SOAKED = ("authorizer", "api", "dispatcher", "sender", "inbound", "status", "reconciler")
POPULATION = 50


@dataclass(frozen=True)
class Soak:
    function: str
    invocations: int
    #: Bytes held (moto's left out) after WARM invocations, and after the last.
    after_warm: int
    after_last: int
    #: Invocations that did what they were given (an Allow, a 200, a send...).
    succeeded: int

    @property
    def growth(self) -> float:
        return (self.after_last - self.after_warm) / max(1, self.after_warm)

    @property
    def bytes_per_invocation(self) -> float:
        """What each invocation after the warm-up left held, on average."""
        return (self.after_last - self.after_warm) / (self.invocations - WARM)

    def to_json(self) -> dict[str, Any]:
        return self.__dict__ | {
            "growth": self.growth,
            "bytes_per_invocation": self.bytes_per_invocation,
        }


def measure(invocations: int = FULL_INVOCATIONS, functions: tuple[str, ...] = SOAKED) -> list[Soak]:
    if invocations <= WARM:
        raise ValueError(f"a soak needs more than {WARM} invocations")
    return [_soak(name, invocations) for name in functions]


def _soak(name: str, invocations: int) -> Soak:
    start = datetime.now(UTC).replace(microsecond=0)
    clock = DemoClock(start)
    # Traced from before the function's module loads: its clients, caches and what the
    # setup warmed are in the container too.
    tracemalloc.start(FRAMES)
    try:
        with lambdas(f"soak-{name}", clock, names=(name,)) as world:
            call = _SETUPS[name](world, invocations)
            succeeded = 0
            for n in range(invocations):
                succeeded += call(n)
                if (n + 1) % WARM == 0:
                    _forget_moto_instances()
                if n + 1 == WARM:
                    after_warm = _held()
            _forget_moto_instances()
            after_last = _held()
    finally:
        tracemalloc.stop()
    return Soak(name, invocations, after_warm, after_last, succeeded)


_NOT_MOTO = (
    tracemalloc.Filter(False, "*/moto/*"),
    tracemalloc.Filter(False, tracemalloc.__file__),
)


def _forget_moto_instances() -> None:
    """moto lists every model instance it makes, for its dashboard (docs/facts.md#moto): those
    lists would grow with every read, and hold allocations botocore made. The stored data
    stays."""
    from moto.core.model_instances import reset_model_data

    reset_model_data()


def _held() -> int:
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(_NOT_MOTO)
    return sum(stat.size for stat in snapshot.statistics("filename"))


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
        f"Soak: invocations in one warm process; memory held after {WARM} and after the last "
        f"(tracemalloc, moto's left out); the goal: growth under {LIMIT:.0%}",
        f"  {'function':<12} {'calls':>7} {'ok':>7} {'KiB @' + str(WARM):>10} "
        f"{'KiB @last':>10} {'growth':>8} {'B/call':>7}",
    ]
    for soak in soaks:
        lines.append(
            f"  {soak.function:<12} {soak.invocations:>7} {soak.succeeded:>7} "
            f"{soak.after_warm / 1024:>10.0f} {soak.after_last / 1024:>10.0f} "
            f"{soak.growth:>+8.1%} {soak.bytes_per_invocation:>7.1f}"
        )
    return "\n".join(lines)
