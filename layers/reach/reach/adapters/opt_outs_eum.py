"""An End User Messaging SMS opt-out list (``pinpoint-sms-voice-v2``).

From the service model (botocore ``pinpoint-sms-voice-v2/2022-03-31/service-2.json``):

- ``DescribeOptedOutNumbers(OptOutListName, NextToken, MaxResults)``: MaxResults 1..100,
  NextToken 1..1024 characters (so it is left out of the first call, never sent empty). Each
  entry has ``OptedOutNumber``, ``OptedOutTimestamp`` and ``EndUserOptedOut`` (true when the
  recipient opted out by keyword, false when the number was put on the list by API or
  console). Errors: ThrottlingException, AccessDeniedException, ResourceNotFoundException,
  ValidationException, InternalServerException.
- ``DeleteOptedOutNumber(OptOutListName, OptedOutNumber)``: "Each destination phone number can
  only be deleted once every 30 days. If the specified destination phone number doesn't exist
  or if the opt-out list doesn't exist, an error is returned." Its errors are the five above
  plus ConflictException, which Describe and Put lack.

The model does not say which error the 30-day rule raises. ConflictException ("the requested
action isn't valid for the current state ... of the resource") is declared for this delete
alone, and ValidationException has a reason ``PHONE_NUMBER_CANNOT_BE_OPTED_IN``; both are read
as "not now" (False), so the job tries again on a later run. A malformed number cannot be
behind a ValidationException here: ``opt_in`` refuses anything but E.164 before calling
(botocore checks only lengths, not the model's patterns), and a bad opt-out list name fails
the listing first.

ResourceNotFoundException carries ``ResourceType``/``ResourceId``: a missing number means
"not listed" (True); a missing opt-out list raises OptOutListMissing (not retryable), which the
reconciliation reads as "this tenant's number is not attached yet".

``EumTenantOptOutLists`` gives each tenant its own list, ``reach-<tenant id>``
(reach.domain.numbers.tenant_opt_out_list), the one ``reach numbers attach`` puts the
tenant's numbers on: an entry there concerns that tenant alone.
Everything else is classified by the End User Messaging sender's table
(reach.adapters.sms_eum): ThrottlingException and InternalServerException are retryable,
AccessDeniedException is not.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Final

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from reach.adapters.opt_outs_sns import error_code, error_field, sdk_errors_as_opt_out_errors
from reach.adapters.sms_base import eum_client
from reach.adapters.sms_eum import EndUserMessagingSmsSender
from reach.domain.masking import mask_phone
from reach.domain.numbers import tenant_opt_out_list
from reach.observability import build_logger
from reach.ports.opt_outs import (
    OptOutListMissing,
    ProviderOptOut,
    listed_number_to_e164,
    require_e164,
)

#: DescribeOptedOutNumbers' largest page (service model: MaxResults 1..100).
MAX_RESULTS: Final = 100

#: The opt-out list a new phone number is assigned to ("By default, when a phone number is
#: created it is assigned to the Default opt-out list": AWS End User Messaging SMS user
#: guide, "Change a phone number's opt-out list"). Pools and numbers can be given another.
DEFAULT_OPT_OUT_LIST: Final = "Default"

#: DeleteOptedOutNumber's refusals read as "not now" (see the module docstring).
DELETE_REFUSED_CODES: Final = frozenset({"ConflictException", "ValidationException"})

_default_logger = build_logger("reach-opt-outs")


class EumOptOutList:
    """``ProviderOptOutList`` over one End User Messaging opt-out list, by name or ARN.

    ``skipped`` counts the listed entries of the latest ``opted_out`` pass that were not
    phone numbers (each is also logged, masked).
    """

    name = "end-user-messaging"

    def __init__(
        self,
        client: Any = None,
        opt_out_list_name: str = DEFAULT_OPT_OUT_LIST,
        *,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        logger: Logger | None = None,
    ) -> None:
        if not opt_out_list_name:
            raise ValueError("End User Messaging needs an opt-out list name or ARN")
        self.opt_out_list_name = opt_out_list_name
        self.client: Any = client or eum_client(region_name, endpoint_url)
        # The SMS sender is kept for its error table only: it makes no call of its own.
        self._sms_errors = EndUserMessagingSmsSender(self.client)
        self._logger = logger or _default_logger
        self.skipped = 0

    def opted_out(self) -> Iterator[ProviderOptOut]:
        """Every number on the list, 100 a page, with when and how it was opted out."""
        self.skipped = 0
        listed = 0
        request: dict[str, Any] = {
            "OptOutListName": self.opt_out_list_name,
            "MaxResults": MAX_RESULTS,
        }
        while True:
            page = self._page(request)
            for entry in page.get("OptedOutNumbers", []):
                phone = listed_number_to_e164(str(entry.get("OptedOutNumber", "")))
                if phone is None:
                    self.skipped += 1
                    self._logger.warning(
                        "opt-out list entry is not a phone number, skipped",
                        extra={
                            "provider": self.name,
                            "entry": mask_phone(str(entry.get("OptedOutNumber", ""))),
                        },
                    )
                    continue
                listed += 1
                yield ProviderOptOut(
                    phone=phone,
                    opted_out_at=aware_utc(entry.get("OptedOutTimestamp")),
                    by_recipient=bool(entry.get("EndUserOptedOut", True)),
                )
            token = page.get("NextToken")
            if not token:
                break
            request["NextToken"] = token
        self._logger.info(
            "opt-out list read",
            extra={
                "provider": self.name,
                "opt_out_list": self.opt_out_list_name,
                "listed": listed,
                "skipped": self.skipped,
            },
        )

    def _page(self, request: dict[str, Any]) -> dict[str, Any]:
        with sdk_errors_as_opt_out_errors(self._sms_errors):
            try:
                page: dict[str, Any] = self.client.describe_opted_out_numbers(**request)
            except ClientError as error:
                code = error_code(error)
                if code == "ResourceNotFoundException":
                    raise OptOutListMissing(self.opt_out_list_name, provider_code=code) from error
                raise
        return page

    def opt_in(self, phone: str) -> bool:
        """``DeleteOptedOutNumber``; True if deleted or not listed, False if refused for now."""
        require_e164(phone)
        with sdk_errors_as_opt_out_errors(self._sms_errors):
            try:
                self.client.delete_opted_out_number(
                    OptOutListName=self.opt_out_list_name, OptedOutNumber=phone
                )
            except ClientError as error:
                code = error_code(error)
                if code == "ResourceNotFoundException":
                    if self._list_is_missing(error):
                        raise OptOutListMissing(
                            self.opt_out_list_name, provider_code=code
                        ) from error
                    return True
                if code not in DELETE_REFUSED_CODES:
                    raise
                self._logger.info(
                    "provider refused opt-in for now",
                    extra={
                        "provider": self.name,
                        "to": mask_phone(phone),
                        "provider_code": code,
                        "provider_reason": error_field(error, "Reason"),
                    },
                )
                return False
        return True

    def _list_is_missing(self, error: ClientError) -> bool:
        """Whether a ResourceNotFoundException names the opt-out list, not the number."""
        return (
            error_field(error, "ResourceType") == "opt-out-list"
            or error_field(error, "ResourceId") == self.opt_out_list_name
        )


class EumTenantOptOutLists:
    """``ProviderOptOutLists`` of End User Messaging: each tenant's own list, one client."""

    name = "end-user-messaging"

    def __init__(
        self,
        client: Any = None,
        *,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        logger: Logger | None = None,
    ) -> None:
        self.client: Any = client or eum_client(region_name, endpoint_url)
        self._logger = logger

    def shared(self) -> None:
        # Every number Reach attaches is on its tenant's list, never a shared one.
        return None

    def of_tenant(self, tenant_id: str) -> EumOptOutList:
        return EumOptOutList(self.client, tenant_opt_out_list(tenant_id), logger=self._logger)


def aware_utc(value: object) -> datetime | None:
    """A provider timestamp as an aware UTC datetime (naive ones are read as UTC)."""
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
