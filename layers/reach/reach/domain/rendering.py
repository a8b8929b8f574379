"""A reminder's text for one recipient: its template filled with their values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from reach.domain.languages import DEFAULT_LANGUAGE, normalize_language
from reach.domain.local_format import (
    format_local_date,
    format_local_hour,
    format_local_time,
    format_national_phone,
)
from reach.domain.segments import gsm_safe
from reach.domain.templates import MessageTemplate, template_pieces

# Digits, never the word CANCEL: carriers treat a reply of CANCEL as an opt-out from every
# message, so no language names it, not even as "cancelar".
REPLY_OPTIONS: Mapping[str, str] = {
    "en": "Reply 1 confirm, 2 reschedule, 3 can't come, STOP opt out",
    "es": "Responda 1 confirmar, 2 cambiar, 3 anular, STOP salir",
    "ar": "أرسل 1 للتأكيد، 2 لتغيير الموعد، 3 للاعتذار، STOP لإيقاف الرسائل",
}


#: How each language says an arrival window, (opens, closes) -> text; and a visit booked
#: without one, opens -> text (the wording the service templates had before windows).
_WINDOWS: Mapping[str, tuple[str, str]] = {
    "en": ("between {opens} and {closes}", "from {opens}"),
    "es": ("entre las {opens} y las {closes}", "desde las {opens}"),
    "ar": ("بين الساعة {opens} والساعة {closes}", "ابتداءً من الساعة {opens}"),
}


def arrival_window(
    starts_at: datetime, window_ends_at: datetime | None, zone: tzinfo, language: str
) -> str:
    """ "between 8 AM and 12 PM" in the recipient's ``zone`` and language; "from 8:00 AM"
    when the visit has no window."""
    base = normalize_language(language).split("-")[0]
    base = base if base in _WINDOWS else DEFAULT_LANGUAGE
    between, since = _WINDOWS[base]
    opens = starts_at.astimezone(zone)
    if window_ends_at is None:
        return since.format(opens=format_local_time(opens, base))
    closes = window_ends_at.astimezone(zone)
    return between.format(
        opens=format_local_hour(opens, base), closes=format_local_hour(closes, base)
    )


def render_reminder(
    template: MessageTemplate,
    *,
    first_name: str | None,
    starts_at: datetime,
    zone: ZoneInfo,
    org_name: str,
    org_phone_e164: str,
    location: str | None = None,
    window_ends_at: datetime | None = None,
    technician_name: str | None = None,
    org_phone_national: str | None = None,
) -> str:
    """The reminder text for one recipient, with date and time in the recipient's ``zone``
    (a service visit's arrival window too). The org's number is shown nationally:
    ``org_phone_national`` when the caller has it already, else formatted from the E.164.

    Names and places go through gsm_safe() so that one accented letter does not double the
    cost. A missing first name leaves "Hi, ..." rather than "Hi , ...".
    """
    template.validate()
    if starts_at.utcoffset() is None:
        raise ValueError("starts_at must be timezone-aware")
    local = starts_at.astimezone(zone)
    language = normalize_language(template.language).split("-")[0]
    values = {
        "first_name": field_value(first_name),
        "date": format_local_date(local, language),
        "time": format_local_time(local, language),
        "org_name": field_value(org_name),
        "org_phone": org_phone_national or format_national_phone(org_phone_e164),
        "reply_options": REPLY_OPTIONS.get(language, REPLY_OPTIONS[DEFAULT_LANGUAGE]),
        "location": field_value(location),
        "window": arrival_window(starts_at, window_ends_at, zone, language),
        "technician_name": field_value(technician_name),
    }
    return _fill(template_pieces(template.text), values)


def field_value(value: str | None) -> str:
    # Whitespace runs (newlines included) from upstream systems become one space.
    return " ".join(gsm_safe(value or "").split())


_PUNCTUATION_AFTER_FIELD = re.compile(r"^[,،.:;!?]")


def _fill(pieces: list[tuple[str, str | None]], values: Mapping[str, str]) -> str:
    out = ""
    after_empty = False
    for literal, name in pieces:
        if after_empty and (literal.startswith(" ") or _PUNCTUATION_AFTER_FIELD.match(literal)):
            out = out.rstrip(" ")
            if not out:
                literal = literal.lstrip(" ,،:;")
        out += literal
        after_empty = False
        if name is not None:
            value = values[name]
            out += value
            after_empty = value == ""
    return out.strip()


#: Long but realistic values: if a template fits one part with these, it fits with most.
WORST_CASE_SAMPLE: Mapping[str, str] = {
    "first_name": "Konstantinos",
    "org_name": "Riverside Family Health Clinic",
    "org_phone_e164": "+12025550143",
    "location": "1250 Riverside Drive, Suite 12B",
    "technician_name": "Konstantinos",
}
_SAMPLE_ZONE = ZoneInfo("America/New_York")
# A Wednesday, 30 September at 12:30: the longest English date and time ("Wed, Sep 30",
# "12:30 PM").
_SAMPLE_START = datetime(2026, 9, 30, 16, 30, tzinfo=UTC)


def render_worst_case(template: MessageTemplate) -> str:
    """``template`` rendered with WORST_CASE_SAMPLE values, to size it before it is used."""
    return render_reminder(
        template,
        first_name=WORST_CASE_SAMPLE["first_name"],
        starts_at=_SAMPLE_START,
        zone=_SAMPLE_ZONE,
        org_name=WORST_CASE_SAMPLE["org_name"],
        org_phone_e164=WORST_CASE_SAMPLE["org_phone_e164"],
        location=WORST_CASE_SAMPLE["location"],
        # Without a window, as templates were sized before windows: with the longest names
        # and a window, a default service reminder takes two parts (a four-hour window and
        # names of usual length fit one).
        technician_name=WORST_CASE_SAMPLE["technician_name"],
    )
