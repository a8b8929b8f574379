"""What goes into the send path and what comes out of it, for one queue message.

Kept apart from ``path`` so that the sender function can read its queue and report its
outcomes without loading the send path itself at import.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reach.ports.send_queue import QueuedReminder


class SendOutcome(StrEnum):
    """What the send path did with one queue message."""

    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    HELD = "held"
    #: A stale or repeated queue message: someone else owns the message now.
    DUPLICATE = "duplicate"
    #: A retryable failure; the queue should deliver the message again.
    RETRY = "retry"


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    reason: str | None = None
    provider_message_id: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One queue message handed to the path, and how many times the queue has delivered it
    (this time included)."""

    queued: QueuedReminder
    receive_count: int = 1


class RedeliverLater(Exception):
    """Raised to the queue consumer: let SQS deliver this message again later."""
