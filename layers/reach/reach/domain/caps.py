"""Healthcare frequency caps, and the contact record they are counted on.

The FCC's 2015 healthcare exemption (docs/facts.md#healthcare-exemption) covers
free-to-end-user healthcare texts sent at most once a day and three times a week per
program. Reach counts clinic-visit reminders per recipient and tenant, and defines:

- **a day** as the recipient's local calendar day, in the appointment's time zone (the same
  instants can be one day in New York and two in Tokyo);
- **a week** as any rolling 7 days: any 168 consecutive hours, elapsed time rather than
  calendar days, so a DST change neither stretches nor shrinks it. No half-open window
  ``[t, t + 7 days)`` may hold a fourth send.

Sends recorded *after* the moment being checked count too: a sender whose clock is behind,
or a held message sent late, must not slip a fourth send into a week that already has three.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

DAILY_LIMIT = 1
WEEKLY_LIMIT = 3
WEEK = timedelta(days=7)
#: How far back a contact keeps send times: a week, plus a day so that a send late on a
#: local day still counts for the whole of that day in any zone.
RETENTION = timedelta(days=8)


class CapReason(StrEnum):
    DAILY_CAP = "daily_cap"
    WEEKLY_CAP = "weekly_cap"
    #: Not a cap: the reservation also refuses a recipient who has opted out, so that the
    #: consent check and the cap write are one read and one conditional write.
    OPTED_OUT = "opted_out"


@dataclass(frozen=True)
class CapDecision:
    """Whether a clinic reminder may be sent now and, if not, why and from when.

    ``next_allowed_at`` (aware, UTC) is the earliest later moment at which both caps allow a
    send, given the sends known now: the start of the next local day for the daily cap, the
    moment the oldest of the three leaves the 7-day window for the weekly one (later if that
    moment is blocked in turn). A caller may hold the reminder until then instead of
    dropping it. When both caps are broken, ``reason`` names the weekly one: the longer hold.
    """

    reason: CapReason | None = None
    next_allowed_at: datetime | None = None

    @property
    def allowed(self) -> bool:
        return self.reason is None


ALLOWED = CapDecision()


@dataclass(frozen=True)
class Contact:
    """A recipient as one tenant knows them: consent and recent clinic-reminder sends.

    A contact never seen before is opted in (consent came with the appointment) and has no
    sends. ``version`` is 0 until the contact is first stored.
    """

    tenant_id: str
    phone: str
    opted_out: bool = False
    consent_source: str | None = None
    consent_changed_at: datetime | None = None
    recent_sends: tuple[datetime, ...] = ()
    version: int = 0
    #: What the clinic recorded with an API change: the evidence of new consent, a note.
    consent_note: str | None = None
    #: What made the last consent change (``inbound_message_id=...``, ``request_id=...``).
    consent_cause: str | None = None

    def clinic_caps(self, at: datetime, zone: ZoneInfo) -> CapDecision:
        return check_caps(self.recent_sends, at, zone)


def check_caps(recent: Sequence[datetime], at: datetime, zone: ZoneInfo) -> CapDecision:
    """May one more clinic reminder go out at ``at``, given the ``recent`` send times?"""
    _require_aware(at, *recent)
    # All arithmetic in UTC: Python adds and subtracts datetimes that share a tzinfo in wall
    # time, so New York 09:00 EDT + 7 days would be 09:00 EST, 169 hours later.
    recent = [moment.astimezone(UTC) for moment in recent]
    at = at.astimezone(UTC)
    blocked = _blocker(recent, at, zone)
    if blocked is None:
        return ALLOWED
    reason, moment = blocked
    # Each step moves past a day holding a send, or past the start of a blocking triple
    # plus a week; neither can repeat, so 2 * len(recent) + 1 steps always suffice.
    for _ in range(2 * len(recent) + 1):
        step = _blocker(recent, moment, zone)
        if step is None:
            return CapDecision(reason, moment.astimezone(UTC))
        moment = step[1]
    raise AssertionError("unreachable: the caps always clear after the last known send")


def prune_sends(recent: Iterable[datetime], reference: datetime) -> tuple[datetime, ...]:
    """The sends that can still matter around ``reference`` (the last RETENTION), in order."""
    horizon = reference.astimezone(UTC) - RETENTION
    return tuple(sorted(moment.astimezone(UTC) for moment in recent if moment > horizon))


def _blocker(
    recent: Sequence[datetime], at: datetime, zone: ZoneInfo
) -> tuple[CapReason, datetime] | None:
    """The cap a send at ``at`` would break, and the moment that cap stops blocking."""
    weekly = _weekly_clears_at(recent, at)
    if weekly is not None:
        return CapReason.WEEKLY_CAP, weekly
    day = _local_day(at, zone)
    same_day = sum(1 for moment in recent if _local_day(moment, zone) == day)
    if same_day >= DAILY_LIMIT:
        return CapReason.DAILY_CAP, _start_of_local_day(day + timedelta(days=1), zone)
    return None


def _weekly_clears_at(recent: Sequence[datetime], at: datetime) -> datetime | None:
    """When no 7-day window holding ``at`` and WEEKLY_LIMIT recorded sends remains; None if
    there is none now.

    A window holding ``at`` and sends a..c (in order) exists while ``max(c, at) - min(a, at)``
    is under a week, and stops existing for good once ``at`` is a week past ``a``. Checking
    runs of consecutive sends is enough: any set that fits in a window has such a run that
    fits too.
    """
    near = sorted(moment for moment in recent if abs(moment - at) < WEEK)
    clears: datetime | None = None
    for i in range(len(near) - WEEKLY_LIMIT + 1):
        run = near[i : i + WEEKLY_LIMIT]
        if max(run[-1], at) - min(run[0], at) < WEEK:
            candidate = run[0] + WEEK
            clears = candidate if clears is None else max(clears, candidate)
    return clears


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def _start_of_local_day(day: date, zone: ZoneInfo) -> datetime:
    # Where midnight does not exist (a DST change at 00:00), fold=0 resolves it with the
    # offset before the change, which is the instant the day actually starts.
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def _require_aware(*moments: datetime) -> None:
    if any(moment.utcoffset() is None for moment in moments):
        raise ValueError("caps are counted on aware datetimes; got a naive one")
