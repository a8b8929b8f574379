"""Chooses the SMS provider adapter from settings (``SMS_PROVIDER``)."""

from __future__ import annotations

from typing import Any, Unpack, assert_never

from reach.adapters.sms_base import SenderOptions
from reach.adapters.sms_eum import EndUserMessagingSmsSender
from reach.adapters.sms_sns import SnsSmsSender
from reach.ports.sms import SmsSender
from reach.settings import Settings


def build_sms_sender(
    settings: Settings, client: Any = None, **options: Unpack[SenderOptions]
) -> SmsSender:
    """The ``SmsSender`` for ``settings.sms_provider``: ``sns`` or ``end-user-messaging``.

    ``client`` replaces the boto3 client the adapter would build (tests pass a stubbed one);
    when it is None the client is built for the settings' region and endpoint, with botocore
    retries off (reach.adapters.sms_base.SDK_CLIENT_CONFIG).
    """
    match settings.sms_provider:
        case "sns":
            return SnsSmsSender(
                client, region_name=settings.region, endpoint_url=settings.endpoint_url, **options
            )
        case "end-user-messaging":
            return EndUserMessagingSmsSender(
                client, region_name=settings.region, endpoint_url=settings.endpoint_url, **options
            )
        case unknown:
            assert_never(unknown)
