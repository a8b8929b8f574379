"""A campaign's forecast, made before it is sent: when each recipient can get the text, how
long the send takes at the origination's pace, when it ends, and what it costs.

Pure: the service pages through the list's active members and feeds each one to
``ForecastPlan.add`` (so no list is ever held in memory), then asks for the ``Forecast``.

The model, and what it leaves out:
- Recipients go one after another at the number's pace: a message of ``parts`` parts takes
  ``parts / mps`` seconds (carriers count parts against the MPS, docs/facts.md#throughput).
- A recipient is sent to only when the send is allowed in every zone they may be in (their own
  time zone, else every zone of their number's area); otherwise the text is held to the next
  moment allowed in all of them. A recipient whose turn comes in quiet hours (the send ran
  past 21:00 in their zone) is held the same way: that is the "spill".
- Held recipients are sent when their window opens, at the same pace, after whatever is still
  going out then.
- Reminders due on the same number in that time go first (dispatch PRIORITY); each is counted
  as one part, since reminder texts are sized to fit one (template_review).
- The dispatcher starts a campaign on its first tick at or after ``send_at`` (up to a minute
  later) and feeds it a tick at a time; the forecast ignores that minute.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from reach.domain.prices import PriceTable
from reach.domain.quiet_hours import QuietHours

#: How many quiet periods a search for a moment allowed in every zone may step over. Zones of
#: one number's area are at most a few hours apart, so two or three steps always do.
_MAX_STEPS = 8


def recipient_zones(phone: str, timezone: str | None, fallback: str) -> tuple[str, ...]:
    """The zones a recipient may be in: their own time zone when known, else every zone of
    their number's area (the phone library's data; a US area code can span two), else
    ``fallback`` (the tenant's zone) for a number the library places nowhere."""
    if timezone:
        return (timezone,)
    # Imported here: the zone data loads on first use, in the one request that needs it.
    import phonenumbers
    from phonenumbers import timezone as number_zones

    try:
        parsed = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return (fallback,)
    zones = tuple(
        zone for zone in number_zones.time_zones_for_number(parsed) if zone != "Etc/Unknown"
    )
    return zones or (fallback,)


def allowed_everywhere(
    quiet: QuietHours, instant: datetime, zones: Sequence[ZoneInfo]
) -> datetime | None:
    """The first moment at or after ``instant`` that is outside quiet hours in every zone of
    ``zones`` (``instant`` itself when allowed); None when no such moment is found (zones so
    far apart that their allowed hours never meet)."""
    at = instant
    for _ in range(_MAX_STEPS):
        later = max((quiet.next_allowed(at, zone) for zone in zones), default=at)
        if later == at:
            return at
        at = later
    return None


@dataclass(frozen=True)
class SendWindow:
    """Recipients whose text can first go at ``opens_at``."""

    opens_at: datetime
    recipients: int


@dataclass(frozen=True)
class CostEstimate:
    amount: Decimal
    currency: str
    #: Recipients the amount covers, and those in countries the price table lacks.
    priced_recipients: int
    unpriced_recipients: int
    prices_as_of: str
    source: str


@dataclass(frozen=True)
class Forecast:
    recipients: int
    parts: int
    mps: float
    origination_type: str
    #: By opening time: the first one opens at send_at (unless every recipient is held).
    windows: tuple[SendWindow, ...]
    #: Recipients held to a later window: quiet hours at send_at, or reached during the send.
    held: int
    #: Recipients no moment suits (their zones' allowed hours never meet): never sent.
    unreachable: int
    reminders_due: int
    #: True when the reminders were counted up to the bound and there may be more.
    reminders_due_at_least: bool
    #: Time on the wire: every part of the campaign and the reminders, at the pace.
    sending_seconds: float
    estimated_finish: datetime
    cost: CostEstimate

    @property
    def spills_into_quiet_hours(self) -> bool:
        return self.held > 0


class ForecastPlan:
    """Recipients added one at a time, in the order the send would reach them."""

    def __init__(self, send_at: datetime, parts: int, mps: float, quiet: QuietHours) -> None:
        if parts < 1 or mps <= 0:
            raise ValueError("a forecast needs at least one part and a pace above 0")
        self._send_at = send_at
        self._parts = parts
        self._mps = mps
        self._quiet = quiet
        self._at_once = 0
        self._later: Counter[datetime] = Counter()
        self._unreachable = 0
        self._total = 0
        #: Recipients who will be sent to, by country (the cost).
        self._countries: Counter[str | None] = Counter()

    @property
    def _per_text(self) -> timedelta:
        return timedelta(seconds=self._parts / self._mps)

    def add(self, zones: Sequence[ZoneInfo], country: str | None) -> None:
        """One recipient who may be in any of ``zones``, texted in ``country`` (ISO code)."""
        self._total += 1
        turn = self._send_at + self._per_text * self._at_once
        opens = allowed_everywhere(self._quiet, turn, zones)
        if opens is None:
            self._unreachable += 1
            return
        self._countries[country] += 1
        if opens == turn:
            self._at_once += 1
        else:
            self._later[opens] += 1

    def finish(self, reminders: int = 0) -> datetime:
        """When the last text goes, with ``reminders`` (one part each) going first."""
        at = self._send_at + self._per_text * self._at_once
        for opens in sorted(self._later):
            at = max(at, opens) + self._per_text * self._later[opens]
        return at + timedelta(seconds=reminders / self._mps)

    def forecast(
        self,
        *,
        origination_type: str,
        prices: PriceTable,
        reminders_due: int = 0,
        reminders_due_at_least: bool = False,
    ) -> Forecast:
        windows = [SendWindow(self._send_at, self._at_once)] if self._at_once else []
        windows += [SendWindow(at, count) for at, count in sorted(self._later.items())]
        sendable = self._at_once + sum(self._later.values())
        return Forecast(
            recipients=self._total,
            parts=self._parts,
            mps=self._mps,
            origination_type=origination_type,
            windows=tuple(windows),
            held=sum(self._later.values()),
            unreachable=self._unreachable,
            reminders_due=reminders_due,
            reminders_due_at_least=reminders_due_at_least,
            sending_seconds=(sendable * self._parts + reminders_due) / self._mps,
            estimated_finish=self.finish(reminders_due),
            cost=self._cost(prices, origination_type),
        )

    def _cost(self, prices: PriceTable, origination_type: str) -> CostEstimate:
        amount = Decimal(0)
        priced = 0
        for country, count in self._countries.items():
            price = prices.price(country, origination_type)
            if price is not None:
                amount += price * self._parts * count
                priced += count
        return CostEstimate(
            amount=amount.quantize(Decimal("0.01")),
            currency=prices.currency,
            priced_recipients=priced,
            unpriced_recipients=sum(self._countries.values()) - priced,
            prices_as_of=prices.as_of.isoformat(),
            source=prices.source,
        )
