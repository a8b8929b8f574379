"""`make bench`: run every benchmark and print its report."""

from __future__ import annotations

import argparse

from reach_tools.bench import cold_start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reach_tools.bench")
    parser.add_argument("--rounds", type=int, default=9, help="samples per target")
    args = parser.parse_args(argv)
    print(cold_start.report(cold_start.measure(args.rounds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
