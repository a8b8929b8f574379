"""IANA time zones: the one check of a zone name, wherever one comes in (API, admin, services)."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reach.domain.errors import InvalidInput


@lru_cache(maxsize=512)
def load_zone(name: str, *, field: str = "timezone") -> ZoneInfo:
    """The IANA zone ``name`` (e.g. America/New_York), or InvalidInput naming ``field``."""
    if not isinstance(name, str) or not name or name != name.strip() or ".." in name:
        raise InvalidInput(field, f"'{name}' is not an IANA time zone such as America/New_York")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput(
            field, f"'{name}' is not an IANA time zone such as America/New_York"
        ) from error


def zone_name(name: str, *, field: str = "timezone") -> str:
    """``name`` as the IANA key of a zone that exists, or InvalidInput naming ``field``."""
    return load_zone(name, field=field).key
