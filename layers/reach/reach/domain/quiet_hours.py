"""Quiet hours: the part of the recipient's local day in which Reach never sends.

TCPA (47 CFR 64.1200(c)(1)) bars solicitations before 8am and after 9pm at the called party's
location; Reach applies the tenant's window (default 21:00-08:00) to every message, in the
recipient's own time zone. The window is half-open: ``21:00-08:00`` means 21:00:00 is quiet and
08:00:00 is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from reach.domain.errors import InvalidInput

_PATTERN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")

#: The earlier way out of a quiet period is this long before it begins.
LAST_CALL = timedelta(minutes=1)


@dataclass(frozen=True)
class QuietPeriod:
    """One concrete quiet period, in UTC."""

    begins: datetime
    ends: datetime


@dataclass(frozen=True)
class QuietHours:
    """A daily quiet window in local wall-clock time; ``start == end`` means none."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """Parse ``HH:MM-HH:MM``; raises ValueError."""
        match = _PATTERN.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"'{text}' is not a quiet-hours window such as 21:00-08:00")
        sh, sm, eh, em = (int(g) for g in match.groups())
        return cls(start=time(sh, sm), end=time(eh, em))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def is_empty(self) -> bool:
        return self.start == self.end

    @property
    def length(self) -> timedelta:
        """How long the quiet period lasts on a day without a clock change."""
        minutes = (self.end.hour * 60 + self.end.minute) - (
            self.start.hour * 60 + self.start.minute
        )
        return timedelta(minutes=minutes % (24 * 60))

    def period_at(self, instant: datetime, zone: ZoneInfo) -> QuietPeriod | None:
        """The quiet period containing ``instant`` in ``zone``, or None when sending is allowed."""
        if self.is_empty:
            return None
        local = instant.astimezone(zone)
        clock = local.time().replace(tzinfo=None)
        today = local.date()
        if self.start < self.end:  # e.g. 00:00-07:00, within one day
            if not self.start <= clock < self.end:
                return None
            begins_on, ends_on = today, today
        elif clock >= self.start:  # e.g. 21:00-08:00, evening part
            begins_on, ends_on = today, today + timedelta(days=1)
        elif clock < self.end:  # morning part
            begins_on, ends_on = today - timedelta(days=1), today
        else:
            return None
        return QuietPeriod(
            begins=_wall(begins_on, self.start, zone), ends=_wall(ends_on, self.end, zone)
        )

    def contains(self, instant: datetime, zone: ZoneInfo) -> bool:
        return self.period_at(instant, zone) is not None

    def next_allowed(self, instant: datetime, zone: ZoneInfo) -> datetime:
        """``instant`` itself when allowed, else the end of its quiet period (UTC)."""
        period = self.period_at(instant, zone)
        return instant.astimezone(UTC) if period is None else period.ends

    def allowed_in_all(self, instant: datetime, zones: Sequence[ZoneInfo]) -> datetime | None:
        """The first moment from ``instant`` on that is outside quiet hours in every one of
        ``zones`` (a number whose area spans two zones must be allowed in both); None when
        no such moment comes within a few days (zones too far apart for the window)."""
        moment = instant.astimezone(UTC)
        for _ in range(_ZONE_ROUNDS * max(1, len(zones))):
            later = max((self.next_allowed(moment, zone) for zone in zones), default=moment)
            if later == moment:
                return moment
            moment = later
        return None


#: Rounds of "wait for the zone still quiet" before zones are judged never to agree.
_ZONE_ROUNDS = 4

#: The shortest quiet period a tenant may set: a window such as 21:00-21:00 or 00:00-00:01
#: would mean (almost) no quiet hours at all, which is not what anyone typing it meant.
MIN_QUIET = timedelta(hours=1)
#: The longest: at least 8 hours a day stay to send in (00:00-23:59 would hold every text
#: for ever, and reminders bunch up in a short window). 17:00-09:00 is the longest allowed.
MAX_QUIET = timedelta(hours=16)


def quiet_hours_text(text: str, *, field: str = "quiet_hours") -> str:
    """``text`` as a canonical ``HH:MM-HH:MM`` window; the one check of a quiet-hours string
    (admin, settings). The quiet period lasts from ``MIN_QUIET`` to ``MAX_QUIET``. Raises
    InvalidInput naming ``field``.

    (``QuietHours`` itself still reads an empty window as none, so that a tenant stored
    before this check keeps sending as it did.)"""
    try:
        window = QuietHours.parse(text)
    except ValueError as error:
        raise InvalidInput(field, str(error)) from error
    quiet = window.length
    if not MIN_QUIET <= quiet <= MAX_QUIET:
        raise InvalidInput(
            field,
            f"'{window}' is quiet for {_hours(quiet)}; a quiet period lasts from "
            f"{_hours(MIN_QUIET)} to {_hours(MAX_QUIET)} (e.g. 21:00-08:00), leaving at "
            f"least {_hours(timedelta(days=1) - MAX_QUIET)} a day to send in",
        )
    return str(window)


def _hours(span: timedelta) -> str:
    minutes = int(span.total_seconds()) // 60
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


def _wall(day: date, clock: time, zone: ZoneInfo) -> datetime:
    # fold=0: a wall time in a DST gap resolves forward, an ambiguous one to its first occurrence.
    return datetime.combine(day, clock).replace(tzinfo=zone).astimezone(UTC)
