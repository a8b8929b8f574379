"""The provider opt-out list port: what the reconciliation job needs from SNS or End User Messaging.

Each provider keeps its own list of numbers it will not text. Reach keeps its own consent
records and reconciles the two both ways on a schedule:

- every number on the provider's list (``opted_out``) is marked opted out in Reach, so a
  message the provider would silently drop is never queued;
- a number the recipient re-subscribed to in Reach (texted START) after the provider listed it
  is taken off the provider's list (``opt_in``), or sends to it keep vanishing.

Providers limit the second direction: SNS lets a number be opted in once every 30 days, End
User Messaging lets an opted-out number be deleted once every 30 days. ``opt_in`` answers False
for that refusal, so the job can try again on a later run instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from reach.domain.errors import InvalidInput, ReachError
from reach.domain.phones import to_e164
from reach.ports.sms import SmsError


@dataclass(frozen=True)
class ProviderOptOut:
    """One number on a provider's opt-out list."""

    phone: str
    """E.164, normalised the way Reach stores contacts (reach.domain.phones.to_e164)."""
    opted_out_at: datetime | None
    """Aware; None when the provider does not say (SNS lists bare numbers)."""
    by_recipient: bool = True
    """True when the recipient opted out by keyword (STOP...); False when someone added the
    number through the API or console (End User Messaging's ``EndUserOptedOut``)."""


class OptOutListError(ReachError):
    """Reading or changing a provider's opt-out list failed.

    ``retryable`` as for reach.ports.sms errors: True for throttling and transient provider or
    network failures (run again later), False for what will fail again the same way (access
    denied, a missing opt-out list, an invalid request). ``reason`` is a short machine word.
    """

    code = "opt_out_list_error"

    def __init__(
        self, reason: str, detail: str = "", *, retryable: bool = False, provider_code: str = ""
    ) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.retryable = retryable
        # The provider's own error code when it raised one: for logs, never for decisions.
        self.provider_code = provider_code

    @classmethod
    def from_sms_error(cls, error: SmsError) -> OptOutListError:
        """The same failure, classified by an SMS adapter's error table, as an opt-out error."""
        return cls(
            error.reason,
            error.detail,
            retryable=error.retryable,
            provider_code=error.provider_code,
        )


class OptOutListMissing(OptOutListError):
    """The opt-out list itself does not exist: a tenant whose number was never attached
    (``reach numbers attach`` creates the list). Not retryable: the next run finds it again
    until someone attaches the number."""

    def __init__(self, list_name: str, *, provider_code: str = "") -> None:
        super().__init__(
            "resource_not_found", list_name, retryable=False, provider_code=provider_code
        )
        self.list_name = list_name


class ProviderOptOutList(Protocol):
    """One provider's opt-out list (SNS, End User Messaging SMS, or a fake)."""

    name: str
    """``sns``, ``end-user-messaging`` or ``fake``: the same names as the SMS senders."""

    def opted_out(self) -> Iterator[ProviderOptOut]:
        """Every number on the list, paging handled, each normalised to E.164.

        An entry that is not a phone number is skipped and counted, never raised. Pages are
        read lazily: OptOutListError can be raised after some numbers were yielded.
        """
        ...

    def opt_in(self, phone: str) -> bool:
        """Take the E.164 ``phone`` off the provider's list.

        True when it was removed or was not listed; False when the provider refuses for now
        (its once-per-30-days rule). Raises OptOutListError for any other failure.
        """
        ...


def listed_number_to_e164(raw: str) -> str | None:
    """A number as a provider lists it, in E.164; None when it is not a phone number.

    End User Messaging's model lets the ``+`` be absent (pattern ``\\+?[1-9][0-9]{1,18}``), so
    a bare run of digits is read as E.164 without its plus. Anything ``to_e164`` refuses is
    None: Reach stored its contacts through the same function, so such an entry could not
    match a contact anyway.
    """
    text = raw.strip()
    candidates = [text]
    if text.isdigit():
        candidates.append(f"+{text}")
    for candidate in candidates:
        try:
            return to_e164(candidate)
        except InvalidInput:
            continue
    return None


def require_e164(phone: str) -> str:
    """``phone`` itself when it is E.164 as Reach writes it; OptOutListError otherwise.

    Adapters check before calling ``opt_in``'s provider API: botocore checks only lengths, not
    the model's patterns, and a provider's answer to a malformed number (SNS's
    InvalidParameter, End User Messaging's ValidationException) looks like its answer to the
    30-day rule, which ``opt_in`` reports as False ("try again later") for ever after.
    """
    if listed_number_to_e164(phone) != phone:
        raise OptOutListError("invalid_number", "opt_in takes an E.164 number")
    return phone


class ProviderOptOutLists(Protocol):
    """Where a provider keeps opt-outs: one list for the whole account, or one per tenant.

    SNS has one list per account and region, so a number on it concerns every tenant that
    texts it. End User Messaging gives each tenant's numbers the tenant's own list
    (reach.domain.numbers.tenant_opt_out_list), so an entry concerns that tenant alone.
    """

    name: str

    def shared(self) -> ProviderOptOutList | None:
        """The one list that applies to every tenant, or None when each tenant has its own."""
        ...

    def of_tenant(self, tenant_id: str) -> ProviderOptOutList:
        """The list of one tenant's numbers; its ``opted_out`` raises OptOutListMissing when
        the tenant has none yet."""
        ...


class AccountWideOptOutList:
    """``ProviderOptOutLists`` for a provider with one list per account (SNS, the fake)."""

    def __init__(self, account_list: ProviderOptOutList) -> None:
        self.account_list = account_list
        self.name = account_list.name

    def shared(self) -> ProviderOptOutList:
        return self.account_list

    def of_tenant(self, tenant_id: str) -> ProviderOptOutList:
        return self.account_list
