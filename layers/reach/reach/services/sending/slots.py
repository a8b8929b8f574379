"""Pacing for one batch: send slots reserved at once and handed out message by message."""

from __future__ import annotations

import contextlib
import math
from datetime import datetime, timedelta

from reach.data.pacing import ThroughputGate
from reach.domain.pacing import PacingContention

#: Lateness, as a share of one slot, that still counts as on time: a clock's jitter.
LATE_TOLERANCE = 0.1


class SlotBook:
    """Send slots reserved for one batch at once, handed out message by message.

    One reservation per batch keeps the pacing cost per message far below one DynamoDB call;
    a message of k parts takes k consecutive single-part slots.
    """

    def __init__(self, gate: ThroughputGate, expected_messages: int) -> None:
        self._gate = gate
        self._expected = max(1, expected_messages)
        self._slots: list[datetime] = []

    def take(self, parts: int) -> datetime:
        if len(self._slots) < parts:
            wanted = max(parts - len(self._slots), self._expected)
            self._slots += self._gate.reserve([1] * wanted).starts
            self._expected = 1
        taken, self._slots = self._slots[:parts], self._slots[parts:]
        return taken[0]

    def wait_for(self, moment: datetime) -> None:
        self._gate.wait_for(moment)

    def send_at(self, slot: datetime, parts: int) -> datetime:
        """Wait for ``slot`` and return when the text may go. A sender that reached its slot
        late (a slow write, a paused thread) takes a fresh slot instead: sent late in its
        old slot, it would crowd the next one and put one part too many into some second."""
        self._gate.wait_for(slot)
        late = self._gate.now() - slot
        if late.total_seconds() * self._gate.mps <= LATE_TOLERANCE:
            return slot
        fresh = self._gate.reserve([parts]).starts[0]
        self._gate.wait_for(fresh)
        return fresh

    def back_off(self, span: timedelta) -> None:
        """Push the number's shared schedule ``span`` further out, for every sender: the
        provider said it is sending too fast. Slots already handed out stay valid. Best effort:
        a schedule too busy to extend is already slowing everyone down."""
        with contextlib.suppress(PacingContention):
            self._gate.reserve([1] * max(1, math.ceil(span.total_seconds() * self._gate.mps)))
