"""Reminder message templates per tenant, appointment kind and language.

Templates name ``{fields}`` and nothing else: no positional fields, attribute or index access,
format specs or conversions, so a tenant's text can never reach into the objects behind it.
Clinic reminders keep to HIPAA's minimum necessary (facts.md): a first name, the date and time,
the clinic's name and number, and how to reply. Dates are written by hand-made tables rather
than Babel, which would weigh on every Lambda cold start for three languages.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import phonenumbers

from reach.domain.errors import InvalidInput
from reach.domain.models import AppointmentKind
from reach.domain.segments import SegmentCount, SmsEncoding, count_segments, gsm_safe

CLINIC_VISIT_FIELDS = frozenset(
    {"first_name", "date", "time", "org_name", "org_phone", "reply_options"}
)
SERVICE_VISIT_FIELDS = CLINIC_VISIT_FIELDS | {"location"}
ALLOWED_FIELDS: Mapping[AppointmentKind, frozenset[str]] = {
    AppointmentKind.CLINIC_VISIT: CLINIC_VISIT_FIELDS,
    AppointmentKind.SERVICE_VISIT: SERVICE_VISIT_FIELDS,
}
_FIELD_ORDER = ("first_name", "date", "time", "org_name", "org_phone", "reply_options", "location")

# Digits, never the word CANCEL: carriers treat a reply of CANCEL as an opt-out from every
# message (architecture.md, "Replies"), so no language names it, not even as "cancelar".
REPLY_OPTIONS: Mapping[str, str] = {
    "en": "Reply 1 confirm, 2 reschedule, 3 can't come, STOP opt out",
    "es": "Responda 1 confirmar, 2 cambiar, 3 anular, STOP salir",
    "ar": "أرسل 1 للتأكيد، 2 لتغيير الموعد، 3 للاعتذار، STOP لإيقاف الرسائل",
}
DEFAULT_LANGUAGE = "en"


class InvalidTemplate(InvalidInput):
    """A message template that may not be used; ``fields`` are the placeholders at fault."""

    def __init__(self, message: str, *, fields: tuple[str, ...] = ()) -> None:
        super().__init__("text", message)
        self.fields = fields


@dataclass(frozen=True)
class MessageTemplate:
    """A reminder text for one appointment kind and language, with ``{field}`` placeholders."""

    kind: AppointmentKind
    language: str
    text: str

    @property
    def fields(self) -> tuple[str, ...]:
        """The placeholders the text uses, in order of first appearance."""
        return tuple(dict.fromkeys(name for _, name in _parse(self.text) if name is not None))

    def validate(self) -> None:
        """Raise InvalidTemplate unless every placeholder is allowed for this kind."""
        if not self.text.strip():
            raise InvalidTemplate("a message template cannot be empty")
        allowed = ALLOWED_FIELDS[AppointmentKind(self.kind)]
        offending = tuple(name for name in self.fields if name not in allowed)
        if not offending:
            return
        listed = ", ".join(f"{{{name}}}" for name in offending)
        permitted = ", ".join(f"{{{name}}}" for name in _FIELD_ORDER if name in allowed)
        if self.kind == AppointmentKind.CLINIC_VISIT:
            reason = (
                f"clinic reminders may only use {permitted} (HIPAA minimum necessary: no "
                f"location, provider, diagnosis or other detail); not allowed: {listed}"
            )
        else:
            reason = f"{self.kind} templates may only use {permitted}; unknown: {listed}"
        raise InvalidTemplate(reason, fields=offending)


def _parse(text: str) -> list[tuple[str, str | None]]:
    """``text`` as (literal, field name) pairs, refusing anything beyond plain names."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as error:
        raise InvalidTemplate(
            f"unbalanced braces ({error}); write {{{{ or }}}} for a brace"
        ) from error
    pieces: list[tuple[str, str | None]] = []
    problems: list[str] = []
    for literal, name, spec, conversion in parsed:
        if name is None:
            pieces.append((literal, None))
            continue
        suffix = (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        shown = f"{{{name}{suffix}}}"
        if name == "" or name.isdigit():
            problems.append(f"{shown} is positional: name the field, e.g. {{first_name}}")
        elif not name.isidentifier():
            problems.append(f"{shown} is not a plain field name")
        elif spec or conversion:
            problems.append(f"{shown} has a format spec or conversion: write {{{name}}}")
        pieces.append((literal, name))
    if problems:
        raise InvalidTemplate("; ".join(problems), fields=tuple(problems))
    return pieces


DEFAULT_TEMPLATES: Mapping[tuple[AppointmentKind, str], MessageTemplate] = {
    (template.kind, template.language): template
    for template in (
        MessageTemplate(
            AppointmentKind.CLINIC_VISIT,
            "en",
            "Hi {first_name}, {org_name} visit {date} at {time}. Call {org_phone}. {reply_options}",
        ),
        MessageTemplate(
            AppointmentKind.SERVICE_VISIT,
            "en",
            "Hi {first_name}, {org_name} visit {date} from {time}. Call {org_phone}. "
            "{reply_options}",
        ),
        MessageTemplate(
            AppointmentKind.CLINIC_VISIT,
            "es",
            "Hola {first_name}, cita en {org_name} el {date} a las {time}. Tel {org_phone}. "
            "{reply_options}",
        ),
        MessageTemplate(
            AppointmentKind.SERVICE_VISIT,
            "es",
            "Hola {first_name}, {org_name} llega el {date} desde las {time}. "
            "Tel {org_phone}. {reply_options}",
        ),
        MessageTemplate(
            AppointmentKind.CLINIC_VISIT,
            "ar",
            "مرحباً {first_name}، تذكير بموعدك في {org_name} يوم {date} الساعة {time}. "
            "للاستفسار: {org_phone}. {reply_options}",
        ),
        MessageTemplate(
            AppointmentKind.SERVICE_VISIT,
            "ar",
            "مرحباً {first_name}، زيارة {org_name} يوم {date} ابتداءً من الساعة {time}. "
            "للاستفسار: {org_phone}. {reply_options}",
        ),
    )
}


def normalize_language(tag: str) -> str:
    """``es_MX`` / ``ES-mx`` -> ``es-mx``; an empty tag means the default language."""
    return tag.strip().replace("_", "-").lower() or DEFAULT_LANGUAGE


def _language_chain(tag: str) -> tuple[str, ...]:
    full = normalize_language(tag)
    return tuple(dict.fromkeys((full, full.split("-")[0], DEFAULT_LANGUAGE)))


def template_for(
    kind: AppointmentKind | str,
    language: str,
    overrides: Mapping[tuple[str, str], str] | None = None,
) -> MessageTemplate:
    """The template to send: the tenant's override, else our default, per language.

    Languages are tried from the most specific (``es-mx``) to the base (``es``) and finally
    English; within each, a tenant override wins over the default. A stored override that
    breaks the field rules raises InvalidTemplate rather than being sent.
    """
    kind = AppointmentKind(kind)
    tenant = {
        (str(key_kind), normalize_language(key_language)): text
        for (key_kind, key_language), text in (overrides or {}).items()
    }
    for candidate in _language_chain(language):
        text = tenant.get((kind.value, candidate))
        if text is not None:
            template = MessageTemplate(kind, candidate, text)
            template.validate()
            return template
        default = DEFAULT_TEMPLATES.get((kind, candidate))
        if default is not None:
            return default
    raise LookupError(f"no default {kind} template in {DEFAULT_LANGUAGE}")  # pragma: no cover


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


def format_national_phone(e164: str) -> str:
    """``+12025550143`` -> ``(202) 555-0143``: the way people in that number's country dial it."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        # Short codes are not E.164 numbers; show them as they are.
        return e164
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))


def render_reminder(
    template: MessageTemplate,
    *,
    first_name: str | None,
    starts_at: datetime,
    zone: ZoneInfo,
    org_name: str,
    org_phone_e164: str,
    location: str | None = None,
) -> str:
    """The reminder text for one recipient, with date and time in the recipient's ``zone``.

    Names and places go through gsm_safe() so that one accented letter does not double the
    cost. A missing first name leaves "Hi, ..." rather than "Hi , ...".
    """
    template.validate()
    if starts_at.utcoffset() is None:
        raise ValueError("starts_at must be timezone-aware")
    local = starts_at.astimezone(zone)
    language = normalize_language(template.language).split("-")[0]
    values = {
        "first_name": _field_value(first_name),
        "date": format_local_date(local, language),
        "time": format_local_time(local, language),
        "org_name": _field_value(org_name),
        "org_phone": format_national_phone(org_phone_e164),
        "reply_options": REPLY_OPTIONS.get(language, REPLY_OPTIONS[DEFAULT_LANGUAGE]),
        "location": _field_value(location),
    }
    return _fill(_parse(template.text), values)


def _field_value(value: str | None) -> str:
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
    )


@dataclass
class TemplateReport:
    """What a template edit does to every reminder sent with it, in plain words."""

    segments: SegmentCount
    warnings: list[str]


_FCC_HEALTHCARE_LIMIT = 160
_OPT_OUT_WORD = re.compile(r"\bcancel\b", re.IGNORECASE)


def review_template_edit(
    kind: AppointmentKind | str,
    language: str,
    new_text: str,
    old_text: str | None,
) -> TemplateReport:
    """Size ``new_text`` with worst-case values and warn about what the edit costs.

    Raises InvalidTemplate when ``new_text`` itself may not be used. An ``old_text`` that no
    longer validates is treated as absent.
    """
    kind = AppointmentKind(kind)
    new = MessageTemplate(kind, normalize_language(language), new_text)
    rendered = render_worst_case(new)
    count = count_segments(rendered)
    previous = _previous_count(MessageTemplate(kind, new.language, old_text)) if old_text else None

    warnings: list[str] = []
    if count.encoding is SmsEncoding.UCS2:
        culprits = _describe_characters(count.unicode_characters)
        if previous is not None and previous.encoding is SmsEncoding.GSM7:
            warnings.append(
                f"This edit switches the message to Unicode (UCS-2) because of {culprits}: "
                f"a part then holds 70 characters instead of 160."
            )
        elif previous is None:
            warnings.append(
                f"The message is sent as Unicode (UCS-2) because of {culprits}: "
                f"a part holds 70 characters instead of 160."
            )
    if previous is not None and count.parts > previous.parts:
        added = count.parts - previous.parts
        warnings.append(
            f"This edit adds {added} part{'s' if added > 1 else ''}: each reminder is sent as "
            f"{count.parts} parts instead of {previous.parts}, "
            f"{_multiplier(count.parts, previous.parts)}x the cost."
        )
    elif count.parts > 1:
        warnings.append(
            f"With long names the message needs {count.parts} parts and costs "
            f"{count.parts}x a single SMS; it fits one part within {count.single_part_limit} "
            f"{'characters' if count.encoding is SmsEncoding.GSM7 else 'Unicode characters'}."
        )
    if kind == AppointmentKind.CLINIC_VISIT and len(rendered) > _FCC_HEALTHCARE_LIMIT:
        warnings.append(
            f"With long names the message is {len(rendered)} characters: healthcare reminders "
            f"over {_FCC_HEALTHCARE_LIMIT} lose the FCC exemption for healthcare messages."
        )
    if _OPT_OUT_WORD.search(new_text):
        warnings.append(
            "The text mentions CANCEL: a reply of CANCEL opts the person out of every message. "
            "Ask for 3 to cancel an appointment instead, as {reply_options} does."
        )
    if "reply_options" not in new.fields and "STOP" not in new_text.upper():
        warnings.append(
            "The text no longer says how to reply or opt out: add {reply_options} "
            "(carriers require STOP instructions)."
        )
    return TemplateReport(segments=count, warnings=warnings)


def _previous_count(template: MessageTemplate) -> SegmentCount | None:
    try:
        return count_segments(render_worst_case(template))
    except InvalidTemplate:
        return None


def _describe_characters(characters: tuple[str, ...], limit: int = 5) -> str:
    described = []
    for character in characters[:limit]:
        name = unicodedata.name(character, f"U+{ord(character):04X}").lower()
        replacement = gsm_safe(character)
        hint = f", use {replacement} instead" if replacement != character else ""
        described.append(f"{character} ({name}{hint})")
    more = len(characters) - limit
    return ", ".join(described) + (f" and {more} more" if more > 0 else "")


def _multiplier(new_parts: int, old_parts: int) -> str:
    ratio = (Decimal(new_parts) / Decimal(old_parts)).quantize(Decimal("0.01"))
    return f"{ratio.normalize():f}"
