"""A clock that moves only when told to: the local run's "now", and the tests' and
benchmarks' too, so that a reminder days away can be sent in a second."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from reach.clock import system_clock


class DemoClock:
    """Reach's "now" in the local run: starts at the real time and moves only when told to.

    Thread-safe: the HTTP front, the scheduler thread and pacing's ``sleep`` share it.
    """

    def __init__(self, start: datetime | None = None) -> None:
        moment = system_clock() if start is None else start
        if moment.tzinfo is None:
            raise ValueError("the demo clock keeps aware times only")
        self._now = moment.astimezone(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        """Put the clock at ``moment``, earlier or later (tests replay a moment this way)."""
        if moment.tzinfo is None:
            raise ValueError("the demo clock keeps aware times only")
        with self._lock:
            self._now = moment.astimezone(UTC)

    def advance(self, span: timedelta) -> datetime:
        """Move ``span`` forward; returns the new time."""
        if span < timedelta(0):
            raise ValueError("the demo clock only moves forward; use set() to go back")
        with self._lock:
            self._now += span
            return self._now

    def advance_to(self, moment: datetime) -> datetime:
        """Move forward to ``moment`` unless the clock is already past it; returns the time."""
        with self._lock:
            self._now = max(self._now, moment.astimezone(UTC))
            return self._now

    def sleep(self, seconds: float) -> None:
        """What pacing calls to wait for a send slot: the wait passes at once, in demo time."""
        self.advance(timedelta(seconds=max(seconds, 0.0)))
