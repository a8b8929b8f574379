"""What a tenant's edit of a template does to every reminder sent with it: its size with
long names, its encoding, and the warnings a clinic should read before saving it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from reach.domain.languages import normalize_language
from reach.domain.models import AppointmentKind
from reach.domain.rendering import render_worst_case
from reach.domain.segments import SegmentCount, SmsEncoding, count_segments, gsm_safe
from reach.domain.templates import InvalidTemplate, MessageTemplate


@dataclass
class TemplateReport:
    """What a template edit does to every reminder sent with it, in plain words."""

    segments: SegmentCount
    warnings: list[str]


_FCC_HEALTHCARE_LIMIT = 160
_OPT_OUT_WORD = re.compile(r"\bcancel\b", re.IGNORECASE)
#: The keyword carriers require recurring messages to name (docs/facts.md#help-and-stop), as
#: a word in capitals: "Stop by the desk" is no instruction.
_STOP_INSTRUCTION = re.compile(r"\bSTOP\b")

#: Kinds whose texts must say how to opt out: every reminder is one of a recurring series.
NEEDS_OPT_OUT = frozenset(AppointmentKind)


def require_opt_out(template: MessageTemplate) -> None:
    """Raise InvalidTemplate unless a template of a kind that needs them carries opt-out
    instructions: ``{reply_options}`` (which ends "STOP opt out") or its own STOP."""
    if template.kind not in NEEDS_OPT_OUT or "reply_options" in template.fields:
        return
    if _STOP_INSTRUCTION.search(template.text):
        return
    raise InvalidTemplate(
        "a reminder must say how to opt out: add {reply_options}, or your own instruction "
        'with STOP in capitals (e.g. "Reply STOP to opt out"); carriers require it'
    )


def review_template_edit(
    kind: AppointmentKind | str,
    language: str,
    new_text: str,
    old_text: str | None,
) -> TemplateReport:
    """Size ``new_text`` with worst-case values and warn about what the edit costs.

    Raises InvalidTemplate when ``new_text`` itself may not be used, also when it lacks the
    opt-out instructions its kind needs. An ``old_text`` that no longer validates is treated
    as absent.
    """
    kind = AppointmentKind(kind)
    new = MessageTemplate(kind, normalize_language(language), new_text)
    new.validate()
    require_opt_out(new)
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
    if "reply_options" not in new.fields:
        warnings.append(
            "The text does not offer the replies 1, 2 and 3 (confirm, reschedule, can't "
            "come): add {reply_options} so that recipients know they can answer."
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


#: Words that tell of someone's health: a condition, a test or its result, a treatment, a
#: specialty. A text to a list reaches everyone on it, and being on it must say nothing of
#: anyone's health (docs/facts.md#hipaa-minimum-necessary): free text is checked for these,
#: as templates are checked for their fields.
_HEALTH_DETAILS = re.compile(
    r"\b(diagnos\w*|test results?|lab results?|biops(y|ies)|prescriptions?|medications?"
    r"|refills?|dosage|chemo\w*|dialysis|oncolog\w*|cancer|tumou?rs?|hiv|aids|std|stis?"
    r"|hepatitis|diabet\w*|insulin|pregnan\w*|prenatal|abortion|fertility|ivf|mammogra\w*"
    r"|colonoscop\w*|psychiatr\w*|mental health|depression|therapy|rehab\w*|addiction"
    r"|methadone|vaccinations?|vaccines?|covid)\b",
    re.IGNORECASE,
)


def health_details(text: str) -> tuple[str, ...]:
    """The words of ``text`` that give health details, in order, each once (none: fine)."""
    return tuple(dict.fromkeys(match.group(0).lower() for match in _HEALTH_DETAILS.finditer(text)))
