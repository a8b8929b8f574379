"""Where a list member may be, for quiet hours: their own time zone when they gave one, else
every zone the number's area may be in (the phone number library's data), and a text must be
allowed in all of them (docs/facts.md#quiet-hours)."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo

from reach.domain.zones import load_zone

#: What the phone number library answers for a number it cannot place.
_UNKNOWN = "Etc/Unknown"


def recipient_zones(phone: str, timezone: str | None) -> tuple[ZoneInfo, ...]:
    """The zones to judge ``phone``'s quiet hours in (``timezone``: the member's own)."""
    if timezone:
        return (load_zone(timezone),)
    return number_zones(phone)


@lru_cache(maxsize=4096)
def number_zones(phone: str) -> tuple[ZoneInfo, ...]:
    """Every zone the number's area may be in; UTC only when the library knows none (it
    falls back to the country's zones before that)."""
    # Imported here: the dispatcher loads the library only when a campaign fans out.
    from phonenumbers import parse
    from phonenumbers.timezone import time_zones_for_number

    names = [name for name in time_zones_for_number(parse(phone)) if name != _UNKNOWN]
    return tuple(ZoneInfo(name) for name in sorted(names)) or (ZoneInfo("UTC"),)
