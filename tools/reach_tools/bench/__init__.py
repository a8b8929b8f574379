"""Benchmarks: counts and same-run ratios, never absolute timings judged by a test."""
