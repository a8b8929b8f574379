"""The console's clock control: move the demo clock forward the way ``make demo`` does, a tick
at each moment something falls due, so the skipped time is not skipped by the dispatcher."""

from __future__ import annotations

from datetime import datetime, timedelta

from reach.data.tables import CampaignItem, campaigns_lookup_key
from reach_tools.local.demo import minute_ceiling
from reach_tools.local.scheduler import LocalScheduler, LocalTick
from reach_tools.local.stack import LocalReach

#: The spans the console's buttons offer, by their label.
SPANS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "1d": timedelta(days=1)}
#: A bound on one fast-forward's ticks (a campaign being fed ticks every minute).
MAX_TICKS = 600
MINUTE = timedelta(minutes=1)


def _scheduled_campaign(now: datetime) -> datetime | None:
    """When the first scheduled campaign starts (the dispatcher's registry, by send_at)."""
    item = next(iter(CampaignItem.lookup.query(campaigns_lookup_key("scheduled"), limit=1)), None)
    if not isinstance(item, CampaignItem):
        return None
    return max(item.send_at, now + MINUTE)


def _did_work(report: LocalTick) -> bool:
    return bool(report.dispatched.get("queued") or report.handoffs or report.published)


def next_moment(
    scheduler: LocalScheduler, now: datetime, until: datetime, busy: bool
) -> datetime | None:
    """The next tick's moment: the next due reminder or campaign start, or the next minute
    while the last tick had work (a campaign is fed a minute's worth a tick, and its finish is
    decided on the tick after its last text)."""
    candidates = [
        moment
        for moment in (
            scheduler.next_due(until),
            _scheduled_campaign(now),
            now + MINUTE if busy else None,
        )
        if moment is not None
    ]
    return minute_ceiling(max(min(candidates), now)) if candidates else None


def fast_forward(reach: LocalReach, span: timedelta) -> tuple[datetime, int]:
    """Tick at every moment with work up to now + ``span``, then at that moment: the new time
    and how many ticks ran."""
    scheduler, clock = reach.scheduler, reach.clock
    target = clock() + span
    ticks, busy = 0, False
    while ticks < MAX_TICKS:
        moment = next_moment(scheduler, clock(), target, busy)
        if moment is None or moment >= target:
            break
        busy = _did_work(scheduler.tick(moment))
        ticks += 1
    scheduler.tick(target)
    return clock(), ticks + 1
