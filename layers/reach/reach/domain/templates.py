"""Reminder templates per appointment kind and language: the model, its field rules, our
defaults, and which template a tenant's reminder uses.

Templates name ``{fields}`` and nothing else: no positional fields, attribute or index access,
format specs or conversions, so a tenant's text can never reach into the objects behind it.
Clinic reminders keep to HIPAA's minimum necessary (45 CFR 164.502(b)): a first name, the date
and time, the clinic's name and number, and how to reply.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

from reach.domain.errors import InvalidInput
from reach.domain.languages import DEFAULT_LANGUAGE, language_chain, normalize_language
from reach.domain.models import AppointmentKind

CLINIC_VISIT_FIELDS = frozenset(
    {"first_name", "date", "time", "org_name", "org_phone", "reply_options"}
)
#: ``window`` is when the technician arrives: "between 8 AM and 12 PM", or "from 8:00 AM" for
#: a visit booked without an arrival window.
SERVICE_VISIT_FIELDS = CLINIC_VISIT_FIELDS | {"location", "window", "technician_name"}
ALLOWED_FIELDS: Mapping[AppointmentKind, frozenset[str]] = {
    AppointmentKind.CLINIC_VISIT: CLINIC_VISIT_FIELDS,
    AppointmentKind.SERVICE_VISIT: SERVICE_VISIT_FIELDS,
}
_FIELD_ORDER = (
    "first_name",
    "date",
    "time",
    "window",
    "org_name",
    "org_phone",
    "reply_options",
    "location",
    "technician_name",
)


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
        return tuple(
            dict.fromkeys(name for _, name in template_pieces(self.text) if name is not None)
        )

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


def template_pieces(text: str) -> list[tuple[str, str | None]]:
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
            "Hi {first_name}, {org_name} visit {date} {window}. Call {org_phone}. {reply_options}",
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
            "Hola {first_name}, {org_name} llega el {date} {window}. Tel {org_phone}. "
            "{reply_options}",
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
            "مرحباً {first_name}، زيارة {org_name} يوم {date} {window}. "
            "للاستفسار: {org_phone}. {reply_options}",
        ),
    )
}


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
    for candidate in language_chain(language):
        text = tenant.get((kind.value, candidate))
        if text is not None:
            template = MessageTemplate(kind, candidate, text)
            template.validate()
            return template
        default = DEFAULT_TEMPLATES.get((kind, candidate))
        if default is not None:
            return default
    raise LookupError(f"no default {kind} template in {DEFAULT_LANGUAGE}")  # pragma: no cover


#: The booking confirmation's wording, per kind and language: what a reminder says, as news
#: of the booking, with the same reply options (1 confirms, as it does for a reminder). The
#: clinic's keeps to the same minimum necessary as its reminder. English and Spanish fit one
#: GSM-7 part with the worst-case sample, as the reminders do: hence "booked" and "reserva"
#: in place of the reminders' "visit" and "cita en", and no longer.
CONFIRMATION_TEMPLATES: Mapping[tuple[AppointmentKind, str], MessageTemplate] = {
    (template.kind, template.language): template
    for template in (
        MessageTemplate(
            AppointmentKind.CLINIC_VISIT,
            "en",
            "Hi {first_name}, {org_name} booked {date} at {time}. Call {org_phone}. "
            "{reply_options}",
        ),
        MessageTemplate(
            AppointmentKind.SERVICE_VISIT,
            "en",
            "Hi {first_name}, {org_name} booked {date} {window}. Call {org_phone}. {reply_options}",
        ),
        MessageTemplate(
            AppointmentKind.CLINIC_VISIT,
            "es",
            "Hola {first_name}, reserva {org_name}: {date} a las {time}. Tel {org_phone}. "
            "{reply_options}",
        ),
        MessageTemplate(
            AppointmentKind.SERVICE_VISIT,
            "es",
            "Hola {first_name}, reserva {org_name}: {date} {window}. Tel {org_phone}. "
            "{reply_options}",
        ),
        MessageTemplate(
            AppointmentKind.CLINIC_VISIT,
            "ar",
            "مرحباً {first_name}، تم حجز موعدك في {org_name} يوم {date} الساعة {time}. "
            "للاستفسار: {org_phone}. {reply_options}",
        ),
        MessageTemplate(
            AppointmentKind.SERVICE_VISIT,
            "ar",
            "مرحباً {first_name}، تم حجز زيارة {org_name} يوم {date} {window}. "
            "للاستفسار: {org_phone}. {reply_options}",
        ),
    )
}


def confirmation_template_for(kind: AppointmentKind | str, language: str) -> MessageTemplate:
    """The booking confirmation's wording in ``language`` (most specific first, then English).

    Tenants' overrides are reminder wordings and are not used here: a confirmation says the
    visit was booked, which a reminder's text does not.
    """
    kind = AppointmentKind(kind)
    for candidate in language_chain(language):
        template = CONFIRMATION_TEMPLATES.get((kind, candidate))
        if template is not None:
            return template
    raise LookupError(f"no {kind} confirmation in {DEFAULT_LANGUAGE}")  # pragma: no cover
