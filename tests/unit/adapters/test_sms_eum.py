"""End User Messaging SMS adapter, against botocore's Stubber.

moto has no pinpoint-sms-voice-v2, and the Stubber is better than a hand-written fake here:
it checks every request against the real service model (names, types, TimeToLive range,
Context shape) and fails on any call that was not expected.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from builders import RECIPIENT as PATIENT
from builders import REMINDER_BODY as BODY
from builders import TOLL_FREE, outbound_sms
from reach.adapters.sms_base import SDK_CLIENT_CONFIG
from reach.adapters.sms_eum import EndUserMessagingSmsSender
from reach.ports.sms import (
    OutboundSms,
    RecipientOptedOut,
    SentSms,
    SmsRejected,
    SmsThrottled,
    SmsUnavailable,
)

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


def outbound(**changes: Any) -> OutboundSms:
    """The shared outbound text, sent through the configuration set that records events."""
    return outbound_sms(**{"configuration_set": "reach-events", **changes})


def expected_request(**changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "DestinationPhoneNumber": PATIENT,
        "OriginationIdentity": TOLL_FREE,
        "MessageBody": BODY,
        "MessageType": "TRANSACTIONAL",
        "ConfigurationSetName": "reach-events",
        "Context": {"tenant_id": "t-riverside", "message_id": "m-0001"},
    }
    request.update(changes)
    return {key: value for key, value in request.items() if value is not None}


@pytest.fixture
def client() -> Any:
    return boto3.client("pinpoint-sms-voice-v2", region_name="us-east-1", config=SDK_CLIENT_CONFIG)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def sender(client: Any, sleeps: list[float]) -> EndUserMessagingSmsSender:
    return EndUserMessagingSmsSender(
        client, sleep=sleeps.append, random=lambda: 0.5, clock=lambda: NOW
    )


def accept(stubber: Stubber, message_id: str, **request: Any) -> None:
    stubber.add_response(
        "send_text_message", {"MessageId": message_id}, expected_request(**request)
    )


def refuse(
    stubber: Stubber, code: str, status: int = 400, *, reason: str | None = None, **fields: Any
) -> None:
    modeled: dict[str, Any] = {"Message": f"{code} for this request", **fields}
    if reason:
        modeled["Reason"] = reason
    stubber.add_client_error(
        "send_text_message",
        service_error_code=code,
        service_message=modeled["Message"],
        http_status_code=status,
        modeled_fields=modeled,
        expected_params=expected_request(),
    )


# --- what is sent ---------------------------------------------------------------------


def test_a_send_passes_destination_identity_body_configuration_set_and_context(sender, stubber):
    # Given End User Messaging accepts the exact request below
    accept(stubber, "eum-1")

    # When a message without expiry is sent
    sent = sender.send(outbound())

    # Then the provider's id comes back, under the provider's name
    assert sent == SentSms(provider="end-user-messaging", provider_message_id="eum-1")


def test_without_a_configuration_set_the_parameter_is_left_out(sender, stubber):
    # Given the Stubber expects the request without ConfigurationSetName (it fails otherwise)
    accept(stubber, "eum-2", ConfigurationSetName=None)

    # When a message without a configuration set is sent, Then the request matched
    assert sender.send(outbound(configuration_set=None)).provider_message_id == "eum-2"


@pytest.mark.parametrize(
    ("left", "ttl"),
    [
        (timedelta(minutes=10), 600),
        (timedelta(seconds=90.7), 90),  # floored: the provider gives up no later than we do
        (timedelta(seconds=5), 5),
        (timedelta(days=4), 259_200),  # clamped to the API's 72 h maximum
    ],
)
def test_time_to_live_ends_no_later_than_expires_at_within_the_api_range(
    sender, stubber, left, ttl
):
    # Given the Stubber expects exactly this TimeToLive (and the model's 5..259200 range)
    accept(stubber, "eum-3", TimeToLive=ttl)

    # When the message expires ``left`` from now, Then the request matched
    assert sender.send(outbound(expires_at=NOW + left)).provider_message_id == "eum-3"


def test_an_expired_message_is_refused_without_calling(sender, stubber):
    # Given no response is stubbed: any call would fail the test
    with pytest.raises(SmsRejected) as raised:
        sender.send(outbound(expires_at=NOW + timedelta(seconds=4)))

    assert raised.value.reason == "expired"


def test_an_empty_origination_identity_is_refused_without_calling(sender, stubber):
    with pytest.raises(SmsRejected) as raised:
        sender.send(outbound(origination_identity=""))

    assert raised.value.reason == "no_origination_identity"


# --- partial failures -----------------------------------------------------------------


def test_throttled_twice_then_accepted_is_one_sent_message_after_two_waits(sender, stubber, sleeps):
    refuse(stubber, "ThrottlingException", 429)
    refuse(stubber, "ThrottlingException", 429)
    accept(stubber, "eum-after-throttle")

    sent = sender.send(outbound())

    assert sent.provider_message_id == "eum-after-throttle"
    assert sleeps == pytest.approx([0.1, 0.2])


def test_an_opted_out_recipient_is_reported_at_once_and_not_retried(sender, stubber, sleeps):
    refuse(
        stubber,
        "ConflictException",
        reason="DESTINATION_PHONE_NUMBER_OPTED_OUT",
        ResourceType="opt-out-list",
        ResourceId="Default",
    )

    with pytest.raises(RecipientOptedOut) as raised:
        sender.send(outbound())

    assert raised.value.reason == "opted_out"
    assert not raised.value.retryable
    assert sleeps == []


@pytest.mark.parametrize(
    ("reason", "word"),
    [
        ("DESTINATION_PHONE_NUMBER_NOT_VERIFIED", "destination_not_verified"),
        ("DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION", "destination_blocked"),
        ("RESOURCE_NOT_ACTIVE", "conflict"),
    ],
)
def test_other_conflicts_are_permanent_rejections(sender, stubber, reason, word):
    refuse(stubber, "ConflictException", reason=reason)

    with pytest.raises(SmsRejected) as raised:
        sender.send(outbound())

    assert raised.value.reason == word


@pytest.mark.parametrize(
    ("code", "fields", "word"),
    [
        ("ValidationException", {"Reason": "INVALID_PARAMETER"}, "invalid_request"),
        ("AccessDeniedException", {"Reason": "ACCOUNT_DISABLED"}, "access_denied"),
        (
            "ResourceNotFoundException",
            {"ResourceType": "configuration-set", "ResourceId": "reach-events"},
            "resource_not_found",
        ),
    ],
)
def test_validation_access_and_missing_resources_are_rejected_after_one_call(
    sender, stubber, sleeps, code, fields, word
):
    refuse(stubber, code, **fields)

    with pytest.raises(SmsRejected) as raised:
        sender.send(outbound())

    assert raised.value.reason == word
    assert raised.value.provider_code == code
    assert sleeps == []


def test_internal_errors_on_every_attempt_end_unavailable_after_four_calls(sender, stubber, sleeps):
    # Given the service fails four times (the Stubber also proves no fifth call is made)
    for _ in range(4):
        refuse(stubber, "InternalServerException", 500, RequestId="req-1")

    # When a message is sent
    with pytest.raises(SmsUnavailable) as raised:
        sender.send(outbound())

    # Then the retryable error surfaces for the queue to retry later, chained to the SDK's
    assert raised.value.retryable
    assert raised.value.reason == "provider_error"
    assert isinstance(raised.value.__cause__, ClientError)
    assert len(sleeps) == 3


def test_a_service_quota_error_is_retried_as_throttling(sender, stubber, sleeps):
    # Given a daily message quota, which recovers, then acceptance
    refuse(stubber, "ServiceQuotaExceededException", reason="DAILY_NOTIFY_TIER_MESSAGE_LIMIT")
    accept(stubber, "eum-after-quota")

    sent = sender.send(outbound())

    assert sent.provider_message_id == "eum-after-quota"
    assert len(sleeps) == 1


def test_the_monthly_spend_limit_is_retryable_but_not_called_throttling(client, stubber):
    sender = EndUserMessagingSmsSender(client, max_attempts=1, clock=lambda: NOW)
    refuse(stubber, "ServiceQuotaExceededException", reason="MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT")

    with pytest.raises(SmsUnavailable) as raised:
        sender.send(outbound())

    assert raised.value.reason == "spend_limit_reached"
    assert raised.value.retryable
    assert not isinstance(raised.value, SmsThrottled)


# --- the client -----------------------------------------------------------------------


def test_the_default_client_makes_one_http_call_per_attempt():
    # Given an adapter that builds its own client, allowed two attempts, and an endpoint
    # answering every request with a 500 (served by a botocore hook: nothing leaves the box)
    sender = EndUserMessagingSmsSender(region_name="eu-west-2", max_attempts=2, sleep=no_wait)
    http_calls = answer_every_request_with_500(sender.client)

    # When a message is sent
    with pytest.raises(SmsUnavailable):
        sender.send(outbound())

    # Then botocore retried nothing itself: two attempts, two HTTP calls
    assert sender.client.meta.region_name == "eu-west-2"
    assert len(http_calls) == 2


def no_wait(_: float) -> None:
    pass


def answer_every_request_with_500(client: Any) -> list[AWSPreparedRequest]:
    calls: list[AWSPreparedRequest] = []
    body = json.dumps({"__type": "InternalServerException", "Message": "try again"}).encode()

    def respond(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        calls.append(request)
        response = AWSResponse(request.url, 500, {}, raw=None)
        response._content = body
        return response

    client.meta.events.register("before-send.pinpoint-sms-voice-v2.SendTextMessage", respond)
    return calls
