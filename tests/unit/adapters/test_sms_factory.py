from __future__ import annotations

import boto3
import pytest

from reach.adapters.sms_eum import EndUserMessagingSmsSender
from reach.adapters.sms_factory import build_sms_sender
from reach.adapters.sms_sns import SnsSmsSender
from reach.settings import Settings


def settings(**env: str) -> Settings:
    return Settings.from_env(
        {
            "TENANTS_TABLE": "reach-tenants",
            "APPOINTMENTS_TABLE": "reach-appointments",
            "AWS_REGION": "eu-west-2",
            **env,
        }
    )


@pytest.mark.parametrize(
    ("provider", "adapter", "service"),
    [
        ("sns", SnsSmsSender, "sns"),
        ("end-user-messaging", EndUserMessagingSmsSender, "pinpoint-sms-voice-v2"),
    ],
)
def test_the_provider_setting_chooses_the_adapter_and_its_client(provider, adapter, service):
    # Given settings naming a provider, and no client
    chosen = build_sms_sender(settings(SMS_PROVIDER=provider))

    # Then the adapter for that provider talks to that service in the settings' region
    assert isinstance(chosen, adapter)
    assert chosen.name == provider
    assert chosen.client.meta.service_model.service_name == service
    assert chosen.client.meta.region_name == "eu-west-2"
    assert chosen.client.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}


def test_sns_is_the_default_provider():
    assert isinstance(build_sms_sender(settings()), SnsSmsSender)


def test_a_given_client_is_used_as_is():
    client = boto3.client("sns", region_name="us-east-1")

    chosen = build_sms_sender(settings(SMS_PROVIDER="sns"), client)

    assert isinstance(chosen, SnsSmsSender)
    assert chosen.client is client


def test_the_endpoint_override_reaches_the_built_client():
    # The local run points every client at an embedded moto server
    chosen = build_sms_sender(settings(AWS_ENDPOINT_URL="http://127.0.0.1:5005"))

    assert isinstance(chosen, SnsSmsSender)
    assert chosen.client.meta.endpoint_url == "http://127.0.0.1:5005"
