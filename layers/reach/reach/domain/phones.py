"""Phone numbers: parsed to E.164 at the edge (masking them in logs: reach.domain.masking)."""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType

from reach.domain.errors import InvalidInput

#: Number types that cannot receive a text or are no one's own phone, with the reason given to
#: the clinic (docs/facts.md#number-types). Every other type is accepted: MOBILE,
#: FIXED_LINE_OR_MOBILE (every US and Canadian number: the plan does not say which), VOIP
#: (many people's only "mobile" is a VoIP number that takes texts), PERSONAL_NUMBER (routed to
#: a person's mobile or landline) and UNKNOWN (a type the metadata lacks; invalid numbers are
#: refused before this).
UNTEXTABLE: dict[int, str] = {
    PhoneNumberType.FIXED_LINE: "is a landline (fixed-line) number, which cannot receive texts",
    PhoneNumberType.TOLL_FREE: "is a toll-free number: a business line, not a recipient's phone",
    PhoneNumberType.PREMIUM_RATE: "is a premium-rate number, which cannot be texted reminders",
    PhoneNumberType.SHARED_COST: "is a shared-cost service number, not a recipient's phone",
    PhoneNumberType.UAN: "is a company (universal access) number, not a recipient's phone",
    PhoneNumberType.PAGER: "is a pager number, which cannot receive texts",
    PhoneNumberType.VOICEMAIL: "is a voicemail access number, which cannot receive texts",
}


def to_e164(raw: str, *, field: str = "phone", default_region: str | None = None) -> str:
    """Parse ``raw`` into E.164, or raise InvalidInput naming ``field``.

    National formats such as ``(555) 123-4567`` are read in ``default_region`` (ISO 3166
    alpha-2, e.g. the region of the tenant's own sending number).
    """
    return _format(_parse(raw, field, default_region))


def textable_e164(raw: str, *, field: str = "phone", default_region: str | None = None) -> str:
    """A recipient's number in E.164: as ``to_e164``, and refused (InvalidInput naming
    ``field``) when its type says no text can reach a person there (``UNTEXTABLE``)."""
    number = _parse(raw, field, default_region)
    reason = UNTEXTABLE.get(phonenumbers.number_type(number))
    if reason is not None:
        raise InvalidInput(field, f"{_format(number)} {reason}; ask for a mobile number")
    return _format(number)


def region_of(e164: str) -> str | None:
    """ISO region of an E.164 number (``US`` for +1 212...), None when unknown."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None


def _parse(raw: str, field: str, default_region: str | None) -> phonenumbers.PhoneNumber:
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as error:
        hint = "" if default_region else " in international format, e.g. +15551234567"
        raise InvalidInput(field, f"not a phone number{hint} ({error._msg})") from error
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(field, "not a valid, dialable phone number")
    if number.extension:
        # E.164 has no extensions, and a text cannot dial one: keeping the number without it
        # would text the switchboard, so the whole number is refused instead.
        raise InvalidInput(
            field, f"has an extension ({number.extension}), which a text cannot reach"
        )
    return number


def _format(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
