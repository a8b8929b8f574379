"""Sending outbound texts: one send path, and the kinds of message it sends.

``path`` owns the steps every text goes through; ``kind`` is the interface each outbound kind
implements (its docstring is the checklist for adding one); ``reminder`` is the first kind,
``notice`` the second.
"""

from reach.services.sending.kind import AnnouncesSent, Deferred, OutboundKind, Outgoing, Stale
from reach.services.sending.notice import NoticeKind, NoticeToSend
from reach.services.sending.path import (
    DEADLINE_MARGIN,
    MAX_RECEIVES,
    SENDING_LEASE,
    Delivery,
    RedeliverLater,
    SendBatch,
    SendOutcome,
    SendPath,
    SendResult,
)
from reach.services.sending.reminder import ReminderKind, ReminderToSend

__all__ = [
    "DEADLINE_MARGIN",
    "MAX_RECEIVES",
    "SENDING_LEASE",
    "AnnouncesSent",
    "Deferred",
    "Delivery",
    "NoticeKind",
    "NoticeToSend",
    "OutboundKind",
    "Outgoing",
    "RedeliverLater",
    "ReminderKind",
    "ReminderToSend",
    "SendBatch",
    "SendOutcome",
    "SendPath",
    "SendResult",
    "Stale",
]
