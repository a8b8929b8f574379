"""Reminder planning: when each reminder of an appointment is due.

The rules (README "Reminder planning" repeats them for tenants):

1. Each offset is applied before the start in the appointment's own time zone (see
   ``ReminderOffset.before``): ``P1D`` is the same local time the day before, ``PT2H`` is two
   hours of elapsed time.
2. A reminder that falls in the tenant's quiet hours (recipient's local time) moves to the
   nearest allowed moment: the minute before that quiet period began, or the moment it ends.
   A candidate is only usable when it is still in the future (at booking) and still before the
   start. On a tie the earlier candidate wins. With no usable candidate the reminder is skipped
   with reason ``quiet_hours``.
3. A reminder whose time has already passed at booking becomes one catch-up reminder, due at
   once (or when the current quiet period ends), but only while the start is still at least
   ``CATCH_UP_MIN_LEAD`` after that moment; otherwise it is skipped with reason
   ``passed_at_booking``.
4. A local time of day (``@07:30``, ``P1D@18:00``) that falls in quiet hours is held to the
   end of that quiet period when that is still before the start ("the morning of" stays the
   morning of, later); otherwise it is skipped with reason ``quiet_hours`` (moved to the
   evening before, it would be a second evening reminder). One that falls at or after the start
   (``@07:30`` for a 07:00 visit) is skipped with reason ``after_start``: no reminder ever
   goes after the start, which for a service visit is the opening of its arrival window.
5. Reminders closer together than ``MIN_GAP`` are merged into the one nearest the start, which
   keeps all their offsets: nobody wants two texts about one visit minutes apart.
6. A booking confirmation (``confirm``, only at booking) is one more reminder, labelled
   ``confirmation``, due at once, or when the current quiet period ends, like a catch-up
   reminder. It is skipped with reason ``too_close_to_start`` (or ``quiet_hours`` when the
   quiet period ends too late) unless the start is still ``CATCH_UP_MIN_LEAD`` away. It merges
   by rule 5 like any reminder, and keeps its wording when merged.
7. Where the healthcare caps apply (``capped``: clinic visits), the confirmation counts as a
   send. A reminder the caps would then refuse, and would have allowed without it, is skipped
   with reason ``displaced_by_confirmation``: the planner names it rather than leaving the
   sender to hold it past the start. Reminders nearest the start are kept first, so the one
   displaced is the earliest (the confirmation has just said what it would say).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from reach.domain.caps import check_caps
from reach.domain.durations import ReminderOffset
from reach.domain.models import CONFIRMATION
from reach.domain.quiet_hours import LAST_CALL, QuietHours, QuietPeriod

#: Reminders closer together than this are merged.
MIN_GAP = timedelta(minutes=30)
#: A catch-up reminder for a late booking is only sent when the start is at least this far off.
CATCH_UP_MIN_LEAD = timedelta(hours=1)


class PlanNote(StrEnum):
    """Why a planned reminder is where it is, or why it will not be sent."""

    MOVED_OUT_OF_QUIET_HOURS = "moved_out_of_quiet_hours"
    DUE_AT_ONCE = "due_at_once"
    MERGED = "merged"
    QUIET_HOURS = "quiet_hours"
    PASSED_AT_BOOKING = "passed_at_booking"
    AFTER_START = "after_start"
    TOO_CLOSE_TO_START = "too_close_to_start"
    DISPLACED_BY_CONFIRMATION = "displaced_by_confirmation"


@dataclass(frozen=True)
class PlannedReminder:
    """One reminder as planned; ``send_at`` is None for a reminder that will not be sent."""

    offsets: tuple[str, ...]
    send_at: datetime | None
    notes: tuple[PlanNote, ...] = field(default=())

    @property
    def will_send(self) -> bool:
        return self.send_at is not None

    @property
    def is_confirmation(self) -> bool:
        """Whether this is (or absorbed, by merging) the booking confirmation."""
        return CONFIRMATION in self.offsets


def plan_reminders(
    starts_at: datetime,
    zone: ZoneInfo,
    offsets: list[ReminderOffset],
    quiet_hours: QuietHours,
    now: datetime,
    *,
    confirm: bool = False,
    capped: bool = False,
) -> list[PlannedReminder]:
    """Plan the reminders for an appointment starting at ``starts_at`` (aware), with a
    booking confirmation first when ``confirm`` (rules 6 and 7; ``capped``: clinic caps).

    Returns the reminders to send in time order, followed by the skipped ones.
    """
    now = now.astimezone(UTC)
    start = starts_at.astimezone(UTC)
    planned = [_place(offset, start, zone, quiet_hours, now) for offset in offsets]
    if confirm:
        # First, so that on a tie in time the merged reminder lists the confirmation first.
        planned.insert(0, _confirmation(start, zone, quiet_hours, now))
    to_send = _merge_close([p for p in planned if p.will_send])
    skipped = [p for p in planned if not p.will_send]
    if capped:
        to_send, displaced = _displaced_by_confirmation(to_send, zone)
        skipped = displaced + skipped
    return to_send + skipped


def _confirmation(
    start: datetime, zone: ZoneInfo, quiet: QuietHours, now: datetime
) -> PlannedReminder:
    """Rule 6: at once, or when the current quiet period ends."""
    labels = (CONFIRMATION,)
    at = quiet.next_allowed(now, zone)
    if start - at >= CATCH_UP_MIN_LEAD:
        held = at > now
        return PlannedReminder(
            labels, at, (PlanNote.MOVED_OUT_OF_QUIET_HOURS if held else PlanNote.DUE_AT_ONCE,)
        )
    if at > now and at >= start:
        return PlannedReminder(labels, None, (PlanNote.QUIET_HOURS,))
    return PlannedReminder(labels, None, (PlanNote.TOO_CLOSE_TO_START,))


def _displaced_by_confirmation(
    to_send: list[PlannedReminder], zone: ZoneInfo
) -> tuple[list[PlannedReminder], list[PlannedReminder]]:
    """Rule 7: ``to_send`` (time order) split into the reminders kept and those displaced."""
    confirmation = next((p for p in to_send if p.is_confirmation and p.send_at), None)
    if confirmation is None or confirmation.send_at is None:
        return to_send, []
    counted = [confirmation.send_at]
    displaced: list[PlannedReminder] = []
    # Nearest the start first: with the caps full, the earliest reminders give way.
    for reminder in reversed(to_send):
        if reminder is confirmation or reminder.send_at is None:
            continue
        if check_caps(counted, reminder.send_at, zone).allowed:
            counted.append(reminder.send_at)
        elif check_caps(counted[1:], reminder.send_at, zone).allowed:
            displaced.insert(0, reminder)
        # Else the caps refuse it with or without the confirmation (another reminder of the
        # plan fills them): the sender decides, as for any plan.
    kept = [reminder for reminder in to_send if reminder not in displaced]
    notes = (PlanNote.DISPLACED_BY_CONFIRMATION,)
    return kept, [PlannedReminder(r.offsets, None, (*r.notes, *notes)) for r in displaced]


def _place(
    offset: ReminderOffset, start: datetime, zone: ZoneInfo, quiet: QuietHours, now: datetime
) -> PlannedReminder:
    nominal = offset.before(start, zone)
    labels = (offset.text,)
    if nominal <= now:
        catch_up = quiet.next_allowed(now, zone)
        if start - catch_up >= CATCH_UP_MIN_LEAD:
            return PlannedReminder(labels, catch_up, (PlanNote.DUE_AT_ONCE,))
        return PlannedReminder(labels, None, (PlanNote.PASSED_AT_BOOKING,))
    if nominal >= start:
        return PlannedReminder(labels, None, (PlanNote.AFTER_START,))
    period = quiet.period_at(nominal, zone)
    if period is None:
        return PlannedReminder(labels, nominal)
    moved = _out_of_quiet_hours(offset, nominal, period, now, start)
    if moved is None:
        return PlannedReminder(labels, None, (PlanNote.QUIET_HOURS,))
    return PlannedReminder(labels, moved, (PlanNote.MOVED_OUT_OF_QUIET_HOURS,))


def _out_of_quiet_hours(
    offset: ReminderOffset, nominal: datetime, period: QuietPeriod, now: datetime, start: datetime
) -> datetime | None:
    """Where a reminder due inside ``period`` goes instead (rules 2 and 4), or None."""
    ways_out = (period.ends,) if offset.is_time_of_day else (period.begins - LAST_CALL, period.ends)
    candidates = [moment for moment in ways_out if now < moment < start]
    if not candidates:
        return None
    # min() keeps the first of equals, and the earlier candidate comes first: ties go earlier.
    return min(candidates, key=lambda moment: abs(moment - nominal))


def _merge_close(reminders: list[PlannedReminder]) -> list[PlannedReminder]:
    timed = sorted(((r.send_at, r) for r in reminders if r.send_at), key=lambda pair: pair[0])
    merged: list[tuple[datetime, PlannedReminder]] = []
    for send_at, reminder in timed:
        if merged and send_at - merged[-1][0] < MIN_GAP:
            previous = merged.pop()[1]
            notes = tuple(dict.fromkeys((*previous.notes, *reminder.notes, PlanNote.MERGED)))
            reminder = PlannedReminder(
                offsets=previous.offsets + reminder.offsets, send_at=send_at, notes=notes
            )
        merged.append((send_at, reminder))
    return [reminder for _, reminder in merged]
