"""Field-service notices: "your technician is on the way" and "running late", with an ETA.

A notice is a text the company asks for right now, not one Reach plans. Its wording is ours
(tenants' template overrides are for reminders), health-free like every text: the company's
name, the technician's first name, the ETA and the arrival window in the recipient's local
time, the company's link, and how to opt out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from reach.domain.errors import InvalidInput
from reach.domain.languages import DEFAULT_LANGUAGE, normalize_language
from reach.domain.local_format import format_local_time
from reach.domain.message import MessageStatus
from reach.domain.rendering import arrival_window, field_value
from reach.domain.segments import count_segments

#: The furthest ahead an ETA may be: the longest arrival window (issue 12) is 12 hours.
MAX_ETA_AHEAD = timedelta(hours=12)
#: The longest link accepted: tracking links are short; a long one only costs segments.
MAX_LINK_LENGTH = 200
#: The most parts a notice may take: beyond three, the text costs more than it tells
#: (docs/facts.md#segments: each part is billed and paced).
MAX_NOTICE_PARTS = 3
#: Two requests of one type whose ETAs are this close are the same notice, sent once.
SAME_ETA = timedelta(minutes=5)


class NoticeType(StrEnum):
    ON_THE_WAY = "on_the_way"
    DELAYED = "delayed"


#: language -> type -> the first sentence, with {org}, {technician} and {eta}.
_LEADS: Mapping[str, Mapping[NoticeType, str]] = {
    "en": {
        NoticeType.ON_THE_WAY: "{org}: your technician {technician} is on the way, "
        "arriving around {eta}.",
        NoticeType.DELAYED: "{org}: sorry, your technician {technician} is running late. "
        "New arrival time: around {eta}.",
    },
    "es": {
        NoticeType.ON_THE_WAY: "{org}: su técnico {technician} va en camino; llega "
        "alrededor de las {eta}.",
        NoticeType.DELAYED: "{org}: disculpe, su técnico {technician} viene con retraso. "
        "Nueva hora de llegada: alrededor de las {eta}.",
    },
    "ar": {
        NoticeType.ON_THE_WAY: "{org}: الفني {technician} في الطريق إليك، ويصل حوالي الساعة {eta}.",
        NoticeType.DELAYED: "{org}: نعتذر، الفني {technician} متأخر. "
        "موعد الوصول الجديد حوالي الساعة {eta}.",
    },
}
_WINDOW: Mapping[str, str] = {
    "en": "Your window: {window}.",
    "es": "Su horario: {window}.",
    "ar": "موعد الزيارة: {window}.",
}
_STOP: Mapping[str, str] = {
    "en": "Reply STOP to opt out.",
    "es": "Responda STOP para salir.",
    "ar": "أرسل STOP لإيقاف الرسائل.",
}


@dataclass(frozen=True)
class NoticeText:
    """What a notice says, apart from the recipient's own details."""

    type: NoticeType
    eta: datetime
    link: str | None = None


@dataclass(frozen=True)
class Notice:
    """A notice as stored: what it says, to whom, and where it stands."""

    tenant_id: str
    appointment_id: str
    notice_id: str
    type: NoticeType
    eta: datetime
    link: str | None
    #: The recipient, and the appointment's reminder plan the notice was asked on. None for a
    #: notice asked without waiting (``Prefer: respond-async``): the API did not read the
    #: visit, so the sender takes both from it, as it is when it decides.
    phone: str | None
    plan: int | None
    status: MessageStatus
    created_at: datetime
    claim_id: str | None = None
    reason: str | None = None


def render_notice(
    notice: NoticeText,
    *,
    language: str,
    zone: ZoneInfo,
    org_name: str,
    technician_name: str | None,
    starts_at: datetime,
    window_ends_at: datetime | None,
) -> str:
    """The notice's text in the recipient's language, times in their ``zone``."""
    base = normalize_language(language).split("-")[0]
    base = base if base in _LEADS else DEFAULT_LANGUAGE
    technician = field_value(technician_name)
    lead = _LEADS[base][notice.type].format(
        org=field_value(org_name),
        technician=technician,
        eta=format_local_time(notice.eta.astimezone(zone), base),
    )
    # Without a technician's name, "your technician  is" closes up to "your technician is".
    parts = [" ".join(lead.split())]
    if window_ends_at is not None:
        window = arrival_window(starts_at, window_ends_at, zone, base)
        parts.append(_WINDOW[base].format(window=window))
    if notice.link:
        parts.append(notice.link)
    parts.append(_STOP[base])
    return " ".join(parts)


def checked_link(link: str) -> str:
    """A link a notice may carry: an ``https`` URL with a host, printable ASCII, no spaces."""
    if len(link) > MAX_LINK_LENGTH:
        raise InvalidInput("link", f"must be at most {MAX_LINK_LENGTH} characters long")
    if not link.isascii() or any(ch <= " " or ch == "\x7f" for ch in link):
        raise InvalidInput("link", "must be an https URL without spaces or control characters")
    try:
        parts = urlsplit(link)
    except ValueError:
        raise InvalidInput("link", "must be an https URL, e.g. https://example.com/t/123") from None
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise InvalidInput("link", "must be an https URL, e.g. https://example.com/t/123")
    return link


def checked_eta(eta: datetime, now: datetime) -> datetime:
    """An ETA a notice may name: in the future, at most ``MAX_ETA_AHEAD`` away."""
    if eta.utcoffset() is None:
        raise InvalidInput("eta", "needs a UTC offset, e.g. 2026-03-08T10:40:00-06:00")
    if eta <= now:
        raise InvalidInput("eta", "must be in the future")
    if eta - now > MAX_ETA_AHEAD:
        raise InvalidInput("eta", "must be at most 12 hours from now")
    return eta


def checked_parts(body: str) -> int:
    """The parts ``body`` is sent as; a notice longer than ``MAX_NOTICE_PARTS`` is refused,
    naming the link (the only part of it the caller chooses)."""
    parts = count_segments(body).parts
    if parts > MAX_NOTICE_PARTS:
        raise InvalidInput(
            "link",
            f"makes the text {parts} SMS parts long; a notice may take at most "
            f"{MAX_NOTICE_PARTS}: use a shorter link",
        )
    return parts
