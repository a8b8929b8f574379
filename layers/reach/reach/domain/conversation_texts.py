"""The short automatic replies Reach sends when a recipient texts back, in English or Spanish.

Rules every text keeps (docs/facts.md#help-and-stop, #opt-out-words, #quiet-hours):

- **It names the organisation** and says nothing else about the person than their first name,
  a date and time, and the organisation's name and number: no place, provider or reason for the
  visit (HIPAA minimum necessary). ``ReplyContext`` has no field for anything else.
- **It never asks anyone to reply CANCEL**, a carrier opt-out word: a reply of 3 cancels an
  appointment. The HELP reply names the brand, a contact, the message frequency, "Msg & data
  rates may apply" and how to stop; the opt-out reply is the one confirmation the FCC allows and
  asks nothing but START to come back.
- **Keywords are the default ones** in ``reach.domain.replies`` (1, 2, 3, CALL/LLAMAR, STOP,
  START, HELP), so every reply the text suggests is classified as what it promises.
- **Dates and times are in the appointment's zone** (``ReplyContext.zone``; without one, in the
  datetime's own offset), written with the reminders' formatting; "today"/"tomorrow" are judged
  in that zone too.
- **It stays small**: one GSM-7 part (160 characters) for every kind, two for HELP and
  WHICH_APPOINTMENT, with a 40-character organisation name and a 20-character first name.
  Spanish is written without á, í, ó and ú, which are not GSM-7. Names are sanitised as for
  reminders (``gsm_safe``, whitespace collapsed); should a name still push a text over its budget
  (an emoji forces UCS-2, a name longer than 40 characters), the text gives up, in this order:
  the characters of the names that are not GSM-7, the first name, then the end of the
  organisation's name. An organisation name with no GSM-7 character at all is replaced by its
  phone number, so the sender stays identifiable.

Languages other than English and Spanish fall back as reminders do: ``es-MX`` -> ``es``,
``fr`` -> ``en``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from reach.domain.languages import language_chain as _language_chain
from reach.domain.local_format import format_local_date, format_local_time, format_national_phone
from reach.domain.rendering import arrival_window
from reach.domain.rendering import field_value as _field_value
from reach.domain.replies import MAX_MINUTES_LATE
from reach.domain.segments import count_segments, is_gsm7


class ReplyKind(StrEnum):
    """What Reach answers to an inbound text."""

    #: The appointment is confirmed (also when it already was).
    CONFIRMED = "confirmed"
    #: The organisation will get in touch to find a new time.
    RESCHEDULE_REQUESTED = "reschedule_requested"
    #: The appointment is cancelled; call the organisation to book again.
    CANCELLED = "cancelled"
    #: The organisation has been told the person is running (about N minutes) late.
    RUNNING_LATE = "running_late"
    #: Running late for a home visit: the company knows; when the technician comes.
    LATE_FOR_HOME_VISIT = "late_for_home_visit"
    #: Nobody will be home: the company was told; reply 2 or call to pick a new time.
    NOT_HOME = "not_home"
    #: The organisation will call back at this number by a given time.
    CALLBACK = "callback"
    HELP = "help"
    #: The opt-out confirmation (sent again for a STOP from someone opted out already).
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    #: Not understood: the reply options, and a person will read the text.
    UNKNOWN = "unknown"
    #: No upcoming appointment for this number; call the organisation.
    NO_APPOINTMENT = "no_appointment"
    #: The appointment is already cancelled or completed and cannot be changed by text.
    CLOSED = "closed"
    #: Several upcoming appointments: which one? Choices are listed by letter.
    WHICH_APPOINTMENT = "which_appointment"


class ListAnswer(StrEnum):
    """Answers about an opt-in list. Their text is the list's own (``reach.domain.lists``:
    the confirmation whose wording the member's consent records, and the leave notice), so
    they are not rendered here; they are named apart so the thread shows what was answered."""

    #: A keyword sign-up or a YES: the carrier-required confirmation (``confirmation_text``).
    JOINED = "list_joined"
    #: "STOP <keyword>": which list was left, and that STOP ends everything (``left_text``).
    LEFT = "list_left"


class SurveyAnswer(StrEnum):
    """Answers within a survey. Their text is the survey's own (``reach.domain.survey_flow``:
    the next question, a re-prompt, ``thanks``, "this survey has closed")."""

    QUESTION = "survey_question"
    REPROMPT = "survey_reprompt"
    THANKS = "survey_thanks"
    CLOSED = "survey_closed"


#: What an automatic answer is: a text rendered here, or a list's or a survey's own.
type AnswerKind = ReplyKind | ListAnswer | SurveyAnswer


@dataclass(frozen=True)
class Choice:
    """One appointment offered by letter in a WHICH_APPOINTMENT text."""

    letter: str  # e.g. "A"
    starts_at: datetime  # aware


@dataclass(frozen=True)
class ReplyContext:
    """Everything a reply may say. Only ``org_name`` and ``org_phone`` are required."""

    org_name: str
    org_phone: str  # E.164, shown the way it is dialled in its country
    language: str = "en"
    zone: ZoneInfo | None = None  # the appointment's (recipient's) zone
    first_name: str | None = None
    starts_at: datetime | None = None  # aware
    kind: str = "clinic_visit"  # an AppointmentKind value
    window_ends_at: datetime | None = None  # aware: a service visit's arrival window closes
    minutes_late: int | None = None
    callback_by: datetime | None = None  # aware: when the organisation will have called by
    now: datetime | None = None  # aware: to say "today"/"tomorrow" for callback_by
    choices: tuple[Choice, ...] = ()
    #: The tenant's opt-in lists as (name, keyword), for HELP to name its programs.
    programs: tuple[tuple[str, str], ...] = ()


#: Parts a text may take; every kind not listed must fit one.
_MAX_PARTS: Mapping[ReplyKind, int] = {ReplyKind.HELP: 2, ReplyKind.WHICH_APPOINTMENT: 2}
_MAX_CHOICES = 4
_MIN_CHOICES = 2
#: The longest organisation name every text is sized for; longer ones may be cut to fit.
_ORG_NAME_ROOM = 40
_LETTER = re.compile(r"[A-Z]")
#: Words for a callback deadline 0 or 1 days from now, in the appointment's zone.
_NEAR_DAYS: Mapping[str, Mapping[int, str]] = {
    "en": {0: "today", 1: "tomorrow"},
    "es": {0: "hoy", 1: "mañana"},
}


@dataclass(frozen=True)
class _Facts:
    """What one text may say, sanitised and written out in its language."""

    org: str
    phone: str
    name: str  # "" when unknown
    noun: str  # "visit", "appointment", "cita"
    nouns: str  # the plural
    when: str  # "Mon, Nov 30 at 8:30 AM"; "" when unknown
    window: str  # "between 8 AM and 12 PM"; "" without an arrival window
    minutes_late: int | None
    callback_by: str  # "by 3:00 PM today"; "" when unknown
    choices: tuple[tuple[str, str], ...]  # (letter, when)
    programs: str = ""  # HELP: " Lists: Pantry alerts (ALERTS). ..."; "" without lists


type _Writer = Callable[[_Facts], str]


def render_reply(kind: ReplyKind, context: ReplyContext) -> str:
    """The text answering a recipient, per the rules in this module's docstring.

    Raises ValueError for a naive datetime, a blank ``org_phone``, or a WHICH_APPOINTMENT
    without two to four choices with distinct letters A-Z (any case); names, whatever they
    hold, never make it raise.
    """
    kind = ReplyKind(kind)
    language = next(tag for tag in _language_chain(context.language) if tag in _WRITERS)
    write = _WRITERS[language][kind]
    facts = _facts(kind, context, language)
    limit = _MAX_PARTS.get(kind, 1)
    variants = list(_name_variants(context.org_name, context.first_name, facts.phone))
    # HELP names the tenant's lists while they fit beside the full names; fewer lists are
    # named before the organisation's name is cut (the carriers want the brand whole).
    for programs in _program_phrases(context.programs if kind is ReplyKind.HELP else (), language)[
        :-1
    ]:
        org, name = variants[0]
        text = write(replace(facts, org=org, name=name, programs=programs))
        if count_segments(text).parts <= limit:
            return text
    text = ""
    for org, name in variants:
        text = write(replace(facts, org=org, name=name))
        if count_segments(text).parts <= limit:
            break
    return text


_PROGRAM_WORDS: Mapping[str, tuple[str, str, str]] = {
    "en": ("Lists", "more", "Text a list's word to join, STOP + word to leave it."),
    "es": ("Listas", "mas", "Envie la palabra de una lista para unirse, STOP + palabra: salir."),
}


def _program_phrases(programs: tuple[tuple[str, str], ...], language: str) -> list[str]:
    """What HELP may say about the lists, longest first: every list named with how to join
    and leave, then without it, then fewer lists ("+2 more"), and none (always last)."""
    label, more, how = _PROGRAM_WORDS[language]
    named = [f"{_gsm_only(_field_value(name)) or word} ({word})" for name, word in programs]
    phrases = []
    for count in range(len(named), 0, -1):
        rest = f" +{len(named) - count} {more}" if count < len(named) else ""
        listed = f" {label}: {', '.join(named[:count])}{rest}."
        phrases += [f"{listed} {how}", listed]
    return [*phrases, ""]


def _facts(kind: ReplyKind, context: ReplyContext, language: str) -> _Facts:
    phone = _field_value(format_national_phone(context.org_phone.strip()))
    if not phone:
        raise ValueError("org_phone is required: every reply names a way to reach the org")
    noun, nouns = _NOUNS[language].get(context.kind, _NOUNS[language]["service_visit"])
    when = _when(context.starts_at, context.zone, language) if context.starts_at else ""
    minutes = context.minutes_late
    return _Facts(
        org="",  # render_reply fills in the names, trying shorter ones until the text fits
        phone=phone,
        name="",
        noun=noun,
        nouns=nouns,
        when=when,
        window=_window(context, language),
        minutes_late=min(minutes, MAX_MINUTES_LATE) if minutes and minutes > 0 else None,
        callback_by=_callback_by(context, language),
        choices=_choices(context, language) if kind is ReplyKind.WHICH_APPOINTMENT else (),
    )


def _local(moment: datetime, zone: ZoneInfo | None, what: str) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return moment.astimezone(zone) if zone is not None else moment


def _at_time(local: datetime, language: str) -> str:
    """``8:30 AM`` / ``las 8:30``: Spanish says "la" for one o'clock."""
    time = format_local_time(local, language)
    if language == "es":
        return f"{'la' if local.hour == 1 else 'las'} {time}"
    return time


def _when(moment: datetime, zone: ZoneInfo | None, language: str) -> str:
    local = _local(moment, zone, "starts_at")
    joiner = "a" if language == "es" else "at"
    return f"{format_local_date(local, language)} {joiner} {_at_time(local, language)}"


def _window(context: ReplyContext, language: str) -> str:
    if context.starts_at is None or context.window_ends_at is None:
        return ""
    opens = _local(context.starts_at, context.zone, "starts_at")
    closes = _local(context.window_ends_at, context.zone, "window_ends_at")
    return arrival_window(opens, closes, opens.tzinfo or UTC, language)


def _callback_by(context: ReplyContext, language: str) -> str:
    if context.callback_by is None:
        return ""
    local = _local(context.callback_by, context.zone, "callback_by")
    day = None
    if context.now is not None:
        today = _local(context.now, context.zone, "now").astimezone(local.tzinfo).date()
        day = _NEAR_DAYS[language].get((local.date() - today).days)
    time = _at_time(local, language)
    date = format_local_date(local, language)
    if language == "es":
        return f"{day or f'el {date}'} antes de {time}"
    return f"by {time} {day or f'on {date}'}"


def _choices(context: ReplyContext, language: str) -> tuple[tuple[str, str], ...]:
    count = len(context.choices)
    if not _MIN_CHOICES <= count <= _MAX_CHOICES:
        raise ValueError(
            f"which_appointment offers {_MIN_CHOICES} to {_MAX_CHOICES} choices, got {count}"
        )
    letters = [choice.letter.strip().upper() for choice in context.choices]
    if len(set(letters)) != count or not all(_LETTER.fullmatch(letter) for letter in letters):
        raise ValueError(f"choice letters must be distinct letters A-Z, got {letters}")
    return tuple(
        (letter, _when(choice.starts_at, context.zone, language))
        for letter, choice in zip(letters, context.choices, strict=True)
    )


def _gsm_only(value: str) -> str:
    return " ".join("".join(ch for ch in value if is_gsm7(ch)).split())


def _name_variants(org_name: str, first_name: str | None, phone: str) -> Iterator[tuple[str, str]]:
    """(organisation, first name) pairs to try, from the full names to ever less of them."""
    org, name = _field_value(org_name), _field_value(first_name)
    seen: set[tuple[str, str]] = set()
    gsm_org = _gsm_only(org)
    candidates = [(org or phone, name), (gsm_org or phone, _gsm_only(name)), (gsm_org or phone, "")]
    for variant in [*candidates, *((short, "") for short in _shortened(gsm_org))]:
        if variant not in seen:
            seen.add(variant)
            yield variant


def _shortened(org: str) -> Iterator[str]:
    """Ever shorter beginnings of ``org``, cut between words where there is a space to cut at."""
    for length in range(min(len(org), _ORG_NAME_ROOM), 0, -1):
        cut = org[:length]
        if length < len(org) and org[length] != " " and " " in cut:
            cut = cut.rsplit(" ", 1)[0]
        cut = cut.rstrip(" ,;:&-")
        if cut:
            yield cut


def _options(*letters: str, last: str) -> str:
    return f"{', '.join(letters[:-1])} {last} {letters[-1]}"


def _greet(word: str, name: str) -> str:
    """``Thanks Ana,`` or ``Thanks,``."""
    return f"{word} {name}," if name else f"{word},"


def _address(name: str, rest: str) -> str:
    """``Ana, your visit...`` or ``Your visit...``."""
    return f"{name}, {rest}" if name else rest[:1].upper() + rest[1:]


# --- English ----------------------------------------------------------------------------------


def _en_on(when: str) -> str:
    return f" on {when}" if when else ""


def _en_confirmed(f: _Facts) -> str:
    return f"{_greet('Thanks', f.name)} your {f.noun} with {f.org}{_en_on(f.when)} is confirmed."


def _en_reschedule(f: _Facts) -> str:
    return (
        f"{_greet('Thanks', f.name)} {f.org} will contact you to find a new time for your "
        f"{f.noun}{_en_on(f.when)}."
    )


def _en_cancelled(f: _Facts) -> str:
    return _address(
        f.name,
        f"your {f.noun} with {f.org}{_en_on(f.when)} is cancelled. To rebook, call {f.phone}.",
    )


def _en_running_late(f: _Facts) -> str:
    late = f"you'll be about {f.minutes_late} min late" if f.minutes_late else "you're running late"
    return f"{_greet('Thanks', f.name)} we told {f.org} {late}."


def _en_late_home(f: _Facts) -> str:
    late = f"you'll be home about {f.minutes_late} min late" if f.minutes_late else "you're late"
    comes = f" The technician comes {f.window}." if f.window else ""
    return f"{_greet('Thanks', f.name)} we told {f.org} {late}.{comes}"


def _en_not_home(f: _Facts) -> str:
    return (
        f"{_greet('Thanks', f.name)} we told {f.org} nobody will be home. To pick a new time, "
        f"reply 2 or call {f.phone}."
    )


def _en_callback(f: _Facts) -> str:
    by = f.callback_by or "soon"
    return f"{_greet('Thanks', f.name)} {f.org} will call you at this number {by}."


def _en_help(f: _Facts) -> str:
    return (
        f"{f.org} appointment reminders.{f.programs} Help: {f.phone}. Msg frequency varies. "
        "Msg & data rates may apply. Reply STOP to opt out."
    )


def _en_opted_out(f: _Facts) -> str:
    return f"You won't get any more texts from {f.org}. Reply START to resubscribe."


def _en_opted_in(f: _Facts) -> str:
    return f"You're resubscribed to texts from {f.org}. Reply HELP for help, STOP to opt out."


def _en_unknown(f: _Facts) -> str:
    # "3 to cancel" would put the opt-out word in the instructions, even if 3 is the keyword.
    return (
        f"We didn't understand; {f.org} staff will read it. "
        "Reply 1 to confirm, 2 to reschedule, 3 if you can't come, CALL to get a call."
    )


def _en_no_appointment(f: _Facts) -> str:
    return f"We found no upcoming {f.noun} with {f.org} for this number. Please call {f.phone}."


def _en_closed(f: _Facts) -> str:
    return (
        f"That {f.noun} with {f.org} is already cancelled or over and can't be changed by "
        f"text. Please call {f.phone}."
    )


def _en_which(f: _Facts) -> str:
    listed = "\n".join(f"{letter}) {when}" for letter, when in f.choices)
    letters = [letter for letter, _ in f.choices]
    return (
        _address(f.name, f"you have {len(f.choices)} upcoming {f.nouns} with {f.org}:")
        + f"\n{listed}\nReply {_options(*letters, last='or')}, then your answer, "
        f"e.g. {letters[0]} 1."
    )


_ENGLISH: Mapping[ReplyKind, _Writer] = {
    ReplyKind.CONFIRMED: _en_confirmed,
    ReplyKind.RESCHEDULE_REQUESTED: _en_reschedule,
    ReplyKind.CANCELLED: _en_cancelled,
    ReplyKind.RUNNING_LATE: _en_running_late,
    ReplyKind.LATE_FOR_HOME_VISIT: _en_late_home,
    ReplyKind.NOT_HOME: _en_not_home,
    ReplyKind.CALLBACK: _en_callback,
    ReplyKind.HELP: _en_help,
    ReplyKind.OPTED_OUT: _en_opted_out,
    ReplyKind.OPTED_IN: _en_opted_in,
    ReplyKind.UNKNOWN: _en_unknown,
    ReplyKind.NO_APPOINTMENT: _en_no_appointment,
    ReplyKind.CLOSED: _en_closed,
    ReplyKind.WHICH_APPOINTMENT: _en_which,
}


# --- Spanish: no á, í, ó or ú, which would send the whole text as UCS-2 ----------------------


def _es_of(when: str) -> str:
    return f" del {when}" if when else ""


def _es_confirmed(f: _Facts) -> str:
    return f"{_greet('Gracias', f.name)} su {f.noun} con {f.org}{_es_of(f.when)} queda confirmada."


def _es_reschedule(f: _Facts) -> str:
    return (
        f"{_greet('Gracias', f.name)} {f.org} le va a contactar para buscar una nueva fecha "
        f"para su {f.noun}{_es_of(f.when)}."
    )


def _es_cancelled(f: _Facts) -> str:
    return _address(
        f.name,
        f"su {f.noun} con {f.org}{_es_of(f.when)} fue cancelada. "
        f"Para pedir otra, llame al {f.phone}.",
    )


def _es_running_late(f: _Facts) -> str:
    late = f"unos {f.minutes_late} min tarde" if f.minutes_late else "tarde"
    return f"{_greet('Gracias', f.name)} le avisamos a {f.org} que va a llegar {late}."


def _es_late_home(f: _Facts) -> str:
    late = f"unos {f.minutes_late} min tarde" if f.minutes_late else "tarde"
    comes = f" El técnico llega {f.window}." if f.window else ""
    return (
        f"{_greet('Gracias', f.name)} le avisamos a {f.org} que va a llegar a casa {late}.{comes}"
    )


def _es_not_home(f: _Facts) -> str:
    return (
        f"{_greet('Gracias', f.name)} le avisamos a {f.org} que no va a haber nadie en casa. "
        f"Para otra fecha, responda 2 o llame al {f.phone}."
    )


def _es_callback(f: _Facts) -> str:
    by = f.callback_by or "pronto"
    return f"{_greet('Gracias', f.name)} {f.org} le va a llamar a este teléfono {by}."


def _es_help(f: _Facts) -> str:
    return (
        f"{f.org}: recordatorios de citas.{f.programs} Ayuda: llame al {f.phone}. "
        "Frecuencia de mensajes variable. Pueden aplicarse tarifas de mensajes y datos. "
        "Responda STOP para darse de baja."
    )


def _es_opted_out(f: _Facts) -> str:
    return f"Ya no le enviaremos mensajes de {f.org}. Responda START para volver a recibirlos."


def _es_opted_in(f: _Facts) -> str:
    return (
        f"Vuelve a recibir mensajes de {f.org}. Responda HELP para ayuda o STOP para darse de baja."
    )


def _es_unknown(f: _Facts) -> str:
    return (
        f"No entendimos; alguien de {f.org} lo va a leer. "
        "Responda 1 para confirmar, 2 para cambiar, 3 para anular, LLAMAR y le llamamos."
    )


def _es_no_appointment(f: _Facts) -> str:
    return f"No hay {f.nouns} pendientes con {f.org} para este teléfono. Llame al {f.phone}."


def _es_closed(f: _Facts) -> str:
    return (
        f"Esa {f.noun} con {f.org} ya fue cancelada o completada y no se puede cambiar por "
        f"mensaje. Llame al {f.phone}."
    )


def _es_which(f: _Facts) -> str:
    listed = "\n".join(f"{letter}) {when}" for letter, when in f.choices)
    letters = [letter for letter, _ in f.choices]
    return (
        _address(f.name, f"tiene {len(f.choices)} {f.nouns} pendientes con {f.org}:")
        + f"\n{listed}\nResponda {_options(*letters, last='o')} y su respuesta, "
        f"por ejemplo {letters[0]} 1."
    )


_SPANISH: Mapping[ReplyKind, _Writer] = {
    ReplyKind.CONFIRMED: _es_confirmed,
    ReplyKind.RESCHEDULE_REQUESTED: _es_reschedule,
    ReplyKind.CANCELLED: _es_cancelled,
    ReplyKind.RUNNING_LATE: _es_running_late,
    ReplyKind.LATE_FOR_HOME_VISIT: _es_late_home,
    ReplyKind.NOT_HOME: _es_not_home,
    ReplyKind.CALLBACK: _es_callback,
    ReplyKind.HELP: _es_help,
    ReplyKind.OPTED_OUT: _es_opted_out,
    ReplyKind.OPTED_IN: _es_opted_in,
    ReplyKind.UNKNOWN: _es_unknown,
    ReplyKind.NO_APPOINTMENT: _es_no_appointment,
    ReplyKind.CLOSED: _es_closed,
    ReplyKind.WHICH_APPOINTMENT: _es_which,
}

_WRITERS: Mapping[str, Mapping[ReplyKind, _Writer]] = {"en": _ENGLISH, "es": _SPANISH}

#: (singular, plural) per appointment kind; an unknown kind reads as the service one.
_NOUNS: Mapping[str, Mapping[str, tuple[str, str]]] = {
    "en": {"clinic_visit": ("visit", "visits"), "service_visit": ("appointment", "appointments")},
    "es": {"clinic_visit": ("cita", "citas"), "service_visit": ("cita", "citas")},
}
