"""SMS through Amazon SNS ``Publish`` to a phone number.

Opted-out recipients: SNS does not refuse them. ``Publish`` to a number on the account's
opt-out list succeeds and returns a MessageId; SNS then drops the message, and the only trace
is a FAILURE delivery-status record in CloudWatch Logs ("Phone number is opted out"). Sources:
the SNS developer guide (sms_manage.html: an opted-out number's messages "fail to deliver"),
GC Notify's notification-api PR #2207 ("SNS will accept the boto call and later log that the
number has opted out"), and the SNS service model, which declares OptedOutException for
CreateSMSSandboxPhoneNumber but not for Publish. So this adapter cannot raise
RecipientOptedOut in practice: Reach's own consent table is what stops sends to opted-out
recipients, reconciled on a schedule with ``list_phone_numbers_opted_out`` (never a
``check_if_phone_number_is_opted_out`` call per send, which would double the API calls and
still race with a STOP). ``OptedOut`` is in the table anyway, should SNS ever return it.

SNS has no TimeToLive, no configuration set and no per-message context: ``expires_at`` is
enforced only before the call (the base refuses an expired message), ``configuration_set``
is ignored, and the returned MessageId is the only correlation for delivery logs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar, Unpack

import boto3

from reach.adapters.sms_base import (
    SDK_CLIENT_CONFIG,
    Classification,
    ErrorKey,
    SenderOptions,
    SmsProviderBase,
)
from reach.ports.sms import (
    OutboundSms,
    RecipientOptedOut,
    SmsRejected,
    SmsThrottled,
    SmsUnavailable,
)

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef

#: SNS refuses a Publish to a phone number whose message is over 1,600 bytes.
MAX_BODY_BYTES = 1600

_E164 = re.compile(r"\+[1-9]\d{6,14}")
# Alphanumeric sender ID: 1-11 letters and digits, at least one letter (SNS developer guide).
_SENDER_ID = re.compile(r"(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{1,11}")

_THROTTLED = Classification(SmsThrottled, "throttled")
_UNAVAILABLE = Classification(SmsUnavailable, "provider_error")
_INVALID = Classification(SmsRejected, "invalid_request")
_ACCESS_DENIED = Classification(SmsRejected, "access_denied")
# KMS errors belong to encrypted topics; should a direct SMS publish ever meet one, retrying
# will not repair a key.
_KMS_MISCONFIGURED = Classification(SmsRejected, "kms_misconfigured")


class SnsSmsSender(SmsProviderBase):
    """``SmsSender`` over ``sns.publish(PhoneNumber=...)``, as a Transactional message.

    The origination identity becomes ``AWS.MM.SMS.OriginationNumber`` (an E.164 number) or
    ``AWS.SNS.SMS.SenderID`` (an alphanumeric sender id); "" leaves the choice to SNS. Bodies
    over 1,600 bytes and identities that are neither (pools and ARNs are End User Messaging
    only) are refused without a call.
    """

    name = "sns"
    # Query-protocol codes as SNS returns them (the service model's ``error.code``), plus the
    # exception class names, which some SDKs and emulators return instead.
    ERRORS: ClassVar[Mapping[ErrorKey, Classification]] = MappingProxyType(
        {
            "Throttled": _THROTTLED,
            "ThrottledException": _THROTTLED,
            "Throttling": _THROTTLED,
            "InternalError": _UNAVAILABLE,
            "InternalErrorException": _UNAVAILABLE,
            "ServiceUnavailable": _UNAVAILABLE,
            # KMS throttled SNS, not us: transient, on SNS's side of the call.
            "KMSThrottling": _UNAVAILABLE,
            "KMSThrottlingException": _UNAVAILABLE,
            "InvalidParameter": _INVALID,
            "InvalidParameterException": _INVALID,
            "ParameterValueInvalid": _INVALID,
            "InvalidParameterValue": _INVALID,
            "InvalidParameterValueException": _INVALID,
            "ValidationException": _INVALID,
            "AuthorizationError": _ACCESS_DENIED,
            "AuthorizationErrorException": _ACCESS_DENIED,
            "InvalidSecurity": _ACCESS_DENIED,
            "AccessDenied": _ACCESS_DENIED,
            "KMSAccessDenied": _KMS_MISCONFIGURED,
            "KMSDisabled": _KMS_MISCONFIGURED,
            "KMSInvalidState": _KMS_MISCONFIGURED,
            "KMSNotFound": _KMS_MISCONFIGURED,
            "KMSOptInRequired": _KMS_MISCONFIGURED,
            "OptedOut": Classification(RecipientOptedOut, "opted_out"),
        }
    )

    def __init__(
        self,
        client: SNSClient | None = None,
        *,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        **options: Unpack[SenderOptions],
    ) -> None:
        super().__init__(**options)
        self.client: SNSClient = client or boto3.client(
            "sns", region_name=region_name, endpoint_url=endpoint_url, config=SDK_CLIENT_CONFIG
        )

    def _validate(self, sms: OutboundSms) -> None:
        size = len(sms.body.encode("utf-8"))
        if size > MAX_BODY_BYTES:
            raise SmsRejected("body_too_long", f"{size} bytes, SNS takes {MAX_BODY_BYTES}")
        identity = sms.origination_identity
        if identity and not (_E164.fullmatch(identity) or _SENDER_ID.fullmatch(identity)):
            raise SmsRejected(
                "invalid_origination_identity",
                "SNS takes an E.164 origination number or a sender id of 1-11 letters/digits",
            )

    def _send_once(self, sms: OutboundSms) -> str:
        response = self.client.publish(
            PhoneNumber=sms.destination,
            Message=sms.body,
            MessageAttributes=message_attributes(sms.origination_identity),
        )
        return response["MessageId"]


def message_attributes(origination_identity: str) -> dict[str, MessageAttributeValueTypeDef]:
    """The SMS attributes of one Publish: Transactional, and who it comes from."""
    attributes: dict[str, MessageAttributeValueTypeDef] = {
        # Transactional: SNS routes for reliability over price, as appointment texts need.
        "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
    }
    if _E164.fullmatch(origination_identity):
        attributes["AWS.MM.SMS.OriginationNumber"] = {
            "DataType": "String",
            "StringValue": origination_identity,
        }
    elif origination_identity:
        attributes["AWS.SNS.SMS.SenderID"] = {
            "DataType": "String",
            "StringValue": origination_identity,
        }
    return attributes
