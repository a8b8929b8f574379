"""The send queue between the dispatcher and the sender."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from reach.ports.wire import JsonRecord, MalformedMessage

__all__ = ["MalformedMessage", "QueuedReminder", "SendQueue"]


@dataclass(frozen=True)
class QueuedReminder(JsonRecord):
    """One claimed reminder, as it travels through the send queue."""

    tenant_id: str
    appointment_id: str
    reminder_id: str
    claim_id: str


class SendQueue(Protocol):
    def enqueue(self, reminders: Sequence[QueuedReminder]) -> list[QueuedReminder]:
        """Queue the reminders; returns the ones that could not be queued."""
        ...
