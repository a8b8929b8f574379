"""A text message in either direction, whatever it is about, with one status vocabulary.

A reminder, an automatic answer and a recipient's reply are kinds of one message; a new
outbound kind (a notice, a campaign message, a survey question) is a new ``MessageKind``
member, not a new record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class MessageKind(StrEnum):
    """What a message is: which part of Reach wrote it, or that a recipient did."""

    #: An appointment reminder the sender sent (or tried to).
    REMINDER = "reminder"
    #: A field-service notice (the technician is on the way, or running late).
    NOTICE = "notice"
    #: A double opt-in list's "Reply YES to join" text.
    INVITE = "invite"
    #: One member's text of a list campaign.
    CAMPAIGN = "campaign"
    #: A survey's first question, or the reminder of a waiting one, that the sender sent.
    SURVEY = "survey"
    #: Our automatic answer to a recipient's reply.
    ANSWER = "answer"
    #: A text a recipient sent us.
    INBOUND = "inbound"

    @property
    def direction(self) -> Direction:
        return Direction.INBOUND if self is MessageKind.INBOUND else Direction.OUTBOUND


class MessageStatus(StrEnum):
    """Where a message stands, from its planning to its carrier receipt: one vocabulary for
    every kind and direction. The values are stored and shown by the API as they are.

    A reminder is a planned message: ``pending`` in the due index until its time, then
    ``queued``, ``sending`` and a final status like any other text.
    """

    #: Planned, and waiting in the due index for its time (a reminder).
    PENDING = "pending"
    #: Waiting for a sender.
    QUEUED = "queued"
    #: Kept back for later (quiet hours, caps).
    HELD = "held"
    #: A sender is talking to the provider right now.
    SENDING = "sending"
    #: The provider refused for now; the next try of the same work sends it again.
    RETRY = "retry"
    #: The provider accepted it.
    SENT = "sent"
    #: The carrier's receipt said it reached the phone.
    DELIVERED = "delivered"
    #: The carrier's receipt said it did not.
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    #: Will not be sent; ``reason`` says why (an opt-out...).
    SKIPPED = "skipped"
    #: Replaced by a reschedule or ended by a cancellation before it went.
    CANCELLED = "cancelled"
    #: Inbound: a recipient's text we received.
    RECEIVED = "received"

    @property
    def takes_receipt(self) -> bool:
        """A text that went out, whose status a carrier's delivery receipt may replace."""
        return self in _RECEIPT_STATUSES


_RECEIPT_STATUSES = frozenset(
    {MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED}
)


@dataclass(frozen=True)
class Thread:
    """Where a message is filed: an appointment's conversation (``appointment_id``), or the
    recipient's own conversation with the tenant when it is about no appointment."""

    tenant_id: str
    appointment_id: str | None
    phone: str


@dataclass(frozen=True)
class Message:
    """One message of a conversation, either direction (``kind`` says which)."""

    message_id: str
    kind: MessageKind
    phone: str
    body: str | None
    status: MessageStatus
    created_at: datetime
    updated_at: datetime
    reason: str | None = None
    #: Inbound: what the reply was read as. Answers: the kind of answer.
    intent: str | None = None
    parts: int = 0
    encoding: str | None = None
    provider: str | None = None
    provider_message_id: str | None = None
    #: Reminders: which reminder of the appointment this text was.
    reminder_id: str | None = None
    #: An answer's inbound message id (and an inbound message's own).
    inbound_message_id: str | None = None
    appointment_id: str | None = None
    #: When the carrier's final receipt set ``status`` to delivered or undelivered.
    status_at: datetime | None = None
    #: When DynamoDB's TTL may delete the stored message (reach.domain.retention); None:
    #: kept until erased (messages stored before retention existed).
    expires_at: datetime | None = None

    @property
    def direction(self) -> Direction:
        return self.kind.direction
