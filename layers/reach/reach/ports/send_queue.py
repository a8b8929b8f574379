"""The send queue between the dispatcher and the sender."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


class QueuedReminder(BaseModel):
    """One claimed reminder, as it travels through the send queue."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    tenant_id: str = Field(min_length=1)
    appointment_id: str = Field(min_length=1)
    reminder_id: str = Field(min_length=1)
    claim_id: str = Field(min_length=1)


class SendQueue(Protocol):
    def enqueue(self, reminders: Sequence[QueuedReminder]) -> list[QueuedReminder]:
        """Queue the reminders; returns the ones that could not be queued."""
        ...
