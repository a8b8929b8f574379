"""Sending outbound texts: one send path, and the kinds of message it sends.

``path`` owns the steps every text goes through; ``kind`` is the interface each outbound kind
implements (its docstring is the checklist for adding one); ``reminder`` is the first kind,
``notice`` the second; ``outcomes`` is what goes in and comes out for one queue message.

The names below load their module on first use: the sender function imports ``outcomes`` at
cold start and the send path only when its first batch arrives (``reach.wiring``).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reach.services.sending.kind import (
        AnnouncesSent,
        Deferred,
        OutboundKind,
        Outgoing,
        Stale,
    )
    from reach.services.sending.notice import NoticeKind, NoticeToSend
    from reach.services.sending.outcomes import Delivery, RedeliverLater, SendOutcome, SendResult
    from reach.services.sending.path import (
        DEADLINE_MARGIN,
        MAX_RECEIVES,
        SENDING_LEASE,
        SendBatch,
        SendPath,
    )
    from reach.services.sending.reminder import ReminderKind, ReminderToSend

_HOME = {
    "DEADLINE_MARGIN": "path",
    "MAX_RECEIVES": "path",
    "SENDING_LEASE": "path",
    "AnnouncesSent": "kind",
    "Deferred": "kind",
    "Delivery": "outcomes",
    "NoticeKind": "notice",
    "NoticeToSend": "notice",
    "OutboundKind": "kind",
    "Outgoing": "kind",
    "RedeliverLater": "outcomes",
    "ReminderKind": "reminder",
    "ReminderToSend": "reminder",
    "SendBatch": "path",
    "SendOutcome": "outcomes",
    "SendPath": "path",
    "SendResult": "outcomes",
    "Stale": "kind",
}

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


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # found once, then an ordinary attribute
    return value
