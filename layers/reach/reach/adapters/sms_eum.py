"""SMS through AWS End User Messaging SMS (``pinpoint-sms-voice-v2`` SendTextMessage).

This is the successor of Amazon Pinpoint's SMS channel (Pinpoint reached end of support on
2026-10-30). One recipient per call; ``Context`` travels into every delivery event, which
is how the status function finds the message and tenant again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar, Unpack

from reach.adapters.sms_base import (
    Classification,
    ErrorKey,
    SenderOptions,
    SmsProviderBase,
    eum_client,
)
from reach.ports.sms import (
    MIN_TIME_TO_LIVE_SECONDS,
    OutboundSms,
    RecipientOptedOut,
    SmsRejected,
    SmsThrottled,
    SmsUnavailable,
)

#: SendTextMessage's TimeToLive range, in seconds (service model: 5..259200, i.e. 72 h).
MAX_TIME_TO_LIVE_SECONDS = 259_200


class EndUserMessagingSmsSender(SmsProviderBase):
    """``SmsSender`` over End User Messaging SMS ``send_text_message``, TRANSACTIONAL.

    The origination identity (phone number, sender id, pool, or their ARNs) is required: an
    empty one is refused without a call. ``expires_at`` becomes TimeToLive, floored to whole
    seconds so the provider gives up no later than Reach expects, and clamped to 5..259200.
    """

    name = "end-user-messaging"
    ERRORS: ClassVar[Mapping[ErrorKey, Classification]] = MappingProxyType(
        {
            "ThrottlingException": Classification(SmsThrottled, "throttled"),
            # The quotas a send can exceed are limits that recover on their own or when an
            # operator raises them; failing the reminder for good would lose every message sent
            # while the limit holds. Retried, it ends in the DLQ at worst, ready for a redrive.
            "ServiceQuotaExceededException": Classification(SmsThrottled, "quota_exceeded"),
            # The monthly text spend limit recovers only next month or when it is raised: not
            # rate, so not "throttled", but still not this message's fault.
            ("ServiceQuotaExceededException", "MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT"): (
                Classification(SmsUnavailable, "spend_limit_reached")
            ),
            ("ConflictException", "DESTINATION_PHONE_NUMBER_OPTED_OUT"): (
                Classification(RecipientOptedOut, "opted_out")
            ),
            # Sandbox accounts may text verified destinations only.
            ("ConflictException", "DESTINATION_PHONE_NUMBER_NOT_VERIFIED"): (
                Classification(SmsRejected, "destination_not_verified")
            ),
            ("ConflictException", "DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION"): (
                Classification(SmsRejected, "destination_blocked")
            ),
            ("ConflictException", "DESTINATION_PHONE_NUMBER_BLOCKED_BY_PROTECT_NUMBER_OVERRIDE"): (
                Classification(SmsRejected, "destination_blocked")
            ),
            "ConflictException": Classification(SmsRejected, "conflict"),
            "ValidationException": Classification(SmsRejected, "invalid_request"),
            "AccessDeniedException": Classification(SmsRejected, "access_denied"),
            "ResourceNotFoundException": Classification(SmsRejected, "resource_not_found"),
            "InternalServerException": Classification(SmsUnavailable, "provider_error"),
        }
    )

    def __init__(
        self,
        client: Any = None,
        *,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        **options: Unpack[SenderOptions],
    ) -> None:
        super().__init__(**options)
        self.client: Any = client or eum_client(region_name, endpoint_url)

    def _validate(self, sms: OutboundSms) -> None:
        if not sms.origination_identity:
            raise SmsRejected(
                "no_origination_identity", "End User Messaging needs a number, sender id or pool"
            )

    def _send_once(self, sms: OutboundSms) -> str:
        request: dict[str, Any] = {
            "DestinationPhoneNumber": sms.destination,
            "OriginationIdentity": sms.origination_identity,
            "MessageBody": sms.body,
            "MessageType": "TRANSACTIONAL",
        }
        if sms.configuration_set:
            request["ConfigurationSetName"] = sms.configuration_set
        ttl = time_to_live(sms, self._clock())
        if ttl is not None:
            request["TimeToLive"] = ttl
        # Context values must be non-empty strings (service model), so blanks are left out.
        context = {"tenant_id": sms.tenant_id, "message_id": sms.message_id}
        context = {key: value for key, value in context.items() if value}
        if context:
            request["Context"] = context
        response = self.client.send_text_message(**request)
        return str(response["MessageId"])


def time_to_live(sms: OutboundSms, now: datetime) -> int | None:
    """TimeToLive for ``sms`` sent at ``now``: ends no later than ``expires_at``, in range.

    None when the message does not expire (the provider's 72 h default applies). The base
    has refused messages with less than 5 s left, so the lower clamp only absorbs the
    milliseconds between that check and this call.
    """
    left = sms.seconds_left(now)
    if left is None:
        return None
    return max(MIN_TIME_TO_LIVE_SECONDS, min(MAX_TIME_TO_LIVE_SECONDS, math.floor(left)))
