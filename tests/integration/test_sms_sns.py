"""SNS adapter: publishes under moto land in its SNS backend; throttling via the Stubber.

moto records an SMS publish as ``sms_messages[message_id] = (phone_number, message)`` and
drops the message attributes, so a spy on the backend's ``publish`` reads the attributes as
moto decoded them from the wire.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import SNSBackend, sns_backends

from builders import RECIPIENT as PATIENT
from builders import REMINDER_BODY as BODY
from builders import TOLL_FREE, outbound_sms
from reach.adapters.sms_base import SDK_CLIENT_CONFIG
from reach.adapters.sms_sns import SnsSmsSender
from reach.ports.sms import OutboundSms, SmsRejected, SmsThrottled, SmsUnavailable

NOW = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """moto's SNS, with every publish's decoded attributes recorded."""
    calls: list[dict[str, Any]] = []
    real_publish = SNSBackend.publish

    def spy(self: SNSBackend, message: str, *args: Any, **kwargs: Any) -> str:
        calls.append({"message": message, **kwargs})
        return real_publish(self, message, *args, **kwargs)

    monkeypatch.setattr(SNSBackend, "publish", spy)
    with mock_aws():
        yield calls


def sms_messages() -> dict[str, tuple[str, str]]:
    return sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages


@pytest.fixture
def sender(published: list[dict[str, Any]]) -> SnsSmsSender:
    # Built inside mock_aws, the way a handler builds it: no client passed in.
    return SnsSmsSender(region_name="us-east-1", sleep=lambda _: None)


# --- under moto --------------------------------------------------------------------------


def test_a_message_arrives_with_its_number_body_and_transactional_origination_number(
    sender, published
):
    # When a message with a toll-free origination number is sent
    sent = sender.send(outbound_sms())

    # Then SNS holds it under the returned id, to the right number, with the body as sent
    assert sent.provider == "sns"
    assert sms_messages()[sent.provider_message_id] == (PATIENT, BODY)
    # And it went out as Transactional, from our number
    (call,) = published
    assert call["phone_number"] == PATIENT
    assert call["message_attributes"] == {
        "AWS.SNS.SMS.SMSType": {"Type": "String", "Value": "Transactional"},
        "AWS.MM.SMS.OriginationNumber": {"Type": "String", "Value": TOLL_FREE},
    }


def test_an_alphanumeric_origination_identity_is_sent_as_a_sender_id(sender, published):
    sender.send(outbound_sms(origination_identity="Riverside1"))

    (call,) = published
    assert call["message_attributes"] == {
        "AWS.SNS.SMS.SMSType": {"Type": "String", "Value": "Transactional"},
        "AWS.SNS.SMS.SenderID": {"Type": "String", "Value": "Riverside1"},
    }


def test_an_empty_origination_identity_leaves_the_choice_to_sns(sender, published):
    sender.send(outbound_sms(origination_identity=""))

    (call,) = published
    assert call["message_attributes"] == {
        "AWS.SNS.SMS.SMSType": {"Type": "String", "Value": "Transactional"},
    }


@pytest.mark.parametrize(
    "identity", ["pool-0123456789abcdef", "Riverside Clinic", "123456", "TwelveChars1"]
)
def test_identities_sns_cannot_use_are_refused_before_publishing(sender, published, identity):
    with pytest.raises(SmsRejected) as raised:
        sender.send(outbound_sms(origination_identity=identity))

    assert raised.value.reason == "invalid_origination_identity"
    assert published == []


def test_a_body_over_1600_bytes_is_refused_before_publishing(sender, published):
    # Given 534 euro signs: 534 characters, but 1,602 bytes in UTF-8
    body = "€" * 534

    with pytest.raises(SmsRejected) as raised:
        sender.send(outbound_sms(body=body))

    assert raised.value.reason == "body_too_long"
    assert published == []
    assert sms_messages() == {}


def test_a_body_of_exactly_1600_bytes_is_sent(sender):
    sent = sender.send(outbound_sms(body="a" * 1600))

    assert sms_messages()[sent.provider_message_id] == (PATIENT, "a" * 1600)


def test_a_number_sns_refuses_is_a_permanent_rejection(sender):
    # moto, like SNS, answers InvalidParameter for a PhoneNumber that is not E.164
    with pytest.raises(SmsRejected) as raised:
        sender.send(outbound_sms(destination="+1-202-555"))

    assert raised.value.reason == "invalid_request"
    assert raised.value.provider_code == "InvalidParameter"
    assert sms_messages() == {}


def test_an_expired_message_is_never_published(published):
    sender = SnsSmsSender(region_name="us-east-1", clock=lambda: NOW)

    with pytest.raises(SmsRejected, match="expired"):
        sender.send(outbound_sms(expires_at=NOW + timedelta(seconds=2)))

    assert published == []


# --- error classification, with the Stubber ---------------------------------------------


@pytest.fixture
def stubbed() -> Iterator[tuple[SnsSmsSender, Stubber, list[float]]]:
    client = boto3.client("sns", region_name="us-east-1", config=SDK_CLIENT_CONFIG)
    sleeps: list[float] = []
    sender = SnsSmsSender(client, sleep=sleeps.append, random=lambda: 1.0)
    with Stubber(client) as stubber:
        yield sender, stubber, sleeps
        stubber.assert_no_pending_responses()


def publish_params(sms: OutboundSms) -> dict[str, Any]:
    return {
        "PhoneNumber": sms.destination,
        "Message": sms.body,
        "MessageAttributes": {
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
            "AWS.MM.SMS.OriginationNumber": {"DataType": "String", "StringValue": TOLL_FREE},
        },
    }


def refuse(stubber: Stubber, code: str, status: int, sms: OutboundSms) -> None:
    stubber.add_client_error(
        "publish",
        service_error_code=code,
        service_message=f"{code} for this request",
        http_status_code=status,
        expected_params=publish_params(sms),
    )


def test_throttled_then_accepted_is_sent_after_one_wait(stubbed):
    # Given SNS throttles (wire code "Throttled", HTTP 429) once, then accepts
    sender, stubber, sleeps = stubbed
    sms = outbound_sms()
    refuse(stubber, "Throttled", 429, sms)
    stubber.add_response("publish", {"MessageId": "sns-9"}, publish_params(sms))

    # When the message is sent
    sent = sender.send(sms)

    # Then it went out on the second call, after one backoff
    assert sent.provider_message_id == "sns-9"
    assert sleeps == [0.2]


def test_throttled_on_every_attempt_surfaces_as_throttled(stubbed):
    sender, stubber, sleeps = stubbed
    sms = outbound_sms()
    for _ in range(4):
        refuse(stubber, "Throttled", 429, sms)

    with pytest.raises(SmsThrottled) as raised:
        sender.send(sms)

    assert raised.value.retryable
    assert raised.value.provider_code == "Throttled"
    assert sleeps == [0.2, 0.4, 0.8]


@pytest.mark.parametrize(
    ("code", "status", "expected", "reason"),
    [
        ("InternalError", 500, SmsUnavailable, "provider_error"),
        ("KMSThrottling", 400, SmsUnavailable, "provider_error"),
        ("InvalidParameter", 400, SmsRejected, "invalid_request"),
        ("ParameterValueInvalid", 400, SmsRejected, "invalid_request"),
        ("AuthorizationError", 403, SmsRejected, "access_denied"),
    ],
)
def test_sns_error_codes_map_to_reach_errors(code, status, expected, reason):
    client = boto3.client("sns", region_name="us-east-1", config=SDK_CLIENT_CONFIG)
    sender = SnsSmsSender(client, max_attempts=1)
    sms = outbound_sms()
    with Stubber(client) as stubber:
        refuse(stubber, code, status, sms)

        with pytest.raises(expected) as raised:
            sender.send(sms)

    assert raised.value.reason == reason
