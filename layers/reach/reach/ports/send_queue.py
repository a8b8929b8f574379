"""The send queue between the dispatcher and the sender."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from reach.ports.wire import JsonRecord, MalformedMessage

__all__ = ["MalformedMessage", "QueuedMessage", "QueuedReminder", "SendQueue"]


@dataclass(frozen=True)
class QueuedReminder(JsonRecord):
    """One claimed outbound message, as it travels through the send queue.

    Besides its key and claim it carries what the dispatcher copied from the claimed item, so
    that a sender can read a whole batch in one call: the recipient's ``phone`` (which contact
    to read), the ``plan`` the message was made for, and the sending number with its pace.
    Each copy is a hint that the send re-checks against the item as it is then; a message
    queued before these fields existed has none, and the sender reads what it lacks.
    """

    tenant_id: str
    appointment_id: str
    reminder_id: str
    claim_id: str
    #: The outbound kind (``reach.services.sending``'s registry name).
    kind: str = "reminder"
    phone: str | None = None
    plan: int | None = None
    origination: str | None = None
    mps: float | None = None
    #: A campaign text's list: the sender reads the member with the campaign, in one call.
    list_id: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mps is not None and not self.mps > 0:
            raise MalformedMessage("mps", "must be above 0")


#: The name the send path uses: the queue carries every outbound kind, not just reminders.
QueuedMessage = QueuedReminder


class SendQueue(Protocol):
    def enqueue(self, reminders: Sequence[QueuedReminder]) -> list[QueuedReminder]:
        """Queue the reminders; returns the ones that could not be queued."""
        ...
