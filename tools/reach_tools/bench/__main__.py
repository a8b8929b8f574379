"""`make bench`: run every benchmark and print its report.

    python -m reach_tools.bench                      # everything, full sizes
    python -m reach_tools.bench --only calls         # AWS calls per reminder sent
    python -m reach_tools.bench --only notices       # AWS calls per notice, end to end
    python -m reach_tools.bench --only reads         # items read per due reminder
    python -m reach_tools.bench --only replies       # AWS calls per inbound reply
    python -m reach_tools.bench --only receipts      # AWS calls per delivery receipt
    python -m reach_tools.bench --only throughput    # sustained parts/s, simulated latencies
    python -m reach_tools.bench --only memory        # peak memory of a tick and a batch
    python -m reach_tools.bench --only authorizer    # the authorizer's warm calls and cost
    python -m reach_tools.bench --only faults        # 30% faults per function and dependency
    python -m reach_tools.bench --only soak          # 10,000 warm invocations per function
    python -m reach_tools.bench --only campaign_scale # 1,000 vs 10,000 members, peak RSS
    python -m reach_tools.bench --only console_watch  # 10,000 members watched in the console
    python -m reach_tools.bench --only cold-start    # import cost per function vs boto3
    python -m reach_tools.bench --quick --json       # small sizes; JSON on stdout

Every number is a count, a same-run ratio, or (``throughput``) a figure of simulated time
from seeded latency draws, the same on every machine; the wall time printed at the end is for the
reader's information only. With ``--json`` stdout carries only the JSON document and the
readable report goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence

from reach_tools.bench.suite import BENCHMARKS, KINDS, ON_REQUEST, Options, run


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m reach_tools.bench",
        description="Reach benchmarks: counts and same-run ratios, never absolute timings.",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=BENCHMARKS + ON_REQUEST,
        help="run only this benchmark (repeatable); default: all but " + ", ".join(ON_REQUEST),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes (100 reminders; 10,000 stored + 100 due; 2,000 simulated texts; "
        "3 rounds), as the test uses",
    )
    parser.add_argument("--json", action="store_true", help="JSON on stdout, report on stderr")
    parser.add_argument("--rounds", type=int, help="cold-start samples per target (default 9)")
    parser.add_argument("--reminders", type=int, help="due reminders for `calls`")
    parser.add_argument("--stored", type=int, help="future reminders stored for `reads`")
    parser.add_argument("--due", type=int, help="due reminders for `reads`")
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(3, os.cpu_count() or 1),
        help="processes for the counting benchmarks (counts don't depend on it; cold-start "
        "always runs alone afterwards); default: min(3, CPUs)",
    )
    parser.add_argument(
        "--kind",
        action="append",
        choices=KINDS,
        help="appointment kind for `calls` (repeatable); default: both",
    )
    return parser


def options_from(argv: Sequence[str] | None) -> tuple[Options, bool]:
    args = _parser().parse_args(argv)
    for name in ("rounds", "reminders", "stored", "due", "jobs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            _parser().error(f"--{name} must be at least 1")
    options = Options(
        only=tuple(dict.fromkeys(args.only)) if args.only else BENCHMARKS,
        quick=args.quick,
        reminders=args.reminders,
        stored=args.stored,
        due=args.due,
        rounds=args.rounds,
        kinds=tuple(dict.fromkeys(args.kind)) if args.kind else KINDS,
        jobs=args.jobs,
    )
    return options, bool(args.json)


def main(argv: list[str] | None = None) -> int:
    options, as_json = options_from(argv)
    started = time.perf_counter()
    results = run(options)
    results.seconds["total"] = time.perf_counter() - started
    if as_json:
        print(results.report(), file=sys.stderr)
        print(json.dumps(results.to_json(), indent=2, sort_keys=True))
    else:
        print(results.report())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
