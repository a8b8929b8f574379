"""Runs the selected benchmarks and assembles one report (text) and one document (JSON).

The counting benchmarks (calls per kind, reads) are independent and deterministic in what
they count, so they may run side by side in separate processes (``jobs``), each with its own
moto. The cold-start benchmark measures time, as a same-run ratio: it always runs alone,
after the others, so that they don't load the machine while it samples.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reach_tools.bench import cold_start

if TYPE_CHECKING:  # the benchmarks themselves load lazily: cold-start alone needs no moto
    from reach_tools.bench.campaigns import CampaignsResult
    from reach_tools.bench.due_reads import DueReadsResult
    from reach_tools.bench.memory import MemoryResult
    from reach_tools.bench.notices import NoticesResult
    from reach_tools.bench.receipts import ReceiptsResult
    from reach_tools.bench.replies import RepliesResult
    from reach_tools.bench.send_path import SendPathResult
    from reach_tools.bench.throughput import ThroughputResult

BENCHMARKS = (
    "calls",
    "notices",
    "campaigns",
    "reads",
    "replies",
    "receipts",
    "throughput",
    "memory",
    "cold-start",
)
KINDS = ("clinic_visit", "service_visit")
FULL_ROUNDS = 9
QUICK_ROUNDS = 3


@dataclass(frozen=True)
class Options:
    only: tuple[str, ...] = BENCHMARKS
    quick: bool = False
    reminders: int | None = None
    stored: int | None = None
    due: int | None = None
    rounds: int | None = None
    kinds: tuple[str, ...] = KINDS
    #: Processes for the counting benchmarks (1: all in this process).
    jobs: int = 1


@dataclass
class Results:
    quick: bool
    send_path: list[SendPathResult] = field(default_factory=list)
    notices: NoticesResult | None = None
    campaigns: CampaignsResult | None = None
    due_reads: DueReadsResult | None = None
    replies: RepliesResult | None = None
    receipts: ReceiptsResult | None = None
    throughput: ThroughputResult | None = None
    memory: MemoryResult | None = None
    cold_start: list[cold_start.ImportCost] = field(default_factory=list)
    #: Wall time per benchmark: for the reader, never a result.
    seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"quick": self.quick}
        if self.send_path:
            document["calls_per_sent"] = [result.to_json() for result in self.send_path]
        if self.notices is not None:
            document["calls_per_notice"] = self.notices.to_json()
        if self.campaigns is not None:
            document["campaign"] = self.campaigns.to_json()
        if self.due_reads is not None:
            document["items_read_per_due"] = self.due_reads.to_json()
        if self.replies is not None:
            document["calls_per_reply"] = self.replies.to_json()
        if self.receipts is not None:
            document["calls_per_receipt"] = self.receipts.to_json()
        if self.throughput is not None:
            document["throughput"] = self.throughput.to_json()
        if self.memory is not None:
            document["memory"] = self.memory.to_json()
        if self.cold_start:
            document["cold_start"] = [cost.to_json() for cost in self.cold_start]
        document["wall_seconds_informational"] = self.seconds
        return document

    def report(self) -> str:
        from reach_tools.bench import (
            campaigns,
            due_reads,
            memory,
            notices,
            receipts,
            replies,
            send_path,
            throughput,
        )

        sections: list[str] = []
        if self.send_path:
            sections.append(send_path.report(self.send_path))
        if self.notices is not None:
            sections.append(notices.report(self.notices))
        if self.campaigns is not None:
            sections.append(campaigns.report(self.campaigns))
        if self.due_reads is not None:
            sections.append(due_reads.report(self.due_reads))
        if self.replies is not None:
            sections.append(replies.report(self.replies))
        if self.receipts is not None:
            sections.append(receipts.report(self.receipts))
        if self.throughput is not None:
            sections.append(throughput.report(self.throughput))
        if self.memory is not None:
            sections.append(memory.report(self.memory))
        if self.cold_start:
            sections.append(cold_start.report(self.cold_start))
        took = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds.items())
        sections.append(f"wall time (informational, not a result): {took}")
        return "\n\n".join(sections)


# Module-level tasks, so that a worker process can run them by name.


def _timed[T](task: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = task()
    return result, time.perf_counter() - started


def calls_task(reminders: int, kind: str) -> tuple[SendPathResult, float]:
    from reach_tools.bench import send_path

    return _timed(lambda: send_path.measure(reminders, kind))


def reads_task(stored: int, due: int) -> tuple[DueReadsResult, float]:
    from reach_tools.bench import due_reads

    return _timed(lambda: due_reads.measure(stored, due))


class _Inline[T]:
    """A finished Future look-alike for tasks run in this process."""

    def __init__(self, value: T) -> None:
        self._value = value

    def result(self) -> T:
        return self._value


def _run_in_process(options: Options, results: Results) -> None:
    """The benchmarks that run in this process, one after another."""
    if "notices" in options.only:
        from reach_tools.bench import notices

        count = notices.QUICK_NOTICES if options.quick else notices.FULL_NOTICES
        results.notices, results.seconds["notices"] = _timed(lambda: notices.measure(count))
    if "campaigns" in options.only:
        from reach_tools.bench import campaigns

        members = campaigns.QUICK_MEMBERS if options.quick else campaigns.FULL_MEMBERS
        results.campaigns, results.seconds["campaigns"] = _timed(lambda: campaigns.measure(members))
    if "replies" in options.only:
        from reach_tools.bench import replies

        count = replies.QUICK_REPLIES if options.quick else replies.FULL_REPLIES
        results.replies, results.seconds["replies"] = _timed(lambda: replies.measure(count))
    if "receipts" in options.only:
        from reach_tools.bench import receipts

        count = receipts.QUICK_RECEIPTS if options.quick else receipts.FULL_RECEIPTS
        results.receipts, results.seconds["receipts"] = _timed(lambda: receipts.measure(count))
    if "throughput" in options.only:
        from reach_tools.bench import throughput

        results.throughput, results.seconds["throughput"] = _timed(
            lambda: throughput.measure(options.quick)
        )
    if "memory" in options.only:
        from reach_tools.bench import memory

        due, stored = (
            (memory.QUICK_DUE, memory.QUICK_STORED)
            if options.quick
            else (memory.FULL_DUE, memory.FULL_STORED)
        )
        results.memory, results.seconds["memory"] = _timed(lambda: memory.measure(due, stored))


def run(options: Options) -> Results:
    """Run the selected benchmarks; the report lists them in a fixed order."""
    from reach_tools.bench import due_reads, send_path

    results = Results(quick=options.quick)
    calls: list[Future[tuple[SendPathResult, float]] | _Inline[tuple[SendPathResult, float]]]
    calls = []
    reads: Future[tuple[DueReadsResult, float]] | _Inline[tuple[DueReadsResult, float]] | None
    reads = None
    reminders = options.reminders or (
        send_path.QUICK_REMINDERS if options.quick else send_path.FULL_REMINDERS
    )
    stored = options.stored or (due_reads.QUICK_STORED if options.quick else due_reads.FULL_STORED)
    due = options.due or (due_reads.QUICK_DUE if options.quick else due_reads.FULL_DUE)
    tasks = len(options.kinds) * ("calls" in options.only) + ("reads" in options.only)
    jobs = max(1, min(options.jobs, tasks))
    pool = (
        ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
        if jobs > 1
        else None
    )
    try:
        # The longest task first, so that it never waits for a free worker.
        if "reads" in options.only:
            reads = (
                pool.submit(reads_task, stored, due) if pool else _Inline(reads_task(stored, due))
            )
        if "calls" in options.only:
            for kind in options.kinds:
                calls.append(
                    pool.submit(calls_task, reminders, kind)
                    if pool
                    else _Inline(calls_task(reminders, kind))
                )
        for future in calls:
            result, seconds = future.result()
            results.send_path.append(result)
            results.seconds[f"calls {result.kind}"] = seconds
        if reads is not None:
            results.due_reads, results.seconds["reads"] = reads.result()
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    _run_in_process(options, results)
    if "cold-start" in options.only:
        rounds = options.rounds or (QUICK_ROUNDS if options.quick else FULL_ROUNDS)
        results.cold_start, results.seconds["cold-start"] = _timed(
            lambda: cold_start.measure(rounds)
        )
    return results
