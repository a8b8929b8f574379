"""A sending number's settings in End User Messaging SMS (``pinpoint-sms-voice-v2``).

From the service model (botocore ``pinpoint-sms-voice-v2/2022-03-31/service-2.json``) and the
API reference (docs/facts.md#number-setup):

- ``DescribePhoneNumbers(MaxResults 1..100, NextToken)`` has no filter by the number itself
  (its filter names are status, type, two-way and opt-out settings), so the account's numbers
  are paged through and matched on ``PhoneNumber``. Each entry has ``PhoneNumberArn``,
  ``NumberType`` (SHORT_CODE, LONG_CODE, TOLL_FREE, TEN_DLC, SIMULATOR), ``TwoWayEnabled``,
  ``TwoWayChannelArn``, ``SelfManagedOptOutsEnabled``, ``OptOutListName``, ``PoolId`` and
  ``MessagingLimits.RateLimits`` (messages per second by capability, ``SMS`` among them).
- ``UpdatePhoneNumber(PhoneNumberId, TwoWayEnabled, TwoWayChannelArn, SelfManagedOptOutsEnabled,
  OptOutListName)``: "If the origination phone number is associated with a pool, an error is
  returned", so a pooled number is set up through ``UpdatePool(PoolId, ...)`` with the same
  four settings, read back with ``DescribePools``. No ``TwoWayChannelRole``: the stack's inbound
  topic policy lets ``sms-voice.amazonaws.com`` of this account publish.
- ``DescribeOptOutLists(OptOutListNames)`` raises ResourceNotFoundException for a missing list;
  ``CreateOptOutList(OptOutListName)`` (1..64 of ``[A-Za-z0-9_-]``) raises ConflictException
  for one that exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from reach.adapters.sms_base import eum_client
from reach.domain.numbers import OriginationType
from reach.ports.numbers import NumberSettings, NumberSetupError, ProviderNumber

#: The provider's number types that Reach paces; a SIMULATOR number has no carrier grant.
NUMBER_TYPES: Final = {
    "SHORT_CODE": OriginationType.SHORT_CODE,
    "TOLL_FREE": OriginationType.TOLL_FREE,
    "TEN_DLC": OriginationType.TEN_DLC,
    "LONG_CODE": OriginationType.LONG_CODE,
}
#: DescribePhoneNumbers' largest page (service model: MaxResults 1..100).
PAGE: Final = 100
_RETRYABLE: Final = frozenset({"ThrottlingException", "InternalServerException"})


class EumNumberProvider:
    """``NumberProvider`` over End User Messaging SMS."""

    name = "end-user-messaging"

    def __init__(
        self,
        client: Any = None,
        *,
        region_name: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.client: Any = client or eum_client(region_name, endpoint_url)

    def find(self, e164: str) -> ProviderNumber | None:
        request: dict[str, Any] = {"MaxResults": PAGE}
        while True:
            with _provider_errors("DescribePhoneNumbers"):
                page = self.client.describe_phone_numbers(**request)
            for entry in page.get("PhoneNumbers", []):
                if entry.get("PhoneNumber") == e164:
                    return self._number(e164, entry)
            if not page.get("NextToken"):
                return None
            request["NextToken"] = page["NextToken"]

    def _number(self, e164: str, entry: dict[str, Any]) -> ProviderNumber:
        pool_id = entry.get("PoolId") or None
        settings = self._pool(pool_id) if pool_id else entry
        rates = entry.get("MessagingLimits", {}).get("RateLimits", {})
        sms_rate = rates.get("SMS")
        return ProviderNumber(
            e164=e164,
            number_id=str(entry.get("PhoneNumberArn") or entry["PhoneNumberId"]),
            provider_type=str(entry.get("NumberType", "")),
            origination_type=NUMBER_TYPES.get(str(entry.get("NumberType", ""))),
            sms_mps=None if sms_rate is None else float(sms_rate),
            two_way_enabled=bool(settings.get("TwoWayEnabled", False)),
            two_way_channel_arn=settings.get("TwoWayChannelArn") or None,
            self_managed_opt_outs=bool(settings.get("SelfManagedOptOutsEnabled", False)),
            opt_out_list_name=settings.get("OptOutListName") or None,
            pool_id=pool_id,
        )

    def _pool(self, pool_id: str) -> dict[str, Any]:
        with _provider_errors("DescribePools"):
            pools: list[dict[str, Any]] = self.client.describe_pools(PoolIds=[pool_id])["Pools"]
        if not pools:
            raise NumberSetupError(f"DescribePools: pool {pool_id} not found")
        return pools[0]

    def opt_out_list_exists(self, name: str) -> bool:
        try:
            with _provider_errors("DescribeOptOutLists", missing_ok=True):
                found = self.client.describe_opt_out_lists(OptOutListNames=[name])
        except _Missing:
            return False
        return any(entry.get("OptOutListName") == name for entry in found.get("OptOutLists", []))

    def create_opt_out_list(self, name: str) -> None:
        try:
            with _provider_errors("CreateOptOutList", conflict_ok=True):
                self.client.create_opt_out_list(OptOutListName=name)
        except _Conflict:
            # Created meanwhile by another run, or a list of that name was already there;
            # anything else in conflict (a list being deleted) must not pass for created.
            if not self.opt_out_list_exists(name):
                raise NumberSetupError(
                    f"CreateOptOutList: {name} is in conflict and does not exist"
                ) from None

    def configure(self, number: ProviderNumber, settings: NumberSettings) -> None:
        wanted = {
            "TwoWayEnabled": True,
            "TwoWayChannelArn": settings.two_way_channel_arn,
            "SelfManagedOptOutsEnabled": True,
            "OptOutListName": settings.opt_out_list_name,
        }
        if number.pool_id:
            with _provider_errors("UpdatePool"):
                self.client.update_pool(PoolId=number.pool_id, **wanted)
        else:
            with _provider_errors("UpdatePhoneNumber"):
                self.client.update_phone_number(PhoneNumberId=number.number_id, **wanted)


class _Missing(Exception):
    """A ResourceNotFoundException the caller reads as "there is none"."""


class _Conflict(Exception):
    """A ConflictException the caller reads as "it is there already"."""


@contextmanager
def _provider_errors(
    operation: str, *, missing_ok: bool = False, conflict_ok: bool = False
) -> Iterator[None]:
    """SDK failures as NumberSetupError naming the call and the provider's own words."""
    try:
        yield
    except ClientError as error:
        details = error.response.get("Error", {})
        code = str(details.get("Code", ""))
        if missing_ok and code == "ResourceNotFoundException":
            raise _Missing from error
        if conflict_ok and code == "ConflictException":
            raise _Conflict from error
        message = details.get("Message") or code
        raise NumberSetupError(
            f"{operation} failed: {code}: {message}",
            retryable=code in _RETRYABLE,
            provider_code=code,
        ) from error
    except BotoCoreError as error:
        raise NumberSetupError(f"{operation} failed: {error}", retryable=True) from error
