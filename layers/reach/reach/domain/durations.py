"""Reminder offsets before an appointment: ISO 8601 durations, or a local time of day.

``@07:30`` names 07:30 on the day of the visit and ``P1D@18:00`` 18:00 the day before (in
general ``P{n}D@HH:MM``): a field-service company reminds the evening before and on the
morning of a visit, whatever time its arrival window opens.

A hand-written parser on purpose: common libraries (isodate, pydantic) turn ``P1D`` into
``timedelta(days=1)``, which is indistinguishable from ``PT24H``. ISO 8601 and RFC 5545 treat
them differently across a DST change: the date part (years, months, weeks, days) is nominal,
applied to the wall clock, while the time part (hours, minutes, seconds) is elapsed time.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from reach.domain.errors import InvalidInput

_PATTERN = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)

#: ``@HH:MM`` or ``P{n}D@HH:MM``: a local time of day, on the day of the visit or n days before.
_TIME_OF_DAY = re.compile(r"^(?:P(?P<days>\d+)D)?@(?P<hour>[01]\d|2[0-3]):(?P<minute>[0-5]\d)$")

#: Longest offset accepted: a reminder more than this long before a visit helps nobody. The
#: bound also keeps every offset far inside what datetime arithmetic can hold. Years count
#: 366 days and months 31 for this check, so ``P2M`` passes and ``P1Y`` does not.
MAX_OFFSET = timedelta(days=92)
#: Longest text accepted as a duration, the API's own limit; every duration within
#: MAX_OFFSET fits even spelled out in full (``P0Y0M13W1DT0H0M0S``). It stops a string of
#: thousands of digits (the CLI has no length limit) before ``int()`` refuses it.
_MAX_TEXT = 32


@dataclass(frozen=True)
class ReminderOffset:
    """How long before the start a reminder is due, e.g. ``P1D`` or ``PT2H``; or, with
    ``local_time``, at which local time of day ``days`` before the visit's day (``@07:30``,
    ``P1D@18:00``)."""

    text: str
    years: int = 0
    months: int = 0
    days: int = 0
    elapsed: timedelta = timedelta()
    local_time: time | None = None

    @property
    def is_time_of_day(self) -> bool:
        return self.local_time is not None

    @classmethod
    def parse(cls, text: str) -> ReminderOffset:
        """Parse an ISO 8601 duration or a local time of day; raises ValueError with a
        readable message."""
        if isinstance(text, str) and len(text.strip()) > _MAX_TEXT:
            raise ValueError(f"'{text[:_MAX_TEXT]}...' is too long for an ISO 8601 duration")
        if isinstance(text, str) and "@" in text:
            return cls._time_of_day(text)
        match = _PATTERN.match(text.strip().upper()) if isinstance(text, str) else None
        if match is None:
            raise ValueError(
                f"'{text}' is not an ISO 8601 duration such as P1D or PT2H, nor a local time "
                "such as @07:30 or P1D@18:00"
            )
        parts = {name: int(value) for name, value in match.groupdict(default="0").items()}
        # Bound the length in Python's unbounded ints before building a timedelta: a huge
        # number (PT9999999999999999999999H) would overflow timedelta's C int, not be refused.
        approx_seconds = (
            (parts["years"] * 366 + parts["months"] * 31 + parts["weeks"] * 7 + parts["days"])
            * 86_400
            + parts["hours"] * 3_600
            + parts["minutes"] * 60
            + parts["seconds"]
        )
        if approx_seconds <= 0:
            raise ValueError(f"'{text}' must be longer than zero")
        if approx_seconds > MAX_OFFSET.total_seconds():
            raise ValueError(f"'{text}' is longer than the {MAX_OFFSET.days}-day maximum")
        offset = cls(
            text=text.strip().upper(),
            years=parts["years"],
            months=parts["months"],
            days=parts["weeks"] * 7 + parts["days"],
            elapsed=timedelta(
                hours=parts["hours"], minutes=parts["minutes"], seconds=parts["seconds"]
            ),
        )
        return offset

    @classmethod
    def _time_of_day(cls, text: str) -> ReminderOffset:
        canonical = text.strip().upper()
        match = _TIME_OF_DAY.match(canonical)
        if match is None:
            raise ValueError(
                f"'{text}' is not a local time of day such as @07:30 (the day of the visit) "
                "or P1D@18:00 (n days before, P{n}D@HH:MM)"
            )
        days = match.group("days")
        if days is not None and int(days) == 0:
            raise ValueError(f"'{text}' names the day of the visit: write @HH:MM")
        if days is not None and (len(days) > 3 or int(days) > MAX_OFFSET.days):
            raise ValueError(f"'{text}' is longer than the {MAX_OFFSET.days}-day maximum")
        return cls(
            text=canonical,
            days=int(days or 0),
            local_time=time(int(match.group("hour")), int(match.group("minute"))),
        )

    def before(self, start: datetime, zone: ZoneInfo) -> datetime:
        """The moment this offset before ``start`` (aware), returned in UTC.

        A local time of day is that wall time in ``zone`` on the visit's local date, ``days``
        days earlier; it may fall after the start (``@07:30`` for a 07:00 visit), which the
        planner refuses to send.

        The date part moves the wall clock in ``zone`` (``P1D`` before 08:30 is 08:30 the day
        before, even across a DST change); the time part is then subtracted as elapsed time.
        A wall time that falls in a DST gap resolves forward, an ambiguous one to its first
        occurrence (zoneinfo's ``fold=0``, the same choice as RFC 5545).
        """
        local = start.astimezone(zone).replace(tzinfo=None)
        if self.local_time is not None:
            on = local.date() - timedelta(days=self.days)
            wall_clock = datetime.combine(on, self.local_time)
            # fold=0, as below: a gap resolves forward, an ambiguous time to its first pass.
            return wall_clock.replace(tzinfo=zone).astimezone(UTC)
        month_index = local.year * 12 + (local.month - 1) - self.years * 12 - self.months
        year, month = divmod(month_index, 12)
        month += 1
        day = min(local.day, calendar.monthrange(year, month)[1])
        wall = local.replace(year=year, month=month, day=day) - timedelta(days=self.days)
        nominal = wall.replace(tzinfo=zone).astimezone(UTC)
        return nominal - self.elapsed


def reminder_offset(text: str, *, field: str = "reminders") -> str:
    """``text`` as a canonical ISO 8601 offset (``pt2h`` -> ``PT2H``); the one check of a
    reminder offset wherever one comes in (API, admin, settings). Raises InvalidInput naming
    ``field``."""
    try:
        return ReminderOffset.parse(text).text
    except ValueError as error:
        raise InvalidInput(field, str(error)) from error


def reminder_offsets(texts: Iterable[str], *, field: str) -> tuple[str, ...]:
    """The offsets as canonical texts, duplicates dropped, in the order given; one that does
    not parse raises InvalidInput naming ``field[index]``."""
    return tuple(
        dict.fromkeys(
            reminder_offset(text, field=f"{field}[{index}]") for index, text in enumerate(texts)
        )
    )


def fixed_duration(text: str, *, field: str) -> timedelta:
    """An ISO 8601 duration of fixed length (days, hours, minutes, seconds) as a timedelta,
    or InvalidInput naming ``field``. Years and months have no fixed length, so a window such
    as "call back within" refuses them."""
    try:
        offset = ReminderOffset.parse(text)
    except ValueError as error:
        raise InvalidInput(field, str(error)) from error
    if offset.years or offset.months or offset.is_time_of_day:
        raise InvalidInput(field, "use days, hours or minutes, e.g. PT2H or P1D")
    return timedelta(days=offset.days) + offset.elapsed
