"""Campaigns: one text to every active member of a list, paced and held to local hours.

The records and the status rules only; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from reach.domain.errors import Conflict


class CampaignStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


#: Which status each tenant action may leave from, and where it goes.
_ACTIONS: dict[str, tuple[frozenset[CampaignStatus], CampaignStatus]] = {
    "pause": (frozenset({CampaignStatus.SENDING, CampaignStatus.SCHEDULED}), CampaignStatus.PAUSED),
    "resume": (frozenset({CampaignStatus.PAUSED}), CampaignStatus.SENDING),
    "cancel": (
        frozenset({CampaignStatus.SCHEDULED, CampaignStatus.SENDING, CampaignStatus.PAUSED}),
        CampaignStatus.CANCELLED,
    ),
}

#: Statuses a campaign never leaves.
FINAL = frozenset({CampaignStatus.COMPLETED, CampaignStatus.CANCELLED})


def after_action(status: CampaignStatus, action: str) -> CampaignStatus:
    """The status ``action`` (pause, resume, cancel) leads to from ``status``; Conflict when
    it may not be taken from there (a finished campaign changes no more)."""
    allowed, target = _ACTIONS[action]
    if status not in allowed:
        raise Conflict(f"status: a {status.value} campaign cannot be {action}d")
    return target


@dataclass(frozen=True)
class Campaign:
    tenant_id: str
    campaign_id: str
    list_id: str
    name: str
    message: str
    parts: int
    encoding: str
    send_at: datetime
    status: CampaignStatus
    created_at: datetime
    updated_at: datetime
    version: int = 1
    started_at: datetime | None = None
    finished_at: datetime | None = None
    estimated_finish: datetime | None = None


@dataclass(frozen=True)
class RecipientOutcome:
    """One recipient of a campaign, as the send side recorded it."""

    phone: str
    #: A message status (queued, held, sending, sent, delivered, undelivered, failed, skipped).
    status: str
    reason: str | None
    updated_at: datetime | None
