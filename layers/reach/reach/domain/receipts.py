"""Delivery receipts: End User Messaging's SMS events, read into what happened to a text.

A configuration set sends each text's events to an SNS topic; SNS delivers them (in their
envelope) to the status queue. An event is a JSON object with, among others, ``eventType``
(``TEXT_DELIVERED``, ``TEXT_BLOCKED``...), ``isFinal``, ``eventTimestamp`` (Unix
milliseconds), ``messageId`` (the provider's id that ``SendTextMessage`` returned) and
``context`` (the key-values we sent with the text: our ``tenant_id`` and ``message_id``).

Only final events change a message: delivered, or undelivered with the event type as the
reason. Queued, pending and other non-final events are progress, not an outcome. After 72
hours without a carrier receipt the service itself reports ``TEXT_UNKNOWN``, so every text
ends in one of the two.

``parse_receipt`` never raises: what it cannot read becomes a ``RejectedPayload`` whose
``summary`` names no phone number and no content.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reach.domain.envelopes import (
    PayloadError,
    RejectedPayload,
    json_type,
    loggable_id,
    unwrap_notification,
)
from reach.domain.message import MessageStatus

#: Final events that mean the text reached the phone or its carrier. Depending on the
#: country, carriers confirm acceptance (SUCCESSFUL) or the handset (DELIVERED).
DELIVERED_EVENTS = frozenset({"TEXT_DELIVERED", "TEXT_SUCCESSFUL"})
#: Final events that mean it did not, and never will.
UNDELIVERED_EVENTS = frozenset(
    {
        "TEXT_BLOCKED",
        "TEXT_CARRIER_BLOCKED",
        "TEXT_CARRIER_UNREACHABLE",
        "TEXT_INVALID",
        "TEXT_INVALID_MESSAGE",
        "TEXT_PROTECT_BLOCKED",
        "TEXT_SPAM",
        "TEXT_TTL_EXPIRED",
        "TEXT_UNKNOWN",
        "TEXT_UNREACHABLE",
    }
)
#: The events the template's configuration set sends to the status topic.
SUBSCRIBED_EVENTS = tuple(sorted(DELIVERED_EVENTS | UNDELIVERED_EVENTS))

_MAX_ID_CHARS = 256
# Unix milliseconds between 2001 and 2286: anything else is not an event time.
_MIN_MS, _MAX_MS = 10**12, 10**13


@dataclass(frozen=True)
class DeliveryReceipt:
    """One SMS event. ``state`` is None for an event that is not an outcome (yet)."""

    provider_message_id: str
    event_type: str
    final: bool
    at: datetime
    #: Our ids, when the text carried them in its context.
    tenant_id: str | None = None
    message_id: str | None = None

    @property
    def state(self) -> MessageStatus | None:
        """The message's status this receipt reports: delivered or undelivered."""
        if not self.final:
            return None
        if self.event_type in DELIVERED_EVENTS:
            return MessageStatus.DELIVERED
        if self.event_type in UNDELIVERED_EVENTS:
            return MessageStatus.UNDELIVERED
        return None

    @property
    def reason(self) -> str | None:
        """Why it was not delivered, e.g. ``carrier_blocked`` (None when delivered)."""
        if self.state is not MessageStatus.UNDELIVERED:
            return None
        return self.event_type.removeprefix("TEXT_").lower()


def parse_receipt(raw: str | bytes | Mapping[Any, Any] | None) -> DeliveryReceipt | RejectedPayload:
    """The receipt in ``raw`` (an SQS body, SNS envelope, JSON text or dict). Never raises."""
    payload: Mapping[Any, Any] | None = None
    try:
        payload = unwrap_notification(raw)
        return _receipt(payload)
    except PayloadError as error:
        return _rejected(error.reason, error.fields, payload)
    except Exception as error:  # last resort: a poison message must never crash-loop
        return _rejected(f"unreadable payload ({type(error).__name__})", (), payload)


def _receipt(payload: Mapping[Any, Any]) -> DeliveryReceipt:
    message_id = _text(payload, "messageId")
    event_type = _text(payload, "eventType")
    final = payload.get("isFinal")
    if not isinstance(final, bool):
        raise PayloadError(f"isFinal must be a boolean, not {json_type(final)}", ("isFinal",))
    stamp = payload.get("eventTimestamp")
    if isinstance(stamp, bool) or not isinstance(stamp, int) or not _MIN_MS <= stamp < _MAX_MS:
        raise PayloadError("eventTimestamp must be Unix milliseconds", ("eventTimestamp",))
    context = payload.get("context")
    context = context if isinstance(context, Mapping) else {}
    return DeliveryReceipt(
        provider_message_id=message_id,
        event_type=event_type,
        final=final,
        at=datetime.fromtimestamp(stamp / 1000, UTC),
        tenant_id=_optional(context, "tenant_id"),
        message_id=_optional(context, "message_id"),
    )


def _text(payload: Mapping[Any, Any], key: str) -> str:
    value = payload.get(key)
    if isinstance(value, str) and value.strip() and len(value) <= _MAX_ID_CHARS:
        return value
    if not isinstance(value, str):
        found = "missing" if key not in payload else json_type(value)
    else:
        found = "too long" if value.strip() else "blank"
    raise PayloadError(f"{key} must be a non-empty string ({found})", (key,))


def _optional(context: Mapping[Any, Any], key: str) -> str | None:
    value = context.get(key)
    return value if isinstance(value, str) and 0 < len(value) <= _MAX_ID_CHARS else None


def _rejected(
    reason: str, fields: tuple[str, ...], payload: Mapping[Any, Any] | None
) -> RejectedPayload:
    parts = [f"rejected delivery receipt: {reason}"]
    if payload is not None:
        for key in ("eventType", "messageId"):
            value = payload.get(key)
            if isinstance(value, str):
                parts.append(f"{key}={loggable_id(value)}")
    return RejectedPayload(reason=reason, fields=fields, summary="; ".join(parts))
