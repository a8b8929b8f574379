"""A campaign watched in the local console, as `make serve` runs it: the whole local stack
(the embedded moto server, the API through the real authorizer, the dispatcher, the sender and
the console) in this one process, a list imported through the API, a campaign to all of it,
and the clock ticked a minute at a time while the console's panels are read after every tick,
as the page polls them. The figure is the process's peak resident memory, against the 1 GB the
console must stay under (issue 16), and how it grew from the first tick to the last.

`make bench` runs it with `--only console_watch` (10,000 members; `--quick`: 200); it is
left out of the default run, like `campaign_scale`, because it takes minutes.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from reach.data.numbers import NumberRepository
from reach.domain.numbers import OriginationType, Throughput
from reach.wiring import services_from_env
from reach_tools.local.console.server import ConsoleServer
from reach_tools.local.stack import LocalReach

FULL_MEMBERS = 10_000
QUICK_MEMBERS = 200
RSS_LIMIT = 1 << 30
NUMBER = "+12025550190"
ZONE = ZoneInfo("America/New_York")
#: The number's pace: a short code, so the campaign drains in minutes of demo time.
MPS = 100.0
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
            campaign_path, key = _set_up(reach, members)
            after_setup = current_rss()
            status, sent, ticks, reads = _drain(reach, console.url, campaign_path, key)
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


def _set_up(reach: LocalReach, members: int) -> tuple[str, str]:
    tenant, issued = reach.create_tenant("Watch Food Bank", ZONE.key, NUMBER)
    NumberRepository(services_from_env().settings.throughput).set_throughput(
        NUMBER, Throughput(OriginationType.SHORT_CODE, MPS)
    )
    key = issued.secret
    listed = _api(reach, key, "POST", "/lists", _list_body())
    consented = (reach.clock() - timedelta(days=3)).isoformat(timespec="seconds")
    rows = "\n".join(
        f"+1202{7_000_000 + n:07d},M{n},{ZONE.key},web_form,{consented},form {n}"
        for n in range(members)
    )
    body = f"phone,first_name,timezone,consent_source,consent_at,evidence\n{rows}\n"
    # The import service itself, in this process: 10,000 rows take longer than an HTTP
    # request should wait, and the import is setup here, not what is measured.
    record = services_from_env().imports.import_csv(tenant.tenant_id, listed["id"], body.encode())
    if record.report is None or record.report.accepted != members:
        raise RuntimeError(f"the import should accept every member: {record.report}")
    send_at = _next_noon(reach.clock())
    campaign = _api(
        reach,
        key,
        "POST",
        "/campaigns",
        {
            "name": "Watched",
            "list_id": listed["id"],
            "message": "Watch Food Bank: pick-up moves to Saturday. Reply STOP to leave.",
            "send_at": send_at.isoformat(),
        },
    )
    reach.scheduler.tick(send_at)
    return f"/campaigns/{campaign['id']}", key


def _drain(
    reach: LocalReach, console_url: str, campaign_path: str, key: str
) -> tuple[str, int, int, int]:
    """Tick a minute at a time, reading the console's panels after each, until the campaign
    is completed (or MAX_TICKS)."""
    reads = 0
    for tick in range(1, MAX_TICKS + 1):
        reach.scheduler.tick(reach.clock() + timedelta(minutes=1))
        for panel in PANELS:
            with urllib.request.urlopen(  # noqa: S310 - the console's own http:// address
                f"{console_url}/panels/{panel}", timeout=60
            ) as answer:
                answer.read()
            reads += 1
        campaign = _api(reach, key, "GET", campaign_path)
        if campaign["status"] == "completed":
            return campaign["status"], int(campaign["counts"]["sent"]), tick, reads
    return campaign["status"], int(campaign["counts"]["sent"]), MAX_TICKS, reads


def _list_body() -> dict[str, Any]:
    return {
        "name": "Watched alerts",
        "keyword": "WATCH",
        "description": "Pick-up changes",
        "frequency": {"messages": 4, "per": "month"},
        "purpose": "informational",
    }


def _next_noon(now: datetime) -> datetime:
    local = now.astimezone(ZONE)
    noon = local.replace(hour=12, minute=0, second=0, microsecond=0)
    return noon if noon > local + timedelta(minutes=1) else noon + timedelta(days=1)


def _api(
    reach: LocalReach,
    key: str,
    method: str,
    path: str,
    body: Any = None,
    content_type: str = "application/json",
) -> Any:
    data = None
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - the local API's own http:// address
        reach.api_url + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {key}", "Content-Type": content_type},
    )
    with urllib.request.urlopen(request, timeout=1800) as answer:  # noqa: S310
        return json.loads(answer.read())


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
