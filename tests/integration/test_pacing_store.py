"""ThroughputGate under moto: one shared schedule per origination identity."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from reach.data.pacing import PACE_SK, PaceItem, ThroughputGate, pace_pk
from reach.domain.pacing import PacingContention, occupancy

T0 = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)
TOLL_FREE = "+18885550100"


class FakeClock:
    """A clock that moves only when someone sleeps on it."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def stored_next_free(identity: str) -> datetime:
    return PaceItem.get(pace_pk(identity), PACE_SK, consistent_read=True).next_free


@pytest.mark.usefixtures("aws")
def test_the_first_reservation_for_an_identity_starts_now_and_stores_its_schedule():
    clock = FakeClock()
    gate = ThroughputGate(TOLL_FREE, 3, clock, clock.sleep)

    reservation = gate.reserve([1, 2])

    assert reservation.starts == [T0, T0 + occupancy(1, 3)]
    assert not reservation.beyond_max_wait
    assert stored_next_free(TOLL_FREE) == T0 + occupancy(1, 3) + occupancy(2, 3)


@pytest.mark.usefixtures("aws")
def test_two_senders_for_one_identity_continue_one_schedule():
    # Given two Lambda containers, each with its own gate for the same number
    clock = FakeClock()
    first = ThroughputGate(TOLL_FREE, 10, clock, clock.sleep)
    second = ThroughputGate(TOLL_FREE, 10, clock, clock.sleep)

    # When each reserves a batch at the same moment
    a = first.reserve([1, 1])
    b = second.reserve([3])

    # Then the second batch queues behind the first instead of overlapping it
    assert a.starts == [T0, T0 + timedelta(milliseconds=100)]
    assert b.starts == [T0 + timedelta(milliseconds=200)]
    assert stored_next_free(TOLL_FREE) == T0 + timedelta(milliseconds=500)


@pytest.mark.usefixtures("aws")
def test_each_identity_has_its_own_schedule():
    clock = FakeClock()
    ThroughputGate(TOLL_FREE, 1, clock, clock.sleep).reserve([5])

    other = ThroughputGate("+12025550143", 1, clock, clock.sleep).reserve([1])

    assert other.starts == [T0]


@pytest.mark.usefixtures("aws")
def test_an_idle_identity_restarts_at_now_without_banked_credit():
    # Given a schedule that ran dry an hour ago
    clock = FakeClock()
    gate = ThroughputGate(TOLL_FREE, 1, clock, clock.sleep)
    gate.reserve([1])
    clock.now += timedelta(hours=1)

    # When a batch arrives
    reservation = gate.reserve([1, 1])

    # Then it starts now and is spaced at the rate, not sent as a burst
    assert reservation.starts == [clock.now, clock.now + timedelta(seconds=1)]


@pytest.mark.usefixtures("aws")
def test_a_schedule_reset_while_a_sender_thinks_it_busy_restarts_at_now():
    # Given a sender that has just reserved, and an operator who then deletes the schedule
    clock = FakeClock()
    gate = ThroughputGate(TOLL_FREE, 1, clock, clock.sleep)
    gate.reserve([5])
    PaceItem(pk=pace_pk(TOLL_FREE), sk=PACE_SK).delete()
    clock.now += timedelta(seconds=1)

    # When the sender reserves again, still believing the schedule busy
    reservation = gate.reserve([1])

    # Then it starts a new schedule now instead of extending one that is gone
    assert reservation.starts == [clock.now]
    assert stored_next_free(TOLL_FREE) == clock.now + timedelta(seconds=1)


@pytest.mark.usefixtures("aws")
def test_a_reservation_beyond_max_wait_is_still_made_but_flagged():
    # Given a 10DLC number (1 MPS) with 40 seconds of messages already reserved
    clock = FakeClock()
    gate = ThroughputGate(TOLL_FREE, 1, clock, clock.sleep, max_wait=timedelta(seconds=30))
    assert not gate.reserve([1] * 40).beyond_max_wait

    # When another batch is reserved
    late = gate.reserve([1])

    # Then its slot is 40 s away: reserved, and flagged so the sender can hand it back
    assert late.starts == [T0 + timedelta(seconds=40)]
    assert late.beyond_max_wait
    assert stored_next_free(TOLL_FREE) == T0 + timedelta(seconds=41)


@pytest.mark.usefixtures("aws")
def test_waiting_for_a_slot_sleeps_by_the_injected_clock_and_never_wakes_early():
    clock = FakeClock()
    gate = ThroughputGate(TOLL_FREE, 3, clock, clock.sleep)
    slot = T0 + timedelta(seconds=2.5)

    gate.wait_for(slot)
    gate.wait_for(T0)  # a slot already past does not sleep

    assert clock.now == slot
    assert clock.slept == [2.5]


@pytest.mark.usefixtures("aws")
def test_a_sender_that_guessed_the_schedule_idle_queues_behind_a_rival_that_just_won():
    # Given a new sender (it has seen no schedule, so it guesses idle) and a rival that
    # reserves 400 ms just as it starts (its clock lets the rival in)
    rival = ThroughputGate(TOLL_FREE, 10, lambda: T0, lambda _: None)
    interfered = False

    def clock_that_lets_the_rival_in() -> datetime:
        nonlocal interfered
        if not interfered:
            interfered = True
            rival.reserve([4])
        return T0

    gate = ThroughputGate(TOLL_FREE, 10, clock_that_lets_the_rival_in, lambda _: None)

    # When it reserves
    reservation = gate.reserve([1])

    # Then its "start now" write was refused, and its retry queued behind the rival
    assert reservation.starts == [T0 + timedelta(milliseconds=400)]
    assert stored_next_free(TOLL_FREE) == T0 + timedelta(milliseconds=500)


@pytest.mark.usefixtures("aws")
def test_a_sender_out_of_attempts_gives_up_with_nothing_reserved():
    # Given a busy schedule, and a new sender that guesses it idle and may try only once
    ThroughputGate(TOLL_FREE, 10, lambda: T0, lambda _: None).reserve([3])
    gate = ThroughputGate(TOLL_FREE, 10, lambda: T0, lambda _: None, max_attempts=1)

    # When it reserves, then
    with pytest.raises(PacingContention):
        gate.reserve([1])

    # Only the first sender's three parts hold slots
    assert stored_next_free(TOLL_FREE) == T0 + timedelta(milliseconds=300)


def test_concurrent_senders_never_overlap_and_never_lose_a_slot(aws, atomic_requests):
    # Given four senders (four Lambda containers) pacing one number at 10 MPS, each
    # reserving 25 batches of ten one-part messages as fast as it can
    mps, threads_count, batches, batch_size = 10, 4, 25, 10
    reservations: list[list[datetime]] = []
    errors: list[BaseException] = []
    flagged: list[bool] = []
    lock = threading.Lock()
    # A clock that stands still keeps every sender reserving against the same "now", the
    # hardest case: every slot comes from the shared schedule, none from idle time.
    gates = [ThroughputGate(TOLL_FREE, mps, lambda: T0, time.sleep) for _ in range(4)]

    def sender(gate: ThroughputGate) -> None:
        try:
            for _ in range(batches):
                reservation = gate.reserve([1] * batch_size)
                with lock:
                    reservations.append(reservation.starts)
                    flagged.append(reservation.beyond_max_wait)
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    atomic_requests.clear()
    threads = [threading.Thread(target=sender, args=(gate,)) for gate in gates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    calls = atomic_requests.total()

    # Then every batch was reserved...
    assert errors == []
    assert len(reservations) == threads_count * batches
    # ... every slot is its own and at least 1/mps from the next, across all senders...
    starts = sorted(start for batch in reservations for start in batch)
    messages = threads_count * batches * batch_size
    assert len(set(starts)) == len(starts) == messages
    gaps = {b - a for a, b in pairwise(starts)}
    assert gaps == {timedelta(seconds=1 / mps)}
    # ... none was lost: the schedule is exactly as long as the messages it holds...
    assert starts[0] == T0
    assert stored_next_free(TOLL_FREE) == T0 + timedelta(seconds=messages / mps)
    # ... the batches starting more than max_wait (30 s) out were flagged...
    assert flagged.count(False) == 31  # those starting at 0, 1, ... 30 s
    # ... and pacing cost well under one DynamoDB call per message
    calls_per_message = calls / messages
    print(f"DynamoDB calls {calls} for {messages} messages: {calls_per_message:.3f} each")
    assert calls_per_message < 1
