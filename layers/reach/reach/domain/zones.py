"""IANA time zones: the one check of a zone name, wherever one comes in (API, admin, services)."""

from __future__ import annotations

from functools import cache, lru_cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from reach.domain.errors import InvalidInput

#: Names a zoneinfo directory may hold that are no IANA zone or link: the machine's own zone
#: (whatever it happens to be set to), the POSIX TZ default rules, and tzdata's placeholder
#: zone "Factory", whose abbreviation reads "-00".
_NOT_IANA = frozenset({"Factory", "localtime", "posixrules"})
_NOT_IANA_PREFIXES = ("posix/", "right/")


@cache
def iana_zone_names() -> frozenset[str]:
    """Every IANA zone and link name, computed on the first check rather than at import.

    The list is the one of the tzdata package Reach ships (one small file, the same on every
    machine); only without it are the machine's zoneinfo directories walked.
    """
    try:
        names = set(resources.files("tzdata").joinpath("zones").read_text("utf-8").split())
    except (ModuleNotFoundError, OSError):  # pragma: no cover - tzdata is a requirement
        names = available_timezones()
    return frozenset(
        name for name in names if name not in _NOT_IANA and not name.startswith(_NOT_IANA_PREFIXES)
    )


def _not_a_zone(name: object) -> str:
    return f"'{name}' is not an IANA time zone such as America/New_York"


@lru_cache(maxsize=512)
def load_zone(name: str, *, field: str = "timezone") -> ZoneInfo:
    """The zone ``name`` as stored, or InvalidInput naming ``field``. A name coming in is
    checked with ``zone_name`` first; this one also loads zones stored before that check."""
    if not isinstance(name, str) or not name or name != name.strip() or ".." in name:
        raise InvalidInput(field, _not_a_zone(name))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput(field, _not_a_zone(name)) from error


def zone_name(name: str, *, field: str = "timezone") -> str:
    """``name`` if it is an IANA zone or link name (America/New_York, UTC, US/Eastern), or
    InvalidInput naming ``field``: ``localtime``, ``posixrules`` and ``Factory`` load, but say
    nothing about where the recipient is."""
    if not isinstance(name, str) or name not in iana_zone_names():
        raise InvalidInput(field, _not_a_zone(name))
    return load_zone(name, field=field).key
