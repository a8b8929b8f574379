"""The SMS port: what services need from an SMS provider, and nothing provider-specific.

Services hand an ``OutboundSms`` to an ``SmsSender`` and get a ``SentSms`` back, or one of
four errors that tell them what to do next:

- ``SmsThrottled`` and ``SmsUnavailable`` are retryable: the sender already retried in
  process, so the caller lets the queue redeliver later (and, in the end, the DLQ keep it).
- ``RecipientOptedOut``: the provider's opt-out list has the number. Mark the contact opted
  out and skip the reminder; sending again can never succeed.
- ``SmsRejected``: permanent for this message (invalid number, validation, access denied,
  misconfiguration, expired). Mark it FAILED with ``reason``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol

from reach.domain.errors import ReachError

#: Less time than this left before ``OutboundSms.expires_at`` and the message is refused as
#: expired: End User Messaging's shortest TimeToLive is 5 s, and no provider hands a message
#: to a carrier faster than that.
MIN_TIME_TO_LIVE_SECONDS = 5


@dataclass(frozen=True)
class OutboundSms:
    """One text message to one recipient, as the sender service hands it to a provider."""

    destination: str
    """The recipient, E.164."""
    body: str
    origination_identity: str
    """Phone number, sender id, pool or ARN; "" lets SNS use the account's default."""
    tenant_id: str
    message_id: str
    """Our id for the message; End User Messaging copies it into delivery events."""
    expires_at: datetime | None = None
    """Aware; the provider must stop trying to deliver after this (None: its own default)."""
    configuration_set: str | None = None
    parts: int = 1
    """Segments the body takes (informational: cost and pacing are per part)."""

    def seconds_left(self, now: datetime) -> float | None:
        """Seconds from ``now`` until ``expires_at``; None when the message does not expire."""
        if self.expires_at is None:
            return None
        return (self.expires_at - now).total_seconds()

    def is_expired(self, now: datetime) -> bool:
        """Too late to hand to a provider (see MIN_TIME_TO_LIVE_SECONDS)."""
        left = self.seconds_left(now)
        return left is not None and left < MIN_TIME_TO_LIVE_SECONDS


@dataclass(frozen=True)
class SentSms:
    """A provider accepted the message; its id correlates later delivery events."""

    provider: str
    provider_message_id: str


class SmsError(ReachError):
    """A send did not succeed. ``reason`` is a short machine word for logs and statuses."""

    code = "sms_error"
    retryable: ClassVar[bool] = False

    def __init__(self, reason: str, detail: str = "", *, provider_code: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        # The provider's own error code when it raised one: for logs, never for decisions.
        self.provider_code = provider_code


class SmsThrottled(SmsError):
    """The provider refused for rate: retry later, with backoff."""

    code = "sms_throttled"
    retryable = True


class SmsUnavailable(SmsError):
    """A transient provider or network failure: retry later."""

    code = "sms_unavailable"
    retryable = True


class RecipientOptedOut(SmsError):
    """The recipient opted out at the provider: mark the contact opted out, skip the message."""

    code = "recipient_opted_out"


class SmsRejected(SmsError):
    """Permanent for this message: invalid number, validation, access denied, expired..."""

    code = "sms_rejected"


class SmsSender(Protocol):
    """Sends one SMS through one provider (SNS, End User Messaging SMS, or a fake)."""

    name: str
    """The provider's name, recorded with each message (``SentSms.provider``)."""

    def send(self, sms: OutboundSms) -> SentSms:
        """Hand ``sms`` to the provider and return its message id.

        Raises SmsThrottled or SmsUnavailable (retryable, after in-process retries ran out),
        RecipientOptedOut, or SmsRejected (permanent; reason "expired" when ``expires_at`` is
        less than MIN_TIME_TO_LIVE_SECONDS away, without calling the provider). Each attempt
        makes exactly one provider call: SDK-level retries are switched off so that retries
        are counted in one place.
        """
        ...
