"""End User Messaging number settings adapter, against botocore's Stubber: each request and
response is checked against the real ``pinpoint-sms-voice-v2`` model (moto has no such
service), and a call the test did not script fails."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from builders import EUM_NUMBER as NUMBER
from builders import EUM_NUMBER_ARN as ARN
from builders import phone_entry
from reach.adapters.numbers_eum import EumNumberProvider
from reach.adapters.sms_base import SDK_CLIENT_CONFIG
from reach.domain.numbers import OriginationType
from reach.ports.numbers import NumberSettings, NumberSetupError, ProviderNumber

TOPIC = "arn:aws:sns:us-east-1:123456789012:reach-InboundTopic-1"
WANTED = NumberSettings(two_way_channel_arn=TOPIC, opt_out_list_name="reach-ten_1")


def pool_entry(**changes: Any) -> dict[str, Any]:
    pool: dict[str, Any] = {
        "PoolArn": "arn:aws:sms-voice:us-east-1:123456789012:pool/pool-1",
        "PoolId": "pool-1",
        "Status": "ACTIVE",
        "MessageType": "TRANSACTIONAL",
        "TwoWayEnabled": True,
        "TwoWayChannelArn": TOPIC,
        "SelfManagedOptOutsEnabled": True,
        "OptOutListName": "reach-ten_1",
        "SharedRoutesEnabled": False,
        "DeletionProtectionEnabled": False,
        "CreatedTimestamp": "2026-01-01T00:00:00Z",
    }
    pool.update(changes)
    return pool


@pytest.fixture
def client() -> Any:
    return boto3.client("pinpoint-sms-voice-v2", region_name="us-east-1", config=SDK_CLIENT_CONFIG)


@pytest.fixture
def provider(client: Any) -> EumNumberProvider:
    return EumNumberProvider(client)


def found_number(**changes: Any) -> ProviderNumber:
    values: dict[str, Any] = {
        "e164": NUMBER,
        "number_id": ARN,
        "provider_type": "TOLL_FREE",
        "origination_type": OriginationType.TOLL_FREE,
        "sms_mps": 3.0,
        "two_way_enabled": False,
        "two_way_channel_arn": None,
        "self_managed_opt_outs": False,
        "opt_out_list_name": "Default",
    }
    values.update(changes)
    return ProviderNumber(**values)


# --- reading a number ---------------------------------------------------------------------


def test_a_number_is_found_by_paging_through_the_accounts_numbers(provider, stubber):
    # given the number on the second page
    stubber.add_response(
        "describe_phone_numbers",
        {"PhoneNumbers": [phone_entry("+18885550100")], "NextToken": "page-2"},
        {"MaxResults": 100},
    )
    stubber.add_response(
        "describe_phone_numbers",
        {"PhoneNumbers": [phone_entry()]},
        {"MaxResults": 100, "NextToken": "page-2"},
    )

    # when it is looked up, then it reads as the defaults a new number has
    assert provider.find(NUMBER) == found_number()


def test_a_number_the_account_does_not_have_is_none(provider, stubber):
    stubber.add_response(
        "describe_phone_numbers",
        {"PhoneNumbers": [phone_entry("+18885550100")]},
        {"MaxResults": 100},
    )
    assert provider.find(NUMBER) is None


@pytest.mark.parametrize(
    ("provider_type", "origination_type"),
    [
        ("SHORT_CODE", OriginationType.SHORT_CODE),
        ("TEN_DLC", OriginationType.TEN_DLC),
        ("LONG_CODE", OriginationType.LONG_CODE),
        ("SIMULATOR", None),
    ],
)
def test_the_providers_number_type_and_sms_rate_are_read(
    provider, stubber, provider_type, origination_type
):
    stubber.add_response(
        "describe_phone_numbers",
        {
            "PhoneNumbers": [
                phone_entry(NumberType=provider_type, MessagingLimits={"RateLimits": {"SMS": 100}})
            ]
        },
        {"MaxResults": 100},
    )
    found = provider.find(NUMBER)
    assert found is not None
    assert (found.provider_type, found.origination_type, found.sms_mps) == (
        provider_type,
        origination_type,
        100.0,
    )


def test_a_number_without_messaging_limits_has_no_known_rate(provider, stubber):
    stubber.add_response(
        "describe_phone_numbers",
        {"PhoneNumbers": [phone_entry(MessagingLimits=None)]},
        {"MaxResults": 100},
    )
    found = provider.find(NUMBER)
    assert found is not None
    assert found.sms_mps is None


def test_a_pooled_numbers_settings_are_its_pools(provider, stubber):
    # given a number in a pool whose settings differ from the number's own
    stubber.add_response(
        "describe_phone_numbers",
        {"PhoneNumbers": [phone_entry(PoolId="pool-1")]},
        {"MaxResults": 100},
    )
    stubber.add_response("describe_pools", {"Pools": [pool_entry()]}, {"PoolIds": ["pool-1"]})

    # when it is read, then the two-way and opt-out settings are the pool's
    assert provider.find(NUMBER) == found_number(
        pool_id="pool-1",
        two_way_enabled=True,
        two_way_channel_arn=TOPIC,
        self_managed_opt_outs=True,
        opt_out_list_name="reach-ten_1",
    )


# --- opt-out lists --------------------------------------------------------------------------


LISTED = {
    "OptOutLists": [
        {
            "OptOutListArn": "arn:aws:sms-voice:us-east-1:1:opt-out-list/reach-ten_1",
            "OptOutListName": "reach-ten_1",
            "CreatedTimestamp": "2026-01-01T00:00:00Z",
        }
    ]
}


def test_an_existing_opt_out_list_is_found(provider, stubber):
    stubber.add_response("describe_opt_out_lists", LISTED, {"OptOutListNames": ["reach-ten_1"]})
    assert provider.opt_out_list_exists("reach-ten_1") is True


def test_a_missing_opt_out_list_is_not_an_error(provider, stubber):
    stubber.add_client_error(
        "describe_opt_out_lists",
        service_error_code="ResourceNotFoundException",
        http_status_code=404,
        modeled_fields={
            "Message": "not found",
            "ResourceType": "opt-out-list",
            "ResourceId": "reach-ten_1",
        },
        expected_params={"OptOutListNames": ["reach-ten_1"]},
    )
    assert provider.opt_out_list_exists("reach-ten_1") is False


def test_creating_an_opt_out_list_sends_its_name(provider, stubber):
    stubber.add_response(
        "create_opt_out_list",
        {"OptOutListArn": "arn:aws:sms-voice:us-east-1:1:opt-out-list/x", "OptOutListName": "x"},
        {"OptOutListName": "reach-ten_1"},
    )
    provider.create_opt_out_list("reach-ten_1")


def test_creating_a_list_that_appeared_meanwhile_is_accepted(provider, stubber):
    stubber.add_client_error(
        "create_opt_out_list",
        service_error_code="ConflictException",
        http_status_code=409,
        modeled_fields={"Message": "exists", "Reason": "RESOURCE_ALREADY_EXISTS"},
        expected_params={"OptOutListName": "reach-ten_1"},
    )
    stubber.add_response("describe_opt_out_lists", LISTED, {"OptOutListNames": ["reach-ten_1"]})
    provider.create_opt_out_list("reach-ten_1")


def test_a_conflict_over_a_list_that_does_not_exist_is_raised(provider, stubber):
    stubber.add_client_error(
        "create_opt_out_list",
        service_error_code="ConflictException",
        http_status_code=409,
        modeled_fields={"Message": "deleting", "Reason": "DELETION_PROTECTION_ENABLED"},
        expected_params={"OptOutListName": "reach-ten_1"},
    )
    stubber.add_response(
        "describe_opt_out_lists", {"OptOutLists": []}, {"OptOutListNames": ["reach-ten_1"]}
    )
    with pytest.raises(NumberSetupError, match="reach-ten_1"):
        provider.create_opt_out_list("reach-ten_1")


# --- configuring ---------------------------------------------------------------------------

_SETTINGS = {
    "TwoWayEnabled": True,
    "TwoWayChannelArn": TOPIC,
    "SelfManagedOptOutsEnabled": True,
    "OptOutListName": "reach-ten_1",
}


def test_a_number_is_configured_with_update_phone_number_by_its_arn(provider, stubber):
    stubber.add_response("update_phone_number", {}, {"PhoneNumberId": ARN, **_SETTINGS})
    provider.configure(found_number(), WANTED)


def test_a_pooled_number_is_configured_through_its_pool(provider, stubber):
    # UpdatePhoneNumber refuses a number in a pool; the pool's settings are what apply
    stubber.add_response("update_pool", {}, {"PoolId": "pool-1", **_SETTINGS})
    provider.configure(found_number(pool_id="pool-1"), WANTED)


@pytest.mark.parametrize(
    ("code", "retryable"),
    [
        ("ThrottlingException", True),
        ("InternalServerException", True),
        ("AccessDeniedException", False),
        ("ValidationException", False),
    ],
)
def test_a_provider_error_is_a_number_setup_error_naming_the_call(
    provider, stubber, code, retryable
):
    stubber.add_client_error(
        "update_phone_number",
        service_error_code=code,
        service_message=f"{code} here",
        http_status_code=400,
        expected_params={"PhoneNumberId": ARN, **_SETTINGS},
    )
    with pytest.raises(NumberSetupError) as raised:
        provider.configure(found_number(), WANTED)
    assert raised.value.message.startswith(f"UpdatePhoneNumber failed: {code}")
    assert (raised.value.retryable, raised.value.provider_code) == (retryable, code)
