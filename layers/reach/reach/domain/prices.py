"""What one SMS part costs to send, by destination country and origination type: the one
price table of Reach. The campaign forecast prices from it, and ``reach cost`` reads it too
(``tools/reach_tools/cost.py``; its ``prices.json`` holds only AWS request prices).

A small dated table, not a bill. Carriers bill every part of a message (docs/facts.md#segments),
and the price of a part is AWS's per-part price plus the carrier's pass-through fee
(docs/facts.md#sms-prices gives the sources and the dates read). A price is only as good as
its source: a base price that could not be read from a public page is None, and the country
and origination type are reported as unpriced, never guessed. Today every base price is None
(docs/facts.md#sms-prices says why), so every estimate says "unpriced" until someone reads
AWS's pricing page and fills them in here, with the date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType


@dataclass(frozen=True)
class PartPrice:
    """USD per outbound part: AWS's ``base`` and the carrier's pass-through ``carrier_fee``;
    None where no public source could be read."""

    base: Decimal | None
    carrier_fee: Decimal | None = None

    @property
    def per_part(self) -> Decimal | None:
        """What a part costs; None while the base is unknown (a fee alone is no price)."""
        if self.base is None:
            return None
        return self.base + (self.carrier_fee or Decimal(0))


@dataclass(frozen=True)
class PriceTable:
    """Part prices by ISO country code and origination type (``reach.domain.numbers``'s
    values: ``10dlc``, ``toll-free``, ``short-code``, ``long-code``), as of ``as_of``."""

    sms: Mapping[str, Mapping[str, PartPrice]]
    as_of: date
    source: str
    currency: str = "USD"

    def price(self, country: str | None, origination_type: str) -> Decimal | None:
        """One part's price; None when the country, the type or its base is not priced."""
        if not country:
            return None
        entry = self.sms.get(country, {}).get(origination_type)
        return None if entry is None else entry.per_part


def _unpriced(fees: Mapping[str, Decimal] | None = None) -> MappingProxyType[str, PartPrice]:
    """Every origination type with no base price, and the carrier ``fees`` known."""
    types = ("10dlc", "toll-free", "short-code", "long-code")
    return MappingProxyType({kind: PartPrice(None, (fees or {}).get(kind)) for kind in types})


#: AWS End User Messaging SMS. The carrier fees are the published ones
#: (docs/facts.md#sms-prices): US toll-free $0.0025 a part; US 10DLC the highest of the major
#: carriers', $0.0045, so an estimate errs high. No base price could be confirmed.
SMS_PRICES = PriceTable(
    sms=MappingProxyType(
        {
            "US": _unpriced({"toll-free": Decimal("0.0025"), "10dlc": Decimal("0.0045")}),
            "CA": _unpriced(),
            "GB": _unpriced(),
        }
    ),
    as_of=date(2026, 12, 5),
    source="docs/facts.md#sms-prices",
)
