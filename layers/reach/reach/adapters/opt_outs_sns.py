"""Amazon SNS's SMS opt-out list: ``ListPhoneNumbersOptedOut`` and ``OptInPhoneNumber``.

From the SNS service model (botocore ``sns/2010-03-31/service-2.json``):

- ``ListPhoneNumbersOptedOut`` takes and returns a lower-case ``nextToken``; each page holds up
  to 100 bare numbers (``phoneNumbers``), with no date and no cause: ``opted_out_at`` is None.
- ``OptInPhoneNumber(phoneNumber)`` returns nothing; "You can opt in a phone number only once
  every 30 days."
- Both declare the same four errors, by wire code: ``Throttled`` (HTTP 429),
  ``InternalError`` (500), ``AuthorizationError`` (403) and ``InvalidParameter`` (400). The
  model names no error for the 30-day rule; it comes back as ``InvalidParameter``, the only
  request-level refusal OptInPhoneNumber has, so on opt-in that code means "not now" (False).
  A malformed number would be refused the same way, so ``opt_in`` refuses anything but E.164
  itself, before calling (botocore checks no patterns).

Every other error is classified by the SNS sender's own table (reach.adapters.sms_sns), so a
code means the same to both: ``Throttled`` and ``InternalError`` are retryable,
``AuthorizationError`` is not. SNS never returns an error for opting in a number that is not
on the list.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as SdkConnectionError

from reach.adapters.sms_base import SDK_CLIENT_CONFIG, SmsProviderBase
from reach.adapters.sms_sns import SnsSmsSender
from reach.domain.masking import mask_phone
from reach.observability import build_logger
from reach.ports.opt_outs import (
    OptOutListError,
    ProviderOptOut,
    listed_number_to_e164,
    require_e164,
)

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

#: OptInPhoneNumber's refusals that mean "not now": the once-per-30-days rule.
OPT_IN_REFUSED_CODES: Final = frozenset({"InvalidParameter", "InvalidParameterException"})

_default_logger = build_logger("reach-opt-outs")


class SnsOptOutList:
    """``ProviderOptOutList`` over the SNS account's SMS opt-out list.

    ``skipped`` counts the listed entries of the latest ``opted_out`` pass that were not
    phone numbers (each is also logged, masked).
    """

    name = "sns"

    def __init__(
        self,
        client: SNSClient | None = None,
        *,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        logger: Logger | None = None,
    ) -> None:
        self.client: SNSClient = client or boto3.client(
            "sns", region_name=region_name, endpoint_url=endpoint_url, config=SDK_CLIENT_CONFIG
        )
        # The SMS sender is kept for its error table only: it makes no call of its own.
        self._sms_errors = SnsSmsSender(self.client)
        self._logger = logger or _default_logger
        self.skipped = 0

    def opted_out(self) -> Iterator[ProviderOptOut]:
        """Every number SNS lists as opted out, page by page (``nextToken``)."""
        self.skipped = 0
        listed = 0
        token: str | None = None
        while True:
            with sdk_errors_as_opt_out_errors(self._sms_errors):
                page = (
                    self.client.list_phone_numbers_opted_out(nextToken=token)
                    if token
                    else self.client.list_phone_numbers_opted_out()
                )
            for raw in page.get("phoneNumbers", []):
                phone = listed_number_to_e164(raw)
                if phone is None:
                    self.skipped += 1
                    self._logger.warning(
                        "opt-out list entry is not a phone number, skipped",
                        extra={"provider": self.name, "entry": mask_phone(raw)},
                    )
                    continue
                listed += 1
                yield ProviderOptOut(phone=phone, opted_out_at=None, by_recipient=True)
            token = page.get("nextToken")
            if not token:
                break
        self._logger.info(
            "opt-out list read",
            extra={"provider": self.name, "listed": listed, "skipped": self.skipped},
        )

    def opt_in(self, phone: str) -> bool:
        """``OptInPhoneNumber``; False when SNS refuses it for now (the 30-day rule)."""
        require_e164(phone)
        with sdk_errors_as_opt_out_errors(self._sms_errors):
            try:
                self.client.opt_in_phone_number(phoneNumber=phone)
            except ClientError as error:
                code = error_code(error)
                if code not in OPT_IN_REFUSED_CODES:
                    raise
                self._logger.info(
                    "provider refused opt-in for now",
                    extra={"provider": self.name, "to": mask_phone(phone), "provider_code": code},
                )
                return False
        return True


@contextmanager
def sdk_errors_as_opt_out_errors(sms_errors: SmsProviderBase) -> Iterator[None]:
    """Raise every SDK failure inside the block as an OptOutListError.

    Provider errors are classified by ``sms_errors``' table (the same provider's SMS sender),
    so a code means the same for a send and for an opt-out call; network failures are
    retryable; a request botocore refuses against the service model is not. Shared with
    reach.adapters.opt_outs_eum.
    """
    try:
        yield
    except ClientError as error:
        raise OptOutListError.from_sms_error(sms_errors.classify(error)) from error
    except (ReadTimeoutError, ConnectionClosedError, SdkConnectionError) as error:
        raise OptOutListError("unreachable", str(error), retryable=True) from error
    except ParamValidationError as error:
        raise OptOutListError("invalid_request", str(error)) from error


def error_code(error: ClientError) -> str:
    """The provider's error code of a ClientError ("" when it has none)."""
    return str(error.response.get("Error", {}).get("Code", ""))


def error_field(error: ClientError, name: str) -> str:
    """A modeled field of a ClientError, such as End User Messaging's ``Reason``.

    JSON services return modeled fields at the top of the parsed response; query services
    nest them under ``Error`` (as reach.adapters.sms_base reads ``Reason``).
    """
    response: Mapping[str, Any] = error.response
    details: Mapping[str, Any] = response.get("Error", {})
    return str(response.get(name) or details.get(name) or "")
