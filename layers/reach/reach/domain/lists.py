"""Opt-in lists: what a list promises its members, who is on it, and on what consent.

A list is a tenant's program of texts (a food bank's alerts, a school's closures) that people
join by texting its keyword, or that the tenant adds them to with the consent it collected.
What a person agreed to is kept as it was then: the confirmation text and terms are hashed
into ``terms_version`` when they join, so a later edit of the list never rewrites what they
consented to (docs/facts.md#list-consent).

No I/O here: the records, the rules on them, and the carrier-required texts.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from reach.domain.errors import InvalidInput
from reach.domain.replies import CARRIER_OPT_OUT_WORDS, fold

#: A double opt-in member who has not answered YES by then is no longer pending.
PENDING_FOR = timedelta(hours=48)

#: Members of a list spread over this many segments of the ``lookup`` index, so a list of a
#: million members is read (and fanned out) in parallel and no index partition runs hot.
MEMBER_SEGMENTS = 8

#: A list keyword: one word of letters and digits, the way people type it on a phone.
_KEYWORD = re.compile(r"[A-Za-z0-9]{2,20}")

#: Words a list may never claim: the carriers' opt-out, opt-in and help words (they must keep
#: working whatever lists exist), and the word that confirms a double opt-in. "ALL" too:
#: "STOP ALL" must keep ending everything, not read as leaving a list named ALL.
RESERVED_KEYWORDS = frozenset(
    {*CARRIER_OPT_OUT_WORDS, "START", "UNSTOP", "HELP", "INFO", "YES", "JOIN", "STOPALL", "ALL"}
)


class ListPurpose(StrEnum):
    """What a list's texts are, which decides the consent they need (TCPA): marketing needs
    prior express *written* consent; informational texts need prior express consent."""

    INFORMATIONAL = "informational"
    MARKETING = "marketing"


class MemberStatus(StrEnum):
    """Where one phone stands with one list."""

    #: Added by the tenant to a double opt-in list; waits for YES (``PENDING_FOR``).
    PENDING = "pending"
    ACTIVE = "active"
    #: Left the list: "STOP <keyword>", removed by the tenant, or opted out of the tenant.
    LEFT = "left"
    #: Never answered the double opt-in request.
    EXPIRED = "expired"


class ConsentSource(StrEnum):
    """How consent to a list was obtained."""

    KEYWORD = "keyword"
    WEB_FORM = "web_form"
    PAPER_FORM = "paper_form"
    VERBAL = "verbal"
    #: A YES to a double opt-in request.
    CONFIRMATION = "confirmation"
    IMPORT = "import"


#: Consent of the "written" kind: what a marketing list requires (with evidence).
WRITTEN_SOURCES = frozenset(
    {ConsentSource.KEYWORD, ConsentSource.WEB_FORM, ConsentSource.PAPER_FORM}
)


class FrequencyPeriod(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


_PERIOD_LENGTH = {
    FrequencyPeriod.DAY: timedelta(days=1),
    FrequencyPeriod.WEEK: timedelta(days=7),
    FrequencyPeriod.MONTH: timedelta(days=30),
}


@dataclass(frozen=True)
class Frequency:
    """The rate a list declares to its members ("4 msgs/month"), and the cap it imposes."""

    messages: int
    per: FrequencyPeriod

    def __post_init__(self) -> None:
        if not 1 <= self.messages <= 100:
            raise InvalidInput("frequency.messages", "must be between 1 and 100")

    @property
    def window(self) -> timedelta:
        """The rolling window the cap counts in (a month is 30 days)."""
        return _PERIOD_LENGTH[self.per]

    def describe(self) -> str:
        unit = "msg" if self.messages == 1 else "msgs"
        return f"{self.messages} {unit}/{self.per.value}"

    def allows(self, sent: tuple[datetime, ...], at: datetime) -> bool:
        """May one more list text go at ``at``, given when the member's last ones went?"""
        since = at - self.window
        return sum(1 for when in sent if when > since) < self.messages

    def prune(self, sent: tuple[datetime, ...], at: datetime) -> tuple[datetime, ...]:
        """The send times still inside the window: what a member's item keeps."""
        since = at - self.window
        return tuple(sorted(when for when in sent if when > since))


@dataclass(frozen=True)
class MemberConsent:
    """The consent a member was added with: how, when, and the proof of it."""

    source: ConsentSource
    obtained_at: datetime
    evidence: str | None = None
    #: The inbound message that carried a keyword sign-up or a YES.
    message_id: str | None = None


@dataclass(frozen=True)
class OptInList:
    """One of a tenant's lists."""

    tenant_id: str
    list_id: str
    name: str
    keyword: str
    description: str
    frequency: Frequency
    purpose: ListPurpose
    double_opt_in: bool
    created_at: datetime
    updated_at: datetime
    version: int = 1
    #: Members per ``MemberStatus`` value, kept with every change.
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, status: MemberStatus) -> int:
        return self.counts.get(status.value, 0)

    def check_consent(self, consent: MemberConsent | None, *, field: str = "consent") -> None:
        """Refuse a member whose consent does not meet the list's purpose (TCPA)."""
        if consent is None:
            raise InvalidInput(field, "is required: a member is never added without consent")
        if self.purpose is ListPurpose.MARKETING:
            if consent.source not in WRITTEN_SOURCES:
                raise InvalidInput(
                    f"{field}.source",
                    "a marketing list needs written consent: one of "
                    + ", ".join(sorted(s.value for s in WRITTEN_SOURCES)),
                )
            if not (consent.evidence or consent.message_id):
                raise InvalidInput(
                    f"{field}.evidence", "a marketing list needs evidence of written consent"
                )


@dataclass(frozen=True)
class Member:
    """One phone on one list."""

    tenant_id: str
    list_id: str
    phone: str
    status: MemberStatus
    joined_at: datetime | None
    updated_at: datetime
    consent: MemberConsent | None
    #: The version of the wording the member agreed to (``terms_version``).
    terms_version: str | None = None
    first_name: str | None = None
    timezone: str | None = None
    #: A pending member's deadline for YES.
    pending_until: datetime | None = None
    #: When the member's recent list texts went: the frequency cap's log.
    recent_sends: tuple[datetime, ...] = ()
    #: Why the member left (``stop_keyword``, ``removed``, ``opted_out``).
    left_reason: str | None = None
    version: int = 0

    def status_at(self, now: datetime) -> MemberStatus:
        """The status as of ``now``: a pending member past the deadline has expired."""
        if (
            self.status is MemberStatus.PENDING
            and self.pending_until is not None
            and now >= self.pending_until
        ):
            return MemberStatus.EXPIRED
        return self.status


def member_segment(phone: str) -> int:
    """The segment a phone's membership sits in: stable, and even across phones."""
    digest = hashlib.sha256(phone.encode()).digest()
    return int.from_bytes(digest[:4], "big") % MEMBER_SEGMENTS


def list_keyword(raw: str, *, field: str = "keyword") -> str:
    """A list keyword as stored (upper case), or a refusal naming ``field``."""
    word = raw.strip()
    if not _KEYWORD.fullmatch(word):
        raise InvalidInput(field, "must be one word of 2 to 20 letters or digits")
    upper = word.upper()
    if upper in RESERVED_KEYWORDS:
        raise InvalidInput(
            field, f"'{upper}' is reserved: carriers use it to stop, start or get help"
        )
    return upper


class ListCommand(StrEnum):
    """What a text naming a list asks for."""

    JOIN = "join"
    LEAVE = "leave"


_JOIN_WORDS = frozenset({("join",), ("subscribe",), ("add",), ("add", "me", "to")})
_LEAVE_WORDS = frozenset({fold(word) for word in CARRIER_OPT_OUT_WORDS} | {("leave",)})


def keyword_command(body: str, keywords: frozenset[str]) -> tuple[ListCommand, str] | None:
    """Whether ``body`` names one of ``keywords`` (stored upper case) to join or leave it.

    "ALERTS", "Alerts!", "join alerts" join; "STOP ALERTS", "leave alerts" leave. The
    keyword must be the last word, and what comes before it one of the known lead-ins, so a
    sentence that merely contains the word ("no alerts please") is not a sign-up.
    """
    words = fold(body)
    if not words:
        return None
    keyword = words[-1].upper()
    if keyword not in keywords:
        return None
    lead = words[:-1]
    if not lead or lead in _JOIN_WORDS:
        return ListCommand.JOIN, keyword
    if lead in _LEAVE_WORDS:
        return ListCommand.LEAVE, keyword
    return None


def confirmation_text(program: str, plist: OptInList) -> str:
    """The carrier-required reply to a sign-up: the program, the declared frequency, "Msg &
    data rates may apply", and how to get help and stop (docs/facts.md#list-consent)."""
    return (
        f"{program} {plist.name}: you're signed up. {plist.frequency.describe()}. "
        "Msg & data rates may apply. Reply HELP for help, "
        f"STOP {plist.keyword} to leave, STOP to end all."
    )


def left_text(program: str, plist: OptInList) -> str:
    """The answer to "STOP <keyword>": which list they left, and that STOP ends the rest."""
    return f"You left {plist.name}. Reply STOP to end all texts from {program}."


def join_request_text(program: str, plist: OptInList) -> str:
    """The one text a double opt-in member gets: how to confirm, and the same disclosures."""
    return (
        f"{program} {plist.name}: reply YES to join. {plist.frequency.describe()}. "
        "Msg & data rates may apply. Reply HELP for help, STOP to stop."
    )


def terms_version(program: str, plist: OptInList) -> str:
    """A short hash of what a person agrees to by joining ``plist`` now: the confirmation
    text with the list's purpose and description. The same wording gives the same version."""
    terms = "\n".join((confirmation_text(program, plist), plist.purpose.value, plist.description))
    return hashlib.sha256(terms.encode()).hexdigest()[:16]
