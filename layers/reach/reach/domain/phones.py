"""Phone numbers: parsed to E.164 at the edge, masked wherever they are logged."""

from __future__ import annotations

import re

import phonenumbers

from reach.domain.errors import InvalidInput

_E164 = re.compile(r"\+[1-9]\d{6,14}")
# Bare national numbers such as 5551234567 or 15551234567 in free text.
_BARE = re.compile(r"(?<![\w.:-])\d{10,15}(?![\w.:])")


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


def mask_phone(e164: str) -> str:
    """``+15551234567`` -> ``+1*******567``: enough to tell numbers apart in a log, no more."""
    digits = e164.lstrip("+")
    if len(digits) <= 4:
        return "*" * len(e164)
    prefix = "+" if e164.startswith("+") else ""
    return f"{prefix}{digits[0]}{'*' * (len(digits) - 4)}{digits[-3:]}"


def mask_phones_in(text: str) -> str:
    """Mask every E.164 number and every bare 10-15 digit run in free text."""
    text = _E164.sub(lambda m: mask_phone(m.group(0)), text)
    return _BARE.sub(lambda m: mask_phone(m.group(0)), text)
