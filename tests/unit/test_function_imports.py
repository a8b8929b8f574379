"""What each function imports at cold start: the heavy modules stay out of functions that
never use them (their cost is measured by `make bench --only cold-start`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("pydantic", "phonenumbers", "reach.services.tenants", "reach.services.consent")

_PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(name for name in sys.argv[2:] if name in sys.modules)))
"""


def loaded_by(function: str) -> list[str]:
    env = dict(
        os.environ,
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        TENANTS_TABLE="reach-tenants",
        APPOINTMENTS_TABLE="reach-appointments",
        IDEMPOTENCY_TABLE="reach-idempotency",
    )
    result = subprocess.run(  # noqa: S603 - a fixed probe in this interpreter
        [sys.executable, "-c", _PROBE, str(REPO / "functions" / function / "app.py"), *HEAVY],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        # Checks a header against the key table: nothing else
        ("authorizer", []),
        # Reads the provider's list and records consent changes when the job runs
        ("reconciler", []),
        # Reads a carrier receipt and updates one message
        ("status", []),
        # Serialises queue messages (pydantic) but never parses or masks a number itself
        ("dispatcher", ["pydantic"]),
    ],
)
def test_light_functions_import_only_what_they_run(function, expected):
    assert loaded_by(function) == expected


def test_the_api_still_loads_what_it_runs():
    # The probe can see these modules: the light functions' empty lists are not vacuous
    assert {"pydantic", "phonenumbers"} <= set(loaded_by("api"))
