"""A recording ``EventPublisher`` for service tests and the local run.

It keeps the port's contract, all or raise, without EventBridge's mechanics: a scripted
failure stands for what the real adapter raises after its own retries ran out, and records
nothing (a caller that publishes again then sees each event recorded once).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from reach.ports.events import DomainEvent, EventPublishError, EventType


class RecordingPublisher:
    """Records every published event in order; the first ``fail_times`` calls raise instead.

    ``calls`` counts every call of ``publish``, failed ones included. Thread-safe.
    """

    def __init__(self, *, fail_times: int = 0, retryable: bool = True) -> None:
        if fail_times < 0:
            raise ValueError("fail_times must not be negative")
        self.events: list[DomainEvent] = []
        self.calls = 0
        self._fail_times = fail_times
        self._retryable = retryable
        self._lock = threading.Lock()

    def publish(self, events: Sequence[DomainEvent]) -> None:
        """Record ``events``, or raise EventPublishError while scripted failures remain."""
        with self._lock:
            self.calls += 1
            if self._fail_times > 0:
                self._fail_times -= 1
                raise EventPublishError(
                    "scripted by RecordingPublisher",
                    retryable=self._retryable,
                    error_codes=(
                        "InternalFailure" if self._retryable else "AccessDeniedException",
                    ),
                    failed_event_ids=[event.event_id for event in events],
                )
            self.events.extend(events)

    def of_type(self, event_type: EventType) -> list[DomainEvent]:
        """The recorded events of one type, in publish order."""
        with self._lock:
            return [event for event in self.events if event.type is event_type]
