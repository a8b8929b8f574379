"""Which appointment a reply is about, and the question Reach asks when it cannot tell.

A reply that answers one of our texts names it (``previousPublishedMessageId``) and so names
its appointment. Otherwise the candidates are the recipient's open appointments with the
tenant that start no earlier than ``LATE_GRACE`` ago (someone running late replies after the
start), and the most relevant one is chosen by evidence, never by a coin toss:

1. one candidate: that one;
2. a running-late reply: the only candidate starting within ``LATE_WINDOW`` of now;
3. the candidate we texted last, if its last text is newer than every other candidate's;
4. otherwise the candidates are equally likely, and the recipient is asked which one they
   mean: ``A) Mon, Nov 30 at 8:30 AM  B) ...``. The next reply that starts with one of those
   letters ("A", "a 1", "B: yes") applies to that appointment; a bare letter applies the
   intent of the reply that raised the question.

Choice letters skip C, R, X and Y, which are reply keywords themselves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from reach.domain.models import Appointment

#: An appointment that started this long ago can still get a "running late" or "call me".
LATE_GRACE = timedelta(hours=3)
#: A running-late reply is about an appointment that starts (or started) this close to now.
LATE_WINDOW = timedelta(hours=12)
#: A question about which appointment stays answerable this long.
CHOICE_TTL = timedelta(hours=24)
#: Letters offered for a choice, in order: no reply keyword among them.
CHOICE_LETTERS = ("A", "B", "D", "E")
MAX_CHOICES = len(CHOICE_LETTERS)

_CHOICE_PREFIX = re.compile(r"^\s*\(?([A-Za-z])\)?(?:[\s.,:;)\-]+(.*))?\s*$", re.DOTALL)


@dataclass(frozen=True)
class PendingChoice:
    """A question we asked: which of ``appointment_ids`` (in letter order) the reply meant."""

    appointment_ids: tuple[str, ...]
    intent: str
    minutes_late: int | None
    asked_at: datetime

    def letters(self) -> dict[str, str]:
        return dict(zip(CHOICE_LETTERS, self.appointment_ids, strict=False))

    def is_current(self, now: datetime) -> bool:
        return now - self.asked_at <= CHOICE_TTL


@dataclass(frozen=True)
class ChoiceAnswer:
    """A reply that picks a letter: the appointment and whatever text followed the letter."""

    appointment_id: str
    rest: str


def read_choice(text: str, pending: PendingChoice) -> ChoiceAnswer | None:
    """The appointment ``text`` picks from ``pending``, or None if it picks none.

    Only a letter on offer counts, alone or followed by a separator and more text.
    """
    found = _CHOICE_PREFIX.match(text)
    if found is None:
        return None
    appointment_id = pending.letters().get(found.group(1).upper())
    if appointment_id is None:
        return None
    return ChoiceAnswer(appointment_id, (found.group(2) or "").strip())


@dataclass(frozen=True)
class Candidate:
    appointment: Appointment
    #: When we last texted the recipient about it (None: never).
    last_texted_at: datetime | None


@dataclass(frozen=True)
class Match:
    """The appointment a reply is about, or the ones it could be about (ask), or none."""

    appointment: Appointment | None
    ambiguous: tuple[Appointment, ...] = ()


def open_candidates(appointments: Sequence[Appointment], now: datetime) -> list[Appointment]:
    """The appointments a reply could be about, soonest first."""
    return sorted(
        (a for a in appointments if not a.status.is_closed and a.starts_at >= now - LATE_GRACE),
        key=lambda a: (a.starts_at, a.appointment_id),
    )


def most_relevant(candidates: Sequence[Candidate], now: datetime, *, running_late: bool) -> Match:
    """Pick the appointment a reply without a message reference is about (module rules)."""
    if not candidates:
        return Match(None)
    if len(candidates) == 1:
        return Match(candidates[0].appointment)
    if running_late:
        near = [c for c in candidates if abs(c.appointment.starts_at - now) <= LATE_WINDOW]
        if len(near) == 1:
            return Match(near[0].appointment)
    texted = sorted(
        (c for c in candidates if c.last_texted_at is not None),
        key=lambda c: c.last_texted_at or now,
        reverse=True,
    )
    if texted and (len(texted) == 1 or texted[0].last_texted_at != texted[1].last_texted_at):
        return Match(texted[0].appointment)
    ordered = sorted(
        candidates, key=lambda c: (c.appointment.starts_at, c.appointment.appointment_id)
    )
    return Match(None, tuple(c.appointment for c in ordered[:MAX_CHOICES]))
