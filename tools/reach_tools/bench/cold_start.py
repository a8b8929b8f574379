"""Cold-start import cost of each Lambda function, as a ratio to ``import boto3``.

Each sample is a fresh interpreter that imports one thing, so nothing is cached between
samples; samples alternate between targets so that machine noise hits them alike. The
baseline is measured in the same run, and the report is the ratio of medians.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def function_names() -> tuple[str, ...]:
    """Every Lambda function in the repository: each ``functions/<name>/app.py``."""
    return tuple(sorted(path.parent.name for path in (REPO / "functions").glob("*/app.py")))


_PROBE = """
import importlib.util, sys, time
target = sys.argv[1]
started = time.perf_counter()
if target == "boto3":
    import boto3
else:
    spec = importlib.util.spec_from_file_location("app", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
print(time.perf_counter() - started)
"""


@dataclass(frozen=True)
class ImportCost:
    target: str
    median_ms: float
    ratio_to_boto3: float

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.target,
            "median_ms": self.median_ms,
            "ratio_to_boto3": self.ratio_to_boto3,
        }


def _lambda_like_environment() -> dict[str, str]:
    env = dict(os.environ)
    # Tracer only loads the X-Ray SDK where it believes it runs in Lambda: measure that cost.
    env.update(
        AWS_LAMBDA_FUNCTION_NAME="reach-bench",
        AWS_EXECUTION_ENV="AWS_Lambda_python3.13",
        AWS_REGION=env.get("AWS_REGION", "us-east-1"),
        # Lambda sets both; boto3 sessions (Powertools idempotency's) read only this one.
        AWS_DEFAULT_REGION=env.get("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1")),
        PYTHONDONTWRITEBYTECODE="1",
        # The inbound function builds its idempotency store at import, as a cold start does.
        IDEMPOTENCY_TABLE=env.get("IDEMPOTENCY_TABLE", "reach-bench-idempotency"),
        TENANTS_TABLE=env.get("TENANTS_TABLE", "reach-bench-tenants"),
        APPOINTMENTS_TABLE=env.get("APPOINTMENTS_TABLE", "reach-bench-appointments"),
    )
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    return env


def _sample(target: str, env: dict[str, str]) -> float:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, target],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    return float(result.stdout.strip().splitlines()[-1])


def measure(rounds: int = 9) -> list[ImportCost]:
    if rounds < 1:
        raise ValueError("at least one round is needed")
    env = _lambda_like_environment()
    targets = {"boto3": "boto3"} | {
        f"functions/{name}": str(REPO / "functions" / name / "app.py") for name in function_names()
    }
    samples: dict[str, list[float]] = {label: [] for label in targets}
    for _ in range(rounds):
        for label, target in targets.items():
            samples[label].append(_sample(target, env))
    baseline = statistics.median(samples["boto3"])
    return [
        ImportCost(label, statistics.median(values) * 1000, statistics.median(values) / baseline)
        for label, values in samples.items()
    ]


def report(costs: list[ImportCost]) -> str:
    lines = ["cold-start import (median of fresh interpreters; ratio to `import boto3`)"]
    lines += [f"  {c.target:<22} {c.median_ms:8.1f} ms   x{c.ratio_to_boto3:5.2f}" for c in costs]
    return "\n".join(lines)
