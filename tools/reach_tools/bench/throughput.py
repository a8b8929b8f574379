"""Sustained throughput of the send path, by a latency-model simulation (simulated time).

What it answers: with ordinary AWS latencies, how close does the sender get to a number's
MPS, and does it ever exceed it? It runs today's path ("before") and the batched path of
issue #11 ("after", as /work/wt/sendpath-design.md describes it) side by side, on the same
seeded latencies, for a short code (100 MPS), a toll-free number (3) and a 10DLC number (1).

The model (a discrete-event simulation: a heap of events in integer microseconds; nothing
sleeps, nothing runs in threads):

- **Latencies**: every AWS call costs a draw from the lognormal of ``reach_tools.sizing
  .LATENCIES`` (median, p99 and public source stated there), from one seeded generator.
- **The queue and its event source mapping**: all texts are queued at time 0 (a burst the
  dispatcher has just claimed; the dispatcher itself is not modelled). The mapping runs
  ``MaximumConcurrency`` pollers, all available from the start (no cold starts, no scaling
  ramp). A poller gathers up to ``BatchSize`` messages with ReceiveMessage (ten per call)
  until the batch is full or ``MaximumBatchingWindowInSeconds`` has passed since the first
  message, invokes the function (and waits for it), then deletes what succeeded with
  DeleteMessageBatch. A message handed back becomes visible again when its visibility ends.
- **Pacing**, exactly as ``reach.data.pacing.ThroughputGate``: one pace item per number,
  shared by every invocation; one conditional UpdateItem reserves a whole batch, slot after
  slot at ``reach.domain.pacing.occupancy`` (1/mps, rounded up to the microsecond), from the
  schedule's ``next_free`` or from ``now`` when the schedule is idle. Each worker's gate
  guesses busy or idle from its own last reservation; a wrong guess fails the condition and
  costs a second write. The write takes effect halfway through the call's latency.
- **Before** (today): BatchSize 10, no window, MaximumConcurrency 2; per message, one after
  another: start sending (UpdateItem), the appointment and the contact (GetItem each), the
  clinic caps (PutItem), the batch's slots on the first message, the wait for the slot, the
  provider call, the record (TransactWriteItems); one tenant Query per batch.
- **After** (the design): the sizing of ``template.yaml`` for its default PeakTextsPerSecond;
  one BatchGetItem, one Query, one reservation per batch; slots further than ``max_wait``
  (30 s) away are handed back with the slot kept (ChangeMessageVisibilityBatch, visible again
  a little before the slot) and used when the message returns, never reserved twice; a pool
  of ``P`` runs the start transaction, the wait for the slot and the provider call; one
  TransactWriteItems per 25 records.
- **A message ready after its slot**: the design says "wait for the slot, then send", and a
  wait for a moment already past returns at once (``late="send"``, the default, as
  ``ThroughputGate.wait_for`` does). Sending late can put two texts in one second where
  the schedule had one, so ``late="reserve-again"`` instead reserves a fresh slot for it.

- **A campaign** (issue 13's drain goal): 10,000 recipients on the short code, sent as built,
  but put on the queue by the dispatcher's campaign step as it does it: a tick a minute, at
  most MPS x 60 s of recipients a tick, each page of 100 members read, put (25 a
  transaction) and enqueued (10 a call) one call after another, a text visible when its
  enqueue returns. Its drain is the end of the last part's slot against recipients / MPS.

Counted: every part at its slot (a message of k parts holds k slots of 1/mps from the moment
the provider is called; docs/facts.md#throughput), as the carrier counts against the MPS.
Reported: sustained parts per second (parts over the span from the first part to the last,
plus one slot), as a ratio to the MPS; the most parts in any half-open one-second window;
and, on the short code, the time until the queue is empty against the ideal texts/MPS.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import cache
from typing import Any

from reach.domain.pacing import occupancy
from reach_tools import sizing

SECOND = 1_000_000
_MICROSECOND = timedelta(microseconds=1)
#: ReceiveMessage waits this long on an empty queue (the mapping long-polls).
LONG_POLL = 20 * SECOND
#: A handed-back message becomes visible this long before its kept slot: enough for the
#: batching window, the invoke and the start transaction.
RETURN_AHEAD = 5 * SECOND
#: The sender's defaults (reach.data.pacing.ThroughputGate, services/sending/path.py).
MAX_WAIT = 30 * SECOND
DEADLINE_MARGIN = 5 * SECOND
LATE_POLICIES = ("send", "reserve-again")
PIPELINES = ("per-message", "starts-first", "as-built")
#: ``reach.data.pacing.RESERVATION_LEAD`` in milliseconds (read here without importing the
#: layer's data modules, which the simulation does not need).
LEAD_MS = 50
#: The dispatcher's schedule: one tick a minute.
TICK_SECONDS = 60

#: A process yields a delay in microseconds, or a Signal to wait for.
Step = Generator["int | Signal", Any, Any]


# --- The per-text call list of the new path --------------------------------------------------


@dataclass(frozen=True)
class CallShare:
    """One operation's share of a text's calls, as the ``calls`` benchmark names it."""

    operation: str
    per_text: float
    #: ``dispatcher`` or ``sender``: our calls; ``mapping``: the Lambda service's (counted apart).
    where: str
    what: str


def after_calls_per_text(
    batch_size: int = 25,
    *,
    tenants_per_batch: int = 1,
    due_per_tick: int = 1000,
    shards: int = 8,
    failure_rate: float = 0.0,
) -> tuple[CallShare, ...]:
    """The design's calls per text, end to end: what the embedded run should count.

    The lead can hold the counted calls of the new path against this list operation by
    operation; the simulator counts its sender calls from the same steps.
    """
    b = batch_size
    return (
        CallShare("dynamodb:Query", shards / due_per_tick, "dispatcher", "due index, per shard"),
        CallShare("dynamodb:BatchGetItem", 1 / due_per_tick, "dispatcher", "numbers' MPS"),
        CallShare("dynamodb:TransactWriteItems", 1 / 25, "dispatcher", "claims, 25 a call"),
        CallShare("sqs:SendMessageBatch", 1 / sizing.SQS_BATCH, "dispatcher", "queue, 10 a call"),
        CallShare(
            "dynamodb:BatchGetItem",
            math.ceil(2 * b / sizing.BATCH_GET_KEYS) / b,
            "sender",
            "appointments and contacts",
        ),
        CallShare("dynamodb:Query", tenants_per_batch / b, "sender", "tenant profile, templates"),
        CallShare("dynamodb:UpdateItem", 1 / b, "sender", "pacing reservation"),
        CallShare("dynamodb:TransactWriteItems", 1.0, "sender", "start: version, caps, consent"),
        CallShare("sms:Send (provider)", 1.0, "sender", "the text"),
        CallShare(
            "dynamodb:TransactWriteItems",
            math.ceil(b / sizing.RECORD_CHUNK) / b,
            "sender",
            "records, 25 a call",
        ),
        CallShare("events:PutEvents", failure_rate / 10, "sender", "failures, 10 a call"),
        CallShare("sqs:ReceiveMessage", math.ceil(b / sizing.SQS_BATCH) / b, "mapping", "poll"),
        CallShare(
            "sqs:DeleteMessageBatch", math.ceil(b / sizing.SQS_BATCH) / b, "mapping", "delete"
        ),
    )


def calls_per_text(shares: tuple[CallShare, ...], *where: str) -> dict[str, float]:
    """Sum the shares by operation, keeping only the given ``where`` (all when none)."""
    total: dict[str, float] = {}
    for share in shares:
        if not where or share.where in where:
            total[share.operation] = total.get(share.operation, 0.0) + share.per_text
    return {operation: n for operation, n in total.items() if n}


# --- The simulation kernel -------------------------------------------------------------------


class Signal:
    """Something processes wait for; firing it resumes them all at the current time."""

    def __init__(self) -> None:
        self.fired = False
        self.waiters: list[Step] = []


class Sim:
    def __init__(self, seed: int) -> None:
        self.now = 0
        self.rng = random.Random(seed)  # noqa: S311 - a model's draws, not a secret  # nosec B311
        self.calls: dict[str, Counter[str]] = {
            "reach": Counter(),
            "mapping": Counter(),
            "dispatcher": Counter(),
        }
        self._heap: list[tuple[int, int, Step]] = []
        self._sequence = 0

    def start(self, process: Step, at: int | None = None) -> None:
        self._push(self.now if at is None else at, process)

    def fire(self, signal: Signal) -> None:
        signal.fired = True
        for waiter in signal.waiters:
            self._push(self.now, waiter)
        signal.waiters.clear()

    def call(self, operation: str, actor: str = "reach") -> int:
        """Count one call and draw its latency (µs): ``yield sim.call(...)``."""
        self.calls[actor][operation] += 1
        latency = sizing.LATENCIES[operation]
        return round(self.rng.lognormvariate(latency.mu, latency.sigma) * SECOND)

    def run(self, finished: Callable[[], bool], limit: int) -> None:
        while self._heap and not finished():
            at, _, process = heapq.heappop(self._heap)
            if at > limit:
                raise RuntimeError(f"the simulation ran past {limit / SECOND:.0f} s")
            self.now = at
            self._step(process)

    def _push(self, at: int, process: Step) -> None:
        self._sequence += 1  # equal times run in the order they were scheduled
        heapq.heappush(self._heap, (at, self._sequence, process))

    def _step(self, process: Step) -> None:
        try:
            waited = next(process)
        except StopIteration:
            return
        if isinstance(waited, Signal):
            if waited.fired:
                self._push(self.now, process)
            else:
                waited.waiters.append(process)
        else:
            self._push(self.now + max(0, waited), process)


# --- The world: queue, pace item, texts --------------------------------------------------------


@dataclass
class Text:
    ident: int
    parts: int
    #: A slot reserved by an earlier invocation that handed the message back.
    slot: int | None = None
    receives: int = 0


class Queue:
    def __init__(self, texts: list[Text]) -> None:
        self._visible: deque[Text] = deque(texts)
        self._hidden: list[tuple[int, int, Text]] = []

    def _surface(self, now: int) -> None:
        while self._hidden and self._hidden[0][0] <= now:
            self._visible.append(heapq.heappop(self._hidden)[2])

    def has_visible(self, now: int) -> bool:
        self._surface(now)
        return bool(self._visible)

    def next_visible_at(self) -> int | None:
        return self._hidden[0][0] if self._hidden else None

    def receive(self, now: int, most: int) -> list[Text]:
        self._surface(now)
        taken = [self._visible.popleft() for _ in range(min(most, len(self._visible)))]
        for text in taken:
            text.receives += 1
        return taken

    def hide(self, text: Text, until: int) -> None:
        heapq.heappush(self._hidden, (until, text.ident, text))


@dataclass
class PaceItem:
    """``pace#<identity>``: the number's schedule, shared by every invocation."""

    next_free: int | None = None


@cache
def _slot_length(parts: int, mps: float) -> int:
    return occupancy(parts, mps) // _MICROSECOND


class Gate:
    """``ThroughputGate`` of one sender container: its own guess, the shared pace item."""

    def __init__(self, item: PaceItem, mps: float, lead: int = 0) -> None:
        self.item = item
        self.mps = mps
        #: ``ThroughputGate.lead``: how far ahead of the request a reservation starts.
        self.lead = lead
        self._last_end: int | None = None

    def reserve(self, sim: Sim, parts: list[int]) -> Step:
        lengths = [_slot_length(count, self.mps) for count in parts]
        length = sum(lengths)
        expect_busy = self._last_end is not None and self._last_end >= sim.now
        for _ in range(6):
            now = sim.now
            latency = sim.call("dynamodb:UpdateItem")
            yield latency // 2
            origin = self._apply(now + self.lead, length, expect_busy)
            yield latency - latency // 2
            if origin is not None:
                starts = [origin + sum(lengths[:i]) for i in range(len(lengths))]
                self._last_end = origin + length
                return starts
            expect_busy = not expect_busy
        raise RuntimeError("pacing contention: six failed reservations in a row")

    def _apply(self, now: int, length: int, busy: bool) -> int | None:
        """The conditional write at the moment DynamoDB applies it."""
        free = self.item.next_free
        if busy:
            if free is None or free < now:
                return None
            self.item.next_free = free + length
            return free
        if free is not None and free >= now:
            return None
        self.item.next_free = now + length
        return now


# --- The paths -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathModel:
    name: str
    batch_size: int
    window_seconds: float
    concurrency: int
    batched: bool
    pool: int = 1
    late: str = "send"
    pipeline: str = "per-message"
    clinic: bool = True
    tenants_per_batch: int = 1
    #: A reservation's first slot this far after the request (``RESERVATION_LEAD``).
    lead_ms: int = 0
    #: The dispatcher claims per number at most MPS x tick a tick (``services/dispatch.py``).
    fair_claiming: bool = False
    timeout_seconds: int = 90
    #: Where a message handed back without a kept slot comes back (the queue's timeout).
    visibility_timeout_seconds: int = 540


BEFORE = PathModel("before", batch_size=10, window_seconds=0, concurrency=2, batched=False)


def after_model(
    concurrency: int | None = None,
    *,
    peak: int = sizing.DEFAULT_PEAK,
    template: dict[str, Any] | None = None,
    pool: int = sizing.POOL,
    late: str = "send",
    pipeline: str = "per-message",
    lead_ms: int = 0,
) -> PathModel:
    """The new path with template.yaml's event source mapping for ``peak``."""
    entry = template_mapping(template)[str(peak)]
    variant = ", ".join(
        label
        for label, chosen in ((pipeline, pipeline != "per-message"), (late, late != "send"))
        if chosen
    )
    return PathModel(
        f"after ({variant})" if variant else "after",
        batch_size=entry["BatchSize"],
        window_seconds=entry["MaximumBatchingWindowInSeconds"],
        concurrency=entry["MaximumConcurrency"] if concurrency is None else concurrency,
        batched=True,
        pool=pool,
        late=late,
        pipeline=pipeline,
        lead_ms=lead_ms,
    )


def as_built(concurrency: int | None = None) -> PathModel:
    """The send path as the code runs it (``SendPath.send_all``), with the template's sizing."""
    return replace(
        after_model(concurrency, pipeline="as-built", late="reserve-again", lead_ms=LEAD_MS),
        name="as built",
        fair_claiming=True,
    )


def template_mapping(template: dict[str, Any] | None = None) -> dict[str, dict[str, int]]:
    from reach_tools.template import load_template

    loaded = load_template() if template is None else template
    return {
        str(key): {name: int(value) for name, value in row.items()}
        for key, row in loaded["Mappings"]["SenderSizing"].items()
    }


@dataclass
class Run:
    """One simulation: a number, its queue, its pace item, and what happened."""

    sim: Sim
    path: PathModel
    mps: float
    queue: Queue
    item: PaceItem
    total: int
    #: (moment the provider was called, text, parts), in the order they happened.
    sends: list[tuple[int, int, int]] = field(default_factory=list)
    deleted: int = 0
    drained_at: int = 0
    handed_back: int = 0
    late: int = 0

    def send(self, text: Text) -> None:
        if self.sends and self.sim.now < self.sends[-1][0]:
            raise AssertionError("sends are recorded in time order")
        self.sends.append((self.sim.now, text.ident, text.parts))

    def finished(self) -> bool:
        return self.deleted >= self.total

    def hand_back(self, text: Text, until: int) -> None:
        self.handed_back += 1
        self.queue.hide(text, until)


def _gather(run: Run) -> Step:
    """The mapping's poller: a batch, by the batch size and the window."""
    sim, path = run.sim, run.path
    batch: list[Text] = []
    deadline: int | None = None
    while len(batch) < path.batch_size and not (deadline is not None and sim.now >= deadline):
        if not run.queue.has_visible(sim.now):
            wake = run.queue.next_visible_at()
            if batch:  # wait out the window, unless a message surfaces first
                assert deadline is not None
                yield min(deadline, wake if wake is not None else deadline) - sim.now
                continue
            yield sim.call("sqs:ReceiveMessage", "mapping")  # an empty long poll
            yield min(LONG_POLL, (wake - sim.now) if wake is not None else LONG_POLL)
            continue
        yield sim.call("sqs:ReceiveMessage", "mapping")
        got = run.queue.receive(sim.now, min(sizing.SQS_BATCH, path.batch_size - len(batch)))
        if got and deadline is None:
            deadline = sim.now + round(path.window_seconds * SECOND)
        batch += got
    return batch


def _poller(run: Run, gate: Gate) -> Step:
    sim = run.sim
    while True:
        batch = yield from _gather(run)
        yield sim.call("lambda:Invoke", "mapping")
        invoke = _invoke_after if run.path.batched else _invoke_before
        done = yield from invoke(run, gate, batch)
        for _ in range(math.ceil(len(done) / sizing.SQS_BATCH)):
            yield sim.call("sqs:DeleteMessageBatch", "mapping")
        run.deleted += len(done)
        if run.finished():
            run.drained_at = sim.now


def _invoke_before(run: Run, gate: Gate, batch: list[Text]) -> Step:
    """Today's sender: message after message, the batch's slots reserved on the first."""
    sim, path = run.sim, run.path
    deadline = sim.now + path.timeout_seconds * SECOND - DEADLINE_MARGIN
    done: list[Text] = []
    slots: deque[int] = deque()
    expected = len(batch)
    for _ in range(path.tenants_per_batch):
        yield sim.call("dynamodb:Query")
    for text in batch:
        for operation in ("dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:GetItem"):
            yield sim.call(operation)
        if path.clinic:
            yield sim.call("dynamodb:PutItem")
        if len(slots) < text.parts:
            wanted = max(text.parts - len(slots), expected)
            slots.extend((yield from gate.reserve(sim, [1] * wanted)))
            expected = 1
        taken = [slots.popleft() for _ in range(text.parts)]
        slot = taken[0]
        if slot + DEADLINE_MARGIN > deadline:  # a backlog: back through the queue
            run.hand_back(text, sim.now + path.visibility_timeout_seconds * SECOND)
            continue
        yield from _at_slot(run, gate, text, slot)
        yield sim.call("dynamodb:TransactWriteItems")
        done.append(text)
    return done


def _invoke_as_built(run: Run, gate: Gate, batch: list[Text]) -> Step:
    """``SendPath.send_all`` as built: the batch read and the tenant's read; every start
    transaction, one after another; then one reservation (``lead`` ahead); then, on the
    invocation's thread, each text in slot order: wait for its slot (a late one reserves a
    fresh slot) and hand the provider call to a pool of ``pool`` calls in flight; then the
    record transactions once every call has returned."""
    sim, path = run.sim, run.path
    deadline = sim.now + path.timeout_seconds * SECOND - DEADLINE_MARGIN
    for _ in range(math.ceil(2 * len(batch) / sizing.BATCH_GET_KEYS)):
        yield sim.call("dynamodb:BatchGetItem")
    for _ in range(path.tenants_per_batch):
        yield sim.call("dynamodb:Query")
    for _ in batch:
        yield sim.call("dynamodb:TransactWriteItems")
    starts = yield from gate.reserve(sim, [text.parts for text in batch])
    for text, start in zip(batch, starts, strict=True):
        text.slot = start
    later = [text for text in batch if _slot(text) > deadline]
    now_ = sorted((text for text in batch if _slot(text) <= deadline), key=_slot)
    yield from _send_in_slot_order(run, gate, now_)
    for _ in range(math.ceil(len(now_) / sizing.RECORD_CHUNK)):
        yield sim.call("dynamodb:TransactWriteItems")
    for text in later:  # given back, slot lost: the queue's visibility timeout brings it back
        text.slot = None
        run.hand_back(text, sim.now + path.visibility_timeout_seconds * SECOND)
    return now_


def _send_in_slot_order(run: Run, gate: Gate, texts: list[Text]) -> Step:
    """The invocation's thread: each text at its slot (a late one reserves a fresh slot), its
    provider call handed to the pool, waiting only when ``pool`` calls are in flight."""
    sim = run.sim
    in_flight: list[int] = []
    for text in texts:
        if len(in_flight) >= run.path.pool:
            in_flight.sort()
            if in_flight[0] > sim.now:
                yield in_flight[0] - sim.now
            in_flight.pop(0)
        slot = _slot(text)
        if sim.now > slot:
            run.late += 1
            slot = (yield from gate.reserve(sim, [text.parts]))[0]
        if slot > sim.now:
            yield slot - sim.now
        run.send(text)
        text.slot = None
        in_flight.append(sim.now + sim.call("sms:Send (provider)"))
    if in_flight and max(in_flight) > sim.now:
        yield max(in_flight) - sim.now


def _invoke_after(run: Run, gate: Gate, batch: list[Text]) -> Step:
    """The design's sender: batched reads, one reservation, a pool, batched records."""
    sim, path = run.sim, run.path
    if path.pipeline == "as-built":
        return (yield from _invoke_as_built(run, gate, batch))
    for _ in range(math.ceil(2 * len(batch) / sizing.BATCH_GET_KEYS)):
        yield sim.call("dynamodb:BatchGetItem")
    for _ in range(path.tenants_per_batch):
        yield sim.call("dynamodb:Query")
    # A kept slot still ahead is used as it is: reserving again would push the schedule out.
    fresh = [text for text in batch if text.slot is None or text.slot < sim.now]
    if fresh:
        starts = yield from gate.reserve(sim, [text.parts for text in fresh])
        for text, start in zip(fresh, starts, strict=True):
            text.slot = start
    later = [text for text in batch if _slot(text) > sim.now + MAX_WAIT]
    now_ = sorted((text for text in batch if _slot(text) <= sim.now + MAX_WAIT), key=_slot)
    yield from _pool(run, gate, now_)
    for _ in range(math.ceil(len(now_) / sizing.RECORD_CHUNK)):
        yield sim.call("dynamodb:TransactWriteItems")
    for _ in range(math.ceil(len(later) / sizing.SQS_BATCH)):
        yield sim.call("sqs:ChangeMessageVisibilityBatch")
    for text in later:
        run.hand_back(text, _slot(text) - RETURN_AHEAD)
    return now_


def _slot(text: Text) -> int:
    if text.slot is None:
        raise AssertionError(f"text {text.ident} has no slot")
    return text.slot


def _pool(run: Run, gate: Gate, texts: list[Text]) -> Step:
    """The batch's texts through a pool of ``pool`` workers.

    ``per-message`` (the design as written): a worker takes the next text, runs its start
    transaction, waits for its slot and calls the provider. ``starts-first``: the pool runs
    every start transaction, then the provider calls at their slots, so a slow provider call
    never holds up the next text's start.
    """
    if run.path.pipeline == "starts-first":
        yield from _in_pool(run, texts, lambda text: _start(run))
        yield from _in_pool(run, texts, lambda text: _at_slot(run, gate, text, _slot(text)))
    else:
        yield from _in_pool(run, texts, lambda text: _start_and_send(run, gate, text))


def _start(run: Run) -> Step:
    yield run.sim.call("dynamodb:TransactWriteItems")


def _start_and_send(run: Run, gate: Gate, text: Text) -> Step:
    yield run.sim.call("dynamodb:TransactWriteItems")
    yield from _at_slot(run, gate, text, _slot(text))


def _in_pool(run: Run, texts: list[Text], task: Callable[[Text], Step]) -> Step:
    """Run ``task`` for every text, at most ``pool`` at once, earliest text first."""
    sim = run.sim
    todo = deque(texts)
    all_done = Signal()
    left = [len(texts)]

    def worker() -> Step:
        while todo:
            yield from task(todo.popleft())
            left[0] -= 1
            if not left[0]:
                sim.fire(all_done)

    if not texts:
        return
    for _ in range(min(run.path.pool, len(texts))):
        sim.start(worker())
    yield all_done


def _at_slot(run: Run, gate: Gate, text: Text, slot: int) -> Step:
    """Wait for the slot, then call the provider; a missed slot per the path's policy."""
    sim = run.sim
    if sim.now > slot:
        run.late += 1
        if run.path.late == "reserve-again":
            slot = (yield from gate.reserve(sim, [text.parts]))[0]
    if slot > sim.now:
        yield slot - sim.now
    run.send(text)
    text.slot = None
    yield sim.call("sms:Send (provider)")


# --- Running and measuring ---------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    name: str
    mps: float
    texts: int


NUMBERS = (
    Number("short code", 100, 10_000),
    Number("toll-free", 3, 600),
    Number("10DLC", 1, 200),
)
QUICK_TEXTS = {"short code": 2_000, "toll-free": 90, "10DLC": 30}
SEED = 11


@dataclass(frozen=True)
class Outcome:
    number: str
    mps: float
    path: str
    batch_size: int
    concurrency: int
    texts: int
    parts: int
    #: Texts the provider was called for more than once (must be 0).
    duplicates: int
    parts_per_second: float
    max_parts_in_a_second: int
    drain_seconds: float
    handed_back: int
    late: int
    calls: dict[str, int]
    mapping_calls: dict[str, int]
    #: When the last part's slot ends: the campaign drain's end, against parts / MPS.
    last_part_seconds: float = 0.0
    #: The dispatcher's calls, where it is modelled (a campaign's fan-out).
    dispatcher_calls: dict[str, int] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.parts_per_second / self.mps

    @property
    def ideal_drain_seconds(self) -> float:
        return self.parts / self.mps

    def calls_per_text(self) -> dict[str, float]:
        return {op: n / self.texts for op, n in sorted(self.calls.items())}

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "mps": self.mps,
            "path": self.path,
            "batch_size": self.batch_size,
            "max_concurrency": self.concurrency,
            "texts": self.texts,
            "parts": self.parts,
            "duplicates": self.duplicates,
            "parts_per_second": self.parts_per_second,
            "ratio_to_mps": self.ratio,
            "max_parts_in_any_second": self.max_parts_in_a_second,
            "drain_seconds": self.drain_seconds,
            "ideal_drain_seconds": self.ideal_drain_seconds,
            "last_part_seconds": self.last_part_seconds,
            "handed_back": self.handed_back,
            "late_sends": self.late,
            "calls_per_text": self.calls_per_text(),
            "mapping_calls_per_text": {
                op: n / self.texts for op, n in sorted(self.mapping_calls.items())
            },
        }


def simulate(
    number: Number,
    path: PathModel,
    *,
    seed: int = SEED,
    parts: Callable[[int], int] = lambda _: 1,
    fill: Callable[[Sim, list[Text], float], Queue] | None = None,
) -> Outcome:
    """Drain ``number.texts`` texts queued at time 0 through ``path`` (or as ``fill`` puts
    them on the queue); measure the sends."""
    if path.late not in LATE_POLICIES or path.pipeline not in PIPELINES:
        raise ValueError(f"late must be one of {LATE_POLICIES}, pipeline one of {PIPELINES}")
    sim = Sim(seed)
    texts = [Text(i, parts(i)) for i in range(number.texts)]
    queue = _claimed(texts, number.mps, path) if fill is None else fill(sim, texts, number.mps)
    run = Run(sim, path, number.mps, queue, PaceItem(), number.texts)
    for _ in range(path.concurrency):
        sim.start(_poller(run, Gate(run.item, number.mps, lead=path.lead_ms * 1000)))
    ideal = sum(text.parts for text in texts) / number.mps
    sim.run(run.finished, limit=round((20 * ideal + 3600) * SECOND))
    moments = list(part_moments(run.sends, number.mps))
    sent = Counter(ident for _, ident, _ in run.sends)
    span = (moments[-1] - moments[0] + _slot_length(1, number.mps)) / SECOND
    return Outcome(
        number=number.name,
        mps=number.mps,
        path=path.name,
        batch_size=path.batch_size,
        concurrency=path.concurrency,
        texts=number.texts,
        parts=len(moments),
        duplicates=sum(1 for n in sent.values() if n > 1),
        parts_per_second=len(moments) / span,
        max_parts_in_a_second=max_in_window(moments, SECOND),
        drain_seconds=run.drained_at / SECOND,
        handed_back=run.handed_back,
        late=run.late,
        calls=dict(sim.calls["reach"]),
        mapping_calls=dict(sim.calls["mapping"]),
        last_part_seconds=(moments[-1] + _slot_length(1, number.mps)) / SECOND,
        dispatcher_calls=dict(sim.calls["dispatcher"]),
    )


def _claimed(texts: list[Text], mps: float, path: PathModel) -> Queue:
    """The send queue as the dispatcher fills it: all at once (before), or with fair claiming
    at most what the number can send in a tick, tick after tick (as built)."""
    if not path.fair_claiming:
        return Queue(texts)
    budget = max(1, math.floor(mps * TICK_SECONDS))
    queue = Queue(texts[:budget])
    for n, text in enumerate(texts[budget:], start=budget):
        queue.hide(text, (n // budget) * TICK_SECONDS * SECOND)
    return queue


# --- A campaign: the dispatcher's fan-out fills the queue ---------------------------------------

#: ``reach.services.campaign_feed.MEMBER_PAGE`` and ``reach.data.recipients
#: .RECIPIENTS_PER_TRANSACTION`` (read here without importing the layer's data modules).
MEMBER_PAGE = 100
RECIPIENTS_PER_TRANSACTION = 25
#: The campaign of issue 13's benchmark: 10,000 recipients on a 100 MPS short code.
#: Simulated at full size even in ``--quick``: it takes well under a second.
CAMPAIGN = Number("campaign, short code", 100, 10_000)
#: Goal of the drain against the ideal (issue 13's Benchmarks): within 5%.
CAMPAIGN_DRAIN_GOAL = 1.05


def campaign_fan_out(sim: Sim, texts: list[Text], mps: float) -> Queue:
    """The queue as the dispatcher's campaign step fills it, tick after tick (one a minute,
    no reminders due): the tick's opening reads (the due shards, the three registry Queries,
    the numbers and the tenant, the campaign's held recipients), then per page of
    ``MEMBER_PAGE`` members, one after another: the page's Query, the recipients' put
    transactions (25 each), their SendMessageBatch calls (10 each; a text is visible when
    its call returns) and the cursor's UpdateItem; at most MPS x tick a tick."""
    queue = Queue([])
    budget = max(1, math.floor(mps * TICK_SECONDS))
    opening = (
        ["dynamodb:Query"] * 8
        + ["dynamodb:Query"] * 3
        + ["dynamodb:BatchGetItem"] * 2
        + ["dynamodb:GetItem", "dynamodb:Query"]
    )
    for tick, first in enumerate(range(0, len(texts), budget)):
        at = tick * TICK_SECONDS * SECOND
        for operation in opening:
            at += sim.call(operation, "dispatcher")
        share = texts[first : first + budget]
        for page in range(0, len(share), MEMBER_PAGE):
            members = share[page : page + MEMBER_PAGE]
            at += sim.call("dynamodb:Query", "dispatcher")
            for _ in range(math.ceil(len(members) / RECIPIENTS_PER_TRANSACTION)):
                at += sim.call("dynamodb:TransactWriteItems", "dispatcher")
            for chunk in range(0, len(members), sizing.SQS_BATCH):
                at += sim.call("sqs:SendMessageBatch", "dispatcher")
                for text in members[chunk : chunk + sizing.SQS_BATCH]:
                    queue.hide(text, at)
            at += sim.call("dynamodb:UpdateItem", "dispatcher")
    return queue


def simulate_campaign(
    members: int = CAMPAIGN.texts, path: PathModel | None = None, *, seed: int = SEED
) -> Outcome:
    """A campaign to ``members`` recipients on the short code: fanned out by the dispatcher
    from time 0, sent by ``path`` (as built, by default)."""
    return simulate(
        replace(CAMPAIGN, texts=members),
        path or as_built(),
        seed=seed,
        fill=campaign_fan_out,
    )


def part_moments(sends: list[tuple[int, int, int]], mps: float) -> Iterator[int]:
    """Each part at its own slot within its message's occupancy, in time order."""
    one = _slot_length(1, mps)
    return iter(sorted(at + k * one for at, _, count in sends for k in range(count)))


def max_in_window(moments: list[int], width: int) -> int:
    """The most moments in any half-open window ``[a, a + width)`` (``moments`` sorted)."""
    most, first = 0, 0
    for last, moment in enumerate(moments):
        while moments[first] <= moment - width:
            first += 1
        most = max(most, last - first + 1)
    return most


@dataclass(frozen=True)
class ThroughputResult:
    seed: int
    quick: bool
    outcomes: list[Outcome]
    #: The design's calls per text at the template's batch size (for the embedded run).
    after_calls: tuple[CallShare, ...]
    #: A 10,000-recipient campaign fanned out by the dispatcher and sent as built.
    campaign: Outcome | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "latencies_ms": {
                op: {"median": lat.median_ms, "p99": lat.p99_ms, "source": lat.source}
                for op, lat in sizing.LATENCIES.items()
            },
            "outcomes": [outcome.to_json() for outcome in self.outcomes],
            "campaign": None if self.campaign is None else _campaign_json(self.campaign),
            "after_calls_per_text": [
                {"operation": s.operation, "per_text": s.per_text, "where": s.where, "what": s.what}
                for s in self.after_calls
            ],
        }


def measure(quick: bool = False, *, seed: int = SEED) -> ThroughputResult:
    paths = (
        BEFORE,
        after_model(),
        after_model(late="reserve-again"),
        after_model(pipeline="starts-first", late="reserve-again"),
        as_built(),
    )
    outcomes = []
    for number in NUMBERS:
        sized = replace(number, texts=QUICK_TEXTS[number.name]) if quick else number
        outcomes += [simulate(sized, path, seed=seed) for path in paths]
    after = after_model()
    return ThroughputResult(
        seed,
        quick,
        outcomes,
        after_calls_per_text(after.batch_size),
        simulate_campaign(seed=seed),
    )


def _campaign_json(outcome: Outcome) -> dict[str, Any]:
    drain = outcome.last_part_seconds / outcome.ideal_drain_seconds
    return {
        **outcome.to_json(),
        "drain_ratio": drain,
        "drain_goal": CAMPAIGN_DRAIN_GOAL,
        "dispatcher_calls_per_text": {
            op: n / outcome.texts for op, n in sorted(outcome.dispatcher_calls.items())
        },
    }


def _campaign_line(o: Outcome) -> str:
    drain = o.last_part_seconds / o.ideal_drain_seconds
    verdict = "within" if drain <= CAMPAIGN_DRAIN_GOAL else "over"
    return (
        f"  campaign of {o.texts} on a {o.mps:g} MPS short code, fanned out by the dispatcher "
        f"a tick a minute, sent as built (MaximumConcurrency {o.concurrency}): last part at "
        f"{o.last_part_seconds:.1f} s against the ideal {o.ideal_drain_seconds:.0f} s, "
        f"x{drain:.4f} ({verdict} the goal of 5%); busiest second {o.max_parts_in_a_second} "
        f"(limit {o.mps:g}); texted twice {o.duplicates}"
    )


def report(result: ThroughputResult) -> str:
    after = next(o for o in result.outcomes if o.path == "after")
    lines = [
        "Sustained throughput, latency-model simulation (simulated time, seed "
        f"{result.seed}; goal: ratio >= 0.95, never more than the MPS in any second)",
        f"  after: template PeakTextsPerSecond {sizing.DEFAULT_PEAK} -> BatchSize "
        f"{after.batch_size}, window {sizing.WINDOW_SECONDS} s, MaximumConcurrency "
        f"{after.concurrency}, pool {sizing.POOL}; before: BatchSize 10, MaximumConcurrency 2",
        f"  {'number':<11} {'MPS':>4} {'path':<36} {'texts':>6} {'parts/s':>8} {'ratio':>6} "
        f"{'max/1s':>6} {'drain s':>8} {'ideal':>6} {'late':>5} {'back':>5}",
    ]
    for o in result.outcomes:
        lines.append(
            f"  {o.number:<11} {o.mps:>4g} {o.path:<36} {o.texts:>6} "
            f"{o.parts_per_second:>8.2f} {o.ratio:>6.3f} {o.max_parts_in_a_second:>6} "
            f"{o.drain_seconds:>8.1f} {o.ideal_drain_seconds:>6.0f} {o.late:>5} "
            f"{o.handed_back:>5}"
        )
    shares = calls_per_text(result.after_calls, "dispatcher", "sender")
    listed = ", ".join(f"{op} {n:.3f}" for op, n in shares.items())
    lines.append(
        f"  after, calls per text by design (B={after.batch_size}): "
        f"{sum(shares.values()):.2f} = {listed}"
    )
    if result.campaign is not None:
        lines.append(_campaign_line(result.campaign))
    built = next(o for o in result.outcomes if o.path == "as built")
    counted = built.calls_per_text()
    lines.append(
        f"  as built, sender calls per text counted in the short-code run: "
        f"{sum(counted.values()):.2f} = " + ", ".join(f"{op} {n:.3f}" for op, n in counted.items())
    )
    return "\n".join(lines)
