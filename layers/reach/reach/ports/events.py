"""The events port: domain events Reach emits to clinics, and what publishes them.

Events go to an EventBridge bus (the ``reach`` bus of the public contract) with source
``reach`` and the event type as ``detail-type``. They carry the tenant and ids, never
message text or phone numbers: a clinic reads the text through the API, where access is
checked, and an event bus fans out to targets Reach does not control. ``DomainEvent``
refuses such content when it is built, so no caller can leak it by mistake.

Delivery is at least once: a publish that raised may have published some of its events, and
the caller publishes them all again. ``event_id`` is deterministic (``event_id_for``) so
that consumers can drop the duplicates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Protocol

from reach.domain.errors import ReachError
from reach.domain.masking import mask_phones_in


class EventType(StrEnum):
    """The EventBridge ``detail-type`` of each event Reach emits."""

    APPOINTMENT_CONFIRMED = "AppointmentConfirmed"
    APPOINTMENT_CANCELLED = "AppointmentCancelled"
    RESCHEDULE_REQUESTED = "RescheduleRequested"
    RUNNING_LATE = "RunningLate"
    CALLBACK_REQUESTED = "CallbackRequested"
    OPTED_OUT = "OptedOut"
    OPTED_IN = "OptedIn"
    DELIVERY_FAILED = "DeliveryFailed"
    SURVEY_COMPLETED = "SurveyCompleted"
    REPLY_RECEIVED = "ReplyReceived"
    """A reply Reach did not understand, stored for the clinic to read (through the API)."""
    CUSTOMER_NOT_HOME = "CustomerNotHome"
    """The customer of a service visit said nobody will be home; the visit stays booked."""
    NEEDS_ATTENTION = "NeedsAttention"
    """A reply about a service visit that Reach did not understand: a person should read it."""
    APPOINTMENT_COMPLETED = "AppointmentCompleted"
    APPOINTMENT_NO_SHOW = "AppointmentNoShow"
    NOTICE_SENT = "NoticeSent"
    """A field-service notice went to the provider (``notice_type``, ``eta``)."""
    NOTICE_SKIPPED = "NoticeSkipped"
    """A field-service notice was not sent, and why (``reason``: ``opted_out``,
    ``quiet_hours``, ``repeat``, ``too_long``, ``past_eta``, ``appointment_cancelled``...)."""
    LIST_JOINED = "ListJoined"
    """Someone became an active member of a list (``list_id``; ``source`` of the consent)."""
    LIST_LEFT = "ListLeft"
    """An active or pending member left a list (``list_id``; ``reason``)."""
    CAMPAIGN_STARTED = "CampaignStarted"
    CAMPAIGN_FINISHED = "CampaignFinished"
    """A campaign ended (completed or cancelled), with its counts."""
    CONTACT_ERASED = "ContactErased"
    """A clinic erased a recipient's data (``request_id``, ``erased_*`` counts; no phone)."""


#: Detail keys every event has; ``ids`` and ``data`` may not use them.
ENVELOPE_KEYS = frozenset({"tenant_id", "event_id", "occurred_at"})

# Keys that name message content or a phone number, compared case- and underscore-blind
# ("message_body", "messageBody" and "MessageBody" are one key).
_FORBIDDEN_KEYS = frozenset(
    {"body", "text", "message", "messagebody", "phone", "phonenumber", "destination"}
)

#: A small fact, or a flat map of them (a survey's answers by question id).
DataValue = str | int | bool | None | Mapping[str, str | int]


@dataclass(frozen=True)
class DomainEvent:
    """One thing that happened for one tenant, as clinics receive it."""

    type: EventType
    tenant_id: str
    event_id: str
    """Deterministic (see ``event_id_for``): consumers dedupe on it."""
    occurred_at: datetime
    """Aware; rendered in UTC."""
    ids: Mapping[str, str] = field(default_factory=dict)
    """appointment_id, message_id, callback_id, inbound_message_id..."""
    data: Mapping[str, DataValue] = field(default_factory=dict)
    """Small facts: minutes_late, source, reason..."""

    def __post_init__(self) -> None:
        if not isinstance(self.type, EventType):
            raise ValueError(f"type must be an EventType, not {self.type!r}")
        for name in ("tenant_id", "event_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty string")
            _refuse_phone(name, value)
        if not isinstance(self.occurred_at, datetime) or self.occurred_at.utcoffset() is None:
            raise ValueError("occurred_at must be an aware datetime")
        for key, id_value in self.ids.items():
            _check_id(key, id_value)
        for key, data_value in self.data.items():
            if key in self.ids:
                raise ValueError(f"data[{key!r}] would overwrite ids[{key!r}]")
            _check_datum(key, data_value)
        # Frozen all the way down: a caller's later change to its dict cannot alter the event.
        object.__setattr__(self, "ids", MappingProxyType(dict(self.ids)))
        data = {k: dict(v) if isinstance(v, Mapping) else v for k, v in self.data.items()}
        object.__setattr__(self, "data", MappingProxyType(data))

    def detail(self) -> dict[str, object]:
        """The EventBridge ``Detail``: envelope keys, then ids, then data, all JSON-able."""
        return {
            "tenant_id": self.tenant_id,
            "event_id": self.event_id,
            "occurred_at": iso_utc(self.occurred_at),
            **self.ids,
            **self.data,
        }


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``: ``2026-11-02T14:00:00Z`` (microseconds only if any)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_id_for(event_type: EventType, tenant_id: str, *keys: str) -> str:
    """A deterministic event id: the same event, published again, gets the same id.

    ``keys`` name the occurrence, e.g. the appointment id and its version, or the inbound
    message id: whatever makes this event different from another of the same type.
    """
    if not keys:
        raise ValueError("event_id_for needs at least one key naming the occurrence")
    material = "\x1f".join((event_type.value, tenant_id, *keys))
    return "evt_" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


def delivery_failed(
    tenant_id: str,
    appointment_id: str,
    reminder_id: str,
    *,
    reason: str,
    occurred_at: datetime,
    message_id: str | None = None,
    kind: str = "reminder",
) -> DomainEvent:
    """``DeliveryFailed`` for a reminder, or another ``kind`` of message of the appointment
    (``reminder_id`` is then that message's id, named ``<kind>_id``). One message fails once,
    whether the provider refused it (the sender) or the carrier did (a receipt): the event's
    id names the message only."""
    ids = {"appointment_id": appointment_id, f"{kind}_id": reminder_id}
    if message_id:
        ids["message_id"] = message_id
    data = {"reason": reason} if kind == "reminder" else {"reason": reason, "kind": kind}
    return DomainEvent(
        type=EventType.DELIVERY_FAILED,
        tenant_id=tenant_id,
        event_id=event_id_for(EventType.DELIVERY_FAILED, tenant_id, appointment_id, reminder_id),
        occurred_at=occurred_at,
        ids=ids,
        data=data,
    )


def _check_id(key: str, value: object) -> None:
    _check_key("ids", key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"ids[{key!r}] must be a non-empty string")
    _refuse_phone(f"ids[{key!r}]", value)


def _check_datum(key: str, value: object) -> None:
    _check_key("data", key)
    if isinstance(value, Mapping):
        for inner_key, inner in value.items():
            if isinstance(inner, bool) or not isinstance(inner, str | int):
                raise ValueError(f"data[{key!r}][{inner_key!r}] must be str or int")
            _check_datum(f"{key}.{inner_key}", inner)
        return
    if value is not None and not isinstance(value, str | int):
        raise ValueError(
            f"data[{key!r}] must be str, int, bool or None, not {type(value).__name__}"
        )
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        # An int can be a phone number too (15551234567).
        _refuse_phone(f"data[{key!r}]", str(value))


def _check_key(where: str, key: str) -> None:
    if not isinstance(key, str) or not key:
        raise ValueError(f"{where} keys must be non-empty strings")
    if key in ENVELOPE_KEYS:
        raise ValueError(f"{where}[{key!r}] collides with an envelope key")
    if key.replace("_", "").lower() in _FORBIDDEN_KEYS:
        raise ValueError(f"{where}[{key!r}]: events never carry message text or phone numbers")


def _refuse_phone(where: str, value: str) -> None:
    if mask_phones_in(value) != value:
        raise ValueError(f"{where} looks like a phone number: events never carry one")


class EventPublishError(ReachError):
    """Some events could not be published.

    ``retryable`` (the usual case: throttling, EventBridge faults, retries ran out) means
    publishing all the events again later may succeed; consumers dedupe the ones that got
    through. When False (access denied, malformed entry, too large) it never will.
    """

    code = "event_publish_error"

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        error_codes: Sequence[str] = (),
        failed_event_ids: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.error_codes = tuple(error_codes)
        """EventBridge error codes seen, distinct, in order of first appearance."""
        self.failed_event_ids = tuple(failed_event_ids)
        """``event_id`` of each event not known to be published."""


class EventPublisher(Protocol):
    """Publishes domain events to the clinics' event bus."""

    def publish(self, events: Sequence[DomainEvent]) -> None:
        """Publish every event, or raise EventPublishError.

        Some events may have been published when it raises: publish them all again (with
        the same ``event_id``) when ``retryable``.
        """
        ...
