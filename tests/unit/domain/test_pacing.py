"""reserve_slots: the pure limiter every sender shares (no AWS here)."""

from __future__ import annotations

import heapq
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reach.domain.pacing import occupancy, reserve_slots

NOW = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)
US = timedelta(microseconds=1)


def test_an_unused_limiter_starts_the_first_message_now():
    reservation, next_free = reserve_slots(None, NOW, [1], mps=3)

    assert reservation.starts == [NOW]
    assert next_free == NOW + occupancy(1, 3)


def test_messages_are_spaced_by_their_own_parts_over_the_mps():
    # Given a limiter at 10 MPS (100 ms a part) that is free from now
    # When a batch of one-, three- and two-part messages is reserved
    reservation, next_free = reserve_slots(NOW, NOW, [1, 3, 2], mps=10)

    # Then each message starts when the previous one's parts are done
    assert reservation.starts == [NOW, NOW + 100 * MS, NOW + 400 * MS]
    assert next_free == NOW + 600 * MS


def test_a_busy_limiter_queues_the_batch_behind_the_slots_already_given():
    busy_until = NOW + timedelta(seconds=4)

    reservation, next_free = reserve_slots(busy_until, NOW, [2, 2], mps=1)

    assert reservation.starts == [busy_until, busy_until + timedelta(seconds=2)]
    assert next_free == busy_until + timedelta(seconds=4)


def test_an_idle_limiter_banks_no_credit_however_long_it_was_idle():
    # Given a limiter whose last slot ended an hour ago
    an_hour_ago = NOW - timedelta(hours=1)

    # When five one-part messages are reserved at 3 MPS
    reservation, next_free = reserve_slots(an_hour_ago, NOW, [1] * 5, mps=3)

    # Then the first goes now and the rest follow at the steady rate: the burst is one
    # message, not an hour's (or even a second's) worth
    assert reservation.starts[0] == NOW
    gaps = [b - a for a, b in pairwise(reservation.starts)]
    assert all(gap >= timedelta(seconds=1) / 3 for gap in gaps)
    assert next_free - NOW == pytest.approx(timedelta(seconds=5) / 3, abs=5 * US)


def test_a_rate_that_is_not_whole_microseconds_rounds_each_gap_up_never_down():
    # 1/3 s is 333,333.3 microseconds; rounding down would fit four parts in one second
    reservation, next_free = reserve_slots(None, NOW, [1, 1, 1, 1], mps=3)

    gaps = [b - a for a, b in pairwise([*reservation.starts, next_free])]
    assert gaps == [timedelta(microseconds=333_334)] * 4
    assert reservation.starts[3] - reservation.starts[0] >= timedelta(seconds=1)


def test_a_multi_part_message_holds_the_identity_for_all_its_parts():
    # A 3-part message at 1 MPS (10DLC) holds the number for three seconds
    reservation, next_free = reserve_slots(None, NOW, [3, 1], mps=1)

    assert reservation.starts == [NOW, NOW + timedelta(seconds=3)]
    assert next_free == NOW + timedelta(seconds=4)


def test_an_empty_batch_reserves_nothing_and_moves_nothing():
    busy_until = NOW + timedelta(seconds=2)

    reservation, next_free = reserve_slots(busy_until, NOW, [], mps=3)

    assert reservation.starts == []
    assert reservation.first_start is None
    assert next_free == busy_until


@pytest.mark.parametrize(
    ("next_free", "now", "parts", "mps"),
    [
        (None, NOW, [0], 3.0),
        (None, NOW, [1], 0.0),
        (None, NOW, [1], -1.0),
        (None, NOW, [1], float("nan")),
        (None, NOW.replace(tzinfo=None), [1], 3.0),
        (NOW.replace(tzinfo=None), NOW, [1], 3.0),
    ],
)
def test_impossible_inputs_are_refused(next_free, now, parts, mps):
    with pytest.raises(ValueError):  # noqa: PT011 - several distinct messages, one contract
        reserve_slots(next_free, now, parts, mps)


@given(
    free_offset_ms=st.one_of(st.none(), st.integers(-10_000_000, 10_000_000)),
    parts=st.lists(st.integers(1, 10), min_size=1, max_size=12),
    mps=st.sampled_from([0.5, 1, 3, 7, 10, 100, 250.5]),
)
def test_any_reservation_starts_no_earlier_than_now_and_never_overlaps(free_offset_ms, parts, mps):
    next_free = None if free_offset_ms is None else NOW + free_offset_ms * MS

    reservation, new_free = reserve_slots(next_free, NOW, parts, mps)

    assert len(reservation.starts) == len(parts)
    ends = [*reservation.starts[1:], new_free]
    for start, end, count in zip(reservation.starts, ends, parts, strict=True):
        assert start >= NOW
        assert next_free is None or start >= next_free
        assert timedelta(seconds=count / mps) <= end - start <= timedelta(seconds=count / mps) + US


# --- simulation: a large burst drained by several senders ------------------------------


def simulate_drain(
    parts: Sequence[int], mps: float, senders: int, send_latency: timedelta
) -> tuple[list[tuple[datetime, int]], datetime]:
    """Senders take batches of up to 10 from one backlog, reserve them with reserve_slots,
    wait for each slot (a fake clock: waiting is moving the clock), spend send_latency on the
    API call, and come back for more. Returns every (start, parts) sent and the final
    next_free."""
    backlog = list(parts)
    next_free: datetime | None = None
    sent: list[tuple[datetime, int]] = []
    # (moment the sender is free, sender number): the fake clock is the earliest of these
    free_at = [(NOW, n) for n in range(senders)]
    heapq.heapify(free_at)
    while backlog:
        now, sender = heapq.heappop(free_at)
        batch, backlog = backlog[:10], backlog[10:]
        reservation, next_free = reserve_slots(next_free, now, batch, mps)
        sent += zip(reservation.starts, batch, strict=True)
        heapq.heappush(free_at, (reservation.starts[-1] + send_latency, sender))
    assert next_free is not None
    return sent, next_free


def part_slots(sent: list[tuple[datetime, int]], mps: float) -> list[datetime]:
    """Each part's own slot: a k-part message occupies k consecutive 1/mps slots."""
    return sorted(start + occupancy(j, mps) for start, count in sent for j in range(count))


def busiest_second(moments: list[datetime]) -> int:
    """Most moments in any half-open one-second window (windows starting at a moment are
    enough: sliding a window's start up to its first moment loses nothing)."""
    most, tail = 0, 0
    for head, moment in enumerate(moments):
        while moments[tail] <= moment - timedelta(seconds=1):
            tail += 1
        most = max(most, head - tail + 1)
    return most


@pytest.mark.parametrize("mps", [1, 3, 10, 100])
def test_a_burst_of_a_thousand_mixed_messages_drains_at_the_mps_and_never_above_it(mps):
    # Given 1,000 queued messages of 1 to 3 parts and four senders draining them at once
    rng = random.Random(mps)
    parts = [rng.choice([1, 1, 1, 2, 3]) for _ in range(1000)]

    # When they are paced through the shared limiter
    sent, next_free = simulate_drain(parts, mps, senders=4, send_latency=80 * MS)

    # Then nothing is lost, every slot is its own, the drain runs within 2% of the MPS...
    assert sorted(count for _, count in sent) == sorted(parts)
    starts = sorted(start for start, _ in sent)
    assert len(set(starts)) == len(starts)
    first = starts[0]
    rate = sum(parts) / (next_free - first).total_seconds()
    assert rate == pytest.approx(mps, rel=0.02)
    # ... and no one-second window, anywhere in the drain, carries more than the MPS
    assert busiest_second(part_slots(sent, mps)) <= mps


def test_one_sender_at_a_high_mps_cannot_keep_the_limiter_busy_so_nothing_bunches():
    # Given one sender whose API calls take longer than a 100 MPS slot
    parts = [1] * 300

    # When it drains alone
    sent, _ = simulate_drain(parts, 100, senders=1, send_latency=80 * MS)

    # Then the limiter idles between its batches (no credit builds up) and stays under 100
    assert busiest_second(part_slots(sent, 100)) <= 100
    starts = [start for start, _ in sent]
    assert starts == sorted(starts)


def test_zoned_times_are_paced_in_elapsed_time_across_a_dst_change():
    # Given a New York limiter free one second before clocks fall back (01:59:59 EDT)
    new_york = ZoneInfo("America/New_York")
    free = datetime(2026, 11, 1, 1, 59, 59, tzinfo=new_york)

    # When two two-part messages are reserved at 1 MPS
    reservation, next_free = reserve_slots(free, free, [2, 2], mps=1)

    # Then they are two and four real seconds later, not an hour off
    assert reservation.starts[1] - free == timedelta(seconds=2)
    assert next_free == datetime(2026, 11, 1, 6, 0, 3, tzinfo=UTC)
