"""Dates, times and phone numbers the way a recipient reads them in their own language.

Dates are written by hand-made tables rather than Babel, which would weigh on every Lambda
cold start for three languages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from reach.domain.languages import normalize_language


@dataclass(frozen=True)
class _Calendar:
    weekdays: tuple[str, ...]  # Monday first, as datetime.weekday() counts
    months: tuple[str, ...]
    date: Callable[[str, int, str], str]  # (weekday, day, month) -> text
    meridiem: tuple[str, str] | None  # 12-hour clock markers, None for 24-hour


_CALENDARS: Mapping[str, _Calendar] = {
    "en": _Calendar(
        weekdays=("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
        months=("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        date=lambda weekday, day, month: f"{weekday}, {month} {day}",
        meridiem=("AM", "PM"),
    ),
    # é is GSM-7 but á is not: "sáb" would switch a whole reminder to UCS-2.
    "es": _Calendar(
        weekdays=("lun", "mar", "mié", "jue", "vie", "sab", "dom"),
        months=("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"),
        date=lambda weekday, day, month: f"{weekday} {day} {month}",
        meridiem=None,
    ),
    "ar": _Calendar(
        weekdays=("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"),
        months=(
            "يناير",
            "فبراير",
            "مارس",
            "أبريل",
            "مايو",
            "يونيو",
            "يوليو",
            "أغسطس",
            "سبتمبر",
            "أكتوبر",
            "نوفمبر",
            "ديسمبر",
        ),
        date=lambda weekday, day, month: f"{weekday} {day} {month}",
        meridiem=("ص", "م"),
    ),
}


def format_local_date(local: datetime, language: str) -> str:
    """``local``'s date as a short weekday, day and month (ISO for languages without tables)."""
    calendar = _CALENDARS.get(normalize_language(language).split("-")[0])
    if calendar is None:
        return local.date().isoformat()
    return calendar.date(
        calendar.weekdays[local.weekday()], local.day, calendar.months[local.month - 1]
    )


def format_local_time(local: datetime, language: str) -> str:
    """``local``'s wall-clock time, on a 12- or 24-hour clock as the language expects."""
    calendar = _CALENDARS.get(normalize_language(language).split("-")[0])
    if calendar is None or calendar.meridiem is None:
        return f"{local.hour}:{local.minute:02d}"
    marker = calendar.meridiem[0] if local.hour < 12 else calendar.meridiem[1]
    return f"{local.hour % 12 or 12}:{local.minute:02d} {marker}"


def format_local_hour(local: datetime, language: str) -> str:
    """Like ``format_local_time``, but a 12-hour clock leaves out ":00" ("8 AM", "8:30 AM"):
    how an arrival window is said ("between 8 AM and 12 PM")."""
    text = format_local_time(local, language)
    calendar = _CALENDARS.get(normalize_language(language).split("-")[0])
    if calendar is not None and calendar.meridiem is not None and local.minute == 0:
        return text.replace(":00 ", " ", 1)
    return text


def format_national_phone(e164: str) -> str:
    """``+12025550143`` -> ``(202) 555-0143``: the way people in that number's country dial it.

    phonenumbers is loaded here, not at import: the sender shows the tenant's number as its
    profile stores it (``Tenant.sender_number_national``) and comes here only for a profile
    written before that, so a sender's cold start does without the library.
    """
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        # Short codes are not E.164 numbers; show them as they are.
        return e164
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
