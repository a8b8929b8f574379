"""Runs the selected benchmarks and assembles one report (text) and one document (JSON).

The counting benchmarks (calls per kind, reads) are independent and deterministic in what
they count, so they may run side by side in separate processes (``jobs``), each with its own
moto. The cold-start benchmark measures time, as a same-run ratio: it always runs alone,
after the others, so that they don't load the machine while it samples.
"""

from __future__ import annotations

import importlib
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from reach_tools.bench import cold_start

if TYPE_CHECKING:  # the benchmarks themselves load lazily: cold-start alone needs no moto
    from reach_tools.bench.authorizer import AuthorizerCost
    from reach_tools.bench.campaign_scale import ScaleResult
    from reach_tools.bench.campaigns import CampaignsResult
    from reach_tools.bench.console_watch import Watch
    from reach_tools.bench.due_reads import DueReadsResult
    from reach_tools.bench.faults import Cell
    from reach_tools.bench.imports import ImportsResult
    from reach_tools.bench.memory import MemoryResult
    from reach_tools.bench.notices import NoticesResult
    from reach_tools.bench.receipts import ReceiptsResult
    from reach_tools.bench.replies import RepliesResult
    from reach_tools.bench.send_path import SendPathResult
    from reach_tools.bench.soak import Soak
    from reach_tools.bench.throughput import ThroughputResult

BENCHMARKS = (
    "calls",
    "notices",
    "campaigns",
    "imports",
    "reads",
    "replies",
    "receipts",
    "throughput",
    "memory",
    "authorizer",
    "faults",
    "soak",
    "cold-start",
)
#: Run only when named with ``--only``: long runs kept out of the default ``make bench``.
ON_REQUEST = ("campaign_scale", "console_watch")
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
    campaign_scale: ScaleResult | None = None
    console_watch: Watch | None = None
    imports: ImportsResult | None = None
    due_reads: DueReadsResult | None = None
    replies: RepliesResult | None = None
    receipts: ReceiptsResult | None = None
    throughput: ThroughputResult | None = None
    memory: MemoryResult | None = None
    authorizer: AuthorizerCost | None = None
    faults: list[Cell] = field(default_factory=list)
    soak: list[Soak] = field(default_factory=list)
    cold_start: list[cold_start.ImportCost] = field(default_factory=list)
    #: Wall time per benchmark: for the reader, never a result.
    seconds: dict[str, float] = field(default_factory=dict)

    def _parts(self) -> list[tuple[str, Any]]:
        """(JSON key, result) for every benchmark, in the report's order; lists are results
        of one benchmark each, an empty list or None is a benchmark not run."""
        return [
            ("calls_per_sent", self.send_path),
            ("calls_per_notice", self.notices),
            ("campaign", self.campaigns),
            ("campaign_scale", self.campaign_scale),
            ("console_watch", self.console_watch),
            ("list_import", self.imports),
            ("items_read_per_due", self.due_reads),
            ("calls_per_reply", self.replies),
            ("calls_per_receipt", self.receipts),
            ("throughput", self.throughput),
            ("memory", self.memory),
            ("authorizer_warm", self.authorizer),
            ("faults", self.faults),
            ("soak", self.soak),
            ("cold_start", self.cold_start),
        ]

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"quick": self.quick}
        for key, result in self._parts():
            if isinstance(result, list):
                if result:
                    document[key] = [one.to_json() for one in result]
            elif result is not None:
                document[key] = result.to_json()
        document["wall_seconds_informational"] = self.seconds
        return document

    def report(self) -> str:
        from reach_tools.bench import (
            authorizer,
            campaign_scale,
            campaigns,
            console_watch,
            due_reads,
            faults,
            imports,
            memory,
            notices,
            receipts,
            replies,
            send_path,
            soak,
            throughput,
        )

        reporters: dict[str, Callable[[Any], str]] = {
            "calls_per_sent": send_path.report,
            "calls_per_notice": notices.report,
            "campaign": campaigns.report,
            "campaign_scale": campaign_scale.report,
            "console_watch": console_watch.report,
            "list_import": imports.report,
            "items_read_per_due": due_reads.report,
            "calls_per_reply": replies.report,
            "calls_per_receipt": receipts.report,
            "throughput": throughput.report,
            "memory": memory.report,
            "authorizer_warm": authorizer.report,
            "faults": faults.report,
            "soak": soak.report,
            "cold_start": cold_start.report,
        }
        sections = [
            reporters[key](result) for key, result in self._parts() if result not in (None, [])
        ]
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


#: Benchmarks sized by one argument: name -> (its quick size, its full size), both read
#: from the module by name; the result goes to the ``Results`` field of the same name.
_SIZED = {
    "notices": ("QUICK_NOTICES", "FULL_NOTICES"),
    "campaigns": ("QUICK_MEMBERS", "FULL_MEMBERS"),
    "campaign_scale": ("QUICK_SIZES", "FULL_SIZES"),
    "console_watch": ("QUICK_MEMBERS", "FULL_MEMBERS"),
    "imports": ("QUICK_ROWS", "FULL_ROWS"),
    "replies": ("QUICK_REPLIES", "FULL_REPLIES"),
    "receipts": ("QUICK_RECEIPTS", "FULL_RECEIPTS"),
}


def _run_in_process(options: Options, results: Results) -> None:
    """The benchmarks that run in this process, one after another."""
    for name, (quick, full) in _SIZED.items():
        if name in options.only:
            module = importlib.import_module(f"reach_tools.bench.{name}")
            size = getattr(module, quick if options.quick else full)
            result, results.seconds[name] = _timed(partial(module.measure, size))
            setattr(results, name, result)
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
    _run_operations(options, results)


def _run_operations(options: Options, results: Results) -> None:
    """Issue 15's: the authorizer's warm cost, the fault matrix and the soak."""
    if "authorizer" in options.only:
        from reach_tools.bench import authorizer

        rounds = authorizer.QUICK_ROUNDS if options.quick else authorizer.FULL_ROUNDS
        results.authorizer, results.seconds["authorizer"] = _timed(
            lambda: authorizer.measure(rounds)
        )
    if "faults" in options.only:
        from reach_tools.bench import faults

        load = faults.QUICK_LOAD if options.quick else faults.FULL_LOAD
        results.faults, results.seconds["faults"] = _timed(lambda: faults.measure(load))
    if "soak" in options.only:
        from reach_tools.bench import soak

        count = soak.QUICK_INVOCATIONS if options.quick else soak.FULL_INVOCATIONS
        results.soak, results.seconds["soak"] = _timed(lambda: soak.measure(count))


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
