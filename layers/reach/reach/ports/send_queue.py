"""The send queue between the dispatcher and the sender."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


class QueuedReminder(BaseModel):
    """One claimed outbound message, as it travels through the send queue.

    Besides its key and claim it carries what the dispatcher copied from the claimed item, so
    that a sender can read a whole batch in one call: the recipient's ``phone`` (which contact
    to read), the ``plan`` the message was made for, and the sending number with its pace.
    Each copy is a hint that the send re-checks against the item as it is then; a message
    queued before these fields existed has none, and the sender reads what it lacks.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    tenant_id: str = Field(min_length=1)
    appointment_id: str = Field(min_length=1)
    reminder_id: str = Field(min_length=1)
    claim_id: str = Field(min_length=1)
    #: The outbound kind (``reach.services.sending``'s registry name).
    kind: str = Field(default="reminder", min_length=1)
    phone: str | None = None
    plan: int | None = None
    origination: str | None = None
    mps: float | None = Field(default=None, gt=0)


#: The name the send path uses: the queue carries every outbound kind, not just reminders.
QueuedMessage = QueuedReminder


class SendQueue(Protocol):
    def enqueue(self, reminders: Sequence[QueuedReminder]) -> list[QueuedReminder]:
        """Queue the reminders; returns the ones that could not be queued."""
        ...
