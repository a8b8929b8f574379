"""What one SMS part costs to send, per destination country: the forecast's cost estimate.

A small dated table, not a bill. Carriers bill every part of a message (docs/facts.md#segments),
and the price of a part is AWS's per-part price plus the carrier's pass-through fee
(docs/facts.md#sms-prices, which gives the sources and the date). The carrier fee differs
between carriers; the table takes the highest of the major US carriers', so the estimate errs
high. A country missing from the table is reported as unpriced, never guessed.

(The ops-data helper's ``tools/reach_tools/prices`` holds a price table for ``reach cost``; the
two are to be merged into one.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType


@dataclass(frozen=True)
class PriceTable:
    """USD per outbound SMS part, by ISO country code, as of ``as_of``."""

    per_part: MappingProxyType[str, Decimal]
    as_of: date
    source: str
    currency: str = "USD"

    def price(self, country: str | None) -> Decimal | None:
        return self.per_part.get(country) if country else None


#: AWS End User Messaging SMS, United States: the base price per outbound part
#: ($0.00581) and the highest major-carrier pass-through fee per part ($0.0045).
SMS_PRICES = PriceTable(
    per_part=MappingProxyType({"US": Decimal("0.00581") + Decimal("0.0045")}),
    as_of=date(2026, 5, 26),
    source="docs/facts.md#sms-prices",
)
