"""A campaign watched in the local console, as `make serve` runs it: the whole local stack
(the embedded moto server, the API through the real authorizer, the dispatcher, the sender and
the console) in this one process, the campaigns benchmark's list and campaign (a short code,
100 MPS) written into its tables, and the clock ticked a minute at a time while the console's
panels are read after every tick, as the page polls them. The figure is the process's peak
resident memory, against the 1 GB the console must stay under (issue 16), and how it grew
from the first tick to the last.

`make bench` runs it with `--only console_watch` (10,000 members; `--quick`: 200); it is
left out of the default run, like `campaign_scale`, because it takes minutes.
"""

from __future__ import annotations

import resource
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from reach.data.recipients import read_counts
from reach.wiring import services_from_env
from reach_tools.bench import campaigns
from reach_tools.local.console.server import ConsoleServer
from reach_tools.local.stack import LocalReach

FULL_MEMBERS = 10_000
QUICK_MEMBERS = 200
RSS_LIMIT = 1 << 30
#: Ticks after which a campaign that has not completed is reported as such.
MAX_TICKS = 600
PANELS = ("campaigns", "conversations", "events")


@dataclass(frozen=True)
class Watch:
    members: int
    status: str
    sent: int
    ticks: int
    panel_reads: int
    seconds: float
    rss_after_setup: int
    rss_after_last_tick: int
    peak_rss: int

    @property
    def within_limit(self) -> bool:
        return self.peak_rss < RSS_LIMIT

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "within_limit": self.within_limit, "limit": RSS_LIMIT}


def measure(members: int = FULL_MEMBERS) -> Watch:
    started = time.perf_counter()
    with LocalReach(
        log_level="ERROR",
        extra_environment={"POWERTOOLS_METRICS_DISABLED": "true"},
        table_prefix="bench-console",
    ) as reach:
        console = ConsoleServer(reach, poll_ms=1000)
        console.start()
        try:
            _set_up(reach, members)
            after_setup = current_rss()
            status, sent, ticks, reads = _drain(reach, console.url)
        finally:
            console.stop()
        return Watch(
            members=members,
            status=status,
            sent=sent,
            ticks=ticks,
            panel_reads=reads,
            seconds=round(time.perf_counter() - started, 1),
            rss_after_setup=after_setup,
            rss_after_last_tick=current_rss(),
            peak_rss=peak_rss(),
        )


def _set_up(reach: LocalReach, members: int) -> None:
    """The campaigns benchmark's tenant (a short code, no quiet hours), list, members and
    campaign, written in batches into the local stack's tables: setup, not measured (10,000
    members added one transaction each over the local HTTP AWS take longer than the run)."""
    campaigns.store_campaign(services_from_env().settings, reach.clock(), members)


def _drain(reach: LocalReach, console_url: str) -> tuple[str, int, int, int]:
    """Tick a minute at a time, reading the console's panels after each, until the campaign
    is completed (or MAX_TICKS)."""
    reads = 0
    status = ""
    for tick in range(1, MAX_TICKS + 1):
        reach.scheduler.tick(reach.clock() + timedelta(minutes=1))
        for panel in PANELS:
            # The console's own http:// address, on 127.0.0.1.
            url = f"{console_url}/panels/{panel}"
            with urllib.request.urlopen(url, timeout=600) as answer:  # noqa: S310  # nosec B310
                answer.read()
            reads += 1
        status = campaigns.campaign_status().value
        if status == "completed":
            return status, _sent(), tick, reads
    return status, _sent(), MAX_TICKS, reads


def _sent() -> int:
    return read_counts(campaigns.TENANT, campaigns.CAMPAIGN)["sent"]


def current_rss() -> int:
    """The process's resident memory now, in bytes (Linux /proc; else the peak)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except OSError:
        return peak_rss()
    return pages * resource.getpagesize()


def peak_rss() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def report(watch: Watch) -> str:
    within = "within" if watch.within_limit else "OVER"
    return "\n".join(
        [
            "A campaign watched in the local console (whole local stack in one process)",
            f"  {watch.members:,} members: {watch.status}, {watch.sent:,} sent, "
            f"{watch.ticks} ticks, {watch.panel_reads} panel reads, {watch.seconds:,.0f} s",
            f"  RSS after setup {watch.rss_after_setup / 2**20:,.0f} MiB, after the last tick "
            f"{watch.rss_after_last_tick / 2**20:,.0f} MiB, peak "
            f"{watch.peak_rss / 2**20:,.0f} MiB ({within} {RSS_LIMIT / 2**20:,.0f} MiB)",
        ]
    )
