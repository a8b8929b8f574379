"""``reach cost``: what a tenant's texts cost over a range of days, estimated from the
messages Reach stored and Reach's one SMS price table (``reach.domain.prices``, which the
campaign forecast prices from too; its date and sources in docs/facts.md#sms-prices), with
the AWS request prices of ``prices.json`` (their date and sources inside). ``--prices FILE``
may bring its own ``sms`` section, in ``prices.json``'s shape.

Only texts that reached the provider are priced (sent, delivered, undelivered: the provider
bills a text it accepted, whatever the carrier did next); inbound texts are counted and
priced by the request model, not as SMS (AWS does not charge per inbound SMS part in the
countries the table covers; check the pricing page for others). Messages that DynamoDB's
TTL deleted (older than the tenant's retention) are gone and not counted.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from importlib import resources
from types import MappingProxyType
from typing import Any

import phonenumbers

from reach.domain.errors import InvalidInput
from reach.domain.message import Direction, Message
from reach.domain.phones import region_of
from reach.domain.prices import SMS_PRICES, PartPrice
from reach.domain.prices import PriceTable as SmsPriceTable

#: A report reads one Query per day: a year is plenty and keeps a typo from reading decades.
MAX_DAYS = 366

_BILLED = frozenset({"sent", "delivered", "undelivered"})


def day(text: str, field_name: str) -> date:
    """``--from 2026-11-01``: an ISO calendar date, refused with the option named."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(field_name, f"'{text}' is not a date like 2026-11-01") from None


def date_range(first: date, last: date) -> tuple[date, date]:
    if last < first:
        raise InvalidInput("to", f"{last} is before --from {first}")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput("to", f"at most {MAX_DAYS} days in one report")
    return first, last


@dataclass(frozen=True)
class PriceTable:
    as_of: str
    currency: str
    notes: tuple[str, ...]
    sms: SmsPriceTable
    requests: Mapping[str, Decimal]
    request_model: Mapping[str, Mapping[str, int]]

    @classmethod
    def load(cls, text: str | None = None) -> PriceTable:
        raw = json.loads(
            text
            if text is not None
            else resources.files("reach_tools").joinpath("prices.json").read_text("utf-8"),
            parse_float=Decimal,
        )
        return cls(
            as_of=raw["as_of"],
            currency=raw["currency"],
            notes=tuple(raw["notes"]),
            sms=_sms_table(raw) if "sms" in raw else SMS_PRICES,
            requests={name: Decimal(v["per_million"]) for name, v in raw["requests"].items()},
            request_model=raw["request_model"],
        )

    def part_price(self, country: str, origination: str) -> Decimal | None:
        """Base price plus carrier fee of one part; None when the base is not known."""
        return self.sms.price(country, origination)


def _sms_table(raw: Mapping[str, Any]) -> SmsPriceTable:
    """A file's own ``sms`` section (``{country: {type: {base, carrier_fee}}}``), dated by
    the file."""

    def money(value: Any) -> Decimal | None:
        return None if value is None else Decimal(value)

    return SmsPriceTable(
        sms=MappingProxyType(
            {
                country: MappingProxyType(
                    {
                        kind: PartPrice(money(entry.get("base")), money(entry.get("carrier_fee")))
                        for kind, entry in kinds.items()
                    }
                )
                for country, kinds in raw["sms"].items()
            }
        ),
        as_of=date.fromisoformat(raw["as_of"]),
        source="--prices",
        currency=raw["currency"],
    )


@dataclass
class _Line:
    messages: int = 0
    parts: int = 0


@dataclass
class Usage:
    """What a tenant's stored messages add up to."""

    by_direction: Counter[str] = field(default_factory=Counter)
    parts_by_direction: Counter[str] = field(default_factory=Counter)
    encodings: Counter[str] = field(default_factory=Counter)
    not_billed: Counter[str] = field(default_factory=Counter)
    #: (country, origination type) -> billed outbound messages and parts
    billed: dict[tuple[str, str], _Line] = field(default_factory=dict)

    def add(self, message: Message, origination: str) -> None:
        direction = message.direction.value
        self.by_direction[direction] += 1
        self.parts_by_direction[direction] += message.parts
        if message.direction is Direction.INBOUND:
            return
        if message.status.value not in _BILLED:
            self.not_billed[message.status.value] += 1
            return
        self.encodings[message.encoding or "unknown"] += 1
        line = self.billed.setdefault((country_of(message.phone), origination), _Line())
        line.messages += 1
        line.parts += message.parts


def country_of(e164: str) -> str:
    """The destination's ISO country: the number's own, else its calling code's main one (a
    number outside any allocated range still goes to, and is billed in, that country)."""
    region = region_of(e164)
    if region:
        return region
    try:
        code = phonenumbers.parse(e164, None).country_code
    except phonenumbers.NumberParseException:
        return "unknown"
    main = phonenumbers.region_code_for_country_code(code or 0)
    return "unknown" if main == phonenumbers.UNKNOWN_REGION else main


def tally(messages: Iterable[Message], origination: str) -> Usage:
    usage = Usage()
    for message in messages:
        usage.add(message, origination)
    return usage


def report(
    tenant_id: str, first: date, last: date, usage: Usage, prices: PriceTable
) -> dict[str, Any]:
    """The report as one JSON-able document (the text output is drawn from it)."""
    sms_lines = []
    sms_total = Decimal(0)
    unpriced_parts = 0
    for (country, origination), line in sorted(usage.billed.items()):
        price = prices.part_price(country, origination)
        cost = None if price is None else price * line.parts
        if cost is None:
            unpriced_parts += line.parts
        else:
            sms_total += cost
        sms_lines.append(
            {
                "country": country,
                "origination_type": origination,
                "messages": line.messages,
                "parts": line.parts,
                "price_per_part": _money(price),
                "cost": _money(cost),
            }
        )
    requests, request_total = _requests(usage, prices)
    return {
        "tenant_id": tenant_id,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "currency": prices.currency,
        "prices_as_of": prices.as_of,
        "sms_prices_as_of": prices.sms.as_of.isoformat(),
        "sms_prices_source": prices.sms.source,
        "messages": {
            "outbound": usage.by_direction[Direction.OUTBOUND.value],
            "inbound": usage.by_direction[Direction.INBOUND.value],
            "not_billed": dict(sorted(usage.not_billed.items())),
        },
        "parts": {
            "outbound": usage.parts_by_direction[Direction.OUTBOUND.value],
            "inbound": usage.parts_by_direction[Direction.INBOUND.value],
        },
        "encodings": dict(sorted(usage.encodings.items())),
        "sms": {"lines": sms_lines, "total": _money(sms_total), "unpriced_parts": unpriced_parts},
        "aws_requests": {"lines": requests, "total": _money(request_total)},
        "notes": list(prices.notes),
    }


def _requests(usage: Usage, prices: PriceTable) -> tuple[list[dict[str, Any]], Decimal]:
    counts: Counter[str] = Counter()
    for direction in (Direction.OUTBOUND.value, Direction.INBOUND.value):
        for name, per_message in prices.request_model[direction].items():
            counts[name] += per_message * usage.by_direction[direction]
    lines = []
    total = Decimal(0)
    for name in sorted(counts):
        cost = prices.requests[name] * counts[name] / 1_000_000
        total += cost
        lines.append(
            {
                "request": name,
                "count": counts[name],
                "price_per_million": _money(prices.requests[name]),
                "cost": _money(cost),
            }
        )
    return lines, total


def _money(value: Decimal | None) -> str | None:
    """Exact decimal text, to a millionth of the currency (sub-cent prices add up)."""
    if value is None:
        return None
    return str(value.quantize(Decimal("0.000001")))


def text(document: Mapping[str, Any]) -> str:
    """The report for a person: the same figures as the JSON."""
    lines = [
        f"Tenant {document['tenant_id']}, {document['from']} to {document['to']} (UTC days), "
        f"{document['currency']}, prices as of {document['prices_as_of']}",
        f"messages: {document['messages']['outbound']} outbound "
        f"({document['parts']['outbound']} parts), {document['messages']['inbound']} inbound",
        "encodings (billed outbound): "
        + (", ".join(f"{k} {v}" for k, v in document["encodings"].items()) or "none"),
    ]
    if document["messages"]["not_billed"]:
        lines.append(
            "not billed (never reached the provider): "
            + ", ".join(f"{k} {v}" for k, v in document["messages"]["not_billed"].items())
        )
    lines.append("SMS by destination and origination type:")
    for line in document["sms"]["lines"]:
        lines.append(
            f"  {line['country']} {line['origination_type']}: {line['messages']} messages, "
            f"{line['parts']} parts, "
            + (
                f"{line['cost']} at {line['price_per_part']}/part"
                if line["cost"] is not None
                else "no confirmed price in prices.json"
            )
        )
    lines.append(
        f"  SMS total {document['sms']['total']}"
        + (
            f" (+ {document['sms']['unpriced_parts']} unpriced parts)"
            if document["sms"]["unpriced_parts"]
            else ""
        )
    )
    lines.append("AWS requests (estimated per message):")
    for line in document["aws_requests"]["lines"]:
        lines.append(f"  {line['request']}: {line['count']} = {line['cost']}")
    lines.append(f"  requests total {document['aws_requests']['total']}")
    return "\n".join(lines)
