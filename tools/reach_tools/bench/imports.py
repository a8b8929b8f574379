"""A CSV list import's cost, and how it grows with the file: 1,000 rows against 10,000.

Measured for each size, on the embedded run: the time per row as a ratio to the smaller
file's (the machine's speed cancels out; the goal is flat), the peak of Python allocations
(``tracemalloc``) twice: of the import with the members' writes left out, which is what
reading, checking and reporting cost (the goal: flat, since the file is decoded a line at a
time and no row is kept), and of the whole import, which grows with the rows because moto
keeps every item it stores; and the AWS calls
per row (a read and a transaction per member, the import record, and ``ListJoined`` in
batches of ten). Every row is a new, valid member, the costliest case.
"""

from __future__ import annotations

import logging
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from reach.data.lists import ListRepository
from reach.domain.lists import (
    Frequency,
    FrequencyPeriod,
    ListPurpose,
    Member,
    MemberStatus,
    OptInList,
)
from reach.services.membership import MemberResult
from reach.wiring import build_services
from reach_tools.bench.harness import counting_aws_calls, embedded_aws, per
from reach_tools.demo_clock import DemoClock

FULL_ROWS = (1_000, 10_000)
QUICK_ROWS = (100, 1_000)
HEADER = "phone,first_name,timezone,consent_source,consent_at,evidence\n"
NUMBER = "+12025550143"


@dataclass(frozen=True)
class ImportRun:
    rows: int
    accepted: int
    seconds: float
    peak_bytes: int
    #: The peak of the same import with the members' writes left out (reading, checking,
    #: reporting: what the streaming design keeps flat).
    reach_bytes: int
    calls: dict[str, int]

    @property
    def calls_per_row(self) -> float:
        return per(sum(self.calls.values()), self.rows)

    @property
    def seconds_per_row(self) -> float:
        return self.seconds / self.rows

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "peak_bytes": self.peak_bytes,
            "reading_peak_bytes": self.reach_bytes,
            "calls_per_row": round(self.calls_per_row, 3),
            "calls": self.calls,
            "seconds_informational": round(self.seconds, 2),
        }


@dataclass(frozen=True)
class ImportsResult:
    small: ImportRun
    large: ImportRun

    @property
    def time_growth(self) -> float:
        """Time per row of the large file over the small one's (1.0: linear in the rows)."""
        return self.large.seconds_per_row / self.small.seconds_per_row

    @property
    def memory_growth(self) -> float:
        """Reading and checking's peak for the large file over the small one's (1.0: flat)."""
        return self.large.reach_bytes / max(self.small.reach_bytes, 1)

    @property
    def total_memory_growth(self) -> float:
        """The whole process's peak (moto's stored items included) over the small one's."""
        return self.large.peak_bytes / max(self.small.peak_bytes, 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "small": self.small.to_json(),
            "large": self.large.to_json(),
            "time_per_row_growth": round(self.time_growth, 3),
            "reading_peak_growth": round(self.memory_growth, 3),
            "total_peak_growth_with_moto": round(self.total_memory_growth, 3),
        }


def measure(rows: tuple[int, int] = FULL_ROWS) -> ImportsResult:
    logging.getLogger("reach-sms").setLevel(logging.WARNING)
    small, large = rows
    return ImportsResult(_run(small), _run(large))


def csv_body(rows: int) -> bytes:
    """``rows`` distinct, valid members with web-form consent."""
    lines = [HEADER]
    lines += [
        f"+1212{5550000 + n:07d},Member{n},America/New_York,web_form,"
        f"2026-11-02T14:00:00Z,form {n}\n"
        for n in range(rows)
    ]
    return "".join(lines).encode()


def _run(rows: int) -> ImportRun:
    body = csv_body(rows)
    with embedded_aws(f"bench-imports-{rows}") as aws:
        clock = DemoClock(datetime.now(UTC).replace(microsecond=0))
        services = build_services(aws.settings, clock=clock)
        tenant, _ = services.admin.create_tenant(
            "Bench Food Bank", "America/New_York", NUMBER, "21:00-08:00", ("P1D",)
        )
        plist = ListRepository().create(_a_list(tenant.tenant_id, clock()))
        # Warm: one row (a phone the file does not have) loads what any first call would.
        warm = HEADER + "+13125550100,,,web_form,2026-11-02T14:00:00Z,warm\n"
        services.imports.import_csv(tenant.tenant_id, plist.list_id, warm.encode())
        reading = _reading_peak(services.imports, tenant.tenant_id, plist.list_id, body)
        with counting_aws_calls() as counter, counter.measuring("import"):
            tracemalloc.start()
            started = time.perf_counter()
            try:
                record = services.imports.import_csv(tenant.tenant_id, plist.list_id, body)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                seconds = time.perf_counter() - started
                tracemalloc.stop()
        report = record.report
        accepted = report.accepted if report else 0
        calls = counter.by_operation("import")
        return ImportRun(rows, accepted, seconds, peak, reading, calls)


def _reading_peak(imports: Any, tenant_id: str, list_id: str, body: bytes) -> int:
    """The peak memory of the same import with each member's write left out: what reading,
    checking and reporting the rows cost, without the items moto keeps (it keeps every one,
    so with the writes the peak grows with the rows whatever Reach does)."""
    membership = imports._membership
    add = membership.add

    def unwritten(plist: OptInList, joiner: Any, program: str, at: datetime) -> MemberResult:
        member = Member(
            tenant_id=plist.tenant_id,
            list_id=plist.list_id,
            phone=joiner.phone,
            status=MemberStatus.ACTIVE,
            joined_at=at,
            updated_at=at,
            consent=joiner.consent,
        )
        return MemberResult(member, changed=False)

    membership.add = unwritten
    tracemalloc.start()
    try:
        imports.import_csv(tenant_id, list_id, body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        membership.add = add
    return int(peak)


def _a_list(tenant_id: str, now: datetime) -> OptInList:
    return OptInList(
        tenant_id=tenant_id,
        list_id="lst_" + "0" * 32,
        name="Pantry alerts",
        keyword="PANTRY",
        description="Pick-up times",
        frequency=Frequency(4, FrequencyPeriod.MONTH),
        purpose=ListPurpose.INFORMATIONAL,
        double_opt_in=False,
        created_at=now - timedelta(days=1),
        updated_at=now - timedelta(days=1),
    )


def report(result: ImportsResult) -> str:
    lines = [
        f"CSV list import, {result.small.rows:,} rows against {result.large.rows:,} "
        "(every row a new member; goal: time per row and peak memory flat)",
    ]
    for run in (result.small, result.large):
        lines.append(
            f"  {run.rows:>6,} rows: accepted {run.accepted:,}, AWS calls per row "
            f"{run.calls_per_row:5.2f}, reading peak {run.reach_bytes / 2**10:7.1f} KiB, "
            f"peak with moto {run.peak_bytes / 2**20:6.1f} MiB, {run.seconds:6.1f} s"
        )
    lines.append(f"  time per row, large / small         {result.time_growth:6.2f}")
    lines.append(f"  reading peak, large / small         {result.memory_growth:6.2f}")
    lines.append(f"  peak with moto, large / small       {result.total_memory_growth:6.2f}")
    return "\n".join(lines)
