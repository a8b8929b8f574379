"""Sending numbers and the throughput carriers grant each one (docs/facts.md#throughput)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from reach.domain.errors import InvalidInput


class OriginationType(StrEnum):
    """What kind of number a text goes out from; it decides the default pace."""

    SHORT_CODE = "short-code"
    TOLL_FREE = "toll-free"
    TEN_DLC = "10dlc"
    LONG_CODE = "long-code"


#: Message parts per second by origination type. A US short code is granted 100, a verified
#: toll-free number 3 and a 10DLC number 1 until the carriers vet more. A long code gets 1:
#: Canada's limit, and the safe one where the country's is unknown (sending faster than granted
#: gets texts filtered; sending slower only takes longer).
DEFAULT_MPS: dict[OriginationType, float] = {
    OriginationType.SHORT_CODE: 100.0,
    OriginationType.TOLL_FREE: 3.0,
    OriginationType.TEN_DLC: 1.0,
    OriginationType.LONG_CODE: 1.0,
}
#: No origination type is granted more than a short code's ceiling without a carrier contract;
#: a larger figure is a typo far more often than a real grant.
MAX_MPS = 1000.0


@dataclass(frozen=True)
class Throughput:
    """A number's grant: its type and the message parts per second it may send."""

    origination_type: OriginationType
    mps: float

    @classmethod
    def default(cls, origination_type: OriginationType) -> Throughput:
        return cls(origination_type, DEFAULT_MPS[origination_type])


def origination_type(value: str, *, field: str = "number_type") -> OriginationType:
    try:
        return OriginationType(value)
    except ValueError as error:
        raise InvalidInput(field, f"one of {[t.value for t in OriginationType]}") from error


def mps_value(value: float, *, field: str = "mps") -> float:
    """A granted pace: a finite number of parts per second above 0, at most ``MAX_MPS``."""
    if isinstance(value, bool) or not math.isfinite(value) or not 0 < value <= MAX_MPS:
        raise InvalidInput(
            field, f"a number of message parts per second, above 0, at most {MAX_MPS:g}"
        )
    return float(value)


def throughput(type_text: str | None, mps: float | None, fallback: Throughput) -> Throughput:
    """A number's throughput from what was recorded: its type and an explicit MPS, else the
    type's default; a number recorded with neither (set up before numbers had a type) gets
    ``fallback``, the stack's own origination settings."""
    if not type_text:
        return fallback if mps is None else Throughput(fallback.origination_type, float(mps))
    kind = origination_type(type_text)
    return Throughput(kind, float(mps) if mps is not None else DEFAULT_MPS[kind])


def tenant_opt_out_list(tenant_id: str) -> str:
    """The provider opt-out list of one tenant's numbers (docs/facts.md#number-setup).

    Consent is per tenant in Reach, so the provider's list must be too: on a shared list a
    STOP to one tenant's number would block every other tenant's texts to that person. Tenant
    ids are unique and made of ``[a-z0-9_]``, which End User Messaging's list names allow
    (1 to 64 of ``[A-Za-z0-9_-]``).
    """
    return f"reach-{tenant_id}"
