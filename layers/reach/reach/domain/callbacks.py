"""A recipient's request, made by text (a CALL reply), for the organisation to call back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Callback:
    """Open until the organisation closes it with how the call went."""

    tenant_id: str
    callback_id: str
    phone: str
    appointment_id: str | None
    status: str
    requested_at: datetime
    expected_by: datetime
    inbound_message_id: str
    closed_at: datetime | None = None
    outcome: str | None = None
    note: str | None = None
