"""Phone numbers: parsed to E.164 at the edge (masking them in logs: reach.domain.masking)."""

from __future__ import annotations

import phonenumbers

from reach.domain.errors import InvalidInput


def to_e164(raw: str, *, field: str = "phone", default_region: str | None = None) -> str:
    """Parse ``raw`` into E.164, or raise InvalidInput naming ``field``.

    National formats such as ``(555) 123-4567`` are read in ``default_region`` (ISO 3166
    alpha-2, e.g. the region of the tenant's own sending number).
    """
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as error:
        hint = "" if default_region else " in international format, e.g. +15551234567"
        raise InvalidInput(field, f"not a phone number{hint} ({error._msg})") from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(field, "not a valid, dialable phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def region_of(e164: str) -> str | None:
    """ISO region of an E.164 number (``US`` for +1 212...), None when unknown."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
