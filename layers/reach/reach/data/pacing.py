"""One origination identity's send schedule, shared by every sender through TenantsTable.

  ``pace#<identity> / pace``  the limiter's ``next_free``, in microseconds since the epoch

The item is the whole limiter of reach.domain.pacing, and a batch is reserved with one
conditional write, never a read followed by a write:

- **busy** schedule (``next_free >= now``): ``SET next_free = next_free + <batch length>``
  on condition ``next_free >= now``. DynamoDB applies the addition atomically, so however
  many senders extend the schedule at once, each gets its own stretch: nobody loses a race,
  nobody retries. The new value comes back with the write; the batch starts at it minus the
  batch's length.
- **idle** schedule (missing, or ``next_free < now``): put ``next_free = now + length`` on
  condition that it is still missing or still behind ``now``. The batch starts now.

A sender guesses the branch from what it saw last; a failed condition says the guess was
wrong and the other branch is tried. Optimistic concurrency without the read: a sender can
only fail by guessing, each failure means the schedule changed state, so a retry or two is
the most it takes. Why not read-then-write (GetItem, compute, PutItem on a version)? Under
load every sender computes from a version that another sender replaces before the write
lands, so they retry in a pack and the unlucky ones starve; that is also two calls a batch,
where this is one.

The item is a hot key, but a bounded one: at 100 MPS in batches of ten it takes about ten
writes a second, a hundredth of what one partition accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, UpdateError

from reach.data.numbers import NumberRepository
from reach.data.tables import TenantsTableItem
from reach.data.transactions import condition_failed
from reach.domain.pacing import PacingContention, Reservation, reserve_slots

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class PaceItem(TenantsTableItem, discriminator="pace"):
    """The shared limiter of one origination identity (phone number, sender ID or pool)."""

    identity = UnicodeAttribute()
    # A number, not an ISO string, so that a busy schedule can be extended in place.
    next_free_us = NumberAttribute()

    @property
    def next_free(self) -> datetime:
        return _from_microseconds(int(self.next_free_us))


def pace_pk(identity: str) -> str:
    return f"pace#{identity}"


PACE_SK = "pace"


class ThroughputGate:
    """Reserves send slots for one origination identity at its MPS, across all senders.

    Use: ``reservation = gate.reserve([parts of each message])``, then for each message
    ``gate.wait_for(reservation.starts[i])`` and send it. One DynamoDB write per batch.

    When ``reservation.beyond_max_wait`` is set, the first slot is more than ``max_wait``
    away: a backlog. The slots are reserved all the same (undoing them is not safe: someone
    may already hold the slots after them), and the caller should not burn a Lambda's time
    sleeping for minutes. Hand the messages back to the queue, each with its reserved start
    (an SQS delay or visibility timeout that ends just before it, and the start in a message
    attribute), and send it at that moment when it comes back, *without reserving again*:
    re-reserving on every redelivery would push ``next_free`` further out each time, a
    backlog that feeds itself. A message that comes back after its slot has passed reserves
    anew (the missed slot is capacity lost, never capacity exceeded).
    """

    def __init__(
        self,
        identity: str,
        mps: float,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
        *,
        max_wait: timedelta = timedelta(seconds=30),
        max_attempts: int = 6,
        lead: timedelta = timedelta(0),
    ) -> None:
        if not identity:
            raise ValueError("an origination identity is required to pace sends")
        if mps <= 0:
            raise ValueError(f"mps must be positive, not {mps!r}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.identity = identity
        self.mps = mps
        self.max_wait = max_wait
        #: How far ahead of "now" the first slot of a reservation is: the write that makes
        #: it takes a few milliseconds, and a slot already past when it comes back would be
        #: sent late, crowding the next one.
        self.lead = lead
        self._clock = clock
        self._sleep = sleep
        self._max_attempts = max_attempts
        # The end of this gate's last reservation: the guess of whether the schedule is busy.
        self._last_end: datetime | None = None

    def reserve(self, parts: Sequence[int]) -> Reservation:
        """Reserve back-to-back slots for messages of ``parts[i]`` parts each.

        Raises PacingContention (nothing reserved) if the schedule kept changing state under
        every attempt; in practice a second attempt always settles it.
        """
        counts = list(parts)
        if not counts:
            return Reservation([])
        now = self._clock()
        expect_busy = self._last_end is not None and self._last_end >= now
        for _ in range(self._max_attempts):
            now = self._clock()
            # The batch's length does not depend on where it starts.
            _, end = reserve_slots(None, now, counts, self.mps)
            length = end - now
            ready = now + self.lead
            origin = self._extend(ready, length) if expect_busy else self._restart(ready, length)
            if origin is not None:
                reservation, self._last_end = reserve_slots(origin, origin, counts, self.mps)
                wait = reservation.starts[0] - now
                return replace(reservation, beyond_max_wait=wait > self.max_wait)
            # The condition failed: the schedule is in the other state than guessed.
            expect_busy = not expect_busy
        raise PacingContention(
            f"could not reserve send slots for {self.identity} in {self._max_attempts} "
            "attempts; the schedule kept changing, retry the batch"
        )

    def now(self) -> datetime:
        """The time by this gate's clock."""
        return self._clock()

    def wait_for(self, moment: datetime) -> None:
        """Sleep until ``moment`` by the injected clock (``sleep`` must let the clock move)."""
        # A loop, because a sleep may end a hair early by the wall clock (the two clocks are
        # not the same one), and sending early is the one thing pacing must not do.
        while (remaining := (moment - self._clock()).total_seconds()) > 0:
            self._sleep(remaining)

    def _extend(self, now: datetime, length: timedelta) -> datetime | None:
        """Append to a busy schedule; the batch's origin, or None if it is idle."""
        item = PaceItem(pk=pace_pk(self.identity), sk=PACE_SK)
        try:
            item.update(
                actions=[PaceItem.next_free_us.set(PaceItem.next_free_us + _microseconds(length))],
                condition=PaceItem.next_free_us >= _microseconds(now - _EPOCH),
            )
        except UpdateError as error:
            if condition_failed(error):
                return None
            raise
        return item.next_free - length

    def _restart(self, now: datetime, length: timedelta) -> datetime | None:
        """Start an idle (or new) schedule at now; now, or None if it is busy."""
        now_us = _microseconds(now - _EPOCH)
        item = PaceItem(
            pk=pace_pk(self.identity),
            sk=PACE_SK,
            identity=self.identity,
            next_free_us=now_us + _microseconds(length),
        )
        try:
            item.save(
                condition=PaceItem.next_free_us.does_not_exist() | (PaceItem.next_free_us < now_us)
            )
        except PutError as error:
            if condition_failed(error):
                return None
            raise
        return _from_microseconds(now_us)


def _microseconds(span: timedelta) -> int:
    return span // _MICROSECOND


def _from_microseconds(count: int) -> datetime:
    return _EPOCH + count * _MICROSECOND


#: A reservation's first slot is this far ahead of the moment it was asked for: longer than
#: a DynamoDB write takes at the 99th percentile, so the slot has not passed when it arrives.
RESERVATION_LEAD = timedelta(milliseconds=50)


class Gates:
    """Each sending number's gate, made on first use at the number's recorded pace and kept
    for the container's life (a gate remembers whether its schedule was busy)."""

    def __init__(
        self,
        numbers: NumberRepository,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
    ) -> None:
        self._numbers = numbers
        self._clock = clock
        self._sleep = sleep
        self._gates: dict[str, ThroughputGate] = {}

    def for_number(self, number: str, mps: float | None = None) -> ThroughputGate:
        """The gate of ``number``; ``mps`` is its pace when the caller knows it already (a
        queue message carries the dispatcher's copy), else the number's record is read."""
        gate = self._gates.get(number)
        if gate is not None and (mps is None or gate.mps == mps):
            return gate
        pace = mps if mps is not None else self._numbers.throughput_of(number).mps
        self._gates[number] = ThroughputGate(
            number, pace, self._clock, self._sleep, lead=RESERVATION_LEAD
        )
        return self._gates[number]
