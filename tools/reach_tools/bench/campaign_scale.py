"""A campaign at 1,000 and then 10,000 members, end to end on the benchmarks' embedded AWS,
for how it scales: AWS calls per recipient, wall time per recipient and its ratio between the
two sizes, and the process's peak resident memory (the goal: under 1 GB, issue 16).

The run is the ``campaigns`` benchmark's (members written, the campaign created, dispatcher
ticks and sender batches on the simulated clock until it completes), without tracemalloc,
which slows every allocation: its peaks are the ``campaigns`` benchmark's to give. The small
run goes first, so the peak RSS read after the big one is the big one's (``ru_maxrss`` only
grows). Wall time is this machine's and load's: the ratio, measured in the same process
minutes apart, is the figure; it stays near 1 when nothing reads more as the list grows.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import dataclass
from typing import Any

from reach_tools.bench import campaigns

QUICK_SIZES = (100, 1_000)
FULL_SIZES = (1_000, 10_000)
#: Peak resident memory the process must stay under.
RSS_LIMIT = 1 << 30


@dataclass(frozen=True)
class Run:
    members: int
    sent: int
    duplicates: int
    status: str
    calls_per_recipient: float
    seconds: float

    @property
    def ms_per_recipient(self) -> float:
        return self.seconds * 1000 / self.members


@dataclass(frozen=True)
class ScaleResult:
    small: Run
    large: Run
    peak_rss_bytes: int

    @property
    def time_ratio(self) -> float:
        return self.large.ms_per_recipient / self.small.ms_per_recipient

    def to_json(self) -> dict[str, Any]:
        return {
            "small": self.small.__dict__ | {"ms_per_recipient": self.small.ms_per_recipient},
            "large": self.large.__dict__ | {"ms_per_recipient": self.large.ms_per_recipient},
            "time_per_recipient_ratio": round(self.time_ratio, 3),
            "peak_rss_bytes": self.peak_rss_bytes,
            "rss_limit_bytes": RSS_LIMIT,
        }


def measure(sizes: tuple[int, int] = FULL_SIZES) -> ScaleResult:
    small, large = (_run(members) for members in sizes)
    return ScaleResult(small, large, peak_rss())


def peak_rss() -> int:
    """The process's peak resident memory in bytes (Linux counts KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _run(members: int) -> Run:
    started = time.perf_counter()
    result = campaigns.measure(members, traced=False)
    return Run(
        members=members,
        sent=result.sent,
        duplicates=result.duplicates,
        status=result.status,
        calls_per_recipient=round(result.per_recipient, 3),
        seconds=round(time.perf_counter() - started, 2),
    )


def report(result: ScaleResult) -> str:
    rows = [
        f"  {run.members:>8} {run.status:>10} {run.sent:>7} {run.duplicates:>6} "
        f"{run.calls_per_recipient:>9.3f} {run.seconds:>9.1f} {run.ms_per_recipient:>9.2f}"
        for run in (result.small, result.large)
    ]
    within = "within" if result.peak_rss_bytes < RSS_LIMIT else "OVER"
    return "\n".join(
        [
            "A campaign at two sizes on the embedded run (untraced; wall time is this "
            "machine's, the ratio is the figure)",
            f"  {'members':>8} {'status':>10} {'sent':>7} {'twice':>6} {'calls/rcp':>9} "
            f"{'seconds':>9} {'ms/rcp':>9}",
            *rows,
            f"  time per recipient, x{result.large.members // result.small.members} members: "
            f"x{result.time_ratio:.2f}",
            f"  peak RSS of the process {result.peak_rss_bytes / 2**20:,.0f} MiB "
            f"({within} the limit of {RSS_LIMIT / 2**20:,.0f} MiB)",
        ]
    )
