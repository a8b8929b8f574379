"""The provider's side of a sending number: what Reach reads and sets on it.

With End User Messaging a number (or the pool it belongs to) carries settings that decide
whether Reach can keep its promises: two-way SMS and its channel (replies, STOP included,
reach Reach only through it), self-managed opt-outs (else AWS answers HELP and STOP itself,
and a recipient gets two answers) and the opt-out list (each tenant needs its own, or a STOP
to one tenant's number blocks every tenant's texts). docs/facts.md#number-setup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from reach.domain.errors import ReachError
from reach.domain.numbers import OriginationType


@dataclass(frozen=True)
class ProviderNumber:
    """A phone number as the provider describes it.

    When ``pool_id`` is set the number sends through that pool, and the two-way and opt-out
    settings here are the pool's: the provider applies those, not the number's own.
    """

    e164: str
    number_id: str
    """What the provider's update call takes (the number's ARN)."""
    provider_type: str
    """The provider's own word for the type (``SHORT_CODE``, ``SIMULATOR``...)."""
    origination_type: OriginationType | None
    """Reach's type for it; None for a type Reach has no pace for (a simulator number)."""
    sms_mps: float | None
    """The SMS send rate the provider grants the number, when it says."""
    two_way_enabled: bool
    two_way_channel_arn: str | None
    self_managed_opt_outs: bool
    opt_out_list_name: str | None
    pool_id: str | None = None


@dataclass(frozen=True)
class NumberSettings:
    """What Reach needs set on a tenant's number (or its pool)."""

    two_way_channel_arn: str
    opt_out_list_name: str


class NumberSetupError(ReachError):
    """The provider refused or failed a read or change of a number's settings.

    ``retryable`` as for reach.ports.sms errors; ``provider_code`` is for logs and messages.
    """

    code = "number_setup_error"

    def __init__(self, message: str, *, retryable: bool = False, provider_code: str = "") -> None:
        super().__init__(message)
        self.retryable = retryable
        self.provider_code = provider_code


class NumberProvider(Protocol):
    """A provider's number settings (End User Messaging, or a fake)."""

    name: str

    def find(self, e164: str) -> ProviderNumber | None:
        """The account's number ``e164`` in this region, None when it has no such number."""
        ...

    def opt_out_list_exists(self, name: str) -> bool: ...

    def create_opt_out_list(self, name: str) -> None:
        """Create the list; one that already exists is left as it is."""
        ...

    def configure(self, number: ProviderNumber, settings: NumberSettings) -> None:
        """Two-way on with ``settings``' channel, self-managed opt-outs on, and ``settings``'
        opt-out list, on the number or, for a pooled number, on its pool."""
        ...
