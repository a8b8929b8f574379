"""The console's clock control: move the demo clock forward the way ``make demo`` does, a tick
at each moment something falls due, so the skipped time is not skipped by the dispatcher."""

from __future__ import annotations

from datetime import datetime, timedelta

from reach.data.tables import CampaignItem, campaigns_lookup_key
from reach_tools.local.demo import minute_ceiling
from reach_tools.local.stack import LocalReach

#: The spans the console's buttons offer, by their label.
SPANS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "1d": timedelta(days=1)}
#: A bound on one fast-forward's ticks (a campaign being fed ticks every minute).
MAX_TICKS = 600


def _next_campaign_moment(now: datetime) -> datetime | None:
    """A campaign being sent is fed every minute; a scheduled one starts at its send_at."""
    if next(iter(CampaignItem.lookup.query(campaigns_lookup_key("sending"), limit=1)), None):
        return now + timedelta(minutes=1)
    item = next(iter(CampaignItem.lookup.query(campaigns_lookup_key("scheduled"), limit=1)), None)
    if not isinstance(item, CampaignItem):
        return None
    return max(item.send_at, now + timedelta(minutes=1))


def fast_forward(reach: LocalReach, span: timedelta) -> tuple[datetime, int]:
    """Tick at every due moment up to now + ``span``, then at that moment: the new time and
    how many ticks ran."""
    scheduler, clock = reach.scheduler, reach.clock
    target = clock() + span
    ticks = 0
    while ticks < MAX_TICKS:
        candidates = [
            moment
            for moment in (scheduler.next_due(target), _next_campaign_moment(clock()))
            if moment is not None
        ]
        if not candidates:
            break
        moment = minute_ceiling(max(min(candidates), clock()))
        if moment >= target:
            break
        scheduler.tick(moment)
        ticks += 1
    scheduler.tick(target)
    return clock(), ticks + 1
